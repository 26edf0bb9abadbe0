"""hcwh on a course where nothing is released, and a module released twice: clear messages,
no tracebacks (the review's B10; issue 12 point 5). Real nbgrader, a real exchange."""

from __future__ import annotations

import json
from pathlib import Path

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


def test_a_release_records_the_modules_version_and_its_approver(tmp_path, capsys):
    import hashlib

    from autograde.record import audit, versions
    from curriculum.builder import MODULES_DIR

    state = tmp_path / "state"
    assert main(["--state-dir", str(state), "release", MODULE, "--approved-by", "hr.lead"]) == 0
    s = Settings(state_dir=state)
    sha = [hashlib.sha256(p.read_bytes()).hexdigest() for p in (
        Path(__file__).parents[2] / "curriculum" / "framework" / "customer-service-framework.txt",
        MODULES_DIR / f"{MODULE}.yaml", s.release_dir / MODULE / f"{MODULE}.ipynb")]
    by_hand = hashlib.sha256(f"framework {sha[0]}\nmodule {sha[1]}\nnotebook {sha[2]}\n".encode()).hexdigest()
    [row] = versions.released(s, MODULE)
    assert (row["version"], row["approved_by"], row["notebook_sha256"]) == (by_hand, "hr.lead", sha[2])
    assert f"{MODULE} version {by_hand[:12]} (approved by hr.lead) archived" in capsys.readouterr().out
    assert {p.name for p in versions.archive_dir(s).iterdir()} == set(sha)
    [line] = audit.log_path(s).read_text().splitlines()
    assert json.loads(line)["event"] == "release" and json.loads(line)["approved_by"] == "hr.lead"
    assert main(["--state-dir", str(state), "audit", "verify"]) == 0
