"""Issue 13, point 5: the hub's secrets (autograde/hub/credentials.py): made at install, 0600,
rotated by name, never half-written; a missing or unsafe one stops the hub with its name.

That no learner can read any of them, or finds one in their environment, is tried from a
learner's kernel in tests/e2e/test_isolation.py."""

from __future__ import annotations

import os
import pwd
import stat
import subprocess
import sys

import pytest

from autograde.config import PROJECT_ROOT
from autograde.hub import credentials
from autograde.hub.credentials import SecretError


@pytest.fixture()
def state(tmp_path, monkeypatch):
    # the course account's secrets owned by whoever runs the test (no hcwh-course needed here)
    monkeypatch.setattr(credentials, "COURSE_USER", pwd.getpwuid(os.getuid()).pw_name)
    s = tmp_path / "state"
    (s / "hub").mkdir(parents=True)
    return s


def _mode(p):
    return stat.S_IMODE(p.stat().st_mode)


def test_the_list_names_each_secret_once_with_its_rotation():
    names = [s.name for s in credentials.SECRETS]
    assert len(names) == len(set(names))
    assert {"cookie-secret", "proxy-token", "accounts-token", "exchange-cli-token", "db-password"} <= set(names)
    for s in credentials.SECRETS:
        assert s.kind in ("generated", "provided") and s.owner in ("root", "course")
        assert "restart" in s.rotation or "nothing restarts" in s.rotation


def test_ensure_makes_every_generated_secret_0600_and_keeps_them(state):
    made = credentials.ensure(state)
    generated = [s for s in credentials.SECRETS if s.kind == "generated"]
    assert sorted(made) == sorted(s.name for s in generated)
    values = {}
    for s in generated:
        p = state / s.path
        assert _mode(p) == 0o600
        v = p.read_text().strip()
        assert len(v) == 64 and int(v, 16) >= 0  # 32 random bytes, hex
        values[s.name] = v
    assert len(set(values.values())) == len(values)  # each its own
    assert not (state / "db.pgpass").exists()  # provided: never invented
    assert credentials.ensure(state) == []  # a second install keeps every value
    assert {s.name: (state / s.path).read_text().strip() for s in generated} == values
    assert [p.name for p in state.rglob(".*new*")] == []


def test_ensure_closes_a_secret_left_readable(state):
    credentials.ensure(state)
    p = state / "hub" / "proxy.token"
    os.chmod(p, 0o644)
    with pytest.raises(SecretError, match=r"proxy-token .*mode 0644; it must be 0600"):
        credentials.read(state, "proxy-token")
    credentials.ensure(state)
    assert _mode(p) == 0o600


def test_rotate_writes_a_new_value_and_says_what_restarts(state):
    credentials.ensure(state)
    p = state / "hub" / "jupyterhub_cookie_secret"
    before = p.read_text()
    effect = credentials.rotate(state, "cookie-secret")
    assert p.read_text() != before and _mode(p) == 0o600
    assert "restart the hub" in effect and "everyone signs in again" in effect
    assert credentials.read(state, "cookie-secret") == p.read_text().strip()


def test_rotate_leaves_the_old_value_when_writing_fails(state, monkeypatch):
    credentials.ensure(state)
    p = state / "hub" / "proxy.token"
    before = p.read_text()

    def broken_fsync(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError):
        credentials.rotate(state, "proxy-token")
    assert p.read_text() == before
    assert sorted(x.name for x in (state / "hub").iterdir()) == sorted(
        ["jupyterhub_cookie_secret", "proxy.token", "accounts-service.token"])


def test_unknown_and_wrong_kind_names_are_refused(state):
    credentials.ensure(state)
    with pytest.raises(SecretError, match=r"no secret named 'cookie'; the secrets are: cookie-secret, "):
        credentials.rotate(state, "cookie")
    with pytest.raises(SecretError, match=r"db-password is provided by the city.*set db-password"):
        credentials.rotate(state, "db-password")
    with pytest.raises(SecretError, match=r"proxy-token is generated: use `rotate proxy-token`"):
        credentials.set_value(state, "proxy-token", "x")


def test_set_a_provided_secret(state):
    line = "db.city.example:5432:hcwh:hcwh:s3cret-from-the-dba"
    credentials.set_value(state, "db-password", line + "\n")
    p = state / "db.pgpass"
    assert p.read_text() == line + "\n" and _mode(p) == 0o600
    for bad, words in (("", "exactly one non-empty line"), ("a\nb", "exactly one non-empty line"),
                       ("just-a-password", "host:port:database:user:password")):
        with pytest.raises(SecretError, match=words):
            credentials.set_value(state, "db-password", bad)
    assert p.read_text() == line + "\n"  # nothing written by a refused value


def test_a_missing_secret_names_the_install_step(state):
    with pytest.raises(SecretError, match=r"the secret exchange-cli-token \(.*exchange-cli.token\) is missing: "
                                          r"run scripts/hub-setup.sh"):
        credentials.read(state, "exchange-cli-token")


@pytest.mark.parametrize("url, has", [
    ("postgresql+psycopg2://hcwh@db/hcwh", False),
    ("postgresql+psycopg2://hcwh:pw@db/hcwh", True),
    ("postgresql+psycopg2://hcwh:@db/hcwh", True),
    ("sqlite:////srv/hcwh/course/gradebook.db", False),
    ("", False),
])
def test_a_password_in_the_database_url_is_found(url, has):
    assert credentials.db_url_has_password(url) is has


def test_files_lists_the_city_files_named_by_the_environment(state):
    credentials.ensure(state)
    found = credentials.files(state, {"HCWH_TLS_KEY": "/etc/hcwh/tls/key.pem", "HCWH_LDAP_BIND_PASSWORD_FILE": ""})
    assert found["tls-key"].as_posix() == "/etc/hcwh/tls/key.pem" and "ldap-bind-password" not in found
    assert found["proxy-token"] == state / "hub" / "proxy.token"


def test_the_command_refuses_bad_usage_and_non_root(state):
    cmd = [sys.executable, "-s", "-m", "autograde.hub.credentials"]
    done = subprocess.run([*cmd, "rotate", str(state)], capture_output=True, text=True, cwd=PROJECT_ROOT)
    assert done.returncode == 2 and "usage:" in done.stderr
    if os.geteuid() == 0:
        done = subprocess.run([*cmd, "rotate", str(state), "nope"], capture_output=True, text=True, cwd=PROJECT_ROOT)
        assert done.returncode == 1 and "no secret named 'nope'" in done.stderr
    else:
        done = subprocess.run([*cmd, "list", str(state)], capture_output=True, text=True, cwd=PROJECT_ROOT)
        assert done.returncode == 1 and "run as root" in done.stderr


def test_files_lists_the_backup_key_when_there_is_one(state, tmp_path):
    credentials.ensure(state)
    key = tmp_path / "elsewhere" / "backup.key"
    assert "backup-key" not in credentials.files(state, {"HCWH_BACKUP_KEY": str(key)})
    key.parent.mkdir()
    key.write_text("0" * 64)
    assert credentials.files(state, {"HCWH_BACKUP_KEY": str(key)})["backup-key"] == key


def test_files_lists_the_mail_and_lrs_passwords_and_the_signing_key(state, tmp_path):
    key = tmp_path / "signer" / "certificate.key"
    key.parent.mkdir()
    key.write_text("private")
    env = {"HCWH_SMTP_PASSWORD_FILE": "/etc/city/smtp.password", "HCWH_XAPI_PASSWORD_FILE": "/etc/city/lrs.password",
           "HCWH_SIGNER_PUBLIC_KEY": f"{key}.pub", "HCWH_BACKUP_KEY": str(tmp_path / "no-backup.key")}
    found = credentials.files(state, env)
    assert found["smtp-password"].as_posix() == "/etc/city/smtp.password"
    assert found["xapi-password"].as_posix() == "/etc/city/lrs.password"
    assert found["signer-key"] == key and "backup-key" not in found  # the private key beside KEY.pub
    assert credentials.signer_key_path({}).as_posix() == "/etc/hcwh/signer/certificate.key"


def test_a_password_file_others_can_read_is_refused_naming_it(tmp_path):
    from autograde.private import read_password

    class Refused(Exception):
        pass

    path = tmp_path / "smtp.password"
    path.write_text("s3cret\n")
    path.chmod(0o640)
    with pytest.raises(Refused, match=r"HCWH_SMTP_PASSWORD_FILE .*smtp.password has mode 0640: .* must be 0600"):
        read_password(path, "HCWH_SMTP_USER", "HCWH_SMTP_PASSWORD_FILE", Refused)
    path.chmod(0o600)
    assert read_password(path, "HCWH_SMTP_USER", "HCWH_SMTP_PASSWORD_FILE", Refused) == "s3cret"
    with pytest.raises(Refused, match="HCWH_SMTP_PASSWORD_FILE is not"):
        read_password(None, "HCWH_SMTP_USER", "HCWH_SMTP_PASSWORD_FILE", Refused)
