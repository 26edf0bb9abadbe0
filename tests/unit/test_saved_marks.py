"""The module page's "saved" marks (issue 17 point 4): a status line carries ``data-hcwh-saved`` (and, for a
reflection, the words saved in ``data-hcwh-text``) only once answers.json holds the answer, so the page's
banner can say "your answers up to 10:42 are saved" and drop the words it kept. Real ipywidgets objects,
built outside a kernel: ``display`` is caught to reach them."""

from __future__ import annotations

import json
import time
from html.parser import HTMLParser

import pytest

from curriculum import learner
from curriculum.learner import Module

OPTIONS = [("a", "Ask first"), ("b", "Explain the rule")]


def marks(html: str) -> dict:
    """The attributes of the status paragraph in a status widget's HTML."""
    found = {}

    class P(HTMLParser):
        def handle_starttag(self, tag, attrs):
            if tag == "p":
                found.update(attrs)

    P().feed(html)
    return found


@pytest.fixture
def shown(monkeypatch):
    boxes = []
    monkeypatch.setattr(learner, "display", boxes.append)
    return boxes


def test_a_click_is_marked_saved_with_the_time_after_the_file_holds_it(tmp_path, shown):
    m = Module("m", str(tmp_path))
    m.single_choice("q", OPTIONS)
    _, radio, status = shown[0].children
    assert "data-hcwh-saved" not in marks(status.value)  # nothing saved yet
    before = int(time.time() * 1000)  # the mark is whole milliseconds, rounded down
    radio.value = "b"
    after = time.time() * 1000
    assert json.loads((tmp_path / "answers.json").read_text())["questions"] == {"q": "b"}
    assert before <= int(marks(status.value)["data-hcwh-saved"]) <= after


def test_a_reflection_is_marked_with_the_very_words_saved(tmp_path, shown):
    m = Module("m", str(tmp_path))
    m.reflection("r1-answer")  # no event loop here: each change is written at once
    box_area = shown[0]
    assert {"hcwh-reflection", "hcwh-r-r1-answer"} <= set(box_area._dom_classes)
    *_, box, status = box_area.children
    words = 'I said "no" <politely> & wrote\nit down.'
    box.value = words
    saved = marks(status.value)
    assert json.loads((tmp_path / "answers.json").read_text())["reflections"] == {"r1-answer": words}
    assert saved["data-hcwh-text"] == words and int(saved["data-hcwh-saved"]) > 0


def test_a_failed_write_is_never_marked_saved(tmp_path, shown, monkeypatch):
    m = Module("m", str(tmp_path))
    m.reflection("r1-answer")
    *_, box, status = shown[0].children

    def full(*_args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(m.store, "put", full)
    box.value = "words that could not be written"
    assert "Not saved: No space left on device" in status.value
    assert "data-hcwh-saved" not in marks(status.value)


def test_a_reopened_page_marks_what_was_saved_before_with_the_file_time(tmp_path, shown):
    (tmp_path / "answers.json").write_text(json.dumps({"questions": {"q": "a"}, "reflections": {"r1-answer": "hi"}}))
    stamp = (tmp_path / "answers.json").stat().st_mtime
    m = Module("m", str(tmp_path))
    m.single_choice("q", OPTIONS)
    m.reflection("r1-answer")
    assert int(marks(shown[0].children[2].value)["data-hcwh-saved"]) == int(stamp * 1000)
    assert marks(shown[1].children[-1].value)["data-hcwh-text"] == "hi"
