"""A page's widgets reloaded from answers.json (curriculum.learner.reload_all), as a module page
prepared ahead does when the learner opens it (autograde/learner/prepared.py): every kind shows
what was saved since it was built, and the reload itself writes nothing.
Real ipywidgets objects, built outside a kernel; ``display`` is caught to reach them."""

from __future__ import annotations

import json
import os

import pytest

import curriculum.learner as learner
from curriculum.answers import AnswerStore

OPTIONS = [("a", "Ask first"), ("b", "Explain the rule"), ("c", "Hang up")]
ITEMS = [("i1", "Item 1"), ("i2", "Item 2")]
PLAY = {"id": "rp", "title": "T", "setting": "S",
        "steps": [{"id": "s1", "situation": "First decision", "choices": [
            {"text": "go", "reaction": "r", "coaching": "c", "next": "s2"},
            {"text": "stay", "reaction": "r", "coaching": "c", "next": "s2"}]},
            {"id": "s2", "situation": "Second decision", "choices": [
                {"text": "end it", "reaction": "r", "coaching": "c", "next": "end"}]}],
        "endings": [{"id": "end", "outcome": "resolved", "debrief": "d"}]}


@pytest.fixture
def page(tmp_path, monkeypatch):
    """A module page built on an empty answers file: its Module and what it displayed, by item."""
    shown: list = []
    monkeypatch.setattr(learner, "display", shown.append)
    monkeypatch.setattr(learner, "_MODULES", [])
    m = learner.Module("m", str(tmp_path))
    m.single_choice("one", OPTIONS)
    m.multiple_choice("many", OPTIONS)
    m.ordering("order", OPTIONS)
    m.matching("match", ITEMS, OPTIONS)
    m.reflection("refl")
    m.roleplay(PLAY)
    m.progress([("one", "Question 1"), ("rp", "Role-play 1: T")])
    names = ["one", "many", "order", "match", "refl", "rp", "progress"]
    return m, dict(zip(names, shown)), tmp_path / "answers.json"


def controls(box, kind):
    return [c for c in box.children if isinstance(c, kind)]


def status_text(box) -> str:
    return box.children[-1].value


def saved_elsewhere(folder, **sections) -> None:
    """What another page of the same module saved meanwhile (its own store, its own writes)."""
    store = AnswerStore(folder)
    for section, values in sections.items():
        for key, value in values.items():
            store.put(section, key, value)


def test_reload_shows_every_kind_as_saved_since_and_writes_nothing(page):
    m, shown, path = page
    assert not path.exists()  # built on nothing saved, nothing was written
    assert controls(shown["one"], learner.w.RadioButtons)[0].value is None
    saved_elsewhere(path.parent,
                    questions={"one": "b", "many": ["a", "c"], "order": ["c", "a", "b"], "match": ["b", None]},
                    reflections={"refl": "I would listen first."},
                    roleplays={"rp": {"current": [{"step": "s1", "choice": "b"}], "completed": []}})
    before = (path.read_bytes(), os.stat(path).st_mtime_ns)

    learner.reload_all()

    assert controls(shown["one"], learner.w.RadioButtons)[0].value == "b"
    assert "Saved: Explain the rule" in status_text(shown["one"])
    assert [b.value for b in controls(shown["many"], learner.w.Checkbox)] == [True, False, True]
    assert "Saved: Ask first; Hang up" in status_text(shown["many"])
    assert [d.value for d in controls(shown["order"], learner.w.Dropdown)] == ["c", "a", "b"]
    assert [d.value for d in controls(shown["match"], learner.w.Dropdown)] == ["b", None]
    assert controls(shown["refl"], learner.w.Textarea)[0].value == "I would listen first."
    assert "data-hcwh-text='I would listen first.'" in status_text(shown["refl"])
    # the role-play resumes at its second decision (one choice taken), not at the first
    texts = " ".join(c.value for c in shown["rp"].children if isinstance(c, learner.w.HTML))
    assert "Second decision" in texts and "Decision 2." in texts
    progress = shown["progress"].children[0].value
    assert "Question 1: answered" in progress and "Role-play 1: T: started, not finished" in progress
    assert (path.read_bytes(), os.stat(path).st_mtime_ns) == before  # the reload saved nothing


def test_a_click_after_a_reload_is_saved_with_what_the_reload_brought(page):
    m, shown, path = page
    saved_elsewhere(path.parent, questions={"one": "b"}, reflections={"refl": "Kept."})
    learner.reload_all()
    controls(shown["many"], learner.w.Checkbox)[1].value = True  # a learner's click
    data = json.loads(path.read_text())
    assert data["questions"] == {"one": "b", "many": ["b"]}
    assert data["reflections"] == {"refl": "Kept."}
    assert "Saved: Explain the rule" in status_text(shown["many"])


def test_a_reload_to_nothing_saved_clears_what_was_shown(page):
    m, shown, path = page
    controls(shown["one"], learner.w.RadioButtons)[0].value = "a"
    assert json.loads(path.read_text())["questions"] == {"one": "a"}
    path.unlink()  # answers.json removed (a trainer reset the module)
    learner.reload_all()
    assert controls(shown["one"], learner.w.RadioButtons)[0].value is None
    assert "not answered yet" in status_text(shown["one"])
    assert not path.exists()


def test_reload_all_in_a_kernel_that_built_no_page_refuses(monkeypatch):
    """A prepared kernel that died and was started again under the same id has no widgets: the server
    must hear so and run the page afresh (autograde/learner/prepared.py), not serve the old page."""
    monkeypatch.setattr(learner, "_MODULES", [])
    with pytest.raises(RuntimeError, match="no module page"):
        learner.reload_all()


def test_reloads_and_plays_leave_no_widgets_behind(page):
    """A role-play's screens replace each other: the widgets of a screen no longer shown are closed,
    so the kernel does not send their state to every page that connects (a prepared page is reloaded
    once; a long play replaces its screen at every click)."""
    from ipywidgets.widgets.widget import _instances

    m, shown, path = page
    live = len(_instances)
    learner.reload_all()
    learner.reload_all()
    assert len(_instances) == live
    player = next(load.__self__ for load in m._loads if isinstance(getattr(load, "__self__", None), learner.RolePlayer))
    player.choose(0)  # the reaction screen, then the second decision (one choice where the first had two)
    player.show_step()
    assert len(_instances) < live
    player.restart()  # the first decision's screen again: as many widgets as when it was first shown
    assert len(_instances) == live
