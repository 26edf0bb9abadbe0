"""The module page kept prepared for its next open (autograde/learner/prepared.py), on a real Jupyter
server set up as a learner's server on the hub (tests/e2e/test_browser.py's Lab), real kernels,
pages read over HTTP as hub_load's opens read them. What the prepared page shows (the answers saved
since it was run) is checked in a real browser: tests/e2e/test_page.py's reload after a lost kernel.
"""

from __future__ import annotations

import json
import os
import signal
import time
import urllib.request
from pathlib import Path

import pytest

from benchmarks.hub_load import page_kernel_id
from tests.e2e.test_browser import MODULE_ID, Lab, released_and_fetched
from tests.e2e.test_page import kernel_pids, prepared_kernels

pytestmark = pytest.mark.integration


def wait_prepared(lab: Lab, count: int, timeout: float = 90) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        kernels = prepared_kernels(lab)
        if len(kernels) >= count:
            return kernels[count - 1]
        time.sleep(0.2)
    raise AssertionError(f"page {count} not prepared within {timeout} s:\n{lab.log_tail()}")


def running(lab: Lab) -> set[str]:
    with urllib.request.urlopen(lab.api_request("GET", "/api/kernels"), timeout=10) as r:
        return {k["id"] for k in json.load(r)}


def kernel_pid(kernel_id: str) -> int:
    pids = kernel_pids(kernel_id)
    if not pids:
        raise AssertionError(f"no process for kernel {kernel_id}")
    return pids[0]


@pytest.fixture
def lab(tmp_path):
    state, home, folder = released_and_fetched(tmp_path, "prepared")
    server = Lab(home, tmp_path / "server", state, module_page=True)
    server.start()
    server.folder = folder
    yield server
    server.kill()


def open_page(lab: Lab) -> tuple[str, str]:
    """The module page read to its end: (its HTML, its kernel id)."""
    url = f"{lab.base_url}/voila/render/{MODULE_ID}/{MODULE_ID}.ipynb?token={lab.token}"
    with urllib.request.urlopen(url, timeout=120) as r:
        body = r.read().decode("utf-8", "replace")
    kernel = page_kernel_id(body)
    assert kernel and body.rstrip().endswith("</html>"), body[-500:]
    # every answer widget is on the page: as many widget views as the notebook has cells that display one
    assert body.count("application/vnd.jupyter.widget-view+json") == 12, body.count("application/vnd.jupyter.widget-view+json")
    return body, kernel


def test_a_reopen_is_served_the_prepared_page_and_the_next_is_prepared(lab):
    _, first = open_page(lab)
    prepared = wait_prepared(lab, 1)
    assert prepared != first and prepared in running(lab)
    _, second = open_page(lab)
    assert second == prepared
    after = wait_prepared(lab, 2)  # the next open's page, in a kernel of its own
    assert after not in {first, second} and after in running(lab)
    assert "was served prepared" in lab.log_path.read_text(errors="replace")


def test_a_server_started_again_prepares_the_module_worked_on_last(tmp_path):
    """The learner's first page of the day: their server starts with answers saved in a module, and
    that module's page is prepared before they open it; a first login (no answers yet) prepares nothing."""
    state, home, folder = released_and_fetched(tmp_path, "returning")
    first = Lab(home, tmp_path / "first", state, module_page=True)
    first.start()
    try:
        time.sleep(3)  # past the start delay: nothing answered, so nothing is prepared
        assert prepared_kernels(first) == [] and running(first) == set()
    finally:
        first.kill()
    (folder / "answers.json").write_text(json.dumps({"questions": {}}), encoding="utf-8")
    again = Lab(home, tmp_path / "again", state, module_page=True)
    again.start()
    try:
        prepared = wait_prepared(again, 1)
        _, kernel = open_page(again)
        assert kernel == prepared
    finally:
        again.kill()


def test_a_notebook_changed_since_is_run_afresh(lab):
    open_page(lab)
    prepared = wait_prepared(lab, 1)
    notebook = lab.folder / f"{MODULE_ID}.ipynb"
    st = notebook.stat()
    os.utime(notebook, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))  # a new release fetched
    _, kernel = open_page(lab)
    assert kernel != prepared
    deadline = time.monotonic() + 30
    while prepared in running(lab) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert prepared not in running(lab)  # the stale page's kernel was let go


@pytest.mark.parametrize("how", ["killed", "started again"])
def test_a_prepared_kernel_that_died_is_not_served(lab, how):
    """The prepared kernel killed is found dead at the open; started again under the same id (as the
    server's restarter does after a crash; here through the kernels API, which does the same), it
    is found with no page built in it. Either way the page is run afresh in a new kernel."""
    open_page(lab)
    prepared = wait_prepared(lab, 1)
    old_pid = kernel_pid(prepared)
    if how == "killed":
        os.kill(old_pid, signal.SIGKILL)
        while kernel_pid_or_none(prepared) is not None:  # the process is gone
            time.sleep(0.05)
        reasons = {"its kernel is not running", "no module page was built in this kernel"}  # the restarter may be first
    else:
        urllib.request.urlopen(lab.api_request("POST", f"/api/kernels/{prepared}/restart"), timeout=60).close()
        assert kernel_pid(prepared) != old_pid  # a new process, the same kernel id
        reasons = {"no module page was built in this kernel"}
    _, kernel = open_page(lab)
    assert kernel != prepared
    log = lab.log_path.read_text(errors="replace")
    said = [r for r in reasons if f"{r}); running it afresh" in log]
    assert "could not be used (" in log and said, lab.log_tail()
    assert prepared not in running(lab)


def kernel_pid_or_none(kernel_id: str) -> int | None:
    try:
        return kernel_pid(kernel_id)
    except AssertionError:
        return None


def test_the_learners_kernel_runs_without_the_debugger(lab):
    """Learners' servers start their ``python3`` kernel through autograde/learner/kernel.py (its
    kernelspec in the page's data folder): ipykernel runs with its debugger off and debugpy, about
    0.1 s of CPU at each start, is never imported."""
    from jupyter_client import BlockingKernelClient

    _, kernel = open_page(lab)
    cmdline = Path(f"/proc/{kernel_pid(kernel)}/cmdline").read_bytes().split(b"\0")
    assert b"autograde.learner.kernel" in cmdline, cmdline
    client = BlockingKernelClient(connection_file=str(lab.log_path.parent / "jupyter-runtime" / f"kernel-{kernel}.json"))
    client.load_connection_file()
    client.start_channels()
    outputs: list[dict] = []
    try:
        reply = client.kernel_info(reply=True, timeout=30)
        assert "debugger" not in reply["content"].get("supported_features", []), reply["content"]
        got = client.execute_interactive("import sys; print('debugpy' in sys.modules and sys.modules['debugpy'] is not None)",
                                         timeout=30, output_hook=outputs.append)
    finally:
        client.stop_channels()
    assert got["content"]["status"] == "ok"
    printed = "".join(m["content"].get("text", "") for m in outputs if m["msg_type"] == "stream")
    assert printed.strip() == "False"
