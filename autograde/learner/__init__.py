"""The learner's own pages in their server: their modules, submit, feedback, how the course works.

A Jupyter server extension (``autograde.learner``), enabled for learners by the hub's learner
config (``hub/jupyterhub_config.py``); its pages are under ``/user/<login>/hcwh/``
(``pages.py``). It runs in the learner's own server, as the learner, and reaches the hub
exchange with the server's own hub token, so the exchange says who they are.
"""

from __future__ import annotations


def _jupyter_server_extension_points():
    return [{"module": "autograde.learner"}]


def _load_jupyter_server_extension(serverapp) -> None:
    from autograde.learner.pages import handlers

    import os

    web_app = serverapp.web_app
    web_app.settings["hcwh_root"] = os.path.expanduser(serverapp.root_dir)  # the learner's home: their modules
    web_app.add_handlers(".*$", handlers(web_app.settings["base_url"]))
