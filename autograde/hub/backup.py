"""Backup and restore: one consistent, encrypted set of a cohort's server (``hcwh backup`` / ``hcwh restore``).

What is in the set: everything under the state folder (the course folder with the gradebook,
source/release/submitted/autograded/feedback; the hub exchange's store; roster.json; the HR reports;
the compliance record with its database, archive and audit.jsonl, and its pseudonym key; logins and
enrollment codes; attribution.db; the hub's database) and each roster learner's home folder (the
module copies they fetched and their answers.json: work in progress). Not in it: the secrets of
``credentials.SECRETS`` (the install makes new ones; a provided one is set again) and the backup key.

Consistency: every SQLite database (found by its header, wherever it is) is copied with SQLite's
backup API, a snapshot of one committed state even while the hub writes; a PostgreSQL gradebook is
taken by ``pg_dump`` (one transaction). Other files are read once, each up to the size it had when the
backup reached it (the audit trail only grows; the exchange writes by rename). The journal lock of
autograde is held throughout, so no autograde or re-grade runs half-way through the set. A manifest
inside the archive lists every file's SHA-256, mode and owner.

Encryption: AES-256-GCM (``cryptography``) in 1 MiB chunks, each chunk's nonce its number and a
"last" flag (the STREAM construction, as in age and Tink): a changed, cut or re-ordered chunk fails
authentication. The key is 32 random bytes (hex) in a file kept apart (default
``/etc/hcwh/backup.key``, root's, 0600; never inside the state folder or the archive); the archive
carries an 8-byte key id so a wrong key is named as such.

Written atomically: the archive is a temporary file beside DEST, renamed at the end; on any failure it
is removed. Restore decrypts into a temporary folder, checks every SHA-256 against the manifest, then
moves the verified files into place: a damaged archive writes nothing.
"""

from __future__ import annotations

import grp
import hashlib
import hmac
import io
import json
import os
import pwd
import secrets
import shutil
import sqlite3
import struct
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from autograde.config import Settings
from autograde.hub import credentials
from curriculum.errors import HcwhError

KEY_ENV = credentials.BACKUP_KEY_ENV
MAGIC = b"HCWH-BACKUP-1\n"
CHUNK = 1 << 20
MANIFEST = "manifest.json"
PG_DUMP = "postgres/gradebook.pgdump"
SQLITE_HEADER = b"SQLite format 3\x00"
SQLITE_SIDE_FILES = ("-journal", "-wal", "-shm")

Progress = Callable[[str], None]


class BackupError(HcwhError):
    """A backup or restore that cannot go on; the message names what and where, and nothing was written."""


# -- the key ---------------------------------------------------------------------


def key_path() -> Path:
    return credentials.backup_key_path()


def _inside(path: Path, folder: Path) -> bool:
    path, folder = path.resolve(), folder.resolve()
    return path == folder or folder in path.parents


def make_key(path: Path, state_dir: Path | None = None) -> Path:
    """A new key file, 0600, created with its mode; refuses to overwrite one or to sit in the state folder."""
    if state_dir is not None and _inside(path, state_dir):
        raise BackupError(f"the backup key {path} would be inside the state folder {state_dir}, which is backed "
                          "up: keep it apart (default /etc/hcwh/backup.key)")
    if path.exists():
        raise BackupError(f"the backup key {path} already exists; it is not replaced (archives made with it need it)")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_hex(32) + "\n")
    return path


def read_key(path: Path, state_dir: Path | None = None) -> bytes:
    if not path.is_file():
        raise BackupError(f"the backup key {path} is missing: make one with `hcwh backup-key {path}` at install "
                          f"(or set {KEY_ENV}); to restore, bring the key kept with the archives")
    if state_dir is not None and _inside(path, state_dir):
        raise BackupError(f"the backup key {path} is inside the state folder {state_dir}: move it out")
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise BackupError(f"the backup key {path} is mode {mode:04o}: run `chmod 600 {path}`")
    try:
        key = bytes.fromhex(path.read_text().strip())
    except ValueError:
        key = b""
    if len(key) != 32:
        raise BackupError(f"the backup key {path} is not 64 hex digits (32 bytes)")
    return key


def _key_id(key: bytes) -> bytes:
    return hmac.new(key, b"hcwh backup key id", hashlib.sha256).digest()[:8]


# -- the encrypted stream (STREAM over AES-256-GCM) -------------------------------


def _nonce(prefix: bytes, n: int, last: bool) -> bytes:
    return prefix + struct.pack(">IB", n, 1 if last else 0)


class _Sealer(io.RawIOBase):
    """A write-only file object: plaintext in, chunks of AES-GCM out to ``out``."""

    def __init__(self, out, key: bytes):
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        self.out, self.aead, self.buf, self.n = out, AESGCM(key), bytearray(), 0
        self.prefix = secrets.token_bytes(7)
        self.header = MAGIC + _key_id(key) + self.prefix
        out.write(self.header)

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self.buf += data
        while len(self.buf) > CHUNK:
            self._emit(bytes(self.buf[:CHUNK]), last=False)
            del self.buf[:CHUNK]
        return len(data)

    def _emit(self, plain: bytes, last: bool) -> None:
        sealed = self.aead.encrypt(_nonce(self.prefix, self.n, last), plain, self.header)
        self.out.write(struct.pack(">I", len(sealed)) + sealed)
        self.n += 1

    def finish(self) -> None:
        self._emit(bytes(self.buf), last=True)
        self.buf.clear()


class _Opener(io.RawIOBase):
    """A read-only file object over an archive: each chunk authenticated before any of it is returned."""

    def __init__(self, src, key: bytes, name: str):
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        self.src, self.name, self.aead = src, name, AESGCM(key)
        header = src.read(len(MAGIC) + 15)
        if not header.startswith(MAGIC):
            raise BackupError(f"{name} is not an hcwh backup archive (it does not start with {MAGIC.strip().decode()})")
        kid, self.prefix = header[len(MAGIC):len(MAGIC) + 8], header[len(MAGIC) + 8:]
        if not hmac.compare_digest(kid, _key_id(key)):
            raise BackupError(f"{name} was made with a different backup key (key id {kid.hex()}; this key's id is "
                              f"{_key_id(key).hex()}): use the key kept with this archive")
        self.header, self.n, self.buf, self.at, self.done = header, 0, b"", 0, False

    def readable(self) -> bool:
        return True

    def _next(self) -> None:
        from cryptography.exceptions import InvalidTag

        size = self.src.read(4)
        if len(size) < 4:
            raise BackupError(f"{self.name} is cut short after chunk {self.n}: the archive is incomplete")
        sealed = self.src.read(struct.unpack(">I", size)[0])
        for last in (False, True):
            try:
                self.buf, self.at = self.aead.decrypt(_nonce(self.prefix, self.n, last), sealed, self.header), 0
            except InvalidTag:
                continue
            self.n += 1
            self.done = last
            if last and self.src.read(1):
                raise BackupError(f"{self.name} has data after its last chunk: the archive was changed")
            return
        raise BackupError(f"{self.name}: chunk {self.n} fails authentication: the archive was changed or damaged "
                          "after it was made; nothing was restored from it")

    def readinto(self, b) -> int:
        while self.at == len(self.buf) and not self.done:
            self._next()
        n = min(len(b), len(self.buf) - self.at)
        b[:n] = memoryview(self.buf)[self.at:self.at + n]
        self.at += n
        return n


# -- what is in the set ----------------------------------------------------------


@dataclass
class Summary:
    files: int = 0
    bytes: int = 0
    databases: list[str] = field(default_factory=list)
    homes: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def _is_sqlite(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(16) == SQLITE_HEADER
    except OSError:
        return False


def _sqlite_copy(src: Path, dst: Path) -> None:
    """A snapshot of one committed state of ``src`` (SQLite's backup API), opened read-only."""
    try:
        source = sqlite3.connect(f"file:{src}?mode=ro", uri=True, timeout=30)
    except sqlite3.Error as exc:
        raise BackupError(f"cannot open the database {src}: {exc}") from None
    target = sqlite3.connect(dst)
    try:
        source.backup(target)
    except sqlite3.Error as exc:
        raise BackupError(f"cannot copy the database {src}: {exc}") from None
    finally:
        target.close()
        source.close()


class _Hashing(io.RawIOBase):
    def __init__(self, f, size: int):
        self.f, self.left, self.sha = f, size, hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        data = self.f.read(min(len(b), self.left))
        self.left -= len(data)
        self.sha.update(data)
        b[:len(data)] = data
        return len(data)


def _names(st: os.stat_result) -> tuple[str, str]:
    try:
        user = pwd.getpwuid(st.st_uid).pw_name
    except KeyError:
        user = str(st.st_uid)
    try:
        group = grp.getgrgid(st.st_gid).gr_name
    except KeyError:
        group = str(st.st_gid)
    return user, group


def _info(name: str, st: os.stat_result, kind: bytes, size: int = 0) -> tarfile.TarInfo:
    ti = tarfile.TarInfo(name)
    ti.type, ti.size, ti.mode, ti.mtime = kind, size, st.st_mode & 0o7777, int(st.st_mtime)
    ti.uid, ti.gid = st.st_uid, st.st_gid
    ti.uname, ti.gname = _names(st)
    return ti


def _unreadable(exc: OSError):
    """os.walk's onerror, and a file that cannot be opened: never a set with a silent hole in it."""
    why = ("run `hcwh backup` as root: the set spans root's, the course account's and each learner's files"
           if isinstance(exc, PermissionError) else str(exc))
    raise BackupError(f"cannot read {exc.filename}: {why}; nothing was written") from None


def _learner_homes(s: Settings, home_base: Path | None) -> list[tuple[str, Path]]:
    if home_base is None:
        return []
    from autograde import roster

    names = sorted(roster.load(s).learners)
    return [(n, home_base / n) for n in names if (home_base / n).is_dir()]


def _secret_paths(s: Settings) -> set[Path]:
    return {(s.state_dir / sec.path) for sec in credentials.SECRETS}


def backup(s: Settings, dest: Path, key_file: Path | None = None, home_base: Path | None = Path("/home"),
           progress: Progress = print) -> Summary:
    """Write the encrypted set of ``s``'s state (and the roster learners' homes under ``home_base``) to ``dest``."""
    from autograde.grading.journal import Journal

    state = s.state_dir
    if not state.is_dir():
        raise BackupError(f"the state folder {state} does not exist: nothing to back up (check --state-dir)")
    key = read_key(key_file or key_path(), state)
    dest = dest.resolve()
    if _inside(dest, state):
        raise BackupError(f"the archive {dest} would be inside the state folder {state}: write it elsewhere")
    if dest.exists():
        raise BackupError(f"{dest} already exists; archives are never overwritten: choose a new name")
    if not dest.parent.is_dir():
        raise BackupError(f"the folder for the archive, {dest.parent}, does not exist")
    homes = _learner_homes(s, home_base)
    secret_files = _secret_paths(s)
    summary = Summary()
    manifest: dict[str, dict] = {}
    journal = Journal(s) if s.course_dir.is_dir() else None
    if journal:
        journal.lock()  # no autograde half-way through the set
    scratch = Path(tempfile.mkdtemp(prefix=".hcwh-backup-", dir=dest.parent))  # 0700
    fd, partial = tempfile.mkstemp(prefix=f".{dest.name}.partial-", dir=dest.parent)  # 0600
    try:
        with os.fdopen(fd, "wb") as out:
            sealer = _Sealer(out, key)
            with tarfile.open(fileobj=sealer, mode="w|", format=tarfile.PAX_FORMAT) as tar:
                def add_tree(root: Path, prefix: str, skip: set[Path]) -> None:
                    progress(f"backup: {root} ...")
                    for dirpath, dirnames, filenames in os.walk(root, onerror=_unreadable):
                        dirnames.sort()
                        here = Path(dirpath)
                        rel = here.relative_to(root)
                        arc = str(PurePosixPath(prefix) / rel.as_posix()) if str(rel) != "." else prefix
                        tar.addfile(_info(arc, os.lstat(here), tarfile.DIRTYPE))
                        for name in sorted(filenames) + [d for d in dirnames if (here / d).is_symlink()]:
                            add_file(here / name, f"{arc}/{name}", skip)

                def add_file(path: Path, arc: str, skip: set[Path]) -> None:
                    st = os.lstat(path)
                    if path in skip:
                        summary.skipped.append(f"{path} (a secret: made again at install)")
                        return
                    if path.name.endswith(SQLITE_SIDE_FILES):
                        return  # part of a database copied whole by the backup API
                    if os.path.islink(path):
                        ti = _info(arc, st, tarfile.SYMTYPE)
                        ti.linkname = os.readlink(path)
                        tar.addfile(ti)
                        manifest[arc] = {"link": ti.linkname}
                        return
                    if not path.is_file():
                        summary.skipped.append(f"{path} (not a regular file)")
                        return
                    source = path
                    if _is_sqlite(path):
                        source = scratch / f"db-{len(summary.databases)}"
                        _sqlite_copy(path, source)
                        summary.databases.append(arc)
                        progress(f"backup: database {arc} copied by SQLite's backup API")
                    size = os.stat(source).st_size
                    try:
                        f = open(source, "rb")  # noqa: SIM115 (closed by the with below)
                    except PermissionError as exc:
                        _unreadable(exc)
                    with f:
                        reader = _Hashing(f, size)
                        try:
                            tar.addfile(_info(arc, st, tarfile.REGTYPE, size), io.BufferedReader(reader))
                        except OSError as exc:
                            raise BackupError(f"{path} changed while it was being backed up ({exc}): run the backup "
                                              "again; nothing was written") from None
                    user, group = _names(st)
                    manifest[arc] = {"sha256": reader.sha.hexdigest(), "size": size,
                                     "mode": f"{st.st_mode & 0o7777:04o}", "owner": f"{user}:{group}"}
                    summary.files += 1
                    summary.bytes += size
                    if source != path:
                        source.unlink()

                add_tree(state, "state", secret_files)
                if s.db_url and s.db_url.startswith("postgresql"):
                    dump = scratch / "gradebook.pgdump"
                    progress("backup: PostgreSQL gradebook by pg_dump ...")
                    _pg_dump(s.db_url, dump)
                    add_file(dump, PG_DUMP, set())
                    summary.databases.append(PG_DUMP)
                for name, home in homes:
                    add_tree(home, f"homes/{name}", set())
                    summary.homes.append(name)
                body = json.dumps({"made": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                                   "state_dir": str(state), "db_url_kind": _db_kind(s),
                                   "files": manifest}, indent=1, sort_keys=True).encode()
                ti = tarfile.TarInfo(MANIFEST)
                ti.size, ti.mode, ti.mtime = len(body), 0o600, int(time.time())
                tar.addfile(ti, io.BytesIO(body))
            sealer.finish()
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, dest)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        if journal:
            journal.unlock()
    progress(f"backup: {dest}: {summary.files} files ({summary.bytes} bytes), {len(summary.databases)} database(s), "
             f"{len(summary.homes)} learners' homes")
    return summary


def _db_kind(s: Settings) -> str:
    return "postgresql" if s.db_url and s.db_url.startswith("postgresql") else "sqlite"


def _libpq(url: str) -> str:
    """SQLAlchemy's ``postgresql+psycopg2://...`` as libpq's ``postgresql://...``."""
    return "postgresql://" + url.split("://", 1)[1]


def _pg_dump(url: str, dest: Path) -> None:
    tool = shutil.which("pg_dump")
    if not tool:
        raise BackupError("pg_dump is not installed (Debian: postgresql-client): the PostgreSQL gradebook cannot be "
                          "backed up; nothing was written")
    done = subprocess.run([tool, "--format=custom", "--no-owner", "--file", str(dest), _libpq(url)],
                          capture_output=True, text=True, check=False)
    if done.returncode:
        raise BackupError(f"pg_dump of the gradebook failed: {done.stderr.strip()[-400:]}; nothing was written")


# -- restore ---------------------------------------------------------------------


@dataclass
class Restored:
    files: int = 0
    homes: list[str] = field(default_factory=list)
    moved_aside: Path | None = None
    owners_missing: set[str] = field(default_factory=set)
    next_steps: list[str] = field(default_factory=list)
    top: dict[str, Path] = field(default_factory=dict)  # each missing owner's uppermost restored path

    def owned_paths(self, names: list[str]) -> list[tuple[str, Path]]:
        return [(n, self.top[n]) for n in names if n in self.top]


def _safe(name: str) -> PurePosixPath:
    p = PurePosixPath(name)
    if p.is_absolute() or ".." in p.parts or not p.parts:
        raise BackupError(f"the archive holds an unsafe path {name!r}; nothing was restored")
    return p


def _empty(path: Path) -> bool:
    return not path.exists() or (path.is_dir() and not any(path.iterdir()))


def restore(archive: Path, into: Path, key_file: Path | None = None, home_base: Path | None = Path("/home"),
            db_url: str | None = None, move_aside: bool = False, progress: Progress = print) -> Restored:
    """Rebuild the state folder ``into`` (and learners' homes under ``home_base``) from ``archive``."""
    if not archive.is_file():
        raise BackupError(f"the archive {archive} does not exist")
    key = read_key(key_file or key_path())
    into = into.resolve()
    result = Restored()
    if not _empty(into) and not move_aside:
        raise BackupError(f"{into} is not empty: restore rebuilds an empty state folder; give an empty or new folder, "
                          "or --move-aside to keep what is there under a new name first")
    root = os.geteuid() == 0
    into.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".hcwh-restore-", dir=into.parent))  # 0700
    try:
        progress(f"restore: decrypting {archive} and checking it ...")
        owners: dict[str, tuple[str, str, int]] = {}
        hashes: dict[str, str] = {}
        manifest = None
        with open(archive, "rb") as src, tarfile.open(fileobj=io.BufferedReader(_Opener(src, key, str(archive))),
                                                      mode="r|") as tar:
            for m in tar:
                rel = _safe(m.name)
                if m.name == MANIFEST:
                    manifest = json.load(tar.extractfile(m))
                    continue
                target = staging / rel
                if m.isdir():
                    target.mkdir(parents=True, exist_ok=True)
                elif m.issym():
                    target.parent.mkdir(parents=True, exist_ok=True)
                    os.symlink(m.linkname, target)
                elif m.isfile():
                    target.parent.mkdir(parents=True, exist_ok=True)
                    sha = hashlib.sha256()
                    with tar.extractfile(m) as f, open(target, "xb") as out:
                        while chunk := f.read(CHUNK):
                            sha.update(chunk)
                            out.write(chunk)
                    hashes[m.name] = sha.hexdigest()
                else:
                    raise BackupError(f"the archive holds {m.name!r}, which is not a file, folder or link")
                owners[m.name] = (m.uname, m.gname, m.mode)
        if manifest is None:
            raise BackupError(f"{archive} has no manifest: it is not a complete hcwh backup")
        listed = {k for k, v in manifest["files"].items() if "sha256" in v}
        if listed != set(hashes):
            raise BackupError(f"{archive}: the files do not match its manifest "
                              f"(missing {sorted(listed - set(hashes))[:3]}, extra {sorted(set(hashes) - listed)[:3]})")
        for name, sha in hashes.items():
            if manifest["files"][name]["sha256"] != sha:
                raise BackupError(f"{archive}: {name} does not match its SHA-256 in the manifest; nothing was restored")
        result.files = len(hashes)
        progress(f"restore: {result.files} files verified (SHA-256)")
        homes_dir = staging / "homes"
        home_names = sorted(p.name for p in homes_dir.iterdir()) if homes_dir.is_dir() else []
        if home_names and home_base is not None:
            busy = [str(home_base / n) for n in home_names if not _empty(home_base / n)]
            if busy:
                raise BackupError(f"learners' homes are not empty: {', '.join(busy[:5])}; nothing was restored")
        _set_owners(staging, owners, root, result)
        if _db_kind_of(manifest) == "postgresql":
            _pg_restore(staging / PG_DUMP, db_url, progress)
        # everything verified: move it into place
        if not _empty(into):
            result.moved_aside = into.with_name(f"{into.name}.before-restore-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}")
            os.rename(into, result.moved_aside)
            progress(f"restore: what was in {into} is kept in {result.moved_aside}")
        if into.exists():
            into.rmdir()
        os.rename(staging / "state", into)
        progress(f"restore: state folder {into} rebuilt")
        if home_base is not None:
            for n in home_names:
                target = home_base / n
                if target.exists():
                    target.rmdir()  # empty (checked above): e.g. made by hcwh-account ensure
                shutil.move(str(homes_dir / n), str(target))
                if os.stat(target).st_dev != os.stat(homes_dir).st_dev:  # copied to another disk: owners again
                    _set_owners(home_base, {k[len("homes/"):]: v for k, v in owners.items()
                                            if k == f"homes/{n}" or k.startswith(f"homes/{n}/")}, root, Restored())
                result.homes.append(n)
            if home_names:
                progress(f"restore: {len(home_names)} learners' homes under {home_base}")
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    for n, arc in result.top.items():  # archive names -> where they were restored
        first, *rest = arc.parts
        result.top[n] = (into.joinpath(*rest) if first == "state" else
                         home_base.joinpath(*rest) if first == "homes" and home_base else arc)
    result.next_steps = _next_steps(into, result, root, home_names if home_base is None else [],
                                    _db_kind_of(manifest) == "postgresql")
    for line in result.next_steps:
        progress(f"next: {line}")
    return result


def _set_owners(base: Path, owners: dict[str, tuple[str, str, int]], root: bool, result: Restored) -> None:
    """Modes, and as root owners by account name, deepest first (a 0500 folder is filled before it is closed)."""
    for name in sorted(owners, key=lambda n: n.count("/"), reverse=True):
        path = base / name
        uname, gname, mode = owners[name]
        if root:
            try:
                os.lchown(path, pwd.getpwnam(uname).pw_uid, grp.getgrnam(gname).gr_gid)
            except KeyError:
                result.owners_missing.add(uname)
                result.top[uname] = Path(name)  # deepest first: the last one seen is the uppermost
        if not path.is_symlink():
            os.chmod(path, mode)


def _db_kind_of(manifest: dict) -> str:
    return manifest.get("db_url_kind", "sqlite")


def _pg_restore(dump: Path, db_url: str | None, progress: Progress) -> None:
    if not db_url:
        raise BackupError("the archive's gradebook is a PostgreSQL dump: set HCWH_DB_URL to the new, empty gradebook "
                          "database (the DBA makes it) and restore again; nothing was restored")
    tool = shutil.which("pg_restore")
    if not tool:
        raise BackupError("pg_restore is not installed (Debian: postgresql-client); nothing was restored")
    progress("restore: PostgreSQL gradebook by pg_restore ...")
    done = subprocess.run([tool, "--no-owner", "--exit-on-error", "--single-transaction", "--dbname", _libpq(db_url),
                           str(dump)], capture_output=True, text=True, check=False)
    if done.returncode:
        raise BackupError(f"pg_restore into the gradebook database failed (is it empty?): "
                          f"{done.stderr.strip()[-400:]}; the state folder was not restored")


def _next_steps(into: Path, r: Restored, root: bool, homes_left: list[str], postgres: bool) -> list[str]:
    steps = [(f"as root: bash scripts/hub-setup.sh {into}   (accounts, the account helper, and new hub secrets: "
              "cookie secret, proxy and service tokens; everyone signs in again)"),
             f"hcwh --state-dir {into} audit verify   (the restored audit trail's chain)"]
    if postgres:
        steps.insert(1, f"the gradebook's password: python3 -m autograde.hub.credentials set {into} db-password")
    if r.owners_missing:
        missing = sorted(r.owners_missing)
        steps.insert(1, "accounts missing on this machine, whose files are root's for now: " + ", ".join(missing)
                     + ". After hub-setup, make each one (`sudo hcwh-account ensure NAME` for a learner; a "
                     "service account by hub-setup itself), then give back its files: "
                     + "; ".join(f"chown -R {n}: {p}" for n, p in sorted(r.owned_paths(missing))))
    if not root:
        steps.insert(0, "not run as root: owners were not restored (modes were); restore as root on the server")
    if homes_left:
        steps.append(f"learners' homes ({len(homes_left)}) are in the archive but were not restored: "
                     "give --homes /home")
    return steps
