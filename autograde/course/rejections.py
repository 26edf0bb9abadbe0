"""A learner whose submission could not be graded is told why, through nbgrader's own feedback.

nbgrader writes feedback only from a graded copy, and a rejected submission (a
truncated notebook, a kernel that died...) has none: without this, the learner
would see a 0 and never learn that they should submit again.

* ``record`` (called by both grading engines when a submission fails) writes the
  reason and the submission's timestamp to ``<course>/rejected/<module>/<learner>.json``
  (0600: it names the learner); ``clear`` removes it when a later submission grades.
* ``write_feedback`` (called by ``hcwh feedback`` between nbgrader's generate and
  release steps) turns each note into a plain page in nbgrader's feedback folder,
  with the submission's ``timestamp.txt`` and ``submission_secret.txt``. So
  ``release_feedback`` releases it, and the learner's Assignments tab fetches it
  like any other feedback.
"""

from __future__ import annotations

import html
import json
import shutil
from pathlib import Path

from autograde.config import Settings
from autograde.private import private_dir, replace_private

FOLDER = "rejected"


def note_path(s: Settings, module_id: str, student_id: str) -> Path:
    return s.course_dir / FOLDER / module_id / f"{student_id}.json"


def _submitted(s: Settings, module_id: str, student_id: str) -> Path:
    return s.course_dir / "submitted" / student_id / module_id


def _timestamp(folder: Path) -> str | None:
    try:
        return (folder / "timestamp.txt").read_text(encoding="utf-8").strip()
    except OSError:
        return None


def record(s: Settings, module_id: str, student_id: str, reason: str, max_score: float) -> None:
    """Remember why this learner's current submission could not be graded."""
    private_dir(s.course_dir / FOLDER)
    private_dir(s.course_dir / FOLDER / module_id)
    note = {"reason": reason, "max_score": max_score,
            "timestamp": _timestamp(_submitted(s, module_id, student_id))}
    replace_private(note_path(s, module_id, student_id), json.dumps(note, indent=1) + "\n")


def clear(s: Settings, module_id: str, student_id: str) -> None:
    note_path(s, module_id, student_id).unlink(missing_ok=True)


def page(module_id: str, reason: str, timestamp: str | None, max_score: float) -> str:
    """The learner's feedback page: what happened, what to do, the trainer's words."""
    when = f" (submitted {html.escape(timestamp)})" if timestamp else ""
    return f"""<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>{html.escape(module_id)}: please submit again</title>
<style>body {{ font-family: sans-serif; max-width: 46em; margin: 2em auto; line-height: 1.5; padding: 0 1em; }}
.details {{ background: #f4f4f4; padding: 0.8em 1em; border-left: 4px solid #888; }}</style></head>
<body>
<h1>Your submission of {html.escape(module_id)} could not be graded</h1>
<p>We received your work{when}, but the grading system could not read or run it, so it has no
score yet: for now it counts as 0 of {max_score:g} points. This is not a judgement of your answers.</p>
<h2>What to do</h2>
<ol>
<li>Open the module's notebook again in JupyterLab (from the Assignments tab: fetch it again if you need a fresh copy).</li>
<li>Check that your answers are still there, and save the notebook.</li>
<li>Submit it again from the Assignments tab.</li>
</ol>
<p>If this happens again, please tell your trainer, and show them this page.</p>
<h2>Details for your trainer</h2>
<p class="details">{html.escape(reason)}</p>
</body>
</html>
"""


def write_feedback(s: Settings, module_id: str) -> list[str]:
    """A feedback page for each learner whose latest collected submission of ``module_id``
    was rejected; returns their ids. A note whose submission has since been replaced
    (a newer one collected but not yet graded) is skipped: that one may well grade."""
    written = []
    for path in sorted((s.course_dir / FOLDER / module_id).glob("*.json")):
        student_id = path.stem
        note = json.loads(path.read_text(encoding="utf-8"))
        submitted = _submitted(s, module_id, student_id)
        if not (submitted / "submission_secret.txt").is_file() or _timestamp(submitted) != note["timestamp"]:
            continue
        # fetch_feedback looks for one page per notebook the learner submitted, under its name
        names = sorted(p.stem for p in submitted.glob("*.ipynb")) or [module_id]
        target = s.course_dir / "feedback" / student_id / module_id
        target.mkdir(parents=True, exist_ok=True)
        for name in ("timestamp.txt", "submission_secret.txt"):
            shutil.copyfile(submitted / name, target / name)
        text = page(module_id, note["reason"], note["timestamp"], note["max_score"])
        for name in names:
            (target / f"{name}.html").write_text(text, encoding="utf-8")
        written.append(student_id)
    return written
