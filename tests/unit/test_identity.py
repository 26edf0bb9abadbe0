"""The one employee-id -> login-name mapping and its refusals (autograde/identity.py)."""

from __future__ import annotations

import pytest

from autograde.identity import IdentityError, check_ids, login_name


def test_a_good_id_is_its_own_login_name():
    assert login_name("ana-reyes") == "ana-reyes"
    assert login_name("b_okafor2") == "b_okafor2"
    assert login_name("Ana-Reyes") == "ana-reyes"  # the mapping lower-cases


@pytest.mark.parametrize("eid, words", [
    ("root", "reserved"), ("daemon", "reserved"), ("nobody", "reserved"), ("admin", "reserved"),
    ("hub", "reserved"), ("services", "reserved"), ("hcwh-course", "reserved"),
    ("104233", "all digits"),
    ("a" * 33, "33 characters"),
    ("ana.reyes", "cannot be a login name"), ("-ana", "cannot be a login name"),
    ("9ana", "cannot be a login name"), ("ana reyes", "cannot be a login name"), ("anä", "cannot be a login name"),
    ("", "empty"),
])
def test_refused_ids_say_why(eid, words):
    with pytest.raises(IdentityError, match=words):
        login_name(eid)


def test_32_characters_is_the_longest():
    assert login_name("a" * 32) == "a" * 32


def test_roster_rows_name_the_line_and_the_reason():
    rows = [(2, "ana-reyes"), (3, "ROOT"), (4, "Ana-Reyes"), (5, "123"), (6, "Ben-Okafor"), (7, "carla")]
    problems = check_ids(rows)
    assert problems == [
        (3, "employee_id", "'ROOT' is a reserved name (system, hub or service account)"),
        (4, "employee_id", "'Ana-Reyes' and 'ana-reyes' (line 2) are the same login name 'ana-reyes' once lower-cased"),
        (5, "employee_id", "'123' is all digits; a login name must start with a letter "
                           "(an all-digit name would be read as a user number)"),
        (6, "employee_id", "'Ben-Okafor' must be written in lower case on the hub, as 'ben-okafor' "
                           "(the employee id is also the login name and nbgrader's student id)"),
    ]


def test_a_collision_with_the_roster_already_imported_is_refused():
    problems = check_ids([(2, "carla")], known=["Carla"])
    assert problems == [(2, "employee_id", "'carla' is the same login name 'carla' as 'Carla', already on the roster")]


def test_an_existing_os_account_not_made_by_the_helper_is_refused():
    # 'cloudsdk'-like accounts exist on many machines; use the one that always does: the
    # caller says which names the helper made, and none here.
    import pwd

    someone = next((p.pw_name for p in pwd.getpwall() if login_ok(p.pw_name)), None)
    if someone is None:
        pytest.skip("no OS account here has a name that would otherwise be a valid login name")
    problems = check_ids([(2, someone)], made_by_helper=lambda name: False)
    assert problems == [(2, "employee_id", f"'{someone}' is already an account on this server that the course "
                                           "did not make; choose another login name")]
    assert check_ids([(2, someone)], made_by_helper=lambda name: True) == []


def login_ok(name: str) -> bool:
    try:
        return login_name(name) == name
    except IdentityError:
        return False
