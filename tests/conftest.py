from __future__ import annotations

import fcntl
from pathlib import Path

import pytest

from autograde.config import PROJECT_ROOT, Settings
from curriculum.builder import load_modules
from tests.cohort_hub import HUB_LOCK

ROOT = PROJECT_ROOT


@pytest.fixture(scope="module")
def machine_hub_lock():
    """The hub tests (and benchmarks/hub_load.py) share machine-wide state: /etc/hcwh, the
    /opt/hcwh environments, the hcwhtest-* and hcwhload-* accounts. One hub at a time: a second
    waits here. Held per test module (pytest ends one module's fixtures before the next starts)."""
    with HUB_LOCK.open("w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        yield


@pytest.fixture(scope="session")
def modules():
    return load_modules()


@pytest.fixture()
def state(tmp_path) -> Settings:
    """Settings whose runtime state lives in a fresh temporary folder."""
    return Settings(state_dir=tmp_path / "state")


def module_ids() -> list[str]:
    return sorted(p.stem for p in (ROOT / "curriculum" / "modules").glob("*.yaml"))


@pytest.fixture(scope="session")
def tiny_cohort(tmp_path_factory):
    """Three learners through a real nbgrader cycle (tests/hr_cohort.py); built once.
    Tests that change it work on ``tiny_cohort_copy``."""
    from tests.hr_cohort import build_tiny_cohort

    return build_tiny_cohort(tmp_path_factory.mktemp("tiny-cohort"))


@pytest.fixture()
def tiny_cohort_copy(tiny_cohort, tmp_path):
    """A private copy of the tiny cohort's state, free to change."""
    import shutil
    from dataclasses import replace

    from tests.hr_cohort import TinyCohort

    shutil.copytree(tiny_cohort.root, tmp_path / "cohort", symlinks=True)
    root = tmp_path / "cohort"
    return TinyCohort(root, replace(tiny_cohort.settings, state_dir=root / "state"))


LAYERS = ("unit", "integration", "e2e")
# ``make test`` runs two workers (pytest-xdist). Each file goes whole to one worker, so a file's
# module-scoped fixtures start once and a notebook's cells (nbval) run in order in one kernel; the
# files whose tests hold ``machine_hub_lock`` go together to one worker, so the hub tests run one
# after another there instead of one worker waiting on the other for the lock.
HUB_FILES = {"test_exchange.py", "test_hub.py", "test_isolation.py", "test_ldap.py"}


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """pytest-xdist's scope scheduling, with our scopes: a file, or all of ``HUB_FILES`` as one.
    (Its ``--dist loadgroup`` marks no longer reach the scheduler under pytest 9.2, which stopped
    reading the node id xdist rewrites.)"""
    from xdist.scheduler import LoadScopeScheduling

    class FilesAndHub(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            file = nodeid.split("::", 1)[0]
            return "machine-hub" if Path(file).name in HUB_FILES else file

    return FilesAndHub(config, log)


def pytest_collection_modifyitems(config, items):
    """Each test carries its folder's layer as a marker (``pytest -m unit``); a test file
    outside the three folders is an error, so no test escapes its layer; a test holding the
    machine's hub lock outside ``HUB_FILES`` is an error, so no hub test runs beside another."""
    tests = Path(__file__).parent
    for item in items:
        path = Path(str(item.fspath))
        if "machine_hub_lock" in getattr(item, "fixturenames", ()) and path.name not in HUB_FILES:
            raise pytest.UsageError(f"{path}: a test holding machine_hub_lock belongs in tests/conftest.py's HUB_FILES")
        if tests not in path.parents:
            continue  # release/ notebooks run by nbval
        layer = path.relative_to(tests).parts[0]
        if layer not in LAYERS:
            raise pytest.UsageError(f"{path}: a test belongs in tests/unit, tests/integration or tests/e2e")
        item.add_marker(getattr(pytest.mark, layer))
