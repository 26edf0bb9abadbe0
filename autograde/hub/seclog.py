"""The security log (issue 13, point 6): one structured line per security event.

Each event is one JSON object on one line::

    {"time": "2026-12-02T14:37:48Z", "who": "trainer1", "what": "login", "object": "trainer1",
     "result": "ok", "source": "10.0.0.5", "service": "hub"}

- ``time``: UTC, ISO-8601 with ``Z``, to the second; ``who``: the hub name (or OS account for
  ``hcwh`` and the account helper) that acted; ``what``: the event (``EVENTS``); ``object``: what it
  acted on (a login name, a report file, a URL path); ``result``: ``ok``, ``refused``, ``failed``
  or the HTTP status; ``source``: the browser's address where known (else absent);
  ``service``: which process wrote it. Extra keys (``role``, ``detail``) where they help.
- Where it goes (``HCWH_SECLOG``): ``file`` (the default), ``syslog`` or ``both``.
  The file is ``HCWH_SECLOG_FILE`` (default ``<state>/logs/security.log``), made 0600 and owned
  by the owner of its folder (the course account, which runs the report services; the folder is
  0700, so no learner can open it). Syslog is ``HCWH_SYSLOG_ADDRESS``: a unix socket path
  (default ``/dev/log``) or ``host:port`` (UDP), facility authpriv, tag ``hcwh-security``.
- A failure to log never stops what is being logged: ``record`` returns False and says so on
  standard error (the hub's own log), with the line itself, so the event is not lost either.

Standard library only: the account helper's installed copy (``/usr/local/lib/hcwh``) imports it.
"""

from __future__ import annotations

import json
import os
import socket
import sys
from datetime import datetime, timezone
from pathlib import Path

DESTINATIONS = ("file", "syslog", "both")
AUTHPRIV = 10  # syslog facility for security/authorization messages (RFC 5424)
SEVERITY = {"ok": 6, "refused": 4, "failed": 4}  # info, warning
TAG = "hcwh-security"
EVENTS = (
    "login", "login.failed", "login.locked", "lockout", "enrollment", "enrollment.failed",
    "account.create", "account.lock", "account.remove", "account.leave", "role.grant", "role.change",
    "enrollment.code", "roster.import", "jupyterlab.on", "jupyterlab.off", "hub.admin",
    "report.open", "report.download", "console.open", "console.action",
)


class SecLogError(ValueError):
    """The security log's settings are wrong; the message names the setting and the value."""


def utc_now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def line(what: str, who: str, obj: str, result: str, source: str | None = None, service: str = "",
         time: str | None = None, **extra) -> str:
    """One event as its JSON line (no newline). ``what`` must be one of ``EVENTS``."""
    if what not in EVENTS:
        raise SecLogError(f"security event '{what}' is not one of: {', '.join(EVENTS)}")
    event = {"time": time or utc_now(), "who": str(who or "-"), "what": what, "object": str(obj or "-"),
             "result": str(result)}
    if source:
        event["source"] = str(source)
    if service:
        event["service"] = service
    event.update({k: str(v) for k, v in extra.items() if v not in (None, "")})
    return json.dumps(event, sort_keys=False, ensure_ascii=True)


def settings(state_dir: Path | str | None, environ=os.environ) -> tuple[str, Path | None, str]:
    """(destination, file, syslog address) from the environment; SecLogError if wrong."""
    dest = (environ.get("HCWH_SECLOG") or "file").strip().lower()
    if dest not in DESTINATIONS:
        raise SecLogError(f"HCWH_SECLOG is '{dest}'; use one of: {', '.join(DESTINATIONS)}")
    file = environ.get("HCWH_SECLOG_FILE") or (Path(state_dir) / "logs" / "security.log" if state_dir else None)
    if dest in ("file", "both") and file is None:
        raise SecLogError("HCWH_SECLOG_FILE is not set and there is no state folder to put security.log in")
    address = environ.get("HCWH_SYSLOG_ADDRESS") or "/dev/log"
    if not address.startswith("/"):
        host, _, port = address.rpartition(":")
        if not host or not port.isdigit():
            raise SecLogError(f"HCWH_SYSLOG_ADDRESS is '{address}'; use a socket path such as /dev/log, or host:port")
    return dest, Path(file) if file else None, address


def _to_file(path: Path, text: str) -> None:
    folder = path.parent
    if not folder.is_dir():
        folder.mkdir(parents=True, mode=0o700)
        if os.geteuid() == 0:  # the state folder's owner (the course account), not root
            st = folder.parent.stat()
            os.chown(folder, st.st_uid, st.st_gid)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        if os.geteuid() == 0 and os.fstat(fd).st_uid == 0 and os.fstat(fd).st_size == 0:
            st = folder.stat()  # made by root: give it to the folder's owner, who also writes to it
            os.fchown(fd, st.st_uid, st.st_gid)
        os.write(fd, (text + "\n").encode("utf-8"))  # one write: lines from several processes never mix
    finally:
        os.close(fd)


def _to_syslog(address: str, text: str, result: str) -> None:
    pri = AUTHPRIV * 8 + SEVERITY.get(result, 6 if str(result)[:1] in "23" else 4)
    msg = f"<{pri}>{TAG}[{os.getpid()}]: {text}".encode()
    if address.startswith("/"):
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
            s.connect(address)
            s.send(msg)
    else:
        host, _, port = address.rpartition(":")
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.sendto(msg, (host.strip("[]"), int(port)))


def record(state_dir: Path | str | None, what: str, who: str, obj: str, result: str = "ok",
           source: str | None = None, service: str = "", environ=os.environ, **extra) -> bool:
    """Write one event where the settings say. True if it was written everywhere; never raises."""
    try:
        text = line(what, who, obj, result, source, service or _service(), **extra)
    except Exception as exc:  # noqa: BLE001 (a bad event must not stop a login)
        print(f"hcwh security log: could not make the line for '{what}' ({exc})", file=sys.stderr, flush=True)
        return False
    try:
        dest, file, address = settings(state_dir, environ)
    except SecLogError as exc:
        print(f"hcwh security log: {exc}; the event was: {text}", file=sys.stderr, flush=True)
        return False
    ok = True
    targets = ([("file", lambda: _to_file(file, text))] if dest in ("file", "both") else []) + \
              ([("syslog", lambda: _to_syslog(address, text, result))] if dest in ("syslog", "both") else [])
    for name, write in targets:
        try:
            write()
        except Exception as exc:  # noqa: BLE001 (never break what is being logged; say so instead)
            ok = False
            where = file if name == "file" else address
            print(f"hcwh security log: could not write to {name} {where} ({exc.__class__.__name__}: {exc}); "
                  f"the event was: {text}", file=sys.stderr, flush=True)
    return ok


ADMIN_API = ("/hub/api/users", "/hub/api/groups", "/hub/api/roles", "/hub/api/shares")  # who is who, and may do what
CHANGES = ("POST", "PATCH", "PUT", "DELETE")


def hub_request_logger(state_dir: Path | str):
    """JupyterHub's request log (``tornado_settings["log_function"]``), plus a ``hub.admin`` event
    for every change made through the hub's own API (its admin page uses it too): users made,
    deleted or made admin, group (role) membership, servers stopped by someone else, tokens."""
    from jupyterhub.log import log_request

    def log_function(handler) -> None:
        log_request(handler)
        req = handler.request
        if req.method not in CHANGES or not any(p in req.path for p in ADMIN_API):
            return
        try:
            actor = getattr(handler, "current_user", None)
        except Exception:  # noqa: BLE001 (a request refused before its user was known)
            actor = None
        status = handler.get_status()
        record(state_dir, "hub.admin", getattr(actor, "name", None) or "-", f"{req.method} {req.path}",
               "ok" if status < 400 else ("refused" if status < 500 else "failed"), source=req.remote_ip,
               service="hub", status=status)

    return log_function


def _service() -> str:
    return os.environ.get("JUPYTERHUB_SERVICE_NAME") or Path(sys.argv[0] or "python").name


def caller() -> str:
    """The person behind ``hcwh`` or the account helper: who ran sudo, else the OS account."""
    import pwd

    return os.environ.get("SUDO_USER") or pwd.getpwuid(os.getuid()).pw_name
