"""A learner's page on the hub: its limits from the environment (one definition, autograde/limits.py),
and the idle warning's timing rule (when the "I need more time" banner shows, when the stop may come)."""

from __future__ import annotations

import json

import pytest

from autograde.limits import LEARNER_ENV_VARS, LearnerLimits, idle_notice_times

MiB = 1024 * 1024


def test_the_defaults_are_sized_for_a_small_two_core_machine():
    d = LearnerLimits()
    assert d.memory_bytes == 1024 * MiB and d.processes == 256
    assert d.cpu_weight == 50 and d.cpu_shares == 512 and d.cpus == 1.0  # half a default group's weight, one core
    assert d.idle_timeout == 90 * 60 and d.warn_before == 10 * 60 and d.cull_every == 60
    assert d.kernel_idle_timeout == 20 * 60 and d.kernel_cull_interval == 120
    assert (d.concurrent_spawns, d.active_servers, d.start_timeout, d.http_timeout) == (10, 40, 120, 90)


def test_each_variable_overrides_its_limit_with_its_unit():
    env = {"HCWH_LEARNER_MEMORY_MB": "512", "HCWH_LEARNER_PROCESSES": "64", "HCWH_LEARNER_CPU_WEIGHT": "200",
           "HCWH_LEARNER_CPUS": "0.5", "HCWH_IDLE_TIMEOUT": "30", "HCWH_IDLE_CULL_EVERY": "5",
           "HCWH_IDLE_WARN_BEFORE": "10", "HCWH_KERNEL_IDLE_TIMEOUT": "300", "HCWH_KERNEL_CULL_INTERVAL": "60",
           "HCWH_CONCURRENT_SPAWNS": "3", "HCWH_ACTIVE_SERVERS": "12", "HCWH_START_TIMEOUT": "200",
           "HCWH_HTTP_TIMEOUT": "100"}
    got = LearnerLimits.from_env(env)
    assert got == LearnerLimits(memory_bytes=512 * MiB, processes=64, cpu_weight=200, cpus=0.5, idle_timeout=30,
                                cull_every=5, warn_before=10, kernel_idle_timeout=300, kernel_cull_interval=60,
                                concurrent_spawns=3, active_servers=12, start_timeout=200, http_timeout=100)
    assert got.cpu_shares == 2048
    assert set(env) == {var for var, _, _ in LEARNER_ENV_VARS.values()}  # every limit has its variable
    # the learner's page gets the hub's figures back through the same variables
    assert LearnerLimits.from_env(got.as_env()) == got
    assert LearnerLimits.from_env({"HCWH_IDLE_TIMEOUT": ""}) == LearnerLimits()  # empty: the default


@pytest.mark.parametrize("env, words", [
    ({"HCWH_LEARNER_MEMORY_MB": "1G"}, ["HCWH_LEARNER_MEMORY_MB='1G' is not a number", "MiB of memory"]),
    ({"HCWH_LEARNER_PROCESSES": "0"}, ["HCWH_LEARNER_PROCESSES='0' must be above 0"]),
    ({"HCWH_LEARNER_CPUS": "-1"}, ["HCWH_LEARNER_CPUS='-1' must be above 0"]),
    ({"HCWH_LEARNER_CPU_WEIGHT": "20000"}, ["cpu_weight must be at most 10000", "HCWH_LEARNER_CPU_WEIGHT"]),
    ({"HCWH_IDLE_TIMEOUT": "600"}, ["less than the idle timeout (600 s)", "HCWH_IDLE_TIMEOUT"]),
])
def test_a_bad_value_is_refused_naming_the_variable(env, words):
    with pytest.raises(ValueError) as e:
        LearnerLimits.from_env(env)
    for w in words:
        assert w in str(e.value)


def test_the_warning_comes_before_the_stop_and_the_stop_within_one_culler_round():
    limits = LearnerLimits(idle_timeout=5400, warn_before=600, cull_every=60)
    # last activity at 10:00:00 (36000 s): 90 minutes idle, so the stop comes from 11:30 and by 11:31 (the
    # culler looks every minute); warned 10 minutes before the earliest stop, at 11:20
    assert idle_notice_times(36000, limits) == (36000 + 80 * 60, 36000 + 90 * 60, 36000 + 91 * 60)


def test_the_page_answers_seconds_from_now():
    from autograde.idlenotice import activity_body, times_from

    limits = LearnerLimits(idle_timeout=30, warn_before=10, cull_every=5)
    assert times_from(1000.0, limits) == {"warn_in": 20, "stop_from": 30, "stop_by": 35}
    body = json.loads(activity_body("", 0.0))
    assert body == {"servers": {"": {"last_activity": "1970-01-01T00:00:00Z"}}, "last_activity": "1970-01-01T00:00:00Z"}
