"""How long a module page takes to be ready in a real browser, and how much of that is the browser's.

    .venv/bin/python benchmarks/page_ready.py --rounds 5 [--gap 8] [--no-prepare] [--module 01-authenticity] [--out FILE.json]

``benchmarks/hub_load.py --page voila`` times an open on the server's side under the hub's load
model: the module page read to its end (Voilà starts a kernel and runs every cell while it streams
the page), then the widgets' state asked for over the kernel's websocket, as the page's script does.
What it leaves out is the learner's browser: loading Voilà's scripts, connecting, drawing the
widgets. This script measures that part, on one learner's server with nothing else running:

1. A course under a temporary folder releases the module and a learner fetches it (real nbgrader);
   a Jupyter server serves it as a learner's server on the hub does (the Voilà template ``hcwh``, the
   project's server extensions: tests/e2e/test_browser.py's ``Lab``).
2. Each round, in turn: the page read to its end over HTTP (the server's part, as hub_load's open
   counts it up to the widgets' state); the page in Debian's Chromium with an empty cache (a new
   browser context: a learner's first module); the page again in the same context (cached scripts:
   every later open). "Ready" is when every reflection box and the "Refresh my progress" button are
   on the screen, the same moment tests/e2e/test_page.py waits for.
3. Prints the median and largest of each, and the browser's own part (browser minus server,
   median), with the machine.

The learner's server keeps the page opened last prepared for its next open
(autograde/learner/prepared.py), ready about ``prepare_delay`` (5 s) plus a page's run after an open.
``--gap`` (default 8 s) is the wait before each open, so that each is served a prepared page as a
learner's reload or return is; each open's count says how many were ("prepared", from the page's
kernel and the server's log). ``--no-prepare`` turns preparing off, every open running its page.

A learner's browser runs on their own computer, so the browser's part adds to the server's open
time under load without adding to the server's load.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.hub_load import page_kernel_id  # noqa: E402
from curriculum.schema import load_module  # noqa: E402
from tests.e2e.test_browser import CHROMIUM, CHROMIUM_ARGS, VIEWPORT, Lab, released_and_fetched  # noqa: E402
from tests.e2e.test_page import PAGE_KERNEL_JS, prepared_kernels  # noqa: E402

STUDENT = "page-ready"


def was_prepared(lab: Lab, kernel: str) -> bool:
    """Whether the server prepared ``kernel``'s page ahead (its log says so)."""
    return kernel in prepared_kernels(lab)


def server_open(lab: Lab, url: str) -> tuple[float, bool]:
    """Seconds to read the page to its end, and whether it was served prepared; then its kernel is
    shut down, as leaving the page does."""
    start = time.monotonic()
    with urllib.request.urlopen(url, timeout=120) as r:
        body = r.read().decode("utf-8", "replace")
    took = time.monotonic() - start
    kernel = page_kernel_id(body)
    if not kernel:
        raise RuntimeError(f"the module page has no kernel: {body[-300:]}")
    urllib.request.urlopen(lab.api_request("POST", f"/voila/api/shutdown/{kernel}"), timeout=30).close()
    return took, was_prepared(lab, kernel)


def browser_open(lab: Lab, page, url: str, reflections: int) -> tuple[float, int, bool]:
    """Seconds until the page is ready, the widget views on it then, and whether it was served prepared."""
    from playwright.sync_api import expect

    start = time.monotonic()
    page.goto(url)
    expect(page.get_by_role("textbox", name="Your reflection:")).to_have_count(reflections)
    expect(page.get_by_role("button", name="Refresh my progress")).to_be_visible()
    took = time.monotonic() - start
    return took, page.locator(".jupyter-widgets").count(), was_prepared(lab, page.evaluate(PAGE_KERNEL_JS))


def summary(values: list[float]) -> dict:
    return {"median_s": round(statistics.median(values), 2), "max_s": round(max(values), 2),
            "runs": [round(v, 2) for v in values]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--module", default="01-authenticity")
    ap.add_argument("--gap", type=float, default=8.0, help="seconds to wait before each open (8)")
    ap.add_argument("--no-prepare", action="store_true", help="the server prepares no page ahead")
    ap.add_argument("--out", type=Path, help="also write the results here, as JSON")
    args = ap.parse_args()
    if not CHROMIUM.exists():
        sys.exit(f"{CHROMIUM} is missing: run `sudo bash scripts/system-deps.sh` (Debian's Chromium)")
    from playwright.sync_api import expect, sync_playwright

    reflections = len(load_module(ROOT / "curriculum" / "modules" / f"{args.module}.yaml").reflections)
    times: dict[str, list[float]] = {"server": [], "browser, empty cache": [], "browser, cached": []}
    widgets: list[int] = []
    prepared: dict[str, int] = {name: 0 for name in times}
    with tempfile.TemporaryDirectory(prefix="hcwh-page-ready-") as tmp:
        tmp_path = Path(tmp)
        print(f"releasing {args.module} and fetching it for {STUDENT} ...", flush=True)
        state, home, _ = released_and_fetched(tmp_path, STUDENT, args.module)
        lab = Lab(home, tmp_path / "server", state, module_page=True)
        if args.no_prepare:
            config = tmp_path / "server" / "jupyter-config" / "jupyter_server_config.json"
            data = json.loads(config.read_text(encoding="utf-8"))
            data["PreparedPageKernelManager"] = {"prepare_pages": False}
            config.write_text(json.dumps(data), encoding="utf-8")
        lab.start()
        try:
            url = f"{lab.base_url}/voila/render/{args.module}/{args.module}.ipynb?token={lab.token}"
            server_open(lab, url)  # the first render warms the server's caches (templates, imports)
            expect.set_options(timeout=60_000)
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
                try:
                    for i in range(1, args.rounds + 1):
                        time.sleep(args.gap)
                        took, ahead = server_open(lab, url)
                        times["server"].append(took)
                        prepared["server"] += ahead
                        context = browser.new_context(viewport=VIEWPORT)
                        page = context.new_page()
                        for name in ("browser, empty cache", "browser, cached"):
                            time.sleep(args.gap)
                            took, views, ahead = browser_open(lab, page, url, reflections)
                            times[name].append(took)
                            widgets.append(views)
                            prepared[name] += ahead
                        context.close()  # leaving the page shuts its kernel down
                        print(f"round {i}: " + ", ".join(f"{k} {v[-1]:.2f} s" for k, v in times.items()), flush=True)
                finally:
                    browser.close()
        finally:
            lab.stop()
    result = {name: summary(v) for name, v in times.items()}
    server = statistics.median(times["server"])
    result["browser's own part, median s"] = {
        "empty cache": round(statistics.median(times["browser, empty cache"]) - server, 2),
        "cached": round(statistics.median(times["browser, cached"]) - server, 2)}
    result["machine"] = {"cpus": os.cpu_count(), "platform": platform.platform(),
                         "load average": [round(x, 2) for x in os.getloadavg()]}
    result["widget views on the page"] = max(widgets)
    result["module"], result["rounds"], result["gap_s"] = args.module, args.rounds, args.gap
    result["opens served prepared"] = prepared
    result["preparing"] = not args.no_prepare
    print(json.dumps(result, indent=2))
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
