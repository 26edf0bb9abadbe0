"""The modules a cohort can be assigned: read from the built learner notebooks.

The builder writes ``{"module", "standard", "points", "completion_points"}`` into each notebook's
``metadata.curriculum``; nbgrader keeps it in ``release/``. Reading it from
there needs no content file (those hold the answer keys) and lists exactly the
modules that can be released.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import nbformat

from autograde.config import Settings
from curriculum.framework import load_framework

NO_STANDARD = "General"  # the welcome module teaches no single standard


@dataclass(frozen=True)
class ModuleInfo:
    id: str
    standard: str  # the standard's name, e.g. "Authenticity"; NO_STANDARD for the welcome module
    points: float
    completion_points: float = 0.0  # of which completion credit (practice role-plays played to an ending)


def module_catalog(s: Settings) -> dict[str, ModuleInfo]:
    """Module id -> what HR needs to know about it, in module order."""
    names = {st.id: st.name for st in load_framework().standards}
    out: dict[str, ModuleInfo] = {}
    release_dir: Path = s.release_dir
    for folder in sorted(p for p in release_dir.glob("*") if p.is_dir() and not p.name.startswith(".")):
        path = folder / f"{folder.name}.ipynb"
        if not path.is_file():
            continue
        meta = nbformat.read(path, as_version=4).metadata.get("curriculum", {})
        code = meta.get("standard")
        out[folder.name] = ModuleInfo(folder.name, names.get(code, NO_STANDARD) if code else NO_STANDARD,
                                      float(meta.get("points", 0.0)), float(meta.get("completion_points", 0.0)))
    return out


def commitment(s: Settings, module: str) -> tuple[str, str] | None:
    """(standard name, its commitment, verbatim from the framework) for a released module; None
    for a module that teaches no single standard (the welcome module) or is not released."""
    path = s.release_dir / module / f"{module}.ipynb"
    if not path.is_file():
        return None
    code = nbformat.read(path, as_version=4).metadata.get("curriculum", {}).get("standard")
    found = {st.id: st for st in load_framework().standards}.get(code)
    return (found.name, found.commitment) if found else None
