"""The Python steps of an upgrade (``scripts/upgrade.sh``; README "Patching and upgrades").

- ``rows``: the gradebook's grade rows (module, learner, notebook, cell, auto, manual, extra credit),
  read with plain SQL so any gradebook schema nbgrader has used reads the same, as JSON: what the
  backup records and the smoke test compares after the upgrade.
- ``record``: the record database's own migrations (``autograde.record.db.migrate``), applied to an
  existing ``<state>/record/record.db``; prints the version in force.
- ``same``: exit 1, naming the first difference, when the gradebook's rows now differ from a saved copy.

``python -m autograde.upgrade rows|record|same FILE``, with ``HCWH_STATE_DIR`` (and ``HCWH_DB_URL``) set.
"""

from __future__ import annotations

import json
import sqlite3
import sys
from pathlib import Path

from sqlalchemy import create_engine, text

from autograde.config import Settings
from autograde.errors import HcwhError

ROWS = """
SELECT a.name, sa.student_id, n.name, bc.name, g.auto_score, g.manual_score, g.extra_credit
FROM grade g
JOIN submitted_notebook sn ON g.notebook_id = sn.id
JOIN submitted_assignment sa ON sn.assignment_id = sa.id
JOIN assignment a ON sa.assignment_id = a.id
JOIN notebook n ON sn.notebook_id = n.id
JOIN base_cell bc ON g.cell_id = bc.id
ORDER BY a.name, sa.student_id, n.name, bc.name
"""


class UpgradeError(HcwhError):
    """An upgrade step that cannot go on; the message says what and where."""


def gradebook_rows(s: Settings) -> list[list]:
    url = s.gradebook_url
    if url.startswith("sqlite:///") and not Path(url[len("sqlite:///"):]).is_file():
        raise UpgradeError(f"{url[len('sqlite:///'):]}: no gradebook there; is HCWH_STATE_DIR the hub's state folder?")
    engine = create_engine(url)
    try:
        with engine.connect() as con:
            return [list(r) for r in con.execute(text(ROWS))]
    finally:
        engine.dispose()


def migrate_record(s: Settings) -> int | None:
    from autograde.record import db

    path = db.db_path(s)
    if not path.is_file():
        return None  # no record yet: the first `hcwh release` makes it at the latest version
    con = sqlite3.connect(path, isolation_level=None)
    try:
        return db.migrate(con, path)
    finally:
        con.close()


def first_difference(before: list[list], after: list[list]) -> str | None:
    if before == after:
        return None
    for i, (b, a) in enumerate(zip(before, after)):
        if b != a:
            return f"row {i + 1}: {b} before, {a} now"
    return f"{len(before)} rows before, {len(after)} now"


def main(argv: list[str]) -> int:
    s = Settings.from_env()
    try:
        if argv[:1] == ["rows"]:
            print(json.dumps(gradebook_rows(s)))
        elif argv[:1] == ["record"]:
            version = migrate_record(s)
            print("no record database yet (the first release makes it)" if version is None
                  else f"the record database is at schema version {version}")
        elif argv[:1] == ["same"] and len(argv) == 2:
            diff = first_difference(json.loads(Path(argv[1]).read_text()), gradebook_rows(s))
            if diff:
                print(f"error: the gradebook changed in the upgrade ({diff}); roll back", file=sys.stderr)
                return 1
            print(f"gradebook rows unchanged ({len(gradebook_rows(s))})")
        else:
            print("usage: python -m autograde.upgrade rows | record | same ROWS.json", file=sys.stderr)
            return 2
    except HcwhError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
