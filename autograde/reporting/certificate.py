"""Certificates of completion: issued when every module assigned to a learner is complete (HR's
rule, ``completion.completion_table``: no second rule here), signed by the signer helper, verified
by anyone holding the public key.

A certificate is its **payload**, canonical JSON (``kind``, ``id``, course, learner id and name, the
issuing time, and per module its standard, version, completion and acknowledgement dates), and an
Ed25519 **signature** over it made by ``autograde/record/signer.py``, which runs as its own account
and alone can read the private key (``HCWH_SIGNER``: the command that runs it; the application holds
only the public key, ``HCWH_SIGNER_PUBLIC_KEY``). Both are kept in ``record.db`` (``certificates``,
never edited); the page is ``<state>/certificates/<learner>/<id>.html`` (0600): print-ready HTML,
headings, a table with a caption, no script, print CSS.

The **verification code** is ``HCWH1-<id>-<signature>``. ``verify`` finds the certificate by its id,
checks that the code's signature is the one recorded and that it verifies over the recorded payload
with the public key (an edited code or an edited record is not genuine), then says revoked (a
``certificate_revocations`` row), superseded (a newer certificate for the learner, or a newer version
of one of its modules released since) or current.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import secrets
import shlex
import sqlite3
import subprocess
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from autograde import roster
from autograde.config import Settings
from autograde.private import create_private, private_dir
from autograde.record import acknowledgements, audit, versions
from autograde.record.db import RecordError, connect, transaction
from autograde.reporting.completion import completion_table

SIGNER_ENV = "HCWH_SIGNER"
PUBLIC_KEY_ENV = "HCWH_SIGNER_PUBLIC_KEY"
KIND = "hcwh certificate"  # the signer signs nothing else
CODE_PREFIX = "HCWH1"
EXIT_CODES = {"current": 0, "not genuine": 1, "superseded": 4, "revoked": 5}
TEMPLATES = Path(__file__).parent / "templates"


class CertificateError(RecordError):
    """A certificate cannot be issued, revoked or checked; the message says which and why."""


@dataclass(frozen=True)
class Issued:
    id: str
    code: str
    page: Path
    payload: dict


@dataclass(frozen=True)
class Verdict:
    status: str  # "current", "superseded", "revoked" or "not genuine"
    words: str
    certificate: dict | None = None

    @property
    def exit_code(self) -> int:
        """hcwh verify's exit: 0 current, 1 not genuine, 4 superseded, 5 revoked (2 stays hcwh's "error")."""
        return EXIT_CODES[self.status]


# -- the signer and its public key ---------------------------------------------------------


def signer_command() -> list[str]:
    command = os.environ.get(SIGNER_ENV, "").strip()
    if not command:
        raise CertificateError(f"no certificate signer: set ${SIGNER_ENV} to the command that runs the signer helper "
                               "as its own account (README, The compliance record: certificates)")
    return shlex.split(command)


def public_key():
    path = os.environ.get(PUBLIC_KEY_ENV, "").strip()
    if not path:
        raise CertificateError(f"no public key to check certificates with: set ${PUBLIC_KEY_ENV} to the signer's "
                               "public key file (KEYFILE.pub)")
    try:
        data = Path(path).read_bytes()
        return serialization.load_pem_public_key(data), hashlib.sha256(data).hexdigest()
    except (OSError, ValueError) as exc:
        raise CertificateError(f"{path}: cannot read the signer's public key ({exc})") from None


def canonical(payload: dict) -> bytes:
    return json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _b64(signature: str) -> bytes:
    return base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))


def signed(payload: bytes, signature: str, key) -> bool:
    try:
        key.verify(_b64(signature), payload)
        return True
    except (InvalidSignature, binascii.Error, ValueError):
        return False


def sign(payload: bytes) -> str:
    """Ask the signer helper; its answer is checked against the public key before it is used."""
    command = signer_command()
    try:
        run = subprocess.run(command, input=payload, capture_output=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise CertificateError(f"the certificate signer ({command[0]}) could not run: {exc}; nothing was issued") from None
    if run.returncode != 0:
        words = run.stderr.decode("utf-8", "replace").strip() or f"exit {run.returncode}"
        raise CertificateError(f"the certificate signer refused: {words}; nothing was issued")
    signature = run.stdout.decode("ascii", "replace").strip()
    key, _ = public_key()
    if not signed(payload, signature, key):
        raise CertificateError(f"the signer's signature does not verify with the public key in ${PUBLIC_KEY_ENV}: "
                               "the signer and the public key do not match; nothing was issued")
    return signature


# -- issuing --------------------------------------------------------------------------------


def _version_completed(s: Settings, module: str, submitted_utc: datetime) -> str:
    """The module's version in force when the learner submitted it (the last released by then)."""
    found = [v for v in versions.released(s, module) if datetime.fromisoformat(v["released_at"]) <= submitted_utc]
    if not found:
        raise CertificateError(f"{module}: no version of it was recorded as released before the learner submitted "
                               "it (release it with hcwh release); nothing was issued")
    return found[-1]["version"]


def certificate_payload(s: Settings, learner: str, now: datetime | None = None) -> dict:
    """What a certificate for ``learner`` would say, or a CertificateError naming what is not complete."""
    person = roster.load(s).learners.get(learner)
    if person is None:
        raise CertificateError(f"'{learner}' is not on the roster; nothing was issued")
    table = completion_table(s, cohort=person.cohort)
    mine = table[table["employee_id"] == learner]
    if mine.empty:
        raise CertificateError(f"{learner} has no assigned modules (cohort {person.cohort}); nothing was issued")
    open_ = mine[mine["status"] != "complete"]
    if not open_.empty:
        left = ", ".join(f"{r.module} ({r.status})" for r in open_.itertuples())
        raise CertificateError(f"{learner} has not completed every assigned module: {left}; nothing was issued")
    tz = ZoneInfo(s.timezone)
    acks = acknowledgements.listed(s, learner)
    modules = []
    for r in mine.sort_values("module").itertuples():
        submitted = pd.Timestamp(r.submitted_at).tz_localize(tz).to_pydatetime().astimezone(timezone.utc)
        version = _version_completed(s, r.module, submitted)
        acked = [a for a in acks if a["assignment"] == r.module and a["version"] == version
                 and a["choice"] == "acknowledged"]
        modules.append({
            "module": r.module, "standard": r.standard, "version": version,
            "completed_on": pd.Timestamp(r.submitted_at).date().isoformat(),
            "acknowledged_on": (datetime.fromisoformat(acked[0]["recorded_at"]).astimezone(tz).date().isoformat()
                                if acked else None),
            "acknowledged_way": acked[0]["way"] if acked else None,
        })
    return {"kind": KIND, "id": secrets.token_hex(8), "course": s.course_id, "learner": learner,
            "name": f"{person.first_name} {person.last_name}",
            "issued_at": (now or datetime.now(timezone.utc)).isoformat(), "modules": modules}


def code_of(cert_id: str, signature: str) -> str:
    return f"{CODE_PREFIX}-{cert_id}-{signature}"


def certificates_dir(s: Settings) -> Path:
    return s.state_dir / "certificates"


def render(s: Settings, payload: dict, code: str) -> str:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined)
    tz = ZoneInfo(s.timezone)
    issued = datetime.fromisoformat(payload["issued_at"]).astimezone(tz)
    return env.get_template("certificate.html.j2").render(
        c=payload, code=code, issued=f"{issued.day} {issued:%B %Y}", day=lambda iso: (
            f"{datetime.fromisoformat(iso).day} {datetime.fromisoformat(iso):%B %Y}" if iso else ""))


def issue(s: Settings, learner: str, issued_by: str) -> Issued:
    """Sign, record, audit and write the certificate page; nothing is kept when any step fails."""
    payload = certificate_payload(s, learner)
    body = canonical(payload)
    signature = sign(body)
    _, key_sha = public_key()
    code = code_of(payload["id"], signature)
    folder = private_dir(private_dir(certificates_dir(s)) / learner)
    page = folder / f"{payload['id']}.html"
    html = render(s, payload, code)
    with transaction(s) as con:
        con.execute("INSERT INTO certificates VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (payload["id"], learner, payload["issued_at"], issued_by, body.decode("utf-8"), signature, key_sha))
        try:
            with create_private(page) as f:
                f.write(html)
            audit.record(s, "certificate issued", learner=learner, certificate=payload["id"], issued_by=issued_by,
                         modules={m["module"]: m["version"] for m in payload["modules"]})
        except BaseException:
            page.unlink(missing_ok=True)
            raise
    return Issued(payload["id"], code, page, payload)


# -- verifying and revoking -------------------------------------------------------------------


def _parse(code: str) -> tuple[str, str] | None:
    parts = code.strip().split("-", 2)
    if len(parts) != 3 or parts[0] != CODE_PREFIX or len(parts[1]) != 16:
        return None
    return parts[1], parts[2]


def _row(con: sqlite3.Connection, cert_id: str) -> sqlite3.Row | None:
    return con.execute("SELECT * FROM certificates WHERE id = ?", (cert_id,)).fetchone()


def verify(s: Settings, code: str) -> Verdict:
    parsed = _parse(code)
    if parsed is None:
        return Verdict("not genuine", f"'{code[:40]}' is not a certificate code of this course "
                       f"({CODE_PREFIX}-<16 hex>-<signature>)")
    cert_id, signature = parsed
    key, key_sha = public_key()
    con = connect(s)
    try:
        row = _row(con, cert_id)
        if row is None:
            return Verdict("not genuine", f"no certificate {cert_id} was ever issued by this course")
        if not secrets.compare_digest(row["signature"], signature):
            return Verdict("not genuine", f"the code's signature is not certificate {cert_id}'s: the code was edited "
                           "or forged")
        if not signed(row["payload"].encode("utf-8"), signature, key):
            return Verdict("not genuine", f"certificate {cert_id}'s record does not match its signature: the record "
                           "was edited, or it was signed by another key")
        payload = json.loads(row["payload"])
        who = f"certificate {cert_id} for {payload['name']} ({payload['learner']}), issued {payload['issued_at'][:10]}"
        revoked = con.execute("SELECT * FROM certificate_revocations WHERE certificate = ?", (cert_id,)).fetchone()
        if revoked is not None:
            return Verdict("revoked", f"genuine but revoked: {who}; revoked on {revoked['revoked_at'][:10]} by "
                           f"{revoked['revoked_by']}: {revoked['reason']}", payload)
        newer = con.execute("SELECT id, issued_at FROM certificates WHERE learner = ? AND issued_at > ? "
                            "ORDER BY issued_at DESC", (payload["learner"], payload["issued_at"])).fetchone()
    finally:
        con.close()
    if newer is not None:
        return Verdict("superseded", f"genuine but superseded: {who}; a newer certificate, {newer['id']}, was issued "
                       f"on {newer['issued_at'][:10]}", payload)
    changed = [m["module"] for m in payload["modules"] if versions.current(s, m["module"]) != m["version"]]
    if changed:
        return Verdict("superseded", f"genuine but superseded: {who}; a newer version of {', '.join(changed)} has been "
                       "released since (the learner may need to re-acknowledge or retrain)", payload)
    return Verdict("current", f"genuine and current: {who}; modules " + ", ".join(
        f"{m['module']} (version {m['version'][:12]}, completed {m['completed_on']})" for m in payload["modules"]),
        payload)


def revoke(s: Settings, code_or_id: str, revoked_by: str, reason: str) -> str:
    reason = " ".join(reason.split())
    if not reason:
        raise CertificateError("revoking a certificate needs its reason (--reason)")
    parsed = _parse(code_or_id)
    cert_id = parsed[0] if parsed else code_or_id.strip()
    with transaction(s) as con:
        row = _row(con, cert_id)
        if row is None:
            raise CertificateError(f"no certificate {cert_id!r} was issued by this course; nothing was revoked")
        try:
            con.execute("INSERT INTO certificate_revocations VALUES (?, ?, ?, ?)",
                        (cert_id, datetime.now(timezone.utc).isoformat(), revoked_by, reason))
        except sqlite3.IntegrityError:
            raise CertificateError(f"certificate {cert_id} is already revoked; nothing was changed") from None
        # the reason stays in record.db (it may say personal things); the chain keeps the fact
        audit.record(s, "certificate revoked", learner=row["learner"], certificate=cert_id, revoked_by=revoked_by)
    return cert_id
