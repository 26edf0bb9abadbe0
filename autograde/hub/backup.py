"""``hcwh backup`` and ``hcwh restore``: one consistent, encrypted set of everything that matters,
and an empty machine rebuilt from it.

**What is in a set.** Everything under the state folder (course folder: releases, submissions,
autograded copies, feedback; the gradebook; the hub database; both exchanges; the roster and cohort
plans; enrollment codes; reports; the compliance record with its archive, audit trail and
pseudonym key; manual-score attribution), each SQLite database copied through SQLite's backup API
(a consistent copy even while a service writes), a PostgreSQL gradebook as a ``pg_dump``, and the
learners' work in progress (the visible files in each roster learner's home folder). Not in a set:
the hub's secrets (``credentials.SECRETS``: made again by ``hub-secrets.sh ensure`` on the new
machine, the database password set again by IT), run files (pids, the hub's API address), and
anything hidden in a home folder (caches, Jupyter's runtime tokens).

**Consistent.** A backup holds the autograde journal's lock, so no grading run changes the
gradebook and course folder while it copies; the exchanges write by atomic rename, so a file is
either in the set whole or not yet there.

**Encrypted, the key apart.** The set is a tar archive encrypted in 1 MiB chunks with AES-256-GCM
(each chunk's nonce is a random prefix and its number; the last chunk is marked, so a cut or
reordered archive fails), with a 256-bit key in a file of its own (``HCWH_BACKUP_KEY``, default
``/etc/hcwh/backup.key``, 0600, root's), never inside the state folder or beside the archives.
``MANIFEST.json`` inside lists every member with its SHA-256, mode and owner.

**Nothing half-made.** The archive is written under a temporary name and renamed when complete. A
restore decrypts and checks everything in a folder beside the target before anything appears at
the target, refuses a target that is not empty, and chowns each file to its recorded owner's
account where that account exists.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import grp
import pwd
import secrets
import shutil
import sqlite3
import struct
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from autograde import roster
from autograde.config import Settings
from autograde.errors import HcwhError
from autograde.private import DIR_MODE, FILE_MODE

MAGIC = b"HCWH-BACKUP-1\n"
CHUNK = 1 << 20
DEFAULT_KEY = Path("/etc/hcwh/backup.key")
SUFFIX = ".hcwhbk"
SQLITE = (".db", ".sqlite")
SKIP_NAMES = {"jupyterhub.pid", "proxy.pid", "api-url"}  # written anew by the hub at each start


class BackupError(HcwhError, RuntimeError):
    """A backup or restore that cannot be done; the message names what and where. Nothing is half-made."""


# -- the key ---------------------------------------------------------------------------


def key_path(env: dict | None = None) -> Path:
    env = os.environ if env is None else env
    return Path(env.get("HCWH_BACKUP_KEY") or DEFAULT_KEY)


def make_key(path: Path) -> Path:
    """A new backup key file (0600); never over an existing one (its archives would be lost)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        raise BackupError(f"{path} already exists: a new key would make every archive made with it "
                          "unreadable; keep it (and a copy of it somewhere other than the backups)") from None
    with os.fdopen(fd, "w") as f:
        f.write(base64.b64encode(secrets.token_bytes(32)).decode() + "\n")
    return path


def read_key(path: Path, s: Settings | None = None, dest: Path | None = None) -> bytes:
    path = Path(path).resolve()
    for inside, what in ((s.state_dir.resolve() if s else None, "the state folder"),
                         (Path(dest).resolve() if dest else None, "the backup folder")):
        if inside is not None and path.is_relative_to(inside):
            raise BackupError(f"the backup key {path} is inside {what} ({inside}): keep it apart, or a stolen "
                              "backup carries its own key")
    try:
        st = path.stat()
        raw = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        raise BackupError(f"no backup key at {path}: make one with 'hcwh backup --make-key {path}' (or set "
                          "HCWH_BACKUP_KEY), and keep a copy apart from the backups") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BackupError(f"the backup key {path} cannot be read: {exc}") from None
    if st.st_mode & 0o077:
        raise BackupError(f"the backup key {path} is mode {st.st_mode & 0o777:o}: make it 0600")
    try:
        key = base64.b64decode(raw, validate=True)
    except ValueError:
        key = b""
    if len(key) != 32:
        raise BackupError(f"{path} is not a backup key (32 bytes, base64)")
    return key


# -- the stream (AES-256-GCM in chunks) ----------------------------------------------------


def _encrypt(src: Path, dest, key: bytes) -> None:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    aes, prefix = AESGCM(key), secrets.token_bytes(8)
    dest.write(MAGIC + prefix)
    size, n = src.stat().st_size, 0
    with src.open("rb") as f:
        while True:
            chunk = f.read(CHUNK)
            last = f.tell() >= size
            aad = MAGIC + struct.pack(">I?", n, last)
            sealed = aes.encrypt(prefix + struct.pack(">I", n), chunk, aad)
            dest.write(struct.pack(">I", len(sealed)) + sealed)
            n += 1
            if last:
                break


def _decrypt(src: Path, dest, key: bytes) -> None:
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    aes = AESGCM(key)
    bad = f"{src}: the archive is damaged or was changed, or it was not made with this key; nothing was restored"
    with src.open("rb") as f:
        if f.read(len(MAGIC)) != MAGIC:
            raise BackupError(f"{src} is not an hcwh backup archive")
        prefix, n, last = f.read(8), 0, False
        while not last:
            head = f.read(4)
            if len(head) < 4:
                raise BackupError(bad + " (it ends before its last part)")
            sealed = f.read(struct.unpack(">I", head)[0])
            nonce = prefix + struct.pack(">I", n)
            for flag in (False, True):
                try:
                    plain = aes.decrypt(nonce, sealed, MAGIC + struct.pack(">I?", n, flag))
                except InvalidTag:
                    continue
                last = flag
                break
            else:
                raise BackupError(bad)
            dest.write(plain)
            n += 1
        if f.read(1):
            raise BackupError(bad + " (bytes after its last part)")


# -- making a set ---------------------------------------------------------------------------


def _owner(st: os.stat_result) -> tuple[str, str]:
    try:
        user = pwd.getpwuid(st.st_uid).pw_name
    except KeyError:
        user = str(st.st_uid)
    try:
        group = grp.getgrgid(st.st_gid).gr_name
    except KeyError:
        group = str(st.st_gid)
    return user, group


def _sqlite_copy(path: Path, into: Path) -> Path:
    dest = into / hashlib.sha256(str(path).encode()).hexdigest()
    a, b = sqlite3.connect(path), sqlite3.connect(dest)
    try:
        a.backup(b)
    finally:
        a.close()
        b.close()
    return dest


def _secret_paths(s: Settings) -> set[Path]:
    from autograde.hub import credentials

    return {credentials.path_of(s.state_dir, secret).resolve() for secret in credentials.SECRETS}


@dataclass
class BackupReport:
    archive: Path
    files: int = 0
    bytes: int = 0
    homes: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"Backup: {self.archive} ({self.files} files, {self.bytes / 1e6:.1f} MB before encryption)"]
        if self.homes:
            out.append(f"  work in progress from {len(self.homes)} learner home folder(s)")
        out += [f"  not backed up: {x}" for x in self.skipped]
        return out


def backup(s: Settings, dest: Path, key_file: Path | None = None, homes: Path = Path("/home"),
           progress: Callable[[str], None] = lambda line: None) -> BackupReport:
    """One encrypted set of the state folder and the learners' homes in ``dest`` (see the module
    docstring). Returns what went in."""
    from autograde.grading.journal import Journal

    dest = Path(dest).resolve()
    key = read_key(key_file or key_path(), s, dest)
    if not s.state_dir.is_dir():
        raise BackupError(f"no state folder at {s.state_dir}: nothing to back up")
    if dest.is_relative_to(s.state_dir.resolve()):
        raise BackupError(f"the backup folder {dest} is inside the state folder it backs up")
    dest.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    os.chmod(dest, DIR_MODE)
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H%M%SZ")
    final = dest / f"hcwh-backup-{stamp}{SUFFIX}"
    n = 1
    while final.exists():
        n += 1
        final = dest / f"hcwh-backup-{stamp}-{n}{SUFFIX}"
    report = BackupReport(final)
    secret_files = _secret_paths(s)
    journal = Journal(s)
    if s.course_dir.is_dir():
        journal.lock()  # no autograde changes the gradebook or course folder while we copy
    work = Path(tempfile.mkdtemp(prefix=".hcwh-backup-", dir=dest))
    try:
        members: list[dict] = []
        tar_path = work / "set.tar"
        with tarfile.open(tar_path, "w", format=tarfile.PAX_FORMAT) as tar:

            def add(source: Path, name: str, data_from: Path | None = None) -> None:
                st = source.lstat()
                info = tar.gettarinfo(str(source), arcname=name)
                info.uname, info.gname = _owner(st)
                entry = {"name": name, "mode": st.st_mode & 0o7777, "user": info.uname, "group": info.gname}
                if info.issym():
                    entry["link"] = os.readlink(source)
                    tar.addfile(info)
                elif info.isdir():
                    entry["type"] = "dir"
                    tar.addfile(info)
                else:
                    body = (data_from or source).read_bytes()
                    info.size = len(body)
                    entry["sha256"] = hashlib.sha256(body).hexdigest()
                    tar.addfile(info, io.BytesIO(body))
                    report.files += 1
                    report.bytes += len(body)
                members.append(entry)

            progress(f"backup: the state folder {s.state_dir}")
            copies = work / "sqlite"
            copies.mkdir()
            for path in sorted(s.state_dir.rglob("*")):
                rel = path.relative_to(s.state_dir)
                if path.resolve() in secret_files or path.name in SKIP_NAMES:
                    report.skipped.append(f"{rel} (a secret or run file: made again on the new machine)")
                    continue
                if path.name.endswith(("-wal", "-shm", "-journal")):
                    continue  # SQLite's own side files: the backup API's copy holds their content
                if path.is_file() and not path.is_symlink() and path.suffix in SQLITE:
                    add(path, f"state/{rel}", _sqlite_copy(path, copies))
                else:
                    add(path, f"state/{rel}")
            if s.db_url and s.db_url.startswith("postgresql"):
                progress("backup: the gradebook in PostgreSQL (pg_dump)")
                dump = work / "gradebook.pgdump"
                run = subprocess.run(["pg_dump", "--format=custom", "--no-owner", f"--file={dump}", s.db_url],
                                     capture_output=True, text=True)
                if run.returncode != 0:
                    raise BackupError(f"pg_dump of the gradebook failed: {run.stderr.strip()[-400:]}; nothing was kept")
                add(dump, "postgres/gradebook.pgdump")
            for learner in sorted(roster.load(s).learners):
                home = homes / learner
                if not home.is_dir():
                    continue
                report.homes.append(learner)
                for path in sorted(home.rglob("*")):
                    rel = path.relative_to(home)
                    if any(part.startswith(".") for part in rel.parts):
                        continue  # caches, Jupyter's runtime and tokens: never work in progress
                    add(path, f"homes/{learner}/{rel}")
            manifest = {"made_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                        "state_dir": str(s.state_dir), "gradebook": "postgresql" if s.db_url else "sqlite",
                        "course_id": s.course_id, "members": members}
            body = json.dumps(manifest, indent=1).encode()
            info = tarfile.TarInfo("MANIFEST.json")
            info.size, info.mode = len(body), FILE_MODE
            tar.addfile(info, io.BytesIO(body))
        progress(f"backup: encrypting {report.files} files")
        partial = dest / f".{final.name}.partial"
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
        try:
            with os.fdopen(fd, "wb") as out:
                _encrypt(tar_path, out, key)
                out.flush()
                os.fsync(out.fileno())
            os.replace(partial, final)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
        journal.unlock()
    return report


# -- restoring ------------------------------------------------------------------------------


@dataclass
class RestoreReport:
    target: Path
    files: int = 0
    homes: list[str] = field(default_factory=list)
    unowned: set[str] = field(default_factory=set)
    postgres_dump: Path | None = None

    def lines(self) -> list[str]:
        out = [f"Restored {self.files} files into {self.target}; every file matched its SHA-256"]
        if self.homes:
            out.append(f"  work in progress of {len(self.homes)} learner(s) into their home folders")
        if self.unowned:
            out.append(f"  owned by root for now (no such account here yet): {', '.join(sorted(self.unowned))}; "
                       "run scripts/hub-setup.sh, then restore again into an empty folder, or chown by hand")
        if self.postgres_dump:
            out.append(f"  the PostgreSQL gradebook: pg_restore --no-owner -d \"$HCWH_DB_URL\" {self.postgres_dump}")
        out.append("  next: scripts/hub-secrets.sh ensure (new secrets), set db-password if PostgreSQL, start the hub")
        return out


def _safe(name: str) -> bool:
    parts = Path(name).parts
    return bool(parts) and not Path(name).is_absolute() and ".." not in parts


def restore(archive: Path, target: Path, key_file: Path | None = None, homes: Path = Path("/home"),
            progress: Callable[[str], None] = lambda line: None) -> RestoreReport:
    """Rebuild an empty state folder (and the learners' homes) from one archive."""
    archive, target = Path(archive).resolve(), Path(target).resolve()
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise BackupError(f"{target} is not empty: a restore never writes over a state folder; "
                          "choose an empty or new folder")
    key = read_key(key_file or key_path())
    if not archive.is_file():
        raise BackupError(f"no archive at {archive}")
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{target.name}.restoring-", dir=target.parent))
    try:
        progress(f"restore: decrypting {archive}")
        tar_path = work / "set.tar"
        with tar_path.open("wb") as out:
            _decrypt(archive, out, key)
        staged = work / "staged"
        with tarfile.open(tar_path, "r") as tar:
            try:
                manifest = json.loads(tar.extractfile("MANIFEST.json").read())
            except (KeyError, ValueError) as exc:
                raise BackupError(f"{archive}: no readable MANIFEST.json inside ({exc})") from None
            listed = {m["name"]: m for m in manifest["members"]}
            names = [m.name for m in tar.getmembers() if m.name != "MANIFEST.json"]
            if sorted(names) != sorted(listed):
                raise BackupError(f"{archive}: its members differ from its manifest; nothing was restored")
            report = RestoreReport(target)
            for member in tar.getmembers():
                if member.name == "MANIFEST.json":
                    continue
                if not _safe(member.name) or not member.name.startswith(("state/", "homes/", "postgres/")):
                    raise BackupError(f"{archive}: member {member.name!r} would land outside the restore")
                entry = listed[member.name]
                out_path = staged / member.name
                out_path.parent.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
                if member.isdir():
                    out_path.mkdir(exist_ok=True)
                elif member.issym():
                    out_path.symlink_to(entry["link"])
                elif member.isfile():
                    body = tar.extractfile(member).read()
                    if hashlib.sha256(body).hexdigest() != entry.get("sha256"):
                        raise BackupError(f"{archive}: {member.name} does not match its SHA-256; nothing was restored")
                    out_path.write_bytes(body)
                    report.files += 1
                else:
                    raise BackupError(f"{archive}: {member.name!r} is not a file, folder or link")
        # modes and owners, deepest first so folders are closed last
        for name, entry in sorted(listed.items(), key=lambda kv: -len(Path(kv[0]).parts)):
            path = staged / name
            if "link" in entry:
                continue
            os.chmod(path, entry["mode"])
            if os.geteuid() == 0:
                try:
                    uid, gid = pwd.getpwnam(entry["user"]).pw_uid, grp.getgrnam(entry["group"]).gr_gid
                except KeyError:
                    report.unowned.add(entry["user"])
                    continue
                os.chown(path, uid, gid)
        state = staged / "state"
        state.mkdir(exist_ok=True)
        if target.exists():
            target.rmdir()  # empty, checked above
        os.replace(state, target)
        for learner_home in sorted((staged / "homes").glob("*")) if (staged / "homes").is_dir() else []:
            home = homes / learner_home.name
            home.mkdir(parents=True, exist_ok=True)
            for item in sorted(learner_home.iterdir()):
                if (home / item.name).exists():
                    raise BackupError(f"{home / item.name} already exists: the state folder is restored; move it "
                                      "aside and restore again into an empty folder to bring back the homes")
                shutil.move(str(item), home / item.name)
            report.homes.append(learner_home.name)
        dump = staged / "postgres" / "gradebook.pgdump"
        if dump.exists():
            kept = target / "restored-gradebook.pgdump"
            shutil.move(str(dump), kept)
            report.postgres_dump = kept
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return report
