"""The answers file's versions (curriculum/answers.py): version 1 files are read by the migration."""

from __future__ import annotations

import json

from curriculum.answers import SCHEMA_VERSION, AnswerStore, migrate
from curriculum.scoring import score_roleplay

# A file as version 1 wrote it (no schema_version; role-play choices by their place in the file).
V1 = {"questions": {"q1": "b", "q2": ["a", "c"]},
      "roleplays": {"rp": {"current": [{"step": "greet", "choice": 2}],
                           "completed": [{"ending": "ending-good", "path": [{"step": "greet", "choice": 0},
                                                                           {"step": "options", "choice": 1}]}]}}}


def test_a_version_1_file_is_migrated_choice_places_to_ids(tmp_path):
    (tmp_path / "answers.json").write_text(json.dumps(V1))
    store = AnswerStore(tmp_path)
    data = store.load()
    assert SCHEMA_VERSION == 2 and data["schema_version"] == 2
    assert data["questions"] == {"q1": "b", "q2": ["a", "c"]}  # questions unchanged
    assert data["roleplays"]["rp"] == {
        "current": [{"step": "greet", "choice": "c"}],  # place 2 -> c
        "completed": [{"ending": "ending-good", "path": [{"step": "greet", "choice": "a"}, {"step": "options", "choice": "b"}]}],
    }
    # the next save writes version 2, the migrated paths and the new answer together
    store.put("questions", "q3", "a")
    saved = json.loads((tmp_path / "answers.json").read_text())
    assert saved["schema_version"] == 2 and saved["roleplays"]["rp"]["current"] == [{"step": "greet", "choice": "c"}]
    assert saved["questions"]["q3"] == "a"
    # and a version 1 completed play still earns its completion credit, and is scored by ids on a path play
    assert score_roleplay("rp", 2, folder=tmp_path) == 2.0
    quality = {"greet.a": "best", "options.b": "acceptable"}  # (1 + 0.5) / 2 of 2 = 1.5
    assert score_roleplay("rp", 2, folder=tmp_path, scoring="path", quality=quality) == 1.5


def test_a_version_2_file_is_read_as_it_is_and_other_keys_are_kept():
    v2 = {"schema_version": 2, "questions": {}, "roleplays": {"rp": {"current": [{"step": "s", "choice": "b"}]}},
          "reflections": {"r1": "words"}, "other": {"kept": True}}
    assert migrate(v2) == v2
    assert migrate(v2) is not v2


def test_damaged_files_read_as_empty_version_2(tmp_path):
    for text in ("{not json", "[1, 2]", '{"questions": 5, "roleplays": ["x"]}', ""):
        (tmp_path / "answers.json").write_text(text)
        assert AnswerStore(tmp_path).load() == {"schema_version": 2, "questions": {}, "roleplays": {}, "reflections": {}}
    # damaged entries inside a version 1 record are left for the readers, which skip them
    odd = {"roleplays": {"rp": {"current": [{"step": "s", "choice": True}, "x", {"step": "s", "choice": 99}]}}}
    assert migrate(odd)["roleplays"]["rp"]["current"] == [{"step": "s", "choice": True}, "x", {"step": "s", "choice": 99}]
