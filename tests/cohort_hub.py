"""The project's real hub with real OS accounts, for tests/e2e/test_hub.py and benchmarks/hub_load.py.

``prepare_envs`` builds the learner and course environments (``scripts/hub-env.sh``, idempotent),
``setup_hub`` runs ``scripts/hub-setup.sh`` (course and proxy accounts, the account helper),
``as_course`` runs ``hcwh`` as the course account, ``enrollment_codes`` reads the codes the
roster import printed to ``<state>/enrollment``, and ``Hub`` starts ``jupyterhub`` with
``hub/jupyterhub_config.py`` on free 127.0.0.1 ports and stops it with its learners' pages.
``remove_accounts`` removes the accounts a run made (only the helper's test prefixes).
``make_test_ca`` makes a CA and a certificate for 127.0.0.1 signed by it (``Hub.use_tls``: the
hub's proxy then serves HTTPS with it, as with the city CA's certificate).

Needs root. Callers hold the machine-wide lock (``machine_hub_lock`` in tests/conftest.py).
"""

from __future__ import annotations

import contextlib
import csv
import re
import json
import os
import pwd
import datetime
import ipaddress
import signal
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from autograde.config import PROJECT_ROOT as ROOT

LEARNER_ENV = Path(os.environ.get("HCWH_LEARNER_ENV", "/opt/hcwh/learner-env"))
COURSE_ENV = Path(os.environ.get("HCWH_COURSE_ENV", "/opt/hcwh/course-env"))
COURSE_USER = "hcwh-course"
MODULE = "01-authenticity"
COURSE_ID = "how-can-we-help"
HUB_LOCK = Path("/tmp/hcwh-hub.lock")
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@contextlib.contextmanager
def chromium(profile: Path):
    """Debian's Chromium through Playwright, headless, its profile and cache under ``profile``."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS,
                               env={**os.environ, "XDG_CONFIG_HOME": str(profile), "XDG_CACHE_HOME": str(profile)})
        try:
            yield b
        finally:
            b.close()


def api_request(url: str, token: str, method: str = "GET", body: dict | None = None,
                timeout: float = 60, context: ssl.SSLContext | None = None) -> tuple[int, object]:
    """A Jupyter REST call with ``token``: (status, the JSON reply or None); an HTTP error is its code.
    ``context``: the TLS context for an https URL (trusting the test CA)."""
    req = urllib.request.Request(url, method=method, data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Authorization": f"token {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout, context=context) as r:
            data = r.read()
            return r.status, json.loads(data) if data else None
    except urllib.error.HTTPError as e:
        return e.code, None


def free_ports(n: int) -> list[int]:
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


def free_run(first: int, count: int) -> int:
    """A first port with ``count`` free ports after it (the services' ports are consecutive)."""
    for base in range(first, first + 2000, count):
        try:
            socks = []
            for p in range(base, base + count):
                s = socket.socket()
                s.bind(("127.0.0.1", p))
                socks.append(s)
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise AssertionError("no run of free ports")


def prepare_envs() -> None:
    for kind, path in (("learner", LEARNER_ENV), ("course", COURSE_ENV)):
        subprocess.run(["bash", str(ROOT / "scripts" / "hub-env.sh"), kind, str(path)], check=True,
                       capture_output=True, timeout=1800)


def setup_hub(state: Path) -> None:
    subprocess.run(["bash", str(ROOT / "scripts" / "hub-setup.sh"), str(state)], check=True, capture_output=True)


def as_course(args: list[str], state: Path, check: bool = True,
              exchange_url: str | None = None, nice: int | None = None) -> subprocess.CompletedProcess:
    """``hcwh ARGS`` as the course account, as IT would run it (``sudo -u hcwh-course hcwh``);
    ``nice``: at that CPU niceness (``nice -n``)."""
    env = {"PATH": f"{COURSE_ENV}/bin:/usr/bin:/bin", "HOME": f"/var/lib/{COURSE_USER}",
           "HCWH_STATE_DIR": str(state), "LANG": "C.UTF-8", "PYTHONPATH": str(ROOT)}
    if exchange_url:  # once the hub is up: hcwh through the hub exchange, with its service token
        env.update(HCWH_EXCHANGE="hub", HCWH_EXCHANGE_URL=exchange_url,
                   HCWH_EXCHANGE_TOKEN=(state / "exchange-cli.token").read_text().strip())
    prefix = ["nice", "-n", str(nice)] if nice is not None else []
    done = subprocess.run([*prefix, "setpriv", f"--reuid={COURSE_USER}", f"--regid={COURSE_USER}", "--init-groups",
                           "--", str(COURSE_ENV / "bin" / "hcwh"), *args], capture_output=True, text=True, env=env,
                          cwd=str(ROOT), timeout=600)
    if check and done.returncode != 0:
        raise AssertionError(f"hcwh {' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done


def my_modules(name: str) -> re.Pattern:
    """The URL of a learner's My modules page (autograde/learner), with or without the empty query
    (``/hcwh/?``) that the server's redirect from ``/user/<name>/`` leaves in the address bar."""
    return re.compile(rf"/user/{re.escape(name)}/hcwh/?\??$")


def enrollment_codes(state: Path) -> dict[str, str]:
    """login -> one-time code, from every ``<state>/enrollment/codes-*.csv`` the imports wrote."""
    codes = {}
    for f in sorted((state / "enrollment").glob("codes-*.csv")):
        with f.open(newline="") as fh:
            codes.update({row["login"]: row["code"] for row in csv.DictReader(fh)})
    return codes


def make_test_ca(folder: Path, key_owner: str) -> tuple[Path, Path, Path]:
    """A CA (its certificate only is kept) and a server certificate for 127.0.0.1 and localhost
    signed by it, in ``folder``: (ca.pem, cert.pem, key.pem); the key 0600, owned by ``key_owner``
    (the proxy's account, as the hub requires)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hcwh test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
                                       key_encipherment=False, data_encipherment=False, key_agreement=False,
                                       encipher_only=False, decipher_only=False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                                        x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    folder.mkdir(parents=True, exist_ok=True)
    ca_pem, cert_pem, key_pem = folder / "ca.pem", folder / "cert.pem", folder / "key.pem"
    ca_pem.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    fd = os.open(key_pem, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    pw = pwd.getpwnam(key_owner)
    os.chown(key_pem, pw.pw_uid, pw.pw_gid)
    for p in (ca_pem, cert_pem):
        os.chmod(p, 0o644)
    return ca_pem, cert_pem, key_pem


def remove_accounts(prefix: str) -> None:
    """Remove every OS account named ``prefix...`` (the helper removes only its test prefixes)."""
    for p in pwd.getpwall():
        if p.pw_name.startswith(prefix):
            subprocess.run(["/usr/local/sbin/hcwh-account", "remove", p.pw_name], capture_output=True)


class Hub:
    def __init__(self, state: Path):
        self.state = state
        self.port, self.api_port, self.proxy_api = free_ports(3)
        self.service_port = free_run(41000 + os.getpid() % 1000 * 10, 4)
        self.url = f"http://127.0.0.1:{self.port}"
        self.exchange_url = f"{self.url}/services/hcwh-exchange/"
        self.proc: subprocess.Popen | None = None
        self.log_path = state.parent / "hub.log"
        self.learners: list[str] = []  # whose pages ``stop`` stops (cleanup_servers is off)
        self.help_contact = "the course's test help desk"  # on every hub page (HCWH_HELP_CONTACT)
        self.extra_env: dict[str, str] = {}  # more HCWH_* settings (e.g. HCWH_AUTHENTICATOR=ldap, a switch turned off)
        self.ssl_context: ssl.SSLContext | None = None  # with TLS: a client context trusting the test CA

    def use_tls(self, ca: Path, cert: Path, key: Path) -> None:
        """Serve the public port over HTTPS with ``cert``/``key`` (HCWH_TLS_CERT, HCWH_TLS_KEY); the
        test's clients trust ``ca``."""
        self.extra_env.update(HCWH_TLS_CERT=str(cert), HCWH_TLS_KEY=str(key))
        self.ssl_context = ssl.create_default_context(cafile=str(ca))
        self.url = f"https://127.0.0.1:{self.port}"
        self.exchange_url = f"{self.url}/services/hcwh-exchange/"

    def env(self) -> dict:
        return {**os.environ, "HCWH_STATE_DIR": str(self.state), "HCWH_HUB_PORT": str(self.port),
                "HCWH_HUB_API_PORT": str(self.api_port), "HCWH_PROXY_API_PORT": str(self.proxy_api),
                "HCWH_SERVICE_PORT": str(self.service_port), "HCWH_LEARNER_ENV": str(LEARNER_ENV),
                "HCWH_COURSE_ENV": str(COURSE_ENV), "HCWH_HUB_URL": self.url,
                "HCWH_HELP_CONTACT": self.help_contact, **self.extra_env}

    def start(self) -> None:
        self.log = open(self.log_path, "ab")  # a restarted hub adds to the same log
        self.proc = subprocess.Popen([str(ROOT / ".venv" / "bin" / "jupyterhub"), "-f", str(ROOT / "hub" / "jupyterhub_config.py")],
                                     cwd=str(self.state), env=self.env(), stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"the hub exited:\n{self.log_tail()}"
            if (self.status("/services/trainer-console/") in (302, 200) and self.status("/services/hr-report/") in (302, 200)
                    and self.status("/services/hcwh-exchange/api/whoami") in (401, 403)):
                return
            time.sleep(0.5)
        raise AssertionError(f"the hub and its services did not come up in 180 s:\n{self.log_tail()}")

    def status(self, path: str) -> int:
        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *a, **k):
                return None
        try:
            opener = urllib.request.build_opener(NoRedirect, urllib.request.HTTPSHandler(context=self.ssl_context))
            with opener.open(self.url + path, timeout=5) as r:
                return r.status
        except urllib.error.HTTPError as e:
            return e.code
        except (urllib.error.URLError, OSError):
            return 0

    def request(self, path: str, token: str, method: str = "GET", body: dict | None = None, timeout: float = 60):
        """A JSON REST call to ``path`` on this hub's public URL with ``token``, over TLS when the hub
        uses it (trusting the test CA): (status, JSON or None)."""
        return api_request(f"{self.url}{path}", token, method, body, timeout, context=self.ssl_context)

    def api(self, method: str, path: str, body: dict | None = None):
        """The hub's REST API with the account helper's token: (status, JSON or None)."""
        token = (self.state / "hub" / "accounts-service.token").read_text().strip()
        return self.request(f"/hub/api{path}", token, method, body)

    def log_tail(self, n: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return "(no log)"

    def stop(self, wait_for_pages: float = 0) -> None:
        """Stop the learners' pages (waiting up to ``wait_for_pages`` s for them), then the hub and its proxy."""
        if self.proc is not None and self.proc.poll() is None:
            for name in self.learners:  # cleanup_servers is off: stop learners' pages first
                self.api("DELETE", f"/users/{name}/server")
            deadline = time.monotonic() + wait_for_pages
            while self.learners and time.monotonic() < deadline:
                if not any((self.api("GET", f"/users/{name}")[1] or {}).get("servers") for name in self.learners):
                    break
                time.sleep(1)
        self.stop_hub()

    def service_processes(self) -> dict[int, str]:
        """pid -> service name of every process this hub started as a service (JUPYTERHUB_SERVICE_NAME
        in its environment, with this hub's API port in JUPYTERHUB_API_URL), as /proc shows them now."""
        found = {}
        api = f"JUPYTERHUB_API_URL=http://127.0.0.1:{self.api_port}/".encode()
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                environ = (entry / "environ").read_bytes().split(b"\0")
                if (entry / "stat").read_text().split(")")[-1].split()[0] == "Z":
                    continue  # ended, not yet reaped
            except OSError:
                continue
            names = [v.split(b"=", 1)[1].decode() for v in environ if v.startswith(b"JUPYTERHUB_SERVICE_NAME=")]
            if names and any(v.startswith(api) for v in environ):
                found[int(entry.name)] = names[0]
        return found

    def stop_hub(self) -> None:
        """Stop the hub (SIGTERM, then SIGKILL after 30 s) and its proxy, leaving learners' pages running."""
        if self.proc is not None and self.proc.poll() is None:
            for sig, wait in ((signal.SIGTERM, 30), (signal.SIGKILL, 10)):
                try:
                    os.killpg(self.proc.pid, sig)
                    self.proc.wait(timeout=wait)
                    break
                except (ProcessLookupError, subprocess.TimeoutExpired):
                    continue
        for pidfile in ("proxy.pid",):  # a proxy left behind by a killed hub
            try:
                os.kill(int((self.state / "hub" / pidfile).read_text()), signal.SIGKILL)
            except (OSError, ValueError):
                pass
        if getattr(self, "log", None):
            self.log.close()
