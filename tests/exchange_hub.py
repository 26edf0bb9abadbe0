"""A real JupyterHub for the exchange tests: the venv's ``jupyterhub``, the proxy from
``hub/node_modules``, 127.0.0.1 on free ports, a temporary state folder, the hub exchange
(and formgrader, as ``jupyterhub-singleuser``) as managed services. No spawner is used: users,
groups and tokens are made through the hub's REST API with an admin service token made for
this run. ``stop`` ends every process this started (the hub stops its proxy and services; the
rest are checked and ended by pid)."""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from autograde.config import PROJECT_ROOT, Settings
from autograde.exchange import SERVICE_NAME, TRAINER_SCOPE

VENV_BIN = Path(sys.executable).parent
PROXY = PROJECT_ROOT / "hub" / "node_modules" / ".bin" / "configurable-http-proxy"
CONSOLE = "hcwh-trainer-console"  # a trainer-side service (the trainer console's token; hcwh)
FORMGRADER = "formgrader"
STARTUP_SECONDS = 120  # a patience limit, not a speed claim: the hub answers when it is up


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


class HttpError(Exception):
    def __init__(self, code: int, body: str):
        super().__init__(f"{code}: {body}")
        self.code = code
        self.body = body


def http(method: str, url: str, token: str | None = None, body: bytes | dict | None = None,
         headers: dict | None = None) -> tuple[int, bytes]:
    data = json.dumps(body).encode() if isinstance(body, dict) else body
    req = urllib.request.Request(url, data=data, method=method, headers={**(headers or {})})
    if token:
        req.add_header("Authorization", f"token {token}")
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        raise HttpError(exc.code, exc.read().decode(errors="replace")) from None


@dataclass
class Hub:
    root: Path
    settings: Settings
    port: int = field(default_factory=free_port)
    hub_port: int = field(default_factory=free_port)
    proxy_api_port: int = field(default_factory=free_port)
    service_port: int = field(default_factory=free_port)
    formgrader_port: int = field(default_factory=free_port)
    admin_token: str = field(default_factory=lambda: secrets.token_hex(32))
    console_token: str = field(default_factory=lambda: secrets.token_hex(32))
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def exchange_url(self) -> str:
        return f"{self.url}/services/{SERVICE_NAME}/"

    @property
    def formgrader_url(self) -> str:
        return f"{self.url}/services/{FORMGRADER}/"

    def env(self, **extra) -> dict:
        """The trainer side's environment: the hub exchange chosen, the state folder, the console's token."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("HCWH_", "JUPYTERHUB_"))}
        env.update(HCWH_STATE_DIR=str(self.settings.state_dir), HCWH_EXCHANGE="hub",
                   HCWH_EXCHANGE_URL=self.exchange_url, HCWH_EXCHANGE_TOKEN=self.console_token,
                   HCWH_TIMEZONE=self.settings.timezone,
                   PATH=f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}")
        env.update(extra)
        return env

    def write_config(self) -> Path:
        config = self.root / "jupyterhub_config.py"
        formgrader_env = {k: v for k, v in self.env().items() if k.startswith("HCWH_") and k != "HCWH_EXCHANGE_TOKEN"}
        formgrader_env["PATH"] = self.env()["PATH"]
        formgrader_env["JUPYTER_CONFIG_DIR"] = str(self.root / "formgrader-config")
        (self.root / "formgrader-config").mkdir(exist_ok=True)
        (self.root / "formgrader-config" / "jupyter_server_config.json").write_text(json.dumps({
            "ServerApp": {"jpserver_extensions": {"autograde.course.attribution": True}, "allow_root": True,
                          "terminals_enabled": False, "root_dir": str(self.settings.state_dir)}}))
        # formgrader reads nbgrader's config from its root folder, which must hold the course folder
        (self.settings.state_dir / "nbgrader_config.py").write_text(
            f"import sys; sys.path.insert(0, {str(PROJECT_ROOT)!r})\n"
            "from autograde.config import Settings\n"
            "from autograde.course.nbconfig import apply_nbgrader_config\n"
            "apply_nbgrader_config(get_config(), Settings.from_env())\n")
        config.write_text(f"""
import sys
sys.path.insert(0, {str(PROJECT_ROOT)!r})
from autograde.exchange import apply_hub_config
from autograde.config import Settings

c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = {self.port}
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = {self.hub_port}
c.ConfigurableHTTPProxy.command = [{str(PROXY)!r}]
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{self.proxy_api_port}"
c.JupyterHub.db_url = "sqlite:///{self.root / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = {str(self.root / 'cookie_secret')!r}
c.JupyterHub.pid_file = {str(self.root / 'jupyterhub.pid')!r}
c.JupyterHub.authenticator_class = "null"  # no logins here: tokens are made through the API
c.Authenticator.allow_all = True
c.JupyterHub.load_groups = {{"trainers": {{"users": []}}}}
c.JupyterHub.services = [
    {{"name": "test-admin", "api_token": {self.admin_token!r}}},
    {{"name": {CONSOLE!r}, "api_token": {self.console_token!r}}},
    {{"name": {FORMGRADER!r}, "url": "http://127.0.0.1:{self.formgrader_port}", "cwd": {str(self.settings.state_dir)!r},
      "command": [{str(VENV_BIN / 'jupyterhub-singleuser')!r}], "environment": {formgrader_env!r},
      "oauth_no_confirm": True}},
]
c.JupyterHub.load_roles = [
    {{"name": "test-admin", "scopes": ["admin:users", "admin:groups", "tokens", "list:users"],
      "services": ["test-admin"]}},
    {{"name": "trainer-formgrader", "scopes": ["access:services!service={FORMGRADER}"], "groups": ["trainers"]}},
]
apply_hub_config(c, Settings(state_dir=__import__("pathlib").Path({str(self.settings.state_dir)!r}),
                             timezone={self.settings.timezone!r}),
                 port={self.service_port}, trainer_services=({CONSOLE!r}, {FORMGRADER!r}))
""")
        return config

    def start(self) -> None:
        config = self.write_config()
        log = open(self.root / "jupyterhub.log", "wb")
        self.proc = subprocess.Popen([str(VENV_BIN / "jupyterhub"), "-f", str(config)], cwd=self.root,
                                     env=self.env(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"jupyterhub exited ({self.proc.returncode}):\n{self.log()}")
            try:
                http("GET", f"{self.exchange_url}api/whoami", self.console_token)
                try:  # formgrader itself answering (403: the console may not use it) through the proxy
                    http("GET", f"{self.formgrader_url}formgrader/api/status", self.console_token)
                except HttpError as exc:
                    if exc.code != 403:
                        raise
                return
            except (HttpError, OSError):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the hub and its services did not answer in {STARTUP_SECONDS} s:\n{self.log()}")
                time.sleep(0.5)

    def log(self) -> str:
        path = self.root / "jupyterhub.log"
        return path.read_text(errors="replace")[-6000:] if path.exists() else ""

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        proxy_pid = self.root / "jupyterhub-proxy.pid"
        if proxy_pid.exists():  # the hub stops its proxy; if it did not, end that one process
            try:
                os.kill(int(proxy_pid.read_text().strip()), signal.SIGTERM)
            except (ProcessLookupError, ValueError):
                pass
        for port in (self.service_port, self.formgrader_port, self.port, self.proxy_api_port):
            deadline = time.monotonic() + 30
            while port_open(port) and time.monotonic() < deadline:
                time.sleep(0.2)
            assert not port_open(port), f"something this hub started still listens on 127.0.0.1:{port}"

    # -- REST API --------------------------------------------------------------------
    def api(self, method: str, path: str, body: dict | None = None):
        code, data = http(method, f"{self.url}/hub/api/{path}", self.admin_token, body)
        return json.loads(data) if data else None

    def add_user(self, name: str, trainer: bool = False) -> str:
        """Create ``name`` on the hub (a trainer: in the trainers group) and return a token of theirs."""
        self.api("POST", f"users/{name}")
        scopes = [f"access:services!service={SERVICE_NAME}"]
        if trainer:
            self.api("POST", "groups/trainers/users", {"users": [name]})
            scopes += [TRAINER_SCOPE, f"access:services!service={FORMGRADER}"]
        return self.api("POST", f"users/{name}/tokens", {"scopes": scopes, "note": "exchange test"})["token"]
