"""Where grading work runs: a small interface, and the one-machine implementation.

The fast grading path (:mod:`autograde.fastgrade`) needs only this from a pool:
start workers that each run ``initializer(*initargs)`` once (to start their
sandboxed template), then ``imap_unordered(fn, jobs)``: results as they finish.
``LocalPool`` does that with processes on this machine. A distributed engine can
take its place when a cohort outgrows one machine; see ARCHITECTURE.md for how
Dask distributed would (a WorkerPlugin for the initializer, ``client.map`` plus
``as_completed`` for the results).
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol


class WorkerPool(Protocol):
    def imap_unordered(self, fn: Callable[[Any], Any], jobs: Iterable[Any]) -> Iterator[Any]: ...

    def close(self) -> None: ...


class LocalPool:
    """Worker processes on this machine (default: one per core), forked from this one."""

    def __init__(self, workers: int | None, initializer: Callable[..., None], initargs: tuple = ()):
        self.workers = max(1, workers or os.cpu_count() or 1)
        # fork: workers inherit the imported nbgrader and settings without re-importing.
        self._pool = multiprocessing.get_context("fork").Pool(self.workers, initializer, initargs)

    def imap_unordered(self, fn: Callable[[Any], Any], jobs: Iterable[Any]) -> Iterator[Any]:
        return self._pool.imap_unordered(fn, jobs, chunksize=1)

    def close(self) -> None:
        self._pool.close()
        self._pool.join()

    def terminate(self) -> None:
        self._pool.terminate()
        self._pool.join()
