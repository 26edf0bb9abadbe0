"""Reminders: one digest per learner before a module is due and once it is overdue, copying the
learner's manager (the roster's ``manager_email``), to city addresses only, in business hours.

What is due comes from HR's completion table (``completion.completion_table``: the same statuses
and the same due dates, extensions and rules included). A module is reminded when the learner has
sent nothing for it: "due soon" when it is due within ``days`` days (the due day included),
"overdue" once the due day has passed. A submission, graded or not, ends its reminders.

Never the same reminder twice: each item (learner, module, kind, due date) is recorded in the
record database when its digest is sent, and a later run leaves it out; a digest with no new item
is not sent. A new due date (an extension) is a new item. A dry run writes each digest as an
``.eml`` file and records nothing, so a real run afterwards still sends it.

Mail settings come from the environment (``MailSettings.from_env``); the password from a file
(``HCWH_SMTP_PASSWORD_FILE``), never from a variable, a config file or the command line.
"""

from __future__ import annotations

import os
import smtplib
import ssl
from dataclasses import dataclass, field
from datetime import date, datetime, time
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd

from autograde import roster
from autograde.config import Settings
from autograde.errors import HcwhError
from autograde.private import private_dir, read_password, replace_private
from autograde.record import audit, db
from autograde.reporting import completion

KINDS = ("due soon", "overdue")
DEFAULT_DAYS = 7
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


class MailError(HcwhError, RuntimeError):
    """Mail settings that cannot be used, or a run refused; the message names what and where."""


@dataclass(frozen=True)
class MailSettings:
    host: str | None
    port: int
    security: str  # "starttls", "tls" or "none"
    user: str | None
    password_file: Path | None
    ca_file: Path | None
    sender: str
    domains: tuple[str, ...]  # the city's mail domains: no reminder leaves for any other
    hours: tuple[time, time]  # business hours, city time
    weekdays: tuple[int, ...]  # 0 = Monday

    @classmethod
    def from_env(cls, env: dict | None = None) -> "MailSettings":
        env = os.environ if env is None else env

        def get(name: str, default: str | None = None) -> str | None:
            value = env.get(name, "").strip()
            return value or default

        domains = tuple(d.strip().lower().lstrip("@") for d in (get("HCWH_MAIL_DOMAINS") or "").split(",") if d.strip())
        if not domains:
            raise MailError("HCWH_MAIL_DOMAINS is not set: name the city's mail domains (e.g. 'city.example.gov'); "
                            "reminders go to no other address")
        sender = get("HCWH_MAIL_FROM")
        if not sender or "@" not in sender:
            raise MailError("HCWH_MAIL_FROM is not set to an address (the training team's mailbox)")
        security = get("HCWH_SMTP_SECURITY", "starttls")
        if security not in ("starttls", "tls", "none"):
            raise MailError(f"HCWH_SMTP_SECURITY={security!r}: use starttls, tls or none")
        port_text = get("HCWH_SMTP_PORT", "465" if security == "tls" else "587")
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise MailError(f"HCWH_SMTP_PORT={port_text!r} is not a port number")
        hours_text = get("HCWH_MAIL_HOURS", "08:00-17:00")
        try:
            start, end = (time.fromisoformat(part.strip()) for part in hours_text.split("-"))
        except ValueError:
            raise MailError(f"HCWH_MAIL_HOURS={hours_text!r}: write it as HH:MM-HH:MM, e.g. 08:00-17:00") from None
        if not start < end:
            raise MailError(f"HCWH_MAIL_HOURS={hours_text!r}: the start is not before the end")
        days_text = get("HCWH_MAIL_DAYS", "Mon-Fri")
        try:
            first, _, last = days_text.partition("-")
            a, b = WEEKDAYS.index(first.strip()[:3].title()), WEEKDAYS.index((last or first).strip()[:3].title())
        except ValueError:
            raise MailError(f"HCWH_MAIL_DAYS={days_text!r}: write it as Mon-Fri (or one day)") from None
        password_file = get("HCWH_SMTP_PASSWORD_FILE")
        ca_file = get("HCWH_SMTP_CA")
        return cls(host=get("HCWH_SMTP_HOST"), port=int(port_text), security=security, user=get("HCWH_SMTP_USER"),
                   password_file=Path(password_file) if password_file else None,
                   ca_file=Path(ca_file) if ca_file else None, sender=sender, domains=domains,
                   hours=(start, end), weekdays=tuple(range(a, b + 1)))

    def in_hours(self, now: datetime) -> bool:
        return now.weekday() in self.weekdays and self.hours[0] <= now.time() < self.hours[1]

    def is_city(self, address: str) -> bool:
        return address.rsplit("@", 1)[-1].lower() in self.domains


@dataclass(frozen=True)
class Item:
    module: str
    kind: str  # one of KINDS
    due: str  # ISO date

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.module, self.kind, self.due)


@dataclass
class Digest:
    employee_id: str
    name: str
    to: str
    cc: str  # "" when the roster names no manager
    items: list[Item] = field(default_factory=list)


def due_items(table: pd.DataFrame, as_of: date, days: int = DEFAULT_DAYS) -> dict[str, list[Item]]:
    """employee id -> the modules to remind them of on ``as_of``, from HR's completion table. Pure."""
    out: dict[str, list[Item]] = {}
    for row in table.itertuples(index=False):
        if row.status not in ("not started", "overdue"):
            continue  # something was sent: no reminder
        due = row.due.date()
        if due < as_of:
            kind = "overdue"
        elif (due - as_of).days <= days:
            kind = "due soon"
        else:
            continue
        out.setdefault(row.employee_id, []).append(Item(row.module, kind, due.isoformat()))
    return out


def _sent(con, employee_id: str) -> set[tuple[str, str, str]]:
    rows = con.execute("SELECT assignment, kind, due_date FROM reminders_sent WHERE employee_id = ?", (employee_id,))
    return {tuple(r) for r in rows}


def plan(s: Settings, as_of: date, days: int = DEFAULT_DAYS) -> list[Digest]:
    """The digests a run on ``as_of`` would send: only items never sent before."""
    data = roster.load(s)
    table = completion.completion_table(s, as_of=as_of)
    digests = []
    con = db.connect(s)
    try:
        for eid, items in sorted(due_items(table, as_of, days).items()):
            learner = data.learners[eid]
            new = [i for i in items if i.key not in _sent(con, eid)]
            if new:
                digests.append(Digest(eid, learner.name, learner.email, learner.manager_email, new))
    finally:
        con.close()
    return digests


def _day(iso: str) -> str:
    d = date.fromisoformat(iso)
    return f"{d:%A}, {d:%B} {d.day}, {d.year}"


def message(digest: Digest, mail: MailSettings, s: Settings, now: datetime) -> EmailMessage:
    """The digest as plain text: readable by any mail program and any screen reader."""
    overdue = [i for i in digest.items if i.kind == "overdue"]
    soon = [i for i in digest.items if i.kind == "due soon"]
    lines = [f"Hello {digest.name},", ""]
    if overdue:
        lines += ["These customer service training modules are past their due date:", ""]
        lines += [f"  - {i.module}: was due {_day(i.due)}" for i in overdue] + [""]
    if soon:
        lines += ["These customer service training modules are due soon:", ""]
        lines += [f"  - {i.module}: due {_day(i.due)}" for i in soon] + [""]
    lines += [
        "Open My modules on the training server to start or finish them.",
        "If you need more time, talk to your supervisor: an extension is recorded by the training team.",
        "",
    ]
    if digest.cc:
        lines.append("Your manager is copied on this message.")
    lines.append("This is an automatic reminder from the city's customer service training.")
    msg = EmailMessage()
    msg["From"] = mail.sender
    msg["To"] = digest.to
    if digest.cc:
        msg["Cc"] = digest.cc
    msg["Subject"] = ("Overdue: " if overdue else "Due soon: ") + "customer service training"
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = make_msgid(domain=mail.sender.rsplit("@", 1)[-1])
    msg.set_content("\n".join(lines) + "\n")
    return msg


@dataclass
class RunReport:
    sent: list[str] = field(default_factory=list)  # employee ids
    written: list[Path] = field(default_factory=list)  # dry run
    refused: list[str] = field(default_factory=list)  # "id: why"

    def lines(self) -> list[str]:
        out = [f"{len(self.sent)} reminder(s) sent, {len(self.written)} written as a dry run, "
               f"{len(self.refused)} refused"]
        out += [f"  wrote {p}" for p in self.written]
        out += [f"  refused {r}" for r in self.refused]
        return out


def _connect(mail: MailSettings) -> smtplib.SMTP:
    if not mail.host:
        raise MailError("HCWH_SMTP_HOST is not set: name the city's mail relay (or use --dry-run DIR)")
    context = ssl.create_default_context(cafile=str(mail.ca_file) if mail.ca_file else None)
    try:
        if mail.security == "tls":
            smtp = smtplib.SMTP_SSL(mail.host, mail.port, timeout=30, context=context)
        else:
            smtp = smtplib.SMTP(mail.host, mail.port, timeout=30)
            if mail.security == "starttls":
                smtp.starttls(context=context)
        if mail.user:
            smtp.login(mail.user, read_password(mail.password_file, "HCWH_SMTP_USER", "HCWH_SMTP_PASSWORD_FILE",
                                                MailError))
    except (OSError, smtplib.SMTPException) as exc:
        raise MailError(f"mail relay {mail.host}:{mail.port} ({mail.security}): {exc}; nothing was sent") from None
    return smtp


def run(s: Settings, mail: MailSettings, as_of: date | None = None, days: int = DEFAULT_DAYS,
        dry_run: Path | None = None, now: datetime | None = None) -> RunReport:
    """Send (or, with ``dry_run``, write) every digest due. Each sent digest is recorded at once,
    so a fault part-way sends nothing twice and loses nothing: the rest go on the next run."""
    tz = ZoneInfo(s.timezone)
    now = (now or datetime.now(tz)).astimezone(tz)
    as_of = as_of or now.date()
    if dry_run is None and not mail.in_hours(now):
        first, last = WEEKDAYS[mail.weekdays[0]], WEEKDAYS[mail.weekdays[-1]]
        raise MailError(f"it is {now:%a %H:%M} ({s.timezone}), outside business hours "
                        f"({first}-{last} {mail.hours[0]:%H:%M}-{mail.hours[1]:%H:%M}, HCWH_MAIL_HOURS/HCWH_MAIL_DAYS): "
                        "nothing sent; run again then, or use --dry-run DIR to see what would go")
    report = RunReport()
    digests = []
    for digest in plan(s, as_of, days):
        outside = [a for a in (digest.to, digest.cc) if a and not mail.is_city(a)]
        if outside:
            report.refused.append(f"{digest.employee_id}: {', '.join(outside)} is not a city address "
                                  f"({', '.join(mail.domains)})")
        else:
            digests.append(digest)
    if dry_run is not None:
        private_dir(dry_run)
        for digest in digests:
            path = dry_run / f"{as_of.isoformat()}-{digest.employee_id}.eml"
            replace_private(path, message(digest, mail, s, now).as_string())
            report.written.append(path)
        return report
    if not digests:
        return report
    con = db.connect(s)
    smtp = _connect(mail)
    try:
        for digest in digests:
            msg = message(digest, mail, s, now)
            smtp.send_message(msg)
            sent_at = datetime.now(tz).astimezone(ZoneInfo("UTC")).isoformat(timespec="seconds")
            con.execute("BEGIN")
            con.executemany(
                "INSERT INTO reminders_sent (employee_id, assignment, kind, due_date, sent_at, message_id) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [(digest.employee_id, i.module, i.kind, i.due, sent_at, msg["Message-ID"]) for i in digest.items])
            con.execute("COMMIT")
            audit.record(s, "reminder", learner=digest.employee_id, manager_copied=bool(digest.cc),
                         items=[{"assignment": i.module, "kind": i.kind, "due": i.due} for i in digest.items])
            report.sent.append(digest.employee_id)
    except (OSError, smtplib.SMTPException) as exc:
        raise MailError(f"mail relay {mail.host}:{mail.port}: {exc}; {len(report.sent)} reminder(s) were sent "
                        "and recorded before this; the rest go on the next run") from None
    finally:
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            pass
        con.close()
    return report
