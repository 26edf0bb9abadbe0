"""hcwh on a course where nothing is released, and a module released twice: clear messages,
no tracebacks (the review's B10; issue 12 point 5). Real nbgrader, a real exchange."""

from __future__ import annotations

import json

import pytest

from autograde.cli import main
from autograde.config import Settings
from autograde.course import nbgrader_api as course

MODULE = "00-welcome"


@pytest.mark.parametrize("command", [["collect", MODULE], ["feedback", MODULE], ["collect"], ["autograde"], ["feedback"]])
def test_nothing_released_gives_a_message_not_a_traceback(tmp_path, capsys, command):
    assert main(["--state-dir", str(tmp_path / "state"), *command]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err and "Error:" not in err
    assert "hcwh release" in err


def test_a_module_not_released_anywhere_is_named(tmp_path):
    from autograde.grading import preflight

    s = Settings(state_dir=tmp_path / "state")
    ctx = preflight.context(s)
    with pytest.raises(preflight.NothingReleased, match="no released notebook of 99-nothing"):
        ctx.references("99-nothing")
    from curriculum.errors import HcwhError

    assert issubclass(preflight.NothingReleased, HcwhError)


def test_releasing_again_replaces_the_exchange_copy_and_says_so(tmp_path, capsys):
    state = tmp_path / "state"
    assert main(["--state-dir", str(state), "release", MODULE]) == 0
    first = capsys.readouterr().out
    assert f"[1/1] released {MODULE} to " in first
    s = Settings(state_dir=state)
    home = tmp_path / "home"
    fetched = course.fetch(s, MODULE, "ana", home)
    outbound = s.exchange_dir / s.course_id / "outbound" / MODULE
    stale = outbound / "stale-from-the-first-release.txt"  # stands for the first release's content
    stale.write_text("old")
    assert main(["--state-dir", str(state), "release", MODULE]) == 0  # was: "Destination already exists, add --force"
    out = capsys.readouterr()
    assert f"[1/1] released {MODULE} again to " in out.out and "Traceback" not in out.err
    assert "learners who already fetched the module keep their copy" in out.out
    assert not stale.exists() and (outbound / f"{MODULE}.ipynb").is_file()  # the exchange copy was replaced whole
    assert (fetched / f"{MODULE}.ipynb").is_file()  # the learner's copy is untouched
