"""nbgrader's exchange, spoken over HTTP to the hub service (``service.py``).

One subclass of each of nbgrader's exchange interfaces (``nbgrader.exchange.abc``), chosen by
``c.ExchangeFactory.*`` (``apply_nbgrader_config`` in ``__init__``), so formgrader's buttons,
the Assignments tab, the ``nbgrader`` command line and ``hcwh`` all use it. Each request
carries the caller's hub token (``HCWH_EXCHANGE_TOKEN``, else ``JUPYTERHUB_API_TOKEN``, which
every learner's server has). The service decides who the caller is; this side never sends a
learner's name or a time to be believed. Collect writes nbgrader's own layout,
``submitted/<learner>/<module>/`` with ``timestamp.txt`` from the service's receipt time, after
checking each file against the receipt's sha256.
"""

from __future__ import annotations

import glob
import json
import os
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timezone
from email.message import Message
from pathlib import Path

from nbgrader.exchange import abc
from traitlets import Float, Unicode, default

from autograde.exchange.archive import ArchiveRefused, Member, pack, pack_members, replace_folder, unpack, write_tree
from autograde.exchange.names import RESULTS_FILE
from autograde.exchange.service import CLAIM_HEADER, RESERVED
from curriculum.reflections import ReflectionsRefused, filled_notebooks

TOKEN_ENV = "HCWH_EXCHANGE_TOKEN"
URL_ENV = "HCWH_EXCHANGE_URL"
NBGRADER_TIME = "%Y-%m-%d %H:%M:%S.%f %Z"


def nbgrader_time(iso: str) -> str:
    """The service's receipt time (ISO, UTC) as nbgrader writes timestamps (``timestamp.txt``)."""
    return datetime.fromisoformat(iso).astimezone(timezone.utc).strftime(NBGRADER_TIME)


class HubExchange(abc.Exchange):
    url = Unicode(help="the exchange service's address, e.g. http://127.0.0.1:8000/services/hcwh-exchange/").tag(config=True)
    token = Unicode(help=f"hub API token (default: ${TOKEN_ENV}, else $JUPYTERHUB_API_TOKEN)").tag(config=True)
    request_timeout = Float(120.0, help="seconds to wait for the service").tag(config=True)
    cache = Unicode("", help="unused: the service, not the learner's folder, remembers submissions").tag(config=True)

    @default("url")
    def _url_default(self):
        return os.environ.get(URL_ENV, "")

    @default("token")
    def _token_default(self):
        return os.environ.get(TOKEN_ENV) or os.environ.get("JUPYTERHUB_API_TOKEN", "")

    # -- transport ------------------------------------------------------------------
    def request(self, method: str, path: str, body: bytes | None = None, query: dict | None = None,
                headers: dict | None = None) -> tuple[bytes, Message]:
        if not self.url:
            self.fail(f"the hub exchange has no address: set ${URL_ENV} (or c.HubExchange.url)")
        if not self.token:
            self.fail(f"no hub token for the exchange: set ${TOKEN_ENV} (or run inside a hub server)")
        address = self.url.rstrip("/") + "/api/" + path + (("?" + urllib.parse.urlencode(query)) if query else "")
        req = urllib.request.Request(address, data=body, method=method,
                                     headers={"Authorization": f"token {self.token}", **(headers or {})})
        try:
            with urllib.request.urlopen(req, timeout=self.request_timeout) as resp:
                return resp.read(), resp.headers  # case-insensitive: the proxy lower-cases names
        except urllib.error.HTTPError as exc:
            try:
                note = json.loads(exc.read()).get("error") or exc.reason
            except ValueError:
                note = exc.reason
            self.fail(f"the exchange refused {method} {path} ({exc.code}): {note}")
        except OSError as exc:
            self.fail(f"cannot reach the exchange at {self.url}: {exc}")

    def get_json(self, path: str, query: dict | None = None):
        data, _ = self.request("GET", path, query=query)
        return json.loads(data)

    def get_tar(self, path: str, query: dict | None = None) -> tuple[list[Member], dict | None]:
        data, headers = self.request("GET", path, query=query)
        meta = headers.get("X-HCWH-Meta")
        try:
            return unpack(data), (json.loads(meta) if meta else None)
        except ArchiveRefused as exc:
            self.fail(f"the exchange sent an archive that cannot be accepted: {exc}")

    # -- nbgrader's steps (each plugin does its work in copy_files) -----------------
    def init_src(self):
        pass

    def init_dest(self):
        pass

    def course_id(self) -> str:
        if not self.coursedir.course_id:
            self.fail("No course id specified. Re-run with --course flag.")
        return self.coursedir.course_id

    def local_dir(self, assignment_id: str) -> Path:
        root = Path(self.assignment_dir)
        if getattr(self, "path_includes_course", False):
            root = root / self.coursedir.course_id
        return (root / assignment_id).absolute()


def _swap_in(dest: Path, members: list[Member], extra: dict[str, str] | None = None, file_mode: int = 0o600) -> None:
    """Replace the folder ``dest`` whole with ``members`` (+ ``extra`` small text files)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    files = members + [Member(k, v.encode()) for k, v in (extra or {}).items()]
    replace_folder(dest, lambda staging: write_tree(staging, files, file_mode=file_mode))


class HubExchangeReleaseAssignment(HubExchange, abc.ExchangeReleaseAssignment):
    def copy_files(self):
        self.course_id()
        module = self.coursedir.assignment_id
        src = Path(self.coursedir.format_path(self.coursedir.release_directory, ".", module))
        if not src.is_dir():
            self.fail(f"Assignment not found at: {src} (run `nbgrader generate_assignment {module}` first)")
        try:
            body = pack(src, ignore=tuple(self.coursedir.ignore))
        except OSError as exc:
            self.fail(f"cannot read {src}: {exc}")
        self.request("PUT", f"releases/{module}", body, query={"force": "1"} if self.force else None)
        self.log.info("Released as: %s %s", self.coursedir.course_id, module)


class HubExchangeFetchAssignment(HubExchange, abc.ExchangeFetchAssignment):
    def copy_files(self):
        self.course_id()
        module = self.coursedir.assignment_id
        dest = self.local_dir(module)
        if dest.exists() and not self.replace_missing_files:
            self.fail(f"You already have a copy of the assignment in this directory: {module}")
        members, _ = self.get_tar(f"releases/{module}")
        if not dest.exists():
            _swap_in(dest, members, file_mode=0o644)
        else:
            for m in members:
                target = dest.joinpath(*m.path.split("/"))
                if not target.exists() and not target.is_symlink():
                    self.log.warning("Replacing missing file '%s'", m.path)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(m.data)
        self.log.info("Fetched as: %s %s", self.coursedir.course_id, module)


class HubExchangeSubmit(HubExchange, abc.ExchangeSubmit):
    def packed(self, module: str, src: Path) -> bytes:
        """``src`` as the tar sent, its notebooks' reflection cells holding the words from answers.json
        (curriculum.reflections); a damaged answers file stops the submit, naming it."""
        try:
            filled, notes = filled_notebooks(src)
        except ReflectionsRefused as exc:
            self.fail(f"Assignment {module} not submitted: {exc}")
        for note in notes:
            self.log.warning("Reflection %s", note)
        try:
            return pack(src, ignore=tuple(self.coursedir.ignore),
                        replace={name: text.encode("utf-8") for name, text in filled.items()})
        except OSError as exc:
            self.fail(f"cannot read {src}: {exc}")

    def check_notebooks(self, module: str, src: Path) -> None:
        """nbgrader's check before a submit: the release's notebooks against the learner's folder;
        with ``strict`` a missing notebook stops the submit, otherwise it is a warning."""
        release = next((r for r in self.get_json("releases") if r.get("module") == module), None)
        if release is None:
            return  # the service refuses a submission of a module never released, with its note
        local = [p.relative_to(src).as_posix() for p in src.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts]
        missing, extra = notebook_diff(release.get("files", []), local)
        if not (missing or extra):
            return
        text = (f"notebooks missing from the submission of {module}: {', '.join(missing) or 'none'}; "
                f"extra: {', '.join(extra) or 'none'}")
        if missing and self.strict:
            self.fail(f"Assignment {module} not submitted. {text}")
        self.log.warning("Possible missing notebooks and/or extra notebooks submitted: %s", text)

    def copy_files(self):
        self.course_id()
        module = self.coursedir.assignment_id
        src = self.local_dir(module)
        if not src.is_dir():
            self.fail(f"Assignment not found at: {src}")
        self.check_notebooks(module, src)
        headers = {"Content-Type": "application/x-tar"}
        claimed = self.coursedir.student_id
        if claimed and claimed != "*":
            headers[CLAIM_HEADER] = claimed  # checked by the service against the token's owner, never believed
        body = self.packed(module, src)
        data, _ = self.request("POST", f"submissions/{module}", body, headers=headers)
        receipt = json.loads(data)
        self.timestamp = nbgrader_time(receipt["received_at"])
        self.log.info("Submitted as: %s %s %s (received by the exchange; version %s)",
                      self.coursedir.course_id, module, self.timestamp, receipt["version"])
        return receipt


def to_collect(receipts: list[dict], duedate: datetime | None = None) -> dict[str, dict]:
    """Each learner's version to collect: the newest; with ``duedate`` (naive UTC, nbgrader's
    ``--before-duedate``), the newest the server received by then, else (all were late) the
    newest, as nbgrader's own collect does."""
    by_learner: dict[str, list[dict]] = {}
    for r in receipts:
        by_learner.setdefault(r["learner"], []).append(r)
    out = {}
    for learner, rs in by_learner.items():
        rs = sorted(rs, key=lambda r: r["version"])
        if duedate is not None:
            on_time = [r for r in rs if _utc(r["received_at"]) <= duedate]
            rs = on_time or rs
        out[learner] = rs[-1]
    return out


def _utc(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp).astimezone(timezone.utc).replace(tzinfo=None)


def notebook_diff(released: list[str], submitted: list[str]) -> tuple[list[str], list[str]]:
    """(missing, extra) notebook names of a submission against its release, as nbgrader compares."""
    rel = {p for p in released if p.endswith(".ipynb")}
    sub = {p for p in submitted if p.endswith(".ipynb")}
    return sorted(rel - sub), sorted(sub - rel)


class HubExchangeCollect(HubExchange, abc.ExchangeCollect):
    def copy_files(self):
        self.course_id()
        module = self.coursedir.assignment_id
        receipts = self.get_json("submissions", {"all": "1", "module": module})
        wanted = self.coursedir.student_id
        if wanted and wanted != "*":
            receipts = [r for r in receipts if r["learner"] == wanted]
        latest = to_collect(receipts, self._duedate() if self.before_duedate else None)
        if not latest:
            self.log.warning("No submissions of '%s' for course '%s' to collect", module, self.coursedir.course_id)
        for learner, r in sorted(latest.items()):
            dest = Path(self.coursedir.format_path(self.coursedir.submitted_directory, learner, module))
            stamp = nbgrader_time(r["received_at"])
            if dest.is_dir():
                existing = self.coursedir.get_existing_timestamp(str(dest))
                new = _utc(r["received_at"])
                if not self.update or (existing is not None and new <= existing):
                    self.log.info("No newer submission to collect: %s %s", learner, module)
                    continue
            members, receipt = self.get_tar(f"submissions/{learner}/{module}/{r['version']}")
            self.check(members, receipt, learner, module)
            _swap_in(dest, members, {"timestamp.txt": stamp, "submission_secret.txt": receipt["secret"]})
            self.log.info("Collecting submission: %s %s (received %s, version %s)", learner, module, stamp, r["version"])

    def _duedate(self) -> datetime | None:
        """The module's due date in the gradebook (naive UTC, as nbgrader keeps it), if any."""
        from nbgrader.api import Gradebook, MissingEntry

        with Gradebook(self.coursedir.db_url, self.coursedir.course_id) as gb:
            try:
                return gb.find_assignment(self.coursedir.assignment_id).duedate
            except MissingEntry:
                return None

    def check(self, members: list[Member], receipt: dict | None, learner: str, module: str) -> None:
        """Every file as the receipt lists it (sha256), none the exchange writes itself."""
        if not receipt or receipt.get("learner") != learner or receipt.get("module") != module:
            self.fail(f"the exchange sent no matching receipt for {learner}'s {module} (got {receipt!r}); "
                      "nothing was collected")
        got = {m.path: m.sha256 for m in members}
        expected = {p: f["sha256"] for p, f in receipt["files"].items()}
        if got != expected or any(p.split("/")[-1] in RESERVED for p in got):
            self.fail(f"{learner}'s {module} (version {receipt['version']}) does not match its receipt; "
                      "nothing was collected for this learner")


class HubExchangeReleaseFeedback(HubExchange, abc.ExchangeReleaseFeedback):
    def copy_files(self):
        self.course_id()
        module = self.coursedir.assignment_id
        student = self.coursedir.student_id or "*"
        secrets_to_version = {r["secret"]: r for r in self.get_json("submissions", {"all": "1", "module": module})
                              if "secret" in r}
        pattern = self.coursedir.format_path(self.coursedir.feedback_directory, student, module)
        exclude = set(self.coursedir.student_id_exclude.split(",")) if self.coursedir.student_id_exclude else set()
        for folder in sorted(glob.glob(pattern)):
            folder = Path(folder)
            learner = folder.parent.name
            if learner in exclude:
                continue
            secret_file = folder / "submission_secret.txt"
            receipt = secrets_to_version.get(secret_file.read_text().strip()) if secret_file.is_file() else None
            if receipt is None or receipt["learner"] != learner:
                self.log.error("Feedback for %s's %s matches no submission in the exchange; not released", learner, module)
                continue
            # nbgrader's HTML, and the learner's feedback page's data (autograde/course/results.py)
            files = [*sorted(folder.glob("*.html")), *([folder / RESULTS_FILE] if (folder / RESULTS_FILE).is_file() else [])]
            members = [Member(p.name, p.read_bytes()) for p in files]
            self.request("PUT", f"feedback/{module}", pack_members(members),
                         query={"learner": learner, "version": str(receipt["version"])})
            self.log.info("Releasing feedback for student '%s' on assignment '%s/%s' (%s)", learner,
                          self.coursedir.course_id, module, nbgrader_time(receipt["received_at"]))


class HubExchangeFetchFeedback(HubExchange, abc.ExchangeFetchFeedback):
    def copy_files(self):
        self.course_id()
        module = self.coursedir.assignment_id
        query = {}
        if self.coursedir.student_id and self.coursedir.student_id != "*":
            query["learner"] = self.coursedir.student_id  # the service refuses anyone else's
        members, meta = self.get_tar(f"feedback/{module}", query)
        dest = self.local_dir(module) / "feedback" / nbgrader_time(meta["received_at"])
        _swap_in(dest, members, file_mode=0o644)
        for m in members:
            self.log.info("Fetched feedback: %s", dest / m.path)


class HubExchangeList(HubExchange, abc.ExchangeList):
    def copy_files(self):
        pass

    def list_files(self):
        course = self.coursedir.course_id or ""
        if self.inbound or self.cached:
            receipts = self.get_json("submissions", {"all": "1"} if self.inbound else None)
            return self._submitted(receipts, course)
        out = []
        for rel in self.get_json("releases"):
            if self.coursedir.assignment_id and self.coursedir.assignment_id != rel["module"]:
                continue
            local = self.local_dir(rel["module"])
            fetched = local.is_dir()
            path = str(local) if fetched else self.url
            out.append({"course_id": rel["course_id"], "assignment_id": rel["module"],
                        "status": "fetched" if fetched else "released", "path": path,
                        "notebooks": [{"notebook_id": Path(f).stem, "path": str(local / f) if fetched else f}
                                      for f in rel["files"] if f.endswith(".ipynb") and "/" not in f]})
        return [a for a in out if not course or a["course_id"] == course]

    def _submitted(self, receipts: list[dict], course: str) -> list[dict]:
        groups: dict[tuple[str, str], list[dict]] = {}
        for r in receipts:
            if course and r["course_id"] != course:
                continue
            stamp = nbgrader_time(r["received_at"])
            fb_dir = self.local_dir(r["module"]) / "feedback" / stamp
            notebooks = []
            for f in sorted(r["files"]):
                if f.endswith(".ipynb") and "/" not in f:
                    local_fb = fb_dir / f"{Path(f).stem}.html"
                    notebooks.append({"notebook_id": Path(f).stem, "path": f, "has_local_feedback": local_fb.is_file(),
                                      "has_exchange_feedback": r["feedback"], "feedback_updated": False,
                                      "local_feedback_path": str(local_fb) if local_fb.is_file() else None})
            has_local = bool(notebooks) and all(n["has_local_feedback"] for n in notebooks)
            groups.setdefault((r["learner"], r["module"]), []).append({
                "course_id": r["course_id"], "student_id": r["learner"], "assignment_id": r["module"],
                "timestamp": stamp, "status": "submitted", "path": self.url, "notebooks": notebooks,
                "has_local_feedback": has_local, "has_exchange_feedback": r["feedback"], "feedback_updated": False,
                "local_feedback_path": str(fb_dir) if has_local else None})
        return [{"course_id": subs[0]["course_id"], "student_id": learner, "assignment_id": module,
                 "status": "submitted", "submissions": sorted(subs, key=lambda x: x["timestamp"])}
                for (learner, module), subs in sorted(groups.items())]

    def remove_files(self):
        self.fail("the hub exchange keeps every release and submission; removing them is not offered")


PLUGINS = {
    "exchange": HubExchange,
    "fetch_assignment": HubExchangeFetchAssignment,
    "fetch_feedback": HubExchangeFetchFeedback,
    "release_assignment": HubExchangeReleaseAssignment,
    "release_feedback": HubExchangeReleaseFeedback,
    "list": HubExchangeList,
    "submit": HubExchangeSubmit,
    "collect": HubExchangeCollect,
}
