"""Which notebook a Voilà page's kernel was started for (autograde/learner/prepared.py's
``notebook_of``): only a module page under the server's own base URL is prepared ahead."""

from __future__ import annotations

import pytest

from autograde.learner.prepared import notebook_of

BASE = "/user/hcwh-ana/"


@pytest.mark.parametrize("script_name, notebook", [
    ("/user/hcwh-ana/voila/render/01-authenticity/01-authenticity.ipynb", "01-authenticity/01-authenticity.ipynb"),
    ("/user/hcwh-ana/voila/render/00-welcome/00%20welcome.ipynb", "00-welcome/00 welcome.ipynb"),
    ("/user/hcwh-ana/voila/render/top.ipynb", "top.ipynb"),
    ("/user/hcwh-bo/voila/render/01-authenticity/01-authenticity.ipynb", None),  # another server's path
    ("/user/hcwh-ana/voila/tree/01-authenticity", None),
    ("/user/hcwh-ana/voila/render/01-authenticity/notes.txt", None),
    ("/user/hcwh-ana/voila/render/../etc/x.ipynb", None),
    ("", None),
])
def test_notebook_of(script_name, notebook):
    assert notebook_of(script_name, BASE) == notebook


def test_a_server_at_the_root():
    assert notebook_of("/voila/render/a/b.ipynb", "/") == "a/b.ipynb"


def test_last_worked_on_is_the_module_whose_answers_were_saved_last(tmp_path):
    from autograde.learner.prepared import last_worked_on
    import os

    assert last_worked_on(str(tmp_path)) is None  # nothing fetched
    for n, module in enumerate(["01-authenticity", "02-anticipation", "03-engagement"]):
        (tmp_path / module).mkdir()
        (tmp_path / module / f"{module}.ipynb").write_text("{}")
    assert last_worked_on(str(tmp_path)) is None  # fetched, nothing answered: a first login
    for module, when in [("01-authenticity", 1_000), ("02-anticipation", 3_000), ("03-engagement", 2_000)]:
        (tmp_path / module / "answers.json").write_text("{}")
        os.utime(tmp_path / module / "answers.json", (when, when))
    assert last_worked_on(str(tmp_path)) == "02-anticipation/02-anticipation.ipynb"
    (tmp_path / "02-anticipation" / "02-anticipation.ipynb").unlink()  # answers left, notebook gone
    assert last_worked_on(str(tmp_path)) == "03-engagement/03-engagement.ipynb"
    (tmp_path / "notes").mkdir()  # a folder of the learner's own, newest, with no module notebook
    (tmp_path / "notes" / "answers.json").write_text("{}")
    assert last_worked_on(str(tmp_path)) == "03-engagement/03-engagement.ipynb"
    assert last_worked_on(str(tmp_path / "missing")) is None
