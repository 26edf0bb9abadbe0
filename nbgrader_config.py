# nbgrader and its JupyterLab extensions read this file (make lab, formgrader).
# The settings themselves live in autograde/settings.py, the one source for
# paths and options; HCWH_STATE_DIR and HCWH_DB_URL override them.
from autograde.settings import Settings, apply_nbgrader_config

c = get_config()  # noqa: F821 (provided by traitlets when it loads this file)
apply_nbgrader_config(c, Settings.from_env())
