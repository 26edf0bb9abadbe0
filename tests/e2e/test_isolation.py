"""Issue 13, points 2, 4 and 5: learners cannot reach each other, the course or any secret, tried
FROM LEARNER A'S KERNEL, on a hub served over TLS.

One hub for the module: the project's own hub (``hub/jupyterhub_config.py``, tests/cohort_hub.py)
with a state folder under /srv (where a city's would be, so that only modes, not the private
/tmp, keep A out of it), two learners imported by ``hcwh`` as the course account (their OS
accounts through the account helper), enrolled over HTTP, their servers spawned through the hub's
API. Then a real kernel in A's server, reached through the proxy with A's token (REST + the kernel
websocket), runs one probe that tries everything below and reports each outcome with its errno;
the tests assert them one by one. A PostgreSQL server (tests/postgres_server.py) listens on
127.0.0.1, and a listener on the machine's own non-loopback address: root's process reaches both
(so a refusal is the firewall's, not an absent server). A must still read and write its own files.

Issue 13, point 3, on the same hub: each learner's page in its own cgroup (memory, processes, CPU),
so a memory hog and a fork bomb from A's kernel are stopped by A's caps (the cgroup's own counters
say so; each has its own backstop, so a broken cap cannot take the machine down) while B's kernel
runs code and the hub answers; the idle culler (its own account, its token's role) stops B's page
once nothing keeps it active, with a tiny idle time set for this hub, while A's page, kept active by
the "I need more time" request its idle warning sends (autograde/idlenotice.py), stays.

The hub's public port serves HTTPS with a certificate from a CA the test makes (as the city CA's
would be: ``HCWH_TLS_CERT``/``HCWH_TLS_KEY``, the key the proxy account's, 0600): a client trusting
the CA gets the login page, HSTS and Secure cookies; a plain-HTTP client and one that does not trust
the CA fail. Every secret of ``autograde/hub/credentials.py`` (and the managed services' tokens,
read by root from their processes) is tried by path from A's kernel and looked for in A's kernel's
and A's server's environment.

What this host cannot enforce (no mount namespaces, no iptables) is a visible skip, never a pass:
the hub is then started with that switch off and the checks that rest on it skip with the reason.

Needs root. Holds the machine-wide hub lock. About 1 minute here (see the figures it prints).
"""

from __future__ import annotations

import asyncio
import errno
import http.client
import http.cookiejar
import json
import os
import pwd
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import psycopg2
import pytest

from autograde.hub import credentials, isolation
from tests.cohort_hub import (MODULE, Hub, as_course, enrollment_codes, free_ports, make_test_ca,
                              prepare_envs, remove_accounts, setup_hub)
from tests.postgres_server import postgres_server

TEST_PREFIX = "hcwhtest-"
ANA, BEN = "hcwhtest-iso-ana", "hcwhtest-iso-ben"
PASSWORD = {ANA: "ana keeps to her own", BEN: "ben keeps to his own"}
B_TMP_FILE = "/tmp/hcwh-isolation-ben.txt"
# The limits and idle figures this hub runs with (autograde/limits.py LearnerLimits, from the
# environment): a small memory cap keeps the hog light; the idle culler stops a page idle 30 s.
LIMITS_ENV = {"HCWH_LEARNER_MEMORY_MB": "512", "HCWH_LEARNER_PROCESSES": "256", "HCWH_LEARNER_CPU_WEIGHT": "50",
              "HCWH_LEARNER_CPUS": "1", "HCWH_IDLE_TIMEOUT": "30", "HCWH_IDLE_CULL_EVERY": "5",
              "HCWH_IDLE_WARN_BEFORE": "10"}
KEEP_ALIVE_EVERY = 3  # s between "I need more time" requests for the pages kept active (idle timeout: 30 s)
FIGURES: dict[str, object] = {}
# Files in the state folder meant for every learner's server to read: configuration, no secret
# (each is also checked to hold none of the secrets' values).
PUBLIC = {"learner-config/nbgrader_config.py", "learner-config/jupyter_server_config.json",
          "learner-config/jupyterlab/jupyter_server_config.json",  # read by the servers of lab learners
          "formgrader-config/jupyter_server_config.json"}


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *a, **k):
        return None


def _enroll(hub: Hub, name: str, code: str) -> tuple[http.cookiejar.CookieJar, http.client.HTTPMessage]:
    """First use over HTTPS, as the enroll form posts it: the hub user exists, in the group learners.
    Returns the cookies the hub set and the enroll page's response headers."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), _NoRedirect,
                                         urllib.request.HTTPSHandler(context=hub.ssl_context))
    with opener.open(f"{hub.url}/hub/enroll", timeout=30) as r:
        r.read()
        headers = r.headers  # case-insensitive (the proxy sends header names in lower case)
    xsrf = next(c.value for c in jar if c.name == "_xsrf")
    form = urllib.parse.urlencode({"_xsrf": xsrf, "username": name, "code": code, "password": PASSWORD[name],
                                   "password2": PASSWORD[name]}).encode()
    try:
        opener.open(f"{hub.url}/hub/enroll", data=form, timeout=60)
        raise AssertionError(f"enrolling {name} did not redirect")
    except urllib.error.HTTPError as e:
        assert e.code == 302, f"enrolling {name}: HTTP {e.code}"
    return jar, headers


def _spawn(hub: Hub, name: str) -> str:
    status, _ = hub.api("POST", f"/users/{name}/server")
    assert status in (201, 202)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        _, user = hub.api("GET", f"/users/{name}")
        server = (user.get("servers") or {}).get("")
        if server and server.get("ready"):
            break
        time.sleep(0.5)
    else:
        raise AssertionError(f"{name}'s server did not become ready:\n{hub.log_tail()}")
    _, tok = hub.api("POST", f"/users/{name}/tokens", {"note": "isolation test", "expires_in": 3600})
    return tok["token"]


def _user_api(hub: Hub, name: str, token: str, method: str, path: str, body: dict | None = None):
    return hub.request(f"/user/{name}/api{path}", token, method, body)


def run_in_kernel(hub: Hub, name: str, token: str, code: str, timeout: float = 120) -> str:
    """Start a kernel in ``name``'s server (REST, through the proxy), run ``code`` over the kernel
    websocket, return its stdout; the kernel is shut down afterwards."""
    from tornado.httpclient import HTTPRequest
    from tornado.websocket import websocket_connect

    status, kernel = _user_api(hub, name, token, "POST", "/kernels", {"name": "python3"})
    assert status == 201, f"starting a kernel in {name}'s server: HTTP {status}"
    ws_url = f"{'wss' if hub.ssl_context else 'ws'}://127.0.0.1:{hub.port}/user/{name}/api/kernels/{kernel['id']}/channels"

    async def go() -> str:
        ws = await websocket_connect(HTTPRequest(ws_url, headers={"Authorization": f"token {token}"},
                                                 request_timeout=60, connect_timeout=60, ssl_options=hub.ssl_context))
        msg_id, session = uuid.uuid4().hex, uuid.uuid4().hex
        ws.write_message(json.dumps({
            "header": {"msg_id": msg_id, "username": name, "session": session, "msg_type": "execute_request",
                       "version": "5.3", "date": "2026-12-02T00:00:00Z"},
            "parent_header": {}, "metadata": {}, "channel": "shell",
            "content": {"code": code, "silent": False, "store_history": False, "user_expressions": {},
                        "allow_stdin": False, "stop_on_error": True}}))
        out, errors = [], []
        while True:
            raw = await asyncio.wait_for(ws.read_message(), timeout)
            assert raw is not None, f"{name}'s kernel websocket closed"
            msg = json.loads(raw)
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind = msg["msg_type"]
            if kind == "stream":
                (out if msg["content"]["name"] == "stdout" else errors).append(msg["content"]["text"])
            elif kind == "error":
                errors.append("\n".join(msg["content"]["traceback"]))
            elif kind == "status" and msg["content"]["execution_state"] == "idle":
                ws.close()
                assert not errors, f"the code in {name}'s kernel failed:\n{''.join(errors)}"
                return "".join(out)

    try:
        return asyncio.run(go())
    finally:
        _user_api(hub, name, token, "DELETE", f"/kernels/{kernel['id']}")


def _host_address() -> str | None:
    """The machine's own first non-loopback IPv4 address (no packet is sent)."""
    done = subprocess.run(["ip", "-4", "-o", "addr", "show", "scope", "global"], capture_output=True, text=True)
    for line in done.stdout.splitlines():
        return line.split()[3].split("/")[0]
    return None


class _Listener:
    """A TCP server (root's) accepting and closing connections on ``host``: something really listens."""

    def __init__(self, host: str):
        self.sock = socket.socket()
        self.sock.bind((host, 0))
        self.sock.listen(16)
        self.address = self.sock.getsockname()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
                conn.close()
            except OSError:
                return

    def close(self):
        self.sock.close()


def _can_namespace() -> str | None:
    try:
        isolation.check_private_view([], "16m")
        return None
    except isolation.IsolationError as e:
        return str(e)


def _can_firewall(port: int) -> str | None:
    try:
        isolation.apply_firewall([port])
        return None
    except isolation.IsolationError as e:
        return str(e)
    finally:
        isolation.remove_firewall()


def _can_limit() -> str | None:
    from autograde.limits import LearnerLimits

    try:
        isolation.check_limits(LearnerLimits.from_env(LIMITS_ENV))
        return None
    except isolation.IsolationError as e:
        return str(e)


CGROUP_CONTROLLERS = ("memory", "pids", "cpu")


def _cgroup_dirs(pid: int) -> dict[str, Path]:
    """controller -> the cgroup folder process ``pid`` is in (cgroup v1, read from /proc, not from the code under test)."""
    mounts = {}
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        left, _, right = line.partition(" - ")
        if right.split()[0] == "cgroup":
            for opt in right.split()[2].split(","):
                mounts.setdefault(opt, Path(left.split()[4]))
    out = {}
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        _, names, path = line.split(":", 2)
        for name in names.split(","):
            if name in CGROUP_CONTROLLERS and name in mounts:
                out[name] = mounts[name] / path.lstrip("/")
    return out


def _server_pid(name: str) -> int:
    """The pid of ``name``'s jupyterhub-singleuser (their page's first process)."""
    found = [pid for user, pid, _, args in _ps() if user == name and "jupyterhub-singleuser" in args]
    assert len(found) == 1, f"{name} should have one page process, found {found}"
    return found[0]


def _counter(path: Path, key: str) -> int:
    """A ``key value`` line of a cgroup file (memory.oom_control, pids.events); 0 when absent."""
    for line in path.read_text().splitlines():
        k, _, v = line.partition(" ")
        if k == key:
            return int(v)
    return 0


def _pids_of(user: str) -> list[int]:
    uid = pwd.getpwnam(user).pw_uid
    return [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit() and _owner(p) == uid]


def _owner(p: Path) -> int | None:
    try:
        return p.stat().st_uid
    except OSError:
        return None


def _ps() -> list[tuple[str, int, int, str]]:
    done = subprocess.run(["ps", "-ww", "-eo", "user:20=,pid=,ppid=,args="], capture_output=True, text=True, check=True)
    rows = []
    for line in done.stdout.splitlines():
        user, pid, ppid, *args = line.split(None, 3)
        rows.append((user, int(pid), int(ppid), args[0] if args else ""))
    return rows


class KeepAlive:
    """Keeps learners' pages active the way their idle warning does: POST <page>/hcwh/activity (the
    "I need more time" request) every few seconds, with the learner's own token."""

    def __init__(self, hub: Hub):
        self.hub, self.tokens, self.failures = hub, {}, []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def add(self, name: str, token: str) -> None:
        self.poke(name, token)
        self.tokens[name] = token

    def poke(self, name: str, token: str):
        status, times = self.hub.request(f"/user/{name}/hcwh/activity", token, "POST", timeout=20)
        if status != 200:
            self.failures.append((name, status))
        return status, times

    def _run(self):
        while not self.stop.wait(KEEP_ALIVE_EVERY):
            for name, token in list(self.tokens.items()):
                self.poke(name, token)

    def close(self):
        self.stop.set()
        self.thread.join(30)


PROBE = r'''
import json, os, socket, ssl, urllib.request, urllib.error
P = json.loads(PARAMS)
CA = ssl.create_default_context(cadata=P["ca_pem"])
out = {}
def attempt(name, fn):
    try:
        out[name] = ["allowed", str(fn())[:200]]
    except OSError as e:
        out[name] = [type(e).__name__, e.errno]
def read(p):
    with open(p, "rb") as f:
        return len(f.read())
def write(p):
    with open(p, "w") as f:
        f.write("written by A")
    return "written"
def connect(host, port):
    s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    s.settimeout(5)
    try:
        s.connect((host, port))
        return "connected"
    finally:
        s.close()
def unix(path):
    s = socket.socket(socket.AF_UNIX)
    try:
        s.connect(path)
        return "connected"
    finally:
        s.close()
def http(url, token=None):
    req = urllib.request.Request(url, headers={"Authorization": f"token {token}"} if token else {})
    try:
        with urllib.request.urlopen(req, timeout=10, context=CA if url.startswith("https:") else None) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
home = os.path.expanduser("~")
# A's own: must work
attempt("own: write a file in the home", lambda: write(os.path.join(home, "mine.txt")))
attempt("own: read it back", lambda: read(os.path.join(home, "mine.txt")))
attempt("own: list the home", lambda: sorted(os.listdir(home)))
attempt("own: write in /tmp", lambda: write("/tmp/hcwh-isolation-ana.txt"))
attempt("own: the hub's API (loopback)", lambda: http(P["hub_api"]))
attempt("own: the proxy (loopback, HTTPS)", lambda: http(P["proxy_api"]))
attempt("own: the exchange at its own port (loopback)",
        lambda: http(os.environ["HCWH_EXCHANGE_URL"] + "api/whoami", os.environ["JUPYTERHUB_API_TOKEN"]))
# B's
attempt("B: list the home", lambda: os.listdir(P["b_home"]))
attempt("B: read answers.json", lambda: read(P["b_answers"]))
attempt("B: write into the home", lambda: write(os.path.join(P["b_home"], "from-ana.txt")))
attempt("B: read B's /tmp file", lambda: read(P["b_tmp"]))
attempt("B: feedback by path", lambda: read(P["b_feedback"]))
attempt("B: the exchange store", lambda: os.listdir(P["store"]))
attempt("B: B's page through the proxy, with A's token", lambda: http(P["b_page"], os.environ["JUPYTERHUB_API_TOKEN"]))
for pid in P["b_pids"]:
    attempt(f"B: /proc/{pid}/status", lambda: read(f"/proc/{pid}/status"))
    attempt(f"B: /proc/{pid}/environ", lambda: read(f"/proc/{pid}/environ"))
uids = set()
for entry in os.listdir("/proc"):
    if entry.isdigit():
        try:
            uids.add(os.stat(f"/proc/{entry}").st_uid)
        except OSError:
            pass
out["uids seen in /proc"] = sorted(uids)
# the course
attempt("course: list the course folder", lambda: os.listdir(P["course"]))
attempt("course: write into the course folder", lambda: write(os.path.join(P["course"], "from-ana.txt")))
attempt("course: write into the state folder", lambda: write(os.path.join(P["state"], "from-ana.txt")))
attempt("course: list the state folder", lambda: os.listdir(P["state"]))
for rel in P["files"]:
    attempt(f"file: {rel}", lambda: read(os.path.join(P["state"], rel)))
for name, path in P["secret_files"].items():
    attempt(f"secret: {name}", lambda: read(path))
for name, pid in P["service_pids"].items():
    attempt(f"service environ: {name}", lambda: read(f"/proc/{pid}/environ"))
# the network
attempt("net: PostgreSQL on 127.0.0.1", lambda: connect("127.0.0.1", P["pg_port"]))
attempt("net: PostgreSQL's socket", lambda: unix(P["pg_socket"]))
attempt("net: a service's own port on 127.0.0.1", lambda: connect("127.0.0.1", P["service_port"]))
if P["host"]:
    attempt("net: the machine's own non-loopback address", lambda: connect(P["host"][0], P["host"][1]))
attempt("net: an address beyond the machine", lambda: connect("192.0.2.1", 80))
attempt("net: IPv6 loopback", lambda: connect("::1", P["pg_port"]))
import subprocess
done = subprocess.run(["sudo", "-n", "true"], capture_output=True, text=True)
out["sudo"] = [done.returncode, done.stderr.strip()]
out["NoNewPrivs"] = [l.split()[1] for l in open("/proc/self/status") if l.startswith("NoNewPrivs")]
out["env"] = dict(os.environ)
with open(f"/proc/{os.getppid()}/environ", "rb") as f:  # the kernel's parent: A's jupyterhub-singleuser
    out["server env"] = f.read().decode(errors="replace")
out["server cmdline"] = open(f"/proc/{os.getppid()}/cmdline", "rb").read().decode(errors="replace")
out["uid"] = os.getuid()
print(json.dumps(out))
'''


@pytest.fixture(scope="module")
def world(machine_hub_lock):
    if os.geteuid() != 0:
        pytest.skip("the isolation test needs root: the hub starts each learner's server as their own OS account")
    t_all = time.monotonic()
    prepare_envs()
    remove_accounts(TEST_PREFIX)  # a run killed outright earlier
    Path("/srv").mkdir(exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="hcwh-isotest-", dir="/srv"))
    os.chmod(root, 0o711)
    state = root / "state"
    h = Hub(state)
    h.learners = [ANA, BEN]
    h.extra_env.update(LIMITS_ENV)
    keep = None
    setup_hub(state)  # first: the firewall's check needs the learners' group it makes
    skips = {"namespace": _can_namespace(), "firewall": _can_firewall(h.port), "limits": _can_limit()}
    if skips["limits"]:
        h.extra_env["HCWH_LEARNER_LIMITS"] = "off"
    if skips["namespace"]:
        h.extra_env["HCWH_LEARNER_NAMESPACE"] = "off"
    if skips["firewall"]:
        h.extra_env["HCWH_LEARNER_FIREWALL"] = "off"
    pg_port, = free_ports(1)
    host = _host_address()
    listener = _Listener(host) if host else None
    try:
        with postgres_server(tcp_port=pg_port) as pg:
            # the city's mail relay and LRS passwords, where IT puts them: the course account's, 0600
            city = root / "city"
            city.mkdir(mode=0o711)
            course_pw = pwd.getpwnam("hcwh-course")
            city_env = {}
            for name, var in (("smtp.password", "HCWH_SMTP_PASSWORD_FILE"), ("lrs.password", "HCWH_XAPI_PASSWORD_FILE")):
                (city / name).write_text(f"{name}-{os.urandom(16).hex()}\n")
                os.chown(city / name, course_pw.pw_uid, course_pw.pw_gid)
                os.chmod(city / name, 0o600)
                city_env[var] = str(city / name)
            tls_dir = root / "tls"
            tls_dir.mkdir(mode=0o711)
            ca_pem, cert_pem, key_pem = make_test_ca(tls_dir, "hcwh-proxy")
            h.use_tls(ca_pem, cert_pem, key_pem)
            (root / "in").mkdir(mode=0o755)
            cohorts, roster = root / "in" / "cohorts.csv", root / "in" / "roster.csv"
            cohorts.write_text(f"cohort,module,due_date\niso,{MODULE},2030-01-31\n")
            roster.write_text("employee_id,first_name,last_name,email,department,hire_date,cohort\n"
                              f"{ANA},Ana,Reyes,ana@example.org,Parks,2026-11-02,iso\n"
                              f"{BEN},Ben,Okafor,ben@example.org,Streets,2026-11-02,iso\n")
            for f in (cohorts, roster):
                os.chmod(f, 0o644)
            as_course(["cohorts", "import", str(cohorts)], state)
            as_course(["roster", "import", str(roster)], state)
            codes = enrollment_codes(state)
            t0 = time.monotonic()
            h.start()
            FIGURES["hub + services up s"] = round(time.monotonic() - t0, 1)
            FIGURES["firewall chain in place while the hub runs"] = isolation.firewall_active()
            t0 = time.monotonic()
            tokens, enrolled = {}, {}
            keep = KeepAlive(h)
            for name in (ANA, BEN):
                enrolled[name] = _enroll(h, name, codes[name])
                tokens[name] = _spawn(h, name)
                keep.add(name, tokens[name])  # the idle culler stops a page idle 30 s on this hub
            FIGURES["two learners enrolled and their servers ready s"] = round(time.monotonic() - t0, 1)
            # B works: an answer saved in the module folder, a scratch file in B's /tmp
            b_home = Path(pwd.getpwnam(BEN).pw_dir)
            b_answers = b_home / MODULE / "answers.json"
            run_in_kernel(h, BEN, tokens[BEN], f"""
import json, os
os.makedirs({str(b_answers.parent)!r}, exist_ok=True)
with open({str(b_answers)!r}, "w") as f:
    json.dump({{"auth-q-casual-caller": "a"}}, f)
with open({B_TMP_FILE!r}, "w") as f:
    f.write("ben's scratch")
print("ok")
""")
            assert b_answers.is_file()
            store = state / "hub-exchange"
            files = sorted(str(p.relative_to(state)) for p in state.rglob("*") if p.is_file())
            # every secret, from the one list; the managed services' tokens, from their processes
            secret_files = {k: str(v) for k, v in credentials.files(state, {**h.env(), **city_env}).items()}
            services = _service_tokens(h)
            params = {
                "hub_api": f"http://127.0.0.1:{h.api_port}/hub/api/", "b_home": str(b_home),
                "exchange_whoami": f"{h.exchange_url}api/whoami", "b_page": f"{h.url}/user/{BEN}/api/contents",
                "b_answers": str(b_answers), "b_tmp": B_TMP_FILE, "store": str(store),
                "b_feedback": str(store / "feedback" / BEN / MODULE / "files" / f"{MODULE}.html"),
                "b_pids": _pids_of(BEN), "course": str(state / "course"), "state": str(state), "files": files,
                "pg_port": pg_port, "pg_socket": str(pg.socket_dir / f".s.PGSQL.{pg_port}"),
                "service_port": h.service_port, "host": list(listener.address) if listener else None,
                "ca_pem": ca_pem.read_text(), "proxy_api": f"{h.url}/hub/api/", "secret_files": secret_files,
                "service_pids": {name: pid for name, (pid, _) in services.items()},
            }
            t0 = time.monotonic()
            raw = run_in_kernel(h, ANA, tokens[ANA], f"PARAMS = {json.dumps(json.dumps(params))}\n" + PROBE)
            FIGURES["the probe in A's kernel s"] = round(time.monotonic() - t0, 1)
            print("\nfrom A's kernel:\n" + "\n".join(f"  {k}: {v}" for k, v in json.loads(raw).items()
                                                  if k not in ("env", "server env")))
            # root's own controls: the servers the probe tries really answer
            controls = {"pg": _root_connects("127.0.0.1", pg_port),
                        "host": _root_connects(*listener.address) if listener else None,
                        "service": _root_connects("127.0.0.1", h.service_port)}
            with psycopg2.connect(host="127.0.0.1", port=pg_port, user="hcwh", dbname="gradebook") as conn:
                controls["pg_sql"] = conn.server_version > 0
            yield {"hub": h, "out": json.loads(raw), "params": params, "skips": skips, "tokens": tokens,
                   "controls": controls, "ps": _ps(), "state": state, "files": files, "keep": keep,
                   "groups": {n: _cgroup_dirs(_server_pid(n)) for n in (ANA, BEN)}, "enrolled": enrolled,
                   "secret_files": secret_files, "services": services, "ca": ca_pem}
    finally:
        if keep:
            keep.close()
        h.stop()
        FIGURES["firewall chain left after the hub stopped"] = isolation.firewall_active()
        isolation.remove_firewall()  # a hub killed outright leaves it: never leave it for the next hub
        remove_accounts(TEST_PREFIX)
        if listener:
            listener.close()
        shutil.rmtree(root, ignore_errors=True)
        FIGURES["whole module s"] = round(time.monotonic() - t_all, 1)
        print(f"\nisolation figures: {FIGURES}")


def _service_tokens(h: Hub) -> dict[str, tuple[int, str]]:
    """The hub's managed services (its child processes with a JUPYTERHUB_SERVICE_NAME): name ->
    (pid, the API token the hub made for it at start), read by root from /proc."""
    found = {}
    for _, pid, ppid, _ in _ps():
        if ppid != h.proc.pid:
            continue
        try:
            environ = dict(kv.split("=", 1) for kv in Path(f"/proc/{pid}/environ").read_text().split("\0") if "=" in kv)
        except OSError:
            continue
        if environ.get("JUPYTERHUB_SERVICE_NAME") and environ.get("JUPYTERHUB_API_TOKEN"):
            found[environ["JUPYTERHUB_SERVICE_NAME"]] = (pid, environ["JUPYTERHUB_API_TOKEN"])
    return found


def _root_connects(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(5)
        return s.connect_ex((host, port)) == 0


def _need(world, what: str) -> None:
    if world["skips"][what]:
        pytest.skip(f"this host cannot enforce it, so the hub ran with it off: {world['skips'][what]}")


def _refused(out: dict, name: str, *errnos: int) -> None:
    got = out[name]
    assert got[0] != "allowed", f"{name}: A's kernel got through ({got[1]})"
    assert got[1] in errnos, f"{name}: refused, but for another reason than expected: {got}"


# -- A's own: the probe ran and A's files work (so nothing below passes because everything is broken) --


def test_a_reads_and_writes_its_own_files_and_reaches_the_hub(world):
    out = world["out"]
    assert out["uid"] == pwd.getpwnam(ANA).pw_uid
    assert out["own: write a file in the home"] == ["allowed", "written"]
    assert out["own: read it back"] == ["allowed", str(len("written by A"))]
    assert "mine.txt" in out["own: list the home"][1]
    assert out["own: write in /tmp"] == ["allowed", "written"]
    assert out["own: the hub's API (loopback)"] == ["allowed", "200"]
    assert out["own: the proxy (loopback, HTTPS)"] == ["allowed", "200"]


def test_the_servers_the_probe_tries_really_answer_root(world):
    c = world["controls"]
    assert c["pg"] and c["pg_sql"] and c["service"]
    if c["host"] is None:
        pytest.skip("this machine has no non-loopback IPv4 address to try")
    assert c["host"]


# -- B's home, answers, /tmp, feedback, processes --------------------------------------------------------


def test_b_home_and_answers_are_out_of_reach(world):
    out = world["out"]
    home = Path(world["params"]["b_home"])
    assert home.stat().st_mode & 0o777 == 0o700  # the account helper makes homes 0700
    for name in ("B: list the home", "B: read answers.json", "B: write into the home"):
        _refused(out, name, errno.EACCES)
    assert not (home / "from-ana.txt").exists()


def test_b_feedback_and_the_exchange_store_by_path_are_refused(world):
    # refused at the store's own folder (0700, the course account's): test_exchange reads a real
    # released feedback file by path and is refused the same way
    out = world["out"]
    _refused(out, "B: feedback by path", errno.EACCES)
    _refused(out, "B: the exchange store", errno.EACCES)


def test_b_page_refuses_a_token(world):
    assert world["out"]["B: B's page through the proxy, with A's token"] == ["allowed", "403"]


def test_each_learner_has_a_private_tmp(world):
    _need(world, "namespace")
    out = world["out"]
    # B's file exists in B's /tmp only; A wrote its own, which the host's /tmp does not have either
    _refused(out, "B: read B's /tmp file", errno.ENOENT)
    assert not Path(B_TMP_FILE).exists() and not Path("/tmp/hcwh-isolation-ana.txt").exists()


def test_other_users_processes_are_hidden(world):
    _need(world, "namespace")
    out = world["out"]
    pids = world["params"]["b_pids"]
    assert pids, "B's server should be running"
    for pid in pids:
        _refused(out, f"B: /proc/{pid}/status", errno.ENOENT)
        _refused(out, f"B: /proc/{pid}/environ", errno.ENOENT)
    assert out["uids seen in /proc"] == [pwd.getpwnam(ANA).pw_uid]  # A's own only: not B, not root


def test_no_set_uid_program_gives_a_privilege_back(world):
    out = world["out"]
    assert out["sudo"][0] != 0  # never root: A has no sudo rule
    _need(world, "namespace")
    assert out["NoNewPrivs"] == ["1"] and 'The "no new privileges" flag is set' in out["sudo"][1]


def test_no_terminals(world):
    h, token = world["hub"], world["tokens"][ANA]
    assert _user_api(h, ANA, token, "POST", "/terminals")[0] == 404
    assert _user_api(h, ANA, token, "GET", "/terminals")[0] == 404


# -- the course: folder, roster, hub database, cookie secret, every secret file -------------------------


def test_the_course_folder_and_state_folder_refuse_a(world):
    out, state = world["out"], world["state"]
    for name in ("course: list the course folder", "course: write into the course folder",
                 "course: write into the state folder", "course: list the state folder"):
        _refused(out, name, errno.EACCES)
    assert not (state / "course" / "from-ana.txt").exists() and not (state / "from-ana.txt").exists()


def test_every_file_of_the_state_folder_is_unreadable_but_the_public_config(world):
    out, files = world["out"], world["files"]
    for must in ("roster.json", "hub/jupyterhub.sqlite", "hub/jupyterhub_cookie_secret", "hub/proxy.token",
                 "hub/accounts-service.token", "hub/logins.json", "exchange-cli.token",
                 "logs/security.log"):  # the security log (issue 13 point 6): refused below like the rest
        assert must in files, f"{must} should exist in the state folder"
    assert any(f.startswith("enrollment/codes-") for f in files)
    readable = {f for f in files if out[f"file: {f}"][0] == "allowed"}
    assert readable == PUBLIC
    for f in set(files) - PUBLIC:
        _refused(out, f"file: {f}", errno.EACCES)


def test_every_secret_is_0600_under_its_account_and_unreadable_by_a(world):
    out, found = world["out"], world["secret_files"]
    generated = {s.name for s in credentials.SECRETS if s.kind == "generated"}
    # made by hub-setup.sh: the generated ones, the backup key and the certificates' signing key;
    # given by the city: the TLS key, the mail relay's and the LRS's passwords
    expected = generated | {"tls-key", "backup-key", "signer-key", "smtp-password", "xapi-password"}
    assert expected <= set(found), f"missing secrets: {expected - set(found)}"
    owners = {s.name: ("root" if s.owner == "root" else "hcwh-course") for s in credentials.SECRETS}
    owners.update({"tls-key": "hcwh-proxy", "backup-key": "root", "signer-key": "hcwh-signer",
                   "smtp-password": "hcwh-course", "xapi-password": "hcwh-course", "pseudonym-key": "hcwh-course"})
    for name, path in found.items():
        st = os.stat(path)
        assert st.st_mode & 0o777 == 0o600, f"{name}: {path} has mode {st.st_mode & 0o777:o}"
        assert pwd.getpwuid(st.st_uid).pw_name == owners[name], f"{name}: owned by uid {st.st_uid}"
        _refused(out, f"secret: {name}", errno.EACCES)


def test_no_secret_is_in_the_public_files_or_in_a_learners_environment(world):
    state, out = world["state"], world["out"]
    values = {name: Path(p).read_text().strip() for name, p in world["secret_files"].items()}
    values.update({f"service token: {n}": tok for n, (_, tok) in world["services"].items()})
    # the hub made a token for each managed service (formgrader, console, report, culler, exchange)
    assert {"formgrader", "trainer-console", "hr-report", "idle-culler", "hcwh-exchange"} <= set(world["services"])
    assert all(len(v) >= 32 for v in values.values()), "a secret should be at least 32 characters"
    public = "".join((state / f).read_text() for f in PUBLIC)
    kernel_env, server_env = json.dumps(out["env"]), out["server env"]
    assert "jupyterhub-singleuser" in out["server cmdline"] and "JUPYTERHUB_API_TOKEN=" in server_env
    for name, v in values.items():
        for where, text in (("the public config", public), ("A's kernel's environment", kernel_env),
                            ("A's server's environment", server_env)):
            assert v not in text, f"{name} is in {where}"


def test_a_cannot_read_the_services_processes(world):
    _need(world, "namespace")
    for name in world["services"]:
        _refused(world["out"], f"service environ: {name}", errno.ENOENT)


# -- TLS and the origin (issue 13, point 4) ---------------------------------------------------------


def _get(url: str, context: ssl.SSLContext | None) -> tuple[int, http.client.HTTPMessage]:
    """(status, headers: case-insensitive) without following a redirect."""
    opener = urllib.request.build_opener(_NoRedirect, urllib.request.HTTPSHandler(context=context))
    try:
        with opener.open(url, timeout=30) as r:
            return r.status, r.headers
    except urllib.error.HTTPError as e:
        return e.code, e.headers


def test_a_client_trusting_the_ca_gets_the_login_page_with_hsts(world):
    h = world["hub"]
    assert h.url.startswith("https://")
    status, headers = _get(f"{h.url}/hub/login", h.ssl_context)
    assert status == 200
    assert headers["Strict-Transport-Security"] == "max-age=31536000"
    _, enroll_headers = world["enrolled"][ANA]
    assert enroll_headers["Strict-Transport-Security"] == "max-age=31536000"


def test_every_cookie_the_hub_sets_is_secure(world):
    jar, _ = world["enrolled"][ANA]
    names = {c.name for c in jar}
    # the enroll form's _xsrf, then the login the enrollment gives: session id and hub login cookie
    assert {"_xsrf", "jupyterhub-session-id", "jupyterhub-hub-login"} <= names, names
    assert [c.name for c in jar if not c.secure] == []


def test_every_cookie_a_learners_own_server_sets_is_secure(world):
    """Over TLS the learner's own server (behind the proxy, reached over plain HTTP on loopback) marks
    its cookies Secure too: its hub login (OAuth) cookie and its _xsrf, set on her pages and Voilà's.
    The hub hands its cookie options to each server (JUPYTERHUB_COOKIE_OPTIONS), and the proxy's
    X-Forwarded-Proto says https."""
    h = world["hub"]
    hub_jar, _ = world["enrolled"][ANA]
    jar = http.cookiejar.CookieJar()
    for c in hub_jar:
        jar.set_cookie(c)
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar),
                                         urllib.request.HTTPSHandler(context=h.ssl_context))
    with opener.open(f"{h.url}/user/{ANA}/hcwh/", timeout=60) as r:  # the OAuth round trip, then her page
        assert r.status == 200 and r.url.startswith(f"{h.url}/user/{ANA}/hcwh"), r.url
        r.read()
    try:
        opener.open(f"{h.url}/user/{ANA}/voila/tree", timeout=60).read()
    except urllib.error.HTTPError:
        pass  # whatever Voilà answers here, the cookies it set are what is checked
    mine = {c.name: c for c in jar if c.path.startswith(f"/user/{ANA}")}
    assert f"jupyterhub-user-{ANA}" in mine, sorted(mine)
    assert "_xsrf" in mine, sorted(mine)
    assert [name for name, c in mine.items() if not c.secure] == [], {n: c.secure for n, c in mine.items()}


def test_a_plain_http_client_and_one_without_the_ca_fail(world):
    h = world["hub"]
    with pytest.raises((http.client.HTTPException, ConnectionError, urllib.error.URLError)):
        _get(f"http://127.0.0.1:{h.port}/hub/login", None)
    with pytest.raises(urllib.error.URLError) as e:
        _get(f"{h.url}/hub/login", ssl.create_default_context())  # the system's CAs only
    assert isinstance(e.value.reason, ssl.SSLCertVerificationError)


def test_the_report_and_console_pages_carry_a_strict_csp(world):
    h, token = world["hub"], world["tokens"][ANA]
    for path in ("/services/hr-report/", "/services/trainer-console/"):
        status, headers = _get(f"{h.url}{path}", h.ssl_context)  # not logged in: sent to the hub's login
        assert status == 302, path
        csp = headers["Content-Security-Policy"]
        assert csp.startswith("default-src 'none'; style-src 'unsafe-inline'; img-src data:"), (path, csp)
        assert "frame-ancestors 'none'" in csp and "script-src" not in csp, (path, csp)
    req = urllib.request.Request(f"{h.url}/services/hr-report/", headers={"Authorization": f"token {token}"})
    with pytest.raises(urllib.error.HTTPError) as e:  # a learner's token: refused, with the same policy
        urllib.request.urlopen(req, timeout=30, context=h.ssl_context)
    assert e.value.code == 403
    assert e.value.headers["Content-Security-Policy"].startswith("default-src 'none'")


def test_the_exchange_is_reached_at_its_own_port_not_through_tls(world):
    # learners' and services' exchange client: the service's own port on 127.0.0.1 (plain HTTP on
    # loopback: no CA, no certificate name), let through the learners' egress rule
    out, h = world["out"], world["hub"]
    assert out["env"]["HCWH_EXCHANGE_URL"] == f"http://127.0.0.1:{h.service_port + 3}/services/hcwh-exchange/"
    assert out["own: the exchange at its own port (loopback)"] == ["allowed", "200"]


# -- the network: PostgreSQL, the services' own ports, beyond loopback ------------------------------------


def test_a_cannot_reach_postgresql(world):
    out = world["out"]
    # its Unix socket lies in a 0700 folder of the server's account (under /tmp: private too)
    _refused(out, "net: PostgreSQL's socket", errno.EACCES, errno.ENOENT)
    _need(world, "firewall")
    _refused(out, "net: PostgreSQL on 127.0.0.1", errno.EHOSTUNREACH)  # root connects (control above)


def test_a_reaches_only_the_hub_and_proxy_on_loopback(world):
    _need(world, "firewall")
    out = world["out"]
    _refused(out, "net: a service's own port on 127.0.0.1", errno.EHOSTUNREACH)
    _refused(out, "net: an address beyond the machine", errno.EHOSTUNREACH)
    _refused(out, "net: IPv6 loopback", errno.EHOSTUNREACH, errno.EACCES)
    if world["params"]["host"] is None:
        pytest.skip("this machine has no non-loopback IPv4 address to try")
    _refused(out, "net: the machine's own non-loopback address", errno.EHOSTUNREACH)


# -- who runs as whom (README "Privilege map"), from the running hub's processes -----------------------


def test_the_privilege_map_holds_on_the_running_hub(world):
    h, rows = world["hub"], world["ps"]
    by_pid = {pid: (user, ppid, args) for user, pid, ppid, args in rows}

    def descendants(pid):
        kids = [p for p, (_, ppid, _) in by_pid.items() if ppid == pid]
        return kids + [d for k in kids for d in descendants(k)]

    tree = [by_pid[p] for p in [h.proc.pid, *descendants(h.proc.pid)] if p in by_pid]
    print("\n" + "\n".join(f"{u:18} {a[:150]}" for u, _, a in tree))
    assert by_pid[h.proc.pid][0] == "root"
    users = {}
    for user, _, args in tree[1:]:
        if "configurable-http-proxy" in args:
            users.setdefault("proxy", set()).add(user)
        elif "jupyterhub-singleuser" in args and "formgrader" in args:
            users.setdefault("formgrader", set()).add(user)
        elif "idle_culler" in args:
            users.setdefault("idle culler", set()).add(user)
        elif "autograde.hub.services" in args or "autograde.exchange.service" in args:
            users.setdefault("services", set()).add(user)
        elif "jupyterhub-singleuser" in args:
            users.setdefault("learners' servers", set()).add(user)
    assert users == {"proxy": {"hcwh-proxy"}, "formgrader": {"hcwh-course"}, "services": {"hcwh-course"},
                     "idle culler": {"hcwh-culler"}, "learners' servers": {ANA, BEN}}


# -- limits (issue 13 point 3): each page in its own capped cgroup ---------------------------------------

MiB = 1024 * 1024
CAP_MEMORY = 512 * MiB  # LIMITS_ENV, by hand
CAP_PIDS = 256


def test_each_page_and_its_kernel_are_in_their_own_capped_group(world):
    _need(world, "limits")
    for name in (ANA, BEN):
        dirs = world["groups"][name]
        assert set(dirs) == set(CGROUP_CONTROLLERS), dirs
        for controller, folder in dirs.items():
            assert folder.name == f"hcwh-learner-{name}", (controller, folder)
        assert (dirs["memory"] / "memory.limit_in_bytes").read_text().strip() == str(CAP_MEMORY)
        assert (dirs["pids"] / "pids.max").read_text().strip() == str(CAP_PIDS)
        assert (dirs["cpu"] / "cpu.shares").read_text().strip() == str(50 * 1024 // 100)  # weight 50 of 100
        assert (dirs["cpu"] / "cpu.cfs_quota_us").read_text().strip() == "100000"  # one core's time per
        assert (dirs["cpu"] / "cpu.cfs_period_us").read_text().strip() == "100000"  # 100 ms period
    # what the page starts is in the group too: A's kernel, from its own /proc/self/cgroup
    h = world["hub"]
    seen = run_in_kernel(h, ANA, world["tokens"][ANA], "print(open('/proc/self/cgroup').read())")
    assert seen.count(f"/hcwh-learner-{ANA}\n") == 3, seen  # memory, pids, cpu
    # and kernels no page is connected to are culled (LearnerLimits' defaults: 20 min idle, looked at every 2 min)
    args = next(a for u, _, _, a in world["ps"] if u == ANA and "jupyterhub-singleuser" in a)
    assert "--MappingKernelManager.cull_idle_timeout=1200" in args and "--MappingKernelManager.cull_interval=120" in args
    FIGURES["A's page: processes and threads in its group, idle"] = int(
        (world["groups"][ANA]["pids"] / "pids.current").read_text())


HOG = r"""
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, (BACKSTOP, BACKSTOP))  # if the cap failed: a MemoryError, not the machine
chunks = []
try:
    while True:
        chunks.append(bytearray(16 * 1024 * 1024))  # zero-filled: every page touched
        print(len(chunks) * 16, flush=True)
except MemoryError:
    print("backstop", flush=True)
    sys.exit(3)
"""


def test_a_memory_hog_is_stopped_by_a_s_cap_and_b_still_works(world):
    _need(world, "limits")
    h, tokens = world["hub"], world["tokens"]
    mem = world["groups"][ANA]["memory"]
    kills = _counter(mem / "memory.oom_control", "oom_kill")
    backstop = 3 * CAP_MEMORY
    raw = run_in_kernel(h, ANA, tokens[ANA], f"""
import json, subprocess, sys
done = subprocess.run([sys.executable, "-c", {HOG.replace("BACKSTOP", str(backstop))!r}], capture_output=True,
                      text=True, timeout=300)
print(json.dumps({{"rc": done.returncode, "last": (done.stdout.split() or ["0"])[-1]}}))
""")
    got = json.loads(raw)
    FIGURES["memory hog: MiB reached before the cap stopped it"] = got["last"]
    assert got["last"] != "backstop", "the hog reached its own backstop: the cgroup's cap did not stop it"
    assert got["rc"] == -9, f"the hog should be killed (SIGKILL, the cgroup's OOM kill): {got}"
    assert int(got["last"]) < CAP_MEMORY // MiB
    # the group's own cap did it: its peak is the cap, and its OOM killer killed the hog (memory.failcnt stays
    # 0 on this kernel's v1 emulation: measured, so it is not the evidence)
    assert int((mem / "memory.max_usage_in_bytes").read_text()) == CAP_MEMORY
    assert _counter(mem / "memory.oom_control", "oom_kill") > kills
    # B's kernel runs code and answers; A's page and kernel live on; the hub answers
    assert run_in_kernel(h, BEN, tokens[BEN], "print(sum(range(10**6)))") == "499999500000\n"
    assert run_in_kernel(h, ANA, tokens[ANA], "print(6 * 7)") == "42\n"
    status, user = h.api("GET", f"/users/{ANA}")
    assert status == 200 and user["servers"][""]["ready"]


BOMB = r"""
import json, os, resource, sys, time
resource.setrlimit(resource.RLIMIT_NPROC, (BACKSTOP, BACKSTOP))  # if the cap failed: A's own limit, not the machine
kids, err = [], None
while len(kids) < CEILING:
    try:
        pid = os.fork()
    except OSError as e:
        err = e.errno
        break
    if pid == 0:
        time.sleep(HOLD)
        os._exit(0)
    kids.append(pid)
print(json.dumps({"forked": len(kids), "errno": err}), flush=True)
deadline = time.monotonic() + HOLD  # hold the cap until the test has tried B (or HOLD s)
while time.monotonic() < deadline and not os.path.exists(RELEASE):
    time.sleep(0.1)
for k in kids:
    os.kill(k, 9)
for k in kids:
    os.waitpid(k, 0)
"""


def test_a_fork_bomb_is_stopped_by_a_s_cap_while_b_works(world):
    _need(world, "limits")
    h, tokens = world["hub"], world["tokens"]
    pids = world["groups"][ANA]["pids"]
    hits = _counter(pids / "pids.events", "max")
    release = Path(pwd.getpwnam(ANA).pw_dir) / ".hcwh-bomb-release"
    bomb = (BOMB.replace("BACKSTOP", "1000").replace("CEILING", "900").replace("HOLD", "90")
            .replace("RELEASE", repr(str(release))))
    result: dict = {}

    def in_a():
        try:
            result["out"] = run_in_kernel(h, ANA, tokens[ANA], f"""
import subprocess, sys
p = subprocess.Popen([sys.executable, "-c", {bomb!r}], stdout=subprocess.PIPE, text=True)
print(p.stdout.readline(), end="")
p.wait(timeout=120)
""", timeout=200)
        except BaseException as e:  # reported below
            result["error"] = e

    a = threading.Thread(target=in_a)
    a.start()
    try:
        deadline = time.monotonic() + 120
        while _counter(pids / "pids.events", "max") == hits and a.is_alive() and time.monotonic() < deadline:
            time.sleep(0.2)
        at_cap = int((pids / "pids.current").read_text())
        FIGURES["fork bomb: A's group at the cap, processes"] = at_cap
        # while A's group is full: B's kernel starts and answers, the hub answers
        assert run_in_kernel(h, BEN, tokens[BEN], "import os; print(len(os.listdir('.')) >= 0)") == "True\n"
        status, _ = h.api("GET", f"/users/{BEN}")
        assert status == 200
        still = int((pids / "pids.current").read_text())
    finally:
        release.write_text("go")
        a.join(200)
        release.unlink(missing_ok=True)
    assert "error" not in result, result.get("error")
    got = json.loads(result["out"])
    FIGURES["fork bomb: forks before the cap stopped it"] = got["forked"]
    assert got["errno"] == errno.EAGAIN and got["forked"] < CAP_PIDS, got  # stopped, far below its backstop
    assert _counter(pids / "pids.events", "max") > hits  # by the group's cap
    assert at_cap >= CAP_PIDS - 5 and still >= CAP_PIDS - 5, (at_cap, still)  # B ran while A was full
    assert run_in_kernel(h, ANA, tokens[ANA], "print(6 * 7)") == "42\n"  # A's page recovers


# -- idle: the warning's "I need more time", the culler ---------------------------------------------------


def test_more_time_tells_the_hub_at_once_and_answers_the_warning_times(world):
    from datetime import datetime, timedelta, timezone

    h, token = world["hub"], world["tokens"][ANA]
    before = datetime.now(timezone.utc) - timedelta(seconds=1)  # the hub keeps milliseconds
    status, times = h.request(f"/user/{ANA}/hcwh/activity", token, "POST")
    assert status == 200
    # 30 s idle timeout, warned 10 s before, the culler looking every 5 s (LIMITS_ENV), by hand:
    assert times == {"warn_in": 20, "stop_from": 30, "stop_by": 35}
    _, user = h.api("GET", f"/users/{ANA}")
    seen = datetime.fromisoformat(user["servers"][""]["last_activity"].replace("Z", "+00:00"))
    assert seen >= before
    req = urllib.request.Request(f"{h.url}/user/{ANA}/hcwh/idle-notice.js", headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(req, timeout=30, context=h.ssl_context) as r:
        assert r.status == 200 and "I need more time" in r.read().decode()
    assert h.request(f"/user/{ANA}/hcwh/activity", world["tokens"][BEN], "POST")[0] == 403


def test_the_idle_culler_stops_an_idle_page_and_only_that(world):
    h = world["hub"]
    # this hub's own culler: a service is the hub's child (other checkouts' hubs may run beside it)
    culler = [(user, pid) for user, pid, ppid, args in _ps() if "jupyterhub_idle_culler" in args and ppid == h.proc.pid]
    assert len(culler) == 1 and culler[0][0] == "hcwh-culler", culler
    environ = dict(kv.split("=", 1) for kv in Path(f"/proc/{culler[0][1]}/environ").read_text().split("\0") if "=" in kv)
    token = environ["JUPYTERHUB_API_TOKEN"]
    status, me = h.request("/hub/api/user", token)
    assert status == 200 and me["kind"] == "service" and me["name"] == "idle-culler"
    assert {"list:users", "read:users:activity", "read:servers", "delete:servers"} <= set(me["scopes"])
    assert not {"admin:users", "admin:servers", "servers", "tokens", "access:servers", "users"} & set(me["scopes"])
    assert h.request("/hub/api/users", token)[0] == 200  # what it needs works
    assert h.request(f"/hub/api/users/{BEN}/server", token, "POST")[0] == 403  # nothing more
    assert h.request(f"/hub/api/users/{BEN}/tokens", token)[0] == 403
    FIGURES["keep-alive requests refused (A's page full of processes during the bomb)"] = world["keep"].failures
    # nothing keeps B active from now: the culler stops B's page; A's, kept active, stays
    world["keep"].tokens.pop(BEN)
    t0 = time.monotonic()
    deadline = t0 + 180
    while time.monotonic() < deadline:
        _, user = h.api("GET", f"/users/{BEN}")
        if not user["servers"]:
            break
        time.sleep(1)
    else:
        raise AssertionError(f"the idle culler did not stop {BEN}'s page:\n{h.log_tail()}")
    FIGURES["B's page stopped by the culler, s after its last activity"] = round(time.monotonic() - t0, 1)
    assert f"Culling server {BEN}" in h.log_path.read_text(errors="replace")  # the culler did it (its log line)
    _, a = h.api("GET", f"/users/{ANA}")
    assert a["servers"][""]["ready"]
    assert _user_api(h, ANA, world["tokens"][ANA], "GET", "/status")[0] == 200
    # B's group went with B's page, and none of B's processes is left
    if not world["skips"]["limits"]:
        assert not any(folder.exists() for folder in world["groups"][BEN].values()), world["groups"][BEN]
    deadline = time.monotonic() + 30  # killed: gone from /proc once reaped
    while _pids_of(BEN) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert _pids_of(BEN) == []
