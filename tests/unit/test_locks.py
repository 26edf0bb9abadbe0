"""The locks (README "Patching and upgrades"): every requirement the project states is pinned in its
lock at a version the requirement allows, and every pin carries a hash, so ``pip install
--require-hashes`` installs exactly what was tested. A dependency added to pyproject.toml or
requirements/learner.in without ``make lock`` fails here, naming it."""
from __future__ import annotations

import re
import tomllib

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from autograde.config import PROJECT_ROOT

LOCKS = PROJECT_ROOT / "requirements"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^ \\;]+)")


def pins(text: str) -> dict[str, tuple[str, int]]:
    """name -> (version, number of hashes) from a pip-compile --generate-hashes file."""
    found, current = {}, None
    for line in text.splitlines():
        m = PIN.match(line)
        if m:
            current = canonicalize_name(m.group(1))
            found[current] = (m.group(2), 0)
        elif current and line.strip().startswith("--hash=sha256:"):
            version, n = found[current]
            found[current] = (version, n + 1)
        elif line and not line.startswith((" ", "#")):
            current = None
    return found


def unmet(requirements: list[str], locked: dict[str, tuple[str, int]]) -> list[str]:
    problems = []
    for text in requirements:
        req = Requirement(text)
        name = canonicalize_name(req.name)
        if name not in locked:
            problems.append(f"{req.name}: not in the lock")
        elif not req.specifier.contains(locked[name][0], prereleases=True):
            problems.append(f"{req.name}: locked at {locked[name][0]}, outside {req.specifier}")
    return problems


def test_pins_and_unmet_find_what_is_wrong():
    locked = pins("a==1.0 \\\n    --hash=sha256:00\n    # via b\nc==2.0\n")
    assert locked == {"a": ("1.0", 1), "c": ("2.0", 0)}
    assert unmet(["a>=2", "c==2.0", "d"], locked) == ["a: locked at 1.0, outside >=2", "d: not in the lock"]


def test_the_projects_lock_holds_every_dependency_with_hashes():
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]
    locked = pins((LOCKS / "project.txt").read_text())
    assert unmet(project["dependencies"] + project["optional-dependencies"]["test"], locked) == []
    assert [name for name, (_, hashes) in locked.items() if not hashes] == []


def test_the_learners_lock_holds_what_learner_in_asks_with_hashes():
    wanted = [ln.strip() for ln in (LOCKS / "learner.in").read_text().splitlines()
              if ln.strip() and not ln.startswith("#")]
    locked = pins((LOCKS / "learner.txt").read_text())
    assert unmet(wanted, locked) == []
    assert [name for name, (_, hashes) in locked.items() if not hashes] == []
    # the learners' page needs no trainer-side package
    assert not {"pandas", "openpyxl", "psycopg2-binary", "jupyterhub-ldapauthenticator"} & set(locked)
