"""Issue 13, points 4 and 5, at the hub's own start: the real ``jupyterhub`` with
``hub/jupyterhub_config.py`` refuses to listen beyond loopback without TLS, to start without the
secrets the install makes, and to take a database password in its URL, each with a message naming the setting or the secret, and
before it listens anywhere. (The hub running over TLS: tests/e2e/test_isolation.py; the other
refusals, a key others can read among them: tests/unit/test_origin.py.)"""

from __future__ import annotations

import os
import subprocess

import pytest

from autograde.config import PROJECT_ROOT as ROOT

JUPYTERHUB = ROOT / ".venv" / "bin" / "jupyterhub"


def _start(state, **env) -> subprocess.CompletedProcess:
    full = {**os.environ, "HCWH_STATE_DIR": str(state), "HCWH_HUB_PORT": "1", **env}
    for name in ("HCWH_TLS_CERT", "HCWH_TLS_KEY", "HCWH_TLS_PROXY"):
        if name not in env:
            full.pop(name, None)
    return subprocess.run([str(JUPYTERHUB), "-f", str(ROOT / "hub" / "jupyterhub_config.py")], env=full,
                          cwd=str(state), capture_output=True, text=True, timeout=120)


@pytest.fixture()
def state(tmp_path):
    if not JUPYTERHUB.exists():
        pytest.skip("no .venv/bin/jupyterhub: run make install")
    s = tmp_path / "state"
    s.mkdir()
    return s


def test_a_hub_asked_to_listen_beyond_loopback_without_tls_refuses(state):
    ip = "0.0.0.0"
    done = _start(state, HCWH_HUB_IP=ip)
    assert done.returncode != 0
    assert (f"the hub cannot listen as asked: HCWH_HUB_IP={ip} is beyond loopback, and there is no TLS: "
            f"set HCWH_TLS_CERT and HCWH_TLS_KEY") in done.stderr
    assert not (state / "hub" / "jupyterhub.sqlite").exists()  # stopped before anything was made


def test_a_hub_without_the_installed_secrets_refuses_naming_them(state):
    done = _start(state)  # loopback: the origin is fine; no scripts/hub-setup.sh was run
    assert done.returncode != 0
    assert "the secret cookie-secret" in done.stderr and "is missing: run scripts/hub-setup.sh" in done.stderr


def test_a_database_url_with_a_password_is_refused(state):
    done = _start(state, HCWH_DB_URL="postgresql+psycopg2://hcwh:hunter2@db/hcwh")
    assert done.returncode != 0
    assert "HCWH_DB_URL holds a password" in done.stderr and "hunter2" not in done.stderr
