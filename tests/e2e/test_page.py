"""Issue 17: the module as a page (Voilà), used in a real browser, graded by real nbgrader.

A temporary course releases 01-authenticity and a learner fetches it, as in
``test_browser.py`` (whose server and browser helpers this test reuses). The same Jupyter
server serves Voilà's page of the notebook, ``/voila/render/…``; Debian's Chromium opens it
with every request that would leave 127.0.0.1 blocked (and recorded), and:

- the page shows the module's text, role-plays, questions and reflection boxes, and no code,
  no cell to run, no editor, no JupyterLab menu, no pop-up;
- axe-core (``axe-playwright-python``'s own copy of axe.js, injected into the page; nothing is
  fetched) checks the page before and after answering: any violation inside what the project
  renders (the module's text, its widgets) fails the test; rules about the page around it
  (Voilà's template) are listed separately in ``test-artifacts/page-accessibility.txt``;
- by mouse: role-play 1 played to an ending, one question of each kind answered (single,
  multiple, ordering, matching), and two reflections typed; ``answers.json`` holds each, and
  each box says "Saved" only once its text is in the file.

Then the learner's folder is submitted (nbgrader's submit, with the reflections filled in from
``answers.json``), collected and autograded with real nbgrader. The gradebook must hold the
score worked out here by hand from the module's key, and the submitted notebook's reflection
cells the typed words.
"""

from __future__ import annotations

import contextlib
import time

import nbformat
import pytest

from autograde.course import nbgrader_api as course
from curriculum.answers import AnswerStore
from curriculum.cells import REFLECTION_STUB, SOLUTION_HINT
from curriculum.schema import load_module
from tests.conftest import ROOT
from tests.e2e.test_browser import (
    ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, FOCUS_JS, TIMEOUT_MS, VIEWPORT, Lab, _require_browser, answer_by_mouse, by_keyboard,
    by_mouse, focus_follows, module_points, released_and_fetched, tab_to, wait_for, walk,
)

MODULE_ID = "01-authenticity"
STUDENT = "page-learner"
# Words a learner would type; the second has a line break and characters Markdown cares about.
TYPED = [
    "I can be myself and still keep to the dress code: I greet people the way I would greet a neighbour.",
    "When I don't know, I say so and find out.\nI write *exactly* what I promised, and by when.",
]
# axe rules about the page as a whole (landmarks, language, title): what Voilà's template
# provides, not what the project renders inside it.
PAGE_RULES = {"region", "landmark-one-main", "html-has-lang", "html-lang-valid", "document-title", "bypass",
              "meta-viewport", "page-has-heading-one", "landmark-unique"}
# Where the project's own markup is on the module page: the module's Markdown, the widgets' outputs and
# what the template hcwh adds (links, banners); on a hub page, the block the project's template fills.
MODULE_PAGE_OURS = (".jp-OutputArea-output, .jp-MarkdownOutput, .jp-RenderedMarkdown, .jupyter-widgets, .hcwh-nav, "
                    ".hcwh-skip, #hcwh-connection-area, #hcwh-idle-notice")
OURS_JS = """([selectors, ours]) => selectors.map(sel => {
  const e = document.querySelector(sel);
  return !!(e && e.closest(ours));
})"""


def hand_scores(module, plan: dict) -> dict[str, float]:
    """What each answered question earns, worked out here from the key (README "Question kinds")."""
    out = {}
    for q in module.questions:
        key, given = list(q.answer), plan.get(q.id)
        if given is None:
            share = 0.0
        elif q.kind == "single":
            share = 1.0 if given == key[0] else 0.0
        elif q.kind == "multiple":  # a share per right tick, one back per wrong tick, never below 0
            share = max(0.0, (len(set(given) & set(key)) - len(set(given) - set(key))) / len(key))
        elif q.kind == "ordering":  # only the key's own order is planned here: full points
            assert given == key
            share = 1.0
        elif q.kind == "matching":  # a share per right match
            share = sum(g == k for g, k in zip(given, key)) / len(key)
        out[q.id] = round(q.points * share, 4)
    return out


def plan_answers(module) -> dict:
    """One question of each kind, by hand: right, partly right, right order, two matches swapped."""
    plan, seen = {}, set()
    for q in module.questions:
        if q.kind in seen:
            continue
        seen.add(q.kind)
        key = list(q.answer)
        if q.kind == "single":
            plan[q.id] = key[0]
        elif q.kind == "multiple":
            plan[q.id] = key[:-1] + [next(o.id for o in q.options if o.id not in key)]
        elif q.kind == "ordering":
            plan[q.id] = key
        elif q.kind == "matching":
            plan[q.id] = [*key[:-2], key[-1], key[-2]]
    assert seen == {"single", "multiple", "ordering", "matching"}, f"{MODULE_ID} lacks a kind: {seen}"
    return plan


def summary(lines: list[str]) -> list[str]:
    """Findings of one rule together: how many nodes, and the first two."""
    by_rule: dict[str, list[str]] = {}
    for line in lines:
        by_rule.setdefault(line.split(" ", 1)[0], []).append(line)
    return [f"  {rule}: {len(found)} node(s), e.g.\n    " + "\n    ".join(found[:2]) for rule, found in by_rule.items()]


def _axe(page) -> list[dict]:
    """axe-core's violations on the page as it is: WCAG 2.0/2.1 A and AA, and axe's best practices."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a",
                                                                            "wcag21aa", "best-practice"]}})
    return results.response["violations"]


def axe_all(page) -> list[str]:
    """Every violation on a page the project renders whole (the learner's own pages, autograde/learner)."""
    return [f"{v['id']} ({v['impact']}): {v['help']} at {n['target']}: {n['html'][:160]}"
            for v in _axe(page) for n in v["nodes"]]


def axe_violations(page, ours_selector: str = MODULE_PAGE_OURS) -> tuple[list[str], list[str]]:
    """axe-core on the page as it is: (violations in the project's markup, those of the page around it:
    Voilà's or JupyterHub's)."""
    ours, theirs = [], []
    for v in _axe(page):
        targets = [" ".join(n["target"]) if isinstance(n["target"], list) else str(n["target"]) for n in v["nodes"]]
        inside = (page.evaluate(OURS_JS, [targets, ours_selector]) if v["id"] not in PAGE_RULES
                  else [False] * len(targets))
        for target, node, mine in zip(targets, v["nodes"], inside):
            line = f"{v['id']} ({v['impact']}): {v['help']} at {target}: {node['html'][:160]}"
            (ours if mine else theirs).append(line)
    return ours, theirs


@contextlib.contextmanager
def chromium(tmp_path, lab: Lab, outside: list[str], failure_png: str = "page-failure.png", **context_args):
    """Debian's Chromium with every request that would leave ``lab`` blocked (and recorded in
    ``outside``): yields a new page; a screenshot goes to test-artifacts/ if the test fails."""
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS, env={
            "XDG_CONFIG_HOME": str(tmp_path / "browser" / "config"),
            "XDG_CACHE_HOME": str(tmp_path / "browser" / "cache"), "HOME": str(tmp_path / "browser")})
        page = None
        try:
            context = browser.new_context(**{"viewport": VIEWPORT, **context_args})

            def offline(route):  # the page, its widgets and axe work with nothing from outside
                if route.request.url.startswith(lab.base_url):
                    return route.continue_()
                outside.append(route.request.url)
                return route.abort()

            context.route("**/*", offline)
            page = context.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            expect.set_options(timeout=TIMEOUT_MS)
            yield page
        except BaseException:
            if page is not None:
                ARTIFACTS.mkdir(exist_ok=True)
                page.screenshot(path=str(ARTIFACTS / failure_png))
            raise
        finally:
            browser.close()


def test_a_learner_uses_the_module_page_and_is_graded_as_answered(tmp_path):
    _require_browser()
    from playwright.sync_api import expect

    module = load_module(ROOT / "curriculum" / "modules" / f"{MODULE_ID}.yaml")
    rp = module.roleplays[0]
    path, ending_id, letters = walk(rp, by_mouse)
    plan = plan_answers(module)
    scores = hand_scores(module, plan)
    typed_ids = [f"{r.id}-answer" for r in module.reflections[:2]]

    state, home, folder = released_and_fetched(tmp_path, STUDENT)
    released = (folder / f"{MODULE_ID}.ipynb").read_bytes()

    lab = Lab(home, tmp_path / "server", state, module_page=True)
    ARTIFACTS.mkdir(exist_ok=True)
    findings: list[str] = []
    outside: list[str] = []
    try:
        lab.start()
        with chromium(tmp_path, lab, outside) as page:
            started = time.monotonic()
            page.goto(f"{lab.base_url}/voila/render/{MODULE_ID}/{MODULE_ID}.ipynb?token={lab.token}")
            boxes = page.get_by_role("textbox", name="Your reflection:")
            expect(boxes).to_have_count(len(module.reflections))
            expect(page.get_by_role("button", name="Refresh my progress")).to_be_visible()
            findings.append(f"widgets ready {time.monotonic() - started:.1f} s after the request (one run)")

            # -- only the module: no code, no cells to run, no IDE, no pop-up --------------
            text = page.locator("body").inner_text()
            for code in ("module.", "from curriculum", "import ", "BEGIN SOLUTION", "HIDDEN TESTS", SOLUTION_HINT):
                assert code not in text, f"code on the page: {code!r}"
            assert page.locator(".jp-InputArea-editor, .cm-editor, .CodeMirror, .jp-InputPrompt, "
                                ".jp-OutputPrompt").count() == 0
            # (Voilà's own page is a Lumino shell, id "main", with an empty banner: no menu in it)
            ide = page.locator(".lm-MenuBar, .jp-FileBrowser, .jp-Toolbar, .jp-SideBar, .jp-Launcher, "
                               ".jp-NotebookPanel, [role=dialog], [role=alertdialog], .jp-toast-container")
            assert ide.count() == 0, ide.evaluate_all("es => es.map(e => e.outerHTML.slice(0, 300))")
            assert page.locator("[data-mime-type='application/vnd.jupyter.stderr']").count() == 0
            assert "error" not in text.lower().replace("errors", ""), "an error is shown on the page"
            stubs = page.get_by_text(REFLECTION_STUB)  # the graded cells are on the page, hidden
            expect(stubs).to_have_count(len(module.reflections))
            assert stubs.evaluate_all("es => es.filter(e => e.checkVisibility()).length") == 0
            expect(page.get_by_role("heading", name=module.title)).to_be_visible()
            for r in module.reflections:
                assert r.prompt.split()[0] in text

            ours_before, theirs_before = axe_violations(page)

            # -- role-play 1 by mouse -------------------------------------------------
            play = page.locator(".jp-OutputArea-output").filter(has=page.locator("h4", has_text=rp.title))
            for n in range(len(path)):
                expect(play.get_by_text(f"Decision {n + 1}.")).to_be_visible()
                play.get_by_role("button", name=f"Choose {letters[n]}", exact=True).click()
                play.get_by_role("button", name="See the ending" if n == len(path) - 1 else "Continue",
                                 exact=True).click()
            ending = next(e for e in rp.endings if e.id == ending_id)
            expect(play.get_by_text(f"Outcome: {ending.outcome}.")).to_be_visible()

            # -- one question of each kind, by mouse ----------------------------------
            for q in module.questions:
                if q.id not in plan:
                    continue
                texts = {o.id: o.text for o in q.options}
                out = page.locator(".jp-OutputArea-output")
                for t in texts.values():
                    out = out.filter(has_text=t)
                expect(out).to_have_count(1)
                answer_by_mouse(out, q, plan[q.id])

            # -- two reflections, typed -------------------------------------------------
            for n, words in enumerate(TYPED):
                area = page.locator(".hcwh-question").filter(has=page.get_by_role("textbox")).nth(n)
                box = area.get_by_role("textbox", name="Your reflection:")
                box.click()
                for k, line in enumerate(words.split("\n")):
                    if k:
                        box.press("Enter")
                    box.press_sequentially(line, delay=5)
                status = area.get_by_role("status")
                expect(status).to_contain_text(f"({len(words.split())} words)")
                expect(status).to_contain_text("Saved at")
                assert wait_for(lambda: AnswerStore(folder).load()["reflections"].get(typed_ids[n]), words) == words

            answers = AnswerStore(folder).load()
            assert answers["reflections"] == dict(zip(typed_ids, TYPED))
            got = {k: sorted(v) if isinstance(v, list) and k in plan and module.questions[
                [q.id for q in module.questions].index(k)].kind == "multiple" else v
                   for k, v in answers["questions"].items()}
            want = {k: sorted(v) if isinstance(v, list) and module.questions[
                [q.id for q in module.questions].index(k)].kind == "multiple" else v for k, v in plan.items()}
            assert got == want
            assert answers["roleplays"] == {rp.id: {"current": [], "completed": [{"ending": ending_id,
                                                                                  "path": path}]}}

            ours_after, theirs_after = axe_violations(page)
            page.screenshot(path=str(ARTIFACTS / "page-01-authenticity.png"), full_page=True)
            findings += [f"axe before answering, in the project's markup: {len(ours_before)}",
                         *ours_before, f"axe after answering, in the project's markup: {len(ours_after)}",
                         *ours_after, "axe, the page around it (Voilà's template), before answering:",
                         *summary(theirs_before), "after answering:", *summary(theirs_after),
                         f"requests that would have left 127.0.0.1 (blocked; the page works without them): "
                         f"{sorted(set(outside))}"]
            assert not ours_before and not ours_after, "\n".join(ours_before + ours_after)
        lab.stop()
    finally:
        lab.kill()
        (ARTIFACTS / "page-accessibility.txt").write_text("\n".join(findings) + "\n", encoding="utf-8")

    # the learner's own notebook is never changed: the words live in answers.json
    assert (folder / f"{MODULE_ID}.ipynb").read_bytes() == released

    # -- submit, collect, autograde with real nbgrader -------------------------------
    course.submit(state, MODULE_ID, STUDENT, home)
    course.collect(state, MODULE_ID)
    course.autograde(state, MODULE_ID, STUDENT)

    submitted = nbformat.read(state.course_dir / "submitted" / STUDENT / MODULE_ID / f"{MODULE_ID}.ipynb",
                              as_version=4)
    cells = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in submitted.cells}
    for grade_id, words in zip(typed_ids, TYPED):
        assert cells[grade_id].source == words
    for r in module.reflections[2:]:
        assert cells[f"{r.id}-answer"].source == REFLECTION_STUB

    expected = {f"{q.id}-test": scores[q.id] for q in module.questions}
    expected.update({f"{p.id}-done": float(p.points) if p is rp else 0.0 for p in module.roleplays})
    expected.update({f"{r.id}-answer": 0.0 for r in module.reflections})  # a trainer scores them
    with course.gradebook(state) as gb:
        sub = gb.find_submission(MODULE_ID, STUDENT)
        (nb_sub,) = sub.notebooks
        assert {g.name: g.score for g in nb_sub.grades} == expected
        assert sub.max_score == module_points(module)
        manual = {g.name for g in nb_sub.grades if g.needs_manual_grade}
        assert manual == set(typed_ids)  # the typed two wait for a trainer; the untouched one is "no response"
    print(f"\npage session: {sum(expected.values()):g} of {module_points(module):g} autograded")
    print("\n".join(findings))


# What the clock on the banner looks like: the browser's own short time of day (page.js clock()).
CLOCK_JS = "ms => new Date(ms).toLocaleTimeString([], {hour: 'numeric', minute: '2-digit'})"
DRAFTS_JS = "() => Object.keys(sessionStorage).filter(k => k.startsWith('hcwh-draft:')).length"
LOST = {"killed": "its process killed (SIGKILL)", "shut down": "shut down through the server's REST API",
        "server gone": "the whole server stopped (the connection lost), then started again"}


PAGE_KERNEL_JS = "() => JSON.parse(document.getElementById('jupyter-config-data').textContent).kernelId"
def kernel_pids(kernel_id: str) -> list[int]:
    """The processes of kernel ``kernel_id``, from their command lines (its connection file's name)."""
    import os

    pids = []
    for proc in os.listdir("/proc"):
        try:
            if proc.isdigit() and f"kernel-{kernel_id}.json".encode() in open(f"/proc/{proc}/cmdline", "rb").read():
                pids.append(int(proc))
        except OSError:
            continue
    return pids


def prepared_kernels(lab: Lab) -> list[str]:
    """The kernels the server's log says it prepared a page in, in order (autograde/learner/prepared.py)."""
    from autograde.learner.prepared import PREPARED_MARK

    log = lab.log_path.read_text(encoding="utf-8", errors="replace")
    return [part.split()[0] for part in log.split(PREPARED_MARK)[1:]]


def _kernel(lab: Lab, page) -> tuple[str, int]:
    """The module page's kernel (the one its page config names; the server also keeps the next page
    prepared, autograde/learner/prepared.py): its id and, from the processes' command lines, its pid."""
    kernel_id = page.evaluate(PAGE_KERNEL_JS)
    pids = kernel_pids(kernel_id)
    assert len(pids) == 1, f"kernel {kernel_id}: processes {pids}"
    return kernel_id, pids[0]


def _prepared_kernel(lab: Lab, timeout: float = 90) -> str:
    """The kernel of the next page the server has prepared (its log says so), waited for."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if kernels := prepared_kernels(lab):
            return kernels[-1]
        time.sleep(0.2)
    raise AssertionError(f"no page prepared within {timeout} s:\n{lab.log_tail()}")


@pytest.mark.parametrize("how", sorted(LOST))
def test_a_lost_kernel_says_what_is_saved_and_a_reload_restores_everything(tmp_path, how):
    """Issue 17 point 4: answers given, a reflection half typed, then the kernel is lost; the banner
    says so with the time of the last save the kernel confirmed (answers.json's own time); words typed
    after the loss are kept by the browser; a reload shows every answer again and saves those words."""
    import os
    import signal
    import urllib.request

    _require_browser()
    from playwright.sync_api import expect

    module = load_module(ROOT / "curriculum" / "modules" / f"{MODULE_ID}.yaml")
    q = next(q for q in module.questions if q.kind == "single")
    right = {o.id: o.text for o in q.options}[q.answer[0]]
    rp = module.roleplays[0]
    first, second = TYPED[0], "I will call back by Friday"
    later = " and write it in the case notes."  # typed once the kernel is gone: only the browser has it
    ids = [f"{r.id}-answer" for r in module.reflections[:2]]
    state, home, folder = released_and_fetched(tmp_path, STUDENT)
    lab = Lab(home, tmp_path / "server", state, module_page=True)
    outside: list[str] = []
    try:
        lab.start()
        with chromium(tmp_path, lab, outside, failure_png=f"page-lost-{how.replace(' ', '-')}.png") as page:
            scripts: dict[str, int] = {}
            page.on("response", lambda r: scripts.update({r.url.split("?")[0].rsplit("/", 1)[1]: r.status})
                    if r.url.startswith(f"{lab.base_url}/hcwh/") else None)
            page.goto(f"{lab.base_url}/voila/render/{MODULE_ID}/{MODULE_ID}.ipynb?token={lab.token}")
            boxes = page.get_by_role("textbox", name="Your reflection:")
            expect(boxes).to_have_count(len(module.reflections))

            # -- the page's own links and scripts (the Voilà template hcwh) --------------------
            nav = page.get_by_role("navigation", name="Course")
            expect(nav.get_by_role("link", name="My modules")).to_have_attribute("href", "/hcwh/")
            expect(nav.get_by_role("link", name="Get help")).to_have_attribute("href", "/hcwh/how#get-help")
            # the idle warning's first "active now" passes the server's XSRF check: 503 here, with no hub to
            # tell (403 would mean the POST never reached it, and the warning would never come)
            assert wait_for(lambda: dict(scripts), {"idle-notice.js": 200, "page.js": 200, "activity": 503}) == {
                "idle-notice.js": 200, "page.js": 200, "activity": 503}, scripts

            # the server prepares the next page of this module (autograde/learner/prepared.py) with the
            # answers as they are now, none: the reload below must show every answer given after it
            prepared = _prepared_kernel(lab)

            # -- answers: a question, the role-play's first decision, one reflection and half of another
            out = page.locator(".jp-OutputArea-output").filter(has=page.get_by_label(right, exact=True))
            answer_by_mouse(out, q, q.answer[0])
            play = page.locator(".jp-OutputArea-output").filter(has=page.locator("h4", has_text=rp.title))
            play.get_by_role("button", name="Choose A", exact=True).click()
            expect(play.get_by_text("What happens:")).to_be_visible()
            areas = page.locator(".hcwh-reflection")
            for n, words in enumerate((first, second)):
                areas.nth(n).get_by_role("textbox").press_sequentially(words, delay=5)
                expect(areas.nth(n).get_by_role("status")).to_contain_text("Saved at")
            assert AnswerStore(folder).load()["reflections"] == {ids[0]: first, ids[1]: second}
            saved_ms = (folder / "answers.json").stat().st_mtime * 1000  # the last save, as the file says

            # -- the kernel is lost --------------------------------------------------------------
            kernel_id, pid = _kernel(lab, page)
            assert prepared != kernel_id
            if how == "killed":
                os.kill(pid, signal.SIGKILL)
            elif how == "server gone":
                port = int(lab.base_url.rsplit(":", 1)[1])
                lab.kill()
            else:
                urllib.request.urlopen(lab.api_request("DELETE", f"/api/kernels/{kernel_id}"), timeout=30).close()
            # the learner goes on clicking: nothing answers (a kernel shut down says nothing at all)
            other = next(x for x in module.questions if x.kind == "single" and x.id != q.id)
            other_text = {o.id: o.text for o in other.options}[other.answer[0]]
            page.get_by_label(other_text, exact=True).check()
            banner = page.locator("#hcwh-connection")
            expect(banner).to_have_attribute("role", "alert")
            expect(banner).to_contain_text("Reload the page to go on.")
            said = banner.inner_text()
            clocks = {page.evaluate(CLOCK_JS, saved_ms), page.evaluate(CLOCK_JS, saved_ms + 1000)}
            assert any(f"Your answers up to {c} are saved." in said for c in clocks), (said, clocks)
            assert said.startswith("Not connected." if how == "server gone" else "This page has stopped working."), said
            findings = [f"lost ({LOST[how]}): the banner said {said!r}"]

            areas.nth(1).get_by_role("textbox").press_sequentially(later, delay=5)
            assert page.evaluate(DRAFTS_JS) == 1  # kept in the browser ...
            assert AnswerStore(folder).load()["reflections"][ids[1]] == second  # ... and nowhere else

            # -- reload: everything is back, the words typed after the loss included, and saved --
            if how == "server gone":
                lab._start(port)  # the same address: the page reloads where it was
            page.reload()
            expect(boxes).to_have_count(len(module.reflections))
            expect(banner).to_have_count(0)
            if how != "server gone":  # a server started again has prepared nothing yet
                assert page.evaluate(PAGE_KERNEL_JS) == prepared  # the reload was served the prepared page
            expect(boxes.nth(0)).to_have_value(first)
            expect(boxes.nth(1)).to_have_value(second + later)
            expect(out.get_by_label(right, exact=True)).to_be_checked()
            expect(play.get_by_text("Decision 2.")).to_be_visible()  # the play resumes after its first choice
            expect(areas.nth(1).get_by_role("status")).to_contain_text("Saved at")
            assert wait_for(lambda: AnswerStore(folder).load()["reflections"][ids[1]], second + later) == second + later
            assert wait_for(lambda: page.evaluate(DRAFTS_JS), 0) == 0  # confirmed: the browser's copy is gone
            answers = AnswerStore(folder).load()
            assert answers["questions"] == {q.id: q.answer[0]}  # the click after the loss was not saved
            expect(page.get_by_label(other_text, exact=True)).not_to_be_checked()
            assert answers["reflections"] == {ids[0]: first, ids[1]: second + later}
            assert len(answers["roleplays"][rp.id]["current"]) == 1
        lab.stop()
    finally:
        lab.kill()
    print("\n".join(findings))


# Whether the focused element shows its focus: an outline of 2 px or more, or a box shadow (computed style).
FOCUS_SHOWN_JS = """() => {
  const e = document.activeElement;
  if (!e || e === document.body) return null;
  const s = getComputedStyle(e);
  const ok = (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2) || (s.boxShadow || 'none') !== 'none';
  const name = (e.getAttribute('aria-label') || e.labels?.[0]?.textContent || e.textContent || e.value || '').trim();
  return {ok, what: `${e.tagName} ${name.replace(/\\s+/g, ' ').slice(0, 50)}`,
          style: `${s.outlineStyle} ${s.outlineWidth} ${s.outlineColor}`};
}"""
# Reflow (WCAG 1.4.10): the page, or a box in it, scrolls sideways, or an element of the page's own content ends
# past its right edge.
REFLOW_JS = """() => {
  const width = document.documentElement.clientWidth, over = [];
  for (const e of document.querySelectorAll('#hcwh-module *, .hcwh-nav *, #hcwh-connection-area *')) {
    const r = e.getBoundingClientRect();
    if (r.width > 0 && r.right > width + 1) over.push(`${e.tagName}.${[...e.classList].join('.')} ends at ${Math.round(r.right)}`);
  }
  const scrollers = [...document.querySelectorAll('body, body *')].filter(e => {
    const x = getComputedStyle(e).overflowX;
    return (x === 'auto' || x === 'scroll') && e.scrollWidth > e.clientWidth + 1;
  }).map(e => `${e.tagName}#${e.id}.${[...e.classList].join('.')} scrolls sideways`);
  return {scroll: document.documentElement.scrollWidth, width, over: over.concat(scrollers)};
}"""


class Keys:
    """The keyboard alone: Tab (and Shift+Tab), Space, Enter, arrows; every focus stop's visibility noted."""

    def __init__(self, page):
        self.page = page
        self.stops = 0
        self.unseen: list[str] = []

    def press(self, key: str) -> None:
        self.page.keyboard.press(key)
        if key in ("Tab", "Shift+Tab"):
            self.stops += 1
            shown = self.page.evaluate(FOCUS_SHOWN_JS)
            if shown and not shown["ok"]:
                self.unseen.append(f"{shown['what']} (outline {shown['style']})")

    def inside(self, where, selector: str = "*") -> bool:
        return where.evaluate("(o, sel) => o.contains(document.activeElement) && document.activeElement.matches(sel)",
                              selector)

    def tab_into(self, where, selector: str = "*", limit: int = 80) -> None:
        """Tab forward until the focus is on ``selector`` inside ``where``."""
        for _ in range(limit):
            if self.inside(where, selector):
                return
            self.press("Tab")
        raise AssertionError(f"{limit} Tabs never reached {selector} in {where}: focus on {self.page.evaluate(FOCUS_JS)}")

    def answer(self, out, q, answer) -> None:
        """Question ``q`` answered with ``answer`` by keyboard, in its output ``out``."""
        texts = {o.id: o.text for o in q.options}
        checked = "(o) => { const c = o.querySelector('input[type=radio]:checked');" \
                  " return c ? c.closest('label').textContent.trim() : null; }"
        if q.kind == "single":
            self.tab_into(out, "input[type=radio]")
            self.press("Space")  # the group's first option, then down to the one wanted
            for _ in range(len(q.options)):
                if out.evaluate(checked) == texts[answer]:
                    break
                self.press("ArrowDown")
            assert out.evaluate(checked) == texts[answer]
        elif q.kind == "multiple":
            for o in q.options:
                self.tab_into(out, "input[type=checkbox]")
                box = out.get_by_label(o.text, exact=True)
                while not box.evaluate("b => b === document.activeElement"):
                    self.press("Tab")
                if o.id in answer:
                    self.press("Space")
                self.press("Tab") if o is not q.options[-1] else None
        else:
            labels = ([f"Step {k}:" for k in range(1, len(answer) + 1)] if q.kind == "ordering"
                      else [f"{item.text}:" for item in q.items])
            for label, oid in zip(labels, answer):
                select = out.get_by_label(label, exact=True)
                self.tab_into(out, "select")
                while not select.evaluate("s => s === document.activeElement"):
                    self.press("Tab")
                # (ipywidgets writes an option's spaces as no-break spaces)
                shown = "s => s.selectedIndex < 0 ? null : s.options[s.selectedIndex].text.replace(/\\u00a0/g, ' ')"
                for _ in range(len(q.options) + 2):  # (choose), then the options in their order
                    if select.evaluate(shown) == texts[oid]:
                        break
                    self.press("ArrowDown")
                assert select.evaluate(shown) == texts[oid]
        from playwright.sync_api import expect

        expect(out.get_by_role("status")).to_contain_text("Saved")

    def sweep(self, back: bool = False, limit: int = 300) -> int:
        """Tab (or Shift+Tab) from where the focus is until it leaves the page or comes round: no trap.
        How many stops it made."""
        first = None
        for n in range(1, limit + 1):
            self.press("Shift+Tab" if back else "Tab")
            here = self.page.evaluate("() => document.activeElement === document.body ? null :"
                                      " document.activeElement.outerHTML.slice(0, 200)")
            if here is None or here == first:
                return n
            first = first or here
        raise AssertionError(f"{limit} {'Shift+' if back else ''}Tabs never left the page: a keyboard trap")


def test_one_module_by_keyboard_only_at_phone_width_and_200_percent_zoom(tmp_path):
    """Issue 17 points 5 and 6: 01-authenticity done with the keyboard alone on the module page
    (every question right, one role-play played, one reflection typed), every focus stop showing its
    focus (computed style) and no trap either way; each role-play reaction and ending takes the focus
    and is a live region; then the page at 320 px wide and at 200 % zoom (a 1280 px window: 640 CSS
    px) neither scrolls sideways nor cuts its content; axe before and after answering, at each size.
    Real nbgrader then gives the score worked out here from the key."""
    _require_browser()
    from playwright.sync_api import expect

    module = load_module(ROOT / "curriculum" / "modules" / f"{MODULE_ID}.yaml")
    rp = next(p for p in module.roleplays if p.scoring == "completion")
    path, ending_id, letters = walk(rp, by_keyboard)
    plan = {q.id: list(q.answer) if q.kind != "single" else q.answer[0] for q in module.questions}
    # by hand: every question right earns its points, the role-play played to an ending its completion
    # points, everything else (two role-plays untouched, the reflection a trainer scores) nothing yet
    expected = {f"{q.id}-test": float(q.points) for q in module.questions}
    expected.update({f"{p.id}-done": float(p.points) if p is rp else 0.0 for p in module.roleplays})
    expected.update({f"{r.id}-answer": 0.0 for r in module.reflections})
    words = "I listen first, then I say what I can do today."
    state, home, folder = released_and_fetched(tmp_path, STUDENT)
    lab = Lab(home, tmp_path / "server", state, module_page=True)
    outside: list[str] = []
    report: list[str] = []
    try:
        lab.start()
        with chromium(tmp_path, lab, outside, failure_png="page-keyboard-failure.png") as page:
            page.goto(f"{lab.base_url}/voila/render/{MODULE_ID}/{MODULE_ID}.ipynb?token={lab.token}")
            expect(page.get_by_role("textbox", name="Your reflection:")).to_have_count(len(module.reflections))
            ours, theirs = axe_violations(page)
            assert not ours, "\n".join(ours)
            report += ["axe before answering (1280 px): ours 0, Voilà's", *summary(theirs)]
            # Chromium's accessibility tree: each question's options in a group named by its words
            kinds = [q.kind for q in module.questions]
            expect(page.get_by_role("radiogroup", name="Your answer:")).to_have_count(kinds.count("single"))
            expect(page.get_by_role("group", name="Tick every answer that applies:")).to_have_count(kinds.count("multiple"))
            keys = Keys(page)

            # -- the page's own links first: skip link, My modules, ..., Get help ---------------
            keys.press("Tab")
            expect(page.locator(":focus")).to_have_text("Skip to the module")
            nav = page.get_by_role("navigation", name="Course")
            keys.tab_into(nav, "a[href$='hcwh/']")
            keys.tab_into(nav, "a[href$='#get-help']")

            # -- everything in the page's order ----------------------------------------------
            outs = page.locator(".jp-OutputArea-output")
            items = []
            for q in module.questions:
                out = outs
                for o in q.options:
                    out = out.filter(has_text=o.text)
                expect(out).to_have_count(1)
                items.append((out.evaluate("o => [...document.querySelectorAll('.jp-OutputArea-output')].indexOf(o)"),
                              "question", q, out))
            play = outs.filter(has=page.locator("h4", has_text=rp.title))
            items.append((play.evaluate("o => [...document.querySelectorAll('.jp-OutputArea-output')].indexOf(o)"),
                          "roleplay", rp, play))
            area = page.locator(".hcwh-reflection").first
            items.append((area.evaluate("a => [...document.querySelectorAll('.jp-OutputArea-output')]"
                                        ".indexOf(a.closest('.jp-OutputArea-output'))"), "reflection", None, area))
            announced = []
            for _, kind, thing, where in sorted(items, key=lambda x: x[0]):
                if kind == "question":
                    keys.answer(where, thing, plan[thing.id])
                elif kind == "reflection":
                    keys.tab_into(where, "textarea")
                    page.keyboard.type(words, delay=5)
                    expect(where.get_by_role("status")).to_contain_text("Saved at")
                else:
                    keys.tab_into(where, "button")
                    for n, letter in enumerate(letters):
                        if n:
                            focus_follows(page, rp.title, "Choose A")  # the next decision's first choice
                        tab_to(page, rp.title, f"Choose {letter}")
                        page.keyboard.press("Enter")
                        # the reaction: a live region, and the focus on it
                        focused = page.locator(":focus")
                        expect(focused).to_have_class("hcwh-announce")
                        expect(focused).to_have_attribute("role", "status")
                        expect(focused).to_contain_text("What happens:")
                        announced.append("reaction")
                        keys.press("Tab")
                        go_on = "See the ending" if n == len(letters) - 1 else "Continue"
                        expect(page.locator(":focus")).to_have_text(go_on)
                        page.keyboard.press("Space")
                    focused = page.locator(":focus")
                    expect(focused).to_have_class("hcwh-announce")
                    expect(focused).to_contain_text(f"Outcome: {next(e for e in rp.endings if e.id == ending_id).outcome}.")
                    announced.append("ending")
                    keys.press("Tab")
                    expect(page.locator(":focus")).to_have_text("Play again from the start")
            report.append(f"keyboard walk: {len(letters)} decisions, every question, one reflection; "
                          f"{keys.stops} Tab stops; focus moved to {announced.count('reaction')} reactions and "
                          f"{announced.count('ending')} ending")

            # -- no trap: to the end and out, and back from there to the top --------------------
            forward = keys.sweep()
            backward = keys.sweep(back=True)
            report.append(f"no trap: Tab left the page after {forward} more stops, Shift+Tab came back in {backward}")
            assert not keys.unseen, "focus not shown on: " + "; ".join(keys.unseen)

            answers = AnswerStore(folder).load()
            kinds = {q.id: q.kind for q in module.questions}
            assert {k: sorted(v) if kinds[k] == "multiple" else v for k, v in answers["questions"].items()} == {
                k: sorted(v) if kinds[k] == "multiple" else v for k, v in plan.items()}
            assert answers["roleplays"][rp.id]["completed"] == [{"ending": ending_id, "path": path}]
            assert answers["reflections"] == {f"{module.reflections[0].id}-answer": words}
            ours, theirs = axe_violations(page)
            assert not ours, "\n".join(ours)
            report += ["axe after answering (1280 px): ours 0, Voilà's", *summary(theirs)]

            # -- phone width, and 200 % zoom -----------------------------------------------------
            for label, size in (("320 px wide", {"width": 320, "height": 640}),
                                ("200 % zoom of 1280x900", {"width": 640, "height": 450})):
                page.set_viewport_size(size)
                page.wait_for_timeout(300)  # one layout after the resize (not a wait for the machine)
                flow = page.evaluate(REFLOW_JS)
                page.screenshot(path=str(ARTIFACTS / f"page-{size['width']}px.png"), full_page=True)
                assert flow["scroll"] <= flow["width"] and not flow["over"], (label, flow)
                ours, theirs = axe_violations(page)
                assert not ours, "\n".join(ours)
                report += [f"{label}: no sideways scroll, nothing past the edge; axe ours 0, Voilà's", *summary(theirs)]
        lab.stop()
    finally:
        lab.kill()
        ARTIFACTS.mkdir(exist_ok=True)
        (ARTIFACTS / "page-keyboard.txt").write_text("\n".join(report) + "\n", encoding="utf-8")

    course.submit(state, MODULE_ID, STUDENT, home)
    course.collect(state, MODULE_ID)
    course.autograde(state, MODULE_ID, STUDENT)
    with course.gradebook(state) as gb:
        (nb_sub,) = gb.find_submission(MODULE_ID, STUDENT).notebooks
        assert {g.name: g.score for g in nb_sub.grades} == expected
    print("\n".join(report))
