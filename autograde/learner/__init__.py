"""The learner's own pages in their server: their modules, submit, feedback, how the course works.

A Jupyter server extension (``autograde.learner``), enabled for learners by the hub's learner
config (``hub/jupyterhub_config.py``); its pages are under ``/user/<login>/hcwh/``
(``pages.py``). It runs in the learner's own server, as the learner, and reaches the hub
exchange with the server's own hub token, so the exchange says who they are.
"""

from __future__ import annotations

VOILA_TEMPLATE = "hcwh"  # share/voila/templates/hcwh: the module page's template
# The module page's Voilà settings, for every learner server of the hub (hub/jupyterhub_config.py) and
# the tests' (tests/e2e/test_browser.py's Lab). Only the two front-end extensions the widgets need are
# loaded into the page; Voilà otherwise loads every one installed (nbgrader's, Notebook's, Voilà's lab
# preview, Pygments'), whose plugins a learner's page has no use for. Measured in Chromium
# (benchmarks/page_ready.py, README *Hub under load*), runs interleaved: ready with an empty cache in
# 3.61 and 3.93 s (medians) instead of 4.03 s; with cached scripts, the same (2.68, 2.69 and 2.74 s).
VOILA_CONFIGURATION = {"template": VOILA_TEMPLATE,
                       "extension_allowlist": ["@jupyter-widgets/jupyterlab-manager", "@voila-dashboards/widgets-manager8"]}

# The learner server's kernel manager: the module page opened last is kept prepared for its next open
# (prepared.py)
KERNEL_MANAGER = "autograde.learner.prepared.PreparedPageKernelManager"


def _jupyter_server_extension_points():
    return [{"module": "autograde.learner"}]


def _load_jupyter_server_extension(serverapp) -> None:
    from autograde.learner.pages import handlers

    import os

    web_app = serverapp.web_app
    web_app.settings["hcwh_root"] = os.path.expanduser(serverapp.root_dir)  # the learner's home: their modules
    web_app.add_handlers(".*$", handlers(web_app.settings["base_url"]))
    prepare = getattr(serverapp.kernel_manager, "prepare_at_start", None)  # prepared.py's kernel manager
    if prepare is not None:
        from tornado.ioloop import IOLoop

        IOLoop.current().add_callback(prepare)
