"""Reminders through a real SMTP server (aiosmtpd on 127.0.0.1, STARTTLS with a CA the test makes,
a login checked against a password file), over the tiny cohort's real gradebook
(tests/hr_cohort.py): cora never submits, due 2026-11-30; ana and ben have submitted.

Expected by hand: on Thursday 2026-11-26 cora's module is due in 4 days (a "due soon" digest,
her manager copied); the same run again sends nothing; on Tuesday 2026-12-01 it is overdue (a new
digest); an extension to 2026-12-10 makes it due soon again on 2026-12-03 (a new date, a new
digest); dev, whose address is not the city's, is refused every time."""

from __future__ import annotations

import email
import socket
import ssl
from datetime import date, datetime
from email import policy
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from autograde import cli, roster
from autograde.record import audit
from autograde.reporting import completion, reminders
from tests.cohort_hub import make_test_ca
from tests.hr_cohort import MODULE

PASSWORD = "relay-secret-7"
ROSTER = """employee_id,first_name,last_name,email,department,hire_date,cohort,manager_email
ana,Ana,Reyes,ana.reyes@example.org,Permits,2026-10-05,spring,lee.park@example.org
ben,Ben,Okafor,ben.okafor@example.org,Utilities,2026-10-12,spring,
cora,Cora,Lin,cora.lin@example.org,Permits,2026-11-09,autumn,lee.park@example.org
dev,Dev,Shah,dev.shah@mail.example.com,Permits,2026-11-09,autumn,
"""


class Inbox:
    def __init__(self):
        self.messages: list[tuple[str, list[str], email.message.EmailMessage]] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos),
                              email.message_from_bytes(envelope.content, policy=policy.default)))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture()
def relay(tmp_path):
    ca, cert, key = make_test_ca(tmp_path / "tls", "root")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    logins = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (b"hcwh", PASSWORD.encode())
        logins.append(ok)
        return AuthResult(success=ok)

    inbox = Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, tls_context=context, require_starttls=True,
                            authenticator=authenticator, auth_required=True, server_hostname="127.0.0.1")
    controller.start()
    password = tmp_path / "smtp-password"
    password.write_text(PASSWORD + "\n")
    password.chmod(0o600)
    env = {"HCWH_SMTP_HOST": "127.0.0.1", "HCWH_SMTP_PORT": str(port), "HCWH_SMTP_SECURITY": "starttls",
           "HCWH_SMTP_USER": "hcwh", "HCWH_SMTP_PASSWORD_FILE": str(password), "HCWH_SMTP_CA": str(ca),
           "HCWH_MAIL_FROM": "training@example.org", "HCWH_MAIL_DOMAINS": "example.org"}
    try:
        yield inbox, env, logins, password
    finally:
        controller.stop()


@pytest.fixture()
def cohort(tiny_cohort_copy):
    s = tiny_cohort_copy.settings
    path = tiny_cohort_copy.root / "roster-managers.csv"
    path.write_text(ROSTER)
    roster.import_roster(s, path)
    return s


def at(day: str, hour: int, s) -> datetime:
    return datetime.fromisoformat(f"{day}T{hour:02d}:00").replace(tzinfo=ZoneInfo(s.timezone))


def test_digests_go_once_to_city_addresses_copying_the_manager(relay, cohort, tmp_path):
    inbox, env, logins, _ = relay
    s, mail = cohort, reminders.MailSettings.from_env(env)

    # a dry run first: the .eml files, nothing sent, nothing recorded
    dry = reminders.run(s, mail, as_of=date(2026, 11, 26), dry_run=tmp_path / "dry", now=at("2026-11-26", 20, s))
    assert [p.name for p in dry.written] == ["2026-11-26-cora.eml"] and not dry.sent and not inbox.messages
    written = email.message_from_bytes((tmp_path / "dry" / "2026-11-26-cora.eml").read_bytes(), policy=policy.default)
    assert (written["To"], written["Cc"]) == ("cora.lin@example.org", "lee.park@example.org")
    assert (tmp_path / "dry").stat().st_mode & 0o777 == 0o700

    # Thursday 10:00: cora's module is due in 4 days; dev's address is not the city's
    first = reminders.run(s, mail, as_of=date(2026, 11, 26), now=at("2026-11-26", 10, s))
    assert first.sent == ["cora"]
    assert first.refused == ["dev: dev.shah@mail.example.com is not a city address (example.org)"]
    assert logins == [True]
    (sender, rcpts, msg), = inbox.messages
    assert sender == "training@example.org" and sorted(rcpts) == ["cora.lin@example.org", "lee.park@example.org"]
    assert msg["Subject"] == "Due soon: customer service training"
    body = msg.get_content()
    assert f"  - {MODULE}: due Monday, November 30, 2026" in body and "Your manager is copied" in body
    assert body.startswith("Hello Cora Lin,")

    # the same run again, later that day: nothing new, nothing sent
    again = reminders.run(s, mail, as_of=date(2026, 11, 26), now=at("2026-11-26", 15, s))
    assert again.sent == [] and len(inbox.messages) == 1

    # Saturday: outside business hours, refused before anything is planned
    with pytest.raises(reminders.MailError, match="outside business hours"):
        reminders.run(s, mail, as_of=date(2026, 11, 28), now=at("2026-11-28", 10, s))

    # Tuesday 1 December: overdue, a new reminder
    overdue = reminders.run(s, mail, as_of=date(2026, 12, 1), now=at("2026-12-01", 9, s))
    assert overdue.sent == ["cora"] and len(inbox.messages) == 2
    msg = inbox.messages[1][2]
    assert msg["Subject"] == "Overdue: customer service training"
    assert f"  - {MODULE}: was due Monday, November 30, 2026" in msg.get_content()

    # an extension to 10 December: HR's table moves her date, and on 3 December she is due soon again
    assert cli.main(["--state-dir", str(s.state_dir), "extend", "cora", MODULE, "--until", "2026-12-10",
                     "--reason", "family leave", "--approved-by", "M. Chen"]) == 0
    table = completion.completion_table(s, as_of=date(2026, 12, 3)).set_index("employee_id")
    assert str(table.loc["cora", "due"].date()) == "2026-12-10" and table.loc["cora", "status"] == "not started"
    assert str(table.loc["ana", "due"].date()) == "2026-11-20"  # nobody else's date moved
    moved = reminders.run(s, mail, as_of=date(2026, 12, 3), now=at("2026-12-03", 9, s))
    assert moved.sent == ["cora"]
    assert f"  - {MODULE}: due Thursday, December 10, 2026" in inbox.messages[2][2].get_content()

    # the audit trail: each reminder and the extension, no address, no name; the chain holds
    lines = audit.log_path(s).read_text().splitlines()
    kinds = [line for line in lines if '"event":"reminder"' in line or '"event":"extension"' in line]
    assert len(kinds) == 4 and not any("@" in line or "Cora" in line for line in kinds)
    assert audit.verify(audit.log_path(s)).ok


def test_a_wrong_password_sends_and_records_nothing(relay, cohort):
    inbox, env, logins, password = relay
    password.write_text("not-it\n")
    mail = reminders.MailSettings.from_env(env)
    with pytest.raises(reminders.MailError, match="nothing was sent"):
        reminders.run(cohort, mail, as_of=date(2026, 11, 26), now=at("2026-11-26", 10, cohort))
    assert logins == [False] and not inbox.messages
    password.write_text(PASSWORD)  # fixed: the reminder still goes, once
    assert reminders.run(cohort, mail, as_of=date(2026, 11, 26), now=at("2026-11-26", 10, cohort)).sent == ["cora"]


def test_an_extension_is_refused_when_it_does_not_move_the_date_later(cohort):
    with pytest.raises(roster.ExtensionRefused, match="not after the learner's due date 2026-11-30"):
        roster.add_extension(cohort, "cora", MODULE, "2026-11-29", "x", "M. Chen", "hr1")
    with pytest.raises(roster.ExtensionRefused, match="--approved-by is required"):
        roster.add_extension(cohort, "cora", MODULE, "2026-12-29", "family leave", " ", "hr1")
    with pytest.raises(roster.ExtensionRefused, match="not assigned"):
        roster.add_extension(cohort, "cora", "02-anticipation", "2026-12-29", "x", "M. Chen", "hr1")
    assert roster.load(cohort).extensions == {}


def test_the_learners_own_plan_and_the_late_note_follow_the_extension(cohort):
    """The exchange's "my plan" (the learner's page) shows her own date, not the cohort's."""
    from autograde.exchange.service import Store, my_plan
    from autograde.exchange.store import store_dir
    from autograde.private import private_dir

    store = Store(private_dir(store_dir(cohort)))
    before = my_plan(cohort, store, "cora", today=date(2026, 12, 1))["modules"]
    assert [(m["module"], m["due_date"], m["status"]) for m in before] == [(MODULE, "2026-11-30", "overdue")]
    roster.add_extension(cohort, "cora", MODULE, "2026-12-10", "family leave", "M. Chen", "hr1")
    after = my_plan(cohort, store, "cora", today=date(2026, 12, 1))["modules"]
    assert [(m["module"], m["due_date"], m["status"]) for m in after] == [(MODULE, "2026-12-10", "not started")]
    assert my_plan(cohort, store, "dev", today=date(2026, 12, 1))["modules"][0]["due_date"] == "2026-11-30"


def test_a_department_rule_moves_hr_dates_and_lateness(cohort, tmp_path, capsys):
    rules = tmp_path / "rules.csv"
    rules.write_text(f"department,module,days_after_hire\nPermits,{MODULE},14\n")
    assert cli.main(["--state-dir", str(cohort.state_dir), "due-rules", "import", str(rules)]) == 0
    assert "1 added" in capsys.readouterr().out
    table = completion.completion_table(cohort, as_of=date(2026, 11, 26)).set_index("employee_id")
    # Permits: ana hired 2026-10-05 + 14 = 2026-10-19; cora 2026-11-09 + 14 = 2026-11-23. Ben (Utilities) keeps spring's 11-20.
    assert {eid: str(table.loc[eid, "due"].date()) for eid in ("ana", "ben", "cora")} == {
        "ana": "2026-10-19", "ben": "2026-11-20", "cora": "2026-11-23"}
    assert bool(table.loc["ana", "late"]) is True  # submitted 2026-11-18, after her own 10-19
    assert table.loc["cora", "status"] == "overdue"
    rules.write_text("department,module,days_after_hire\n")  # a header only: refused, rules kept
    assert cli.main(["--state-dir", str(cohort.state_dir), "due-rules", "import", str(rules)]) == 2
    assert roster.load(cohort).due("cora", MODULE).source == "rule"
