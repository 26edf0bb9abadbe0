"""Where the hub listens, and over what: loopback, TLS with the city's certificate, or a declared
TLS proxy in front (README "TLS and the origin").

- ``HCWH_HUB_IP`` loopback (the default, 127.0.0.1): plain HTTP, for the machine itself only.
- ``HCWH_TLS_CERT`` + ``HCWH_TLS_KEY``: the proxy (configurable-http-proxy, as its own account)
  serves HTTPS with the city CA's certificate (the chain, PEM) and key (PEM, mode 0600, the proxy
  account's own). No ACME. Any ``HCWH_HUB_IP`` may then be used.
- ``HCWH_TLS_PROXY=<address>``: the city's TLS reverse proxy at that address terminates TLS and
  forwards to the hub over the network; declared, so the hub may listen beyond loopback without
  its own certificate. IT limits the hub's port to that address (the host firewall).

Anything else beyond loopback is refused with a message naming the settings. With TLS on
(either way) every hub cookie is ``Secure`` and every hub response carries HSTS.

Standard library only; ``configure`` fills the JupyterHub config (``hub/jupyterhub_config.py``).
"""

from __future__ import annotations

import ipaddress
import pwd
import stat
from dataclasses import dataclass
from pathlib import Path

HSTS = "max-age=31536000"  # a year; no includeSubDomains: the city's other hosts are not ours to pin


class OriginError(Exception):
    """The hub cannot listen as asked; the message names the setting and the fix."""


@dataclass(frozen=True)
class Origin:
    ip: str
    port: int
    cert: Path | None = None      # the proxy serves TLS itself
    key: Path | None = None
    tls_proxy: str | None = None  # a declared TLS reverse proxy in front

    @property
    def tls(self) -> bool:
        return self.cert is not None or self.tls_proxy is not None

    @property
    def scheme(self) -> str:
        return "https" if self.cert is not None else "http"


def is_loopback(ip: str) -> bool:
    if ip == "localhost":
        return True
    try:
        return ipaddress.ip_address(ip).is_loopback
    except ValueError:
        return False  # "" (every interface), a host name: beyond loopback


def _check_key(key: Path, proxy_user: str | None) -> None:
    try:
        st = key.stat()
    except OSError as e:
        raise OriginError(f"HCWH_TLS_KEY={key}: cannot be read ({e.strerror})") from None
    if not stat.S_ISREG(st.st_mode):
        raise OriginError(f"HCWH_TLS_KEY={key}: not a regular file")
    if st.st_mode & 0o077:
        raise OriginError(f"HCWH_TLS_KEY={key} has mode {stat.S_IMODE(st.st_mode):04o}; the key must be 0600 "
                          f"(chmod 600 {key}), readable by the proxy's account only")
    if proxy_user is not None:
        uid = pwd.getpwnam(proxy_user).pw_uid
        if st.st_uid != uid:
            raise OriginError(f"HCWH_TLS_KEY={key} is owned by uid {st.st_uid}; the proxy runs as {proxy_user} and "
                              f"must own it (chown {proxy_user} {key})")


def origin_from_env(environ: dict, proxy_user: str | None = None) -> Origin:
    """The hub's origin from its settings; ``proxy_user``: the account that must own the key
    (None: not checked, the hub does not run as root)."""
    ip = environ.get("HCWH_HUB_IP") or "127.0.0.1"
    try:
        port = int(environ.get("HCWH_HUB_PORT") or "8000")
    except ValueError:
        raise OriginError(f"HCWH_HUB_PORT={environ.get('HCWH_HUB_PORT')!r} is not a port number") from None
    cert_s, key_s = (environ.get("HCWH_TLS_CERT") or "").strip(), (environ.get("HCWH_TLS_KEY") or "").strip()
    tls_proxy = (environ.get("HCWH_TLS_PROXY") or "").strip() or None
    if bool(cert_s) != bool(key_s):
        raise OriginError("HCWH_TLS_CERT and HCWH_TLS_KEY go together: the city CA's certificate (PEM) and its key")
    if cert_s and tls_proxy:
        raise OriginError("HCWH_TLS_CERT and HCWH_TLS_PROXY are both set: either the hub's proxy serves TLS itself, "
                          "or the city's TLS proxy in front does; choose one")
    if cert_s:
        cert, key = Path(cert_s), Path(key_s)
        if not cert.is_file():
            raise OriginError(f"HCWH_TLS_CERT={cert}: no such file (the city CA's certificate for this server, PEM)")
        if "BEGIN CERTIFICATE" not in cert.read_text(errors="replace"):
            raise OriginError(f"HCWH_TLS_CERT={cert}: not a PEM certificate")
        _check_key(key, proxy_user)
        return Origin(ip, port, cert=cert, key=key)
    if tls_proxy:
        return Origin(ip, port, tls_proxy=tls_proxy)
    if not is_loopback(ip):
        raise OriginError(f"HCWH_HUB_IP={ip or '(every interface)'} is beyond loopback, and there is no TLS: set "
                          f"HCWH_TLS_CERT and HCWH_TLS_KEY (the city CA's certificate and key), or HCWH_TLS_PROXY "
                          f"(the address of the city's TLS reverse proxy in front); logins would otherwise cross "
                          f"the network in clear text")
    return Origin(ip, port)


def configure(c, origin: Origin) -> None:
    """The JupyterHub settings for ``origin``: address, the proxy's certificate, Secure cookies, HSTS."""
    c.JupyterHub.ip = origin.ip
    c.JupyterHub.port = origin.port
    if origin.cert is not None:
        c.JupyterHub.ssl_cert = str(origin.cert)
        c.JupyterHub.ssl_key = str(origin.key)
    if origin.tls:
        tornado = dict(c.JupyterHub.get("tornado_settings", {}))
        tornado["headers"] = {**tornado.get("headers", {}), "Strict-Transport-Security": HSTS}
        # every hub cookie, _xsrf included (JupyterHub marks it Secure only from cookie_options)
        tornado["cookie_options"] = {**tornado.get("cookie_options", {}), "secure": True}
        c.JupyterHub.tornado_settings = tornado


def server_config(origin: Origin, extensions: dict[str, bool]) -> dict:
    """A single-user server's ``jupyter_server_config.json`` (learners' pages, formgrader): its server
    extensions and, with TLS, a Secure ``_xsrf`` cookie. The hub's cookie options already reach the
    server's login cookie (JUPYTERHUB_COOKIE_OPTIONS), but not the ``_xsrf`` that Jupyter Server and
    Voilà set through tornado, which is marked Secure only by ``xsrf_cookie_kwargs`` (measured: without
    it the learner's ``_xsrf`` came back without Secure over TLS)."""
    app: dict = {"jpserver_extensions": extensions}
    if origin.tls:
        app["tornado_settings"] = {"xsrf_cookie_kwargs": {"secure": True}}
    return {"ServerApp": app}


__all__ = ["HSTS", "Origin", "OriginError", "configure", "is_loopback", "origin_from_env", "server_config"]
