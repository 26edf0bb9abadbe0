"""On a hub, roster ids are checked as login names before anything is imported (autograde/hub/people.py)."""

from __future__ import annotations

import pytest

from autograde.hub.people import check_hub_ids
from autograde.roster import RosterError


def test_bad_hub_ids_are_named_by_line_and_nothing_is_imported(state, tmp_path):
    path = tmp_path / "roster.csv"
    path.write_text("employee_id,first_name,last_name,email,department,hire_date,cohort\n"
                    "ana-reyes,Ana,Reyes,ana@example.org,Parks,2026-11-02,c\n"
                    "root,Ro,Ot,root@example.org,IT,2026-11-02,c\n"
                    "ana.reyes,Ana,Reyes,ana2@example.org,Parks,2026-11-02,c\n"
                    "20417,Num,Ber,n@example.org,IT,2026-11-02,c\n")
    with pytest.raises(RosterError) as err:
        check_hub_ids(state, path)
    text = str(err.value)
    assert text.splitlines()[0] == f"{path}: 3 problem(s); nothing was imported"
    assert "line 3, field 'employee_id': 'root' is a reserved name" in text
    assert "line 4, field 'employee_id': 'ana.reyes' cannot be a login name" in text
    assert "line 5, field 'employee_id': '20417' is all digits" in text
    assert not state.roster_path.exists()


def test_two_batches_of_codes_in_one_second_are_both_kept(tmp_path):
    """`hcwh staff add` twice in a row: the second batch of codes never overwrites the first."""
    import csv

    from autograde.config import Settings
    from autograde.hub.people import Enrollment, _write_codes

    s = Settings(state_dir=tmp_path / "state")
    first = _write_codes(s, [Enrollment("hcwhtest-trainer", "T", "trainer", "code-one", "2030-01-01")])
    second = _write_codes(s, [Enrollment("hcwhtest-hr", "H", "hr", "code-two", "2030-01-01")])
    assert first != second
    codes = {}
    for f in sorted((s.state_dir / "enrollment").glob("codes-*.csv")):
        codes.update({row["login"]: row["code"] for row in csv.DictReader(f.open(newline=""))})
    assert codes == {"hcwhtest-trainer": "code-one", "hcwhtest-hr": "code-two"}
