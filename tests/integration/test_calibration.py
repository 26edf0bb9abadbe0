"""Grader calibration on a real gradebook (the tiny cohort, tests/hr_cohort.py): sampling, the blind
screen (the console's own tornado handlers over HTTP on 127.0.0.1), the final-score rule written through
the attribution path, and no reflection text outside the trainers' screen.

Who is logged in comes from a test header here instead of the hub: the hub's own refusal of learners
and HR (403) is tested on a real hub in tests/e2e/test_hub.py."""

from __future__ import annotations

import asyncio
import contextlib
import re
import shutil
import sqlite3
import threading
from dataclasses import replace

import pytest
import requests

from autograde.course import attribution, calibration
from autograde.course import nbgrader_api as course
from autograde.record import audit
from autograde.record.calibration import CalibrationError
from autograde.reporting import calibration as figures
from tests.hr_cohort import MODULE, PLANTED

PREFIX = "/services/trainer-console/"
BALANCE = "auth-r-balance-answer"  # 01-authenticity's first reflection: three criteria of 1 point each


@contextlib.contextmanager
def console(s, monkeypatch):
    """The trainer console service's app, serving on a free port of 127.0.0.1; stopped after."""
    from tornado.httpserver import HTTPServer
    from tornado.netutil import bind_sockets

    from autograde.hub import services

    monkeypatch.setenv("HCWH_STATE_DIR", str(s.state_dir))
    monkeypatch.setenv("JUPYTERHUB_SERVICE_PREFIX", PREFIX)
    monkeypatch.setattr(services.Calibration, "get_current_user", lambda self: {"name": self.request.headers["X-Who"]})
    loop = asyncio.new_event_loop()
    sockets = bind_sockets(0, "127.0.0.1")
    port = sockets[0].getsockname()[1]
    ready = threading.Event()
    holder = {}

    def run():
        asyncio.set_event_loop(loop)
        server = HTTPServer(services.make_app("console"))
        server.add_sockets(sockets)
        holder["server"] = server
        loop.call_soon(ready.set)
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    ready.wait(30)
    try:
        yield f"http://127.0.0.1:{port}{PREFIX}"
    finally:
        loop.call_soon_threadsafe(holder["server"].stop)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(30)
        loop.close()


def _as(name: str) -> requests.Session:
    session = requests.Session()
    session.headers["X-Who"] = name
    return session


def _score_in_screen(url: str, who: str, sample_id: int, values: list[str]) -> requests.Response:
    session = _as(who)
    form = session.get(f"{url}calibrate/{sample_id}")
    assert form.status_code == 200, form.text
    token = re.search(r'name="_xsrf" value="([^"]+)"', form.text).group(1)
    data = {"_xsrf": token, **{f"c{n}": v for n, v in enumerate(values)}}
    return session.post(f"{url}calibrate/{sample_id}", data=data, allow_redirects=False)


def test_sampling_is_random_with_a_seed_and_never_picks_a_reflection_twice(tiny_cohort, tiny_cohort_copy, tmp_path):
    s = tiny_cohort_copy.settings
    # by hand: two learners submitted (ana, ben) and 01-authenticity has three reflections, but ben wrote none
    # (tests/hr_cohort.py): 3 cells to sample, ana's
    assert [(c[1], c[3]) for c in calibration.candidates(s, MODULE)] == [
        ("ana", "auth-r-balance-answer"), ("ana", "auth-r-reply-answer"), ("ana", "auth-r-values-answer")]
    first, pool = calibration.sample(s, MODULE, 2, seed=11, trainer="jlee")
    assert pool == 3 and len(first) == 2 and all(x.marked_by == "jlee" and x.how == "random, seed 11" for x in first)
    # the same seed on the same submissions picks the same reflections (another copy of the cohort)
    shutil.copytree(tiny_cohort.root, tmp_path / "again", symlinks=True)
    other = replace(s, state_dir=tmp_path / "again" / "state")
    again, _ = calibration.sample(other, MODULE, 2, seed=11, trainer="mkhan")
    assert [(x.student, x.cell) for x in again] == [(x.student, x.cell) for x in first]
    rest, pool = calibration.sample(s, MODULE, 10, seed=3, trainer="jlee")
    assert pool == 1 and len(rest) == 1
    assert len({(x.student, x.cell) for x in first + rest}) == 3
    with pytest.raises(CalibrationError, match="no graded reflection is left to sample"):
        calibration.sample(s, MODULE, 1, seed=5, trainer="jlee")
    with pytest.raises(CalibrationError, match="no such module in the gradebook"):
        calibration.sample(s, "07-nothing", 1, seed=5, trainer="jlee")


def test_a_round_blind_screen_final_rule_and_gradebook(tiny_cohort_copy, monkeypatch):
    s = tiny_cohort_copy.settings
    # the reflection already holds a formgrader score, by a trainer the second grader must not learn of
    with course.gradebook(s) as gb:
        grade = gb.find_grade(BALANCE, MODULE, MODULE, "ana")
        attribution.set_manual_score(s, gb, grade, 2.0, "fg-first-grader", via="formgrader")
    agreed = calibration.mark(s, MODULE, "ana", "auth-r-balance", "jlee")
    apart = calibration.mark(s, MODULE, "ana", "auth-r-values", "jlee")
    with console(s, monkeypatch) as url:
        assert _score_in_screen(url, "jlee", agreed.id, ["1", "0.5", "1"]).status_code == 302
        # jlee sees her own scores again (the page can show a score: the check below can fail)
        own = _as("jlee").get(f"{url}calibrate/{agreed.id}").text
        assert own.count(" checked") == 3 and 'id="c1-1" name="c1" value="0.5" required checked' in own
        # the second grader: the learner's words and the rubric; no one else's score, name or the gradebook's
        page = _as("mkhan").get(f"{url}calibrate/{agreed.id}")
        assert page.status_code == 200
        assert PLANTED.split()[0] in page.text
        assert "Names a specific part of who they are" in page.text
        assert " checked" not in page.text and "Scores given" not in page.text
        for other in ("jlee", "fg-first-grader", ">ana<", "Ana Reyes"):
            assert other not in page.text, other
        assert [label for label in re.findall(r'<label for="c0-\d">([^<]+)</label>', page.text)] == [
            "0 points", "0.5 points", "1 point"]  # by hand: criterion 1 is worth 1, half points allowed
        listing = _as("mkhan").get(f"{url}calibrate").text
        assert f"Sample {agreed.id}:" in listing and "jlee" not in listing
        # a score outside the rubric is refused, naming the criterion; nothing is kept
        bad = _score_in_screen(url, "mkhan", agreed.id, ["1", "2", "1"])
        assert bad.status_code == 400 and "criterion 2: 2 is not a score from 0 to 1" in bad.text
        assert {x.grader for x in figures.store.scores(s) if x.sample == agreed.id} == {"jlee"}
        assert _score_in_screen(url, "mkhan", agreed.id, ["1", "1", "1"]).status_code == 302
        # the other reflection: 3 points apart, so a third grader is called
        assert _score_in_screen(url, "jlee", apart.id, ["0", "0", "0"]).status_code == 302
        assert _score_in_screen(url, "mkhan", apart.id, ["1", "1", "1"]).status_code == 302
        assert [x.id for x in calibration.to_score(s, "pat")] == [apart.id]  # settled samples are not offered
        assert calibration.to_score(s, "jlee") == []
        assert _score_in_screen(url, "pat", apart.id, ["1", "0.5", "0"]).status_code == 302
    with pytest.raises(CalibrationError, match="has its graders already"):
        calibration.score(s, agreed.id, "quinn", ["1", "1", "1"])

    lines = calibration.finalize(s, MODULE, "jlee")
    # by hand: totals 2.5 and 3, mean 2.75, up to the next half point: 3; totals 0, 3, 1.5: median 1.5
    assert any("3 written to the gradebook (mean of 2.5, 3" in line for line in lines), lines
    assert any("1.5 written to the gradebook (median of 0, 3, 1.5" in line for line in lines), lines
    with course.gradebook(s) as gb:
        assert gb.find_grade(BALANCE, MODULE, MODULE, "ana").manual_score == 3.0
        assert gb.find_grade("auth-r-values-answer", MODULE, MODULE, "ana").manual_score == 1.5
    rows = [r for r in attribution.records(s) if r["via"] == "calibration"]
    assert [(r["trainer"], r["cell"], r["old_manual_score"], r["new_manual_score"]) for r in rows] == [
        ("jlee, mkhan", BALANCE, 2.0, 3.0), ("jlee, mkhan, pat", "auth-r-values-answer", None, 1.5)]
    events = [e["event"] for e in map(__import__("json").loads, audit.log_path(s).read_text().splitlines())]
    assert events.count("calibration final") == 2 and events.count("calibration score") == 5
    assert audit.verify(audit.log_path(s)).ok
    assert calibration.finalize(s, MODULE, "jlee") == [f"{MODULE}: no sample to finalize"]  # written once
    with console(s, monkeypatch) as url:  # the meeting: once final, the scores given, without names
        meeting = _as("quinn").get(f"{url}calibrate/{agreed.id}").text
    assert "The final score, 3, is in the gradebook" in meeting and "<form" not in meeting
    assert re.findall(r"<td>([^<]*)</td>", meeting) == ["1, 1", "0.5, 1", "1, 1"]  # jlee 1 .5 1, mkhan 1 1 1
    assert "jlee" not in meeting and "mkhan" not in meeting
    with pytest.raises(CalibrationError, match="final score is already in the gradebook"):
        figures.store.put_scores(s, agreed.id, "jlee", [(0.0, 1.0)] * 3)

    # the figures and the files: trainers only, and no reflection's words anywhere but the screen
    written = figures.write_report(s, MODULE)
    assert (written.folder / "agreement.csv").stat().st_mode & 0o777 == 0o600
    assert written.folder.stat().st_mode & 0o777 == 0o700
    table = figures.agreement_table(s, MODULE)
    overall = table[-1]
    assert overall["criterion"] == "overall" and overall["reflections"] == 2 and overall["graders"] == 3
    # By hand, every criterion of both samples pooled: six units, n = 15 pairable values.
    #   balance: jlee 1 .5 1, mkhan 1 1 1;  values: jlee 0 0 0, mkhan 1 1 1, pat 1 .5 0
    #   D_o = 1/n * sum_u (sum over ordered pairs (c-k)^2) / (m_u - 1):
    #     balance c2 (.5, 1): 2 * .25 / 1 = .5;  values c1 (0,1,1): 4 / 2 = 2;  c2 (0,1,.5): 3 / 2 = 1.5;
    #     c3 (0,1,0): 4 / 2 = 2;  the other two units agree  ->  6 / 15 = .4
    #   D_e: values 1 x9, .5 x2, 0 x4: pairs (1,.5) 18 * .25 = 4.5, (1,0) 36, (.5,0) 8 * .25 = 2 -> 42.5,
    #     ordered 85;  D_e = 85 / (15 * 14);  alpha = 1 - .4 * 210 / 85 = 1 - 84/85 = 1/85
    assert overall["alpha"] == pytest.approx(1 / 85)
    with (written.folder / "agreement.csv").open() as f:
        rows = list(__import__("csv").DictReader(f))
    assert len(rows) == 7 and rows[-1]["criterion"] == "overall"  # 2 reflections x 3 criteria, then overall
    worst = figures.disagreement_table(s, MODULE)
    # values: spreads 1 + 1 + 1 = 3 (totals 0, 1.5, 3); balance: 0 + .5 + 0 (totals 2.5, 3)
    assert [(w["sample"], w["criteria_spread"], w["totals"]) for w in worst] == [(apart.id, 3.0, [0.0, 1.5, 3.0]),
                                                                              (agreed.id, 0.5, [2.5, 3.0])]
    from autograde.reporting.report import write_report

    write_report(s)
    word = PLANTED.split()[0]
    for folder in (s.reports_dir, s.trainer_reports_dir, s.state_dir / "record"):
        for path in folder.rglob("*"):
            if path.is_file():
                assert word.encode() not in path.read_bytes(), path
    with sqlite3.connect(attribution.record_path(s)) as db:
        assert word not in " ".join(str(r) for r in db.execute("SELECT * FROM manual_grades"))


def test_hcwh_calibrate_prints_the_table_and_names_bad_input(tiny_cohort_copy, capsys):
    from autograde.cli import main

    state = str(tiny_cohort_copy.settings.state_dir)
    assert main(["--state-dir", state, "calibrate", "sample", MODULE, "--n", "0", "--seed", "1"]) == 2
    assert "error: --n 0: give how many reflections to sample, at least 1" in capsys.readouterr().err
    assert main(["--state-dir", state, "calibrate", "mark", MODULE, "ana", "auth-r-nothing", "--by", "jlee"]) == 2
    assert "ana has no graded reflection 'auth-r-nothing' with words in it" in capsys.readouterr().err
    assert main(["--state-dir", state, "calibrate", "mark", MODULE, "ben", "auth-r-balance", "--by", "jlee"]) == 2
    assert "ben has no graded reflection 'auth-r-balance' with words in it" in capsys.readouterr().err  # he wrote none
    assert main(["--state-dir", state, "calibrate", "sample", MODULE, "--n", "2", "--seed", "4", "--by", "jlee"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{MODULE}: 2 of 3 reflections not yet sampled marked for double grading (random, seed 4)")
    assert main(["--state-dir", state, "calibrate", "final", MODULE]) == 0
    assert out.count("  sample ") == 2 and "waiting for a second grader" in capsys.readouterr().out
    assert main(["--state-dir", state, "calibrate", "report", MODULE]) == 0
    out = capsys.readouterr().out
    assert "Krippendorff's alpha" in out and "overall" in out and "Written (trainers only):" in out
    assert "trainer-reports/calibration/" in out
