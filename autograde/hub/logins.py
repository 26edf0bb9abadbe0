"""The hub's logins for the pilot (no directory): who may log in, with which role, how.

One JSON file, ``<state>/hub/logins.json``, mode 0600, owned by root (the hub reads and
writes it; the account helper writes it for ``hcwh roster``). For each login name:

- ``role``: ``learner``, ``trainer``, ``hr`` or ``it`` (the hub group it joins; ``it`` is the
  break-glass admin and holds JupyterHub's ``admin`` role);
- ``enrollment``: a one-time code's scrypt hash and its expiry (UTC), until it is used;
- ``password``: the scrypt hash of the password chosen with the code (``hashlib.scrypt``,
  n=2**14, r=8, p=1, a 16-byte salt per hash);
- ``failures`` and ``locked_until``: after ``MAX_FAILURES`` wrong passwords in a row the login
  is refused for ``LOCK_MINUTES`` minutes (a right password in that time is refused too);
- ``left``: the person has left (``hcwh roster leave``): every login is refused; the record
  stays, as do their work and grades.

Writes are atomic (a new file renamed over the old) under an exclusive lock, so the hub and
the helper never lose each other's changes. Standard library only.
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import os
import secrets
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROLES = ("learner", "trainer", "hr", "it")  # it: the break-glass admin, IT only
MAX_FAILURES = int(os.environ.get("HCWH_LOGIN_MAX_FAILURES", "5"))
LOCK_MINUTES = int(os.environ.get("HCWH_LOGIN_LOCK_MINUTES", "15"))
ENROLL_DAYS = int(os.environ.get("HCWH_ENROLL_DAYS", "7"))
MIN_PASSWORD = 10
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: read aloud or copied by hand
SCRYPT = {"n": 2**14, "r": 8, "p": 1}


def store_path(state_dir: Path) -> Path:
    return Path(state_dir) / "hub" / "logins.json"


def now() -> datetime:
    return datetime.now(timezone.utc)


def hash_secret(secret: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(secret.encode("utf-8"), salt=salt, dklen=32, **SCRYPT)
    return f"scrypt${SCRYPT['n']}${SCRYPT['r']}${SCRYPT['p']}${salt.hex()}${digest.hex()}"


def check_secret(secret: str, stored: str | None) -> bool:
    if not stored:
        return False
    try:
        kind, n, r, p, salt, digest = stored.split("$")
    except ValueError:
        return False
    if kind != "scrypt":
        return False
    got = hashlib.scrypt(secret.encode("utf-8"), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p), dklen=32)
    return hmac.compare_digest(got.hex(), digest)


def new_code() -> str:
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(12))
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


def normalise_code(code: str) -> str:
    """What a person typed, as it was issued: upper case, dashes where they belong."""
    raw = "".join(ch for ch in code.upper() if ch.isalnum())
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}" if len(raw) == 12 else code.strip().upper()


class LoginRefused(Exception):
    """A login or enrollment that is refused; the message is for the person at the screen.
    ``reason`` is for the security log: ``wrong``, ``locked`` (paused already) or ``lockout``
    (this try paused it)."""

    def __init__(self, message: str, reason: str = "wrong"):
        super().__init__(message)
        self.reason = reason


WRONG = ("That login name and password do not match. Check both and try again. "
         "If you have not chosen a password yet, use the enrollment page with the code your supervisor gave you.")


class LoginStore:
    def __init__(self, path: Path):
        self.path = Path(path)

    @contextmanager
    def _locked(self):
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.path.parent / ".logins.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            data = self._read()
            try:
                yield data
            finally:  # a refusal is recorded too (a wrong password counts towards the lockout)
                self._write(data)
        finally:
            os.close(fd)

    def _read(self) -> dict:
        try:
            return json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}

    def _write(self, data: dict) -> None:
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=1, sort_keys=True)
        os.replace(tmp, self.path)

    def get(self, name: str) -> dict | None:
        return self._read().get(name)

    def all(self) -> dict:
        return self._read()

    # -- IT / trainer side (through the account helper) ---------------------------

    def enroll(self, name: str, role: str, days: int = ENROLL_DAYS) -> tuple[str, datetime]:
        """A fresh one-time code for ``name`` (made if new; a returning leaver is back), valid
        ``days`` days; any password chosen before stays until the code is used."""
        if role not in ROLES:
            raise ValueError(f"role '{role}' is not one of {', '.join(ROLES)}")
        code, expires = new_code(), now() + timedelta(days=days)
        with self._locked() as data:
            rec = data.setdefault(name, {"role": role, "password": None, "failures": 0, "locked_until": None})
            rec.update(role=role, left=False, enrollment={"code": hash_secret(code), "expires": expires.isoformat()})
        return code, expires

    def leave(self, name: str) -> bool:
        """Mark ``name`` as left: every login refused from now on. False if unknown."""
        with self._locked() as data:
            if name not in data:
                return False
            data[name].update(left=True, left_at=now().isoformat(), enrollment=None)
        return True

    # -- the hub's side -------------------------------------------------------------

    def allowed(self, name: str) -> bool:
        rec = self.get(name)
        return bool(rec) and not rec.get("left")

    def role(self, name: str) -> str | None:
        rec = self.get(name)
        return rec["role"] if rec and not rec.get("left") else None

    def _check_lock(self, rec: dict, reason: str = "locked") -> None:
        until = rec.get("locked_until")
        if until and datetime.fromisoformat(until) > now():
            minutes = max(1, round((datetime.fromisoformat(until) - now()).total_seconds() / 60))
            raise LoginRefused(f"Too many wrong tries. For your safety this login is paused: try again in about "
                               f"{minutes} minute(s), or ask for help.", reason)

    def _fail(self, rec: dict) -> None:
        rec["failures"] = rec.get("failures", 0) + 1
        if rec["failures"] >= MAX_FAILURES:
            rec["locked_until"] = (now() + timedelta(minutes=LOCK_MINUTES)).isoformat()
            rec["failures"] = 0

    def login(self, name: str, password: str) -> str:
        """The role of ``name`` if the password is right; LoginRefused in words otherwise."""
        with self._locked() as data:
            rec = data.get(name)
            if rec is None or rec.get("left"):
                hash_secret(password)  # the same time taken as for a real name
                raise LoginRefused(WRONG)
            self._check_lock(rec)
            if not check_secret(password, rec.get("password")):
                self._fail(rec)
                self._check_lock(rec, "lockout")
                raise LoginRefused(WRONG)
            rec.update(failures=0, locked_until=None, last_login=now().isoformat())
            return rec["role"]

    def redeem(self, name: str, code: str, password: str, again: str) -> str:
        """Use a one-time code to choose a password; the role. LoginRefused in words otherwise.
        Wrong codes count towards the same lockout as wrong passwords."""
        if password != again:
            raise LoginRefused("The two passwords are not the same. Type the same new password in both boxes.")
        if len(password) < MIN_PASSWORD:
            raise LoginRefused(f"Choose a longer password: at least {MIN_PASSWORD} characters. "
                               "A short sentence you will remember works well.")
        if password.strip().lower() in (name.lower(), code.strip().lower()):
            raise LoginRefused("Choose a password that is not your login name or your code.")
        with self._locked() as data:
            rec = data.get(name)
            if rec is None or rec.get("left"):
                hash_secret(code)
                raise LoginRefused("That login name and code do not match. Check both, exactly as your supervisor "
                                   "gave them to you.")
            self._check_lock(rec)
            enrollment = rec.get("enrollment")
            if not enrollment:
                raise LoginRefused("This code has already been used. Log in with the password you chose, "
                                   "or ask your supervisor for a new code.")
            if datetime.fromisoformat(enrollment["expires"]) <= now():
                raise LoginRefused("This code has expired. Ask your supervisor for a new one.")
            if not check_secret(normalise_code(code), enrollment["code"]):
                self._fail(rec)
                self._check_lock(rec, "lockout")
                raise LoginRefused("That login name and code do not match. Check both, exactly as your supervisor "
                                   "gave them to you.")
            rec.update(password=hash_secret(password), enrollment=None, failures=0, locked_until=None,
                       enrolled_at=now().isoformat(), last_login=now().isoformat())
            return rec["role"]
