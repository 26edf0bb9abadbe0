"""A learner's server keeps one kernel started ahead for the next module page
(autograde/learner/spare.py): real kernels, started by the real server kernel manager."""

from __future__ import annotations

import asyncio
import json
import os
import sys

import pytest

from autograde.learner import spare
from autograde.learner.spare import SpareKernelManager

REPORT = ("import os, json; print(json.dumps({'env': os.environ.get('HCWH_PAGE'), 'cwd': os.getcwd(), "
          "'all': dict(os.environ)}))")


def _page_env(name: str) -> dict[str, str]:
    """What Voilà gives a page's kernel: the server's environment with its request's variables."""
    return {**os.environ, "VOILA_BASE_URL": "/user/x/", "HCWH_PAGE": name}


async def _report(km: SpareKernelManager, kid: str) -> dict:
    client = km.get_kernel(kid).client()
    client.start_channels()
    out: list[str] = []
    try:
        await client.wait_for_ready(timeout=60)

        def hook(msg):
            if msg["msg_type"] == "stream":
                out.append(msg["content"]["text"])

        reply = await client.execute_interactive(REPORT, output_hook=hook, timeout=60)
        assert reply["content"]["status"] == "ok", reply["content"]
    finally:
        client.stop_channels()
    return json.loads("".join(out).strip().splitlines()[-1])


async def _until_spare(km: SpareKernelManager) -> str:
    for _ in range(600):
        if km._spare is not None:
            return km._spare
        await asyncio.sleep(0.1)
    raise AssertionError("no spare kernel started within 60 s")


def _manager(tmp_path) -> SpareKernelManager:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    return SpareKernelManager(root_dir=str(tmp_path))


@pytest.fixture
def no_delay(monkeypatch):
    monkeypatch.setattr(spare, "REFILL_DELAY", 0.0)


def test_the_next_page_takes_the_spare_with_its_own_environment_and_folder(tmp_path, no_delay):
    async def go():
        km = _manager(tmp_path)
        try:
            first = await km.start_kernel(kernel_name="python3", path="a",
                                          env={**_page_env("first"), "HCWH_FIRST_ONLY": "1"})
            kept = await _until_spare(km)
            assert kept != first and set(km.list_kernel_ids()) == {first, kept}
            assert (await _report(km, kept))["all"]["HCWH_FIRST_ONLY"] == "1"  # started with the first's
            second_env = _page_env("second")
            second = await km.start_kernel(kernel_name="python3", path="b", env=second_env)
            assert second == kept  # the spare, not a new kernel
            got = await _report(km, second)
            assert got["env"] == "second" and got["cwd"] == str(tmp_path / "b")
            # the environment of a kernel started for that page, though the spare was started with the
            # first's (a given kernel id starts a new kernel: the spare is only for new ones)
            fresh = await km.start_kernel(kernel_id="fresh", kernel_name="python3", path="b", env=second_env)
            assert "HCWH_FIRST_ONLY" not in got["all"] and got["all"] == (await _report(km, fresh))["all"]
            assert (await _report(km, first))["env"] == "first"
            third = await _until_spare(km)  # a new spare for the page after
            assert third not in (first, second, "fresh")
        finally:
            await km.shutdown_all()
    asyncio.run(go())


def test_a_kernel_that_is_not_a_module_pages_never_takes_the_spare(tmp_path, no_delay):
    async def go():
        km = _manager(tmp_path)
        try:
            await km.start_kernel(kernel_name="python3", path="a", env=_page_env("page"))
            kept = await _until_spare(km)
            lab = await km.start_kernel(kernel_name="python3", path="a")  # JupyterLab's notebook: no Voilà env
            assert lab != kept and km._spare == kept
            assert (await _report(km, lab))["env"] is None
            # the culler leaves the spare, however long it waits
            await km.cull_kernel_if_idle(kept)
            assert kept in km.list_kernel_ids()
        finally:
            await km.shutdown_all()
    asyncio.run(go())


@pytest.mark.skipif(sys.platform != "linux", reason="kills the kernel's process by its pid")
def test_a_dead_spare_is_replaced_and_the_page_gets_a_working_kernel(tmp_path, no_delay):
    async def go():
        km = _manager(tmp_path)
        try:
            await km.start_kernel(kernel_name="python3", path="a", env=_page_env("first"))
            kept = await _until_spare(km)
            km.get_kernel(kept).provisioner.process.kill()
            km.get_kernel(kept).provisioner.process.wait()
            restarter = getattr(km.get_kernel(kept), "_restarter", None)
            if restarter is not None:
                restarter.stop()  # left dead, as after an out-of-memory kill, before any restart
            page = await km.start_kernel(kernel_name="python3", path="b", env=_page_env("second"))
            assert page != kept and kept not in km.list_kernel_ids()
            got = await _report(km, page)
            assert got["env"] == "second" and got["cwd"] == str(tmp_path / "b")
        finally:
            await km.shutdown_all()
    asyncio.run(go())
