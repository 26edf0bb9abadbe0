"""The pure parts of benchmarks/hub_load.py: percentiles, the arrival schedule, think times, PSS,
the module page's kernel."""

from __future__ import annotations

import itertools

import pytest

from benchmarks.hub_load import arrivals, page_kernel_id, passes, percentile, pss_kib, think_times

SMAPS_ROLLUP = """55d5c4a00000-7ffd8e5f2000 ---p 00000000 00:00 0                          [rollup]
Rss:               98304 kB
Pss:               61234 kB
Pss_Anon:          40000 kB
Pss_File:          21000 kB
Pss_Shmem:           234 kB
Shared_Clean:      40000 kB
Private_Dirty:     41000 kB
Swap:                  0 kB
SwapPss:               0 kB
"""


def test_percentile_is_linear_between_ranks():
    # by hand: position (n-1)*q/100 in the sorted values, then linear between its two neighbours
    assert percentile([4, 1, 3, 2], 50) == pytest.approx(2.5)  # position 1.5: 2 + 0.5 * (3 - 2)
    assert percentile([4, 1, 3, 2], 95) == pytest.approx(3.85)  # position 2.85: 3 + 0.85 * (4 - 3)
    assert percentile(list(range(1, 21)), 95) == pytest.approx(19.05)  # position 18.05
    assert percentile([7.0], 95) == 7.0
    assert percentile([], 50) is None


def test_arrivals_are_sorted_in_the_window_and_seeded():
    first = arrivals(30, 300, seed=1)
    assert len(first) == 30 and first == sorted(first)
    assert all(0 <= t < 300 for t in first)
    assert arrivals(30, 300, seed=1) == first
    assert arrivals(30, 300, seed=2) != first


def test_think_times_are_seeded_per_learner_with_the_stated_mean():
    a = list(itertools.islice(think_times(30, seed=1, learner=1), 20000))
    assert a[:5] == list(itertools.islice(think_times(30, seed=1, learner=1), 5))
    assert a[:5] != list(itertools.islice(think_times(30, seed=1, learner=2), 5))
    assert all(t >= 0 for t in a)
    assert sum(a) / len(a) == pytest.approx(30, rel=0.03)
    assert list(itertools.islice(think_times(0, seed=1, learner=1), 3)) == [0.0, 0.0, 0.0]


def test_pss_is_the_pss_line_only():
    assert pss_kib(SMAPS_ROLLUP) == 61234  # not Pss_Anon, Pss_File or SwapPss
    assert pss_kib("") == 0


def _result(open_p95, save_p95, spawned=5, spawn_errors=0):
    return {"learners": 5, "open_s": {"p95": open_p95}, "save_s": {"p95": save_p95}, "spawn_s": {"n": spawned},
            "errors": {"spawn": spawn_errors} if spawn_errors else {}}


def test_a_run_passes_under_3_s_open_and_300_ms_save_with_every_page_up():
    assert passes(_result(2.99, 0.299))
    assert not passes(_result(3.0, 0.1))
    assert not passes(_result(1.0, 0.3))
    assert not passes(_result(1.0, 0.1, spawned=4, spawn_errors=1))
    assert not passes(_result(None, None))


def test_the_kernel_of_a_module_page_is_read_from_its_page_config():
    page = ('<html><script id="jupyter-config-data" type="application/json">\n  {"baseUrl": "/user/a/",'
            ' "kernelId": "3f2a-77"}\n  </script><body>...</body></html>')
    assert page_kernel_id(page) == "3f2a-77"
    assert page_kernel_id("<html><body>Too many people</body></html>") is None
