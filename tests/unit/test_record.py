"""The compliance record: the hash-chained audit trail, the record database's migrations, module versions."""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
from pathlib import Path

import pytest

from autograde.cli import main
from autograde.record import audit, db, versions
from autograde.record.db import RecordError


@pytest.fixture()
def log(state):
    """A log of five lines written by the one writer."""
    for n in range(1, 6):
        audit.record(state, "collect", by="trainer1", assignments=[f"0{n}-module"])
    return audit.log_path(state)


def lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines(keepends=True)


def write(path: Path, rows: list[str]) -> None:
    path.write_text("".join(rows), encoding="utf-8")


def test_an_untouched_chain_verifies_and_each_line_names_the_previous_hash(log):
    rows = [json.loads(r) for r in lines(log)]
    assert [r["n"] for r in rows] == [1, 2, 3, 4, 5]
    assert rows[0]["prev"] == "0" * 64
    for before, after in zip(rows, rows[1:]):
        # computed here, by hand: the hash over the line's canonical JSON without its own hash
        body = json.dumps({k: v for k, v in before.items() if k != "sha256"}, sort_keys=True,
                          ensure_ascii=False, separators=(",", ":"))
        assert after["prev"] == before["sha256"] == hashlib.sha256(body.encode()).hexdigest()
    verdict = audit.verify(log)
    assert verdict.ok and verdict.head.lines == 5 and verdict.head.sha256 == rows[-1]["sha256"]


@pytest.mark.parametrize("target", [2, 5])
def test_an_edited_line_is_named(log, target):
    rows = lines(log)
    rows[target - 1] = rows[target - 1].replace("trainer1", "trainer9")
    write(log, rows)
    verdict = audit.verify(log)
    assert not verdict.ok and verdict.line == target and "edited" in verdict.problem


def test_an_edited_and_rehashed_line_is_named_by_the_line_after_it(log):
    rows = lines(log)
    entry = json.loads(rows[2])
    entry["by"] = "trainer9"
    entry["sha256"] = audit.entry_hash(entry)
    rows[2] = json.dumps(entry, sort_keys=True, separators=(",", ":")) + "\n"
    write(log, rows)
    verdict = audit.verify(log)
    assert not verdict.ok and verdict.line == 3 and "rehashed" in verdict.problem


def test_a_removed_line_is_named(log):
    rows = lines(log)
    del rows[1]
    write(log, rows)
    verdict = audit.verify(log)
    assert not verdict.ok and verdict.line == 2 and "removed" in verdict.problem


def test_reordered_lines_are_named(log):
    rows = lines(log)
    rows[2], rows[3] = rows[3], rows[2]
    write(log, rows)
    verdict = audit.verify(log)
    assert not verdict.ok and verdict.line == 3 and "moved" in verdict.problem


def test_lines_removed_from_the_end_are_caught_by_the_filed_head(log):
    filed = audit.verify(log).head
    write(log, lines(log)[:3])
    assert audit.verify(log).ok  # a shorter chain is still a chain ...
    verdict = audit.verify(log, filed)  # ... but not the one filed
    assert not verdict.ok and verdict.line == 4 and "removed" in verdict.problem


def test_the_cli_verifies_and_names_the_line(state, log, capsys):
    assert main(["--state-dir", str(state.state_dir), "audit", "verify"]) == 0
    assert "5 lines, chain intact" in capsys.readouterr().out
    rows = lines(log)
    rows[3] = rows[3].replace("04-module", "04-other")
    write(log, rows)
    assert main(["--state-dir", str(state.state_dir), "audit", "verify"]) == 1
    assert f"{log}: line 4: " in capsys.readouterr().err


def test_learners_are_written_as_pseudonyms_under_a_key_kept_apart(state):
    entry = audit.record(state, "submission received", learner="ana.lopez", assignment="01-authenticity")
    assert "ana.lopez" not in audit.log_path(state).read_text(encoding="utf-8")
    key = audit.key_path(state).read_bytes().strip()
    import hmac

    assert entry["learner"] == "p-" + hmac.new(key, b"ana.lopez", hashlib.sha256).hexdigest()[:24]
    assert audit.key_path(state).parent != audit.log_path(state).parent
    assert audit.key_path(state).stat().st_mode & 0o777 == 0o600


def test_a_fact_cannot_overwrite_the_logs_own_fields(state):
    with pytest.raises(RecordError, match="prev"):
        audit.record(state, "collect", prev="0" * 64)
    assert not audit.log_path(state).exists() or audit.log_path(state).read_text() == ""


def test_migration_from_an_empty_database(state):
    con = db.connect(state)
    # every step once, numbered 1, 2, ... in order
    assert [n for n, _ in db.MIGRATIONS] == list(range(1, len(db.MIGRATIONS) + 1))
    assert con.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] == db.LATEST == len(db.MIGRATIONS)
    columns = [r[1] for r in con.execute("PRAGMA table_info(module_versions)")]
    assert columns[:2] == ["assignment", "version"]
    con.close()
    assert db.connect(state).execute("SELECT COUNT(*) FROM schema_version").fetchone()[0] == db.LATEST  # not re-applied
    tables = {r[0] for r in db.connect(state).execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"acknowledgements", "certificates", "certificate_revocations"} <= tables
    assert db.db_path(state).stat().st_mode & 0o777 == 0o600


def test_a_record_at_version_1_gains_the_calibration_tables_and_keeps_its_rows(state, monkeypatch):
    monkeypatch.setattr(db, "MIGRATIONS", db.MIGRATIONS[:1])
    monkeypatch.setattr(db, "LATEST", 1)
    con = db.connect(state)
    con.execute("INSERT INTO module_versions VALUES ('01-authenticity', 'v', 'f', 'm', 'n', 't', 'jlee', 'jlee')")
    con.close()
    monkeypatch.undo()
    con = db.connect(state)
    assert con.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] == db.LATEST
    assert con.execute("SELECT COUNT(*) FROM module_versions").fetchone()[0] == 1
    tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"calibration_samples", "calibration_scores", "calibration_finals"} <= tables


def test_a_database_newer_than_the_code_is_refused_by_name(state):
    db.connect(state).execute("INSERT INTO schema_version VALUES (99)")
    with pytest.raises(RecordError, match=r"record\.db: the record is at schema version 99"):
        db.connect(state)


def test_a_failed_migration_keeps_nothing(state, monkeypatch):
    last = db.LATEST
    monkeypatch.setattr(db, "MIGRATIONS", [*db.MIGRATIONS, (last + 1, "CREATE TABLE acks (x TEXT); CREATE TABLE broken (")])
    monkeypatch.setattr(db, "LATEST", last + 1)
    with pytest.raises(RecordError, match=f"migration {last + 1} failed"):
        db.connect(state)
    con = sqlite3.connect(db.db_path(state))
    assert con.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] == last
    assert con.execute("SELECT name FROM sqlite_master WHERE name = 'acks'").fetchone() is None


def _sources(tmp_path: Path, notebook_text: str) -> versions.Sources:
    for name, text in (("framework.txt", "Authenticity: be genuine."), ("01-authenticity.yaml", "id: 01"),
                       ("nb.ipynb", notebook_text)):
        (tmp_path / name).write_text(text, encoding="utf-8")
    return versions.Sources(tmp_path / "framework.txt", tmp_path / "01-authenticity.yaml", tmp_path / "nb.ipynb")


def test_a_release_records_its_version_archives_its_files_and_is_audited(state, tmp_path):
    found = _sources(tmp_path, "{}")
    sha = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in (found.framework, found.module, found.notebook)}
    by_hand = hashlib.sha256((f"framework {sha['framework.txt']}\nmodule {sha['01-authenticity.yaml']}\n"
                              f"notebook {sha['nb.ipynb']}\n").encode()).hexdigest()
    v1 = versions.record_release(state, "01-authenticity", "trainer1", "hr.lead", found)
    assert v1 == by_hand
    assert versions.record_release(state, "01-authenticity", "trainer1", "hr.lead", found) == v1  # same files
    v2 = versions.record_release(state, "01-authenticity", "trainer1", "hr.lead", _sources(tmp_path, '{"cells": []}'))
    assert v2 != v1
    assert [r["version"] for r in versions.released(state, "01-authenticity")] == [v1, v2]
    archived = {p.name for p in versions.archive_dir(state).iterdir()}
    assert set(sha.values()) <= archived and len(archived) == 4  # the first notebook is kept beside the second
    assert versions.unreferenced(state) == []
    assert (versions.archive_dir(state) / sha["nb.ipynb"]).read_text() == "{}"
    releases = [json.loads(r) for r in lines(audit.log_path(state)) if json.loads(r)["event"] == "release"]
    assert [(r["version"], r["approved_by"]) for r in releases] == [(v1, "hr.lead"), (v1, "hr.lead"), (v2, "hr.lead")]


def test_a_release_without_its_files_or_approver_writes_nothing(state, tmp_path):
    found = _sources(tmp_path, "{}")
    found.notebook.unlink()
    with pytest.raises(RecordError, match=r"nb\.ipynb: the learner notebook is missing"):
        versions.record_release(state, "01-authenticity", "trainer1", "hr.lead", found)
    with pytest.raises(RecordError, match="approver"):
        versions.record_release(state, "01-authenticity", "trainer1", " ", _sources(tmp_path, "{}"))
    assert not audit.log_path(state).exists()
    assert not versions.archive_dir(state).exists()


def test_an_archived_file_altered_is_refused(state, tmp_path):
    found = _sources(tmp_path, "{}")
    versions.record_release(state, "01-authenticity", "trainer1", "hr.lead", found)
    sha = hashlib.sha256(b"{}").hexdigest()
    (versions.archive_dir(state) / sha).write_text("{ }")
    with pytest.raises(RecordError, match="no longer matches"):
        versions.record_release(state, "01-authenticity", "trainer1", "hr.lead", found)


def test_a_trigger_with_semicolons_in_its_body_is_one_statement():
    sql = "CREATE TABLE t (x);\nCREATE TRIGGER k BEFORE UPDATE ON t\nBEGIN\n    SELECT RAISE(ABORT, 'no');\nEND;\n"
    assert [s.split()[1] for s in db.statements(sql)] == ["TABLE", "TRIGGER"]


# -- acknowledgements (the rules; through the exchange service and a real hub: tests/e2e/test_exchange.py) --


@pytest.fixture()
def released(state, tmp_path):
    return versions.record_release(state, "01-authenticity", "trainer1", "hr.lead", _sources(tmp_path, "{}"))


def test_an_acknowledgement_is_recorded_once_per_version_and_questions_as_asked(state, released):
    from autograde.record import acknowledgements as acks

    first = acks.record(state, "ana", "01-authenticity", " Ana  Reyes ", "acknowledged", recorded_by="ana")
    assert (first["version"], first["typed_name"], first["way"]) == (released, "Ana Reyes", "self")
    with pytest.raises(acks.AlreadyAcknowledged, match=r"ana already acknowledged this version of 01-authenticity "
                                                       rf"\({released[:12]}\) on {re.escape(first['recorded_at'])} \(self\)"):
        acks.record(state, "ana", "01-authenticity", "Ana Reyes", "acknowledged", way="assisted",
                    recorded_by="trainer1", reason="again")
    acks.record(state, "ben", "01-authenticity", "Ben Okafor", "question", recorded_by="ben")
    acks.record(state, "ben", "01-authenticity", "Ben Okafor", "question", recorded_by="ben")
    assert [(r["learner"], r["choice"]) for r in acks.listed(state)] == [
        ("ana", "acknowledged"), ("ben", "question"), ("ben", "question")]
    events = [json.loads(x)["event"] for x in lines(audit.log_path(state))]
    assert events == ["release", "acknowledgement", "acknowledgement", "acknowledgement"]


@pytest.mark.parametrize("call, words", [
    (dict(choice="signed"), "the choice 'signed' is not one of acknowledged, question"),
    (dict(typed_name="  "), "the typed name is empty"),
    (dict(way="assisted"), "needs its reason"),
    (dict(way="paper", reason="signed in class", recorded_by=" "), "needs the trainer's name"),
    (dict(assignment="02-anticipation"), "02-anticipation has no recorded version"),
])
def test_a_bad_acknowledgement_records_nothing(state, released, call, words):
    from autograde.record import acknowledgements as acks

    args = dict(learner="ana", assignment="01-authenticity", typed_name="Ana Reyes", choice="acknowledged",
                recorded_by="ana") | call
    with pytest.raises(RecordError, match=words):
        acks.record(state, args.pop("learner"), args.pop("assignment"), args.pop("typed_name"), args.pop("choice"),
                    **args)
    assert acks.listed(state) == []


def test_an_acknowledgement_whose_audit_line_fails_is_not_kept(state, released, monkeypatch):
    from autograde.record import acknowledgements as acks

    def broken(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(audit, "record", broken)
    with pytest.raises(OSError):
        acks.record(state, "ana", "01-authenticity", "Ana Reyes", "acknowledged", recorded_by="ana")
    assert acks.listed(state) == []
