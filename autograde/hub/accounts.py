"""The account helper: the one piece of the course that runs as root to change OS accounts.

It can do exactly this, and refuses everything else:

- ``ensure NAME``: make a learner's OS account, or leave it as it is if this helper made it:
  primary group ``hcwh-learners`` (made if missing), a uid in 20000–29999, shell
  ``/usr/sbin/nologin``, home ``/home/NAME`` mode 0700, the comment ``hcwh-learner`` (how the
  helper knows its own accounts), no password (learners log in to the hub, never to the OS);
  an account it had locked is unlocked.
- ``lock NAME``: ``usermod -L -e 1`` (password locked, account expired) on an account it made.
- ``remove NAME``: only names starting with ``hcwhtest-`` (the test suite's accounts), and
  only accounts it made: ``userdel -r``.

A name must pass ``autograde.identity.login_name`` and may not belong to an account the helper
did not make. ``hcwh`` calls it directly when it runs as root, and through
``sudo -n /usr/local/sbin/hcwh-account`` otherwise (``make hub`` installs that file and one
sudoers line for the course account). Standard library only.

Usage: ``hcwh-account ensure|lock|remove NAME``. Exit 0 and one line saying what was done;
exit 2 and the reason on a refusal.
"""

from __future__ import annotations

import grp
import os
import pwd
import subprocess
import sys

try:
    from autograde import identity
except ImportError:  # the installed copy: identity.py lies beside this file
    import identity  # type: ignore[no-redef]

GROUP = "hcwh-learners"
UID_MIN, UID_MAX = 20000, 29999
SHELL = "/usr/sbin/nologin"
HOME_BASE = "/home"
MARK = "hcwh-learner"
TEST_PREFIX = "hcwhtest-"


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
    return f"account {name} made (uid {uid}, group {GROUP}, home {home} 0700, shell {SHELL})"


def lock(name: str) -> str:
    _checked(name)
    if not made_by_helper(name):
        raise Refused(f"'{name}' is not an account this helper made; not locked")
    _run(["usermod", "-L", "-e", "1", name])
    return f"account {name} locked (usermod -L -e 1)"


def remove(name: str) -> str:
    if not name.startswith(TEST_PREFIX):
        raise Refused(f"only test accounts ({TEST_PREFIX}...) are removed by this helper; '{name}' is kept")
    _checked(name)
    if not identity.os_account_exists(name):
        return f"account {name} does not exist"
    if not made_by_helper(name):
        raise Refused(f"'{name}' is not an account this helper made; not removed")
    subprocess.run(["pkill", "-KILL", "-u", name], capture_output=True)  # its processes first
    _run(["userdel", "--remove", name])
    return f"account {name} removed"


ACTIONS = {"ensure": ensure, "lock": lock, "remove": remove}


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2 or args[0] not in ACTIONS:
        print("usage: hcwh-account ensure|lock|remove NAME", file=sys.stderr)
        return 2
    if os.geteuid() != 0:
        print("hcwh-account: must run as root (through sudo)", file=sys.stderr)
        return 2
    try:
        print(ACTIONS[args[0]](args[1]))
        return 0
    except Refused as exc:
        print(f"hcwh-account: refused: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
