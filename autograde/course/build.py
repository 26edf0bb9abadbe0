"""Build the course: validate every module, write source/, let nbgrader make release/."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from autograde.config import Settings
from autograde.course.nbgrader_api import generate_release_folder
from curriculum.builder import MODULES_DIR, load_modules, write_sources
from curriculum.schema import Module


def check(modules_dir: Path = MODULES_DIR) -> list[Module]:
    """Validate all content; raises ContentError naming file, item and field."""
    return load_modules(modules_dir)


def build(s: Settings, modules_dir: Path = MODULES_DIR, progress: Callable[[str], None] = print) -> list[Module]:
    modules = check(modules_dir)
    progress(f"Validated {len(modules)} module(s) in {modules_dir}")
    for path in write_sources(modules, s.source_dir):
        progress(f"  wrote {path.relative_to(s.project)}")
    progress("Generating the learner versions with nbgrader generate_assignment ...")
    generate_release_folder(s.source_dir, s.release_dir, [m.id for m in modules])
    progress(f"  wrote {s.release_dir.relative_to(s.project)}/ ({len(modules)} module(s))")
    return modules
