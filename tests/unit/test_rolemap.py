"""The author's role-play map (autograde/course/rolemap.py): an SVG per play, problems marked."""

from __future__ import annotations

import copy
import xml.etree.ElementTree as ET

import yaml

from autograde.course.build import check, write_roleplay_maps
from autograde.course.rolemap import svg
from curriculum.builder import load_modules
from tests.conftest import ROOT
from tests.unit.test_roleplay import carried

NS = "{http://www.w3.org/2000/svg}"


def texts(picture: str) -> list[str]:
    return [t.text for t in ET.fromstring(picture).iter(f"{NS}text")]


def test_a_valid_play_is_drawn_with_every_step_ending_and_choice_and_no_problem_mark():
    words = texts(svg(carried()))
    assert {"step open", "step details", "ending good", "ending mixed", "ending poor"} <= set(words)
    for label in ("spanish: best", "sets spanish", "english: acceptable", "explain: best", "explain if not spanish",
                  "switch-back: poor", "offered if spanish", "find-helper: acceptable", "offered if not open.spanish"):
        assert label in words, label
    assert not [w for w in words if any(mark in w for mark in ("NEVER", "DEAD END", "LOOP", "MISSING"))]


def test_unreachable_and_dead_end_parts_are_marked():
    rp = carried()
    for n, when in ((1, ["spanish", "open.english"]), (2, ["open.english", "spanish"]), (0, ["spanish"])):
        rp["steps"][1]["choices"][n]["when"] = when
    rp["steps"].append({"id": "island", "situation": "Nobody gets here.", "choices": [
        {"id": "x", "text": "t", "quality": "best", "reaction": "r", "coaching": "c", "next": "nowhere"}]})
    words = texts(svg(rp))
    assert words.count("NEVER REACHED") == 3  # the island step, endings mixed and poor
    assert "DEAD END on some path" in words and "MISSING" in words and "'nowhere'" in words
    assert "switch-back: poor (NEVER OFFERED)" in words


def test_a_loop_is_marked():
    rp = copy.deepcopy(carried())
    rp["steps"][1]["choices"][1]["next"] = "open"
    assert texts(svg(rp)).count("LOOP: no way out") == 2  # open -> details -> open


def test_check_writes_one_map_per_role_play_even_for_a_play_validation_refuses(tmp_path):
    modules = tmp_path / "modules"
    modules.mkdir()
    for path in (ROOT / "curriculum" / "modules").glob("0[01]-*.yaml"):
        (modules / path.name).write_text(path.read_text())
    maps = tmp_path / "maps"
    check(modules, maps)
    expected = {f"{m.id}/{rp.id}.svg" for m in load_modules(modules) for rp in m.roleplays}
    assert {str(p.relative_to(maps)) for p in maps.rglob("*.svg")} == expected and len(expected) == 4
    data = yaml.safe_load((modules / "01-authenticity.yaml").read_text())
    for c in data["roleplays"][0]["steps"][1]["choices"]:
        c["next"] = "greet"  # a loop: validation refuses the file, the map shows why
    (modules / "01-authenticity.yaml").write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    written = write_roleplay_maps(modules, maps)
    assert len(written) == 4
    assert "LOOP: no way out" in texts((maps / "01-authenticity" / "auth-rp-parking-counter.svg").read_text())
