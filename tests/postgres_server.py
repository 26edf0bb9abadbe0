"""A throwaway PostgreSQL server in a temporary folder, for tests/e2e/test_postgres.py (the gradebook
in PostgreSQL) and tests/e2e/test_isolation.py (a learner's kernel must not reach it).

The server listens on a Unix socket in that folder, and on 127.0.0.1:``tcp_port`` only when asked.
PostgreSQL refuses to run as root, so as root the server runs as the unprivileged system user
``hcwh-pg`` (created if missing). With no ``initdb`` on the machine the caller FAILS, it does not
skip: ``bash scripts/system-deps.sh`` installs it.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import psycopg2
import pytest

PG_USER = "hcwh-pg"


def pg_program(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    def version(path: str) -> int:  # /usr/lib/postgresql/15/bin/initdb -> 15
        part = Path(path).parts[-3]
        return int(part) if part.isdigit() else 0

    versions = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=version)
    return versions[-1] if versions else None


def require_pg_programs() -> tuple[str, str]:
    initdb, pg_ctl = pg_program("initdb"), pg_program("pg_ctl")
    if not (initdb and pg_ctl):
        pytest.fail("PostgreSQL's initdb and pg_ctl are not installed (looked on PATH and in "
                    "/usr/lib/postgresql/*/bin): run `bash scripts/system-deps.sh`, which runs "
                    "`apt-get install postgresql`", pytrace=False)
    return initdb, pg_ctl


def run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


@dataclass(frozen=True)
class Server:
    url: str  # for HCWH_DB_URL / Settings.db_url
    socket_dir: Path
    tcp_port: int | None = None


@contextlib.contextmanager
def postgres_server(tcp_port: int | None = None):
    """A running server with an empty database ``gradebook``; stopped and removed on exit."""
    initdb, pg_ctl = require_pg_programs()
    # A folder in /tmp itself: pytest's own tmp tree is 0700 root, where the server's user cannot go.
    root = Path(tempfile.mkdtemp(prefix="hcwh-pg-"))
    as_server = []
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(PG_USER)
        except KeyError:
            run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", PG_USER])
        shutil.chown(root, PG_USER, PG_USER)
        as_server = ["runuser", "-u", PG_USER, "--"]
    data, log = root / "data", root / "server.log"
    started = False
    try:
        run(as_server + [initdb, "-D", str(data), "-U", "hcwh", "--auth=trust", "-E", "UTF8", "--no-locale", "--no-sync"])
        listen = f"127.0.0.1 -c port={tcp_port}" if tcp_port else "''"
        options = f"-c listen_addresses={listen} -c unix_socket_directories={root} -c fsync=off -c full_page_writes=off"
        run(as_server + [pg_ctl, "-D", str(data), "-l", str(log), "-w", "-t", "60", "-o", options, "start"])
        started = True
        port = tcp_port or 5432  # also the number in the socket's name
        conn = psycopg2.connect(host=str(root), port=port, user="hcwh", dbname="postgres")
        try:
            conn.autocommit = True  # CREATE DATABASE refuses to run in a transaction
            with conn.cursor() as cur:
                cur.execute("CREATE DATABASE gradebook")
        finally:
            conn.close()
        url = f"postgresql+psycopg2://hcwh@/gradebook?host={root}" + (f"&port={port}" if tcp_port else "")
        yield Server(url=url, socket_dir=root, tcp_port=tcp_port)
    finally:
        if started:
            subprocess.run(as_server + [pg_ctl, "-D", str(data), "-m", "fast", "-w", "stop"], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)
