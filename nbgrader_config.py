# nbgrader and its JupyterLab extensions read this file (make lab, formgrader).
# The settings themselves live in autograde/config.py, the one source for
# paths and options; HCWH_STATE_DIR and HCWH_DB_URL override them. Autograde (also
# formgrader's) runs learners' kernels in a bubblewrap sandbox (autograde/grading/sandbox.py);
# HCWH_NO_SANDBOX=1 turns that off, with a loud warning.
from autograde.config import Settings
from autograde.course.nbconfig import apply_nbgrader_config

c = get_config()  # noqa: F821 (provided by traitlets when it loads this file)
apply_nbgrader_config(c, Settings.from_env())
