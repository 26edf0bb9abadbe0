"""Choosing the exchange: the filesystem one stays the default; the hub one is a setting, and a
wrong setting is a clear error naming the variable. No hub needed."""

from __future__ import annotations

import pytest
from traitlets.config import Config

from autograde import exchange
from autograde.cli import main
from autograde.config import Settings
from autograde.course.nbconfig import nbgrader_config
from autograde.exchange.client import PLUGINS


def test_the_filesystem_exchange_stays_the_default(tmp_path):
    c = nbgrader_config(Settings(state_dir=tmp_path))
    assert c.Exchange.root == str(tmp_path / "exchange")
    # nbgrader's own shared-folder exchange; its collect keeps a learner's links as links, and its
    # submit fills the reflections from answers.json into the copies it makes
    assert dict(c.ExchangeFactory) == {"collect": "autograde.grading.nbhooks.LinkKeepingCollect",
                                       "submit": "autograde.grading.nbhooks.ReflectionFillingSubmit"}


def test_hcwh_exchange_hub_selects_every_plugin(tmp_path, monkeypatch):
    monkeypatch.setenv("HCWH_STATE_DIR", str(tmp_path))
    monkeypatch.setenv("HCWH_EXCHANGE", "hub")
    monkeypatch.setenv("HCWH_EXCHANGE_URL", "http://127.0.0.1:8000/services/hcwh-exchange/")
    c = nbgrader_config(Settings.from_env())
    assert dict(c.ExchangeFactory) == {
        "exchange": "autograde.exchange.client.HubExchange",
        "fetch_assignment": "autograde.exchange.client.HubExchangeFetchAssignment",
        "fetch_feedback": "autograde.exchange.client.HubExchangeFetchFeedback",
        "release_assignment": "autograde.exchange.client.HubExchangeReleaseAssignment",
        "release_feedback": "autograde.exchange.client.HubExchangeReleaseFeedback",
        "list": "autograde.exchange.client.HubExchangeList",
        "submit": "autograde.exchange.client.HubExchangeSubmit",
        "collect": "autograde.exchange.client.HubExchangeCollect",
    }
    assert len(PLUGINS) == 8
    assert c.HubExchange.url == "http://127.0.0.1:8000/services/hcwh-exchange/"
    assert "root" not in c.Exchange


@pytest.mark.parametrize("env, message", [
    ({"HCWH_EXCHANGE": "hub"}, "HCWH_EXCHANGE=hub needs HCWH_EXCHANGE_URL"),
    ({"HCWH_EXCHANGE": "ftp"}, "HCWH_EXCHANGE='ftp' is not an exchange (known: filesystem, hub)"),
])
def test_a_wrong_exchange_setting_is_a_clear_error(tmp_path, monkeypatch, capsys, env, message):
    monkeypatch.delenv("HCWH_EXCHANGE_URL", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert main(["--state-dir", str(tmp_path), "collect"]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "course").exists()  # nothing written


def test_apply_hub_config_merges_into_what_the_hub_already_has(tmp_path):
    c = Config()
    c.JupyterHub.services = [{"name": "formgrader", "url": "http://127.0.0.1:9999"}]
    c.JupyterHub.load_roles = [{"name": "user", "scopes": ["self", "access:services!service=formgrader"]}]
    exchange.apply_hub_config(c, Settings(state_dir=tmp_path), port=10101, trainer_services=("formgrader",))
    assert [s["name"] for s in c.JupyterHub.services] == ["formgrader", "hcwh-exchange"]
    spec = c.JupyterHub.services[1]
    assert spec["url"] == "http://127.0.0.1:10101" and spec["environment"]["HCWH_STATE_DIR"] == str(tmp_path)
    user = next(r for r in c.JupyterHub.load_roles if r["name"] == "user")
    assert user["scopes"] == ["self", "access:services!service=formgrader", "access:services!service=hcwh-exchange"]
    trainer = next(r for r in c.JupyterHub.load_roles if r["name"] == "hcwh-exchange-trainer")
    assert trainer["groups"] == ["trainers"] and trainer["services"] == ["formgrader"]
    assert "custom:hcwh-exchange:trainer" in trainer["scopes"]
    assert "custom:hcwh-exchange:trainer" in c.JupyterHub.custom_scopes
