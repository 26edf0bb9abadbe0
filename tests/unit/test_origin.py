"""Issue 13, point 4: where the hub may listen (autograde/hub/origin.py), as pure rules.

The hub running over TLS is tests/e2e/test_isolation.py; the real hub refusing a bind beyond
loopback without TLS is tests/integration/test_hub_origin.py."""

from __future__ import annotations

import os
import pwd

import pytest
from traitlets.config import Config

from autograde.hub.origin import OriginError, configure, is_loopback, origin_from_env

CERT_TEXT = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


@pytest.fixture()
def pem(tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.write_text(CERT_TEXT)
    key.write_text("-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n")
    os.chmod(key, 0o600)
    return cert, key


@pytest.mark.parametrize("ip", ["127.0.0.1", "127.0.0.2", "::1", "localhost"])
def test_loopback_needs_no_tls(ip):
    o = origin_from_env({"HCWH_HUB_IP": ip, "HCWH_HUB_PORT": "8000"})
    assert (o.ip, o.port, o.tls, o.scheme) == (ip, 8000, False, "http")


@pytest.mark.parametrize("ip", ["0.0.0.0", "::", "10.1.2.3", "hub.city.example"])
def test_beyond_loopback_without_tls_is_refused_naming_the_settings(ip):
    with pytest.raises(OriginError) as e:
        origin_from_env({"HCWH_HUB_IP": ip})
    msg = str(e.value)
    assert f"HCWH_HUB_IP={ip}" in msg
    for setting in ("HCWH_TLS_CERT", "HCWH_TLS_KEY", "HCWH_TLS_PROXY"):
        assert setting in msg


def test_the_default_is_loopback():
    assert origin_from_env({}).ip == "127.0.0.1" and is_loopback("127.0.0.1") and not is_loopback("")


def test_every_interface_is_beyond_loopback():
    # JupyterHub reads an empty ip as every interface; HCWH_HUB_IP="" means the default (127.0.0.1)
    assert not is_loopback("") and not is_loopback("0.0.0.0")


def test_tls_with_the_city_certificate_allows_any_address(pem):
    cert, key = pem
    o = origin_from_env({"HCWH_HUB_IP": "0.0.0.0", "HCWH_TLS_CERT": str(cert), "HCWH_TLS_KEY": str(key)},
                        proxy_user=pwd.getpwuid(os.getuid()).pw_name)
    assert (o.cert, o.key, o.tls, o.scheme) == (cert, key, True, "https")


def test_a_declared_tls_proxy_allows_any_address():
    o = origin_from_env({"HCWH_HUB_IP": "10.1.2.3", "HCWH_TLS_PROXY": "10.1.2.1"})
    assert (o.tls, o.scheme, o.tls_proxy) == (True, "http", "10.1.2.1")


def test_a_key_others_can_read_is_refused(pem):
    cert, key = pem
    os.chmod(key, 0o640)
    with pytest.raises(OriginError, match=r"HCWH_TLS_KEY=.*mode 0640.*must be 0600"):
        origin_from_env({"HCWH_TLS_CERT": str(cert), "HCWH_TLS_KEY": str(key)})


def test_a_key_not_the_proxys_is_refused(pem):
    cert, key = pem
    other = next(p.pw_name for p in pwd.getpwall() if p.pw_uid != os.stat(key).st_uid)
    with pytest.raises(OriginError, match=rf"HCWH_TLS_KEY=.*the proxy runs as {other} and must own it"):
        origin_from_env({"HCWH_TLS_CERT": str(cert), "HCWH_TLS_KEY": str(key)}, proxy_user=other)


@pytest.mark.parametrize("env, words", [
    ({"HCWH_TLS_CERT": "/x/cert.pem"}, "HCWH_TLS_CERT and HCWH_TLS_KEY go together"),
    ({"HCWH_TLS_KEY": "/x/key.pem"}, "HCWH_TLS_CERT and HCWH_TLS_KEY go together"),
    ({"HCWH_TLS_CERT": "/nonexistent/cert.pem", "HCWH_TLS_KEY": "/nonexistent/key.pem"},
     "HCWH_TLS_CERT=/nonexistent/cert.pem: no such file"),
    ({"HCWH_HUB_PORT": "eighty"}, "HCWH_HUB_PORT='eighty' is not a port number"),
])
def test_unusable_settings_are_named(env, words):
    with pytest.raises(OriginError) as e:
        origin_from_env(env)
    assert words in str(e.value)


def test_a_certificate_that_is_not_pem_is_refused(pem):
    cert, key = pem
    cert.write_text("not a certificate")
    with pytest.raises(OriginError, match="not a PEM certificate"):
        origin_from_env({"HCWH_TLS_CERT": str(cert), "HCWH_TLS_KEY": str(key)})


def test_both_tls_ways_at_once_is_refused(pem):
    cert, key = pem
    with pytest.raises(OriginError, match="choose one"):
        origin_from_env({"HCWH_TLS_CERT": str(cert), "HCWH_TLS_KEY": str(key), "HCWH_TLS_PROXY": "10.0.0.1"})


def test_tls_on_sets_hsts_and_secure_cookies_and_keeps_other_tornado_settings(pem):
    cert, key = pem
    c = Config()
    c.JupyterHub.tornado_settings = {"headers": {"X-Other": "kept"}, "slow_ms": 5}
    configure(c, origin_from_env({"HCWH_TLS_CERT": str(cert), "HCWH_TLS_KEY": str(key)}))
    assert (c.JupyterHub.ssl_cert, c.JupyterHub.ssl_key) == (str(cert), str(key))
    t = c.JupyterHub.tornado_settings
    assert t["headers"] == {"X-Other": "kept", "Strict-Transport-Security": "max-age=31536000"}
    assert t["cookie_options"] == {"secure": True} and t["slow_ms"] == 5


def test_behind_a_tls_proxy_cookies_are_secure_without_a_certificate():
    c = Config()
    configure(c, origin_from_env({"HCWH_HUB_IP": "10.1.2.3", "HCWH_TLS_PROXY": "10.1.2.1"}))
    assert "ssl_cert" not in c.JupyterHub
    assert c.JupyterHub.tornado_settings["cookie_options"] == {"secure": True}
    assert c.JupyterHub.tornado_settings["headers"]["Strict-Transport-Security"] == "max-age=31536000"


def test_loopback_without_tls_sets_nothing_secure():
    c = Config()
    configure(c, origin_from_env({}))
    assert (c.JupyterHub.ip, c.JupyterHub.port) == ("127.0.0.1", 8000)
    assert "tornado_settings" not in c.JupyterHub and "ssl_cert" not in c.JupyterHub


def test_a_single_user_servers_xsrf_cookie_is_secure_only_with_tls(tmp_path):
    from autograde.hub.origin import Origin, server_config

    ext = {"autograde.learner": True}
    tls = Origin("127.0.0.1", 8000, cert=tmp_path / "c.pem", key=tmp_path / "k.pem")
    assert server_config(tls, ext) == {"ServerApp": {"jpserver_extensions": ext,
                                                     "tornado_settings": {"xsrf_cookie_kwargs": {"secure": True}}}}
    assert server_config(Origin("10.0.0.5", 8000, tls_proxy="10.0.0.1"), ext)["ServerApp"]["tornado_settings"] == {
        "xsrf_cookie_kwargs": {"secure": True}}
    assert server_config(Origin("127.0.0.1", 8000), ext) == {"ServerApp": {"jpserver_extensions": ext}}
