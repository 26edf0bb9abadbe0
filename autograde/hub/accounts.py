"""The account helper: the one piece of the course that runs as root to change OS accounts.

It can do exactly this, and refuses everything else:

- ``ensure NAME``: make a learner's OS account, or leave it as it is if this helper made it:
  primary group ``hcwh-learners`` (made if missing), a uid in 20000–29999, shell
  ``/usr/sbin/nologin``, home ``/home/NAME`` mode 0700, the comment ``hcwh-learner`` (how the
  helper knows its own accounts), no password (learners log in to the hub, never to the OS);
  an account it had locked is unlocked.
- ``lock NAME``: ``usermod -L -e 1`` (password locked, account expired) on an account it made.
- ``enroll NAME ROLE``: a one-time enrollment code for the hub (role ``learner``, ``trainer``
  or ``hr``); for a learner the OS account is ensured first. Prints ``code<TAB>expires``.
- ``welcome NAME ROLE``: ``enroll``, unless the login already exists (and has not left).
- ``leave NAME``: the person has left: hub logins refused (``logins.json``), their server
  stopped and every token revoked through the hub's API (the ``hcwh-accounts`` service token),
  and, for a learner, the OS account locked. Records (home, submissions, grades) are kept.
- ``remove NAME``: only names starting with ``hcwhtest-`` (the test suite's accounts) or
  ``hcwhload-`` (benchmarks/hub_load.py's), and only accounts it made: ``userdel -r``.

A name must pass ``autograde.identity.login_name`` and may not belong to an account the helper
did not make. ``hcwh`` calls it directly when it runs as root, and through
``sudo -n /usr/local/sbin/hcwh-account`` otherwise (``make hub`` installs that file and one
sudoers line for the course account). Standard library only.

The state folder is ``$HCWH_STATE_DIR`` when root calls it directly, and the one named in
``/etc/hcwh/state-dir`` when it runs through sudo (which clears the environment).

Usage: ``hcwh-account ensure|lock|remove|leave NAME`` or ``hcwh-account enroll|welcome NAME ROLE``. Exit 0 and one line saying what was done;
exit 2 and the reason on a refusal.
"""

from __future__ import annotations

import grp
import os
import pwd
import subprocess
import sys

import json
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

try:
    from autograde import identity
    from autograde.hub import logins, seclog
except ImportError:  # the installed copy: identity.py, logins.py and seclog.py lie beside this file
    import identity  # type: ignore[no-redef]
    import logins  # type: ignore[no-redef]
    import seclog  # type: ignore[no-redef]

STATE_DIR_FILE = Path("/etc/hcwh/state-dir")  # written by `make hub`: the one state folder sudo may touch

GROUP = "hcwh-learners"
UID_MIN, UID_MAX = 20000, 29999
SHELL = "/usr/sbin/nologin"
HOME_BASE = "/home"
MARK = "hcwh-learner"
TEST_PREFIX = "hcwhtest-"
TEST_PREFIXES = (TEST_PREFIX, "hcwhload-")  # the test suite's accounts, the hub load benchmark's


class Refused(Exception):
    pass


def made_by_helper(name: str) -> bool:
    """True if the OS account ``name`` is one this helper made (comment, group, uid range)."""
    try:
        pw = pwd.getpwnam(name)
    except KeyError:
        return False
    try:
        group_ok = grp.getgrgid(pw.pw_gid).gr_name == GROUP
    except KeyError:
        group_ok = False
    return pw.pw_gecos == MARK and group_ok and UID_MIN <= pw.pw_uid <= UID_MAX


def _run(argv: list[str]) -> None:
    done = subprocess.run(argv, capture_output=True, text=True)
    if done.returncode != 0:
        raise Refused(f"{argv[0]} failed ({done.returncode}): {done.stderr.strip()}")


def _free_uid() -> int:
    used = {p.pw_uid for p in pwd.getpwall()} | {g.gr_gid for g in grp.getgrall()}
    for uid in range(UID_MIN, UID_MAX + 1):
        if uid not in used:
            return uid
    raise Refused(f"no free uid left in {UID_MIN}-{UID_MAX}")


def _checked(name: str) -> str:
    try:
        checked = identity.login_name(name)
    except identity.IdentityError as exc:
        raise Refused(str(exc)) from None
    if checked != name:
        raise Refused(f"'{name}' is not written as its login name '{checked}'")
    return name


def _group_gid() -> int:
    try:
        return grp.getgrnam(GROUP).gr_gid
    except KeyError:
        _run(["groupadd", "--system", GROUP])
        return grp.getgrnam(GROUP).gr_gid


def ensure(name: str) -> str:
    _checked(name)
    home = os.path.join(HOME_BASE, name)
    if identity.os_account_exists(name):
        if not made_by_helper(name):
            raise Refused(f"'{name}' is an existing account this helper did not make; it is left alone")
        _run(["usermod", "-U", "-e", "", name])  # unlock, no expiry (a returning learner)
        os.chmod(home, 0o700)
        return f"account {name} exists (made by the course); unlocked"
    gid = _group_gid()
    uid = _free_uid()
    _run(["useradd", "--uid", str(uid), "--gid", str(gid), "--shell", SHELL, "--comment", MARK,
          "--home-dir", home, "--create-home", "--skel", "/dev/null", "--key", "HOME_MODE=0700", name])
    os.chmod(home, 0o700)
    done = f"account {name} made (uid {uid}, group {GROUP}, home {home} 0700, shell {SHELL})"
    _event("account.create", name, "ok", detail=done)  # here: also when made for an enrollment or a welcome
    return done


def lock(name: str) -> str:
    _checked(name)
    if not made_by_helper(name):
        raise Refused(f"'{name}' is not an account this helper made; not locked")
    _run(["usermod", "-L", "-e", "1", name])
    return f"account {name} locked (usermod -L -e 1)"


def remove(name: str) -> str:
    if not name.startswith(TEST_PREFIXES):
        raise Refused(f"only test accounts ({', '.join(p + '...' for p in TEST_PREFIXES)}) are removed by this "
                      f"helper; '{name}' is kept")
    _checked(name)
    if not identity.os_account_exists(name):
        return f"account {name} does not exist"
    if not made_by_helper(name):
        raise Refused(f"'{name}' is not an account this helper made; not removed")
    subprocess.run(["pkill", "-KILL", "-u", name], capture_output=True)  # its processes first
    _run(["userdel", "--remove", name])
    return f"account {name} removed"


def state_dir() -> Path:
    if os.environ.get("SUDO_USER") or not os.environ.get("HCWH_STATE_DIR"):
        try:
            return Path(STATE_DIR_FILE.read_text(encoding="utf-8").strip())
        except OSError:
            raise Refused(f"no state folder: {STATE_DIR_FILE} is missing (run `make hub` as root)") from None
    return Path(os.environ["HCWH_STATE_DIR"])


def _store() -> "logins.LoginStore":
    return logins.LoginStore(logins.store_path(state_dir()))


def enroll(name: str, role: str) -> str:
    _checked(name)
    if role not in logins.ROLES:
        raise Refused(f"role '{role}' is not one of {', '.join(logins.ROLES)}")
    if role == "learner":
        ensure(name)
    elif identity.os_account_exists(name) and not made_by_helper(name):
        raise Refused(f"'{name}' is an existing account on this server that the course did not make")
    before = (_store().get(name) or {}).get("role")
    code, expires = _store().enroll(name, role)
    if before != role:
        _event("role.grant" if before is None else "role.change", name, "ok", role=role, before=before)
    return f"{code}\t{expires.isoformat(timespec='minutes')}"


def welcome(name: str, role: str) -> str:
    """``enroll``, unless ``name`` already has a hub login and has not left: then only the OS
    account is ensured (a roster imported again gives no one a new code)."""
    _checked(name)
    rec = _store().get(name)
    if rec is not None and not rec.get("left"):
        return ensure(name) if role == "learner" else f"login {name} exists"
    return enroll(name, role)


def _hub_api(method: str, path: str) -> tuple[int, object]:
    hub = state_dir() / "hub"
    try:
        url = (hub / "api-url").read_text(encoding="utf-8").strip()
        token = (hub / "accounts-service.token").read_text(encoding="utf-8").strip()
    except OSError:
        return 0, None  # no hub here: nothing running to stop
    req = urllib.request.Request(url.rstrip("/") + path, method=method, headers={"Authorization": f"token {token}"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            body = r.read()
            return r.status, json.loads(body) if body else None
    except urllib.error.HTTPError as exc:
        return exc.code, None
    except (urllib.error.URLError, OSError):
        return 0, None  # the hub is down: nothing is running either


def leave(name: str) -> str:
    _checked(name)
    store = _store()
    rec = store.get(name)
    if rec is None and not made_by_helper(name):
        raise Refused(f"'{name}' has no hub login and no account made by the course")
    store.leave(name)
    done = ["hub login refused"]
    user = urllib.parse.quote(name)
    status, _ = _hub_api("DELETE", f"/users/{user}/server")
    done.append({202: "server stopping", 204: "server stopped", 400: "no server running",
                 404: "not yet on the hub"}.get(status, "hub not reachable" if status == 0 else f"stop: HTTP {status}"))
    status, tokens = _hub_api("GET", f"/users/{user}/tokens")
    revoked = 0
    if status == 200 and isinstance(tokens, dict):
        for tok in tokens.get("api_tokens", []):
            s, _ = _hub_api("DELETE", f"/users/{user}/tokens/{tok['id']}")
            revoked += s in (200, 204)
    done.append(f"{revoked} token(s) revoked")
    if made_by_helper(name):
        lock(name)
        done.append("OS account locked (usermod -L -e 1)")
    return f"{name} has left: " + "; ".join(done) + "; records kept"


ACTIONS = {"ensure": ensure, "lock": lock, "remove": remove, "leave": leave}
EVENTS = {"ensure": "account.create", "lock": "account.lock", "remove": "account.remove", "leave": "account.leave",
          "enroll": "enrollment.code", "welcome": "enrollment.code"}


def _event(what: str, name: str, result: str, **extra) -> None:
    """The security log (seclog.py), written as root into the state folder's logs/; never raises."""
    try:
        state = state_dir()
    except Refused:
        state = None
    seclog.record(state, what, seclog.caller(), name, result, service="hcwh-account", **extra)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    ok = (len(args) == 2 and args[0] in ACTIONS) or (len(args) == 3 and args[0] in ("enroll", "welcome"))
    if not ok:
        print("usage: hcwh-account ensure|lock|remove|leave NAME, or hcwh-account enroll|welcome NAME ROLE", file=sys.stderr)
        return 2
    if os.geteuid() != 0:
        print("hcwh-account: must run as root (through sudo)", file=sys.stderr)
        return 2
    try:
        if args[0] in ("enroll", "welcome"):
            done = (enroll if args[0] == "enroll" else welcome)(args[1], args[2])
            if "\t" in done:  # a code was issued (the code itself is never logged)
                _event("enrollment.code", args[1], "ok", role=args[2], detail="expires " + done.split("\t")[1])
            print(done)
        else:
            done = ACTIONS[args[0]](args[1])
            if args[0] != "ensure":  # a new account is logged by ensure itself
                _event(EVENTS[args[0]], args[1], "ok", detail=done)
            print(done)
        return 0
    except Refused as exc:
        _event(EVENTS[args[0]], args[1], "refused", detail=str(exc))
        print(f"hcwh-account: refused: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
