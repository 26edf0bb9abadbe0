"""hcwh: the trainer's command line. Parsing only; the work is in plain functions."""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from curriculum.builder import MODULES_DIR
from curriculum.schema import ContentError

from .course import NbgraderError
from .settings import Settings


def _check(args, s: Settings) -> None:
    from .build import check

    for m in check(Path(args.modules)):
        print(f"{m.id}: valid; {len(m.roleplays)} role-plays, {len(m.questions)} questions, "
              f"{len(m.reflections)} reflections, {m.points:g} points")


def _build(args, s: Settings) -> None:
    from .build import build

    build(s, Path(args.modules))


def _release(args, s: Settings) -> None:
    from . import course
    from .build import check

    module_ids = args.modules or [m.id for m in check()]
    course.prepare(s, module_ids)
    for n, module_id in enumerate(module_ids, start=1):
        course.generate(s, module_id)
        course.release(s, module_id)
        print(f"[{n}/{len(module_ids)}] released {module_id} to {s.exchange_dir}")
    print(f"Gradebook: {s.gradebook_url}")


def _demo(args, s: Settings) -> None:
    from .build import build
    from .demo import run_demo

    run_demo(s, build(s))


def main(argv: list[str] | None = None) -> int:
    # nbgrader 0.9.6 trips a harmless SQLAlchemy autoflush warning on every
    # autograde; it is nbgrader's, not the trainer's to act on.
    warnings.filterwarnings("ignore", module="nbgrader.api")
    parser = argparse.ArgumentParser(prog="hcwh", description="How Can We Help? course tools for trainers and HR.")
    parser.add_argument("--state-dir", help="runtime state folder (default: ./var or $HCWH_STATE_DIR)")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, func, help_text in (
        ("check", _check, "validate the content files; write nothing"),
        ("build", _build, "validate, write source/ notebooks, generate release/ with nbgrader"),
        ("release", _release, "record the built modules in the gradebook and release them to the exchange"),
        ("demo", _demo, "build, then run one real nbgrader cycle on a synthetic cohort"),
    ):
        p = sub.add_parser(name, help=help_text)
        p.set_defaults(func=func)
        if name in ("check", "build"):
            p.add_argument("--modules", default=str(MODULES_DIR), help="folder of module YAML files")
        if name == "release":
            p.add_argument("modules", nargs="*", help="module ids (default: all)")
    args = parser.parse_args(argv)
    s = Settings.from_env(**({"state_dir": Path(args.state_dir).resolve()} if args.state_dir else {}))
    try:
        args.func(args, s)
    except (ContentError, NbgraderError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
