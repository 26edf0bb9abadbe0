"""How long the HR report takes for a large city: 10,000 learners × 6 modules.

Synthesizes what the gradebook query returns (per submission and cell type:
scores, maxima, needs-manual-grade) plus the roster, cohort plans and pending
submissions, then runs the report's own code path from there on:
``completion.graded_frame`` -> ``completion.build_table`` (schema-checked) ->
``report.make_tables`` (totals, overdue, at risk) -> ``report.write_files``
(HTML, four CSV files, XLSX, manifest). Prints seconds per step and the machine.

    .venv/bin/python benchmarks/report_benchmark.py [--learners 10000] [--modules 6] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from autograde.record.audit import Head  # noqa: E402
from autograde.reporting import (
    completion,  # noqa: E402
    report,
)

STANDARDS = ["General", "Authenticity", "Anticipation", "Engagement", "Consistency", "Accountability"]
DEPARTMENTS = ["Permits and Licensing", "Utility Billing", "Parks and Recreation", "311 Contact Center",
               "Public Works", "Library", "Police Records", "Fire Prevention", "Transit", "Finance"]


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def synthesize(n_learners: int, n_modules: int, as_of: date, seed: int = 2026):
    rng = np.random.default_rng(seed)
    ids = [f"e{n:06d}" for n in range(n_learners)]
    cohorts = [f"2026-{m:02d}" for m in range(1, 13)]
    learners = pd.DataFrame({
        "employee_id": ids,
        "name": [f"First{n} Last{n}" for n in range(n_learners)],
        "department": rng.choice(DEPARTMENTS, n_learners),
        "cohort": rng.choice(cohorts, n_learners),
    })
    modules = [f"{n:02d}-module" for n in range(n_modules)]
    plan = pd.DataFrame([
        (c, m, (as_of + timedelta(days=7 * (k - 6) + 7 * j - 14)).isoformat(), (as_of + timedelta(days=7 * (k - 6) + 7 * j)).isoformat())
        for k, c in enumerate(cohorts) for j, m in enumerate(modules)
    ], columns=["cohort", "module", "assigned", "due"])
    catalog = pd.DataFrame({"module": modules, "standard": [STANDARDS[j % len(STANDARDS)] for j in range(n_modules)],
                            "max_score": 30.0})
    # ~70% of learner × module pairs autograded, ~5% submitted and waiting
    pairs = pd.MultiIndex.from_product([ids, modules], names=["employee_id", "module"]).to_frame(index=False)
    draw = rng.random(len(pairs))
    graded = pairs[draw < 0.70].reset_index(drop=True)
    pending = pairs[(draw >= 0.70) & (draw < 0.75)].reset_index(drop=True)
    start = datetime(2026, 1, 1)
    stamps = pd.to_datetime(start) + pd.to_timedelta(rng.integers(0, 330 * 86400, len(graded)), unit="s")
    code = graded.assign(timestamp=stamps, cell_type="code", score=rng.integers(0, 43, len(graded)) / 2,
                         max_score=21.0, needs_manual=0)
    markdown = graded.assign(timestamp=stamps, cell_type="markdown", score=rng.integers(0, 10, len(graded)).astype(float),
                             max_score=9.0, needs_manual=(rng.random(len(graded)) < 0.15).astype(int))
    raw = pd.concat([code, markdown], ignore_index=True)  # what completion.read_gradebook's query returns
    pending = pending.assign(submitted_at=pd.Timestamp("2026-11-20 10:00") + pd.to_timedelta(rng.integers(0, 86400, len(pending)), unit="s"))
    return learners, plan, catalog, raw, pending


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--learners", type=int, default=10_000)
    parser.add_argument("--modules", type=int, default=6)
    parser.add_argument("--keep", help="write the report here and keep it (default: a temporary folder)")
    args = parser.parse_args(argv)
    as_of = date(2026, 11, 26)
    learners, plan, catalog, raw, pending = synthesize(args.learners, args.modules, as_of)
    out = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="hcwh-bench-"))
    timings: dict[str, float] = {}

    def step(name, fn):
        t0 = time.perf_counter()
        value = fn()
        timings[name] = time.perf_counter() - t0
        return value

    graded = step("gradebook rows -> submissions", lambda: completion.graded_frame(raw, "UTC"))
    table = step("completion table (schema-checked)", lambda: completion.build_table(learners, plan, catalog, graded, pending, as_of))
    tables = step("totals, overdue, at risk", lambda: report.make_tables(table, as_of))
    files = step("HTML + 4 CSV + XLSX + manifest", lambda: report.write_files(out / "reports", tables, datetime(2026, 11, 26, 9, 30, tzinfo=timezone.utc), "UTC",
                                                                       Head(0, "")))
    total = sum(timings.values())

    print(f"HR report benchmark: {args.learners:,} learners × {args.modules} modules = {len(table):,} rows "
          f"({len(graded):,} autograded, {int((table['status'] == 'overdue').sum()):,} overdue, {len(tables.at_risk):,} at risk)")
    for name, seconds in timings.items():
        print(f"  {name:36} {seconds:7.2f} s")
    print(f"  {'total':36} {total:7.2f} s")
    sizes = ", ".join(f"{p.name} {p.stat().st_size / 1e6:.1f} MB" for p in files.all() if p.suffix in (".html", ".xlsx", ".csv"))
    print(f"  files: {sizes}")
    print(f"machine: {os.cpu_count()} CPU(s) (nproc), {cpu_model()}; Python {platform.python_version()}, pandas {pd.__version__}")
    if not args.keep:
        shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()
