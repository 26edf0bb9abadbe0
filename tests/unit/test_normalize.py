"""preflight.normalize, make_safe and literal_markdown on the real released and source
notebooks of 01-authenticity: only the reflections' words come from the learner.

No nbgrader run: plain functions on notebook JSON (nbconvert renders one cell to HTML)."""

from __future__ import annotations

import copy
import json
import re

import pytest

from autograde.grading import preflight
from tests.conftest import ROOT

MODULE = "01-authenticity"
RELEASE = ROOT / "release" / MODULE / f"{MODULE}.ipynb"
SOURCE = ROOT / "source" / MODULE / f"{MODULE}.ipynb"


@pytest.fixture
def release() -> dict:
    return json.loads(RELEASE.read_text(encoding="utf-8"))


def cell(nb: dict, gid: str) -> dict:
    (found,) = [c for c in nb["cells"] if preflight.grade_id(c) == gid]
    return found


def src(c: dict) -> str:
    return preflight.source_text(c)


def code_sources(nb: dict) -> list[str]:
    return [src(c) for c in nb["cells"] if c["cell_type"] == "code"]


def test_code_a_learner_typed_is_replaced_by_the_modules_own_and_noted(release):
    sub = copy.deepcopy(release)
    cell(sub, "auth-q-casual-caller-answer")["source"] = "import curriculum.scoring as s\ns.score_question = lambda *a, **k: 3.0"
    cell(sub, "auth-q-casual-caller-test")["source"] = "3.0"  # a locked test edited too
    out, ch = preflight.normalize(sub, release)
    assert code_sources(out) == code_sources(release)  # every code cell exactly as released
    assert ch.code_changed == ["auth-q-casual-caller-answer"]
    assert ch.locked_edited == ["auth-q-casual-caller-test"]
    notes = "\n".join(ch.notes(preflight.cell_kinds(release)))
    assert "answer cell(s) hold code the learner typed (learners never need to): auth-q-casual-caller-answer (an answer); " \
           "not run: the module's own code ran" in notes


def test_a_reflection_keeps_the_learners_words(release):
    sub = copy.deepcopy(release)
    cell(sub, "auth-r-balance-answer")["source"] = "I listen first, then I explain."
    out, ch = preflight.normalize(sub, release)
    assert src(cell(out, "auth-r-balance-answer")) == "I listen first, then I explain."
    assert ch.notes(preflight.cell_kinds(release)) == []


def test_the_instructors_source_notebook_runs_none_of_its_solution_code(release):
    source = json.loads(SOURCE.read_text(encoding="utf-8"))
    assert any("### BEGIN SOLUTION" in s for s in code_sources(source))  # it holds the keys' play-throughs
    out, ch = preflight.normalize(source, release)
    assert code_sources(out) == code_sources(release)
    assert not any("BEGIN SOLUTION" in s or "record_" in s for s in code_sources(out))
    # 3 role-play and 5 question answer cells differ from the release: all noted, none run
    assert len(ch.code_changed) == 8


def test_added_cells_are_dropped_with_a_note(release):
    sub = copy.deepcopy(release)
    sub["cells"].insert(3, {"cell_type": "code", "metadata": {}, "source": "print('mine')", "outputs": [],
                            "execution_count": None})
    sub["cells"].append({"cell_type": "markdown", "metadata": {}, "source": "notes to self"})
    out, ch = preflight.normalize(sub, release)
    assert len(out["cells"]) == len(release["cells"])
    assert "print('mine')" not in json.dumps(out) and "notes to self" not in json.dumps(out)
    assert "2 cell(s) added by the learner: dropped, not run, not graded" in ch.notes({})


def test_keep_typed_code_is_only_a_test_switch_and_says_so(release):
    sub = copy.deepcopy(release)
    cell(sub, "auth-q-casual-caller-answer")["source"] = "x = 1"
    out, ch = preflight.normalize(sub, release, keep_typed_code=True)
    assert src(cell(out, "auth-q-casual-caller-answer")) == "x = 1"
    assert "RUN, as run_typed_code asks" in "\n".join(ch.notes({}))


# -- literal reflections ---------------------------------------------------------------------------

def test_literal_markdown_fence_is_longer_than_any_backtick_run():
    assert preflight.literal_markdown("plain") == "```\nplain\n```"
    text = "a ```` b ``` c `"
    out = preflight.literal_markdown(text)
    assert out == "`````\na ```` b ``` c `\n`````"  # longest run 4, so a fence of 5
    assert preflight.literal_markdown("one\r\ntwo\n\n") == "```\none\ntwo\n```"


HOSTILE = ("See https://evil.example/login and <https://evil2.example> and www.evil3.example "
           "$\\href{https://evil4.example}{click}$ <b>bold</b> [x](https://evil5.example) "
           "![img](https://evil6.example/a.png) ``` `````")


def render(markdown: str) -> str:
    """What nbconvert's HTML (feedback, formgrader) makes of one Markdown cell."""
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(markdown)])
    body, _ = HTMLExporter(template_name="lab").from_notebook_node(nb)
    (inner,) = re.findall(r'<div class="jp-RenderedHTMLCommon jp-RenderedMarkdown[^"]*"[^>]*>(.*?)</div>', body, re.S)
    return inner


def test_nbconvert_renders_the_literal_reflection_with_no_link_and_no_markup():
    raw = render(HOSTILE)
    assert "<a href" in raw  # plain Markdown would autolink: the check can fail
    html = render(preflight.literal_markdown(HOSTILE))
    assert "<a " not in html and "<img" not in html and "<b>" not in html
    assert "<pre" in html and "<code" in html  # MathJax skips pre and code: $\href$ stays text
    assert "$\\href{https://evil4.example}{click}$" in html
    assert "&lt;b&gt;bold&lt;/b&gt;" in html


def _graded_reflection(release: dict, text: str) -> dict:
    nb = copy.deepcopy(release)
    cell(nb, "auth-r-balance-answer")["source"] = text
    return nb


def test_make_safe_makes_a_written_reflection_literal_and_leaves_an_untouched_one(release):
    nb = _graded_reflection(release, HOSTILE)
    preflight.make_safe(nb)
    assert src(cell(nb, "auth-r-balance-answer")) == preflight.literal_markdown(HOSTILE)
    # untouched reflections keep the module's stub and its checksum: nbgrader scores them "no response"
    assert src(cell(nb, "auth-r-values-answer")) == src(cell(release, "auth-r-values-answer"))
    assert preflight._unchanged(cell(nb, "auth-r-values-answer"))
    assert not preflight._unchanged(cell(nb, "auth-r-balance-answer"))


def test_make_safe_keeps_only_plain_text_and_well_formed_widget_references():
    view = {"model_id": "0" * 32, "version_major": 2, "version_minor": 0}
    nb = {"metadata": {"widgets": {"state": {}}}, "cells": [
        {"cell_type": "code", "metadata": {}, "source": "", "outputs": [
            {"output_type": "display_data", "metadata": {"x": 1},
             "data": {"text/html": "<script>x</script>", "text/plain": "hi",
                      "application/vnd.jupyter.widget-view+json": view}},
            {"output_type": "execute_result", "metadata": {}, "execution_count": 1,
             "data": {"text/plain": "1.0", "application/vnd.jupyter.widget-view+json": {"model_id": "</script>"}}}]},
        {"cell_type": "raw", "metadata": {}, "source": "<script>raw</script>"}]}
    removed = preflight.make_safe(nb)
    outs = nb["cells"][0]["outputs"]
    assert outs[0]["data"] == {"text/plain": "hi", "application/vnd.jupyter.widget-view+json": view}
    assert outs[0]["metadata"] == {}
    assert outs[1]["data"] == {"text/plain": "1.0"}
    assert nb["cells"][1]["source"] == ""
    assert "widgets" not in nb["metadata"]
    assert removed == 1 + 1 + 1 + 1  # widget state, text/html, the forged reference, the raw cell
