"""The whole curriculum: order, coverage of all 42 framework items, shape, editorial checks."""

from __future__ import annotations

import itertools
import re
from collections import Counter

import pytest

from curriculum.framework import load_framework

STANDARD_ORDER = ["AUTH", "ANTI", "ENGA", "CONS", "ACCT"]


def standard_modules(modules):
    return [m for m in modules if m.standard]


def test_welcome_first_then_one_module_per_standard_in_the_citys_order(modules):
    assert modules[0].standard is None and "welcome" in modules[0].id
    assert [m.standard for m in modules[1:]] == STANDARD_ORDER
    for m, s in zip(modules[1:], load_framework().standards):
        assert s.name.lower() in m.id


def test_all_42_framework_items_are_exercised(modules):
    fw = load_framework()
    exercised = set().union(*(m.exercised_items() for m in standard_modules(modules)))
    missing = sorted(set(fw.items) - exercised)
    print(f"coverage: {len(set(fw.items) & exercised)} of {len(fw.items)} framework items exercised")
    assert missing == []
    assert len(fw.items) == 42


@pytest.mark.parametrize("standard", STANDARD_ORDER)
def test_each_standard_module_exercises_every_item_of_its_standard(modules, standard):
    m = next(m for m in modules if m.standard == standard)
    own = {i.id for i in load_framework().standard(standard).items}
    assert sorted(own - m.exercised_items()) == []


@pytest.mark.parametrize("standard", STANDARD_ORDER)
def test_standard_module_shape(modules, standard):
    m = next(m for m in modules if m.standard == standard)
    assert len(m.roleplays) >= 3
    for rp in m.roleplays:
        assert len(rp.steps) >= 2, rp.id
        assert all(len(step.choices) >= 3 for step in rp.steps), rp.id
        assert all(c.coaching and c.reaction for step in rp.steps for c in step.choices)
        assert rp.endings and all(e.debrief for e in rp.endings)
    assert len(m.questions) >= 5
    kinds = Counter(q.kind for q in m.questions)
    assert kinds["single"] and kinds["multiple"] and (kinds["ordering"] or kinds["matching"]), kinds
    assert len(m.reflections) >= 3
    considerations = {i.id for i in load_framework().standard(standard).considerations}
    for r in m.reflections:
        assert set(r.exercises) & considerations, f"{r.id} is not built from an essential consideration"
        assert len(r.rubric) >= 2


def test_standard_modules_carry_equal_weight(modules):
    points = {m.id: m.points for m in standard_modules(modules)}
    assert len(set(points.values())) == 1, points


def _texts(module):
    for rp in module.roleplays:
        yield f"{module.id}/{rp.id}/setting", rp.setting
        for step in rp.steps:
            yield f"{module.id}/{rp.id}/{step.id}", step.situation
    for q in module.questions:
        yield f"{module.id}/{q.id}", q.prompt
    for r in module.reflections:
        yield f"{module.id}/{r.id}", r.prompt


def _shingles(text: str, n: int = 12) -> set[tuple[str, ...]]:
    words = re.findall(r"[a-z']+", text.lower())
    return {tuple(words[i:i + n]) for i in range(len(words) - n + 1)}


def find_duplicates(texts: list[tuple[str, str]]) -> list[tuple[str, str, str]]:
    """Pairs of scenarios/questions sharing a 12-word run (copy-paste, not shared wording
    such as "put these steps in the order"), ignoring quotes of the framework itself."""
    framework = " | ".join(" ".join(re.findall(r"[a-z']+", i.text.lower())) for i in load_framework().items.values())
    dupes = []
    for (a, ta), (b, tb) in itertools.combinations(texts, 2):
        if a.split("/")[:2] == b.split("/")[:2]:
            continue  # steps of one role-play may echo its own setting
        shared = {s for s in _shingles(ta) & _shingles(tb) if " ".join(s) not in framework}
        if shared:
            dupes.append((a, b, " ".join(sorted(shared)[0])))
    return dupes


def test_no_scenario_or_question_is_duplicated_across_the_curriculum(modules):
    assert find_duplicates([t for m in modules for t in _texts(m)]) == []


def test_the_duplicate_check_catches_a_copied_scenario(modules):
    where, text = next(_texts(modules[1]))
    copied = [(where, text), ("99-other/rp-x/setting", "Slightly reworded: " + text)]
    assert find_duplicates(copied) and find_duplicates(copied)[0][:2] == (where, "99-other/rp-x/setting")


def test_no_invented_policy_details(modules):
    """No fees, phone numbers, web addresses or code sections a reader could take as real policy."""
    pattern = re.compile(r"\$\s?\d|\b\d{3}[-.\s]\d{3,4}\b|https?://|www\.|\bordinance\b|\bsection \d|\bcode \d", re.I)
    found = [(where, pattern.search(text).group(0)) for m in modules for where, text in _texts(m) if pattern.search(text)]
    assert found == []


def test_a_find_out_checklist_is_a_section_before_the_progress_and_absent_when_empty(modules):
    from curriculum.builder import build

    base = modules[1].model_copy(update={"find_out": []})
    listed = base.model_copy(update={"find_out": ["Who answers the after-hours line.", "Where the guides live."]})
    plain_ids = [c.id for c in build(base).cells]
    cells = build(listed).cells
    ids = [c.id for c in cells]
    where = f"{base.id}-find-out"
    assert where not in plain_ids
    assert ids.index(where) == ids.index(f"{base.id}-progress-title") - 1  # just before the progress
    assert ids.index(where) > max(n for n, c in enumerate(cells) if c.id.endswith("-answer"))  # after every exercise
    text = cells[ids.index(where)].source
    assert text.startswith("## Find out in your first two weeks")
    assert text.endswith("- Who answers the after-hours line.\n- Where the guides live.")
    assert cells[ids.index(where)].metadata["nbgrader"]["grade"] is False  # not graded


def test_an_empty_find_out_item_is_refused():
    from curriculum.schema import ContentError, parse_module
    from tests.conftest import ROOT

    text = (ROOT / "curriculum" / "modules" / "05-accountability.yaml").read_text()
    text = text.replace("find_out:\n", "find_out:\n  - \"\"\n", 1)
    with pytest.raises(ContentError) as exc:
        parse_module(text, "curriculum/modules/05-accountability.yaml")
    assert exc.value.problems == [("field 'find_out[0]'", "String should have at least 1 character")]
