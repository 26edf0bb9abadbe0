"""The hub exchange: nbgrader's exchange as a hub service that vouches for who and when.

Two switches, one line each:

* the hub (``hub/jupyterhub_config.py``): ``apply_hub_config(c, settings)`` adds the managed
  service (``hub_service_spec``), its custom trainer scope, the scope every user needs to
  reach it, and a role giving trainers (a hub group, and any trainer-side services) the
  trainer scope;
* nbgrader (``autograde/config.py``, hence ``nbgrader_config.py`` and ``hcwh``):
  ``apply_nbgrader_config(c, url)`` chooses the plugins in ``client.py`` for every
  ``c.ExchangeFactory.*``. Set ``HCWH_EXCHANGE=hub`` and ``HCWH_EXCHANGE_URL``.
"""

from __future__ import annotations

import sys

from traitlets.config import Config

from autograde.config import Settings
from autograde.exchange.names import ACCESS_SCOPE, SERVICE_NAME, TRAINER_ROLE, TRAINER_SCOPE

__all__ = ["ACCESS_SCOPE", "SERVICE_NAME", "TRAINER_ROLE", "TRAINER_SCOPE", "apply_hub_config",
           "apply_nbgrader_config", "hub_roles", "hub_service_spec"]


def hub_service_spec(s: Settings, port: int = 10101, user: str | None = None, python: str | None = None) -> dict:
    """The managed hub service: the hub starts it as ``user`` (the course account; None: the
    hub's own account), on 127.0.0.1:``port``, with the course's state folder, run by
    ``python`` (the course environment's interpreter; default: the hub's own) with this
    checkout first on its path."""
    env = {"HCWH_STATE_DIR": str(s.state_dir), "HCWH_TIMEZONE": s.timezone, "PYTHONPATH": str(s.project)}
    spec = {
        "name": SERVICE_NAME,
        "url": f"http://127.0.0.1:{port}",
        "command": [python or sys.executable, "-m", "autograde.exchange.service"],
        "environment": env,
        "display": False,
        "oauth_no_confirm": True,
    }
    if user:
        spec["user"] = user
    return spec


def hub_roles(trainers_group: str = "trainers", trainer_services: tuple[str, ...] = ()) -> list[dict]:
    """The role that makes a trainer a trainer here (the group and trainer-side services)."""
    return [{
        "name": TRAINER_ROLE,
        "description": "release, collect and release feedback through the course exchange",
        "scopes": [TRAINER_SCOPE, ACCESS_SCOPE],
        "groups": [trainers_group],
        "services": list(trainer_services),
    }]


def apply_hub_config(c: Config, s: Settings, port: int = 10101, user: str | None = None,
                     trainers_group: str = "trainers", trainer_services: tuple[str, ...] = (),
                     python: str | None = None) -> Config:
    """Everything the hub needs for the exchange, merged into what ``c`` already has."""
    c.JupyterHub.services = [*c.JupyterHub.get("services", []), hub_service_spec(s, port, user, python)]
    c.JupyterHub.custom_scopes = {**c.JupyterHub.get("custom_scopes", {}), TRAINER_SCOPE: {
        "description": "a trainer of the course: release modules, collect submissions, release feedback"}}
    roles = [dict(r) for r in c.JupyterHub.get("load_roles", [])]
    user_role = next((r for r in roles if r["name"] == "user"), None)
    if user_role is None:
        roles.append({"name": "user", "scopes": ["self", ACCESS_SCOPE]})
    elif ACCESS_SCOPE not in user_role.get("scopes", []):
        user_role["scopes"] = [*user_role.get("scopes", ["self"]), ACCESS_SCOPE]
    c.JupyterHub.load_roles = roles + hub_roles(trainers_group, trainer_services)
    return c


def apply_nbgrader_config(c: Config, url: str) -> Config:
    """Every nbgrader exchange operation through the hub service at ``url``."""
    from autograde.exchange.client import PLUGINS

    for name, cls in PLUGINS.items():
        setattr(c.ExchangeFactory, name, f"{cls.__module__}.{cls.__name__}")
    c.HubExchange.url = url
    return c
