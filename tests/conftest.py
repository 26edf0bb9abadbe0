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
HUB_GROUP = "machine-hub"


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups (its hook runs after ours)
def pytest_collection_modifyitems(config, items):
    """Each test carries its folder's layer as a marker (``pytest -m unit``); a test file
    outside the three folders is an error, so no test escapes its layer.

    Each file is one ``xdist_group`` (``make test`` runs two workers with ``--dist loadgroup``): a
    file's module-scoped fixtures start once, and a notebook's cells (nbval) run in order in one
    kernel. Every file with a test holding ``machine_hub_lock`` joins one group, so the hub tests run
    one after another on one worker instead of one worker waiting on the other for the lock."""
    tests = Path(__file__).parent
    hub_files = {str(item.fspath) for item in items if "machine_hub_lock" in getattr(item, "fixturenames", ())}
    for item in items:
        path = Path(str(item.fspath))
        group = HUB_GROUP if str(path) in hub_files else str(path.relative_to(ROOT) if ROOT in path.parents else path)
        item.add_marker(pytest.mark.xdist_group(group))
        if tests not in path.parents:
            continue  # release/ notebooks run by nbval
        layer = path.relative_to(tests).parts[0]
        if layer not in LAYERS:
            raise pytest.UsageError(f"{path}: a test belongs in tests/unit, tests/integration or tests/e2e")
        item.add_marker(getattr(pytest.mark, layer))
