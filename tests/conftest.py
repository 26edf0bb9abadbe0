from __future__ import annotations

import fcntl

import pytest

from autograde.settings import PROJECT_ROOT, Settings
from curriculum.builder import load_modules
from tests.cohort_hub import HUB_LOCK

ROOT = PROJECT_ROOT


@pytest.fixture(scope="session")
def machine_hub_lock():
    """The hub tests (and benchmarks/hub_load.py) share machine-wide state: /etc/hcwh, the
    /opt/hcwh environments, the hcwhtest-* and hcwhload-* accounts. One run at a time: a second waits here."""
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
