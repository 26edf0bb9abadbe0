"""Issue 10: a cohort on one server, in a real JupyterHub + configurable-http-proxy, with real
OS accounts, driven in Debian's Chromium.

One hub for the module (``hub`` fixture): a fresh state folder under /tmp, ``scripts/hub-setup.sh``
(course and proxy accounts, the account helper for sudo), module 01 released, cohorts and a
roster of two learners imported by ``hcwh`` running as the course account (accounts through
``sudo -n hcwh-account``), a trainer and an HR login, then ``jupyterhub`` on free 127.0.0.1
ports. Everything it started is stopped and every test account removed, even on failure.

Needs root (the hub starts each learner's page as their own account), Debian's Chromium and
the learner/course environments (``scripts/hub-env.sh``, idempotent; built here if missing).
"""

from __future__ import annotations

import json
import os
import pwd
import re
import shutil
import socket
import sqlite3
import subprocess
import tempfile
import threading
import time
import urllib.parse
from datetime import datetime, timezone
from pathlib import Path

import pytest

from curriculum.schema import load_module
from tests.cohort_hub import (CHROMIUM, COURSE_ID, MODULE, ROOT, Hub, as_course, chromium, enrollment_codes, my_modules, prepare_envs,
                              remove_accounts, setup_hub)
from tests.e2e.test_browser import module_points
from tests.e2e.test_page import axe_all, axe_violations, summary

TEST_PREFIX = "hcwhtest-"
ANA, BEN, TRAINER, HR = "hcwhtest-ana", "hcwhtest-ben", "hcwhtest-trainer", "hcwhtest-hr"
# Cat's page is slow to start: it waits (in her own ~/.jupyter config) until the test lets it go,
# so with one start allowed at a time (HCWH_CONCURRENT_SPAWNS=1) Ben meets "too many people"; then
# it fails once (the config exits while a "fail" file exists), so she meets "could not start".
CAT = "hcwhtest-cat"
PASSWORDS = {ANA: "ana chooses a long one", BEN: "ben picks his own words", CAT: "cat waits her turn",
             TRAINER: "trainer pass phrase 1",
             HR: "hr reads the report"}
# By hand, from curriculum/modules/01-authenticity.yaml: question auth-q-casual-caller is worth 3
# and its key is option a (the first option's text starts with "Hey! Oh no").
QUESTION, RIGHT, WRONG, POINTS = "auth-q-casual-caller", '"Hey! Oh no', '"Dude, the plow', 3.0
REFLECTION = "auth-r-balance-answer"  # worth 3; Ana types TYPED in it, the trainer gives her 2
TYPED = "I greet people as myself."
MISSED, TITLE, DUE_WORDS = "auth-q-trail-question", "Module 01: Authenticity", "31 January 2030"  # by hand
TIMEOUT_MS = 60_000
FIGURES: dict[str, float] = {}
LISTED: list[str] = []  # axe's findings in JupyterHub's or Voilà's own markup: listed, not failed


def _no_axe_violations_in(page, what: str, ours: str) -> None:
    """axe-core on a page the project fills only in part (``ours``: its block): none there; the rest listed."""
    mine, theirs = axe_violations(page, ours) if ours else axe_violations(page)
    FIGURES[f"axe violations, {what}"] = len(mine)
    FIGURES[f"axe findings outside the project's markup, {what}"] = len(theirs)
    LISTED.extend([f"{what}:", *summary(theirs)])
    assert not mine, "\n".join(mine)


class SyslogReceiver:
    """A real syslog receiver: a UDP socket on 127.0.0.1 and a thread keeping every datagram."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.messages: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            try:
                self.messages.append(self.sock.recv(65536).decode("utf-8"))
            except TimeoutError:
                continue
            except OSError:
                return

    def close(self):
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()


@pytest.fixture(scope="module")
def hub(machine_hub_lock):
    if os.geteuid() != 0:
        pytest.skip("the hub tests need root: the hub starts each learner's page as their own OS account")
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} is missing: run `sudo bash scripts/system-deps.sh`", pytrace=False)
    prepare_envs()
    remove_accounts(TEST_PREFIX)  # a run killed outright earlier
    root = Path(tempfile.mkdtemp(prefix="hcwh-hubtest-", dir="/tmp"))
    os.chmod(root, 0o711)
    state = root / "state"
    h = Hub(state)
    h.learners = [ANA, BEN, CAT]
    # the security log to both destinations: the file, and a syslog receiver on 127.0.0.1 (UDP)
    h.syslog = SyslogReceiver()
    h.extra_env = {"HCWH_CONCURRENT_SPAWNS": "1", "HCWH_SECLOG": "both",
                   "HCWH_SYSLOG_ADDRESS": f"127.0.0.1:{h.syslog.port}"}
    try:
        setup_hub(state)
        t0 = time.monotonic()
        (root / "in").mkdir(mode=0o755)
        cohorts, roster = root / "in" / "cohorts.csv", root / "in" / "roster.csv"
        cohorts.write_text(f"cohort,module,due_date\ntest-cohort,{MODULE},2030-01-31\n")
        roster.write_text("employee_id,first_name,last_name,email,department,hire_date,cohort\n"
                          f"{ANA},Ana,Reyes,ana@example.org,Parks,2026-11-02,test-cohort\n")
        for f in (cohorts, roster):
            os.chmod(f, 0o644)
        as_course(["cohorts", "import", str(cohorts)], state)
        h.roster_out = as_course(["roster", "import", str(roster)], state).stdout
        # Ben is a new hire not yet on the roster file: added the same day, one command
        h.add_out = as_course(["roster", "add", BEN, "Ben", "Okafor", "ben@example.org", "Streets", "2026-12-01",
                               "test-cohort"], state).stdout
        # Ben alone is given JupyterLab (learners land on their own pages with no link into it)
        h.lab_out = as_course(["roster", "jupyterlab", BEN, "on"], state).stdout
        as_course(["roster", "add", CAT, "Cat", "Nguyen", "cat@example.org", "Parks", "2026-12-01", "test-cohort"], state)
        # in her own home: her page has a /tmp of its own
        cat_home = Path(pwd.getpwnam(CAT).pw_dir)
        h.cat_go, h.cat_fail = cat_home / ".may-start", cat_home / ".start-fails"
        _slow_start(CAT, h.cat_go, h.cat_fail)
        as_course(["staff", "add", TRAINER, "--role", "trainer"], state)
        as_course(["staff", "add", HR, "--role", "hr"], state)
        FIGURES["setup (release, import, accounts) s"] = round(time.monotonic() - t0, 1)
        h.codes = enrollment_codes(state)
        t0 = time.monotonic()
        h.start()
        FIGURES["hub + services up s"] = round(time.monotonic() - t0, 1)
        # released through the hub exchange: hcwh as the course account, with hcwh's service token
        as_course(["release", MODULE], state, exchange_url=h.exchange_url)
        assert (state / "hub-exchange" / "releases").is_dir()
        yield h
    finally:
        h.stop()
        h.syslog.close()
        remove_accounts(TEST_PREFIX)
        artifacts = ROOT / "test-artifacts"
        artifacts.mkdir(exist_ok=True)
        if h.log_path.exists():
            shutil.copy(h.log_path, artifacts / "hub.log")
        shutil.rmtree(root, ignore_errors=True)
        (artifacts / "hub-accessibility.txt").write_text("\n".join(LISTED) + "\n", encoding="utf-8")
        print(f"\nhub figures: {FIGURES}")
        print("axe, listed (not failed):\n" + "\n".join(LISTED))


@pytest.fixture(scope="module")
def browser(hub):
    with chromium(hub.state.parent / "chromium") as b:
        yield b


def _page(browser):
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    page = ctx.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    return page


def _enroll(page, hub, name: str) -> None:
    page.goto(f"{hub.url}/hub/login")
    assert "log in" in page.locator("h1").inner_text().lower()
    _no_axe_violations_in(page, f"hub login ({name})", "#login-main")
    page.click("#enroll-link")
    page.wait_for_selector("#enroll-main")
    _no_axe_violations_in(page, f"hub enroll ({name})", "#enroll-main")
    page.fill("#enroll_username", name)
    page.fill("#enroll_code", hub.codes[name].lower().replace("-", " "))  # as a person might type it
    page.fill("#enroll_password", PASSWORDS[name])
    page.fill("#enroll_password2", PASSWORDS[name])
    page.click("#enroll_submit")


def _xsrf(page, path_prefix: str) -> str:
    """The _xsrf cookie a Jupyter server set for ``path_prefix`` in this browser."""
    for c in page.context.cookies():
        if c["name"] == "_xsrf" and path_prefix.startswith(c["path"].rstrip("/")):
            return urllib.parse.unquote(c["value"])
    raise AssertionError(f"no _xsrf cookie for {path_prefix}: {[(c['name'], c['path']) for c in page.context.cookies()]}")


def _slow_start(name: str, go: Path, fail: Path) -> None:
    """``name``'s page waits at start-up until the file ``go`` exists, and fails to start while
    ``fail`` exists (her own Jupyter config)."""
    p = pwd.getpwnam(name)
    conf = Path(p.pw_dir) / ".jupyter"
    conf.mkdir(mode=0o700)
    (conf / "jupyter_server_config.py").write_text(
        f"import os, time\nwhile not os.path.exists({str(go)!r}):\n    time.sleep(0.2)\n"
        f"if os.path.exists({str(fail)!r}):\n    raise SystemExit('the test makes this start fail')\n")
    for f in (conf, conf / "jupyter_server_config.py"):
        os.chown(f, p.pw_uid, p.pw_gid)


def _learner_session(page, hub, name: str, option_text: str, crowded=None, as_page: bool = False) -> None:
    """Enroll, then: with ``as_page``, on her own pages (My modules, Start, the module page in Voilà,
    Submit); else in JupyterLab (fetch in the Assignments list, Run All, submit in the list).
    QUESTION is answered with ``option_text``."""
    from playwright.sync_api import expect

    t0 = time.monotonic()
    _enroll(page, hub, name)
    if crowded:  # another page is starting and only one may start at a time: told in words, then reload
        expect(page.locator("#hcwh-error h1")).to_have_text("Too many people are starting at the same time")
        assert hub.help_contact in page.locator("#hcwh-error").inner_text()
        crowded()  # until the other start has ended
        page.reload()
    if as_page:
        return _on_my_pages(page, hub, name, option_text, t0)
    page.wait_for_url(re.compile(rf"/user/{name}/lab"), timeout=180_000)
    page.wait_for_selector(".jp-LabShell", timeout=120_000)
    FIGURES[f"enroll to JupyterLab ({name}) s"] = round(time.monotonic() - t0, 1)
    # the Assignments list, as a learner finds it: Nbgrader > Assignment List, then Fetch
    _assignment_list(page)
    page.locator("#released_assignments_list .list_item", has_text=MODULE).get_by_role("button", name="Fetch").click()
    expect(page.locator("#fetched_assignments_list .list_item", has_text=MODULE).first).to_be_visible(timeout=120_000)
    assert (Path("/home") / name / MODULE / f"{MODULE}.ipynb").is_file()
    _answer_in_jupyterlab(page, hub, name, option_text)
    _saved(name, option_text)
    # and Submit, in the Assignments list
    _assignment_list(page)
    fetched = page.locator("#fetched_assignments_list .list_item", has_text=MODULE).first
    fetched.get_by_role("button", name="Submit").click()
    expect(page.locator("#submitted_assignments_list .list_item", has_text=MODULE).first).to_be_visible(timeout=120_000)


def _saved(name: str, option_text: str) -> None:
    """QUESTION's answer is in the learner's answers.json, written as the learner."""
    answers = Path("/home") / name / MODULE / "answers.json"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not (answers.exists() and QUESTION in answers.read_text()):
        time.sleep(0.2)
    saved = json.loads(answers.read_text())["questions"][QUESTION]
    assert saved == ("a" if option_text == RIGHT else "b")
    assert answers.stat().st_uid == pwd.getpwnam(name).pw_uid  # written as the learner


def _row(page):
    """MODULE's row on My modules."""
    return page.locator("tr", has=page.get_by_role("rowheader", name=TITLE))


def _no_axe_violations(page, what: str) -> None:
    found = axe_all(page)
    FIGURES[f"axe violations, {what}"] = len(found)
    assert not found, "\n".join(found)


def _on_my_pages(page, hub, name: str, option_text: str, t0: float) -> None:
    """Her own pages (autograde/learner): My modules, Start, the module page, Submit and what was sent."""
    from playwright.sync_api import expect

    page.wait_for_url(my_modules(name), timeout=180_000)
    expect(page.locator("h1")).to_have_text("My modules")
    FIGURES[f"enroll to My modules ({name}) s"] = round(time.monotonic() - t0, 1)
    row = _row(page)
    expect(row).to_contain_text(DUE_WORDS)
    expect(row).to_contain_text("Not started")
    assert "/lab" not in page.content() and page.get_by_role("link", name="JupyterLab").count() == 0
    expect(page.get_by_role("link", name="Get help").first).to_be_visible()
    _no_axe_violations(page, "My modules")
    row.get_by_role("button", name=f"Start {TITLE}").click()  # fetched through the hub exchange, then opened
    page.wait_for_url(re.compile(rf"/user/{name}/voila/render/{MODULE}/{MODULE}.ipynb"), timeout=120_000)
    assert (Path("/home") / name / MODULE / f"{MODULE}.ipynb").is_file()
    # the module page's own links (the Voilà template hcwh, from the learner environment) and axe before answering
    expect(page.get_by_role("textbox", name="Your reflection:").first).to_be_visible(timeout=120_000)
    nav = page.get_by_role("navigation", name="Course")
    expect(nav.get_by_role("link", name="My modules")).to_have_attribute("href", f"/user/{name}/hcwh/")
    expect(nav.get_by_role("link", name="Get help")).to_have_attribute("href", f"/user/{name}/hcwh/how#get-help")
    assert page.locator(f"script[src='/user/{name}/hcwh/idle-notice.js']").count() == 1
    _no_axe_violations_in(page, "module page, before answering", "")
    _answer_on_the_page(page, hub, name, option_text, go=False)
    _saved(name, option_text)
    area = page.locator(".hcwh-question").filter(has=page.get_by_role("textbox")).first
    area.get_by_role("textbox", name="Your reflection:").press_sequentially(TYPED, delay=5)
    expect(area.get_by_role("status")).to_contain_text("Saved at")
    _no_axe_violations_in(page, "module page, after answering", "")
    # back to My modules, by its link on the page: Open and Submit now
    nav.get_by_role("link", name="My modules").click()
    page.wait_for_url(my_modules(name))
    _no_axe_violations(page, "My modules, after answering")
    expect(_row(page).get_by_role("link", name=f"Open {TITLE}")).to_be_visible()
    _row(page).get_by_role("button", name=f"Submit {TITLE}").click()
    expect(page.locator("h1")).to_have_text(f"{TITLE} is submitted", timeout=120_000)
    (receipt,) = [json.loads(p.read_text()) for p in
                  (hub.state / "hub-exchange" / "submissions" / name / MODULE).glob("*/receipt.json")]
    got = datetime.fromisoformat(receipt["received_at"]).astimezone(timezone.utc)  # the hub's zone: UTC
    when = f"{got.day} {got:%B %Y} at {got:%H:%M:%S}"
    expect(page.get_by_role("status")).to_contain_text(f"received your submission on {when} (city time)")
    expect(page.get_by_role("status")).to_contain_text("submission number 1")
    sent = page.locator("main ul").inner_text()
    assert "Questions answered: 1" in sent and f"Reflection 1: {len(TYPED.split())} words" in sent, sent
    _no_axe_violations(page, "submitted")
    _acknowledges(page, hub, name)
    # nothing before grading: no feedback, no key
    page.goto(f"{hub.url}/user/{name}/hcwh/feedback/{MODULE}")
    expect(page.get_by_text("There is no feedback for this module yet")).to_be_visible()
    assert "Why:" not in page.content() and "right answer" not in page.content()


AUTH_COMMITMENT = ("We draw on the strength of our individuality to approach customer interactions with a genuine "
                   "desire to help.")  # the city's framework, Authenticity, word for word


def _acknowledges(page, hub, name: str) -> None:
    """From the submitted page: the commitment verbatim, bound to her sign-in; no tick, not recorded; then
    signed, recorded by the exchange service, and not offered again."""
    import sqlite3

    from playwright.sync_api import expect

    page.get_by_role("link", name="Acknowledge the commitment").click()
    expect(page.locator("h1")).to_have_text(f"Acknowledge the commitment: {TITLE}", timeout=60_000)
    assert page.locator("blockquote").inner_text().strip() == AUTH_COMMITMENT
    expect(page.get_by_text(f"You are signed in as {name}.")).to_be_visible()
    _no_axe_violations(page, "acknowledge")
    page.get_by_label("Type your full name").fill("Ana Reyes")
    page.get_by_role("button", name="Acknowledge the commitment").click()  # the box not ticked
    expect(page.get_by_role("alert")).to_contain_text("Not recorded:")
    expect(page.get_by_role("alert")).to_contain_text("tick the box")
    record = hub.state / "record" / "record.db"

    def rows() -> list[tuple]:
        con = sqlite3.connect(record)
        try:
            return con.execute("SELECT learner, assignment, choice, typed_name, way, recorded_by, recorded_at "
                               "FROM acknowledgements").fetchall()
        finally:
            con.close()

    assert rows() == []
    page.get_by_label("Type your full name").fill("Ana Reyes")
    page.get_by_label("I have read the commitment above and I acknowledge it.").check()
    page.get_by_role("button", name="Acknowledge the commitment").click()
    expect(page.get_by_role("status")).to_contain_text(f"for the account {name}: you acknowledged the commitment")
    ((learner, module, choice, typed, way, by, at),) = rows()
    assert (learner, module, choice, typed, way, by) == (name, MODULE, "acknowledged", "Ana Reyes", "self", name)
    got = datetime.fromisoformat(at).astimezone(timezone.utc)
    expect(page.get_by_role("status")).to_contain_text(f"Recorded on {got.day} {got:%B %Y} at {got:%H:%M:%S}")
    expect(page.get_by_text("You have acknowledged this version of the commitment.")).to_be_visible()
    assert page.get_by_role("button", name="Acknowledge the commitment").count() == 0
    _no_axe_violations(page, "acknowledged")


def _feedback_page(page, hub, name: str) -> None:
    """After the trainer released feedback: her feedback page, checked against the key by hand."""
    from playwright.sync_api import expect

    page.goto(f"{hub.url}/user/{name}/hcwh/")
    expect(_row(page)).to_contain_text("Feedback ready")
    _no_axe_violations(page, "My modules, feedback ready")
    _row(page).get_by_role("link", name=f"Read the feedback on {TITLE}").click()
    expect(page.locator("h1")).to_have_text(f"Feedback: {TITLE}", timeout=120_000)
    module = load_module(ROOT / "curriculum" / "modules" / f"{MODULE}.yaml")
    expect(page.locator("main")).to_contain_text(f"Your score: {POINTS + 2:g} of {module_points(module):g} points")
    options = {q.id: {o.id: o.text for o in q.options} for q in module.questions}
    picked = page.locator(".exercise", has=page.get_by_role("heading", name=f"Question: {POINTS:g} of {POINTS:g} points"))
    expect(picked).to_contain_text("You chose:")
    expect(picked.locator(".chosen")).to_have_text(options[QUESTION]["a"])
    expect(picked).to_contain_text("That is right.")
    assert picked.locator(".right").count() == 0
    missed = next(q for q in module.questions if q.id == MISSED)
    section = page.locator(".exercise", has_text=missed.prompt[:60])
    expect(section).to_contain_text("You did not answer this question.")
    expect(section.locator(".right")).to_have_text(options[MISSED][missed.answer[0]])
    expect(section).to_contain_text(f"Why: {missed.explanation[:60]}")
    reflection = page.locator(".exercise", has=page.get_by_role("heading", name="Reflection: 2 of 3 points"))
    expect(reflection).to_contain_text(f"You wrote {len(TYPED.split())} words.")
    text = page.locator("body").inner_text()
    for code in ("No response", "VBox(", "import ", "BEGIN SOLUTION", "HIDDEN TESTS", TYPED):
        assert code not in text, f"{code!r} on the feedback page"
    _no_axe_violations(page, "feedback")
    page.get_by_role("navigation", name="Course").get_by_role("link", name="How this course works").click()
    expect(page.locator("h1")).to_have_text("How this course works")
    _no_axe_violations(page, "How this course works")


def _answer_on_the_page(page, hub, name: str, option_text: str, go: bool = True) -> None:
    """The module as a page (Voilà, in the learner's own server under the hub's isolation): no code."""
    from playwright.sync_api import expect

    if go:
        page.goto(f"{hub.url}/user/{name}/voila/render/{MODULE}/{MODULE}.ipynb")
    radio = page.locator(".widget-radio-box label", has_text=option_text).first
    expect(radio).to_be_visible(timeout=120_000)
    assert page.locator(".jp-InputArea-editor, .cm-editor, .lm-MenuBar").count() == 0  # no code, no IDE
    radio.click()
    out = page.locator(".jp-OutputArea-output").filter(has=page.locator("label", has_text=option_text))
    expect(out.get_by_role("status")).to_contain_text("Saved")


def _answer_in_jupyterlab(page, hub, name: str, option_text: str) -> None:
    from playwright.sync_api import expect

    page.goto(f"{hub.url}/user/{name}/lab/tree/{MODULE}/{MODULE}.ipynb")
    page.wait_for_selector(".jp-NotebookPanel .jp-Notebook .jp-Cell")
    expect(page.locator(".jp-NotebookPanel .jp-Toolbar-kernelName")).to_have_text("Python 3 (ipykernel)", timeout=120_000)
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=120_000)
    # the kernel is connected once its status is reported by the kernel itself
    page.wait_for_function("() => !!document.querySelector('.jp-Notebook-ExecutionIndicator')", timeout=60_000)
    page.wait_for_timeout(1500)
    for attempt in range(3):
        page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
        page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
        try:
            page.wait_for_selector(".jp-Notebook .jp-OutputArea-output", timeout=30_000)
            break
        except Exception:  # noqa: BLE001 (Run All met a kernel still connecting: run again)
            FIGURES[f"Run All again ({name})"] = attempt + 1
    radio = page.locator(".jp-Notebook .widget-radio-box label", has_text=option_text).first
    try:
        expect(radio).to_be_visible(timeout=120_000)
    except AssertionError:
        (ROOT / "test-artifacts").mkdir(exist_ok=True)
        page.screenshot(path=str(ROOT / "test-artifacts" / f"hub-{name}-failure.png"))
        errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']").all_inner_texts()
        raise AssertionError(f"no answer widget; stderr outputs: {errors[:3]}; outputs: "
                             f"{page.locator('.jp-OutputArea-output').all_inner_texts()[:6]}") from None
    radio.click()
    out = page.locator(".jp-Notebook .jp-OutputArea-output").filter(has=page.locator("label", has_text=option_text))
    expect(out.get_by_role("status")).to_contain_text("Saved")


def _assignment_list(page) -> None:
    """Open nbgrader's Assignments list from JupyterLab's menu (Nbgrader > Assignment List)."""
    from playwright.sync_api import expect

    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Nbgrader$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Assignment List$")).click()
    expect(page.locator("#released_assignments_list")).to_be_visible(timeout=60_000)
    expect(page.locator("#released_assignments_list_loading")).to_be_hidden(timeout=60_000)


def test_a_cohort_on_the_hub(hub, browser):
    from playwright.sync_api import expect

    assert "Enrollment codes (1)" in hub.roster_out and ANA in hub.roster_out
    assert BEN in hub.add_out and set(hub.codes) == {ANA, BEN, CAT, TRAINER, HR}
    for name in (ANA, BEN, CAT):
        assert oct(os.stat(f"/home/{name}").st_mode & 0o777) == "0o700"
    for f in ("jupyterhub_cookie_secret", "proxy.token", "accounts-service.token", "logins.json", "jupyterhub.sqlite"):
        assert oct((hub.state / "hub" / f).stat().st_mode & 0o777) == "0o600", f

    ana, ben = _page(browser), _page(browser)
    _learner_session(ana, hub, ANA, RIGHT, as_page=True)  # Ana on the module page, Ben in JupyterLab
    # Cat enrolls and her page starts (and waits): she is told in words her page is being made ready;
    # with one start at a time, Ben is then told to wait, and reloads
    cat = _page(browser)
    _enroll(cat, hub, CAT)
    expect(cat.locator("h1")).to_have_text("Getting your training page ready")
    assert hub.help_contact in cat.locator("body").inner_text()
    assert hub.api("GET", f"/users/{CAT}")[1]["servers"][""]["pending"] == "spawn"

    def cat_start_fails():
        hub.cat_fail.touch()
        hub.cat_go.touch()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and hub.api("GET", f"/users/{CAT}")[1]["servers"]:
            time.sleep(0.5)
        assert not hub.api("GET", f"/users/{CAT}")[1]["servers"], "Cat's failed start should have ended"
        cat.reload()  # as her waiting page says to
        expect(cat.locator("#hcwh-not-running h1")).to_have_text("Your training page could not start")
        assert "not your fault" in cat.locator("#hcwh-not-running").inner_text()
        assert hub.help_contact in cat.locator("#hcwh-not-running").inner_text()
        hub.cat_fail.unlink()

    _learner_session(ben, hub, BEN, WRONG, crowded=cat_start_fails)  # Ben was given JupyterLab: he lands there
    assert "JupyterLab on from their next page start" in hub.lab_out
    ben.goto(f"{hub.url}/user/{BEN}/hcwh/")
    expect(ben.get_by_role("link", name="JupyterLab")).to_be_visible()  # and his own pages link to it
    cat.get_by_role("button", name="Try again").click()  # now it starts
    cat.wait_for_url(my_modules(CAT), timeout=180_000)
    # a page that does not exist, in words, with the help contact
    assert ana.goto(f"{hub.url}/hub/no-such-page").status == 404
    assert ana.locator("#hcwh-error h1").inner_text() == "There is nothing here"
    assert hub.help_contact in ana.locator("#hcwh-error").inner_text()

    # -- the trainer: console buttons, formgrader in its own tab -------------------------
    trainer = _page(browser)
    _enroll(trainer, hub, TRAINER)
    trainer.wait_for_url(re.compile(r"/services/trainer-console/"))
    expect(trainer.locator("h1")).to_have_text("Trainer console")
    _no_axe_violations(trainer, "trainer console")
    for label, words in (("Collect submissions", "collected 01-authenticity: 2 submission(s)"),
                         ("Autograde", "Autograded 2 of 2 submission(s); 0 failed.")):
        t0 = time.monotonic()
        trainer.get_by_role("button", name=label).click()
        expect(trainer.get_by_role("status")).to_contain_text(words, timeout=300_000)
        FIGURES[f"console {label} s"] = round(time.monotonic() - t0, 1)
    fg = trainer.context.new_page()
    fg.goto(f"{hub.url}/services/formgrader/formgrader")
    expect(fg.get_by_text("Manage Assignments").first).to_be_visible()
    fg.wait_for_load_state("networkidle")
    api = f"{hub.url}/services/formgrader/formgrader/api"
    subs = fg.request.get(f"{api}/submitted_notebooks/{MODULE}/{MODULE}").json()
    sub = next(x for x in subs if x["student"] == ANA)
    grade = next(g for g in fg.request.get(f"{api}/grades?submission_id={sub['id']}").json() if g["name"] == REFLECTION)
    r = fg.request.put(f"{api}/grade/{grade['id']}", data=json.dumps({"manual_score": 2}),
                       headers={"X-XSRFToken": _xsrf(fg, "/services/formgrader/"), "Content-Type": "application/json"})
    scored = [r.status, r.json()["manual_score"]]
    assert scored == [200, 2]
    for label, words in (("Release feedback", "Release feedback: done"), ("Make the HR report", "Report snapshot")):
        trainer.get_by_role("button", name=label).click()
        expect(trainer.get_by_role("status")).to_contain_text(words, timeout=300_000)
    log = [json.loads(line) for line in (hub.state / "logs" / "trainer-console.log").read_text().splitlines()]
    assert {(e["trainer"], e["action"]) for e in log if e["result"] == "done"} == {
        (TRAINER, "collect"), (TRAINER, "autograde"), (TRAINER, "feedback"), (TRAINER, "report")}

    # -- the gradebook: exactly what each clicked, plus the trainer's reflection score -------
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{hub.state / 'course' / 'gradebook.db'}") as gb:
        assert gb.find_submission(MODULE, ANA).score == POINTS + 2
        assert gb.find_submission(MODULE, BEN).score == 0.0

    # -- the hub exchange: each submission's receipt, in the hub-vouched learner's name ------
    for name in (ANA, BEN):
        found = sorted((hub.state / "hub-exchange" / "submissions" / name / MODULE).glob("*/receipt.json"))
        assert len(found) == 1, found
        assert json.loads(found[0].read_text())["learner"] == name
    assert not (hub.state / "exchange" / COURSE_ID).exists()  # nothing went through the shared folder
    # -- the reflection score, attributed to the trainer's hub login ------------------------
    import sqlite3

    with sqlite3.connect(hub.state / "attribution.db") as db:
        rows = db.execute("SELECT trainer, via, student, cell, new_manual_score FROM manual_grades").fetchall()
    assert rows == [(TRAINER, "formgrader", ANA, REFLECTION, 2.0)], rows

    # -- grader calibration: the reflection marked for double grading, scored in the console's screen --
    out = as_course(["calibrate", "mark", MODULE, ANA, REFLECTION.removesuffix("-answer"), "--by", TRAINER],
                    hub.state).stdout
    assert f"sample 1: {ANA}, auth-r-balance marked for double grading" in out, out
    trainer.goto(f"{hub.url}/services/trainer-console/")
    trainer.get_by_role("link", name=re.compile("Grader calibration")).click()
    trainer.get_by_role("link", name=re.compile(r"^Sample 1: ")).click()
    expect(trainer.locator("pre")).to_have_text(TYPED)  # her words, read from the submitted notebook
    assert "manual_score" not in trainer.content() and "formgrader" not in trainer.locator("main").inner_text()
    _no_axe_violations(trainer, "grader calibration")
    for n in (1, 2, 3):  # by keyboard, as a grader without a mouse would: focus the group's first radio, arrow on
        group = trainer.get_by_role("group", name=re.compile(rf"^Criterion {n} "))
        group.get_by_label("0 points", exact=True).focus()
        trainer.keyboard.press("ArrowRight")
        trainer.keyboard.press("ArrowRight")
        expect(group.get_by_label("1 point", exact=True)).to_be_checked()
    trainer.get_by_role("button", name="Save my scores").click()
    expect(trainer.get_by_role("status")).to_contain_text("Your scores for sample 1 are saved")
    with sqlite3.connect(hub.state / "record" / "record.db") as db:
        kept = db.execute("SELECT sample, criterion, grader, score FROM calibration_scores ORDER BY criterion").fetchall()
    assert kept == [(1, 0, TRAINER, 1.0), (1, 1, TRAINER, 1.0), (1, 2, TRAINER, 1.0)], kept

    # -- each learner fetches only their own feedback -----------------------------------
    _feedback_page(ana, hub, ANA)  # Ana on her own feedback page
    for page, name, score in ((ben, BEN, 0.0),):  # Ben in JupyterLab's Assignments list
        # the Assignments list's Fetch Feedback button, on the submitted module
        page.goto(f"{hub.url}/user/{name}/lab")
        page.wait_for_selector(".jp-LabShell", timeout=120_000)
        _assignment_list(page)
        submitted = page.locator("#submitted_assignments_list .list_item", has_text=MODULE).first
        submitted.get_by_role("button", name="Fetch Feedback").click()
        feedback = Path("/home") / name / MODULE / "feedback"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not list(feedback.glob(f"*/{MODULE}.html")):
            time.sleep(0.5)
        pages = list(feedback.glob(f"*/{MODULE}.html"))
        assert len(pages) == 1, pages
        text = pages[0].read_text()
        assert re.search(rf"Score:\s*{score:g}(\.0)?\s*/", text), f"{name}'s feedback lacks score {score:g}"

    # -- HR: the latest report, read-only, with a strict CSP ------------------------------
    hr = _page(browser)
    _enroll(hr, hub, HR)
    hr.wait_for_url(re.compile(r"/services/hr-report/"))
    resp = hr.goto(f"{hub.url}/services/hr-report/")
    assert resp.status == 200
    assert resp.headers["content-security-policy"].startswith("default-src 'none'; style-src 'unsafe-inline'; img-src data:")
    assert "Ana Reyes" in hr.content() and "Ben Okafor" in hr.content()
    _no_axe_violations(hr, "HR report")

    # -- what a learner may not reach -----------------------------------------------------
    for path in ("/services/formgrader/formgrader", "/services/trainer-console/", "/services/hr-report/",
                 f"/user/{BEN}/lab", "/services/trainer-console/calibrate", "/services/trainer-console/calibrate/1"):
        assert ana.goto(hub.url + path).status == 403, path
        if "console" in path or "report" in path:
            assert "This page is not for your account" in ana.locator("h1").inner_text()
    # no terminal for a learner
    assert ana.request.get(f"{hub.url}/user/{ANA}/api/terminals").status == 404
    # no IDE on her own server either: JupyterLab's server extension is loaded only for a learner given it
    assert ana.request.get(f"{hub.url}/user/{ANA}/lab").status == 404
    # (her My modules: her server has no /lab, so that would be a 404 whoever asked)
    for page, path in ((trainer, f"/user/{ANA}/hcwh/"), (hr, f"/user/{ANA}/hcwh/"), (hr, "/services/trainer-console/"),
                       (hr, "/services/trainer-console/calibrate"), (hr, "/services/trainer-console/calibrate/1")):
        assert page.goto(hub.url + path).status == 403, path
        assert TYPED not in page.content(), path
    # neither may post a score: the hub refuses them before the screen's own checks
    for page in (ana, hr):
        r = page.request.post(f"{hub.url}/services/trainer-console/calibrate/1", form={"c0": "0", "c1": "0", "c2": "0"})
        assert r.status == 403, r.status
    with sqlite3.connect(hub.state / "record" / "record.db") as db:
        assert db.execute("SELECT DISTINCT grader FROM calibration_scores").fetchall() == [(TRAINER,)]
    # no hub home or token page for a learner: their own page instead
    ana.goto(f"{hub.url}/hub/token")
    ana.wait_for_url(my_modules(ANA))
    status, user = hub.api("GET", f"/users/{TRAINER}")
    assert status == 200 and not user["admin"] and "admin" not in user["roles"]
    hub.ana, hub.ben = ana, ben


def _page_pid(name: str) -> int:
    """The pid of ``name``'s single-user server, the one ``jupyterhub-singleuser`` process of that account."""
    uid = pwd.getpwnam(name).pw_uid
    pids = [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit() and _owned_singleuser(p, uid)]
    assert len(pids) == 1, f"{name} should have one page process, found {pids}"
    return pids[0]


def _owned_singleuser(proc: Path, uid: int) -> bool:
    try:
        return proc.stat().st_uid == uid and b"jupyterhub-singleuser" in (proc / "cmdline").read_bytes()
    except OSError:
        return False


JUPYTERHUB_HEAD = "f460b0348206"  # by hand: the last of JupyterHub 6.1.1's alembic/versions chain


def _upgrade(*args) -> str:
    env = {**os.environ, "NO_ENVS": "1", "HCWH_UPGRADE_CA": ""}
    done = subprocess.run(["bash", str(ROOT / "scripts" / "upgrade.sh"), *map(str, args)], env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"upgrade.sh {args}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_security_events_reach_the_log_file_and_syslog(hub, browser):
    """Issue 13 point 6: a role granted and changed, an enrollment, a failed and a good login, the
    hub's API used, a report opened and downloaded: each one line in <state>/logs/security.log
    (0600, the course account's) and at the syslog receiver."""
    as_course(["staff", "add", SEC, "--role", "trainer"], hub.state)  # a login made, role granted
    as_course(["staff", "add", SEC, "--role", "hr"], hub.state)  # the same login: role changed, new code
    as_course(["report"], hub.state)  # a snapshot for HR to open
    code = enrollment_codes(hub.state)[SEC]
    page = _page(browser)
    try:
        page.goto(f"{hub.url}/hub/enroll")
        page.fill("#enroll_username", SEC)
        page.fill("#enroll_code", code)
        page.fill("#enroll_password", SEC_PASSWORD)
        page.fill("#enroll_password2", SEC_PASSWORD)
        page.click("#enroll_submit")
        page.wait_for_url(re.compile(r".*/services/hr-report/.*"))
        page.goto(f"{hub.url}/hub/logout")
        page.goto(f"{hub.url}/hub/login")
        page.fill("#username_input", SEC)
        page.fill("#password_input", "not the password at all")
        page.click("#login_submit")
        assert "do not match" in page.locator("#login-error").inner_text()
        page.fill("#username_input", SEC)
        page.fill("#password_input", SEC_PASSWORD)
        page.click("#login_submit")
        page.wait_for_url(re.compile(r".*/services/hr-report/.*"))
        assert page.locator("h1").count() >= 1
        resp = page.request.get(f"{hub.url}/services/hr-report/files/learners.csv")
        assert resp.status == 200, resp.status
        assert "attachment" in resp.headers.get("content-disposition", "")
    finally:
        page.context.close()
    hub.api("POST", "/groups/hr/users", {"users": [SEC]})  # through the hub's own API, whatever it answers
    snap = max(p.name for p in (hub.state / "reports").iterdir() if (p / "report.html").is_file())

    log = hub.state / "logs" / "security.log"
    st = log.stat()
    assert (st.st_mode & 0o777) == 0o600 and pwd.getpwuid(st.st_uid).pw_name == "hcwh-course"
    assert (log.parent.stat().st_mode & 0o777) == 0o700
    deadline = time.monotonic() + 10  # syslog datagrams arrive at once; the receiving thread may lag a little
    while time.monotonic() < deadline and not any("report.download" in m for m in hub.syslog.messages):
        time.sleep(0.2)
    events = _events(log.read_text().splitlines())
    _find(events, "role.grant", SEC, role="trainer", service="hcwh-account")
    _find(events, "role.change", SEC, role="hr", before="trainer")
    _find(events, "enrollment.code", SEC, role="hr")
    enrolled = _find(events, "enrollment", SEC, role="hr")
    assert enrolled["source"] == "127.0.0.1" and enrolled["service"] == "hub"
    _find(events, "login.failed", SEC, "refused", source="127.0.0.1")
    _find(events, "login", SEC, role="hr", source="127.0.0.1")
    _find(events, "report.open", f"{snap}/report.html", who=SEC, service="hr-report")
    _find(events, "report.download", f"{snap}/learners.csv", who=SEC, service="hr-report")
    _find(events, "roster.import", "roster.csv")
    _find(events, "jupyterlab.on", BEN)
    _find(events, "account.create", BEN, service="hcwh-account")  # made for his enrollment (hcwh roster add)
    assert not any(code in row or SEC_PASSWORD in row for row in log.read_text().splitlines())
    # tornado logs a request after it has sent the response (RequestHandler.finish: flush, then _log),
    # so the hub.admin line may land a moment after the API call returned: wait for it
    def admin_lines():
        return [e for e in _events(log.read_text().splitlines())
                if e["what"] == "hub.admin" and e["object"] == "POST /hub/api/groups/hr/users"]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not admin_lines():
        time.sleep(0.2)
    admin = admin_lines()
    assert admin and admin[-1]["service"] == "hub", admin

    # syslog: the hub's and the services' events (the account helper runs under sudo, which keeps
    # no HCWH_* setting: it writes the file only)
    parsed = []
    for msg in hub.syslog.messages:
        m = SYSLOG_LINE.fullmatch(msg)
        assert m, msg
        assert int(m.group(1)) // 8 == 10  # facility authpriv
        parsed.append(m.group(2))
    from_syslog = _events(parsed)
    _find(from_syslog, "login.failed", SEC, "refused")
    _find(from_syslog, "login", SEC)
    _find(from_syslog, "report.download", f"{snap}/learners.csv", who=SEC)


def test_a_hub_restart_keeps_learners_pages_and_ends_its_services(hub, browser):
    """Issue 13 point 8: restarting the hub, with the upgrade path run while it is stopped
    (scripts/upgrade.sh: backup, jupyterhub upgrade-db, nbgrader db upgrade, the record's migrations;
    then the smoke check against the restarted hub), leaves Ana's page running (same process) and
    reachable with her work; the hub's services (formgrader, the idle culler, the console...) end
    with the hub that started them, none left behind."""
    from playwright.sync_api import expect

    ana = getattr(hub, "ana", None)
    if ana is None:
        pytest.skip("needs the cohort test's learner session (it failed or did not run)")
    before = hub.service_processes()
    assert {"formgrader", "idle-culler", "trainer-console", "hr-report"} <= set(before.values()), before
    pid = _page_pid(ANA)
    answers = (Path("/home") / ANA / MODULE / "answers.json").read_bytes()
    t0 = time.monotonic()
    hub.stop_hub()
    deadline = time.monotonic() + 60  # each service is sent SIGTERM as the hub ends; a Jupyter server takes a moment
    while hub.service_processes() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert hub.service_processes() == {}, f"services left behind by the stopped hub: {hub.service_processes()}"
    FIGURES["hub stop, services gone s"] = round(time.monotonic() - t0, 1)
    assert Path(f"/proc/{pid}").exists(), "Ana's page ended with the hub"
    # the upgrade path on this hub's state, learners' pages still running (NO_ENVS: the envs are this checkout's)
    backup = hub.state.parent / "upgrade-backup"
    t0 = time.monotonic()
    out = _upgrade("all", hub.state, backup)
    FIGURES["upgrade.sh all (backup, dbs) s"] = round(time.monotonic() - t0, 1)
    from autograde.record import db as record_db

    assert "the hub's database is at JupyterHub" in out, out
    assert f"the record database is at schema version {record_db.LATEST}" in out, out  # every migration applied
    with sqlite3.connect(hub.state / "hub" / "jupyterhub.sqlite") as con:
        assert con.execute("SELECT version_num FROM alembic_version").fetchall() == [(JUPYTERHUB_HEAD,)]
    assert (backup / "state" / "hub" / "jupyterhub.sqlite").is_file()
    t0 = time.monotonic()
    hub.start()
    FIGURES["hub restart s"] = round(time.monotonic() - t0, 1)
    smoke = _upgrade("smoke", hub.state, backup, hub.url)
    assert "smoke: the hub answers" in smoke and "gradebook rows unchanged" in smoke, smoke
    assert _page_pid(ANA) == pid  # the same page, not a new one
    status, user = hub.api("GET", f"/users/{ANA}")
    assert status == 200 and user["servers"][""]["ready"], user
    # she reaches her page through the restarted proxy, still logged in, with her work there
    ana.goto(f"{hub.url}/user/{ANA}/hcwh/")
    expect(ana.locator("h1")).to_have_text("My modules")
    expect(_row(ana)).to_contain_text("Feedback ready")
    ana.goto(f"{hub.url}/user/{ANA}/voila/render/{MODULE}/{MODULE}.ipynb")
    expect(ana.locator(".widget-radio-box label", has_text=RIGHT).first).to_be_visible(timeout=120_000)
    assert (Path("/home") / ANA / MODULE / "answers.json").read_bytes() == answers
    assert _page_pid(ANA) == pid
    # the new hub's services run again, one process each
    assert sorted(hub.service_processes().values()).count("formgrader") == 1


def test_a_leaver_is_locked_out_at_once(hub, browser):
    ben = getattr(hub, "ben", None)
    if ben is None:
        pytest.skip("needs the cohort test's learner session (it failed or did not run)")
    status, user = hub.api("GET", f"/users/{BEN}")
    assert status == 200 and user["servers"], "Ben's page should be running before he leaves"
    out = as_course(["roster", "leave", BEN], hub.state).stdout
    assert "records kept" in out and "OS account locked" in out, out
    assert f"{BEN}: separated on " in out, out  # the retention clock starts (roster.json)
    status, user = hub.api("GET", f"/users/{BEN}")
    assert not user["servers"].get("", {}).get("ready"), user["servers"]
    status, tokens = hub.api("GET", f"/users/{BEN}/tokens")
    assert tokens["api_tokens"] == []
    shadow = subprocess.run(["passwd", "-S", BEN], capture_output=True, text=True).stdout.split()
    assert shadow[1] == "L"
    assert subprocess.run(["chage", "-l", BEN], capture_output=True, text=True).stdout.count("Jan 02, 1970") == 1
    # his page is gone, and he cannot log in again
    resp = ben.goto(f"{hub.url}/user/{BEN}/lab")
    assert "/hub/login" in ben.url or resp.status in (403, 404, 424, 503), (ben.url, resp.status)
    ben.goto(f"{hub.url}/hub/login")
    ben.fill("#username_input", BEN)
    ben.fill("#password_input", PASSWORDS[BEN])
    ben.click("#login_submit")
    assert "do not match" in ben.locator("#login-error").inner_text()
    # records kept: his home, his submission and his grade
    assert (Path("/home") / BEN / MODULE / "answers.json").is_file()
    assert (hub.state / "course" / "submitted" / BEN / MODULE).is_dir()
    # Ana is untouched
    status, user = hub.api("GET", f"/users/{ANA}")
    assert user["servers"][""]["ready"]
    # and when she logs out (a shared computer), her page stops too
    hub.ana.goto(f"{hub.url}/hub/logout")
    assert hub.ana.locator("h1").inner_text() == "You are logged out"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and hub.api("GET", f"/users/{ANA}")[1]["servers"]:
        time.sleep(0.5)
    assert not hub.api("GET", f"/users/{ANA}")[1]["servers"]


SEC = "hcwhtest-sec"
SEC_PASSWORD = "a security officer's phrase"
SYSLOG_LINE = re.compile(r"<(\d+)>hcwh-security\[\d+\]: (\{.*\})")


def _events(lines: list[str]) -> list[dict]:
    events = [json.loads(row) for row in lines]
    for e in events:  # every line: the fields, and UTC time with Z
        assert {"time", "who", "what", "object", "result"} <= set(e), e
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", e["time"]), e
        assert abs((datetime.now(timezone.utc) - datetime.strptime(e["time"], "%Y-%m-%dT%H:%M:%SZ")
                    .replace(tzinfo=timezone.utc)).total_seconds()) < 3600
    return events


def _find(events, what, obj, result="ok", **more):
    found = [e for e in events if e["what"] == what and e["object"] == obj and e["result"] == result
             and all(e.get(k) == v for k, v in more.items())]
    assert found, f"no {what} {obj} {result} {more} in: {[(e['what'], e['object'], e['result']) for e in events]}"
    return found[-1]


