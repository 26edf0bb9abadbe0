"""One builder, deterministic; committed source/ and release/ never drift."""

from __future__ import annotations

import filecmp

import nbformat
import pytest
from nbgrader.nbgraderformat import MetadataValidator

from autograde.course.nbgrader_api import generate_release_folder
from curriculum.builder import build, notebook_bytes, presented_options
from tests.conftest import ROOT, module_ids

IDS = module_ids()


def test_building_twice_gives_the_same_bytes(modules):
    for m in modules:
        assert notebook_bytes(m) == notebook_bytes(m)
        assert nbformat.writes(build(m)) == nbformat.writes(build(m))


@pytest.mark.parametrize("module_id", IDS)
def test_committed_source_matches_the_content(modules, module_id):
    module = next(m for m in modules if m.id == module_id)
    committed = ROOT / "source" / module_id / f"{module_id}.ipynb"
    assert committed.read_bytes() == notebook_bytes(module), "source/ is stale: run `make build` and commit"
    assert sorted(p.name for p in committed.parent.iterdir()) == [f"{module_id}.ipynb"]


def test_committed_release_is_what_nbgrader_generates(tmp_path):
    generate_release_folder(ROOT / "source", tmp_path / "release", IDS)
    cmp = filecmp.dircmp(ROOT / "release", tmp_path / "release")
    assert sorted(cmp.common_dirs) == IDS, "release/ has stale or missing modules: run `make build`"
    for module_id in IDS:
        sub = filecmp.dircmp(ROOT / "release" / module_id, tmp_path / "release" / module_id)
        _, mismatch, errors = filecmp.cmpfiles(sub.left, sub.right, sub.common_files, shallow=False)
        assert (sub.left_only, sub.right_only, mismatch, errors) == ([], [], [], []), f"{module_id}: run `make build`"


@pytest.mark.parametrize("folder", ["source", "release"])
@pytest.mark.parametrize("module_id", IDS)
def test_nbgrader_accepts_the_metadata(folder, module_id):
    nb = nbformat.read(ROOT / folder / module_id / f"{module_id}.ipynb", as_version=4)
    nbformat.validate(nb)
    MetadataValidator().validate_nb(nb)  # raises on anything nbgrader would reject
    grade_ids = [c.metadata["nbgrader"]["grade_id"] for c in nb.cells if "nbgrader" in c.metadata]
    assert len(grade_ids) == len(set(grade_ids)) == len(nb.cells)


def test_folder_and_file_names_contain_the_standard(modules):
    for m in modules:
        if m.standard:
            name = {"AUTH": "authenticity", "ANTI": "anticipation", "ENGA": "engagement",
                    "CONS": "consistency", "ACCT": "accountability"}[m.standard]
            assert name in m.id
            assert (ROOT / "source" / m.id / f"{m.id}.ipynb").exists()


def test_options_are_never_shown_in_the_keys_order(modules):
    for m in modules:
        for q in m.questions:
            shown = [o.id for o in presented_options(q)]
            assert sorted(shown) == sorted(o.id for o in q.options)
            if q.kind == "ordering":
                assert shown != list(q.answer), q.id
