"""The exchange as a hub service: the facts that decide a grade (who submitted, when) are
the server's, never a file a learner wrote.

Run by the hub as a managed service, as the course account (``hub_service_spec``). Every
request carries a hub token (``Authorization: token …``); the hub says whose it is
(``HubAuthenticated``), and that name is the learner: no request field can name another.
Trainers are whoever holds the scope ``TRAINER_SCOPE`` (the hub gives it to the trainers
group and to the trainer-side services). The store, ``<state>/hub-exchange/`` (0700; files
0600), is written only here:

    releases/<module>/                       the released files (replaced whole on release)
    submissions/<learner>/<module>/<NNNN>/   one immutable version per submission:
        files/…                              what the learner sent (regular files only)
        receipt.json                         who, when (the server's UTC clock), sha256 of each file
    feedback/<learner>/<module>/             the feedback HTML for that learner's collected version
    audit.jsonl                              every accepted and refused request, one line each

The HTTP API lives under ``<prefix>api/``; ``autograde/exchange/client.py`` is its client.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import sys
import tempfile
from datetime import date, datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from jupyterhub.services.auth import HubAuthenticated
from tornado import web
from tornado.ioloop import IOLoop

from autograde import catalog, clock, roster
from autograde.config import Settings
from autograde.exchange.archive import (
    MAX_ARCHIVE_BYTES,
    ArchiveRefused,
    Member,
    pack_members,
    replace_folder,
    unpack,
    write_tree,
)
from autograde.exchange.names import SERVICE_NAME, TRAINER_SCOPE
from autograde.exchange.store import store_dir, versions
from autograde.private import DIR_MODE, private_dir, replace_private

NAME = roster._ID  # the roster's id rule, for learners and modules alike
RESERVED = ("timestamp.txt", "submission_secret.txt")  # written by the exchange, never by a learner
CLAIM_HEADER = "X-HCWH-Student"  # what the client was told the learner is (nbgrader's --student); checked, never used


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


class Refused(web.HTTPError):
    """A request refused with a note for the person who sent it (and the audit log)."""

    def __init__(self, status: int, note: str):
        super().__init__(status, reason="Refused")
        self.note = note


class Store:
    """The service's files. Single-threaded (one tornado loop), so no locking beyond exclusive creates."""

    def __init__(self, root: Path):
        self.root = root
        for sub in ("releases", "submissions", "feedback"):
            private_dir(root / sub)
        os.chmod(root, DIR_MODE)

    # -- audit --------------------------------------------------------------------
    def audit(self, **entry) -> None:
        line = json.dumps({"at": utc_now().isoformat(), **entry}, sort_keys=True) + "\n"
        fd = os.open(self.root / "audit.jsonl", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as f:
            f.write(line)

    # -- releases -----------------------------------------------------------------
    def releases(self) -> list[dict]:
        out = []
        for d in sorted((self.root / "releases").iterdir()):
            meta = d / ".release.json"
            if d.is_dir() and meta.is_file():
                out.append(json.loads(meta.read_text(encoding="utf-8")))
        return out

    def release_files(self, module: str) -> list[Member]:
        d = self.root / "releases" / module
        if not (d / ".release.json").is_file():
            raise Refused(404, f"module '{module}' has not been released")
        return _read_tree(d / "files")

    def release(self, module: str, members: list[Member], by: str, force: bool) -> dict:
        final = self.root / "releases" / module
        if final.exists() and not force:
            raise Refused(409, f"module '{module}' is already released; release it again with --force to replace it")
        meta = {"module": module, "released_at": utc_now().isoformat(), "released_by": by,
                "files": sorted(m.path for m in members)}
        _swap_in(final, members, meta, ".release.json")
        return meta

    # -- submissions --------------------------------------------------------------
    def _versions(self, learner: str, module: str) -> list[Path]:
        return versions(self.root, learner, module)

    def submit(self, learner: str, module: str, members: list[Member]) -> dict:
        folder = self.root / "submissions" / learner / module
        private_dir(folder.parent)
        private_dir(folder)
        staging = Path(tempfile.mkdtemp(prefix=".incoming-", dir=folder))
        try:
            write_tree(staging / "files", members)
            versions = self._versions(learner, module)
            number = int(versions[-1].name) + 1 if versions else 1
            receipt = {
                "learner": learner, "module": module, "version": number,
                "received_at": utc_now().isoformat(),  # the server's clock, the only time lateness is judged by
                "clock_synced": clock.synced(),  # False: a late mark on this receipt comes with a warning
                "files": {m.path: {"sha256": m.sha256, "bytes": len(m.data)} for m in members},
                "secret": secrets.token_hex(32),  # nbgrader's submission_secret (ties feedback to this version)
            }
            replace_private(staging / "receipt.json", json.dumps(receipt, indent=1) + "\n")
            os.rename(staging, folder / f"{number:04d}")  # never onto an existing version
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return receipt

    def receipt(self, learner: str, module: str, version: int) -> dict:
        path = self.root / "submissions" / learner / module / f"{version:04d}" / "receipt.json"
        if not path.is_file():
            raise Refused(404, f"no submission {version} of '{module}' by '{learner}'")
        return json.loads(path.read_text(encoding="utf-8"))

    def receipts(self, learner: str | None = None, module: str | None = None) -> list[dict]:
        base = self.root / "submissions"
        learners = [learner] if learner else sorted(p.name for p in base.iterdir() if p.is_dir())
        out = []
        for who in learners:
            modules = [module] if module else sorted(p.name for p in (base / who).glob("*") if p.is_dir())
            for mod in modules:
                out += [json.loads((v / "receipt.json").read_text(encoding="utf-8")) for v in self._versions(who, mod)]
        return out

    def submission_files(self, learner: str, module: str, version: int) -> list[Member]:
        self.receipt(learner, module, version)
        return _read_tree(self.root / "submissions" / learner / module / f"{version:04d}" / "files")

    # -- feedback -----------------------------------------------------------------
    def release_feedback(self, learner: str, module: str, version: int, members: list[Member], by: str) -> dict:
        receipt = self.receipt(learner, module, version)
        meta = {"learner": learner, "module": module, "version": version, "received_at": receipt["received_at"],
                "released_at": utc_now().isoformat(), "released_by": by, "files": sorted(m.path for m in members)}
        _swap_in(self.root / "feedback" / learner / module, members, meta, ".feedback.json", make_parent=True)
        return meta

    def feedback(self, learner: str, module: str) -> tuple[dict, list[Member]] | None:
        d = self.root / "feedback" / learner / module
        if not (d / ".feedback.json").is_file():
            return None
        return json.loads((d / ".feedback.json").read_text(encoding="utf-8")), _read_tree(d / "files")


def _read_tree(folder: Path) -> list[Member]:
    out = []
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not path.is_symlink():
            out.append(Member(path.relative_to(folder).as_posix(), path.read_bytes()))
    return out


def _swap_in(final: Path, members: list[Member], meta: dict, meta_name: str, make_parent: bool = False) -> None:
    """Replace ``final`` whole with ``files/`` (the members) and the ``meta_name`` record."""
    if make_parent:
        private_dir(final.parent)

    def fill(staging: Path) -> None:
        private_dir(staging)
        write_tree(staging / "files", members)
        replace_private(staging / meta_name, json.dumps(meta, indent=1) + "\n")

    replace_folder(final, fill)


# -- "my plan" ---------------------------------------------------------------------


def plan_status(received_at: str | None, due: date, today: date, tz: ZoneInfo) -> str:
    """A module's status for its learner: the last submission counts, late when the city's calendar
    day of its receipt (the server's clock) is after the due date, as HR's report judges it."""
    if received_at:
        local = datetime.fromisoformat(received_at).astimezone(tz)
        return "submitted late" if local.date() > due else "submitted"
    return "overdue" if today > due else "not started"


def my_plan(s: Settings, store: Store, learner: str, today: date | None = None) -> dict:
    """The learner's own modules: due dates from their cohort's plan, status from their own
    receipts and feedback. Nothing about anyone else."""
    data = roster.load(s)
    person = data.learners.get(learner)
    if person is None:
        return {"learner": learner, "on_roster": False, "cohort": None, "modules": []}
    tz = ZoneInfo(s.timezone)
    today = today or utc_now().astimezone(tz).date()
    modules = []
    for module, plan in sorted(data.plans.get(person.cohort, {}).items()):
        receipts = store.receipts(learner, module)
        due_date = data.due(learner, module).date  # an extension or a department's rule, else the cohort's
        due = date.fromisoformat(due_date)
        last = receipts[-1] if receipts else None
        status = plan_status(last["received_at"] if last else None, due, today, tz)
        fb = store.feedback(learner, module)
        unsynced = status == "submitted late" and last.get("clock_synced") is False
        modules.append({
            **({"clock_warning": "The server's clock was not set when this arrived: ask your trainer to check "
                                 "this late mark."} if unsynced else {}),
            "module": module, "assigned": plan.assigned, "due_date": due_date, "status": status,
            "submitted_at": last["received_at"] if last else None, "submissions": len(receipts),
            "feedback": bool(fb and last and fb[0]["version"] == last["version"]),
        })
    return {"learner": learner, "on_roster": True, "cohort": person.cohort, "modules": modules}


# -- HTTP ----------------------------------------------------------------------------


class Handler(HubAuthenticated, web.RequestHandler):
    """Every handler: a hub token is required; ``self.who`` is the hub's name for its owner."""

    @property
    def store(self) -> Store:
        return self.settings["store"]

    @property
    def hcwh(self) -> Settings:
        return self.settings["hcwh"]

    def prepare(self):
        model = self.get_current_user()
        if not model:
            raise web.HTTPError(403, "a hub token with access to this service is required")
        self.who = model["name"]
        self.kind = model.get("kind", "user")
        self.is_trainer = TRAINER_SCOPE in model.get("scopes", [])

    def refuse(self, status: int, action: str, note: str, **facts):
        self.store.audit(who=self.who, kind=self.kind, action=action, outcome="refused", note=note, **facts)
        raise Refused(status, note)

    def require_trainer(self, action: str):
        if not self.is_trainer:
            self.refuse(403, action, f"only trainers may {action}; {self.kind} '{self.who}' is not a trainer")

    def name(self, value: str, what: str) -> str:
        if not NAME.match(value or ""):
            raise Refused(400, f"'{value}' is not a valid {what} name")
        return value

    def members(self, action: str, **facts) -> list[Member]:
        try:
            return unpack(self.request.body)
        except ArchiveRefused as exc:
            self.refuse(400, action, f"{exc} (sent by {self.who}); nothing was stored", **facts)

    def send_json(self, value, status: int = 200):
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(value))

    def send_tar(self, members: list[Member], meta: dict | None = None):
        self.set_header("Content-Type", "application/x-tar")
        if meta is not None:
            self.set_header("X-HCWH-Meta", json.dumps(meta))
        self.finish(pack_members(members))

    def write_error(self, status_code, **kwargs):
        exc = kwargs.get("exc_info", (None, None))[1]
        note = getattr(exc, "note", None) or getattr(exc, "log_message", None) or self._reason
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"error": note, "status": status_code}))


class WhoAmI(Handler):
    def get(self):
        self.send_json({"name": self.who, "kind": self.kind, "trainer": self.is_trainer})


class Releases(Handler):
    def get(self):
        self.send_json([{**r, "course_id": self.hcwh.course_id} for r in self.store.releases()])


class Release(Handler):
    def get(self, module):
        self.send_tar(self.store.release_files(self.name(module, "module")))

    def put(self, module):
        self.require_trainer("release modules")
        module = self.name(module, "module")
        meta = self.store.release(module, self.members("release", module=module), self.who,
                                  force=self.get_argument("force", "") == "1")
        self.store.audit(who=self.who, kind=self.kind, action="release", outcome="accepted", module=module)
        self.send_json(meta, 201)


class Submissions(Handler):
    def get(self):
        """A learner's own receipts; a trainer's view of everyone's with ?all=1 (``module`` filters)."""
        module = self.get_argument("module", None)
        module = self.name(module, "module") if module else None
        if self.get_argument("all", "") == "1":
            self.require_trainer("list everyone's submissions")
            receipts = self.store.receipts(module=module)
        else:
            receipts = self.store.receipts(self.who, module)
        for r in receipts:
            fb = self.store.feedback(r["learner"], r["module"])
            r["feedback"] = bool(fb and fb[0]["version"] == r["version"])
            r["course_id"] = self.hcwh.course_id
            if not self.is_trainer:
                del r["secret"]
        self.send_json(receipts)


class Submit(Handler):
    def post(self, module):
        module = self.name(module, "module")
        facts = {"module": module}
        claimed = self.request.headers.get(CLAIM_HEADER)
        if claimed and claimed != self.who:
            self.refuse(403, "submit", f"refused: this submission names '{claimed}' as its learner, but it was sent by "
                        f"'{self.who}' (the hub's sign-in); a submission counts only for the account that makes it",
                        claimed=claimed, **facts)
        for field in ("timestamp", "time", "student", "learner"):
            if self.get_argument(field, None) is not None:
                self.refuse(400, "submit", f"refused: the field '{field}' is not accepted; the learner is the hub's "
                            f"sign-in ('{self.who}') and the time is the server's clock", **facts)
        if not (self.store.root / "releases" / module / ".release.json").is_file():
            self.refuse(404, "submit", f"module '{module}' has not been released (sent by {self.who})", **facts)
        members = self.members("submit", **facts)
        reserved = sorted(m.path for m in members if m.path.split("/")[-1] in RESERVED)
        if reserved:
            self.refuse(400, "submit", f"refused: {', '.join(reserved)} is written by the exchange from its own "
                        f"clock, never by a learner (sent by {self.who}); nothing was stored", **facts)
        receipt = self.store.submit(self.who, module, members)
        self.store.audit(who=self.who, kind=self.kind, action="submit", outcome="accepted", module=module,
                         version=receipt["version"], received_at=receipt["received_at"])
        # the compliance record's chain too: who (a pseudonym), what, the server's time, each file's hash
        from autograde.record import audit  # here, not at the top: learners' environment has no record package

        audit.record(self.hcwh, "submission received", learner=self.who, assignment=module,
                     submission=receipt["version"], received_at=receipt["received_at"],
                     files={path: f["sha256"] for path, f in receipt["files"].items()})
        self.send_json({k: v for k, v in receipt.items() if k != "secret"}, 201)


class Collect(Handler):
    def get(self, learner, module, version):
        """One stored version's files (a trainer's collect, or the owner)."""
        learner, module = self.name(learner, "learner"), self.name(module, "module")
        if learner != self.who:
            self.require_trainer(f"read {learner}'s submission")
        receipt = self.store.receipt(learner, module, int(version))
        self.store.audit(who=self.who, kind=self.kind, action="collect", outcome="accepted", module=module,
                         learner=learner, version=int(version))
        if not self.is_trainer:
            receipt = {k: v for k, v in receipt.items() if k != "secret"}
        self.send_tar(self.store.submission_files(learner, module, int(version)), receipt)


class Feedback(Handler):
    def get(self, module):
        """The signed-in learner's own feedback; ?learner=NAME is allowed only for themselves or a trainer."""
        module = self.name(module, "module")
        learner = self.get_argument("learner", self.who)
        if learner != self.who and not self.is_trainer:
            self.refuse(403, "fetch feedback", f"refused: feedback for '{module}' belongs to '{learner}'; you are "
                        f"signed in as '{self.who}' and may fetch only your own", module=module, asked_for=learner)
        found = self.store.feedback(self.name(learner, "learner"), module)
        if found is None:
            raise Refused(404, f"no feedback for '{module}' has been released to '{learner}' yet")
        meta, members = found
        self.send_tar(members, meta)

    def put(self, module):
        self.require_trainer("release feedback")
        module = self.name(module, "module")
        learner = self.name(self.get_argument("learner"), "learner")
        version = int(self.get_argument("version"))
        meta = self.store.release_feedback(learner, module, version, self.members("release feedback"), self.who)
        self.store.audit(who=self.who, kind=self.kind, action="release feedback", outcome="accepted",
                         module=module, learner=learner, version=version)
        self.send_json(meta, 201)


ACK_FIELDS = {"typed_name", "choice", "confirmed"}  # all a learner sends; who, when and which version are the server's
IDENTITY_FIELDS = {"learner", "login", "student", "employee_id", "user", "username", "recorded_by"}  # never taken


def same_name(typed: str, on_roster: str) -> bool:
    return " ".join(typed.split()).casefold() == " ".join(on_roster.split()).casefold()


class Acknowledgement(Handler):
    """A learner's own acknowledgement of a module's commitment (after submitting it), or their
    question for their supervisor: bound to the hub's identity, the server's clock and the
    module's recorded version (``autograde/record/acknowledgements.py``)."""

    # autograde.record is imported here, not at the top: the learners' environment carries the client, which
    # imports this module's constants, but not the record (pyproject's packages)

    def about(self, module: str, action: str):
        data = roster.load(self.hcwh)
        person = data.learners.get(self.who)
        if person is None:
            self.refuse(403, action, f"'{self.who}' (signed in) is not on the course's roster, so has nothing to "
                        "acknowledge", module=module)
        plan = data.plans.get(person.cohort, {})
        if module not in plan:
            self.refuse(404, action, f"'{module}' is not one of {self.who}'s modules", module=module)
        found = catalog.commitment(self.hcwh, module)
        if found is None:
            self.refuse(404, action, f"'{module}' teaches no single standard, so it has no commitment to acknowledge",
                        module=module)
        return person, found

    def get(self, module):
        from autograde.record import acknowledgements, versions

        module = self.name(module, "module")
        person, (standard, commitment) = self.about(module, "read acknowledgement")
        self.send_json({"module": module, "learner": self.who, "roster_name": f"{person.first_name} {person.last_name}",
                        "standard": standard, "commitment": commitment, "version": versions.current(self.hcwh, module),
                        "submitted": bool(self.store.receipts(self.who, module)),
                        "records": acknowledgements.listed(self.hcwh, self.who, module)})

    def refuse(self, status: int, action: str, note: str, **facts):
        if action == "acknowledge":
            from autograde.record import audit

            # the chain keeps who (as a pseudonym) and the status; the note, which may name others, stays in
            # the store's own audit.jsonl
            audit.record(self.hcwh, "acknowledgement refused", learner=self.who, assignment=facts.get("module"),
                         status=status)
        super().refuse(status, action, note, **facts)

    def post(self, module):
        from autograde.record import acknowledgements
        from autograde.record.db import RecordError

        module = self.name(module, "module")
        action = "acknowledge"
        try:
            form = json.loads(self.request.body or b"{}")
            if not isinstance(form, dict):
                raise ValueError("not an object")
        except ValueError as exc:
            self.refuse(400, action, f"the acknowledgement is not a JSON object ({exc}); nothing was recorded",
                        module=module)
        extra = sorted(set(form) - ACK_FIELDS)
        if extra:
            named = {k: form[k] for k in extra if k in IDENTITY_FIELDS and form[k] != self.who}
            why = (f"it names {', '.join(repr(str(v)) for v in named.values())} as its learner, but it was sent by "
                   f"'{self.who}' (the hub's sign-in); an acknowledgement counts only for the account that makes it"
                   if named else f"the field {', '.join(extra)} is not accepted: the learner is the hub's sign-in "
                   f"('{self.who}'), the time is the server's clock and the version the recorded one")
            self.refuse(403 if named else 400, action, f"refused: {why}; nothing was recorded", module=module,
                        fields=extra)
        person, _ = self.about(module, action)
        if not self.store.receipts(self.who, module):
            self.refuse(409, action, f"{self.who} has not submitted '{module}' yet: submit it, then acknowledge",
                        module=module)
        typed, choice = form.get("typed_name"), form.get("choice")
        on_roster = f"{person.first_name} {person.last_name}"
        if not isinstance(typed, str) or not typed.strip():
            self.refuse(400, action, "type your name to sign; nothing was recorded", module=module)
        if not same_name(typed, on_roster):
            self.refuse(403, action, f"refused: the name typed, '{typed.strip()}', is not the roster's name for the "
                        f"account signed in ('{self.who}'); type your own name as the roster has it, or ask your "
                        "trainer to record it for you; nothing was recorded", module=module)
        if choice not in acknowledgements.CHOICES:
            self.refuse(400, action, f"choose one of {', '.join(acknowledgements.CHOICES)}; nothing was recorded",
                        module=module)
        if choice == "acknowledged" and form.get("confirmed") is not True:
            self.refuse(400, action, "tick the box to confirm that you acknowledge the commitment; nothing was "
                        "recorded", module=module)
        try:
            row = acknowledgements.record(self.hcwh, self.who, module, typed, choice, recorded_by=self.who)
        except RecordError as exc:
            self.refuse(409, action, str(exc), module=module)
        self.store.audit(who=self.who, kind=self.kind, action=action, outcome="accepted", module=module,
                         choice=choice, version=row["version"])
        self.send_json(row, 201)


class Plan(Handler):
    def get(self):
        self.send_json(my_plan(self.hcwh, self.store, self.who))


def make_app(s: Settings, prefix: str) -> web.Application:
    store = Store(private_dir(store_dir(s)))
    api = prefix.rstrip("/") + "/api"
    n = r"([^/]+)"
    return web.Application([
        (rf"{api}/whoami", WhoAmI),
        (rf"{api}/releases", Releases),
        (rf"{api}/releases/{n}", Release),
        (rf"{api}/submissions", Submissions),
        (rf"{api}/submissions/{n}", Submit),
        (rf"{api}/submissions/{n}/{n}/(\d+)", Collect),
        (rf"{api}/feedback/{n}", Feedback),
        (rf"{api}/plan", Plan),
        (rf"{api}/acknowledgements/{n}", Acknowledgement),
    ], store=store, hcwh=s)


def main() -> None:
    """Run as the hub's managed service (JUPYTERHUB_SERVICE_URL, _PREFIX and _API_TOKEN set by the hub)."""
    from urllib.parse import urlparse

    url = urlparse(os.environ["JUPYTERHUB_SERVICE_URL"])
    prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX", f"/services/{SERVICE_NAME}/")
    s = Settings.from_env()
    app = make_app(s, prefix)
    app.listen(url.port, address=url.hostname or "127.0.0.1", max_body_size=MAX_ARCHIVE_BYTES)
    print(f"{SERVICE_NAME}: serving {store_dir(s)} at {url.geturl()} ({prefix})", file=sys.stderr, flush=True)
    from autograde.lifeline import end_with_parent

    end_with_parent(SERVICE_NAME)
    IOLoop.current().start()


if __name__ == "__main__":
    main()
