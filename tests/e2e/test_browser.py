"""Issue 3: one learner's whole session in a real browser, graded by real nbgrader.

A temporary course releases 01-authenticity; a learner fetches it into a
temporary home folder; JupyterLab (with the nbgrader extensions, but none of
this account's own Jupyter state) serves that folder on 127.0.0.1; Debian's
Chromium, driven by Playwright, opens the notebook and runs every cell. Then,
as a learner would:

- role-play 1 is played to an ending with the mouse (the *Choose X* and
  *Continue* / *See the ending* buttons);
- role-play 2 is played to an ending with the keyboard only: Tab moves the
  focus, Enter and Space press the buttons;
- the five scenario questions are answered with a known mix of right, partly
  right and wrong answers (radio buttons, tick boxes, drop-down lists);
- role-play 3 and the reflections are left untouched; the notebook is saved
  with Ctrl+S.

Along the way one Tab sweep checks that every widget control in the notebook is
reachable by Tab and has an accessible name, as Chromium computes it. A
full-page screenshot and the accessibility findings go to ``test-artifacts/``.

JupyterLab is then stopped, the saved folder is submitted, collected and
autograded with real nbgrader, and the gradebook must hold exactly the score
the scoring rules give for those answers.

Needs Debian's Chromium at /usr/bin/chromium (``scripts/system-deps.sh``
installs it) and the ``playwright`` Python package (the ``test`` extra). The
test never downloads a browser.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import nbformat
import pytest

from autograde.config import Settings
from autograde.course import nbgrader_api as course
from curriculum.answers import AnswerStore
from curriculum.builder import presented_choices
from curriculum.cells import REFLECTION_STUB
from curriculum.schema import Module, Question, RolePlay, load_module
from curriculum.scoring import question_score
from tests.conftest import ROOT

MODULE_ID = "01-authenticity"
STUDENT = "browser-learner"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = ROOT / "test-artifacts"
VIEWPORT = {"width": 1280, "height": 900}
TIMEOUT_MS = 30_000  # any single wait in the browser
SERVER_START_S = 60


def _require_browser() -> None:
    """Fail (never skip) with what to run when the browser parts are missing."""
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(
            f"{CHROMIUM} is missing: the browser test drives Debian's Chromium. "
            "Run `sudo bash scripts/system-deps.sh` (apt-get install chromium); "
            "never `playwright install`.",
            pytrace=False,
        )
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.fail(
            "the 'playwright' Python package is missing: run `make install` "
            "(or .venv/bin/pip install -e '.[test]'); Chromium itself comes from "
            "scripts/system-deps.sh, never from `playwright install`.",
            pytrace=False,
        )


# --------------------------------------------------------------------------
# The learner's answers: a known mix, chosen from the module's own keys
# --------------------------------------------------------------------------

def planned_answer(q: Question, first_single: bool) -> object:
    """What the learner gives for question ``q``: right, partly right or wrong."""
    key = list(q.answer)
    if q.kind == "single":
        # the first single-choice question right, the others wrong
        return key[0] if first_single else next(o.id for o in q.options if o.id != key[0])
    if q.kind == "multiple":
        # all right ticks but one, plus one wrong tick
        wrong = next(o.id for o in q.options if o.id not in key)
        return key[:-1] + [wrong]
    if q.kind == "ordering":
        # second and third steps swapped
        return [key[0], key[2], key[1], *key[3:]]
    if q.kind == "matching":
        # the last two matches swapped
        return [*key[:-2], key[-1], key[-2]]
    raise AssertionError(f"no plan for question kind {q.kind!r}")


def released_and_fetched(tmp_path: Path, student: str, module_id: str = MODULE_ID) -> tuple[Settings, Path, Path]:
    """The trainer releases ``module_id`` (real nbgrader, a course under ``tmp_path``) and ``student``
    fetches it into ``tmp_path/home``: (the course's settings, the home, the fetched folder)."""
    state = Settings(state_dir=tmp_path / "state")
    course.prepare(state, [module_id])
    course.generate(state, module_id)
    course.release(state, module_id)
    home = tmp_path / "home"
    return state, home, course.fetch(state, module_id, student, home)


def answer_by_mouse(out, q: Question, answer) -> None:
    """Give ``answer`` to question ``q`` in its output ``out`` by mouse, then wait for its "Saved"."""
    from playwright.sync_api import expect

    texts = {o.id: o.text for o in q.options}
    if q.kind == "single":
        out.get_by_label(texts[answer], exact=True).check()
    elif q.kind == "multiple":
        for oid in answer:
            out.get_by_label(texts[oid], exact=True).check()
    else:
        labels = ([f"Step {k}:" for k in range(1, len(answer) + 1)] if q.kind == "ordering"
                  else [f"{item.text}:" for item in q.items])
        for label, oid in zip(labels, answer):
            out.get_by_label(label, exact=True).select_option(value=texts[oid])
    expect(out.get_by_role("status")).to_contain_text("Saved")


def walk(rp: RolePlay, pick: Callable[[int, int], int]) -> tuple[list[dict], str, list[str]]:
    """The path (as answers.json records it), ending and letters pressed when
    ``pick(decision_no, n_offered)`` chooses by the place a choice is shown at: the builder's fixed
    shuffle, then only the choices the play's conditions offer after the earlier choices (the
    engine's own rules, curriculum/roleplay.py, on the play as the learner's page holds it)."""
    from curriculum import roleplay

    data = roleplay.as_data(rp)
    shown_order = {s.id: [c.id for c in presented_choices(rp, s)] for s in rp.steps}
    steps = {}
    for s in data["steps"]:
        by_id = {roleplay.choice_id(c, n): c for n, c in enumerate(s["choices"])}
        steps[s["id"]] = {**s, "choices": [by_id[i] for i in shown_order[s["id"]]]}
    endings = {e.id for e in rp.endings}
    step_id, flags, path, letters = rp.steps[0].id, frozenset(), [], []
    assert rp.scoring == "completion"  # a practice play: each choice's quality is recorded as it is taken
    while step_id not in endings:
        offered = roleplay.offered(steps[step_id], flags)
        k = pick(len(path), len(offered))
        n, choice = offered[k]
        path.append({"step": step_id, "choice": choice["id"], "quality": choice["quality"]})
        letters.append(chr(65 + k))
        flags, _, step_id = roleplay.take(steps[step_id], n, flags)
        assert len(path) < 20, f"{rp.id}: no ending reached"
    return path, step_id, letters


def by_mouse(decision: int, n_choices: int) -> int:
    return 0  # always A


def by_keyboard(decision: int, n_choices: int) -> int:
    return (decision + 1) % n_choices  # B, then C, ...


# --------------------------------------------------------------------------
# JupyterLab on 127.0.0.1, isolated from this account's Jupyter state
# --------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PortTaken(Exception):
    pass


class Lab:
    """JupyterLab serving ``root_dir``, its Jupyter and IPython state in ``work``. ``module_page``: as a
    learner's server on the hub serves the module page (hub/jupyterhub_config.py): the Voilà template
    ``hcwh`` and the server extensions of the idle warning and the learner's own pages."""

    def __init__(self, root_dir: Path, work: Path, state: Settings, module_page: bool = False):
        self.root_dir = root_dir
        self.token = secrets.token_hex(16)
        self.log_path = work / "jupyterlab.log"
        config_dir, data_dir, runtime_dir = work / "jupyter-config", work / "jupyter-data", work / "jupyter-runtime"
        for d in (config_dir, data_dir, runtime_dir, work / "ipython"):
            d.mkdir(parents=True, exist_ok=True)
        # The nbgrader extensions (enabled in the venv's etc/jupyter, which stays on
        # the config path) see the temporary course, through the project's settings.
        (config_dir / "nbgrader_config.py").write_text(
            "from autograde.config import Settings\n"
            "from autograde.course.nbconfig import apply_nbgrader_config\n"
            "apply_nbgrader_config(get_config(), Settings.from_env())\n",
            encoding="utf-8",
        )
        # No "get Jupyter news?" toast over the page, and no request to fetch news.
        notify = config_dir / "lab" / "user-settings" / "@jupyterlab" / "apputils-extension"
        notify.mkdir(parents=True)
        (notify / "notification.jupyterlab-settings").write_text(
            json.dumps({"fetchNews": "false", "checkForUpdates": False}), encoding="utf-8"
        )
        self.env = {
            **os.environ,
            "JUPYTER_CONFIG_DIR": str(config_dir),
            "JUPYTER_DATA_DIR": str(data_dir),
            "JUPYTER_RUNTIME_DIR": str(runtime_dir),
            "IPYTHONDIR": str(work / "ipython"),
            "HCWH_STATE_DIR": str(state.state_dir),
            # the kernel imports this working copy's curriculum package
            "PYTHONPATH": os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]),
        }
        self.env.pop("JUPYTER_PATH", None)
        self.env.pop("JUPYTER_CONFIG_PATH", None)
        if module_page:
            from autograde.learner import KERNEL_MANAGER, VOILA_CONFIGURATION
            from autograde.learner.pages import VOILA_DATA

            self.env["JUPYTER_PATH"] = str(VOILA_DATA)
            (config_dir / "jupyter_server_config.json").write_text(json.dumps({
                "ServerApp": {"jpserver_extensions": {"autograde.idlenotice": True, "autograde.learner": True},
                              "kernel_manager_class": KERNEL_MANAGER},
                "VoilaConfiguration": VOILA_CONFIGURATION}), encoding="utf-8")
        self.proc: subprocess.Popen | None = None
        self.log = None
        self.base_url = ""

    def start(self, attempts: int = 3) -> None:
        """Start on a free port and wait until it answers (another port if one was taken meanwhile)."""
        for attempt in range(1, attempts + 1):
            try:
                return self._start(_free_port())
            except PortTaken:
                if attempt == attempts:
                    raise AssertionError(f"no free port for JupyterLab:\n{self.log_tail()}") from None

    def _start(self, port: int) -> None:
        argv = [
            sys.executable, "-m", "jupyter", "lab", "--no-browser",
            "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={self.token}", f"--ServerApp.root_dir={self.root_dir}",
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            argv.append("--ServerApp.allow_root=True")  # containers and CI run as root
        self.kill()  # a previous attempt, if any
        self.log = open(self.log_path, "wb")
        # cwd outside the project: nbgrader would otherwise read its nbgrader_config.py
        self.proc = subprocess.Popen(
            argv, cwd=self.root_dir.parent, env=self.env, stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.base_url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + SERVER_START_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.log.close()
                if "already in use" in self.log_tail():
                    raise PortTaken(port)
                raise AssertionError(f"JupyterLab exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.api_request("GET", "/api/status"), timeout=2) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.2)
        raise AssertionError(f"JupyterLab did not answer within {SERVER_START_S} s:\n{self.log_tail()}")

    def api_request(self, method: str, path: str) -> urllib.request.Request:
        return urllib.request.Request(
            self.base_url + path, method=method, headers={"Authorization": f"token {self.token}"}
        )

    def url(self, path: str) -> str:
        return f"{self.base_url}/lab/tree/{path}?token={self.token}"

    def log_tail(self, n: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        """Shut down cleanly (kernels too) through the API; force it if need be."""
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            urllib.request.urlopen(self.api_request("POST", "/api/shutdown"), timeout=10).close()
            self.proc.wait(timeout=30)
        except Exception:  # noqa: BLE001 (whatever happened, the server must go)
            self.kill()

    def kill(self) -> None:
        """The server and anything it started in its session, whatever state it is in."""
        try:
            if self.proc is None or self.proc.poll() is not None:
                return
            for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 10)):
                try:
                    os.killpg(self.proc.pid, sig)
                except ProcessLookupError:
                    return
                try:
                    self.proc.wait(timeout=wait)
                    return
                except subprocess.TimeoutExpired:
                    continue
        finally:
            if self.log is not None and not self.log.closed:
                self.log.close()


# --------------------------------------------------------------------------
# In the page
# --------------------------------------------------------------------------

# Where the focus is, in words: the focused control, and which output it is in.
FOCUS_JS = """() => {
  const e = document.activeElement;
  if (!e || e === document.body) return {tag: 'BODY', text: '', title: '', inNotebook: false};
  const out = e.closest('.jp-OutputArea-output');
  const h4 = out ? out.querySelector('h4') : null;
  return {tag: e.tagName, text: (e.textContent || '').trim(), title: h4 ? h4.textContent.trim() : '',
          inNotebook: !!e.closest('.jp-Notebook')};
}"""

# Indexes of the outputs whose labels / drop-down values include every text.
FIND_OUTPUTS_JS = """(texts) => {
  const norm = s => s.replace(/\\s+/g, ' ').trim();
  const outs = [...document.querySelectorAll('.jp-Notebook .jp-OutputArea-output')];
  return outs.map((o, i) => {
    const have = new Set([...o.querySelectorAll('label, option')]
      .map(e => norm(e.tagName === 'OPTION' ? e.value : e.textContent)));
    return texts.every(t => have.has(norm(t))) ? i : -1;
  }).filter(i => i >= 0);
}"""

# Every widget control in the notebook, tagged with an index for the Tab sweep.
TAG_CONTROLS_JS = """() => {
  const sel = 'button, input, select, textarea, [tabindex]:not([tabindex="-1"])';
  const found = [...document.querySelectorAll('.jp-Notebook .jp-OutputArea-output .jupyter-widgets')]
    .flatMap(w => [...w.querySelectorAll(sel)]).filter((e, i, all) => all.indexOf(e) === i);
  return found.map((e, i) => {
    e.setAttribute('data-hcwh-control', String(i));
    const out = e.closest('.jp-OutputArea-output');
    return {i, tag: e.tagName, type: e.type || '', name: e.name || '',
            text: (e.textContent || e.value || '').trim().slice(0, 80),
            output: [...document.querySelectorAll('.jp-Notebook .jp-OutputArea-output')].indexOf(out)};
  });
}"""


def chromium_names(page, count: int) -> list[dict]:
    """Role and accessible name of each tagged control, as Chromium computes them."""
    cdp = page.context.new_cdp_session(page)
    try:
        cdp.send("DOM.enable")
        cdp.send("Accessibility.enable")
        root = cdp.send("DOM.getDocument", {"depth": 0})["root"]["nodeId"]
        result = []
        for i in range(count):
            # offscreen cells are skipped by the browser (content-visibility): bring each in first
            page.locator(f"[data-hcwh-control='{i}']").scroll_into_view_if_needed()
            node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": f"[data-hcwh-control='{i}']"})["nodeId"]
            for _ in range(50):  # the accessibility tree catches up with the scroll
                ax = cdp.send("Accessibility.getPartialAXTree", {"nodeId": node, "fetchRelatives": False})["nodes"]
                mine = next((n for n in ax if not n.get("ignored")), None)
                if mine is not None:
                    break
                page.wait_for_timeout(50)
            else:
                mine = ax[0] if ax else {}
            result.append({
                "role": (mine.get("role") or {}).get("value", ""),
                "name": ((mine.get("name") or {}).get("value") or "").strip(),
                "description": ((mine.get("description") or {}).get("value") or "").strip(),
            })
        return result
    finally:
        cdp.detach()


def tab_sweep(page, first_cell) -> list[int]:
    """Tab from the notebook's first cell to the end; the tagged controls reached."""
    first_cell.focus()
    reached, last = [], None
    for _ in range(400):
        page.keyboard.press("Tab")
        info = page.evaluate(
            "() => { const e = document.activeElement; return {"
            " idx: e && e.getAttribute('data-hcwh-control'),"
            " inNotebook: !!(e && e.closest('.jp-Notebook'))}; }"
        )
        if not info["inNotebook"]:
            break
        if info["idx"] is not None and info["idx"] != last:
            reached.append(int(info["idx"]))
        last = info["idx"]
    else:
        raise AssertionError("Tab never left the notebook: a keyboard trap")
    return reached


def tab_to(page, title: str, label: str, limit: int = 40) -> int:
    """Press Tab until the button ``label`` of role-play ``title`` has the focus
    (no press if it has it already); how many presses it took."""
    seen = []
    for n in range(limit + 1):
        if n:
            page.keyboard.press("Tab")
        f = page.evaluate(FOCUS_JS)
        seen.append(f"{f['tag']} {f['text'][:30]!r}" + (f" in {f['title'][:30]!r}" if f["title"] else ""))
        if f["tag"] == "BUTTON" and f["text"] == label and f["title"].startswith(title):
            return n
    raise AssertionError(f"{limit} Tabs never reached {label!r} in {title!r}; focus went: {seen}")


def focus_follows(page, title: str, label: str) -> None:
    """After a role-play button is pressed, the focus moves by itself to the next
    screen's first control, ``label`` (curriculum.learner), not back to the page."""
    try:
        page.wait_for_function(
            f"() => {{ const f = ({FOCUS_JS})(); return f.tag === 'BUTTON' && f.text === {json.dumps(label)}"
            f" && f.title.startsWith({json.dumps(title)}); }}",
            timeout=10_000,
        )
    except Exception as e:  # noqa: BLE001
        raise AssertionError(f"the focus did not move to {label!r} of {title!r}: "
                             f"it is on {page.evaluate(FOCUS_JS)}") from e


def output_for(page, texts: list[str]):
    found = page.evaluate(FIND_OUTPUTS_JS, texts)
    assert len(found) == 1, f"expected the widget with {texts[:2]}… shown once, found it in outputs {found}"
    return page.locator(".jp-Notebook .jp-OutputArea-output").nth(found[0])


# --------------------------------------------------------------------------
# The test
# --------------------------------------------------------------------------

def test_a_learner_session_in_a_real_browser_is_graded_as_answered(tmp_path):
    _require_browser()
    from playwright.sync_api import expect, sync_playwright

    timings: dict[str, float] = {}
    clock = time.monotonic()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.monotonic()
        timings[name] = round(now - clock, 1)
        clock = now

    module = load_module(ROOT / "curriculum" / "modules" / f"{MODULE_ID}.yaml")
    rp_mouse, rp_keys, rp_untouched = module.roleplays[:3]
    mouse_path, mouse_ending, mouse_letters = walk(rp_mouse, by_mouse)
    keys_path, keys_ending, keys_letters = walk(rp_keys, by_keyboard)
    first_single = next(q.id for q in module.questions if q.kind == "single")
    plan = {q.id: planned_answer(q, q.id == first_single) for q in module.questions}
    # sanity: the plan is a real mix, not all right or all wrong
    scores = {q.id: question_score(q.kind, plan[q.id], q.answer, q.points) for q in module.questions}
    assert 0 in scores.values() and any(s == q.points for q, s in zip(module.questions, scores.values()))
    assert any(0 < s < q.points for q, s in zip(module.questions, scores.values()))

    # -- the trainer releases; the learner fetches --------------------------
    state, home, folder = released_and_fetched(tmp_path, STUDENT)
    notebook_path = folder / f"{MODULE_ID}.ipynb"
    assert notebook_path.is_file() and not (folder / "answers.json").exists()
    lap("release and fetch")

    # -- JupyterLab ---------------------------------------------------------
    lab = Lab(home, tmp_path / "lab", state)
    ARTIFACTS.mkdir(exist_ok=True)
    findings: list[str] = []
    try:
        lab.start()
        lap("JupyterLab start")
        with sync_playwright() as pw:
            # Chromium's own state (crash reports, caches) in the temporary folder too, not in ~/.config
            browser_env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "browser" / "config"),
                           "XDG_CACHE_HOME": str(tmp_path / "browser" / "cache")}
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS,
                                         env=browser_env)
            try:
                page = browser.new_page(viewport=VIEWPORT)
                page.set_default_timeout(TIMEOUT_MS)
                expect.set_options(timeout=TIMEOUT_MS)
                page.goto(lab.url(f"{MODULE_ID}/{MODULE_ID}.ipynb"))
                page.wait_for_selector(".jp-NotebookPanel .jp-Notebook .jp-Cell")
                expect(page.locator(".jp-NotebookPanel .jp-Toolbar-kernelName")).to_have_text("Python 3 (ipykernel)")
                page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']")
                lap("notebook open, kernel idle")

                # Run > Run All Cells, as the notebook's own instructions say
                page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
                page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
                outputs = page.locator(".jp-Notebook .jp-OutputArea-output")
                for rp in module.roleplays:
                    expect(outputs.filter(has=page.locator("h4", has_text=rp.title))).to_have_count(1)
                last = module.questions[-1]
                expect(page.get_by_label(last.options[-1].text, exact=True).first).to_be_visible()
                page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']")
                errors = page.locator(".jp-Notebook .jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
                assert errors.count() == 0, errors.all_inner_texts()
                lap("run all, widgets shown")

                # -- accessibility: every control reachable by Tab, each with a name
                controls = page.evaluate(TAG_CONTROLS_JS)
                names = chromium_names(page, len(controls))
                reached = tab_sweep(page, page.locator(".jp-Notebook .jp-Cell").first)
                unreached = [c for c in controls if c["i"] not in reached]
                unnamed = [(c, n) for c, n in zip(controls, names) if not n["name"]]
                findings += accessibility_findings(page, controls, names, reached)
                assert not unreached, f"widget controls Tab never reaches: {unreached}"
                assert not unnamed, f"widget controls without an accessible name: {unnamed}"
                assert len(reached) == len(set(reached)), "a control was reached twice in one sweep"
                lap("accessibility sweep")

                # -- role-play 1 with the mouse ---------------------------------
                play = outputs.filter(has=page.locator("h4", has_text=rp_mouse.title))
                for n, taken in enumerate(mouse_path):
                    expect(play.get_by_text(f"Decision {n + 1}.")).to_be_visible()
                    play.get_by_role("button", name=f"Choose {mouse_letters[n]}", exact=True).click()
                    last_step = n == len(mouse_path) - 1
                    play.get_by_role("button", name="See the ending" if last_step else "Continue", exact=True).click()
                ending = next(e for e in rp_mouse.endings if e.id == mouse_ending)
                expect(play.get_by_text(f"Outcome: {ending.outcome}.")).to_be_visible()
                focus_follows(page, rp_mouse.title, "Play again from the start")
                lap("role-play 1 by mouse")

                # -- role-play 2 with the keyboard only ------------------------
                # From where role-play 1 left the focus (its "Play again" button),
                # only Tab, Enter and Space.
                keys = outputs.filter(has=page.locator("h4", has_text=rp_keys.title))
                presses = []
                for n, taken in enumerate(keys_path):
                    expect(keys.get_by_text(f"Decision {n + 1}.")).to_be_visible()
                    if n:
                        focus_follows(page, rp_keys.title, "Choose A")
                    presses.append(tab_to(page, rp_keys.title, f"Choose {keys_letters[n]}"))
                    page.keyboard.press("Enter")
                    step = next(s for s in rp_keys.steps if s.id == taken["step"])
                    choice = next(c for c in step.choices if c.id == taken["choice"])
                    expect(keys.get_by_text(f"You chose {keys_letters[n]}")).to_be_visible()
                    assert choice.reaction[:40] in keys.inner_text().replace("\n", " ")
                    last_step = n == len(keys_path) - 1
                    go_on = "See the ending" if last_step else "Continue"
                    focus_follows(page, rp_keys.title, go_on)
                    presses.append(tab_to(page, rp_keys.title, go_on))
                    page.keyboard.press("Space")
                ending = next(e for e in rp_keys.endings if e.id == keys_ending)
                expect(keys.get_by_text(f"Outcome: {ending.outcome}.")).to_be_visible()
                focus_follows(page, rp_keys.title, "Play again from the start")
                findings.append(f"Role-play 2 played to '{keys_ending}' by keyboard only: Tab presses per step {presses}.")
                lap("role-play 2 by keyboard")

                # -- the scenario questions --------------------------------------
                for q in module.questions:
                    answer_by_mouse(output_for(page, [o.text for o in q.options]), q, plan[q.id])
                lap("questions answered")

                # every click reached answers.json (the kernel writes it as they come)
                expected_answers = {
                    "questions": plan,
                    "roleplays": {
                        rp_mouse.id: {"current": [], "completed": [{"ending": mouse_ending, "path": mouse_path}]},
                        rp_keys.id: {"current": [], "completed": [{"ending": keys_ending, "path": keys_path}]},
                    },
                }
                saved = wait_for(lambda: normalised(AnswerStore(folder).load(), module),
                                 normalised(expected_answers, module))
                assert saved == normalised(expected_answers, module)
                assert rp_untouched.id not in saved["roleplays"]

                # the notebook's progress list (if it has one) brought up to date for the picture
                refresh = page.get_by_role("button", name="Refresh my progress")
                if refresh.count() == 1:
                    refresh.click()

                # -- save with Ctrl+S ----------------------------------------------
                before = notebook_path.stat().st_mtime_ns
                page.locator(".jp-Notebook .jp-Cell").last.focus()
                page.keyboard.press("Control+s")
                expect(page.locator(".lm-TabBar-tab.jp-mod-current.jp-mod-dirty")).to_have_count(0)
                assert wait_for(lambda: notebook_path.stat().st_mtime_ns != before, True), "Ctrl+S saved nothing"
                lap("saved")

                # -- a full-page picture of the finished notebook -------------------
                drawn_badly = screenshot(page, ARTIFACTS / "browser-01-authenticity.png")
                assert not drawn_badly, drawn_badly
                lap("screenshot")
            except BaseException:
                if "page" in locals():  # what the browser showed when it went wrong
                    page.screenshot(path=str(ARTIFACTS / "browser-failure.png"))
                raise
            finally:
                browser.close()
        lab.stop()
        assert lab.proc.returncode is not None
        lap("JupyterLab stopped")
    finally:
        lab.kill()
        (ARTIFACTS / "browser-accessibility.txt").write_text("\n".join(findings) + "\n", encoding="utf-8")
        if lab.log_path.exists():
            (ARTIFACTS / "browser-jupyterlab.log").write_bytes(lab.log_path.read_bytes())

    # -- the saved notebook -----------------------------------------------------
    nb = nbformat.read(notebook_path, as_version=4)
    grade_ids = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in nb.cells}
    for r in module.reflections:
        cell = grade_ids.get(f"{r.id}-answer")
        assert cell is not None and cell.cell_type == "markdown", f"reflection {r.id} lost"
        assert cell.metadata.nbgrader.get("solution") and cell.metadata.nbgrader.get("grade")
        assert cell.source == REFLECTION_STUB  # untouched, as planned
    # saved after Run All: each role-play and question shows its widget, once
    for grade_id in [f"{rp.id}-play" for rp in module.roleplays] + [f"{q.id}-answer" for q in module.questions]:
        kinds = [(o.output_type, "application/vnd.jupyter.widget-view+json" in o.get("data", {}))
                 for o in grade_ids[grade_id].outputs]
        assert kinds == [("display_data", True)], (grade_id, kinds)
    assert not [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    twice = [c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells if c.cell_type == "code"
             if sum("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in c.outputs) > 1]
    assert not twice, f"widgets shown twice (displayed, then returned as the cell's value): {twice}"

    # -- submit, collect, autograde with real nbgrader ---------------------------
    course.submit(state, MODULE_ID, STUDENT, home)
    course.collect(state, MODULE_ID)
    course.autograde(state, MODULE_ID, STUDENT)
    lap("submit, collect, autograde")

    expected_cells = {f"{q.id}-test": scores[q.id] for q in module.questions}
    expected_cells.update({f"{rp.id}-done": float(rp.points) if rp in (rp_mouse, rp_keys) else 0.0
                           for rp in module.roleplays})
    expected_cells.update({f"{r.id}-answer": 0.0 for r in module.reflections})
    expected_total = sum(expected_cells.values())
    with course.gradebook(state) as gb:
        sub = gb.find_submission(MODULE_ID, STUDENT)
        (nb_sub,) = sub.notebooks
        got_cells = {g.name: g.score for g in nb_sub.grades}
        assert got_cells == expected_cells
        assert sub.score == expected_total
        assert sub.max_score == module_points(module)
        assert not sub.needs_manual_grade  # untouched reflections are "no response"
    print(f"\nbrowser session graded {expected_total:g} of {module_points(module):g}; timings (s): {timings}")
    print("\n".join(findings))


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------

def module_points(module: Module) -> float:
    return (sum(q.points for q in module.questions) + sum(rp.points for rp in module.roleplays)
            + sum(c.points for r in module.reflections for c in r.rubric))


def normalised(answers: dict, module: Module) -> dict:
    """Tick lists are saved in the order shown; compare them as sets."""
    multiple = {q.id for q in module.questions if q.kind == "multiple"}
    qs = {k: sorted(v) if k in multiple and isinstance(v, list) else v for k, v in answers["questions"].items()}
    return {"questions": qs, "roleplays": answers["roleplays"]}


def wait_for(get: Callable[[], object], want: object, timeout: float = 15.0) -> object:
    deadline = time.monotonic() + timeout
    got = get()
    while got != want and time.monotonic() < deadline:
        time.sleep(0.1)
        got = get()
    return got


# Widgets drawn badly: a button's label cut short, an answer box wider than its
# output, a label overflowing its box (cut off, or running over the next one),
# radio buttons / tick boxes whose labels overlap, a drop-down squeezed.
LAYOUT_PROBLEMS_JS = """() => {
  const problems = [];
  const short = s => s.replace(/\\s+/g, ' ').trim().slice(0, 40);
  const outs = [...document.querySelectorAll('.jp-Notebook .jp-OutputArea-output')]
    .filter(o => o.querySelector('.jupyter-widgets'));
  for (const o of outs) {
    if (o.scrollWidth > o.clientWidth + 1) problems.push(`output wider than the page: ${short(o.textContent)}`);
    for (const b of o.querySelectorAll('button'))
      if (b.scrollWidth > b.clientWidth + 1) problems.push(`button label cut short: ${short(b.textContent)}`);
    for (const sel of o.querySelectorAll('select'))
      if (sel.getBoundingClientRect().width < 150) problems.push(`drop-down squeezed: ${short(sel.labels[0].textContent)}`);
    for (const l of o.querySelectorAll('label'))
      if (l.offsetParent && (l.scrollWidth > l.clientWidth + 1 || l.scrollHeight > l.clientHeight + 1))
        problems.push(`label does not fit its box: ${short(l.textContent)}`);
    for (const list of [o.querySelectorAll('.widget-radio-box label'), o.querySelectorAll('.widget-checkbox')]) {
      const rects = [...list].map(e => e.getBoundingClientRect());
      for (let i = 1; i < rects.length; i++)
        if (rects[i].top < rects[i - 1].bottom - 1) problems.push(`labels overlap: ${short(list[i].textContent)}`);
    }
  }
  return problems;
}"""


def screenshot(page, path: Path) -> list[str]:
    """The whole notebook in one picture: JupyterLab scrolls inside a fixed-height
    window, so make the window as tall as the notebook first. Every cell is drawn
    then, so this is also where the widgets' layout is checked: the problems found."""
    height = page.evaluate(
        "() => { const o = document.querySelector('.jp-NotebookPanel .jp-WindowedPanel-outer');"
        " return Math.ceil(o.scrollHeight + o.getBoundingClientRect().top + 40); }"
    )
    page.set_viewport_size({"width": VIEWPORT["width"], "height": min(max(height, VIEWPORT["height"]), 16000)})
    page.evaluate("() => { document.querySelector('.jp-NotebookPanel .jp-WindowedPanel-outer').scrollTop = 0; }")
    page.wait_for_timeout(800)
    page.screenshot(path=str(path), full_page=True)
    problems = page.evaluate(LAYOUT_PROBLEMS_JS)
    page.set_viewport_size(VIEWPORT)
    return problems


def accessibility_findings(page, controls: list[dict], names: list[dict], reached: list[int]) -> list[str]:
    """What a keyboard or screen-reader user meets, in words, for the report."""
    lines = [f"{len(controls)} widget controls; {len(set(reached))} reached by Tab in one forward sweep."]
    kinds: dict[str, list[int]] = {}
    for c in controls:
        kinds.setdefault(c["type"] if c["tag"] == "INPUT" else c["tag"].lower(), []).append(c["i"])
    for kind, idx in sorted(kinds.items()):
        sample = [names[i] for i in idx[:2]]
        lines.append(f"  {kind}: {len(idx)}; role/name e.g. "
                     + "; ".join(f"{s['role']} {s['name'][:50]!r}" + (f" (description {s['description'][:30]!r})"
                                                                        if s["description"] else "") for s in sample))
    radios = [c for c in controls if c["type"] == "radio"]
    if radios and not any(c["name"] for c in radios):
        lines.append("  radio buttons carry no shared 'name': each is its own Tab stop and the arrow keys do not "
                     "move between them (ipywidgets RadioButtons); Space selects the focused one.")
    groups = page.evaluate("() => document.querySelectorAll('.jp-Notebook .widget-radio-box[role=radiogroup]').length")
    if radios and not groups:
        lines.append("  radio groups have no radiogroup role: the 'Your answer:' text is not tied to the group.")
    return lines
