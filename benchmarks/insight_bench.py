"""How long the trainers' report takes for a large city: 10,000 learners × 6 modules.

Uses the real curriculum (the six modules' questions, role-plays, tags and options) and synthesizes
what the report reads: the gradebook query's rows (one per grade cell, as ``insight.read_grades``
returns them; scores that agree with the picks), and an ``answers.json`` per submission written to
disk in a course folder (random picks; a random complete path per role-play as the scored play and
0 to 2 practice replays; reflection words). Then it runs the report's own code path, timed step by
step: ``insight.read_answers`` (every file opened and parsed) -> ``insight.build`` -> ``insight.write_files``
(HTML, nine CSV files, manifest). Prints wall and CPU seconds per step (CPU: this process and the
worker processes that parse the files; and the load average: the machine is shared), the peak memory
of the process that builds the report (maximum resident set; the synthesis runs in a child process)
and of its largest child, and the machine.

    .venv/bin/python benchmarks/insight_bench.py [--learners 10000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import random
import resource
import shutil
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from autograde.config import Settings  # noqa: E402
from autograde.record.audit import Head  # noqa: E402
from autograde.reporting import insight  # noqa: E402
from benchmarks.report_benchmark import DEPARTMENTS, cpu_model  # noqa: E402
from curriculum.builder import load_modules  # noqa: E402
from curriculum.kinds import KINDS  # noqa: E402
from curriculum.roleplay import paths  # noqa: E402


def _pick(q, rng: random.Random):
    ids = [o.id for o in q.options]
    if rng.random() < 0.6:
        return KINDS[q.kind].stored(q.answer)
    if q.kind == "single":
        return rng.choice(ids)
    if q.kind == "multiple":
        return rng.sample(ids, rng.randint(1, len(ids)))
    if q.kind == "ordering":
        return rng.sample(ids, len(ids))
    return [rng.choice(ids) for _ in q.items]


def synthesize(n_learners: int, course: Path, seed: int = 2026):
    """(modules, learners, grades) and the answers files under ``course/autograded/``."""
    rng = random.Random(seed)
    modules = load_modules()
    every_path = {rp.id: paths(rp) for m in modules for rp in m.roleplays}
    ids = [f"e{n:06d}" for n in range(n_learners)]
    learners = pd.DataFrame({"employee_id": ids, "name": [f"First{n} Last{n}" for n in range(n_learners)],
                             "department": [rng.choice(DEPARTMENTS) for _ in ids],
                             "cohort": [f"2026-{rng.randint(1, 12):02d}" for _ in ids]})
    rows = []
    for sid in ids:
        for m in modules:
            answers = {"schema_version": 2, "questions": {}, "roleplays": {}, "reflections": {}}
            for q in m.questions:
                given = _pick(q, rng)
                answers["questions"][q.id] = given
                rows.append((sid, m.id, f"{q.id}-test", round(q.points * KINDS[q.kind].share(given, q.answer), 4)))
            for rp in m.roleplays:
                plays = [rng.choice(every_path[rp.id]) for _ in range(1 + rng.choice((0, 0, 1, 2)))]
                answers["roleplays"][rp.id] = {"current": [], "completed": [{"ending": e, "path": p} for p, e in plays]}
                rows.append((sid, m.id, f"{rp.id}-done", float(rp.points)))
            for r in m.reflections:
                answers["reflections"][f"{r.id}-answer"] = "Words the learner typed, never read by the report. " * 4
                rows.append((sid, m.id, f"{r.id}-answer", float("nan") if rng.random() < 0.15 else float(rng.randint(0, int(r.points)))))
            folder = course / "autograded" / sid / m.id
            folder.mkdir(parents=True)
            (folder / "answers.json").write_text(json.dumps(answers), encoding="utf-8")
    grades = pd.DataFrame(rows, columns=["employee_id", "module", "cell", "score"])
    return modules, learners, grades


def _prepare(n_learners: int, course: Path, out: Path) -> None:
    _, learners, grades = synthesize(n_learners, course)
    pd.to_pickle((learners, grades), out)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--learners", type=int, default=10_000)
    parser.add_argument("--keep", help="write the report here and keep it (default: a temporary folder)")
    args = parser.parse_args(argv)
    root = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="hcwh-insight-bench-"))
    s = Settings(state_dir=root / "state")
    t0 = time.perf_counter()
    # the synthesis runs in a child process, so that this process's peak memory is the report's own
    child = multiprocessing.get_context("fork").Process(target=_prepare, args=(args.learners, s.course_dir, root / "inputs.pkl"))
    child.start()
    child.join()
    if child.exitcode:
        sys.exit(f"synthesis failed (exit {child.exitcode})")
    learners, grades = pd.read_pickle(root / "inputs.pkl")
    modules = load_modules()
    setup = time.perf_counter() - t0
    timings: dict[str, tuple[float, float]] = {}

    def cpu():  # this process and its finished children (the pool that parses the answers files)
        ru = resource.getrusage(resource.RUSAGE_CHILDREN)
        return time.process_time() + ru.ru_utime + ru.ru_stime

    def step(name, fn):
        t, c = time.perf_counter(), cpu()
        value = fn()
        timings[name] = (time.perf_counter() - t, cpu() - c)
        return value

    submissions = sorted(set(zip(grades["employee_id"], grades["module"])))
    load0 = f"{os.getloadavg()[0]:.2f}"
    answers = step(f"read {len(submissions):,} answers.json", lambda: insight.read_answers(s, submissions, modules))
    report = step("mastery, choices, paths, item analysis", lambda: insight.build(modules, learners, grades, answers))
    files = step("HTML + 9 CSV + manifest", lambda: insight.write_files(
        s.trainer_reports_dir, report, datetime(2026, 11, 26, 9, 30, tzinfo=timezone.utc), "UTC", Head(0, "")))
    total = tuple(sum(v[k] for v in timings.values()) for k in (0, 1))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    worker_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # the largest child: a worker or the synthesis

    print(f"Trainers' report benchmark: {args.learners:,} learners × {len(modules)} modules = {len(submissions):,} graded "
          f"submissions, {len(grades):,} grade cells (setup, not timed: {setup:.0f} s)")
    print(f"  {'step':40} {'wall':>7}   {'CPU (this process and its workers)':>8}")
    for name, (wall, cpu) in [*timings.items(), ("total", total)]:
        print(f"  {name:40} {wall:7.2f} s {cpu:7.2f} s")
    print(f"  load average before/after: {load0} / {os.getloadavg()[0]:.2f} (other work on the machine slows the wall clock)")
    print(f"  peak memory (max RSS of the process that builds the report; synthesis ran in a child): {peak:,.0f} MiB; "
          f"largest child (a worker parsing answers.json, or the synthesis): {worker_peak:,.0f} MiB")
    rows = {k: len(v) for k, v in insight.frames(report).items()}
    print(f"  rows: {rows}")
    print("  files: " + ", ".join(f"{p.name} {p.stat().st_size / 1e6:.1f} MB" for p in files.all()))
    print(f"machine: {os.cpu_count()} CPU(s) (nproc), {cpu_model()}; Python {platform.python_version()}, pandas {pd.__version__}")
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
