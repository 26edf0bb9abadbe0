"""Files that hold personal data: created mode 0600 (folders 0700), never world-readable.

The roster, the HR tables and their exports name real employees. Each file is
created with its final mode in the ``open`` call itself, so there is no moment
when it exists with looser permissions.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import IO

FILE_MODE = 0o600
DIR_MODE = 0o700


def private_dir(path: Path, exist_ok: bool = True) -> Path:
    """Make ``path`` (and missing parents) and make sure ``path`` itself is 0700."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.mkdir(mode=DIR_MODE, exist_ok=exist_ok)
    os.chmod(path, DIR_MODE)
    return path


def create_private(path: Path, binary: bool = False) -> IO:
    """Open a new file for writing, mode 0600; fails if it already exists."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    if binary:
        return os.fdopen(fd, "wb")
    return os.fdopen(fd, "w", encoding="utf-8", newline="")


def replace_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (write, then rename), mode 0600."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)  # mkstemp: mode 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_password(path: Path | None, user_setting: str, file_setting: str, error: type[Exception]) -> str:
    """A service's password from the file its setting names (never from a variable or the command
    line): ``error`` names the setting when the file is not set or cannot be read."""
    if path is None:
        raise error(f"{user_setting} is set but {file_setting} is not")
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError as exc:
        raise error(f"{file_setting} {path}: {exc.strerror}") from None
    with os.fdopen(fd, encoding="utf-8") as f:
        mode = os.fstat(f.fileno()).st_mode
        if mode & 0o077:  # a secret others can read may have been read: refuse it, and say how to mend
            raise error(f"{file_setting} {path} has mode {mode & 0o777:04o}: a password file must be 0600 "
                        f"(chmod 600 it, then have the password changed: it may have been read)")
        return f.read().strip()
