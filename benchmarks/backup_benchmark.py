"""How long ``hcwh backup`` and ``hcwh restore`` take for a cohort's state, and how much memory they use.

Synthesizes a state folder shaped like a cohort's (per learner and module: a submitted, an autograded
and a feedback copy, a home copy with its answers.json; a SQLite gradebook of the given size; an audit
trail), then runs ``autograde.hub.backup.backup`` and ``restore`` on it in this process, timed, and
prints seconds, MB/s, the archive's size and the process's peak resident memory, with the machine.
File contents are random bytes (no compression is done, so this is the worst case for nothing).

    .venv/bin/python benchmarks/backup_benchmark.py [--learners 200] [--modules 6] [--gradebook-mb 50]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from autograde.config import Settings
from autograde.hub import backup

NOTEBOOK, ANSWERS, FEEDBACK = 60_000, 2_000, 80_000  # bytes, about a module's sizes here


def synthesize(root: Path, learners: int, modules: int, gradebook_mb: int) -> tuple[Settings, Path]:
    s = Settings(state_dir=root / "state")
    homes = root / "home"
    names = [f"learner-{i:05d}" for i in range(learners)]
    course = s.course_dir
    for n in names:
        for m in range(modules):
            mod = f"{m + 1:02d}-module"
            for sub, size in (("submitted", NOTEBOOK), ("autograded", NOTEBOOK), ("feedback", FEEDBACK)):
                d = course / sub / n / mod
                d.mkdir(parents=True, exist_ok=True)
                (d / f"{mod}.ipynb").write_bytes(os.urandom(size))
            h = homes / n / "how-can-we-help" / mod
            h.mkdir(parents=True, exist_ok=True)
            (h / f"{mod}.ipynb").write_bytes(os.urandom(NOTEBOOK))
            (h / "answers.json").write_bytes(os.urandom(ANSWERS))
    from autograde.roster import Learner, RosterData, RosterStore

    RosterStore(s.roster_path).save(RosterData(learners={
        n: Learner(n, "First", "Last", f"{n}@example.org", "Permits", "2026-10-05", "spring") for n in names}))
    db = sqlite3.connect(course / "gradebook.db")
    db.execute("CREATE TABLE grade (id INTEGER PRIMARY KEY, blob BLOB)")
    db.executemany("INSERT INTO grade (blob) VALUES (?)", ((os.urandom(1000),) for _ in range(gradebook_mb * 1000)))
    db.commit()
    db.close()
    (s.state_dir / "record").mkdir()
    (s.state_dir / "record" / "audit.jsonl").write_text("".join(json.dumps({"n": i}) + "\n" for i in range(10_000)))
    return s, homes


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--learners", type=int, default=200)
    ap.add_argument("--modules", type=int, default=6)
    ap.add_argument("--gradebook-mb", type=int, default=50)
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="hcwh-backup-bench-"))
    try:
        t0 = time.perf_counter()
        s, homes = synthesize(root, args.learners, args.modules, args.gradebook_mb)
        size = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
        print(f"synthesized {size / 1e6:.0f} MB ({args.learners} learners x {args.modules} modules, "
              f"{args.gradebook_mb} MB gradebook) in {time.perf_counter() - t0:.1f} s")
        key = backup.make_key(root / "backup.key")
        archive = root / "set.hcwhbak"
        t0 = time.perf_counter()
        summary = backup.backup(s, archive, key, home_base=homes, progress=lambda line: None)
        took = time.perf_counter() - t0
        print(f"backup:  {took:.1f} s, {size / 1e6 / took:.0f} MB/s, {summary.files} files, archive "
              f"{archive.stat().st_size / 1e6:.0f} MB")
        rss_backup = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        t0 = time.perf_counter()
        restored = backup.restore(archive, root / "restored" / "state", key, home_base=root / "restored-home",
                                  progress=lambda line: None)
        took = time.perf_counter() - t0
        print(f"restore: {took:.1f} s, {size / 1e6 / took:.0f} MB/s, {restored.files} files verified")
        print(f"peak resident memory of this process: {rss_backup:.0f} MB after backup, "
              f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB after restore")
        print(f"machine: {platform.platform()}, {os.cpu_count()} cores (shared), Python {platform.python_version()}")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
