from __future__ import annotations

from pathlib import Path

import pytest

from autograde.settings import PROJECT_ROOT, Settings
from curriculum.builder import load_modules

ROOT = PROJECT_ROOT


@pytest.fixture(scope="session")
def modules():
    return load_modules()


@pytest.fixture()
def state(tmp_path) -> Settings:
    """Settings whose runtime state lives in a fresh temporary folder."""
    return Settings(state_dir=tmp_path / "state")


def module_ids() -> list[str]:
    return sorted(p.stem for p in (ROOT / "curriculum" / "modules").glob("*.yaml"))
