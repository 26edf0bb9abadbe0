"""The one format files travel in between the exchange service and its clients: a tar archive
of regular files and folders, checked member by member before anything is written.

``pack(folder)`` makes one from a folder without following any link (a link is packed as a
link, so the service can refuse it by name). ``unpack(data)`` reads one into memory and
refuses it whole, naming the member, when any member is a link, a hard link, a device, a
fifo, an absolute path or a path with ``..``, or when it holds more than the limits
(preflight's: 200 files, 64 MiB in all). ``write_tree`` writes checked members into a new
folder, 0700 folders and 0600 files, each created exclusively (nothing is overwritten).
"""

from __future__ import annotations

import fnmatch
import hashlib
import io
import os
import secrets
import shutil
import stat
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from autograde.limits import MAX_SUBMISSION_BYTES, MAX_SUBMISSION_FILES
from autograde.private import DIR_MODE, FILE_MODE

# The archive's own framing on top of the files (headers, padding): generous, still bounded.
MAX_ARCHIVE_BYTES = MAX_SUBMISSION_BYTES + (MAX_SUBMISSION_FILES + 16) * 2048


class ArchiveRefused(ValueError):
    """The archive cannot be accepted; the message names the member and why."""


@dataclass(frozen=True)
class Member:
    path: str  # normalized, relative, '/'-separated
    data: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def _kind(info: tarfile.TarInfo) -> str:
    if info.issym():
        return f"a symbolic link (to {info.linkname})"
    if info.islnk():
        return f"a hard link (to {info.linkname})"
    if info.ischr() or info.isblk():
        return "a device"
    if info.isfifo():
        return "a fifo"
    return "not a regular file or folder"


def clean_path(name: str) -> str:
    """``name`` as a relative '/'-separated path, or ArchiveRefused: no absolute path, no '..',
    no empty or control-character part."""
    if not name or name.startswith("/") or "\\" in name or any(ord(ch) < 32 for ch in name):
        raise ArchiveRefused(f"'{name}' is not a relative path inside the submission")
    parts = [p for p in PurePosixPath(name).parts if p != "."]
    if not parts or any(p == ".." for p in parts):
        raise ArchiveRefused(f"'{name}' points outside the submission (absolute or '..')")
    return "/".join(parts)


def unpack(data: bytes, max_files: int = MAX_SUBMISSION_FILES, max_bytes: int = MAX_SUBMISSION_BYTES) -> list[Member]:
    """Every regular file in the archive ``data``, checked; ArchiveRefused for the whole archive otherwise."""
    if len(data) > MAX_ARCHIVE_BYTES:
        raise ArchiveRefused(f"the upload is {len(data)} bytes, over the limit of {MAX_ARCHIVE_BYTES}")
    members: list[Member] = []
    seen: set[str] = set()
    total = 0
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as tar:
            for info in tar:
                path = clean_path(info.name)
                if info.isdir():
                    continue
                if not info.isreg():
                    raise ArchiveRefused(f"'{path}' is {_kind(info)}; only regular files are accepted")
                if path in seen:
                    raise ArchiveRefused(f"'{path}' appears twice in the archive")
                seen.add(path)
                total += info.size
                if len(members) + 1 > max_files or total > max_bytes:
                    raise ArchiveRefused(f"the submission holds more than {max_files} files or {max_bytes} bytes")
                f = tar.extractfile(info)
                content = f.read(info.size + 1) if f else b""
                if len(content) != info.size:
                    raise ArchiveRefused(f"'{path}' is cut short in the archive")
                members.append(Member(path, content))
    except tarfile.TarError as exc:
        raise ArchiveRefused(f"the upload is not a readable tar archive ({exc})") from None
    names = {m.path for m in members}
    for m in members:  # a file may not also be used as a folder
        parent = PurePosixPath(m.path).parent
        while str(parent) != ".":
            if str(parent) in names:
                raise ArchiveRefused(f"'{parent}' is both a file and a folder in the archive")
            parent = parent.parent
    return members


def _ignored(name: str, ignore: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatch(name, pattern) for pattern in ignore)


def pack(folder: Path, ignore: tuple[str, ...] = (), skip: tuple[str, ...] = (),
         replace: dict[str, bytes] | None = None) -> bytes:
    """A tar archive of ``folder``: regular files by content (opened without following a link),
    links and special files as what they are (the service refuses them by name), never
    followed. Names matching ``ignore`` (nbgrader's CourseDirectory.ignore) are left out at
    any depth, and top-level names in ``skip``. A top-level regular file named in ``replace``
    is packed with that content instead of its own (the submit's filled reflections)."""
    replace = replace or {}
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        def walk(here: Path, rel: str) -> None:
            for entry in sorted(os.scandir(here), key=lambda e: e.name):
                name = f"{rel}{entry.name}"
                if _ignored(entry.name, ignore) or (not rel and entry.name in skip):
                    continue
                st = entry.stat(follow_symlinks=False)
                info = tarfile.TarInfo(name)
                info.mtime = 0  # file times are never evidence; the service stamps its own clock
                if stat.S_ISDIR(st.st_mode):
                    info.type = tarfile.DIRTYPE
                    tar.addfile(info)
                    walk(Path(entry.path), name + "/")
                elif stat.S_ISREG(st.st_mode) and not rel and entry.name in replace:
                    content = replace[entry.name]
                    info.size = len(content)
                    tar.addfile(info, io.BytesIO(content))
                elif stat.S_ISREG(st.st_mode):
                    fd = os.open(entry.path, os.O_RDONLY | os.O_NOFOLLOW)
                    with os.fdopen(fd, "rb") as f:
                        content = f.read()
                    info.size = len(content)
                    tar.addfile(info, io.BytesIO(content))
                elif stat.S_ISLNK(st.st_mode):
                    info.type = tarfile.SYMTYPE
                    info.linkname = os.readlink(entry.path)
                    tar.addfile(info)
                else:
                    info.type = tarfile.FIFOTYPE if stat.S_ISFIFO(st.st_mode) else tarfile.CHRTYPE
                    tar.addfile(info)
        walk(folder, "")
    return buf.getvalue()


def pack_members(members: list[Member]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for m in members:
            info = tarfile.TarInfo(m.path)
            info.size = len(m.data)
            info.mtime = 0
            tar.addfile(info, io.BytesIO(m.data))
    return buf.getvalue()


def write_tree(dest: Path, members: list[Member], file_mode: int = FILE_MODE) -> None:
    """Write ``members`` under the new folder ``dest`` (which must not exist): folders 0700,
    files ``file_mode``, each file created exclusively without following links."""
    dest.mkdir(mode=DIR_MODE)
    for m in members:
        target = dest.joinpath(*m.path.split("/"))
        for parent in reversed(target.relative_to(dest).parents[:-1]):
            (dest / parent).mkdir(mode=DIR_MODE, exist_ok=True)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, file_mode)
        with os.fdopen(fd, "wb") as f:
            f.write(m.data)


def replace_folder(dest: Path, fill: Callable[[Path], None]) -> None:
    """Replace the folder ``dest`` whole: ``fill(staging)`` builds the new one beside it (``staging``
    does not exist yet), then renames swap it in; on any error the old folder stays as it was and
    nothing half-made is left."""
    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}-new-", dir=dest.parent))
    os.rmdir(staging)  # a unique name on the same filesystem; fill makes the folder
    old = dest.parent / f".{dest.name}-old-{secrets.token_hex(4)}"
    try:
        fill(staging)
        if dest.exists():
            os.rename(dest, old)
        os.rename(staging, dest)
    except BaseException:
        if old.exists() and not dest.exists():
            os.rename(old, dest)
        shutil.rmtree(staging, ignore_errors=True)
        raise
    shutil.rmtree(old, ignore_errors=True)
