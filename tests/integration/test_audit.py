"""Vulnerability audits (README "Patching and upgrades"): ``pip-audit`` reads PyPI's per-release JSON
and ``npm audit`` npm's bulk advisory endpoint. Where those answer, the audit runs here and a reported
advisory fails; where they cannot be reached (this build machine: 404 and 405, measured) the test is
a visible skip with the answer it got, never a silent pass."""
from __future__ import annotations

import shutil
import subprocess
import urllib.error
import urllib.request

import pytest

from autograde.config import PROJECT_ROOT

PYPI = "https://pypi.org/pypi/nbgrader/0.9.6/json"
NPM = "https://registry.npmjs.org/-/npm/v1/security/advisories/bulk"


def _answer(url: str, body: bytes | None = None) -> str | None:
    """None when ``url`` answers 200; else what it answered."""
    req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=20):
            return None
    except urllib.error.HTTPError as exc:
        return f"HTTP {exc.code}"
    except (urllib.error.URLError, OSError) as exc:
        return f"unreachable ({getattr(exc, 'reason', exc)})"


def test_pip_audit_of_the_locks():
    got = _answer(PYPI)
    if got is not None:
        pytest.skip(f"pip-audit cannot run here: {PYPI} answered {got}; run it where PyPI's JSON API answers")
    if shutil.which("pip-audit") is None:
        pytest.skip("PyPI's JSON API answers, but pip-audit is not installed (python3 -m pip install --user pip-audit)")
    for lock in ("project.txt", "learner.txt"):
        run = subprocess.run(["pip-audit", "--no-deps", "--disable-pip", "-r", str(PROJECT_ROOT / "requirements" / lock)],
                             capture_output=True, text=True, timeout=600)
        assert run.returncode == 0, f"pip-audit on {lock}:\n{run.stdout}\n{run.stderr}"


def test_npm_audit_of_the_proxy():
    got = _answer(NPM, b"{}")
    if got is not None:
        pytest.skip(f"npm audit cannot run here: {NPM} answered {got}; run it where npm's advisory service answers")
    run = subprocess.run(["npm", "audit", "--package-lock-only", "--omit=dev"], cwd=PROJECT_ROOT / "hub",
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, f"npm audit in hub/:\n{run.stdout}\n{run.stderr}"
