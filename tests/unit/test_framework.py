"""The framework data is the city's text, verbatim and complete."""

import re

from curriculum.framework import load_framework, seed_text


def test_every_quoted_string_is_in_the_citys_text_verbatim():
    fw = load_framework()
    seed = seed_text()
    quoted = [fw.purpose, fw.about]
    quoted += [f"{v.name.upper()}: {v.text}" for v in fw.values]
    for s in fw.standards:
        quoted.append(f"“ {s.commitment} ”")
        quoted += [f"- {i.text}" for i in s.items]
    missing = [q for q in quoted if q not in " ".join(seed.split()) and q not in seed]
    assert missing == []


def test_all_42_items_of_the_citys_text_are_in_the_framework_data():
    fw = load_framework()
    bullets = [line[2:].strip() for line in seed_text().splitlines() if line.startswith("- ")]
    assert len(bullets) == 42
    ours = [i.text for s in fw.standards for i in s.items]
    assert sorted(ours) == sorted(bullets)
    assert sum(len(s.behaviors) for s in fw.standards) == 21
    assert sum(len(s.considerations) for s in fw.standards) == 21


def test_standards_in_the_citys_order_with_stable_ids():
    fw = load_framework()
    assert [s.name for s in fw.standards] == ["Authenticity", "Anticipation", "Engagement", "Consistency", "Accountability"]
    assert [v.name for v in fw.values] == ["Service", "Partnership", "Stewardship", "Innovation"]
    assert all(re.fullmatch(r"[A-Z]{4}-[BC]\d", i) for i in fw.items)
