"""Issue 13, point 6: the security log's lines (autograde/hub/seclog.py), its settings, and that a
failure to log never raises but is reported. The hub writing them is tests/e2e/test_hub.py."""

from __future__ import annotations

import json
import os
import re
import socket
import stat

import pytest

from autograde.hub import seclog

pytestmark = pytest.mark.unit

FIELDS = {"time", "who", "what", "object", "result"}


def test_a_line_is_one_json_object_with_the_fields_and_utc_time():
    text = seclog.line("login.failed", "ana", "ana", "refused", source="10.0.0.5", service="hub",
                       time="2026-12-02T14:37:48Z")
    assert "\n" not in text
    assert json.loads(text) == {"time": "2026-12-02T14:37:48Z", "who": "ana", "what": "login.failed",
                                "object": "ana", "result": "refused", "source": "10.0.0.5", "service": "hub"}


def test_the_time_is_utc_iso8601_with_z():
    event = json.loads(seclog.line("login", "ana", "ana", "ok"))
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", event["time"])
    assert "source" not in event  # unknown: absent, not made up


def test_an_unknown_event_is_refused_by_name():
    with pytest.raises(seclog.SecLogError, match="'logn' is not one of"):
        seclog.line("logn", "ana", "ana", "ok")


def test_a_newline_in_a_name_cannot_forge_a_second_line():
    text = seclog.line("login.failed", 'x"\n{"what": "login"}', "x", "refused")
    assert len(text.splitlines()) == 1
    assert json.loads(text)["who"] == 'x"\n{"what": "login"}'


@pytest.mark.parametrize("env,message", [
    ({"HCWH_SECLOG": "journald"}, "HCWH_SECLOG is 'journald'"),
    ({"HCWH_SECLOG": "syslog", "HCWH_SYSLOG_ADDRESS": "loghost"}, "HCWH_SYSLOG_ADDRESS is 'loghost'"),
])
def test_wrong_settings_name_the_setting(tmp_path, env, message):
    with pytest.raises(seclog.SecLogError, match=message):
        seclog.settings(tmp_path, env)


def test_the_default_is_a_0600_file_in_a_0700_folder_under_the_state(tmp_path):
    assert seclog.record(tmp_path, "report.download", "hr1", "2026-12-01/learners.csv", environ={})
    assert seclog.record(tmp_path, "login", "hr1", "hr1", environ={})
    log = tmp_path / "logs" / "security.log"
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    assert stat.S_IMODE(log.parent.stat().st_mode) == 0o700
    events = [json.loads(row) for row in log.read_text().splitlines()]
    assert [e["what"] for e in events] == ["report.download", "login"]
    assert all(FIELDS <= set(e) for e in events)


def test_syslog_over_udp_reaches_a_receiver_with_authpriv_priority(tmp_path):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rx:
        rx.bind(("127.0.0.1", 0))
        rx.settimeout(10)
        env = {"HCWH_SECLOG": "syslog", "HCWH_SYSLOG_ADDRESS": f"127.0.0.1:{rx.getsockname()[1]}"}
        assert seclog.record(tmp_path, "login.failed", "ana", "ana", "refused", environ=env)
        data = rx.recv(65536).decode()
    # authpriv (10) * 8 + warning (4) = 84
    m = re.fullmatch(r"<84>hcwh-security\[\d+\]: (\{.*\})", data)
    assert m, data
    assert json.loads(m.group(1))["what"] == "login.failed"
    assert not (tmp_path / "logs").exists()  # syslog only: no file


def test_both_writes_to_a_unix_socket_and_the_file(tmp_path):
    path = tmp_path / "dev-log"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as rx:
        rx.bind(str(path))
        rx.settimeout(10)
        env = {"HCWH_SECLOG": "both", "HCWH_SYSLOG_ADDRESS": str(path)}
        assert seclog.record(tmp_path, "role.change", "root", "ana", role="hr", environ=env)
        data = rx.recv(65536).decode()
    assert data.startswith("<86>hcwh-security[")  # authpriv * 8 + info (6)
    assert json.loads((tmp_path / "logs" / "security.log").read_text())["role"] == "hr"


def test_a_failure_to_log_returns_false_and_says_so_with_the_event(tmp_path, capsys):
    env = {"HCWH_SECLOG": "both", "HCWH_SYSLOG_ADDRESS": str(tmp_path / "no-such-socket")}
    assert seclog.record(tmp_path, "login", "ana", "ana", environ=env) is False
    err = capsys.readouterr().err
    assert "could not write to syslog" in err and str(tmp_path / "no-such-socket") in err
    assert '"what": "login"' in err  # the event itself is not lost
    assert (tmp_path / "logs" / "security.log").is_file()  # the other destination still got it


def test_a_bad_setting_at_record_time_does_not_raise(tmp_path, capsys):
    assert seclog.record(tmp_path, "login", "ana", "ana", environ={"HCWH_SECLOG": "nowhere"}) is False
    assert "HCWH_SECLOG is 'nowhere'" in capsys.readouterr().err


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to make the file as root in another account's folder")
def test_made_by_root_the_file_belongs_to_the_folders_owner(tmp_path):
    folder = tmp_path / "logs"
    folder.mkdir(mode=0o700)
    os.chown(folder, 65534, 65534)
    assert seclog.record(tmp_path, "login", "ana", "ana", environ={})
    assert (folder / "security.log").stat().st_uid == 65534
