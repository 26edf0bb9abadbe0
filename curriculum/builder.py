"""The one builder: a validated :class:`~curriculum.schema.Module` in, an nbgrader
source notebook out. ``build`` is pure (same module, same bytes); ``write_sources``
loads every module first and writes only when all of them are valid.
"""

from __future__ import annotations

import hashlib
import os
import pprint
import shutil
import tempfile
from pathlib import Path

import nbformat
from nbformat import NotebookNode
from nbformat.v4 import new_notebook

from . import cells
from .cells import SOLUTION_HINT
from .kinds import KINDS
from .framework import Framework, load_framework
from .roleplay import winning_path
from .schema import Module, Question, Reflection, RolePlay, load_module

MODULES_DIR = Path(__file__).parent / "modules"

HOW_IT_WORKS = """\
## How this module works

You answer by **clicking** and by typing a few sentences in text boxes; there is nothing else to do.
(If you see grey code cells, this module opened in JupyterLab: choose *Run > Run All Cells* once, and
the buttons and boxes appear; leave the grey cells as they are.)

1. **Role-plays**: read the situation, choose A, B or C with the mouse or with Tab and Enter.
   You see how the resident reacts and coaching on your choice; what you chose earlier can change what
   happens later. Play to the ending, which recaps your path; you may play again.
2. **Scenario questions**: pick your answer with the radio buttons, tick boxes or drop-down lists.
   With the keyboard: Tab moves between answers, Space selects; open a drop-down list with Space
   (or Alt+Down), then choose with the arrow keys and Enter.
   Each answer is **saved the moment you make it**, so a closed tab loses nothing. The line under each
   question says what was saved.
3. **Reflections**: type your answer in the box under each reflection. It is saved as you type; the line
   under the box says *Saved* once it is.
4. **Submit**: go back to *My modules* and choose *Submit* beside this module (in JupyterLab: the
   *Assignments* list). Your reflections are taken from the boxes on this page. You can submit again at
   any time; the last submission counts, and one after the due date is marked late.

**What is graded and how.** A practice role-play earns its points (completion credit) once you play it to
an ending. A scored role-play earns points from your choices in your **first** complete play; it says so
above it, and later plays are practice. Scenario questions are
scored automatically after you submit; questions with several parts (tick all that apply, put in order,
match) give partial credit for each part you get right, and a wrong tick takes one back. Reflections are
read and scored by a trainer against the rubric shown with each one. After grading you receive feedback with
your scores.
"""



def _code(value: object) -> str:
    """A Python literal for ``value``, laid out the same way every time."""
    return pprint.pformat(value, width=100, sort_dicts=False)


def _options(items) -> list[tuple[str, str]]:
    return [(o.id, o.text) for o in items]


def _fixed_shuffle(scope: str, items: list, ident) -> list:
    """A fixed shuffle (hashing ``scope/id``): the same order on every build."""
    return sorted(items, key=lambda x: hashlib.sha256(f"{scope}/{ident(x)}".encode()).hexdigest())


def presented_options(q: Question) -> list:
    """The options in the order learners see them: a fixed shuffle (hashing the ids),
    so an author who writes the right answer first, or an ordering question in
    its right order, gives nothing away, and rebuilds stay byte-for-byte equal."""
    shuffled = _fixed_shuffle(q.id, list(q.options), lambda o: o.id)
    key_order = list(q.answer) if KINDS[q.kind].ordered_key else []
    if [o.id for o in shuffled][: len(key_order)] == key_order:
        shuffled = shuffled[1:] + shuffled[:1]  # never show the key's own order
    return shuffled


def presented_choices(rp: RolePlay, step) -> list:
    """A decision's choices in the order learners see them: the questions' fixed shuffle,
    hashing ``role-play id/step id`` and each choice id."""
    return _fixed_shuffle(f"{rp.id}/{step.id}", list(step.choices), lambda c: c.id)


def _quote(text: str) -> str:
    return "> " + text.replace("\n", "\n> ")


def _standard_cells(module: Module, framework: Framework) -> list[NotebookNode]:
    standard = framework.standard(module.standard)
    explained = {e.item: e.in_city_work for e in module.behaviors + module.considerations}
    parts = [f"## The commitment\n\n{_quote('“' + standard.commitment + '”')}"]
    for title, items in (("Expected behaviors", standard.behaviors), ("Essential considerations", standard.considerations)):
        lines = [f"## {title}\n"]
        for n, item in enumerate(items, start=1):
            lines.append(f"{n}. **{item.text}**\n\n   {explained[item.id]}\n")
        parts.append("\n".join(lines))
    return [cells.text(f"{module.id}-framework-{n}", part) for n, part in enumerate(parts)]


def _overview_cells(module: Module, framework: Framework) -> list[NotebookNode]:
    """The framework at a glance, quoted from the city's text (welcome module)."""
    values = "\n".join(f"- **{v.name}**: {v.text}" for v in framework.values)
    standards = "\n".join(f"| **{s.name}** | “{s.commitment}” |" for s in framework.standards)
    parts = [
        f"## Why the framework exists\n\n{_quote(framework.purpose)}\n\nThe framework's core standards answer one question: **{framework.tagline}**",
        f"## The four values\n\nIn the city's words:\n\n{values}",
        f"## The North Star program\n\n{_quote(framework.about)}",
        f"## The five standards at a glance\n\nEach standard has a commitment, expected behaviors and essential considerations. "
        f"You will meet each one in its own module, in this order.\n\n| Standard | Commitment |\n|---|---|\n{standards}",
    ]
    return [cells.text(f"{module.id}-overview-{n}", part) for n, part in enumerate(parts)]


def _progress_cell(module: Module) -> NotebookNode:
    items = [(rp.id, f"Role-play {n}: {rp.title}") for n, rp in enumerate(module.roleplays, start=1)]
    items += [(q.id, f"Question {n}") for n, q in enumerate(module.questions, start=1)]
    return cells.setup(f"{module.id}-progress", f"module.progress({_code(items)})")


def _when(when) -> str:
    return " and ".join(when)


def _roleplay_text(rp: RolePlay) -> str:
    """A plain-text version of the role-play, for where widgets do not render. A practice play
    lists every step, choice and ending; a path-scored play only the steps and choices (what
    happens, the coaching and the endings would give its key away before the scored play)."""
    practice = rp.scoring == "completion"
    what = "every step, choice and ending" if practice else "the steps and choices; what happens appears as you play"
    lines = [f"<details><summary>Text version of this role-play ({what})</summary>\n"]
    for step in rp.steps:
        lines.append(f"**Step {step.id}.** {step.situation}\n")
        for v in step.variants:
            lines.append(f"*If {_when(v.when)}:* {v.situation}\n")
        for n, c in enumerate(presented_choices(rp, step)):
            letter = chr(ord("A") + n)
            only = f" *(offered only if {_when(c.when)})*" if c.when else ""
            if not practice:
                lines.append(f"- **{letter}.** {c.text}{only}")
                continue
            extra = "".join(f"  \n  *If {_when(r.when)}:* {r.text}" for r in c.reactions)
            leads = "".join(f"; if {_when(b.when)}: {b.next}" for b in c.branches)
            lines.append(f"- **{letter}.** {c.text}{only}  \n  *What happens:* {c.reaction}{extra}  \n"
                         f"  *Coaching:* {c.coaching}  \n  *Next:* {c.next}{leads}")
        lines.append("")
    if practice:
        for e in rp.endings:
            lines.append(f"**Ending {e.id}** (outcome: {e.outcome}). {e.debrief}\n")
    lines.append("</details>")
    return "\n".join(lines)


def _when_data(record, text_field: str, field: str) -> dict:
    return {"when": list(record.when), field: getattr(record, text_field)}


def roleplay_data(rp: RolePlay) -> dict:
    """What the learner's player receives: the play with each decision's choices in their
    shown order. A practice (``completion``) play carries each choice's quality and the best
    path, for the recap; a ``path``-scored play carries neither (its key is the hidden test's)."""
    practice = rp.scoring == "completion"

    def choice(c) -> dict:
        out = {"id": c.id, "text": c.text, "reaction": c.reaction, "coaching": c.coaching, "next": c.next}
        if practice:
            out["quality"] = c.quality
        if c.reactions:
            out["reactions"] = [_when_data(r, "text", "text") for r in c.reactions]
        if c.when:
            out["when"] = list(c.when)
        if c.sets:
            out["sets"] = list(c.sets)
        if c.branches:
            out["branches"] = [_when_data(b, "next", "next") for b in c.branches]
        return out

    def step(s) -> dict:
        out = {"id": s.id, "situation": s.situation}
        if s.variants:
            out["variants"] = [_when_data(v, "situation", "situation") for v in s.variants]
        out["choices"] = [choice(c) for c in presented_choices(rp, s)]
        return out

    data = {"id": rp.id, "title": rp.title, "setting": rp.setting, "scoring": rp.scoring,
            "steps": [step(s) for s in rp.steps],
            "endings": [{"id": e.id, "outcome": e.outcome, "debrief": e.debrief} for e in rp.endings]}
    if practice:
        data["best"] = winning_path(rp)[0]
    return data


def _roleplay_cells(module: Module, rp: RolePlay, n: int) -> list[NotebookNode]:
    data = roleplay_data(rp)
    path, ending = winning_path(rp)
    worth = f"{rp.points:g} point{'s' if rp.points != 1 else ''}"
    if rp.scoring == "completion":
        how = (f"*Practice: {worth} of completion credit for playing it to an ending, whatever you choose. "
               "Play again as often as you like.*")
        scored = f"score_roleplay({rp.id!r}, points={rp.points!r})"
        says = "completion credit once you have played to an ending"
    else:
        quality = {f"{s.id}.{c.id}": c.quality for s in rp.steps for c in s.choices}
        best = [f"{p['step']}.{p['choice']}" for p in path]
        how = (f"*Scored: {worth} from your choices. **Your first complete play is the one that counts**; "
               "later plays are practice. Which choices were best is in your feedback after grading.*")
        scored = (f"score_roleplay({rp.id!r}, points={rp.points!r}, scoring='path',\n"
                  f"               quality={_code(quality)},\n               best={best!r})")
        says = "points from the choices of your first complete play"
    intro = f"### Role-play {n}: {rp.title} ({worth})\n\n{how}\n\n{rp.setting}\n\n{_roleplay_text(rp)}"
    widget = (
        f"### BEGIN SOLUTION\nmodule.record_roleplay({rp.id!r}, {_code(path)}, {ending!r})\n### END SOLUTION\n"
        f"module.roleplay({_code(data)})"
    )
    test = (
        f"# Scored when your work is graded: {says}.\n"
        "### BEGIN HIDDEN TESTS\n"
        f"from curriculum.scoring import score_roleplay\n{scored}\n"
        "### END HIDDEN TESTS"
    )
    return [
        cells.text(f"{rp.id}-intro", intro),
        cells.answer_widget(f"{rp.id}-play", widget),
        cells.autograded_test(f"{rp.id}-done", test, rp.points),
    ]


def _question_cells(q: Question, n: int) -> list[NotebookNode]:
    kind = KINDS[q.kind]
    how = kind.instructions
    shown = presented_options(q)
    listed = "\n".join(f"- {o.text}" for o in shown)
    if kind.with_items:
        listed = "Items:\n\n" + "\n".join(f"- {i.text}" for i in q.items) + "\n\nChoices:\n\n" + listed
    intro = f"### Question {n} ({q.points:g} points)\n\n{q.prompt}\n\n{how}\n\n{listed}"
    key = kind.stored(q.answer)
    items = f"{_code(_options(q.items))}, " if kind.with_items else ""
    call = f"module.{kind.widget}({q.id!r}, {items}{_code(_options(shown))})"
    widget = f"### BEGIN SOLUTION\nmodule.record({q.id!r}, {key!r})\n### END SOLUTION\n{call}"
    # the explanation rides in the hidden test: printed with the score, seen only after grading
    why = f",\n               explanation={' '.join(q.explanation.split())!r}" if q.explanation else ""
    test = (
        "# Scored automatically when your work is graded. Nothing to do here.\n"
        "### BEGIN HIDDEN TESTS\n"
        f"from curriculum.scoring import score_question\n"
        f"score_question({q.id!r}, {q.kind!r}, {list(q.answer)!r}, {q.points!r}{why})\n"
        "### END HIDDEN TESTS"
    )
    return [
        cells.text(f"{q.id}-prompt", intro),
        cells.answer_widget(f"{q.id}-answer", widget),
        cells.autograded_test(f"{q.id}-test", test, q.points),
    ]


def _reflection_cells(r: Reflection, n: int) -> list[NotebookNode]:
    rubric = "\n".join(f"| {c.text} | {c.points:g} |" for c in r.rubric)
    intro = (
        f"### Reflection {n} ({r.points:g} points, graded by a trainer)\n\n{r.prompt}\n\n"
        f"**Rubric** (what the trainer looks for):\n\n| Criterion | Points |\n|---|---|\n{rubric}\n\n"
        "Write a few sentences in the box below; they are saved as you type."
    )
    graded = f"{r.id}-answer"
    return [
        cells.text(f"{r.id}-prompt", intro),
        cells.setup(f"{r.id}-box", f"module.reflection({graded!r})"),
        # what the trainer grades: filled from the box's words at submit (curriculum.reflections)
        cells.written_answer(graded, r.example_answer, r.points),
    ]


def build(module: Module, framework: Framework | None = None) -> NotebookNode:
    """Render one module as an nbgrader source notebook (pure and deterministic)."""
    framework = framework or load_framework()
    nb = new_notebook()
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
        "curriculum": {"module": module.id, "standard": module.standard, "points": module.points,
                       "completion_points": module.completion_points},
    }
    out: list[NotebookNode] = [
        cells.text(f"{module.id}-title", f"# {module.title}\n\n{module.introduction}"),
        cells.text(f"{module.id}-how", HOW_IT_WORKS),
        cells.setup(f"{module.id}-setup", f"from curriculum.learner import Module\nmodule = Module({module.id!r})"),
    ]
    if module.framework_overview:
        out += _overview_cells(module, framework)
    if module.standard:
        out += _standard_cells(module, framework)
    if module.roleplays:
        out.append(cells.text(f"{module.id}-roleplays", "## Role-plays\n\nEach role-play is a situation you may meet at a city counter, on the phone or in an inbox. After each choice the coaching tells you which behavior it shows or misses; at the end you see the path you took."))
        for n, rp in enumerate(module.roleplays, start=1):
            out += _roleplay_cells(module, rp, n)
    if module.questions:
        out.append(cells.text(f"{module.id}-questions", "## Scenario questions"))
        for n, q in enumerate(module.questions, start=1):
            out += _question_cells(q, n)
    if module.reflections:
        out.append(cells.text(f"{module.id}-reflections", "## Reflections"))
        for n, r in enumerate(module.reflections, start=1):
            out += _reflection_cells(r, n)
    if module.find_out:
        checklist = "\n".join(f"- {item}" for item in module.find_out)
        out.append(cells.text(f"{module.id}-find-out", "## Find out in your first two weeks\n\n"
                              "Some answers belong to the city and to your department, not to this course. Go through "
                              "this list with your supervisor and write down what you learn (it is not graded).\n\n"
                              + checklist))
    out.append(cells.text(f"{module.id}-progress-title", "## Your progress\n\nWhat you have answered so far in this module (press *Refresh my progress* to update it). Reflections are not listed: check that each reflection box holds your own words."))
    out.append(_progress_cell(module))
    out.append(cells.text(f"{module.id}-end", f"## You are done\n\nThis module is worth **{module.points:g} points**. Everything you clicked and typed is saved; submit the module from *My modules*."))
    nb.cells = out
    return nb


def notebook_bytes(module: Module) -> bytes:
    return (nbformat.writes(build(module)) + "\n").encode("utf-8")


def module_paths(modules_dir: Path = MODULES_DIR) -> list[Path]:
    return sorted(modules_dir.glob("*.yaml"))


def load_modules(modules_dir: Path = MODULES_DIR) -> list[Module]:
    """Every module, in order; any invalid file raises before anything is written."""
    return [load_module(p) for p in module_paths(modules_dir)]


def write_sources(modules: list[Module], source_root: Path) -> list[Path]:
    """Write ``source/NN-name/NN-name.ipynb`` for each module, replacing the folder whole.

    Each folder is assembled beside its final place, then swapped in, so a
    failure leaves the previous build untouched and no stray file (an
    ``answers.json`` from a test run, say) can ride along into a release.
    """
    rendered = {m.id: notebook_bytes(m) for m in modules}  # all render before any write
    source_root.mkdir(parents=True, exist_ok=True)
    written = []
    for module_id, data in rendered.items():
        final = source_root / module_id
        staging = Path(tempfile.mkdtemp(prefix=f".{module_id}-", dir=source_root))
        (staging / f"{module_id}.ipynb").write_bytes(data)
        os.chmod(staging, 0o755)
        swap_in(staging, final)
        written.append(final / f"{module_id}.ipynb")
    return written


def swap_in(staging: Path, final: Path) -> None:
    """Replace the folder ``final`` by ``staging`` (a sibling), by renames only: until
    the last step the previous folder is intact, and nothing half-copied is ever seen."""
    old = final.with_name(f".{final.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if final.exists():
        final.rename(old)
    staging.rename(final)
    shutil.rmtree(old, ignore_errors=True)
