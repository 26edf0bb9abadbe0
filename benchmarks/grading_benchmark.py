"""Stock nbgrader autograde vs the project's fast grading path, same run, same submissions.

    .venv/bin/python benchmarks/grading_benchmark.py --learners 200

1. Builds a course with every module, and a synthetic cohort: ``--learners``
   learners x all modules, answers of varying quality (autograde/course/demo.py's
   learners), plus a few broken submissions (a cell that raises, a tampered test
   cell, a deleted test cell, an infinite loop, a truncated notebook). Submissions
   are written straight into ``submitted/`` as ``collect`` leaves them (with
   answers.json and timestamp.txt), so the set-up is not what is timed.
2. Copies the course twice. Grades one copy with stock ``nbgrader autograde``
   (its command line, one process per module, as a trainer runs it; stock
   kernels, no sandbox), the other with ``autograde.grading.fast`` (sandbox on).
3. Checks that every gradebook row autograde writes is identical, and prints
   notebooks per second for each and the ratio, with the machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autograde.config import Settings  # noqa: E402
from autograde.course import nbgrader_api as course  # noqa: E402
from autograde.course.demo import Learner, answer_module  # noqa: E402
from autograde.course.nbconfig import nbgrader_config  # noqa: E402
from autograde.grading import fast as fastgrade
from curriculum.builder import load_modules  # noqa: E402

BROKEN = ("raises", "tampered", "deleted", "loops", "truncated")
TIMESTAMP = "2026-11-20 14:30:00.000000 UTC"


def machine() -> str:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, {platform.system()} {platform.release()}"


def break_notebook(kind: str, path: Path) -> None:
    if kind == "truncated":
        path.write_bytes(path.read_bytes()[:5000])
        return
    nb = nbformat.read(path, as_version=4)
    answer = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution") and c.cell_type == "code"]
    tests = [i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade") and c.cell_type == "code"]
    if kind == "raises":
        answer[0].source = "raise RuntimeError('broken on purpose')"
    elif kind == "loops":
        answer[0].source = "while True:\n    pass"
    elif kind == "tampered":
        nb.cells[tests[0]].source = "1000.0"
    elif kind == "deleted":
        del nb.cells[tests[0]]
    nbformat.write(nb, path)


def make_cohort(s: Settings, modules, learners: int, seed: int = 2026) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    jobs = []
    for n in range(learners):
        learner = Learner(f"learner{n:04d}", "Syn", f"Thetic{n}", f"learner{n:04d}@example.org", rng.random())
        for m in modules:
            folder = s.course_dir / "submitted" / learner.student_id / m.id
            shutil.copytree(s.course_dir / "release" / m.id, folder)
            answer_module(m, learner, folder, rng)
            (folder / "timestamp.txt").write_text(TIMESTAMP)
            jobs.append((m.id, learner.student_id))
    for kind, module in zip(BROKEN, modules * len(BROKEN)):
        student = f"broken-{kind}"
        folder = s.course_dir / "submitted" / student / module.id
        shutil.copytree(s.course_dir / "release" / module.id, folder)
        (folder / "timestamp.txt").write_text(TIMESTAMP)
        break_notebook(kind, folder / f"{module.id}.ipynb")
        jobs.append((module.id, student))
    return jobs


def stock_autograde(s: Settings, module_ids: list[str]) -> None:
    """`nbgrader autograde MODULE` in the course folder, as a trainer would run it."""
    (s.course_dir / "nbgrader_config.py").write_text(
        "from autograde.config import Settings\n"
        "from autograde.course.nbconfig import apply_nbgrader_config\n"
        "from pathlib import Path\n"
        f"apply_nbgrader_config(get_config(), Settings(state_dir=Path({str(s.state_dir)!r}), sandbox=False, timeout={s.timeout}))\n"
    )
    env = {**os.environ, "HCWH_NO_SANDBOX": "1", "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}"}
    for module_id in module_ids:
        subprocess.run([str(Path(sys.executable).parent / "nbgrader"), "autograde", module_id, "--force"],
                       cwd=s.course_dir, env=env, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, default=200)
    parser.add_argument("--workers", type=int, default=None, help="fast path worker processes (default: one per core)")
    parser.add_argument("--timeout", type=int, default=10, help="seconds a cell may run (bounds the looping submission)")
    parser.add_argument("--keep", help="keep the courses in this folder instead of a temporary one")
    args = parser.parse_args()

    base = Path(args.keep or tempfile.mkdtemp(prefix="hcwh-bench-"))
    modules = load_modules()
    ids = [m.id for m in modules]
    setup = Settings(state_dir=base / "setup", timeout=args.timeout)
    print(f"machine: {machine()}")
    t = time.perf_counter()
    course.prepare(setup, ids)
    for module_id in ids:
        course.generate(setup, module_id)
    jobs = make_cohort(setup, modules, args.learners)
    print(f"cohort: {args.learners} learners x {len(ids)} modules + {len(BROKEN)} broken = {len(jobs)} notebooks "
          f"(made in {time.perf_counter() - t:.0f} s)")

    stock = replace(setup, state_dir=base / "stock", sandbox=False)
    fast = replace(setup, state_dir=base / "fast", sandbox=True)
    for copy in (stock, fast):
        shutil.rmtree(copy.state_dir, ignore_errors=True)
        shutil.copytree(setup.state_dir, copy.state_dir)

    t = time.perf_counter()
    stock_autograde(stock, ids)
    stock_s = time.perf_counter() - t
    print(f"stock nbgrader autograde: {len(jobs)} notebooks in {stock_s:.1f} s = {len(jobs) / stock_s:.2f} notebooks/s")

    t = time.perf_counter()
    results = fastgrade.grade(fast, nbgrader_config(fast), jobs, workers=args.workers)
    fast_s = time.perf_counter() - t
    failed = [r for r in results if not r.ok]
    print(f"fast path (sandboxed):    {len(jobs)} notebooks in {fast_s:.1f} s = {len(jobs) / fast_s:.2f} notebooks/s "
          f"({len(failed)} failed as stock fails them: {sorted({r.reason.split(':')[0] for r in failed})})")

    a, b = fastgrade.gradebook_rows(stock), fastgrade.gradebook_rows(fast)
    diffs = [k for k in set(a) | set(b) if a.get(k) != b.get(k)]
    print(f"gradebook rows compared: {len(a)} stock, {len(b)} fast, {len(diffs)} different")
    for k in sorted(diffs)[:10]:
        print(f"  {k}: stock {a.get(k)} fast {b.get(k)}")
    print(f"speed-up: {stock_s / fast_s:.1f}x")
    if not args.keep:
        shutil.rmtree(base, ignore_errors=True)
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main())
