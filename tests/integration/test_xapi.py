"""xAPI out to a real LRS: ralph (``ralph-malph``, in its own virtual environment, made once per
machine under /tmp and started by this test on 127.0.0.1, file backend, HTTP basic auth).

The tiny cohort (tests/hr_cohort.py) after a trainer scores Ana's reflections: ana complete with
21 + 6 = 27 of 30, ben complete with 9 of 30 (he wrote no reflection), cora not started. So
two "completed" statements, scaled 0.9 and 0.3, and nothing for cora; a second run sends nothing."""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from autograde.reporting import xapi
from tests.hr_cohort import AS_OF, MODULE, grade_ana

RALPH = "ralph-malph[cli,lrs]==5.1.0"
RALPH_ENV = Path("/tmp/hcwh-ralph-5.1.0")
PASSWORD = "lrs-secret-3"


def _ralph_env() -> Path:
    """ralph's own venv (its pins clash with the project's), made once; a visible skip if PyPI
    cannot be reached."""
    ready = RALPH_ENV / ".ready"
    if ready.exists():
        return RALPH_ENV
    shutil.rmtree(RALPH_ENV, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(RALPH_ENV)], check=True)
    # ralph 5.1.0 imports requests without declaring it
    run = subprocess.run([str(RALPH_ENV / "bin" / "pip"), "install", "--quiet", RALPH, "requests"],
                         capture_output=True, text=True, timeout=900)
    if run.returncode != 0:
        pytest.skip(f"ralph (the LRS this test runs) could not be installed from PyPI: {run.stderr[-400:]}")
    ready.touch()
    return RALPH_ENV


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def lrs(tmp_path_factory):
    env_dir = _ralph_env()
    root = tmp_path_factory.mktemp("lrs")
    env = {**os.environ, "RALPH_AUTH_FILE": str(root / "auth.json"), "RALPH_RUNSERVER_BACKEND": "fs",
           "HOME": str(root)}
    subprocess.run([str(env_dir / "bin" / "ralph"), "auth", "-u", "hcwh", "-p", PASSWORD, "-s", "all",
                    "-M", "mailto:training@example.org", "-w"], env=env, check=True, capture_output=True)
    port = _free_port()
    log = (root / "ralph.log").open("w")
    server = subprocess.Popen([str(env_dir / "bin" / "ralph"), "runserver", "-b", "fs", "--fs-default-directory-path",
                               str(root / "data"), "-h", "127.0.0.1", "-p", str(port)],
                              env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=root)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{url}/__heartbeat__", timeout=2) as resp:
                if resp.status == 200:
                    break
        except OSError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            server.kill()
            pytest.fail(f"ralph did not start: {(root / 'ralph.log').read_text()[-800:]}")
        time.sleep(0.3)
    try:
        yield url, root
    finally:
        os.killpg(server.pid, signal.SIGTERM)  # runserver's reloader and its worker, together
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log.close()


def stored(url: str) -> list[dict]:
    request = urllib.request.Request(f"{url}/xAPI/statements", headers={
        "Authorization": "Basic " + base64.b64encode(f"hcwh:{PASSWORD}".encode()).decode(),
        "X-Experience-API-Version": "1.0.3"})
    with urllib.request.urlopen(request, timeout=10) as resp:
        return json.loads(resp.read())["statements"]


def test_completions_reach_the_lrs_once(lrs, tiny_cohort_copy, tmp_path):
    url, root = lrs
    s = tiny_cohort_copy.settings
    grade_ana(s)
    password = tmp_path / "lrs-password"
    password.write_text(PASSWORD)
    password.chmod(0o600)  # a password file others could read is refused (autograde/private.py read_password)
    settings = xapi.LrsSettings.from_env({"HCWH_XAPI_ENDPOINT": f"{url}/xAPI/", "HCWH_XAPI_USER": "hcwh",
                                          "HCWH_XAPI_PASSWORD_FILE": str(password),
                                          "HCWH_XAPI_HOMEPAGE": "https://training.city.example.gov"})
    dry = xapi.send(s, settings, as_of=AS_OF, dry_run=tmp_path / "statements.json")
    assert dry.sent == 2 and stored(url) == []  # a dry run sends nothing

    first = xapi.send(s, settings, as_of=AS_OF)
    assert (first.sent, first.already) == (2, 0)
    got = {st["actor"]["account"]["name"]: st for st in stored(url)}
    assert sorted(got) == ["ana", "ben"]  # cora never submitted
    ana = got["ana"]
    assert ana["verb"]["id"] == "http://adlnet.gov/expapi/verbs/completed"
    assert ana["actor"]["account"]["homePage"] == "https://training.city.example.gov" and "mbox" not in ana["actor"]
    assert ana["object"]["id"] == f"https://training.city.example.gov/modules/{MODULE}"
    assert ana["result"]["score"] == {"raw": 27.0, "min": 0.0, "max": 30.0, "scaled": 0.9}
    assert got["ben"]["result"]["score"]["scaled"] == 0.3
    assert ana["timestamp"].startswith("2026-11-18T10:30:00")

    again = xapi.send(s, settings, as_of=AS_OF)
    assert (again.sent, again.already) == (0, 2) and len(stored(url)) == 2


def test_a_wrong_password_is_refused_and_nothing_recorded(lrs, tiny_cohort_copy, tmp_path):
    url, _ = lrs
    s = tiny_cohort_copy.settings
    password = tmp_path / "wrong"
    password.write_text("not-it")
    password.chmod(0o600)
    settings = xapi.LrsSettings(f"{url}/xAPI/", "hcwh", password, "https://training.city.example.gov")
    with pytest.raises(xapi.XapiError, match="refused .* HTTP 401"):
        xapi.send(s, settings, as_of=AS_OF)
    with pytest.raises(xapi.XapiError, match="HCWH_XAPI_HOMEPAGE"):
        xapi.LrsSettings.from_env({})
