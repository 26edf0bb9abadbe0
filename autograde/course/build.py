"""Build the course: validate every module, write source/, let nbgrader make release/."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from autograde.config import Settings
from autograde.course.nbgrader_api import generate_release_folder
from autograde.course import rolemap
from curriculum.builder import MODULES_DIR, load_modules, module_paths, write_sources
from curriculum.schema import Module, read_records


def maps_dir(s: Settings) -> Path:
    """Where the authors' role-play maps go (runtime state: never in git)."""
    return s.state_dir / "roleplay-maps"


def write_roleplay_maps(modules_dir: Path, out: Path) -> list[Path]:
    """An SVG map of every role-play whose records hold, invalid graphs included (that is
    when an author needs the picture); written before validation reports the problems."""
    written = []
    for path in module_paths(modules_dir):
        module = read_records(path)
        if module is not None:
            written += rolemap.write_maps(module.id, module.roleplays, out)
    return written


def check(modules_dir: Path = MODULES_DIR, maps: Path | None = None) -> list[Module]:
    """Validate all content; raises ContentError naming file, item and field. With ``maps``,
    first write each role-play's map there."""
    if maps is not None:
        write_roleplay_maps(modules_dir, maps)
    return load_modules(modules_dir)


def build(s: Settings, modules_dir: Path = MODULES_DIR, progress: Callable[[str], None] = print) -> list[Module]:
    modules = check(modules_dir, maps_dir(s))
    progress(f"Role-play maps (SVG) in {maps_dir(s)}")
    progress(f"Validated {len(modules)} module(s) in {modules_dir}")
    for path in write_sources(modules, s.source_dir):
        progress(f"  wrote {path.relative_to(s.project)}")
    progress("Generating the learner versions with nbgrader generate_assignment ...")
    generate_release_folder(s.source_dir, s.release_dir, [m.id for m in modules])
    progress(f"  wrote {s.release_dir.relative_to(s.project)}/ ({len(modules)} module(s))")
    return modules
