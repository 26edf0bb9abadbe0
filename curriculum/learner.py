"""What runs in a learner's notebook: answer widgets and the role-play player.

Learners click; they never write code. Each widget saves to ``answers.json`` as
it changes (see :mod:`curriculum.answers`), and shows what was saved before, so
a restarted kernel or a re-opened notebook picks up where the learner left off.

Accessibility: only standard ipywidgets controls (radio buttons, checkboxes,
drop-downs, buttons), each with a text label, all reachable with Tab and
operable with the keyboard; state is always said in words, never by colour.
"""

from __future__ import annotations

import asyncio
import html
import os
import time
from collections.abc import Sequence
from typing import Any

import ipywidgets as w
from IPython.display import display

from . import roleplay
from .answers import AnswerStore
from .tags import REFLECTION_CELL_TAG

FULL = w.Layout(width="100%", height="auto")
NOT_ANSWERED = "(not answered yet)"

# ipywidgets keeps each radio button, tick box and drop-down label on one line of
# fixed height: a long option overflows and overlaps the next one, and a long
# drop-down label squeezes its list to a sliver. Inside answer boxes (class
# ``hcwh-question``) let them wrap; labels and their ties to controls are unchanged. A control
# 100 % wide plus its margin would make the box scroll sideways by its margin: not past the box.
WRAP_CSS = """<style>
.hcwh-question .widget-radio-box label {
  display: flex; align-items: flex-start; gap: 0.5em;
  height: auto; line-height: 1.4; margin: 0.3em 0; white-space: normal;
}
.hcwh-question .widget-radio-box input { order: -1; flex: 0 0 auto; float: none; height: auto; margin: 0.2em 0 0 0; }
.hcwh-question .widget-checkbox { height: auto; }
.hcwh-question .widget-label-basic { display: flex; align-items: baseline; gap: 0.5em; height: auto; line-height: 1.4; }
.hcwh-question .widget-label-basic span { white-space: normal; overflow: visible; }
.hcwh-question .widget-dropdown { flex-wrap: wrap; height: auto; margin: 0.3em 0; }
.hcwh-question .widget-dropdown > label {
  width: auto !important; max-width: 100%; height: auto; line-height: 1.4;
  white-space: normal; overflow: visible; text-align: left;
}
.hcwh-question .widget-dropdown > select { flex: 1 1 20em; min-width: 0; max-width: 100%; }
.hcwh-question > .jupyter-widgets { max-width: calc(100% - 2 * var(--jp-widgets-margin, 2px)); }
</style>"""


# The module page (Voila) renders a reflection's graded cell too; its words come from the text
# box, so that cell is hidden there (nbconvert's templates add ``celltag_<tag>``).
HIDE_REFLECTION_CELL_CSS = f"<style>.celltag_{REFLECTION_CELL_TAG} {{ display: none; }}</style>"
# How long typing must pause before a reflection is written to answers.json.
REFLECTION_SAVE_DELAY_S = 0.8


# Voilà sets this in the kernel's environment: the module page, whose own script
# (autograde/learner/static/page.js) moves the focus to each role-play reaction and ending.
ON_MODULE_PAGE = "VOILA_BASE_URL" in os.environ


def _status_html(text: str, saved_at: float | None = None, words: str | None = None) -> str:
    """A status line. ``saved_at`` (seconds since the epoch): the save it reports is confirmed, written
    to answers.json; the module page reads it for "your answers up to 10:42 are saved"
    (``data-hcwh-saved``, in ms) and, with a reflection's saved ``words``, forgets the copy it kept."""
    data = "" if saved_at is None else f" data-hcwh-saved='{int(saved_at * 1000)}'"
    if words is not None:
        data += f" data-hcwh-text='{html.escape(words, quote=True)}'"
    return f"<p role='status' aria-live='polite'{data}><em>{html.escape(text)}</em></p>"


def _status(text: str) -> w.HTML:
    """A status line's widget (its value replaced as the answer is saved or reloaded)."""
    return w.HTML(_status_html(text))


def _file_time(store: AnswerStore) -> float | None:
    """When the answers file was last written (what a status line shown at page load reports), or None."""
    try:
        return store.path.stat().st_mtime
    except OSError:
        return None


def _answer_box(children: list) -> w.VBox:
    """A question's widgets, with the style that lets long labels wrap (hidden: it only carries CSS)."""
    style = w.HTML(WRAP_CSS, layout=w.Layout(display="none"))
    return w.VBox([style, *children]).add_class("hcwh-question")


def _announce(inner_html: str) -> str:
    """A role-play reaction or ending: a live region the module page moves the focus to as it appears
    (autograde/learner/static/page.js), so that a screen reader reads it before the next button."""
    return f"<div class='hcwh-announce' role='status' tabindex='-1'>{inner_html}</div>"


def _focus_once_shown(widget: w.DOMWidget) -> None:
    """Give ``widget`` the keyboard focus as soon as the browser shows it.

    A pressed role-play button is replaced by the next screen's controls; left
    alone, the focus falls back to the page and the next Tab can skip past the new
    controls. The browser counts the views it shows in ``_view_count``, so the
    focus request goes out only once the view exists. Headless runs (autograde)
    show nothing, and nothing happens there."""
    widget._view_count = 0

    def shown(change: dict) -> None:
        if change["new"]:
            widget.unobserve(shown, names="_view_count")
            widget.focus()

    widget.observe(shown, names="_view_count")


def _close(widgets) -> None:
    """Close widgets no longer shown (and every widget inside them): the kernel forgets them and
    stops sending their state to each page that connects."""
    for widget in widgets:
        _close(getattr(widget, "children", ()))
        for part in (getattr(widget, "layout", None), getattr(widget, "style", None)):
            if isinstance(part, w.Widget) and part is not FULL:  # FULL is shared by many widgets
                part.close()
        widget.close()


def _replace(box: w.Box, children: list) -> None:
    """Show ``children`` in ``box`` in place of what it showed; those are closed."""
    old = [c for c in box.children if c not in children]
    box.children = children
    _close(old)


def _option(value: Any, texts: dict[str, str]) -> str | None:
    """A saved value if it is one of the options, else None. A damaged or hand-edited
    answers.json can hold anything (a list, a number, null): the widget then shows the
    question unanswered instead of raising."""
    return value if isinstance(value, str) and value in texts else None


def _records(value: Any) -> list[dict]:
    """The dict entries of a saved list (anything else in a damaged file is ignored)."""
    return [x for x in value if isinstance(x, dict)] if isinstance(value, list) else []


# Every Module built in this kernel, for reload_all().
_MODULES: list["Module"] = []


def reload_all() -> None:
    """Show in every widget of this kernel what answers.json holds now, saving nothing.

    A module page prepared ahead (autograde/learner/prepared.py) ran its notebook before the
    learner opened it; when they open it, the server runs this in its kernel first, so the page
    shows every answer saved since (in another page, or a reloaded one). Raises RuntimeError in a
    kernel that has built no module (a prepared kernel that died and was started again): its page
    would show widgets that no longer exist."""
    if not _MODULES:
        raise RuntimeError("no module page was built in this kernel")
    for module in _MODULES:
        module.reload()


class Module:
    """One module's widgets, sharing one answer store.

    Each item shown registers its ``load``: the one place its widgets are set from answers.json,
    at first and on :meth:`reload`. While a load runs, the widgets' handlers save nothing."""

    def __init__(self, module_id: str, folder: str = "."):
        self.module_id = module_id
        self.store = AnswerStore(folder)
        self._loads: list = []
        self.loading = False
        _MODULES.append(self)

    def _show(self, load) -> None:
        """Register ``load`` and run it: the item's widgets as answers.json has them."""
        self._loads.append(load)
        self._quietly(load)

    def _quietly(self, load) -> None:
        self.loading = True
        try:
            load()
        finally:
            self.loading = False

    def reload(self) -> None:
        """Every item's widgets from answers.json as it is now; nothing is saved."""
        for load in self._loads:
            self._quietly(load)

    # -- used by the instructor's solution blocks (never present in release) --
    def record(self, question_id: str, value: Any) -> None:
        self.store.put("questions", question_id, value)

    def record_roleplay(self, roleplay_id: str, path: list[dict], ending: str) -> None:
        self.store.put("roleplays", roleplay_id, {"current": [], "completed": [{"ending": ending, "path": list(path)}]})

    # -- questions ------------------------------------------------------------
    def _saved(self, question_id: str) -> Any:
        return self.store.get("questions", question_id)

    def _saver(self, question_id: str, status: w.HTML, describe) -> Any:
        def save(value: Any) -> None:
            if self.loading:  # the widget set from answers.json, not a learner's click
                return
            self.record(question_id, value)
            status.value = _status_html(f"Saved: {describe(value)}", saved_at=time.time())

        return save

    def single_choice(self, question_id: str, options: Sequence[tuple[str, str]]) -> None:
        """options: (id, text) pairs. Saves the chosen option id."""
        texts = dict(options)
        radio = w.RadioButtons(
            options=[(text, oid) for oid, text in options],
            value=None,
            description="Your answer:",
            layout=FULL,
            style={"description_width": "initial"},
        )
        status = _status(NOT_ANSWERED)
        save = self._saver(question_id, status, lambda v: texts.get(v, NOT_ANSWERED))
        radio.observe(lambda ch: save(ch["new"]), names="value")

        def load() -> None:
            saved = _option(self._saved(question_id), texts)
            radio.value = saved
            status.value = (_status_html(f"Saved: {texts[saved]}", _file_time(self.store)) if saved is not None
                            else _status_html(NOT_ANSWERED))

        self._show(load)
        display(_answer_box([radio, status]))

    def multiple_choice(self, question_id: str, options: Sequence[tuple[str, str]]) -> None:
        """Tick every option that applies. Saves the list of ticked option ids."""
        boxes = [w.Checkbox(value=False, description=text, indent=False, layout=FULL) for _, text in options]
        texts = dict(options)
        status = _status(NOT_ANSWERED)
        save = self._saver(question_id, status, lambda v: "; ".join(texts[o] for o in v) or "nothing ticked")

        def changed(_):
            save([oid for (oid, _), box in zip(options, boxes) if box.value])

        for box in boxes:
            box.observe(changed, names="value")

        def load() -> None:
            saved = self._saved(question_id)
            saved = {x for x in saved if isinstance(x, str)} if isinstance(saved, list) else set()
            for (oid, _), box in zip(options, boxes):
                box.value = oid in saved
            status.value = (_status_html("Saved: " + "; ".join(texts[o] for o, _ in options if o in saved),
                                         _file_time(self.store))
                            if saved else _status_html(NOT_ANSWERED))

        self._show(load)
        display(_answer_box([w.HTML("<p>Tick every answer that applies:</p>"), *boxes, status]))

    def _picks(self, question_id: str, labels: Sequence[str], options: Sequence[tuple[str, str]], prompt: str) -> None:
        """One labelled drop-down per row; saves the list of picked option ids."""
        texts = dict(options)
        choices = [("(choose)", None)] + [(text, oid) for oid, text in options]
        drops = [
            w.Dropdown(
                options=choices,
                value=None,
                description=label,
                layout=FULL,
                style={"description_width": "initial"},
            )
            for label in labels
        ]
        status = _status(NOT_ANSWERED)
        save = self._saver(
            question_id, status, lambda v: "; ".join(f"{lab} {texts.get(x, '(none)')}" for lab, x in zip(labels, v))
        )

        def changed(_):
            save([d.value for d in drops])

        for d in drops:
            d.observe(changed, names="value")

        def load() -> None:
            saved = self._saved(question_id)
            saved = ([_option(x, texts) for x in saved] if isinstance(saved, list) and len(saved) == len(labels)
                     else [None] * len(labels))
            for d, s in zip(drops, saved):
                d.value = s
            status.value = (_status_html("Saved.", _file_time(self.store)) if any(s is not None for s in saved)
                            else _status_html(NOT_ANSWERED))

        self._show(load)
        display(_answer_box([w.HTML(f"<p>{prompt}</p>"), *drops, status]))

    def ordering(self, question_id: str, options: Sequence[tuple[str, str]]) -> None:
        labels = [f"Step {n}:" for n in range(1, len(options) + 1)]
        self._picks(question_id, labels, options, "Choose what comes first, second, and so on:")

    def matching(self, question_id: str, items: Sequence[tuple[str, str]], options: Sequence[tuple[str, str]]) -> None:
        labels = [f"{text}:" for _, text in items]
        self._picks(question_id, labels, options, "For each item, choose the best match:")

    # -- reflections ------------------------------------------------------------
    def record_reflection(self, grade_id: str, text: str) -> None:
        self.store.put("reflections", grade_id, text)

    def reflection(self, grade_id: str) -> None:
        """A text box for the reflection graded in cell ``grade_id``, saved as the learner types.

        Each change restarts a short timer; when typing pauses the text is written to
        answers.json, and only once the write has returned does the line under the box say
        "Saved". Headless (autograde) nothing is typed and nothing is written."""
        box = w.Textarea(value="", description="Your reflection:", rows=7, continuous_update=True,
                         layout=FULL, style={"description_width": "initial"})
        status = _status("Nothing written yet.")
        pending: list[asyncio.TimerHandle] = []

        def cancel() -> None:
            for handle in pending:
                handle.cancel()
            pending.clear()

        def write() -> None:
            pending.clear()
            text = box.value
            try:
                self.record_reflection(grade_id, text)
            except OSError as exc:
                status.value = _status_html(f"Not saved: {exc.strerror or exc}. Your text is still in the box; "
                                            "keep the page open and try again.")
                return
            words, now = len(text.split()), time.time()
            status.value = _status_html(f"Saved at {time.strftime('%H:%M:%S', time.localtime(now))} "
                                        f"({words} word{'s' if words != 1 else ''}).", saved_at=now, words=text)

        def changed(_change: dict) -> None:
            if self.loading:  # the box set from answers.json, not typed
                return
            cancel()
            status.value = _status_html("Typing: not saved yet.")
            try:
                pending.append(asyncio.get_running_loop().call_later(REFLECTION_SAVE_DELAY_S, write))
            except RuntimeError:  # no event loop (a plain Python run): save at once
                write()

        box.observe(changed, names="value")

        def load() -> None:
            cancel()
            saved = self.store.get("reflections", grade_id)
            saved = saved if isinstance(saved, str) else ""
            box.value = saved
            status.value = (_status_html("Saved.", _file_time(self.store), saved) if saved
                            else _status_html("Nothing written yet."))

        self._show(load)
        hide = w.HTML(HIDE_REFLECTION_CELL_CSS, layout=w.Layout(display="none"))
        # the module page keeps what is typed in the browser until this box's save is confirmed
        display(_answer_box([hide, box, status]).add_class("hcwh-reflection").add_class(f"hcwh-r-{grade_id}"))

    # -- progress ---------------------------------------------------------------
    def progress_text(self, items: Sequence[tuple[str, str]]) -> str:
        """Plain text: one line per role-play or question, answered or not."""
        data = self.store.load()
        lines = []
        for item_id, label in items:
            if item_id in data["roleplays"]:
                done = bool((data["roleplays"][item_id] or {}).get("completed"))
                state = "played to an ending" if done else "started, not finished"
            elif item_id in data["questions"]:
                state = "answered"
            else:
                state = "not yet" if not label.startswith("Role-play") else "not started"
            lines.append(f"{label}: {state}")
        return "\n".join(lines)

    def progress(self, items: Sequence[tuple[str, str]]) -> None:
        """A summary of what is answered so far, with a Refresh button."""
        text = w.HTML()
        refresh = w.Button(description="Refresh my progress", layout=w.Layout(width="auto"))

        def update(_=None):
            rows = "".join(f"<li>{html.escape(line)}</li>" for line in self.progress_text(items).splitlines())
            text.value = f"<ul>{rows}</ul>"

        refresh.on_click(update)
        self._show(update)
        display(w.VBox([text, refresh]))

    # -- role-plays -----------------------------------------------------------
    def roleplay(self, data: dict) -> None:
        player = RolePlayer(data, self.store)
        self._loads.append(player.load)
        display(player.box)


QUALITY_WORDS = {"best": "a best choice", "acceptable": "acceptable", "poor": "a poor choice"}


class RolePlayer:
    """A branching role-play: situation, choices, consequence and coaching, ending and recap.

    ``data`` is the role-play as the builder writes it into the notebook
    (``curriculum.builder.roleplay_data``): each decision's choices in their shown order, with
    the conditions of :mod:`curriculum.roleplay`; a practice (``completion``) play also carries
    each choice's quality and the ``best`` path. The flags earlier choices set are the state:
    they change later situations, reactions, the choices offered and where a choice leads.
    """

    def __init__(self, data: dict, store: AnswerStore):
        self.data = data
        self.store = store
        self.steps = {s["id"]: s for s in data["steps"]}
        self.endings = {e["id"]: e for e in data["endings"]}
        self.scored = data.get("scoring") == "path"
        self.box = w.VBox(layout=FULL)
        self.load()

    def load(self) -> None:
        """The play as answers.json has it: its finished plays, and the current one resumed."""
        record = self.store.get("roleplays", self.data["id"]) or {}
        record = record if isinstance(record, dict) else {}  # a damaged answers.json: start afresh
        self.completed: list[dict] = _records(record.get("completed"))
        self.path: list[dict] = _records(record.get("current"))
        self._resume()
        self.show_step()

    def _resume(self) -> None:
        """Continue a saved play-through from where it stopped (or afresh, if the saved path
        is not one this play allows)."""
        start = (self.data["steps"][0]["id"], frozenset(), [])
        at, flags, _ = roleplay.replay(self.data, self.path) or start
        if at not in self.steps:  # a saved path that already reached an ending
            at, flags, _ = start
        if (at, flags) == start[:2]:
            self.path = []
        self.step_id, self.flags = at, flags

    def _save(self) -> None:
        self.store.put("roleplays", self.data["id"], {"current": self.path, "completed": self.completed})

    def _stakes(self) -> str:
        if not self.scored:
            return "Practice: playing to an ending earns its completion credit; replay as often as you like."
        if not self.completed:
            return "Scored: this first complete play is the one that counts. Later plays are practice."
        return "Practice play: your scored play is done, so this one does not change your score."

    def _header(self) -> w.HTML:
        done = f" You have finished this role-play {len(self.completed)} time(s)." if self.completed else ""
        return w.HTML(f"<h4>{html.escape(self.data['title'])}</h4><p><em>{html.escape(self._stakes())}</em></p>"
                      f"<p><em>Decision {len(self.path) + 1}.{done}</em></p>")

    def _offered(self) -> list[tuple[int, dict]]:
        return roleplay.offered(self.steps[self.step_id], self.flags)

    def show_step(self, focus: bool = False) -> None:
        """The current decision; ``focus``: move the keyboard focus to its first choice."""
        step = self.steps[self.step_id]
        buttons = []
        for shown, (n, choice) in enumerate(self._offered()):
            letter = chr(ord("A") + shown)
            button = w.Button(
                description=f"Choose {letter}",
                tooltip=choice["text"],
                layout=w.Layout(width="auto", flex="0 0 auto"),
            )
            button.on_click(lambda _b, n=n, letter=letter: self.choose(n, letter))
            buttons.append(w.HBox([button, w.HTML(f"<p><strong>{letter}.</strong> {html.escape(choice['text'])}</p>")]))
        if focus and buttons:
            _focus_once_shown(buttons[0].children[0])
        text = roleplay.situation(step, self.flags)
        _replace(self.box, [self._header(), w.HTML(f"<p>{html.escape(text)}</p>"), *buttons])

    def choose(self, n: int, letter: str | None = None) -> None:
        """Take choice ``n`` (its place in the step's data) of the current decision."""
        step = self.steps[self.step_id]
        choice = step["choices"][n]
        letter = letter or chr(ord("A") + [m for m, _ in self._offered()].index(n))
        taken = {"step": self.step_id, "choice": roleplay.choice_id(choice, n)}
        if choice.get("quality"):
            taken["quality"] = choice["quality"]
        self.flags, reaction, self.step_id = roleplay.take(step, n, self.flags)
        self.path.append(taken)
        ending = self.endings.get(self.step_id)
        if ending is not None:
            self.completed.append({"ending": ending["id"], "path": self.path})
            self.path = []
        self._save()
        go_on = w.Button(description="See the ending" if ending else "Continue", layout=w.Layout(width="auto"))
        go_on.on_click(lambda _b: self.show_ending(ending) if ending else self.show_step(focus=True))
        if not ON_MODULE_PAGE:
            _focus_once_shown(go_on)
        _replace(self.box, [
            self._header(),
            w.HTML(_announce(
                f"<p>You chose <strong>{letter}</strong>: {html.escape(choice['text'])}</p>"
                f"<p><strong>What happens:</strong> {html.escape(reaction)}</p>"
                f"<p><strong>Coaching:</strong> {html.escape(choice['coaching'])}</p>"
            )),
            go_on,
        ])

    def _choice_text(self, taken: dict) -> str:
        step = self.steps.get(taken.get("step"), {"choices": []})
        for n, c in enumerate(step["choices"]):
            if roleplay.choice_id(c, n) == taken.get("choice"):
                return c["text"]
        return str(taken.get("choice"))

    def recap(self, play: dict) -> list[str]:
        """Plain-text lines: the learner's path of ``play``, each choice with its quality when the
        play is practice, then the best path (practice plays only: a scored play's best path is
        in the feedback, after grading)."""
        lines = ["Your path:"]
        for k, taken in enumerate(play.get("path") or [], start=1):
            quality = QUALITY_WORDS.get(taken.get("quality"))
            lines.append(f"{k}. {self._choice_text(taken)}" + (f" ({quality})" if quality else ""))
        best = self.data.get("best")
        if not self.scored and isinstance(best, list):
            if [(b.get("step"), b.get("choice")) for b in best] == [(t.get("step"), t.get("choice")) for t in play.get("path") or []]:
                lines.append("You took the best path.")
            else:
                lines.append("The best path:")
                lines += [f"{k}. {self._choice_text(b)}" for k, b in enumerate(best, start=1)]
        return lines

    def show_ending(self, ending: dict) -> None:
        again = w.Button(description="Play again from the start", layout=w.Layout(width="auto"))
        again.on_click(lambda _b: self.restart())
        if not ON_MODULE_PAGE:
            _focus_once_shown(again)
        lines = self.recap(self.completed[-1]) if self.completed else []
        items, listing = [], []
        for line in lines:
            if line[:1].isdigit():
                listing.append(f"<li>{html.escape(line.split('. ', 1)[1])}</li>")
            else:
                if listing:
                    items.append(f"<ol>{''.join(listing)}</ol>")
                    listing = []
                items.append(f"<p><strong>{html.escape(line)}</strong></p>")
        if listing:
            items.append(f"<ol>{''.join(listing)}</ol>")
        if self.scored:
            note = ("This was your scored play: your score and the best path are in your feedback after grading. "
                    if len(self.completed) == 1 else "This was a practice play; your first play is the one scored. ")
        else:
            note = ""
        _replace(self.box, [
            w.HTML(f"<h4>{html.escape(self.data['title'])}: ending</h4>"),
            w.HTML(_announce(
                f"<p><strong>Outcome: {html.escape(ending['outcome'])}.</strong></p>"
                f"<p><strong>Debrief:</strong> {html.escape(ending['debrief'])}</p>"
                + "".join(items)
                + f"<p><em>{html.escape(note)}Your path is saved. Play again to see where other choices lead.</em></p>"
            )),
            again,
        ])

    def restart(self) -> None:
        self.path = []
        self.step_id, self.flags = self.data["steps"][0]["id"], frozenset()
        self._save()
        self.show_step(focus=True)
