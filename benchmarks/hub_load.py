"""The hub under load (issue 10, "Benchmark"): a cohort on the project's real JupyterHub.

    sudo .venv/bin/python benchmarks/hub_load.py --learners 30 --out hub-load.json
    sudo .venv/bin/python benchmarks/hub_load.py --find-largest --login-window 60 --duration 180

Needs root, like ``make hub``. It brings up exactly the hub ``make hub`` runs, the way
tests/e2e/test_hub.py does (tests/cohort_hub.py): ``scripts/hub-env.sh`` (the learner environment in
/opt/hcwh/learner-env, the course environment), ``scripts/hub-setup.sh``, a fresh state folder
under /tmp, a cohort of ``--learners`` imported by ``hcwh roster import`` as the course account
(OS accounts ``hcwhload-001``... through the account helper, one enrollment code each),
``jupyterhub -f hub/jupyterhub_config.py`` on free 127.0.0.1 ports with its proxy and services,
and module 01-authenticity released through the hub exchange. At the end (also on Ctrl-C,
SIGTERM or an error) it stops the learners' pages, the hub and its proxy, and removes the
accounts it made. For the whole run it holds the lock the hub tests take (/tmp/hcwh-hub.lock).

Arrival model. Each learner arrives at a time drawn uniformly at random over the login window
(``--login-window``, default 300 s: a cohort logging in over 5 minutes), seeded (``--seed``).
From arrival until the end (login window + ``--duration``, default 3600 s) it works, each
action after a think time drawn from an exponential distribution with mean ``--think`` (default
30 s), seeded per learner. Its work: open the module, save three answers, then open it again
(a page reload), three saves, and so on; after its first three saves it submits once.

Everything is driven as the learner's browser drives it: HTTP and websockets through the proxy,
with the learner's own cookies (one asyncio task and cookie jar per learner, all in this one
process), nothing through admin tokens:

- login: GET /hub/enroll, POST the enrollment code and a chosen password (typed twice).
- spawn time: from GET /hub/spawn/NAME (where the login lands) until the progress event stream
  of the "Getting your training page ready" page says ready (what that page's script waits for).
  A 429 ("too many people right now": ``concurrent_spawn_limit``) is counted, and the learner
  tries again 5 s later; the wait is part of the spawn time. Then GET /user/NAME/lab through the
  OAuth redirects (the lab page's HTML), and the Assignments tab's fetch of the module
  (POST /user/NAME/assignments/fetch), once.
- open: what a learner waits for between opening the notebook and being able to click an
  answer: the contents API GET of the notebook, POST /api/sessions (a kernel starts the first
  time; a reopened notebook gets its running kernel back, as in JupyterLab), the kernel's
  websocket, kernel_info, then "Run All": every code cell sent as an execute_request, until the
  last one's kernel reports idle (the widgets are built then).
- save: one click on an answer, as ipywidgets sends it: a comm_msg ``update`` of a radio
  button widget's ``index`` over the kernel's websocket (an option other than the current one),
  until the kernel reports idle for that message. In the kernel the click runs the widget's
  handler, which writes answers.json (curriculum/answers.py: write, then rename) and updates the
  "Saved: ..." status; the save counts only if that status update came back. This is the write
  a learner's click causes (a contents API PUT is what "save notebook" does, not a click).
- submit: the Assignments tab's POST /user/NAME/assignments/submit, once per learner.

``--page voila`` (issue 17): the learner works as the hub now lands them, on My modules and the module page.
Landing: GET /user/NAME/hcwh/ (My modules) instead of the lab page; fetch: its Start button (POST
/user/NAME/hcwh/fetch/MODULE, answered by a redirect to the module page); open: GET the module page
(/user/NAME/voila/render/...), read to its end (Voilà starts a kernel and runs every cell while it streams
the page), then connect that kernel and ask it for the widgets' state as the page's script does (ipywidgets'
``jupyter.widget.control`` comm, ``request_states``), until the state is back: the browser's own drawing of
the widgets is not counted. A reopen first shuts the previous page's kernel down (/voila/api/shutdown/ID,
as the page does when it is left). Saves are the same comm_msg updates, on the page's kernel; submit: My
modules' Submit button (POST /user/NAME/hcwh/submit/MODULE).

Grading while they work: once every learner has submitted (or half the duration is over), one
``hcwh collect`` and ``--grading-rounds`` (default 1) ``hcwh autograde 01-authenticity`` run as the
course account at ``nice -n 19`` (each a list of seconds in the results); their duration and CPU are
reported, and opens and saves that overlapped them separately.

Reported: spawn median and p95, open and save p95 (and median), login, submit; memory as PSS
(the sum of ``Pss`` in /proc/PID/smaps_rollup), per learner summing every process of that
learner's uid (their page and kernel), and for the hub (root processes in the hub's session),
the proxy (its account) and the course account (services, and autograde while it runs); the
largest values over samples every 20 s. CPU seconds of this load generator itself
(resource.getrusage), of the hub and of the proxy. Every error is counted, by kind.

A run passes when p95 open < 3 s, p95 save < 0.3 s, every learner got a page and no spawn
failed. ``--find-largest`` runs cohorts of ``--steps`` sizes in turn (a fresh hub each) and
stops at the first that fails, reporting the largest that passed.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import fcntl
import html
import json
import os
import platform
import pwd
import random
import re
import resource
import shutil
import signal
import sys
import tempfile
import time
import urllib.parse
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.cohort_hub import (COURSE_ID, COURSE_USER, HUB_LOCK, MODULE, Hub, as_course,  # noqa: E402
                              enrollment_codes, prepare_envs, remove_accounts, setup_hub)

PREFIX = "hcwhload-"  # the account helper removes these (and the tests' hcwhtest-)
COHORT = "load-cohort"
NOTEBOOK = f"{MODULE}/{MODULE}.ipynb"
OPEN_LIMIT, SAVE_LIMIT = 3.0, 0.3
SAVES_PER_OPEN = 3
SAMPLE_EVERY = 20.0
PATIENCE = 180.0  # seconds any one step may take before it counts as an error


# -- pure parts (tests/unit/test_hub_load.py) -------------------------------------------
PAGE_CONFIG = re.compile(r'<script id="jupyter-config-data" type="application/json">\s*(\{.*?\})\s*</script>', re.S)


def page_kernel_id(page: str) -> str | None:
    """The kernel a Voilà module page started (its page config's ``kernelId``), or None."""
    found = PAGE_CONFIG.search(page)
    return json.loads(found.group(1))["kernelId"] if found else None


def percentile(values: list[float], q: float) -> float | None:
    """The q-th percentile (0-100), linear between the two nearest ranks (numpy's default)."""
    if not values:
        return None
    xs = sorted(values)
    pos = (len(xs) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def arrivals(n: int, window: float, seed: int) -> list[float]:
    """Arrival times (s from the start) of ``n`` learners, each uniform over ``[0, window)``, sorted."""
    rng = random.Random(f"arrivals-{seed}")
    return sorted(rng.uniform(0, window) for _ in range(n))


def think_times(mean: float, seed: int, learner: int):
    """An endless seeded series of think times (s), exponential with ``mean``."""
    rng = random.Random(f"think-{seed}-{learner}")
    while True:
        yield rng.expovariate(1 / mean) if mean > 0 else 0.0


def pss_kib(smaps_rollup: str) -> int:
    """The ``Pss:`` figure (kB) of a /proc/PID/smaps_rollup text (0 if it has none)."""
    for line in smaps_rollup.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] == "Pss:":
            return int(parts[1])
    return 0


def passes(result: dict) -> bool:
    """Issue 10's goal for one run: p95 open < 3 s and p95 save < 300 ms, every learner on a page."""
    o, s = result["open_s"]["p95"], result["save_s"]["p95"]
    return (o is not None and s is not None and o < OPEN_LIMIT and s < SAVE_LIMIT
            and result["spawn_s"]["n"] == result["learners"] and not result["errors"].get("spawn"))


def summary(values: list[float]) -> dict:
    r = lambda x: None if x is None else round(x, 3)  # noqa: E731
    return {"n": len(values), "median": r(percentile(values, 50)), "p95": r(percentile(values, 95)),
            "max": r(max(values) if values else None)}


# -- the machine's processes ----------------------------------------------------------
def _proc_table() -> list[tuple[int, int, int, int, int]]:
    """(pid, uid, session id, Pss kB, CPU ticks) of every process readable now."""
    rows = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            uid = os.stat(f"/proc/{d}").st_uid
            stat = Path(f"/proc/{d}/stat").read_text()
            fields = stat[stat.rindex(")") + 2:].split()
            sid, ticks = int(fields[3]), int(fields[11]) + int(fields[12])
            pss = pss_kib(Path(f"/proc/{d}/smaps_rollup").read_text())
        except (OSError, ValueError, IndexError):
            continue  # gone meanwhile, or a kernel thread
        rows.append((int(d), uid, sid, pss, ticks))
    return rows


def memory_sample(learner_uids: dict[str, int], hub_sid: int, proxy_uid: int, course_uid: int) -> dict:
    rows = _proc_table()
    by_uid: dict[int, int] = {}
    for _, uid, _, pss, _ in rows:
        by_uid[uid] = by_uid.get(uid, 0) + pss
    return {"learners": {name: by_uid.get(uid, 0) for name, uid in learner_uids.items()},
            "hub": sum(pss for _, uid, sid, pss, _ in rows if uid == 0 and sid == hub_sid),
            "proxy": by_uid.get(proxy_uid, 0), "course": by_uid.get(course_uid, 0)}


def cpu_seconds(hub_sid: int, proxy_uid: int, learner_uids: set[int]) -> dict:
    """CPU seconds so far of the hub, the proxy, the learners' live processes, and the whole
    machine (busy: all but idle and iowait in /proc/stat, every core, every process)."""
    tick = os.sysconf("SC_CLK_TCK")
    rows = _proc_table()
    cpu = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]
    return {"hub": sum(t for _, uid, sid, _, t in rows if uid == 0 and sid == hub_sid) / tick,
            "proxy": sum(t for _, uid, _, _, t in rows if uid == proxy_uid) / tick,
            "learners": sum(t for _, uid, _, _, t in rows if uid in learner_uids) / tick,
            "machine_busy": (sum(cpu) - cpu[3] - cpu[4]) / tick}


def machine() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), "unknown")
    mem = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
               if line.startswith("MemTotal"))
    try:
        debian = Path("/etc/debian_version").read_text().strip()
    except OSError:
        debian = "none"
    from importlib.metadata import version
    return {"cores": os.cpu_count(), "cpu": cpu, "memory_gib": round(mem / 2**20, 1), "debian": debian,
            "kernel": platform.release(), "python": platform.python_version(), "jupyterhub": version("jupyterhub"),
            "date": dt.date.today().isoformat()}


# -- one learner, as a browser ---------------------------------------------------------
def _idle(m: dict) -> bool:
    return m.get("msg_type") == "status" and m["content"].get("execution_state") == "idle"


class Errors(dict):
    def add(self, kind: str, what: str, samples: list) -> None:
        self[kind] = self.get(kind, 0) + 1
        if len(samples) < 30:
            samples.append(f"{kind}: {what}"[:300])


class Learner:
    def __init__(self, run: "Run", index: int, name: str, code: str):
        import httpx

        self.run, self.index, self.name, self.code = run, index, name, code
        self.password = f"load learner {index:03d} passphrase"
        self.http = httpx.AsyncClient(base_url=run.hub.url, timeout=PATIENCE, follow_redirects=False)
        self.ws = None
        self.session = uuid.uuid4().hex
        self.radios: dict[str, tuple[int, int | None]] = {}  # comm id -> (options, current index)
        self.page_kernel: str | None = None  # --page voila: the open page's kernel
        self.thinks = think_times(run.args.think, run.args.seed, index)

    # The user server's and the hub's _xsrf cookies share a name; each has its own path.
    def _xsrf(self, prefix: str) -> str:
        for c in self.http.cookies.jar:
            if c.name == "_xsrf" and prefix.startswith((c.path or "/").rstrip("/")):
                return urllib.parse.unquote(c.value)
        raise RuntimeError(f"no _xsrf cookie for {prefix}")

    def _cookie_header(self, path: str) -> str:
        return "; ".join(f"{c.name}={c.value}" for c in self.http.cookies.jar if path.startswith((c.path or "/").rstrip("/")))

    async def login(self) -> None:
        r = await self.http.get("/hub/enroll")
        xsrf = re.search(r'name="_xsrf" value="([^"]+)"', r.text)
        if r.status_code != 200 or not xsrf:
            raise RuntimeError(f"enroll page: HTTP {r.status_code}")
        r = await self.http.post("/hub/enroll", data={"_xsrf": html.unescape(xsrf.group(1)), "username": self.name,
                                                      "code": self.code, "password": self.password,
                                                      "password2": self.password})
        if r.status_code != 302 or f"/hub/spawn/{self.name}" not in r.headers.get("location", ""):
            raise RuntimeError(f"enrollment: HTTP {r.status_code} to {r.headers.get('location')}")

    async def spawn(self) -> int:
        """Until the page is ready; returns how many times the hub said 'too many people'."""
        busy = 0
        while True:
            r = await self.http.get(f"/hub/spawn/{self.name}")
            if r.status_code == 429:
                busy += 1
                await asyncio.sleep(5)
                continue
            where = r.headers.get("location", "")
            if r.status_code != 302:
                raise RuntimeError(f"spawn: HTTP {r.status_code}")
            if f"/user/{self.name}/" in where and "/spawn-pending/" not in where:
                return busy  # ready within the hub's own short wait
            page = await self.http.get(where)
            if page.status_code == 302:  # ready meanwhile
                return busy
            found = re.search(r'new EventSource\("([^"]+)"\)', page.text)
            if page.status_code != 200 or not found:
                raise RuntimeError(f"spawn-pending page: HTTP {page.status_code}")
            async with self.http.stream("GET", html.unescape(found.group(1))) as events:
                async for line in events.aiter_lines():
                    if not line.startswith("data:"):
                        continue
                    evt = json.loads(line[5:])
                    if evt.get("failed"):
                        raise RuntimeError(f"spawn failed: {evt.get('message', '')[:200]}")
                    if evt.get("ready"):
                        return busy
            raise RuntimeError("spawn: the progress stream ended without 'ready'")

    async def lab_page(self) -> None:
        r = await self.http.get(f"/user/{self.name}/lab", follow_redirects=True)
        if r.status_code != 200 or "jupyter-config-data" not in r.text:
            raise RuntimeError(f"lab page: HTTP {r.status_code} at {r.url}")

    async def my_modules(self) -> None:
        """--page voila: the learner's landing, My modules (through the OAuth redirects)."""
        r = await self.http.get(f"/user/{self.name}/hcwh/", follow_redirects=True)
        if r.status_code != 200 or "My modules" not in r.text:
            raise RuntimeError(f"My modules: HTTP {r.status_code} at {r.url}")

    async def my_pages(self, action: str) -> None:
        """--page voila: My modules' Start (fetch, then a redirect to the module page) or Submit buttons."""
        r = await self.http.post(f"/user/{self.name}/hcwh/{action}/{MODULE}",
                                 data={"_xsrf": self._xsrf(f"/user/{self.name}/")})
        ok = (r.status_code == 302 and "/voila/render/" in r.headers.get("location", "")) if action == "fetch" else (
            r.status_code == 200 and "is submitted" in r.text)
        if not ok:
            raise RuntimeError(f"My modules {action}: HTTP {r.status_code} {r.text[:200]}")

    async def assignments(self, action: str) -> None:
        r = await self.http.post(f"/user/{self.name}/assignments/{action}",
                                 json={"course_id": COURSE_ID, "assignment_id": MODULE},
                                 headers={"X-XSRFToken": self._xsrf(f"/user/{self.name}/")})
        if r.status_code != 200 or not r.json().get("success"):
            raise RuntimeError(f"{action}: HTTP {r.status_code} {r.text[:200]}")

    def _msg(self, msg_type: str, content: dict) -> dict:
        return {"header": {"msg_id": uuid.uuid4().hex, "msg_type": msg_type, "username": self.name,
                           "session": self.session, "date": dt.datetime.now(dt.timezone.utc).isoformat(),
                           "version": "5.3"},
                "parent_header": {}, "metadata": {}, "content": content, "channel": "shell", "buffers": []}

    async def _until(self, parents: set[str], done, timeout: float = PATIENCE) -> list[dict]:
        """Read the websocket, keeping the messages that answer one of ``parents``, until ``done(kept)``.
        Answer buttons the kernel opens meanwhile are noted."""
        got: list[dict] = []
        deadline = time.monotonic() + timeout
        while True:
            raw = await asyncio.wait_for(self.ws.read_message(), max(0.1, deadline - time.monotonic()))
            if raw is None:
                raise RuntimeError("the kernel's websocket closed")
            if isinstance(raw, bytes):
                continue  # binary frames carry widget buffers; radio buttons have none
            m = json.loads(raw)
            if m.get("msg_type") == "comm_open":
                state = m["content"].get("data", {}).get("state", {})
                if state.get("_model_name") == "RadioButtonsModel":
                    self.radios[m["content"]["comm_id"]] = (len(state.get("_options_labels", [])), state.get("index"))
            if m.get("parent_header", {}).get("msg_id") in parents:
                got.append(m)
                if done(got):
                    return got

    async def _connect(self, kernel: str) -> None:
        """The kernel's websocket, as a new client session, once the kernel answers kernel_info."""
        from tornado.httpclient import HTTPRequest
        from tornado.websocket import websocket_connect

        if self.ws is not None:
            self.ws.close()
        self.session = uuid.uuid4().hex  # a reloaded page is a new client session
        path = f"/user/{self.name}/api/kernels/{kernel}/channels"
        url = self.run.hub.url.replace("http://", "ws://") + f"{path}?session_id={self.session}"
        self.ws = await websocket_connect(HTTPRequest(url, headers={"Cookie": self._cookie_header(path)},
                                                      request_timeout=PATIENCE), max_message_size=64 * 2**20)
        for attempt in range(int(PATIENCE // 5)):  # JupyterLab repeats kernel_info until the kernel answers
            info = self._msg("kernel_info_request", {})
            self.ws.write_message(json.dumps(info))
            try:
                await self._until({info["header"]["msg_id"]}, lambda got: got[-1]["msg_type"] == "kernel_info_reply",
                                  timeout=5)
                return
            except asyncio.TimeoutError:
                continue
        raise RuntimeError("no kernel_info_reply")

    async def open_page(self) -> None:
        """--page voila: the module page as a browser opens it. GET the page, which Voilà streams while a
        new kernel runs every cell; then, as the page's script does, connect that kernel and ask it for the
        widgets (ipywidgets' ``jupyter.widget.control`` comm, ``request_states``): ready once they are back.
        A reopen first shuts the old page's kernel down, as Voilà's page does when it is left."""
        xsrf = {"X-XSRFToken": self._xsrf(f"/user/{self.name}/")}
        if self.page_kernel:
            await self.http.post(f"/user/{self.name}/voila/api/shutdown/{self.page_kernel}", headers=xsrf)
            self.page_kernel = None
        r = await self.http.get(f"/user/{self.name}/voila/render/{NOTEBOOK}")
        kernel = page_kernel_id(r.text)
        if r.status_code != 200 or not kernel:
            raise RuntimeError(f"module page: HTTP {r.status_code} {r.text[-200:]}")
        self.page_kernel = kernel
        await self._connect(self.page_kernel)
        comm = uuid.uuid4().hex
        opened = self._msg("comm_open", {"comm_id": comm, "target_name": "jupyter.widget.control", "data": {}})
        opened["metadata"] = {"version": "1.0.0"}  # ipywidgets' control protocol, as the page's widget manager sends it
        self.ws.write_message(json.dumps(opened))
        ask = self._msg("comm_msg", {"comm_id": comm, "data": {"method": "request_states"}})
        self.ws.write_message(json.dumps(ask))
        got = await self._until({ask["header"]["msg_id"]}, lambda got: any(m["msg_type"] == "comm_msg" for m in got))
        states = next(m for m in got if m["msg_type"] == "comm_msg")["content"]["data"].get("states", {})
        self.radios = {model: (len(w["state"].get("_options_labels", [])), w["state"].get("index"))
                       for model, w in states.items() if w.get("model_name") == "RadioButtonsModel"}
        if not self.radios:
            raise RuntimeError("the module page's kernel holds no answer buttons")

    async def open_module(self) -> None:
        base = f"/user/{self.name}/api"
        r = await self.http.get(f"{base}/contents/{NOTEBOOK}", params={"type": "notebook", "content": "1"})
        if r.status_code != 200:
            raise RuntimeError(f"contents GET: HTTP {r.status_code}")
        cells = ["".join(c["source"]) if isinstance(c["source"], list) else c["source"]
                 for c in r.json()["content"]["cells"] if c["cell_type"] == "code"]
        r = await self.http.post(f"{base}/sessions", headers={"X-XSRFToken": self._xsrf(f"/user/{self.name}/")},
                                 json={"path": NOTEBOOK, "type": "notebook", "name": NOTEBOOK.split("/")[-1],
                                       "kernel": {"name": "python3"}})
        if r.status_code not in (200, 201):
            raise RuntimeError(f"sessions POST: HTTP {r.status_code} {r.text[:200]}")
        await self._connect(r.json()["kernel"]["id"])
        self.radios = {}
        ids = []
        for code in cells:  # Run All: every cell queued at once, as JupyterLab does
            m = self._msg("execute_request", {"code": code, "silent": False, "store_history": True,
                                              "user_expressions": {}, "allow_stdin": False, "stop_on_error": True})
            ids.append(m["header"]["msg_id"])
            self.ws.write_message(json.dumps(m))
        last = ids[-1]

        def finished(got: list[dict]) -> bool:  # the last cell's reply and its idle (an aborted cell: its reply)
            mine = [m for m in got if m["parent_header"]["msg_id"] == last]
            reply = [m for m in mine if m["msg_type"] == "execute_reply"]
            return bool(reply) and (reply[0]["content"].get("status") != "ok" or any(_idle(m) for m in mine))

        replies = await self._until(set(ids), finished)
        bad = [m for m in replies if m["msg_type"] == "execute_reply" and m["content"].get("status") != "ok"]
        if bad:
            raise RuntimeError(f"a cell failed: {bad[0]['content'].get('ename')} {bad[0]['content'].get('evalue', '')[:100]}")
        if not self.radios:
            raise RuntimeError("Run All built no answer buttons")

    async def save(self, rng: random.Random) -> None:
        comm = rng.choice(sorted(self.radios))
        n, current = self.radios[comm]
        index = rng.choice([i for i in range(n) if i != current])
        m = self._msg("comm_msg", {"comm_id": comm, "data": {"method": "update", "state": {"index": index},
                                                             "buffer_paths": []}})
        self.ws.write_message(json.dumps(m))
        replies = await self._until({m["header"]["msg_id"]}, lambda got: _idle(got[-1]))
        if not any("Saved" in json.dumps(r["content"].get("data", {}).get("state", {})) for r in replies
                   if r["msg_type"] == "comm_msg"):
            raise RuntimeError("no 'Saved' status came back")
        self.radios[comm] = (n, index)

    async def close(self) -> None:
        if self.ws is not None:
            self.ws.close()
        await self.http.aclose()


# -- one run ---------------------------------------------------------------------------
class Run:
    def __init__(self, args, hub: Hub, codes: dict[str, str], names: list[str]):
        self.args, self.hub, self.codes, self.names = args, hub, codes, names
        self.samples: dict[str, list[tuple[float, float]]] = {k: [] for k in
                                                              ("login", "spawn", "lab", "fetch", "open", "save", "submit")}
        self.errors = Errors()
        self.error_samples: list[str] = []
        self.busy = 0
        self.submitted: set[str] = set()
        self.grading: dict = {}
        self.memory: list[dict] = []

    def now(self) -> float:
        return time.monotonic() - self.t0

    async def timed(self, kind: str, coro):
        start = self.now()
        try:
            out = await coro
        except Exception as exc:  # noqa: BLE001 (every failure is counted, by kind, never hidden)
            self.errors.add(kind, f"{type(exc).__name__}: {exc}", self.error_samples)
            return False, None
        self.samples[kind].append((start, self.now() - start))
        return True, out

    async def think(self, learner: Learner) -> bool:
        wait = next(learner.thinks)
        left = self.end - self.now()
        await asyncio.sleep(max(0.0, min(wait, left)))
        return self.now() < self.end

    async def learner(self, i: int, at: float) -> None:
        name = self.names[i]
        lr = Learner(self, i + 1, name, self.codes[name])
        rng = random.Random(f"clicks-{self.args.seed}-{i}")
        try:
            await asyncio.sleep(max(0.0, at - self.now()))
            ok, _ = await self.timed("login", lr.login())
            if not ok:
                return
            ok, busy = await self.timed("spawn", lr.spawn())
            self.busy += busy or 0
            if not ok:
                return
            voila = self.args.page == "voila"
            landing, fetch = (lr.my_modules(), lr.my_pages("fetch")) if voila else (lr.lab_page(), lr.assignments("fetch"))
            if not (await self.timed("lab", landing))[0] or not (await self.timed("fetch", fetch))[0]:
                return
            saves = 0
            while await self.think(lr):
                if saves % SAVES_PER_OPEN == 0 or not lr.radios:
                    ok, _ = await self.timed("open", lr.open_page() if voila else lr.open_module())
                    if not ok:
                        continue
                    if not await self.think(lr):
                        break
                ok, _ = await self.timed("save", lr.save(rng))
                saves += 1
                if not ok:
                    lr.radios = {}  # reload the page: open again
                if ok and saves == SAVES_PER_OPEN and name not in self.submitted:
                    if not await self.think(lr):
                        break
                    if (await self.timed("submit", lr.my_pages("submit") if voila else lr.assignments("submit")))[0]:
                        self.submitted.add(name)
        finally:
            await lr.close()

    async def grade(self) -> None:
        """One cohort's collect and autograde, as the course account at nice 19, while learners work."""
        while self.now() < self.args.login_window or (
                len(self.submitted) < len(self.names) and self.now() < self.args.login_window + self.args.duration / 2):
            await asyncio.sleep(1)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = self.now()
        self.grading = {"start_s": round(start, 1), "submitted": len(self.submitted)}
        for step in ("collect", *["autograde"] * self.args.grading_rounds):
            t = time.monotonic()
            done = await asyncio.to_thread(as_course, [step, MODULE], self.hub.state, False,
                                           self.hub.exchange_url, 19)
            self.grading.setdefault(f"{step}_s", []).append(round(time.monotonic() - t, 1))
            last = (done.stdout.strip().splitlines() or [""])[-1]
            self.grading[f"{step}_said"] = last[:200]
            if done.returncode != 0:
                self.errors.add("grading", f"hcwh {step} exited {done.returncode}: {done.stderr.strip()[-200:]}",
                                self.error_samples)
                break
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.grading["end_s"] = round(self.now(), 1)
        self.grading["cpu_s"] = round(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime, 1)

    async def sample_memory(self, ids: dict) -> None:
        while True:
            self.memory.append(await asyncio.to_thread(memory_sample, **ids))
            await asyncio.sleep(SAMPLE_EVERY)

    async def drive(self) -> dict:
        args = self.args
        ids = {"learner_uids": {n: pwd.getpwnam(n).pw_uid for n in self.names}, "hub_sid": os.getsid(self.hub.proc.pid),
               "proxy_uid": pwd.getpwnam("hcwh-proxy").pw_uid, "course_uid": pwd.getpwnam(COURSE_USER).pw_uid}
        self.t0 = time.monotonic()
        self.end = args.login_window + args.duration
        cpu0 = resource.getrusage(resource.RUSAGE_SELF)
        cpu_ids = (ids["hub_sid"], ids["proxy_uid"], set(ids["learner_uids"].values()))
        hub_cpu0 = cpu_seconds(*cpu_ids)
        sampler = asyncio.create_task(self.sample_memory(ids))
        grading = asyncio.create_task(self.grade())
        at = arrivals(len(self.names), args.login_window, args.seed)
        try:
            await asyncio.gather(*(self.learner(i, t) for i, t in enumerate(at)))
            self.memory.append(await asyncio.to_thread(memory_sample, **ids))  # the last, at the end
            await asyncio.wait_for(grading, timeout=900)
        finally:
            sampler.cancel()
            grading.cancel()
        cpu1 = resource.getrusage(resource.RUSAGE_SELF)
        wall = self.now()
        hub_cpu1 = cpu_seconds(*cpu_ids)
        return self.result(wall, cpu1.ru_utime + cpu1.ru_stime - cpu0.ru_utime - cpu0.ru_stime,
                           {k: round(hub_cpu1[k] - hub_cpu0[k], 1) for k in hub_cpu1})

    def result(self, wall: float, gen_cpu: float, hub_cpu: dict) -> dict:
        per_learner = [m for s in self.memory for m in s["learners"].values()]
        last = self.memory[-1] if self.memory else {"learners": {}}
        g0, g1 = self.grading.get("start_s"), self.grading.get("end_s")
        during = lambda kind: [d for s, d in self.samples[kind] if g0 is not None and g1 is not None  # noqa: E731
                               and s < g1 and s + d > g0]
        out = {"learners": len(self.names), "wall_s": round(wall, 1),
               **{f"{k}_s": summary([d for _, d in v]) for k, v in self.samples.items()},
               "too_many_people_retries": self.busy,
               "during_grading": {"open_s": summary(during("open")), "save_s": summary(during("save"))},
               "after_login_window": {k: summary([d for t, d in self.samples[k] if t >= self.args.login_window])
                                      for k in ("open", "save")},
               "grading": self.grading,
               "pss_mib": {
                   "per_learner_at_end_mean": round(sum(last["learners"].values()) / max(1, len(last["learners"])) / 1024, 1),
                   "per_learner_max": round(max(per_learner, default=0) / 1024, 1),
                   "learners_total_max": round(max((sum(s["learners"].values()) for s in self.memory), default=0) / 1024, 1),
                   "hub_max": round(max((s["hub"] for s in self.memory), default=0) / 1024, 1),
                   "proxy_max": round(max((s["proxy"] for s in self.memory), default=0) / 1024, 1),
                   "course_account_max": round(max((s["course"] for s in self.memory), default=0) / 1024, 1)},
               "cpu_s": {"load_generator": round(gen_cpu, 1),
                         "load_generator_share_of_machine": round(gen_cpu / (wall * (os.cpu_count() or 1)), 3),
                         **hub_cpu, "machine_capacity": round(wall * (os.cpu_count() or 1), 1)},
               "errors": dict(self.errors), "error_samples": self.error_samples,
               "samples": {k: [[round(t, 2), round(d, 3)] for t, d in v] for k, v in self.samples.items()}}
        out["passed"] = passes(out)
        return out


def run_once(args, n: int) -> dict:
    """A fresh hub with a cohort of ``n``, driven, then everything stopped and removed."""
    prepare_envs()
    remove_accounts(PREFIX)  # left by a run killed outright
    root = Path(tempfile.mkdtemp(prefix="hcwh-hubload-", dir="/tmp"))
    os.chmod(root, 0o711)
    state = root / "state"
    hub = Hub(state)
    names = [f"{PREFIX}{i:03d}" for i in range(1, n + 1)]
    hub.learners = names
    # the benchmark looks for the largest cohort: the hub's own cap on running pages must not decide it
    hub.extra_env["HCWH_ACTIVE_SERVERS"] = str(max(n, 40))
    hub.extra_env["HCWH_PREPARE_PAGES"] = "0" if args.no_prepare else "1"
    print(f"[{n} learners] setting up the hub in {root}", flush=True)
    try:
        setup_hub(state)
        (root / "in").mkdir(mode=0o755)
        cohorts, roster = root / "in" / "cohorts.csv", root / "in" / "roster.csv"
        cohorts.write_text(f"cohort,module,due_date\n{COHORT},{MODULE},2030-01-31\n")
        roster.write_text("employee_id,first_name,last_name,email,department,hire_date,cohort\n" + "".join(
            f"{name},Load,Learner,{name}@example.org,Parks,2026-11-02,{COHORT}\n" for name in names))
        for f in (cohorts, roster):
            os.chmod(f, 0o644)
        as_course(["cohorts", "import", str(cohorts)], state)
        as_course(["roster", "import", str(roster)], state)
        codes = enrollment_codes(state)
        missing = [x for x in names if x not in codes]
        if missing:
            raise RuntimeError(f"no enrollment code for {missing[:3]}")
        hub.start()
        as_course(["release", MODULE], state, exchange_url=hub.exchange_url)
        print(f"[{n} learners] hub up at {hub.url}; login window {args.login_window:g} s, then "
              f"{args.duration:g} s of work", flush=True)
        run = Run(args, hub, codes, names)
        result = asyncio.run(run.drive())
        print(f"[{n} learners] " + json.dumps({k: result[k] for k in ("spawn_s", "open_s", "save_s", "errors",
                                                                        "passed")}), flush=True)
        return result
    finally:
        print(f"[{n} learners] stopping the pages, the hub and the proxy; removing the accounts", flush=True)
        hub.stop(wait_for_pages=60)
        remove_accounts(PREFIX)
        if hub.log_path.exists():
            (ROOT / "test-artifacts").mkdir(exist_ok=True)
            shutil.copy(hub.log_path, ROOT / "test-artifacts" / f"hub-load-{n}.log")
        shutil.rmtree(root, ignore_errors=True)


def _interrupted(*_) -> None:
    raise KeyboardInterrupt  # SIGTERM: clean up as on Ctrl-C


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--learners", type=int, default=30, help="cohort size (default 30)")
    p.add_argument("--login-window", type=float, default=300, help="seconds over which the cohort logs in (300)")
    p.add_argument("--duration", type=float, default=3600, help="seconds of work after the login window (3600)")
    p.add_argument("--think", type=float, default=30, help="mean think time between actions, seconds (30)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--grading-rounds", type=int, default=1,
                   help="autograde the collected submissions this many times over (1): more opens overlap grading")
    p.add_argument("--no-prepare", action="store_true",
                   help="learners' servers keep no module page prepared ahead (HCWH_PREPARE_PAGES=0)")
    p.add_argument("--page", choices=("lab", "voila"), default="lab",
                   help="how a learner opens the module: the notebook in JupyterLab (Run All), or the module page "
                        "(Voilà) from My modules, Start and Submit there (default lab)")
    p.add_argument("--out", type=Path, help="write the results here as JSON")
    p.add_argument("--find-largest", action="store_true",
                   help="run cohorts of --steps sizes until one fails; report the largest that passed")
    p.add_argument("--steps", default="5,10,20,30,40,50,60,80,100", help="cohort sizes for --find-largest")
    args = p.parse_args(argv)
    if os.geteuid() != 0:
        p.error("run as root: the hub starts each learner's page as their own OS account (like `make hub`)")
    signal.signal(signal.SIGTERM, _interrupted)
    sizes = [int(x) for x in args.steps.split(",")] if args.find_largest else [args.learners]
    report = {"machine": machine(), "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
              "runs": []}
    with HUB_LOCK.open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"waiting for {HUB_LOCK} (the hub tests or another benchmark hold it)", flush=True)
            fcntl.flock(lock, fcntl.LOCK_EX)
        for n in sizes:
            result = run_once(args, n)
            report["runs"].append(result)
            if args.out:
                args.out.write_text(json.dumps(report, indent=1) + "\n")
            if not result["passed"]:
                break
    if args.find_largest:
        passed = [r["learners"] for r in report["runs"] if r["passed"]]
        report["largest_passing"] = max(passed) if passed else None
        print(f"largest cohort passing (p95 open < {OPEN_LIMIT} s, p95 save < {SAVE_LIMIT * 1000:.0f} ms): "
              f"{report['largest_passing']}" + ("" if not report["runs"][-1]["passed"] else
                                               " (every size tried passed; try larger --steps)"))
    if args.out:
        args.out.write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
