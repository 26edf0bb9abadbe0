"""The audit trail: ``<state>/record/audit.jsonl``, append-only and hash-chained.

Each line is one JSON object: ``n`` (its line number, from 1), ``at`` (the writer's UTC clock),
``event`` (release, submission received, collect, autograde, manual score, acknowledgement, ...),
the event's facts, ``prev``, the previous line's ``sha256`` (64 zeros on the first line), and
``sha256``, the SHA-256 of the line's own canonical JSON without that field. ``record`` is the one writer; it holds an exclusive lock on the file while it reads
the last line and appends, so the service and ``hcwh`` may write at the same time.

Learners are named only by pseudonym (``pseudonym``): ``p-`` and an HMAC-SHA256 of the learner's
id under a key kept apart from the log (``HCWH_PSEUDONYM_KEY``, a file; by default
``<state>/keys/pseudonym.key``, 0600, made on first use). Disposing of personal data leaves the
log whole and verifiable; whoever holds the key can still find one learner's lines.

``verify`` reads the log and names the first line that was edited, removed or moved. A line
removed from the end leaves a valid shorter chain: compare with a head filed earlier
(``head``, printed into each HR report's manifest) with ``verify(path, filed=...)``.
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from autograde.config import Settings
from autograde.private import FILE_MODE, private_dir
from autograde.record.db import RecordError, record_dir

GENESIS = "0" * 64
KEY_ENV = "HCWH_PSEUDONYM_KEY"


def log_path(s: Settings) -> Path:
    return record_dir(s) / "audit.jsonl"


def key_path(s: Settings) -> Path:
    return Path(os.environ[KEY_ENV]) if os.environ.get(KEY_ENV) else s.state_dir / "keys" / "pseudonym.key"


def _key(s: Settings) -> bytes:
    path = key_path(s)
    if not path.exists():
        private_dir(path.parent)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
        except FileExistsError:
            pass  # another writer made it first
        else:
            with os.fdopen(fd, "w", encoding="ascii") as f:
                f.write(secrets.token_hex(32) + "\n")
    text = path.read_text(encoding="ascii").strip()
    if len(text) < 32:
        raise RecordError(f"{path}: the pseudonym key is too short ({len(text)} characters; at least 32 hex)")
    return text.encode("ascii")


def pseudonym(s: Settings, learner: str) -> str:
    """The learner's id in the log: stable under one key, meaningless without it."""
    return "p-" + hmac.new(_key(s), learner.encode("utf-8"), hashlib.sha256).hexdigest()[:24]


def _canonical(entry: dict) -> bytes:
    return json.dumps(entry, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def entry_hash(entry: dict) -> str:
    """The hash a line must carry: over everything in it but its own ``sha256``."""
    return hashlib.sha256(_canonical({k: v for k, v in entry.items() if k != "sha256"})).hexdigest()


def _last_line(f) -> bytes | None:
    f.seek(0, os.SEEK_END)
    end = f.tell()
    if end == 0:
        return None
    size = min(end, 4096)
    while True:
        f.seek(end - size)
        chunk = f.read(size).rstrip(b"\n")
        if b"\n" in chunk or size == end:
            return chunk.rsplit(b"\n", 1)[-1]
        size = min(end, size * 2)


def record(s: Settings, event: str, *, learner: str | None = None, **facts) -> dict:
    """Append one line for ``event``; ``learner`` is written as a pseudonym, never as given."""
    if learner is not None:
        facts["learner"] = pseudonym(s, learner)
    path = log_path(s)
    private_dir(path.parent)
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, FILE_MODE)
    with os.fdopen(fd, "r+b") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        last = _last_line(f)
        if last is None:
            n, prev = 1, GENESIS
        else:
            try:
                previous = json.loads(last)
                n, prev = previous["n"] + 1, previous["sha256"]
            except (ValueError, KeyError, TypeError) as exc:
                raise RecordError(f"{path}: the last line is not an audit line ({exc}); "
                                 "run hcwh audit verify; nothing was written") from exc
        clash = {"n", "at", "event", "prev", "sha256"} & facts.keys()
        if clash:
            raise RecordError(f"audit event {event!r}: {', '.join(sorted(clash))} is the log's own field")
        entry = {"n": n, "at": datetime.now(timezone.utc).isoformat(), "event": event, **facts, "prev": prev}
        entry["sha256"] = entry_hash(entry)
        f.write(_canonical(entry) + b"\n")
        f.flush()
        os.fsync(f.fileno())
    return entry


@dataclass(frozen=True)
class Head:
    lines: int
    sha256: str  # the hash of the last line (GENESIS for an empty log)

    def as_dict(self) -> dict:
        return {"lines": self.lines, "sha256": self.sha256}


@dataclass(frozen=True)
class Verdict:
    ok: bool
    head: Head
    line: int | None = None  # the first line found wrong (1-based), when not ok
    problem: str = ""


def verify(path: Path, filed: Head | None = None) -> Verdict:
    """Check the chain line by line; the first fault found is named with its line number."""
    prev, lines = GENESIS, 0
    raw_lines = path.read_bytes().split(b"\n") if path.exists() else []
    if raw_lines and raw_lines[-1] == b"":
        raw_lines.pop()
    seen: dict[int, str] = {}
    for number, raw in enumerate(raw_lines, start=1):
        try:
            entry = json.loads(raw)
            n, recorded_prev, own = entry["n"], entry["prev"], entry["sha256"]
        except (ValueError, KeyError, TypeError):
            return Verdict(False, Head(lines, prev), number, "not a valid audit line (edited or damaged)")
        if entry_hash(entry) != own:
            return Verdict(False, Head(lines, prev), number, "its content does not match its hash: it was edited")
        if n != number:
            why = "a line before it was removed" if n > number else "it was moved or copied from elsewhere"
            return Verdict(False, Head(lines, prev), number, f"it says it is line {n}: {why}")
        if recorded_prev != prev:
            if number == 1:
                return Verdict(False, Head(lines, prev), 1, "the first line does not start the chain")
            return Verdict(False, Head(lines, prev), number - 1,
                           f"it is not the line that line {number} follows: it was edited and rehashed")
        seen[number] = own
        prev, lines = own, number
    head = Head(lines, prev)
    if filed is not None and filed.lines > 0:
        if filed.lines > lines:
            return Verdict(False, head, lines + 1, f"the filed head counts {filed.lines} lines, the log has only "
                                                   f"{lines}: lines after {lines} were removed")
        if seen.get(filed.lines) != filed.sha256:
            return Verdict(False, head, filed.lines, "it does not match the filed head: the log was rewritten")
    return Verdict(True, head)


def head(s: Settings) -> Head:
    """The chain head now, for filing (None of the log is trusted: it is verified first)."""
    verdict = verify(log_path(s))
    if not verdict.ok:
        raise RecordError(f"{log_path(s)}: line {verdict.line}: {verdict.problem}")
    return verdict.head
