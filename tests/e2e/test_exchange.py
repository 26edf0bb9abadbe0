"""The hub exchange, through a real JupyterHub, its proxy, the exchange service and formgrader
as hub services (tests/exchange_hub.py): who submitted and when are the server's facts.

Learners are hub users with their own tokens (the token every learner's server holds); two
also exist as OS accounts for the by-path case, run with Debian's own python. One module-wide
story: forged submissions first (each refused with a note naming the real owner), then the
same store collected three ways (nbgrader's command line, formgrader's Collect button,
``hcwh collect``) with identical results, then one honest round to feedback."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import pytest

from autograde.cli import main
from autograde.config import PROJECT_ROOT, Settings
from autograde.course import attribution
from autograde.course import nbgrader_api as course
from autograde.exchange import service
from autograde.exchange.client import TOKEN_ENV, nbgrader_time
from curriculum.answers import AnswerStore
from tests.exchange_hub import PROXY, VENV_BIN, HttpError, Hub, http

MODULE = "01-authenticity"
PREFIX = "hcwhxt-"  # test-only OS accounts and hub users
ANA, BEN, CY, TRAINER = f"{PREFIX}ana", f"{PREFIX}ben", f"{PREFIX}cy", f"{PREFIX}tara"
OS_USERS = (ANA, BEN)
DEBIAN_PYTHON = "/usr/bin/python3"


def _need(path: str | Path, why: str) -> None:
    if not Path(path).exists():
        pytest.skip(f"{path} is missing: {why}")


@contextlib.contextmanager
def environment(env: dict):
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture(scope="module")
def hub(machine_hub_lock):
    _need(PROXY, "run `make install` (configurable-http-proxy from hub/package-lock.json)")
    if os.geteuid() != 0:
        pytest.skip("the exchange tests make OS accounts and run as them: they need root (as in CI)")
    root = Path(tempfile.mkdtemp(prefix="hcwh-exchange-test-"))
    os.chmod(root, 0o755)  # reachable by every account: only the service's own modes protect its store
    h = Hub(root=root, settings=Settings(state_dir=root / "state"))
    h.settings = replace(h.settings, exchange="hub", exchange_url=h.exchange_url)
    s = h.settings
    (root / "control.txt").write_text("readable by everyone\n")
    os.chmod(root / "control.txt", 0o644)
    made_users = []
    try:
        for name in OS_USERS:
            subprocess.run(["userdel", name], capture_output=True)  # left by an earlier killed run
            subprocess.run(["useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", name], check=True)
            made_users.append(name)
        # the trainer's course: built module, gradebook, cohorts' plans and roster
        course.prepare(s, [MODULE])
        course.generate(s, MODULE)
        (root / "cohorts.csv").write_text("cohort,module,assigned,due_date\n"
                                          f"spring,{MODULE},2026-03-02,2026-03-13\n"
                                          f"fall,{MODULE},2026-09-07,2026-09-18\n")
        (root / "roster.csv").write_text(
            "employee_id,first_name,last_name,email,department,hire_date,cohort\n"
            f"{ANA},Ana,Reyes,ana@example.org,311,2026-02-20,spring\n"
            f"{BEN},Ben,Okafor,ben@example.org,Parks,2026-02-21,spring\n"
            f"{CY},Cy,Lee,cy@example.org,Water,2026-08-30,fall\n")
        from autograde.roster import import_cohorts, import_roster

        import_cohorts(s, root / "cohorts.csv")
        import_roster(s, root / "roster.csv")
        h.start()
        h.tokens = {name: h.add_user(name) for name in (ANA, BEN, CY)}
        h.tokens[TRAINER] = h.add_user(TRAINER, trainer=True)
        with environment(h.env()):
            course.release(s, MODULE)  # the trainer console's token
        yield h
    finally:
        try:
            h.stop()
        finally:
            for name in made_users:
                subprocess.run(["userdel", name], check=False)
            shutil.rmtree(root, ignore_errors=True)


def as_learner(h: Hub, name: str):
    return environment(h.env(**{TOKEN_ENV: h.tokens[name]}))


def api(h: Hub, who: str, method: str, path: str, body=None, headers=None):
    code, data = http(method, f"{h.exchange_url}api/{path}", h.tokens.get(who, who), body, headers)
    return code, data


def refusal(h: Hub, who: str, method: str, path: str, body=None, headers=None) -> tuple[int, str]:
    with pytest.raises(HttpError) as info:
        api(h, who, method, path, body, headers)
    return info.value.code, json.loads(info.value.body)["error"]


def receipts(h: Hub) -> list[dict]:
    return service.Store(service.store_dir(h.settings)).receipts()


def home(h: Hub, name: str) -> Path:
    return h.root / "homes" / name


def fetched(h: Hub, name: str) -> Path:
    folder = home(h, name) / MODULE
    if not folder.exists():
        with as_learner(h, name):
            course.fetch(h.settings, MODULE, name, home(h, name))
    return folder


def learner_config(h: Hub, cwd: Path) -> None:
    """The nbgrader config a learner's server is given: the hub exchange, the course."""
    (cwd / "nbgrader_config.py").write_text(
        f"import sys; sys.path.insert(0, {str(PROJECT_ROOT)!r})\n"
        "from autograde.exchange import apply_nbgrader_config\n"
        f"apply_nbgrader_config(c, {h.exchange_url!r})\n"
        f"c.CourseDirectory.course_id = {h.settings.course_id!r}\n")


def nbgrader_cli(h: Hub, args: list[str], cwd: Path, token: str) -> subprocess.CompletedProcess:
    learner_config(h, cwd)
    return subprocess.run([str(VENV_BIN / "nbgrader"), *args], cwd=cwd, capture_output=True, text=True,
                          env=h.env(**{TOKEN_ENV: token}))


def tar_of(*members: tarfile.TarInfo, data: bytes = b"x") -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for info in members:
            tar.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return buf.getvalue()


def member(name: str, kind=tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    info.size = 1 if kind == tarfile.REGTYPE else 0
    return info


# -- identity: each forgery refused, naming the real owner, changing nothing ------------------


def test_trainer_and_learner_are_told_apart_by_the_hub(hub):
    assert json.loads(api(hub, ANA, "GET", "whoami")[1]) == {"name": ANA, "kind": "user", "trainer": False}
    assert json.loads(api(hub, TRAINER, "GET", "whoami")[1])["trainer"] is True
    assert json.loads(api(hub, hub.console_token, "GET", "whoami")[1]) == {
        "name": "hcwh-trainer-console", "kind": "service", "trainer": True}
    with pytest.raises(HttpError) as info:
        http("GET", f"{hub.exchange_url}api/whoami", "not-a-token")
    assert info.value.code == 403
    # trainers' actions refused to a learner, with who they are
    code, note = refusal(hub, ANA, "PUT", f"releases/{MODULE}", tar_of(member("x.txt")))
    assert code == 403 and note == f"only trainers may release modules; user '{ANA}' is not a trainer"
    code, note = refusal(hub, ANA, "GET", "submissions?all=1")
    assert code == 403 and ANA in note
    code, note = refusal(hub, ANA, "PUT", f"feedback/{MODULE}?learner={ANA}&version=1", tar_of(member("x.html")))
    assert code == 403 and note == f"only trainers may release feedback; user '{ANA}' is not a trainer"


def test_submit_in_another_learners_name_is_refused(hub):
    fetched(hub, ANA)
    before = receipts(hub)
    # nbgrader's own command line, as a learner would type it in a terminal of their server
    run = nbgrader_cli(hub, ["submit", MODULE, "--student", BEN], home(hub, ANA), hub.tokens[ANA])
    assert run.returncode != 0
    assert (f"this submission names '{BEN}' as its learner, but it was sent by '{ANA}'" in run.stdout + run.stderr), \
        run.stdout + run.stderr
    # the same through the API, and a name smuggled as a field
    code, note = refusal(hub, ANA, "POST", f"submissions/{MODULE}", tar_of(member("a.txt")),
                         {service.CLAIM_HEADER: BEN})
    assert code == 403 and f"sent by '{ANA}'" in note and f"names '{BEN}'" in note
    code, note = refusal(hub, ANA, "POST", f"submissions/{MODULE}?student={BEN}", tar_of(member("a.txt")))
    assert code == 400 and f"the learner is the hub's sign-in ('{ANA}')" in note
    assert receipts(hub) == before  # nobody's record changed
    audit = [json.loads(line) for line in (service.store_dir(hub.settings) / "audit.jsonl").read_text().splitlines()]
    assert {(a["who"], a["action"], a["outcome"], a.get("claimed")) for a in audit} >= {(ANA, "submit", "refused", BEN)}


def test_forged_timestamp_and_file_times_do_not_set_the_time(hub):
    folder = fetched(hub, ANA)
    before = receipts(hub)
    (folder / "timestamp.txt").write_text("2026-03-01 08:00:00.000000 UTC")  # "on time", says the learner
    with as_learner(hub, ANA), pytest.raises(Exception) as info:
        course.submit(hub.settings, MODULE, ANA, home(hub, ANA))
    assert (f"timestamp.txt is written by the exchange from its own clock, never by a learner (sent by {ANA})"
            in str(info.value))
    assert receipts(hub) == before
    code, note = refusal(hub, ANA, "POST", f"submissions/{MODULE}?timestamp=2026-03-01", tar_of(member("a.txt")))
    assert code == 400 and "the time is the server's clock" in note
    # file times: set years back; they travel nowhere, the receipt is the server's clock
    (folder / "timestamp.txt").unlink()
    old = datetime(2026, 3, 1, 8, 0, tzinfo=timezone.utc).timestamp()
    for path in folder.rglob("*"):
        os.utime(path, (old, old))
    t0 = datetime.now(timezone.utc)
    with as_learner(hub, ANA):
        course.submit(hub.settings, MODULE, ANA, home(hub, ANA))
    t1 = datetime.now(timezone.utc)
    (new,) = [r for r in receipts(hub) if r not in before]
    assert new["learner"] == ANA and new["version"] == len([r for r in before if r["learner"] == ANA]) + 1
    assert t0 <= datetime.fromisoformat(new["received_at"]) <= t1
    stored = service.store_dir(hub.settings) / "submissions" / ANA / MODULE / f"{new['version']:04d}"
    nb = (stored / "files" / f"{MODULE}.ipynb").read_bytes()
    assert new["files"][f"{MODULE}.ipynb"]["sha256"] == hashlib.sha256(nb).hexdigest()
    assert (stored.stat().st_mode & 0o777, (stored / "receipt.json").stat().st_mode & 0o777) == (0o700, 0o600)
    # the compliance record's chain holds the receipt: a pseudonym, the server's time, the file's hash
    from autograde.record import audit as chain

    lines = [json.loads(line) for line in chain.log_path(hub.settings).read_text().splitlines()]
    (line,) = [e for e in lines if e["event"] == "submission received" and e["submission"] == new["version"]
               and e["learner"] == chain.pseudonym(hub.settings, ANA)]
    assert (line["received_at"], line["files"][f"{MODULE}.ipynb"]) == (new["received_at"], hashlib.sha256(nb).hexdigest())
    assert ANA not in json.dumps(line)


@pytest.mark.parametrize("bad, why", [
    (member(f"notes.txt", tarfile.SYMTYPE, "/etc/shadow"), "'notes.txt' is a symbolic link (to /etc/shadow)"),
    (member("copy.txt", tarfile.LNKTYPE, "/etc/shadow"), "'copy.txt' is a hard link (to /etc/shadow)"),
    (member("pipe", tarfile.FIFOTYPE), "'pipe' is a fifo"),
    (member("../../outside.txt"), "'../../outside.txt' points outside the submission"),
    (member("/etc/cron.d/x"), "'/etc/cron.d/x' is not a relative path inside the submission"),
    *[(member(f"many/{n}.txt"), "the submission holds more than 200 files or 67108864 bytes") for n in [201]],
])
def test_links_special_files_and_escaping_paths_are_refused(hub, bad, why):
    before = receipts(hub)
    extra = [member(f"many/{n}.txt") for n in range(200)] if bad.name.startswith("many/") else []
    code, note = refusal(hub, BEN, "POST", f"submissions/{MODULE}", tar_of(member(f"{MODULE}.ipynb"), *extra, bad))
    assert code == 400 and note.startswith(why) and note.endswith(f"(sent by {BEN}); nothing was stored")
    assert receipts(hub) == before
    assert not list((service.store_dir(hub.settings) / "submissions").glob(f"{BEN}/*/.incoming-*"))


def test_a_link_in_a_learners_folder_is_sent_as_a_link_and_refused(hub):
    folder = fetched(hub, BEN)
    os.symlink("/etc/shadow", folder / "notes.txt")
    before = receipts(hub)
    try:
        with as_learner(hub, BEN), pytest.raises(Exception) as info:
            course.submit(hub.settings, MODULE, BEN, home(hub, BEN))
        assert f"'notes.txt' is a symbolic link (to /etc/shadow); only regular files are accepted (sent by {BEN})" \
               in str(info.value)
    finally:
        (folder / "notes.txt").unlink()
    assert receipts(hub) == before


def test_the_store_is_the_course_accounts_alone(hub):
    store = service.store_dir(hub.settings)
    for path in [store, *store.rglob("*")]:
        mode = path.lstat().st_mode & 0o777
        assert not path.is_symlink()
        assert mode == (0o700 if path.is_dir() else 0o600), (path, oct(mode))


# -- the same store collected three ways: alike, and only what the server vouches for ---------


def _collected(s: Settings) -> dict:
    out = {}
    for path in sorted((s.course_dir / "submitted").rglob("*")):
        if path.is_file():
            out[str(path.relative_to(s.course_dir / "submitted"))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def test_collect_by_command_line_formgrader_and_hcwh_alike(hub):
    s = hub.settings
    if not [r for r in receipts(hub) if r["learner"] == ANA]:  # when run alone
        fetched(hub, ANA)
        with as_learner(hub, ANA):
            course.submit(s, MODULE, ANA, home(hub, ANA))
    ana = [r for r in receipts(hub) if r["learner"] == ANA][-1]
    # what a forger leaves where nbgrader's shared-folder exchange would look: ben's name, an early time
    forged = s.exchange_dir / s.course_id / "inbound" / f"{BEN}+{MODULE}+2026-03-01 08:00:00.000000 UTC+x"
    forged.mkdir(parents=True)
    shutil.copy(home(hub, ANA) / MODULE / f"{MODULE}.ipynb", forged)
    (forged / "timestamp.txt").write_text("2026-03-01 08:00:00.000000 UTC")
    results = {}
    for way in ("nbgrader", "formgrader", "hcwh"):
        shutil.rmtree(s.course_dir / "submitted", ignore_errors=True)
        if way == "nbgrader":
            run = subprocess.run([str(VENV_BIN / "nbgrader"), "collect", MODULE], cwd=PROJECT_ROOT,
                                 capture_output=True, text=True, env=hub.env())
            assert run.returncode == 0, run.stdout + run.stderr
        elif way == "formgrader":  # the Collect button's request, as the trainer, through the hub
            code, data = http("POST", f"{hub.formgrader_url}formgrader/api/assignment/{MODULE}/collect",
                              hub.tokens[TRAINER], b"")
            assert json.loads(data)["success"] is True, data
        else:
            with environment(hub.env()):
                assert main(["collect"]) == 0  # every module the exchange lists as released
        results[way] = _collected(s)
    assert results["nbgrader"] == results["formgrader"] == results["hcwh"]
    folder = s.course_dir / "submitted" / ANA / MODULE
    # only ana, who really submitted; nothing in ben's name; her time is the receipt's
    assert sorted({k.split("/")[0] for k in results["hcwh"]}) == [ANA]
    assert (folder / "timestamp.txt").read_text() == nbgrader_time(ana["received_at"])
    assert not (folder / "notes.txt").exists()
    for name, f in ana["files"].items():
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == f["sha256"]


def test_collect_before_the_due_date_takes_the_last_version_received_by_then(hub):
    """nbgrader's ``collect --before-duedate``, judged by the server's receipt times."""
    from nbgrader.api import Gradebook

    s = hub.settings
    fetched(hub, ANA)
    for _ in range(2):
        with as_learner(hub, ANA):
            course.submit(s, MODULE, ANA, home(hub, ANA))
    *_, first, second = [r for r in receipts(hub) if r["learner"] == ANA]
    between = datetime.fromisoformat(first["received_at"]).astimezone(timezone.utc).replace(tzinfo=None)
    with Gradebook(s.gradebook_url, course_id=s.course_id) as gb:
        before = gb.find_assignment(MODULE).duedate
        gb.update_or_create_assignment(MODULE, duedate=between)  # due at the first one's receipt
    try:
        for flag, want in (("--before-duedate", first), (None, second)):
            shutil.rmtree(s.course_dir / "submitted", ignore_errors=True)
            run = subprocess.run([str(VENV_BIN / "nbgrader"), "collect", MODULE, *([flag] if flag else [])],
                                 cwd=PROJECT_ROOT, capture_output=True, text=True, env=hub.env())
            assert run.returncode == 0, run.stdout + run.stderr
            folder = s.course_dir / "submitted" / ANA / MODULE
            assert (folder / "timestamp.txt").read_text() == nbgrader_time(want["received_at"]), flag
            assert (folder / "submission_secret.txt").read_text() == want["secret"], flag
    finally:
        with Gradebook(s.gradebook_url, course_id=s.course_id) as gb:
            gb.update_or_create_assignment(MODULE, duedate=before)


# -- "my plan" ---------------------------------------------------------------------------------


def test_my_plan_shows_a_learner_their_own_modules_and_dates_only(hub):
    code, data = api(hub, BEN, "GET", "plan")
    plan = json.loads(data)
    assert plan == {"learner": BEN, "on_roster": True, "cohort": "spring", "modules": [
        {"module": MODULE, "assigned": "2026-03-02", "due_date": "2026-03-13", "status": plan["modules"][0]["status"],
         "submitted_at": None, "submissions": 0, "feedback": False}]}
    assert plan["modules"][0]["status"] in ("overdue", "not started")
    assert ANA not in data.decode() and CY not in data.decode() and "Reyes" not in data.decode()
    cy = json.loads(api(hub, CY, "GET", "plan")[1])
    assert [(m["module"], m["due_date"]) for m in cy["modules"]] == [(MODULE, "2026-09-18")]
    assert cy["cohort"] == "fall"
    trainer = json.loads(api(hub, TRAINER, "GET", "plan")[1])
    assert trainer == {"learner": TRAINER, "on_roster": False, "cohort": None, "modules": []}


# -- one honest round, then feedback by its owner only ---------------------------------------


@pytest.fixture(scope="module")
def honest_round(hub):
    s = hub.settings
    for name, answer in ((ANA, "a"), (BEN, "b")):
        folder = fetched(hub, name)
        AnswerStore(folder).put("questions", "auth-q-casual-caller", answer)
        with as_learner(hub, name):
            course.submit(s, MODULE, name, home(hub, name))
    with environment(hub.env()):
        assert main(["collect", MODULE]) == 0
        assert main(["autograde", MODULE]) == 0
        assert main(["feedback", MODULE]) == 0
    return s


def test_honest_round_release_to_feedback(hub, honest_round, capsys):
    s = honest_round
    latest = {r["learner"]: r for r in receipts(hub)}
    with course.gradebook(s) as gb:
        for name, points in ((ANA, 3.0), (BEN, 0.0)):
            sub = gb.find_submission(MODULE, name)
            assert (sub.score, sub.max_score) == (points, 30.0)
            # lateness is judged on the server's receipt time
            assert sub.timestamp == datetime.fromisoformat(latest[name]["received_at"]).replace(tzinfo=None)
    for name, points in ((ANA, "3"), (BEN, "0")):
        with as_learner(hub, name):
            (html,) = course.fetch_feedback(s, MODULE, name, home(hub, name))
        assert f"Question auth-q-casual-caller: {points} of 3 points." in html.read_text()
        assert html.parent.name == nbgrader_time(latest[name]["received_at"])
    plan = json.loads(api(hub, ANA, "GET", "plan")[1])["modules"][0]
    assert (plan["submitted_at"], plan["feedback"]) == (latest[ANA]["received_at"], True)
    assert plan["status"] == "submitted late"  # due 2026-03-13; received now, by the server's clock
    # the receipt records whether the clock was synchronized; if not, the late mark carries a warning
    from autograde import clock

    assert latest[ANA]["clock_synced"] is clock.synced()
    assert ("clock_warning" in plan) is (not clock.synced()), plan


def test_the_assignments_tab_lists_a_learners_own_work_from_the_exchange(hub, honest_round):
    from nbgrader.server_extensions.assignment_list.handlers import AssignmentList

    with as_learner(hub, ANA):
        course.fetch_feedback(hub.settings, MODULE, ANA, home(hub, ANA))
    learner_config(hub, home(hub, ANA))
    tab = AssignmentList()
    tab.root_dir = str(home(hub, ANA))
    with as_learner(hub, ANA), contextlib.chdir(home(hub, ANA)):  # the Assignments tab's server runs there
        listed = tab.list_assignments(course_id=hub.settings.course_id)
    assert listed["success"] is True, listed
    released = [a for a in listed["value"] if a["status"] != "submitted"]
    submitted = [a for a in listed["value"] if a["status"] == "submitted"]
    assert [(a["assignment_id"], a["status"]) for a in released] == [(MODULE, "fetched")]
    (mine,) = submitted
    assert mine["student_id"] == ANA
    stamps = [nbgrader_time(r["received_at"]) for r in receipts(hub) if r["learner"] == ANA]
    assert [sub["timestamp"] for sub in mine["submissions"]] == stamps
    assert mine["submissions"][-1]["has_exchange_feedback"] is True  # the collected version's feedback
    assert mine["submissions"][-1]["has_local_feedback"] is True  # just fetched


def test_another_learners_feedback_is_refused_by_name(hub, honest_round):
    code, note = refusal(hub, ANA, "GET", f"feedback/{MODULE}?learner={BEN}")
    assert code == 403 and note == (f"refused: feedback for '{MODULE}' belongs to '{BEN}'; you are signed in as "
                                    f"'{ANA}' and may fetch only your own")
    run = nbgrader_cli(hub, ["fetch_feedback", MODULE, "--student", BEN], home(hub, ANA), hub.tokens[ANA])
    assert run.returncode != 0 and f"belongs to '{BEN}'" in run.stdout + run.stderr
    assert not (home(hub, ANA) / MODULE / "feedback" / nbgrader_time(
        [r for r in receipts(hub) if r["learner"] == BEN][-1]["received_at"])).exists()
    code, note = refusal(hub, ANA, "GET", f"submissions/{BEN}/{MODULE}/1")
    assert code == 403 and f"only trainers may read {BEN}'s submission; user '{ANA}'" in note


def test_another_learners_feedback_is_refused_by_path_from_a_learners_process(hub, honest_round):
    _need(DEBIAN_PYTHON, "Debian's own python runs the learner's process")
    store = service.store_dir(hub.settings)
    (ben_html,) = (store / "feedback" / BEN / MODULE / "files").glob("*.html")
    script = f"""
import json, urllib.request, urllib.error
out = {{}}
for name, path in (("control", {str(hub.root / 'control.txt')!r}), ("feedback", {str(ben_html)!r})):
    try:
        open(path).read(); out[name] = "read"
    except OSError as e:
        out[name] = type(e).__name__
try:
    import os; os.listdir({str(store)!r}); out["store"] = "listed"
except OSError as e:
    out["store"] = type(e).__name__
req = urllib.request.Request({hub.exchange_url + 'api/feedback/' + MODULE + '?learner=' + BEN!r},
                             headers={{"Authorization": "token {hub.tokens[ANA]}"}})
try:
    urllib.request.urlopen(req); out["api"] = "fetched"
except urllib.error.HTTPError as e:
    out["api"] = [e.code, json.loads(e.read())["error"]]
print(json.dumps(out))
"""
    run = subprocess.run(["runuser", "-u", ANA, "--", DEBIAN_PYTHON, "-c", script], cwd="/",
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert out["control"] == "read"  # the learner reaches the folder; only the store's own modes stop them
    assert out["feedback"] == "PermissionError" and out["store"] == "PermissionError"
    assert out["api"][0] == 403 and f"belongs to '{BEN}'" in out["api"][1] and f"signed in as '{ANA}'" in out["api"][1]


# -- every grade attributed ---------------------------------------------------------------


def test_a_trainers_manual_score_is_recorded_with_their_hub_identity(hub, honest_round):
    s = honest_round
    with course.gradebook(s) as gb:
        from autograde.course.cycle import reflection_grades

        first, second = reflection_grades(gb, MODULE, ANA)[:2]
        first_id, second_id, max_score = first.id, second.id, first.max_score
    before = attribution.records(s)
    # formgrader's score box, as the trainer, through the hub
    code, data = http("PUT", f"{hub.formgrader_url}formgrader/api/grade/{first_id}", hub.tokens[TRAINER],
                      {"manual_score": max_score, "extra_credit": None})
    assert json.loads(data)["manual_score"] == max_score
    # the project's own scoring, attributed to who gives it
    with course.gradebook(s) as gb:
        grade = gb.find_grade_by_id(second_id)
        attribution.set_manual_score(s, gb, grade, 1.0, trainer=TRAINER)
        with pytest.raises(ValueError):
            attribution.set_manual_score(s, gb, grade, max_score + 5, trainer=TRAINER)  # refused: no row
    new = attribution.records(s)[len(before):]
    assert [(r["trainer"], r["via"], r["grade_id"], r["student"], r["new_manual_score"]) for r in new] == [
        (TRAINER, "formgrader", first_id, ANA, max_score), (TRAINER, "hcwh", second_id, ANA, 1.0)]
    assert new[0]["old_manual_score"] is None and new[0]["assignment"] == MODULE
    assert attribution.record_path(s).stat().st_mode & 0o777 == 0o600
    from autograde.record import audit

    trail = [json.loads(line) for line in audit.log_path(s).read_text().splitlines()]
    scores = [(e["trainer"], e["via"], e["grade_id"], e["learner"]) for e in trail if e["event"] == "manual score"]
    assert scores[-2:] == [(TRAINER, "formgrader", first_id, audit.pseudonym(s, ANA)),
                           (TRAINER, "hcwh", second_id, audit.pseudonym(s, ANA))]
    assert audit.verify(audit.log_path(s)).ok
    with course.gradebook(s) as gb:
        assert gb.find_grade_by_id(first_id).manual_score == max_score
        assert gb.find_grade_by_id(second_id).manual_score == 1.0


# -- acknowledgement: the commitment signed by the hub's identity, once per version ---------------

AUTH_COMMITMENT = ("We draw on the strength of our individuality to approach customer interactions with a genuine "
                   "desire to help.")  # the city's framework, Authenticity, word for word


@pytest.fixture(scope="module")
def acknowledging(hub, honest_round):
    """Ana and Ben have submitted (honest_round); the module's version is recorded as hcwh release does."""
    from autograde.record import versions

    return honest_round, versions.record_release(honest_round, MODULE, TRAINER, "hr.lead")


def acknowledge(h: Hub, who: str, form: dict):
    return api(h, who, "POST", f"acknowledgements/{MODULE}", form, {"Content-Type": "application/json"})


def test_a_learner_sees_the_commitment_verbatim_and_the_identity_it_is_bound_to(hub, acknowledging):
    s, version = acknowledging
    about = json.loads(api(hub, ANA, "GET", f"acknowledgements/{MODULE}")[1])
    assert about == {"module": MODULE, "learner": ANA, "roster_name": "Ana Reyes", "standard": "Authenticity",
                     "commitment": AUTH_COMMITMENT, "version": version, "submitted": True, "records": []}


def test_acknowledging_for_someone_else_is_refused_and_records_nothing(hub, acknowledging):
    from autograde.record import acknowledgements, audit

    s, _ = acknowledging
    # Ben's token, Ana's name typed
    code, note = refusal(hub, BEN, "POST", f"acknowledgements/{MODULE}",
                         {"typed_name": "Ana Reyes", "choice": "acknowledged", "confirmed": True})
    assert code == 403 and note.startswith(f"refused: the name typed, 'Ana Reyes', is not the roster's name for the "
                                           f"account signed in ('{BEN}')")
    # Ben's token, Ana's login in the form (as a learner field and as a login field)
    for field in ("learner", "login"):
        code, note = refusal(hub, BEN, "POST", f"acknowledgements/{MODULE}",
                             {"typed_name": "Ben Okafor", "choice": "acknowledged", "confirmed": True, field: ANA})
        assert code == 403 and f"it names '{ANA}' as its learner, but it was sent by '{BEN}'" in note
    # the time and the version are the server's
    code, note = refusal(hub, BEN, "POST", f"acknowledgements/{MODULE}",
                         {"typed_name": "Ben Okafor", "choice": "acknowledged", "confirmed": True,
                          "recorded_at": "2026-01-01T00:00:00+00:00"})
    assert code == 400 and "the field recorded_at is not accepted" in note
    # a trainer (not on the roster) cannot sign for anyone either; a learner who has not submitted cannot sign
    code, note = refusal(hub, TRAINER, "POST", f"acknowledgements/{MODULE}",
                         {"typed_name": "Ana Reyes", "choice": "acknowledged", "confirmed": True})
    assert code == 403 and f"'{TRAINER}' (signed in) is not on the course's roster" in note
    code, note = refusal(hub, CY, "POST", f"acknowledgements/{MODULE}",
                         {"typed_name": "Cy Lee", "choice": "acknowledged", "confirmed": True})
    assert code == 409 and f"{CY} has not submitted '{MODULE}' yet" in note
    assert acknowledgements.listed(s) == []
    trail = [json.loads(line) for line in audit.log_path(s).read_text().splitlines()]
    refused = [e for e in trail if e["event"] == "acknowledgement refused"]
    assert [e["learner"] for e in refused] == [audit.pseudonym(s, BEN)] * 4 + [audit.pseudonym(s, TRAINER),
                                                                                audit.pseudonym(s, CY)]
    assert "Reyes" not in audit.log_path(s).read_text()


def test_an_acknowledgement_is_the_servers_record_once_per_version_never_edited(hub, acknowledging):
    import sqlite3

    from autograde.record import acknowledgements, audit, db

    s, version = acknowledging
    code, note = refusal(hub, ANA, "POST", f"acknowledgements/{MODULE}",
                         {"typed_name": "Ana Reyes", "choice": "acknowledged"})
    assert code == 400 and "tick the box" in note
    before = datetime.now(timezone.utc)
    code, data = acknowledge(hub, ANA, {"typed_name": "  ana   REYES ", "choice": "acknowledged", "confirmed": True})
    after = datetime.now(timezone.utc)
    row = json.loads(data)
    assert code == 201
    assert {k: row[k] for k in ("learner", "assignment", "version", "choice", "typed_name", "way", "recorded_by")} == {
        "learner": ANA, "assignment": MODULE, "version": version, "choice": "acknowledged", "typed_name": "ana REYES",
        "way": "self", "recorded_by": ANA}
    assert before <= datetime.fromisoformat(row["recorded_at"]) <= after  # the server's clock, now
    # a second acknowledgement of the same version is refused, naming the first; the first stays as it was
    code, note = refusal(hub, ANA, "POST", f"acknowledgements/{MODULE}",
                         {"typed_name": "Ana Reyes", "choice": "acknowledged", "confirmed": True})
    assert code == 409 and f"{ANA} already acknowledged this version of {MODULE}" in note
    assert row["recorded_at"] in note and "never replaced" in note
    assert acknowledgements.listed(s, ANA) == [row]
    con = sqlite3.connect(db.db_path(s))
    with pytest.raises(sqlite3.IntegrityError, match="an acknowledgement is never edited"):
        con.execute("UPDATE acknowledgements SET recorded_at = '2026-01-01T00:00:00+00:00'")
    con.close()
    (line,) = [e for e in (json.loads(x) for x in audit.log_path(s).read_text().splitlines())
               if e["event"] == "acknowledgement"]
    assert (line["learner"], line["assignment"], line["version"], line["choice"], line["way"], line["acknowledgement"]) \
        == (audit.pseudonym(s, ANA), MODULE, version, "acknowledged", "self", row["id"])
    about = json.loads(api(hub, ANA, "GET", f"acknowledgements/{MODULE}")[1])
    assert about["records"] == [row]


def test_a_question_for_the_supervisor_is_recorded_instead(hub, acknowledging):
    from autograde.record import acknowledgements, audit

    s, version = acknowledging
    code, data = acknowledge(hub, BEN, {"typed_name": "Ben Okafor", "choice": "question"})
    assert code == 201
    (row,) = acknowledgements.listed(s, BEN)
    assert (row["choice"], row["version"], row["recorded_by"]) == ("question", version, BEN)
    assert json.loads(data) == row
    with environment(hub.env()):
        assert main(["audit", "verify"]) == 0
    assert audit.verify(audit.log_path(s)).ok
