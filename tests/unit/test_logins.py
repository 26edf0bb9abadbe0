"""The pilot's logins (autograde/hub/logins.py): one-time codes, scrypt passwords, lockout, leavers."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from autograde.hub import logins
from autograde.hub.logins import LoginRefused, LoginStore


@pytest.fixture()
def store(tmp_path):
    return LoginStore(tmp_path / "hub" / "logins.json")


def test_a_code_works_once_and_sets_the_password(store):
    code, expires = store.enroll("ana-reyes", "learner")
    assert timedelta(days=6, hours=23) < expires - datetime.now(timezone.utc) <= timedelta(days=7)
    assert store.redeem("ana-reyes", code.lower().replace("-", " "), "a long pass phrase", "a long pass phrase") == "learner"
    assert store.login("ana-reyes", "a long pass phrase") == "learner"
    with pytest.raises(LoginRefused, match="already been used"):
        store.redeem("ana-reyes", code, "another long phrase", "another long phrase")
    raw = json.loads(store.path.read_text())["ana-reyes"]
    assert raw["password"].startswith("scrypt$16384$8$1$") and "a long pass phrase" not in store.path.read_text()
    assert oct(store.path.stat().st_mode & 0o777) == "0o600"


def test_enrollment_refusals_are_in_words(store):
    code, _ = store.enroll("ana-reyes", "learner")
    with pytest.raises(LoginRefused, match="not the same"):
        store.redeem("ana-reyes", code, "a long pass phrase", "a long pass phrasE")
    with pytest.raises(LoginRefused, match="at least 10 characters"):
        store.redeem("ana-reyes", code, "short", "short")
    with pytest.raises(LoginRefused, match="login name and code do not match"):
        store.redeem("ana-reyes", "AAAA-BBBB-CCCC", "a long pass phrase", "a long pass phrase")
    with pytest.raises(LoginRefused, match="login name and code do not match"):
        store.redeem("nobody-here", code, "a long pass phrase", "a long pass phrase")


def test_an_expired_code_is_refused(store):
    code, _ = store.enroll("ana-reyes", "learner", days=0)
    with pytest.raises(LoginRefused, match="expired"):
        store.redeem("ana-reyes", code, "a long pass phrase", "a long pass phrase")


def test_lockout_after_five_wrong_passwords_even_for_the_right_one(store, monkeypatch):
    code, _ = store.enroll("ana-reyes", "learner")
    store.redeem("ana-reyes", code, "a long pass phrase", "a long pass phrase")
    for _ in range(logins.MAX_FAILURES - 1):
        with pytest.raises(LoginRefused, match="do not match") as wrong:
            store.login("ana-reyes", "wrong guess here")
        assert wrong.value.reason == "wrong"  # the security log's login.failed
    with pytest.raises(LoginRefused, match="try again in about 15 minute") as paused:
        store.login("ana-reyes", "wrong guess here")
    assert paused.value.reason == "lockout"  # this try paused the login: the security log's lockout
    with pytest.raises(LoginRefused, match="paused") as still:
        store.login("ana-reyes", "a long pass phrase")
    assert still.value.reason == "locked"  # login.locked
    later = datetime.now(timezone.utc) + timedelta(minutes=logins.LOCK_MINUTES, seconds=1)
    monkeypatch.setattr(logins, "now", lambda: later)
    assert store.login("ana-reyes", "a long pass phrase") == "learner"


def test_a_leaver_is_refused_and_the_record_kept(store):
    code, _ = store.enroll("ana-reyes", "learner")
    store.redeem("ana-reyes", code, "a long pass phrase", "a long pass phrase")
    assert store.leave("ana-reyes")
    with pytest.raises(LoginRefused, match="do not match"):
        store.login("ana-reyes", "a long pass phrase")
    assert not store.allowed("ana-reyes") and store.role("ana-reyes") is None
    assert store.get("ana-reyes")["left_at"]
    assert not store.leave("someone-else")
