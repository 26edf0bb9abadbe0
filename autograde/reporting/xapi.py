"""xAPI out: completions and acknowledgements as xAPI 1.0.3 statements to the city's Learning
Record Store, each sent once.

* **completed** (``http://adlnet.gov/expapi/verbs/completed``): a module HR's table marks
  ``complete``, with its score (raw, max, scaled), at the time it was submitted.
* **acknowledged** (``https://w3id.org/xapi/dod-isd/verbs/acknowledged``): an acknowledgement of a
  standard's commitment (the record's ``acknowledgements``).

The learner is an xAPI *account* (``homePage``: the training server's address, ``name``: the
employee id), never an e-mail address. The activity is the module at the version the learner
completed (``<homePage>/modules/<module>`` with the version as an extension). Each statement's id is
a UUID derived from what it says (``uuid5``), so a statement sent twice is the same statement, and
each is recorded in the record database (``xapi_sent``) once the LRS accepts it: a later run sends
only new ones. Per-decision statements are not sent (HR has not asked for them).

Settings from the environment: ``HCWH_XAPI_ENDPOINT`` (the LRS's xAPI base, e.g.
``https://lrs.city.example.gov/xAPI/``), ``HCWH_XAPI_USER`` and ``HCWH_XAPI_PASSWORD_FILE`` (HTTP
basic authentication; the password from a file), ``HCWH_XAPI_HOMEPAGE`` (the training server's
address), ``HCWH_XAPI_CA`` (the city CA's certificate, if needed).
"""

from __future__ import annotations

import base64
import json
import os
import ssl
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path

import pandas as pd

from autograde.config import Settings
from autograde.errors import HcwhError
from autograde.private import private_dir, read_password, replace_private
from autograde.record import audit, db
from autograde.reporting import completion

COMPLETED = "http://adlnet.gov/expapi/verbs/completed"
ACKNOWLEDGED = "https://w3id.org/xapi/dod-isd/verbs/acknowledged"
MODULE_TYPE = "http://adlnet.gov/expapi/activities/module"
NAMESPACE = uuid.UUID("6f1c3f0e-7a51-4c37-9a61-3c0d1b2e8a41")  # this project's, for statement ids
VERSION_EXT = "https://hcwh.example/xapi/extensions/module-version"  # our own IRI: the module version
BATCH = 50


class XapiError(HcwhError, RuntimeError):
    """Settings that cannot be used, or an LRS that refused; the message names what."""


@dataclass(frozen=True)
class LrsSettings:
    endpoint: str | None
    user: str | None
    password_file: Path | None
    homepage: str
    ca_file: Path | None = None

    @classmethod
    def from_env(cls, env: dict | None = None) -> "LrsSettings":
        env = os.environ if env is None else env
        homepage = env.get("HCWH_XAPI_HOMEPAGE", "").strip()
        if not homepage.startswith(("https://", "http://")):
            raise XapiError("HCWH_XAPI_HOMEPAGE is not set to the training server's address (https://...): "
                            "it names the learners' accounts in every statement")
        endpoint = env.get("HCWH_XAPI_ENDPOINT", "").strip() or None
        password = env.get("HCWH_XAPI_PASSWORD_FILE", "").strip()
        ca = env.get("HCWH_XAPI_CA", "").strip()
        return cls(endpoint=endpoint.rstrip("/") + "/" if endpoint else None,
                   user=env.get("HCWH_XAPI_USER", "").strip() or None,
                   password_file=Path(password) if password else None, homepage=homepage.rstrip("/"),
                   ca_file=Path(ca) if ca else None)


def _stamp(value) -> str:
    when = pd.Timestamp(value).to_pydatetime()
    when = when.replace(tzinfo=timezone.utc) if when.tzinfo is None else when.astimezone(timezone.utc)
    return when.isoformat(timespec="seconds").replace("+00:00", "Z")


def _statement(kind: str, learner: str, module: str, title: str, version: str | None, when: str,
               lrs: LrsSettings, result: dict | None = None) -> dict:
    verb = {"completed": (COMPLETED, "completed"), "acknowledged": (ACKNOWLEDGED, "acknowledged")}[kind]
    activity = {"objectType": "Activity", "id": f"{lrs.homepage}/modules/{module}",
                "definition": {"type": MODULE_TYPE, "name": {"en-US": title}}}
    statement = {
        "id": str(uuid.uuid5(NAMESPACE, f"{kind}|{learner}|{module}|{version or ''}|{when}")),
        "actor": {"objectType": "Agent", "account": {"homePage": lrs.homepage, "name": learner}},
        "verb": {"id": verb[0], "display": {"en-US": verb[1]}},
        "object": activity,
        "timestamp": when,
    }
    if version:
        statement["context"] = {"extensions": {VERSION_EXT: version}}
    if result:
        statement["result"] = result
    return statement


def statements(s: Settings, lrs: LrsSettings, table: pd.DataFrame) -> list[dict]:
    """Every statement the record supports, from HR's completion table and the record database."""
    from autograde.catalog import module_catalog
    from autograde.reporting import recert

    titles = {m.id: f"Customer service training {m.id} ({m.standard})" for m in module_catalog(s).values()}
    inputs = recert.read_inputs(s)
    out = []
    for r in table[table["status"] == "complete"].itertuples(index=False):
        when = _stamp(r.submitted_at)
        released = inputs.versions.get(r.module, [])
        version = recert.version_at(released, datetime.fromisoformat(when.replace("Z", "+00:00")))
        result = {"completion": True, "score": {"raw": float(r.score), "min": 0.0, "max": float(r.max_score),
                                                "scaled": round(float(r.score) / float(r.max_score), 4)}}
        out.append(_statement("completed", r.employee_id, r.module, titles.get(r.module, r.module), version, when,
                              lrs, result))
    con = db.connect(s)
    try:
        for a in con.execute("SELECT learner, assignment, version, recorded_at FROM acknowledgements "
                             "WHERE choice = 'acknowledged' ORDER BY recorded_at"):
            out.append(_statement("acknowledged", a["learner"], a["assignment"],
                                  titles.get(a["assignment"], a["assignment"]), a["version"],
                                  _stamp(a["recorded_at"]), lrs))
    finally:
        con.close()
    return out


@dataclass
class SendReport:
    sent: int = 0
    already: int = 0
    written: Path | None = None
    lines_: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        if self.written:
            return [f"{self.sent} statement(s) written to {self.written} (dry run: nothing sent, nothing recorded)"]
        return [f"{self.sent} statement(s) sent to the LRS, {self.already} sent before"]


def _post(lrs: LrsSettings, batch: list[dict]) -> None:
    if not lrs.endpoint:
        raise XapiError("HCWH_XAPI_ENDPOINT is not set: name the LRS's xAPI address (or use --dry-run FILE)")
    headers = {"Content-Type": "application/json", "X-Experience-API-Version": "1.0.3"}
    if lrs.user:
        password = read_password(lrs.password_file, "HCWH_XAPI_USER", "HCWH_XAPI_PASSWORD_FILE", XapiError)
        headers["Authorization"] = "Basic " + base64.b64encode(f"{lrs.user}:{password}".encode()).decode()
    request = urllib.request.Request(lrs.endpoint + "statements", data=json.dumps(batch).encode(), headers=headers,
                                     method="POST")
    context = ssl.create_default_context(cafile=str(lrs.ca_file) if lrs.ca_file else None)
    try:
        with urllib.request.urlopen(request, timeout=30, context=context) as resp:
            resp.read()
    except urllib.error.HTTPError as exc:
        raise XapiError(f"the LRS at {lrs.endpoint} refused {len(batch)} statement(s): HTTP {exc.code} "
                        f"{exc.read()[:300].decode('utf-8', 'replace')}") from None
    except (OSError, urllib.error.URLError) as exc:
        raise XapiError(f"the LRS at {lrs.endpoint} cannot be reached: {exc}") from None


def send(s: Settings, lrs: LrsSettings, as_of: date | None = None, dry_run: Path | None = None) -> SendReport:
    """Send every statement not sent before, in batches; each batch recorded once the LRS accepts it."""
    table = completion.completion_table(s, as_of=as_of)
    found = statements(s, lrs, table)
    con = db.connect(s)
    try:
        sent_before = {r[0] for r in con.execute("SELECT statement_id FROM xapi_sent")}
        new = [st for st in found if st["id"] not in sent_before]
        report = SendReport(already=len(found) - len(new))
        if dry_run is not None:
            private_dir(dry_run.parent)
            replace_private(dry_run, json.dumps(new, indent=1) + "\n")
            report.sent, report.written = len(new), dry_run
            return report
        for start in range(0, len(new), BATCH):
            batch = new[start:start + BATCH]
            _post(lrs, batch)
            now = datetime.now(timezone.utc).isoformat(timespec="seconds")
            con.execute("BEGIN")
            con.executemany("INSERT INTO xapi_sent (statement_id, verb, learner, assignment, sent_at) "
                            "VALUES (?, ?, ?, ?, ?)",
                            [(st["id"], st["verb"]["display"]["en-US"], st["actor"]["account"]["name"],
                              st["object"]["id"].rsplit("/", 1)[-1], now) for st in batch])
            con.execute("COMMIT")
            report.sent += len(batch)
    finally:
        con.close()
    if report.sent:
        audit.record(s, "xapi sent", statements=report.sent, endpoint=lrs.endpoint)
    return report
