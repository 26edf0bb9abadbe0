"""nbgrader's configuration, derived from the settings (autograde/config.py): the one place
that wires nbgrader. ``hcwh`` builds it with :func:`nbgrader_config`; ``nbgrader_config.py`` at
the project root applies it for JupyterLab's nbgrader extensions and the ``nbgrader`` command.
"""

from __future__ import annotations

from traitlets.config import Config

from autograde.config import Settings
from autograde.grading import KERNELSTOP
from curriculum.cells import REFLECTION_STUB, SOLUTION_HINT


def apply_nbgrader_config(c: Config, s: Settings) -> Config:
    c.CourseDirectory.root = str(s.course_dir)
    c.CourseDirectory.course_id = s.course_id
    c.CourseDirectory.db_url = s.gradebook_url
    if s.exchange == "hub":
        from autograde.exchange import apply_nbgrader_config as use_hub_exchange

        use_hub_exchange(c, s.exchange_url)  # collect included: the service takes regular files only
    else:
        c.Exchange.root = str(s.exchange_dir)
        # the shared folder: a learner's link is not followed (the hub exchange takes regular files only)
        c.ExchangeFactory.collect = "autograde.grading.nbhooks.LinkKeepingCollect"
        # the reflections typed in the module page go into the submitted copy (the hub's submit does the same)
        c.ExchangeFactory.submit = "autograde.grading.nbhooks.ReflectionFillingSubmit"
    c.ClearSolutions.code_stub = {"python": f"# {SOLUTION_HINT}"}
    c.ClearSolutions.text_stub = REFLECTION_STUB
    c.Execute.timeout = s.timeout
    # Feedback never shows hidden tests (they hold the keys; nbgrader issue #1363).
    c.GenerateFeedback.preprocessors = [
        "nbgrader.preprocessors.GetGrades",
        "nbgrader.preprocessors.ClearHiddenTests",
        "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
    ]
    # Quiet kernels: no "running over TCP" banner on the trainer's terminal, no
    # IPython history database written by learners' notebooks.
    # kernelstop.py: a cell's time limit holds whatever the cell catches (bound read-only into the sandbox)
    c.Execute.extra_arguments = ["--log-level=ERROR", "--HistoryManager.enabled=False",
                                 f"--IPKernelApp.exec_files={[str(KERNELSTOP)]!r}"]
    # Preflight's notebook rules (autograde/grading/nbhooks.py, autograde/grading/preflight.py): what runs is the
    # module's notebook with the learner's answers; a test's result must be a number within its
    # points; nothing a browser could run stays in the graded notebook.
    from autograde.grading import (
        nbhooks,  # nbgrader-heavy: imported only when grading is configured
        preflight,
    )

    c.Autograde.sanitize_preprocessors = nbhooks.sanitize_preprocessors()
    c.NormalizeSubmission.reference_dirs = [str(p) for p in preflight.reference_dirs(s)]
    c.NormalizeSubmission.keep_typed_code = s.run_typed_code
    c.OverwriteCells.add_missing_cells = True  # nbgrader's own repair, should a graded cell still be missing
    if s.sandbox:
        from autograde.grading import sandbox

        c.Autograde.autograde_preprocessors = nbhooks.autograde_preprocessors(sandbox.autograde_preprocessors())
    else:
        from autograde.grading.sandbox import warn_unsandboxed

        warn_unsandboxed()
        c.Autograde.autograde_preprocessors = nbhooks.autograde_preprocessors()
    # Learners' answers.json travels with the notebook; nothing else is needed.
    c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", ".answers-*"]
    return c


def nbgrader_config(s: Settings) -> Config:
    return apply_nbgrader_config(Config(), s)
