"""The secrets of a hub: one definition (``SECRETS``), made at install, rotated by name.

Every secret the hub and its services hold is one ``Secret`` record below: where its file is,
which account owns it (mode 0600), whether the install generates it or the city provides it,
and what a rotation means (what restarts, what survives). Nothing else in the project names a
secret's file: ``hub/jupyterhub_config.py`` reads them through ``read``, the isolation test
(tests/e2e/test_isolation.py) tries every one from a learner's kernel through ``files``.

Run by IT as root, with Debian's Python and the standard library only
(``scripts/hub-secrets.sh``, which ``scripts/hub-setup.sh`` calls with ``ensure``)::

    python3 -m autograde.hub.credentials ensure STATE   # make what is missing (install)
    python3 -m autograde.hub.credentials list STATE     # each secret, its file, owner, mode, age
    python3 -m autograde.hub.credentials rotate STATE NAME   # a new value; says what to restart
    python3 -m autograde.hub.credentials set STATE NAME      # a provided secret, from stdin

A new file is written beside the old one (0600, its owner) and renamed over it, so a secret is
never half-written. Secrets are never in git, in a config file, or in a learner's environment.
"""

from __future__ import annotations

import os
import pwd
import secrets as _random
import stat
import sys
import time
from dataclasses import dataclass
from pathlib import Path

COURSE_USER = os.environ.get("HCWH_COURSE_USER") or "hcwh-course"


@dataclass(frozen=True)
class Secret:
    name: str
    path: str            # relative to the state folder
    owner: str           # "root" or "course" (the course account, HCWH_COURSE_USER)
    kind: str            # "generated" (the install makes it, 32 random bytes as hex) or "provided" (the city's)
    what: str            # what it protects
    rotation: str        # what a rotation restarts and what survives it


SECRETS: tuple[Secret, ...] = (
    Secret("cookie-secret", "hub/jupyterhub_cookie_secret", "root", "generated",
           "signs the hub's login cookies",
           "restart the hub: every hub login ends and everyone signs in again; learners' pages keep running "
           "and their saved answers stay"),
    Secret("proxy-token", "hub/proxy.token", "root", "generated",
           "the hub's key to the proxy's routing API",
           "restart the hub (it starts a new proxy with the new token): logins survive, learners' pages keep "
           "running, open pages reconnect within seconds"),
    Secret("accounts-token", "hub/accounts-service.token", "root", "generated",
           "the account helper's hub token (stop a leaver's server, revoke tokens)",
           "restart the hub: nothing else; the helper reads the file on each run"),
    Secret("exchange-cli-token", "exchange-cli.token", "course", "generated",
           "hcwh's hub token for the exchange (release, collect, feedback)",
           "restart the hub: nothing else; the hcwh alias reads the file on each run"),
    Secret("db-password", "db.pgpass", "course", "provided",
           "the gradebook's PostgreSQL password, as a libpq password file line "
           "(host:port:database:user:password; the services get PGPASSFILE, never the password)",
           "the DBA changes the role's password, then `set db-password`: the next connection uses it "
           "(libpq reads the file on each connection); nothing restarts"),
)
# Made by the hub at each start and held only in the memory of the process they are for (never a
# file): the managed services' API tokens (formgrader, trainer console, HR report, idle culler,
# exchange) and each learner server's token. Rotated by restarting the hub (services) or the page.
# Provided by the city at a path of its choice, each refused unless 0600 when it is read: the LDAP bind
# password (HCWH_LDAP_BIND_PASSWORD_FILE, root's, read at hub start), the TLS key (HCWH_TLS_KEY, the
# proxy account's), the mail relay's and the LRS's passwords (HCWH_SMTP_PASSWORD_FILE,
# HCWH_XAPI_PASSWORD_FILE: the course account's, read by `hcwh remind` and `hcwh xapi send` on each run).
EXTERNAL = {"ldap-bind-password": "HCWH_LDAP_BIND_PASSWORD_FILE", "tls-key": "HCWH_TLS_KEY",
            "smtp-password": "HCWH_SMTP_PASSWORD_FILE", "xapi-password": "HCWH_XAPI_PASSWORD_FILE"}
# The key of `hcwh backup`'s archives (autograde/hub/backup.py): root's, 0600, made by hub-setup.sh, never
# rotated (older archives need it); outside the state folder, since the state folder is what is backed up.
BACKUP_KEY_ENV, BACKUP_KEY_DEFAULT = "HCWH_BACKUP_KEY", "/etc/hcwh/backup.key"


def backup_key_path(environ: dict | None = None) -> Path:
    environ = os.environ if environ is None else environ
    return Path(environ.get(BACKUP_KEY_ENV) or BACKUP_KEY_DEFAULT)


# The certificates' signing key (autograde/record/signer.py): the signer account's alone, 0600, made by
# hub-setup.sh; the application reads only KEY.pub (HCWH_SIGNER_PUBLIC_KEY). Never rotated in place: a
# new key is a new file (older certificates keep verifying, their public key is in record.db).
SIGNER_USER = os.environ.get("HCWH_SIGNER_USER") or "hcwh-signer"
SIGNER_KEY_DEFAULT = "/etc/hcwh/signer/certificate.key"


def signer_key_path(environ: dict | None = None) -> Path:
    """The private key beside HCWH_SIGNER_PUBLIC_KEY (KEY.pub, as the signer's ``init`` writes them)."""
    environ = os.environ if environ is None else environ
    public = environ.get("HCWH_SIGNER_PUBLIC_KEY") or ""
    return Path(public.removesuffix(".pub") if public.endswith(".pub") else SIGNER_KEY_DEFAULT)


class SecretError(Exception):
    """A secret is missing, unknown or unsafe; the message names it, its file and the fix."""


def by_name(name: str) -> Secret:
    for s in SECRETS:
        if s.name == name:
            return s
    raise SecretError(f"no secret named {name!r}; the secrets are: {', '.join(s.name for s in SECRETS)}")


def path_of(state: Path, secret: Secret) -> Path:
    return Path(state) / secret.path


def _owner_ids(secret: Secret) -> tuple[int, int]:
    if secret.owner == "root":
        return 0, 0
    pw = pwd.getpwnam(COURSE_USER)
    return pw.pw_uid, pw.pw_gid


def _write(path: Path, value: str, owner: tuple[int, int]) -> None:
    """``value`` into ``path``, mode 0600, owned by ``owner``: a new file renamed over the old one."""
    tmp = path.with_name(f".{path.name}.new-{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(value + "\n")
            f.flush()
            os.fsync(f.fileno())
        if os.geteuid() == 0:
            os.chown(tmp, *owner)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def ensure(state: Path) -> list[str]:
    """Make every generated secret that is missing (0600, its owner); fix the mode and owner of
    those present. Returns the names made."""
    made = []
    for s in SECRETS:
        path = path_of(state, s)
        if not path.parent.is_dir():
            raise SecretError(f"{s.name}: its folder {path.parent} does not exist (run scripts/hub-setup.sh)")
        if path.exists():
            os.chmod(path, 0o600)
            if os.geteuid() == 0:
                os.chown(path, *_owner_ids(s))
        elif s.kind == "generated":
            _write(path, _random.token_hex(32), _owner_ids(s))
            made.append(s.name)
    return made


def rotate(state: Path, name: str) -> str:
    """A new random value for the generated secret ``name``; returns what to do next."""
    s = by_name(name)
    if s.kind != "generated":
        raise SecretError(f"{name} is provided by the city, not generated: put the new value in with "
                          f"`set {name}` (from standard input)")
    path = path_of(state, s)
    if not path.exists():
        raise SecretError(f"{name}: {path} does not exist yet; run `ensure` first (scripts/hub-setup.sh)")
    _write(path, _random.token_hex(32), _owner_ids(s))
    return s.rotation


def set_value(state: Path, name: str, value: str) -> str:
    """The city's new value for the provided secret ``name``; returns what to do next."""
    s = by_name(name)
    if s.kind != "provided":
        raise SecretError(f"{name} is generated: use `rotate {name}`")
    value = value.strip()
    if not value or "\n" in value:
        raise SecretError(f"{name}: give exactly one non-empty line on standard input; nothing was written")
    if name == "db-password" and value.count(":") < 4:
        raise SecretError("db-password: the line must be host:port:database:user:password (a libpq password "
                          "file line); nothing was written")
    _write(path_of(state, s), value, _owner_ids(s))
    return s.rotation


def read(state: Path, name: str) -> str:
    """The value of ``name``; a ``SecretError`` naming the file and the fix if it is missing or unsafe."""
    s = by_name(name)
    path = path_of(state, s)
    try:
        st = path.stat()
    except FileNotFoundError:
        raise SecretError(f"the secret {name} ({path}) is missing: run scripts/hub-setup.sh {state} "
                          f"(it makes every secret at install)") from None
    if st.st_mode & 0o077:
        raise SecretError(f"the secret {name} ({path}) has mode {stat.S_IMODE(st.st_mode):04o}; it must be 0600 "
                          f"(run scripts/hub-setup.sh {state}, which fixes it, then rotate it: it may have been read)")
    value = path.read_text().strip()
    if not value:
        raise SecretError(f"the secret {name} ({path}) is empty: rotate it (scripts/hub-secrets.sh rotate {name})")
    return value


def db_url_has_password(url: str) -> bool:
    """True if a database URL (``HCWH_DB_URL``) carries a password (``user:password@host``)."""
    from urllib.parse import urlsplit

    return bool(url) and urlsplit(url).password is not None


def files(state: Path, environ: dict | None = None) -> dict[str, Path]:
    """Every secret's file that exists on this hub: the records above, the city's files named by
    the environment (``EXTERNAL``), the backup key, the certificates' signing key and the audit
    trail's pseudonym key."""
    environ = os.environ if environ is None else environ
    found = {s.name: path_of(state, s) for s in SECRETS if path_of(state, s).exists()}
    for name, var in EXTERNAL.items():
        if environ.get(var):
            found[name] = Path(environ[var])
    if backup_key_path(environ).exists():
        found["backup-key"] = backup_key_path(environ)
    if signer_key_path(environ).exists():
        found["signer-key"] = signer_key_path(environ)
    # the audit trail's pseudonym key (autograde/record/audit.py key_path: the same rule), once made
    pseudonym = Path(environ.get("HCWH_PSEUDONYM_KEY") or Path(state) / "keys" / "pseudonym.key")
    if pseudonym.exists():
        found["pseudonym-key"] = pseudonym
    return found


def _listing(name: str, path: Path, what: str = "") -> str:
    st = path.stat()
    since = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(st.st_mtime))
    return f"{name:20} {path}  {pwd.getpwuid(st.st_uid).pw_name} {stat.S_IMODE(st.st_mode):04o}  since {since}{what}"


def _main(argv: list[str]) -> int:
    usage = ("usage: python3 -m autograde.hub.credentials ensure|list STATE\n"
             "       python3 -m autograde.hub.credentials rotate|set STATE NAME")
    if len(argv) < 2 or argv[0] not in ("ensure", "list", "rotate", "set") or \
            len(argv) != (3 if argv[0] in ("rotate", "set") else 2):
        print(usage, file=sys.stderr)
        return 2
    verb, state = argv[0], Path(argv[1])
    if os.geteuid() != 0:
        print("hcwh secrets: run as root (the hub's secrets are root's and the course account's)", file=sys.stderr)
        return 1
    try:
        if verb == "ensure":
            made = ensure(state)
            print(f"secrets: made {', '.join(made) if made else 'nothing (all present)'}; all 0600 in {state}")
        elif verb == "list":
            for s in SECRETS:
                p = path_of(state, s)
                if p.exists():
                    print(_listing(s.name, p, f"  ({s.what})"))
                else:
                    print(f"{s.name:20} {p}  not there ({s.kind}{': set it' if s.kind == 'provided' else ''})")
            listed = {s.name for s in SECRETS}
            for name, p in files(state).items():  # the keys and the city's files this environment names
                if name not in listed:
                    print(_listing(name, p))
        elif verb == "rotate":
            print(f"{argv[2]}: new value written. Next: {rotate(state, argv[2])}.")
        else:
            print(f"{argv[2]}: written. Next: {set_value(state, argv[2], sys.stdin.read())}.")
    except SecretError as e:
        print(f"hcwh secrets: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))
