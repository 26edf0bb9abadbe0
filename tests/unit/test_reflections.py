"""Reflections at submit (curriculum.reflections): the page's words go into the graded cells.

The input is the released notebook of 01-authenticity as a learner fetches it, copied into a
temporary folder with an ``answers.json`` written by hand."""

from __future__ import annotations

import io
import json
import shutil
import tarfile

import nbformat
import pytest

from autograde.exchange.archive import pack
from curriculum.cells import REFLECTION_STUB
from curriculum.reflections import EDITED_NOTE, ReflectionsRefused, fill_folder, filled_notebooks
from tests.conftest import ROOT

MODULE = "01-authenticity"
RELEASED = ROOT / "release" / MODULE / f"{MODULE}.ipynb"


def reflection_ids(nb) -> list[str]:
    return [c.metadata["nbgrader"]["grade_id"] for c in nb.cells
            if c.cell_type == "markdown" and c.metadata.get("nbgrader", {}).get("grade")
            and c.metadata["nbgrader"].get("solution")]


@pytest.fixture
def folder(tmp_path):
    shutil.copy(RELEASED, tmp_path / RELEASED.name)
    return tmp_path


def write_answers(folder, reflections) -> None:
    (folder / "answers.json").write_text(json.dumps({"questions": {"q": "a"}, "reflections": reflections}),
                                         encoding="utf-8")


def cell(nb, grade_id):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def test_the_typed_words_are_written_and_the_rest_of_the_notebook_is_unchanged(folder):
    before = nbformat.read(folder / RELEASED.name, as_version=4)
    first, second = reflection_ids(before)[:2]  # 01-authenticity has three reflections
    write_answers(folder, {first: "I stay myself and keep to the dress code.\n", second: "  I ask first.  "})
    assert fill_folder(folder) == []
    after = nbformat.read(folder / RELEASED.name, as_version=4)
    assert cell(after, first).source == "I stay myself and keep to the dress code."
    assert cell(after, second).source == "I ask first."
    for grade_id in reflection_ids(before)[2:]:  # never typed: as released, so nbgrader sees no response
        assert cell(after, grade_id).source == REFLECTION_STUB
    changed = [(b.id, b.source) for b, a in zip(before.cells, after.cells) if b.source != a.source]
    assert [cid for cid, _ in changed] == [cell(before, first).id, cell(before, second).id]
    assert [c.metadata for c in before.cells] == [c.metadata for c in after.cells]


def test_an_edit_of_the_graded_cell_elsewhere_is_ignored_and_noted(folder):
    nb = nbformat.read(folder / RELEASED.name, as_version=4)
    first, second = reflection_ids(nb)[:2]
    cell(nb, first).source = "Typed in JupyterLab instead."
    cell(nb, second).source = "Also typed in JupyterLab."
    nbformat.write(nb, folder / RELEASED.name)
    write_answers(folder, {first: "Typed in the page."})
    notes = fill_folder(folder)
    after = nbformat.read(folder / RELEASED.name, as_version=4)
    assert cell(after, first).source == f"Typed in the page.\n\n{EDITED_NOTE}"
    assert cell(after, second).source == f"{REFLECTION_STUB}\n\n{EDITED_NOTE}"  # nothing typed in the page
    assert "typed in JupyterLab" not in json.dumps(after).lower()
    assert notes == [f"{RELEASED.name}, {first}: the cell was changed outside the module page; the change was ignored",
                     f"{RELEASED.name}, {second}: the cell was changed outside the module page; the change was ignored"]


def test_filled_notebooks_writes_nothing_and_pack_sends_the_filled_copy(folder):
    first = reflection_ids(nbformat.read(folder / RELEASED.name, as_version=4))[0]
    write_answers(folder, {first: "My words."})
    original = (folder / RELEASED.name).read_bytes()
    filled, notes = filled_notebooks(folder)
    assert notes == [] and list(filled) == [RELEASED.name]
    assert (folder / RELEASED.name).read_bytes() == original  # the learner's own notebook is not changed
    body = pack(folder, replace={name: text.encode() for name, text in filled.items()})
    with tarfile.open(fileobj=io.BytesIO(body)) as tar:
        sent = nbformat.reads(tar.extractfile(RELEASED.name).read().decode(), as_version=4)
        assert json.loads(tar.extractfile("answers.json").read())["reflections"] == {first: "My words."}
    assert cell(sent, first).source == "My words."


def test_no_answers_file_leaves_every_reflection_as_released(folder):
    assert fill_folder(folder) == []
    after = nbformat.read(folder / RELEASED.name, as_version=4)
    assert {cell(after, g).source for g in reflection_ids(after)} == {REFLECTION_STUB}


@pytest.mark.parametrize("content, says", [
    ("{not json", "cannot be read as JSON"),
    ("[1, 2]", "does not hold a JSON object"),
    ('{"reflections": ["a"]}', "'reflections' is not an object"),
    ('{"reflections": {"auth-r-balance-answer": 3, "b": null, "c": "fine"}}',
     "reflection(s) auth-r-balance-answer, b hold no text"),
])
def test_bad_answers_are_refused_naming_the_file_and_nothing_is_written(folder, content, says):
    (folder / "answers.json").write_text(content, encoding="utf-8")
    original = (folder / RELEASED.name).read_bytes()
    with pytest.raises(ReflectionsRefused) as caught:
        fill_folder(folder)
    assert str(folder / "answers.json") in str(caught.value) and says in str(caught.value)
    assert (folder / RELEASED.name).read_bytes() == original
    assert sorted(p.name for p in folder.iterdir()) == sorted(["answers.json", RELEASED.name])


def test_a_linked_answers_file_is_left_for_the_exchange_to_refuse(folder, tmp_path_factory):
    elsewhere = tmp_path_factory.mktemp("other") / "answers.json"
    first = reflection_ids(nbformat.read(folder / RELEASED.name, as_version=4))[0]
    elsewhere.write_text(json.dumps({"reflections": {first: "another learner's words"}}), encoding="utf-8")
    (folder / "answers.json").symlink_to(elsewhere)
    original = (folder / RELEASED.name).read_bytes()
    assert filled_notebooks(folder) == ({}, [])  # not read through the link
    assert fill_folder(folder) == [] and (folder / RELEASED.name).read_bytes() == original


def test_a_broken_notebook_is_refused_naming_it(folder):
    (folder / "broken.ipynb").write_text('{"cells": [', encoding="utf-8")
    with pytest.raises(ReflectionsRefused, match=r"broken\.ipynb: not a readable notebook"):
        fill_folder(folder)
