"""One identity: the employee id on the roster, and the login name it becomes.

On the cohort's server (the hub) one name is used everywhere: the roster's employee id,
the hub's user name, the learner's OS account and nbgrader's student id (nbgrader's exchange
knows a learner by the OS account that submitted). So that name must be a name all four
accept, and this module is the one place that says which names are.

The mapping: ``login_name(employee_id) == employee_id.lower()``. It is refused, with the
reason in words, when the result

- fails Debian's ``NAME_REGEX`` (``^[a-z][-a-z0-9_]*$``, adduser.conf's default without the
  machine-account ``$``): a lower-case letter first, then lower-case letters, digits, ``-``
  and ``_`` (so no ``.``: write ``ana-reyes``, not ``ana.reyes``);
- is all digits (``chown 104233`` would mean a uid), or longer than 32 characters (Linux);
- is reserved: system names (``root``, ``daemon``, ``nobody``...), JupyterHub's own words
  (``admin``, ``hub``, ``user``, ``services``...), and this project's service accounts;
- is already an OS account that the account helper did not make (``taken_by_other``);
- collides with another id when lower-cased (``Ana-Reyes`` and ``ana-reyes``).

On the hub the roster's employee id must already be its own login name (lower case): then
the roster, HR's report (which joins on the employee id) and nbgrader's gradebook (which
knows the login name) agree without a second column. ``check_ids`` says which rows are not.

Standard library only: the account helper (``autograde/hub/accounts.py``), which runs as
root, imports it.
"""

from __future__ import annotations

import pwd
import re
from collections.abc import Callable, Iterable

try:
    from curriculum.errors import HcwhError
except ImportError:  # the root helper's copy (/usr/local/lib/hcwh, stdlib only): no curriculum there
    class HcwhError(Exception):  # type: ignore[no-redef]
        """A problem the user can fix (curriculum.errors.HcwhError where the project is installed)."""

NAME_REGEX = re.compile(r"^[a-z][-a-z0-9_]*$")
MAX_LENGTH = 32
# Accounts this project runs its own processes as (never a learner's name).
SERVICE_ACCOUNTS = frozenset({"hcwh-course", "hcwh-proxy"})
RESERVED = frozenset({
    # system and well-known accounts
    "root", "daemon", "bin", "sys", "sync", "games", "man", "lp", "mail", "news", "uucp", "proxy",
    "www-data", "backup", "list", "irc", "gnats", "nobody", "systemd-network", "systemd-resolve",
    "messagebus", "sshd", "postgres", "postgresql", "admin", "administrator", "operator", "adm",
    "staff", "users", "sudo", "wheel", "shadow", "utmp", "tty", "disk", "kmem", "dialout",
    # JupyterHub's own words (URL parts, its roles and its services)
    "hub", "user", "users", "services", "service", "api", "login", "logout", "oauth", "oauth2",
    "spawn", "spawn-pending", "token", "tokens", "home", "health", "metrics", "static", "jupyterhub",
    "server", "servers", "groups", "learners", "trainers", "hr", "formgrader", "trainer-console",
    "hr-report",
    *SERVICE_ACCOUNTS,
})


class IdentityError(HcwhError, ValueError):
    """An employee id that cannot be a login name; the message says why, in words."""


def login_name(employee_id: str) -> str:
    """The login name (hub user, OS account, nbgrader student id) for ``employee_id``,
    or IdentityError saying why it cannot be one. Does not look at the OS accounts."""
    name = employee_id.lower()
    if not name:
        raise IdentityError("the employee id is empty")
    if name.isdigit():
        raise IdentityError(f"'{employee_id}' is all digits; a login name must start with a letter "
                            "(an all-digit name would be read as a user number)")
    if len(name) > MAX_LENGTH:
        raise IdentityError(f"'{employee_id}' is {len(name)} characters; a login name has at most {MAX_LENGTH}")
    if not NAME_REGEX.match(name):
        raise IdentityError(f"'{employee_id}' cannot be a login name: a lower-case letter first, then only "
                            "lower-case letters, digits, '-' and '_' (no '.', no spaces)")
    if name in RESERVED:
        raise IdentityError(f"'{employee_id}' is a reserved name (system, hub or service account)")
    return name


def os_account_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def check_ids(rows: Iterable[tuple[int, str]], made_by_helper: Callable[[str], bool] | None = None,
              known: Iterable[str] = ()) -> list[tuple[int, str, str]]:
    """Problems ``(line, 'employee_id', message)`` for roster rows ``(line, employee_id)`` that
    cannot be hub logins: the refusals above, ids not written as their own login name, two ids
    (in this file, or one here and one in ``known``, the ids already on the roster) that collide
    when lower-cased, and names of OS accounts that exist but were not made by the account
    helper (``made_by_helper(name)``; None: do not look at OS accounts)."""
    problems: list[tuple[int, str, str]] = []
    seen: dict[str, tuple[int, str]] = {}
    known_by_login = {k.lower(): k for k in known}
    for line, eid in rows:
        try:
            name = login_name(eid)
        except IdentityError as exc:
            problems.append((line, "employee_id", str(exc)))
            continue
        if name in seen and seen[name][1] != eid:
            other_line, other = seen[name]
            problems.append((line, "employee_id", f"'{eid}' and '{other}' (line {other_line}) are the same login "
                                                  f"name '{name}' once lower-cased"))
            continue
        seen.setdefault(name, (line, eid))
        if name in known_by_login and known_by_login[name] != eid:
            problems.append((line, "employee_id", f"'{eid}' is the same login name '{name}' as '{known_by_login[name]}', "
                                                  "already on the roster"))
            continue
        if eid != name:
            problems.append((line, "employee_id", f"'{eid}' must be written in lower case on the hub, as '{name}' "
                                                  "(the employee id is also the login name and nbgrader's student id)"))
            continue
        if made_by_helper is not None and os_account_exists(name) and not made_by_helper(name):
            problems.append((line, "employee_id", f"'{eid}' is already an account on this server that the course "
                                                  "did not make; choose another login name"))
    return problems
