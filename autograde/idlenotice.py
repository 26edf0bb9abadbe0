"""The warning before an idle stop, with an "I need more time" button: a Jupyter server extension
loaded in each learner's page (``jupyterhub-singleuser``; enabled by the hub through the learners'
``jupyter_server_config.json``, ``hub/jupyterhub_config.py``).

The hub's idle culler (``jupyterhub-idle-culler``) stops a page whose last activity, as the hub
records it, is older than ``LearnerLimits.idle_timeout``. Any page can include the banner with one
line (the module page, JupyterLab, the module list)::

    <script src="{base_url}hcwh/idle-notice.js" defer></script>

``{base_url}`` being the learner's server (``/user/<login>/``). The script

- on load, and when the learner presses "I need more time", POSTs ``{base_url}hcwh/activity``:
  this server tells the hub "active now" at once (the hub's activity API, with the server's own
  token, as ``jupyterhub-singleuser`` does every 5 minutes) and answers when to warn and when the
  stop may come, in seconds from now (``autograde.limits.idle_notice_times``: one rule);
- shows the banner at the warning time, unless the learner clicked or typed in the page since
  (a click in a module page reaches its kernel: it is activity), in which case it tells the
  server so and waits again. It never polls: a request through the proxy is activity too, and a
  page that polled would never be idle.

Standard library, tornado and jupyter_server (the learner environment's). It lives at the top of
``autograde`` (not in ``autograde.hub``) because the learners' environment holds only ``autograde``'s
top-level modules and the exchange client (pyproject ``packages``).
"""

from __future__ import annotations

import json
import os
import time
from datetime import datetime, timezone

from jupyter_server.base.handlers import APIHandler, JupyterHandler
from jupyter_server.utils import url_path_join
from tornado import web
from tornado.httpclient import AsyncHTTPClient, HTTPClientError

from autograde.limits import LearnerLimits, idle_notice_times

SCRIPT = r"""(function () {
  "use strict";
  var me = document.currentScript;
  var base = new URL(me.src, location.href).pathname.replace(/hcwh\/idle-notice\.js$/, "");
  var timer = null, touched = false, banner = null, stopAt = 0;
  function xsrf() {
    var m = document.cookie.match(/(?:^|; )_xsrf=([^;]*)/);
    return m ? decodeURIComponent(m[1]) : "";
  }
  function clock(ms) {
    return new Date(ms).toLocaleTimeString([], {hour: "numeric", minute: "2-digit"});
  }
  function hide() { if (banner) { banner.remove(); banner = null; } }
  function show() {
    hide();
    banner = document.createElement("div");
    banner.id = "hcwh-idle-notice";
    banner.setAttribute("role", "alert");
    banner.style.cssText = "position:fixed;left:0;right:0;top:0;z-index:10000;padding:12px 16px;" +
      "background:#fff4ce;color:#1f1f1f;border-bottom:2px solid #8a6d00;font:16px/1.4 sans-serif;";
    var text = document.createElement("span");
    text.textContent = "You have not used this page for a while. It will close at about " + clock(stopAt) +
      " to make room for others. Your answers are saved. ";
    var button = document.createElement("button");
    button.type = "button";
    button.textContent = "I need more time";
    button.style.cssText = "font:inherit;margin-left:8px;padding:4px 12px;";
    button.addEventListener("click", function () { activity(); });
    banner.appendChild(text);
    banner.appendChild(button);
    document.body.appendChild(banner);
    button.focus();
  }
  function schedule(t) {
    clearTimeout(timer);
    touched = false;
    hide();
    stopAt = Date.now() + t.stop_from * 1000;
    timer = setTimeout(due, Math.max(0, t.warn_in) * 1000);
  }
  function due() { if (touched) { activity(); } else { show(); } }
  function activity() {
    return fetch(base + "hcwh/activity", {method: "POST", credentials: "same-origin",
                                          headers: {"X-XSRFToken": xsrf()}})
      .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.json(); })
      .then(schedule)
      .catch(function () { timer = setTimeout(activity, 30000); });  // the hub is restarting: try again
  }
  ["pointerdown", "keydown"].forEach(function (kind) {
    document.addEventListener(kind, function () { touched = true; }, {capture: true, passive: true});
  });
  activity();
})();
"""


def times_from(now: float, limits: LearnerLimits) -> dict:
    """The answer to the script: seconds from ``now`` (the activity just recorded) to the warning and the stop."""
    warn_at, stop_from, stop_by = idle_notice_times(now, limits)
    return {"warn_in": warn_at - now, "stop_from": stop_from - now, "stop_by": stop_by - now}


def activity_body(server_name: str, when: float) -> str:
    """What ``jupyterhub-singleuser`` posts to the hub's activity API: this server, active at ``when``."""
    stamp = datetime.fromtimestamp(when, timezone.utc).isoformat().replace("+00:00", "Z")
    return json.dumps({"servers": {server_name: {"last_activity": stamp}}, "last_activity": stamp})


class ScriptHandler(JupyterHandler):
    @web.authenticated
    def get(self):
        # The script's POST carries the server's _xsrf cookie: set it here, since a page with no form of
        # its own (the module page, Voilà's) never sets it, and the server would refuse the POST (403).
        self.xsrf_token  # noqa: B018 (tornado sets the cookie when the token is first read)
        self.set_header("Content-Type", "text/javascript; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.finish(SCRIPT)


class ActivityHandler(APIHandler):
    @web.authenticated
    async def post(self):
        now = time.time()
        url, token = os.environ.get("JUPYTERHUB_ACTIVITY_URL"), os.environ.get("JUPYTERHUB_API_TOKEN")
        if not url or not token:
            raise web.HTTPError(503, "this page does not run under the hub (no JUPYTERHUB_ACTIVITY_URL)")
        body = activity_body(os.environ.get("JUPYTERHUB_SERVER_NAME", ""), now)
        try:  # no thread: a page at its process cap can still say it is active
            await AsyncHTTPClient().fetch(url, method="POST", body=body, request_timeout=10, headers={
                "Authorization": f"token {token}", "Content-Type": "application/json"})
        except (OSError, HTTPClientError) as e:
            self.log.error("hcwh idle notice: telling the hub of activity failed: %s", e)
            raise web.HTTPError(502, "the hub did not take the activity") from None
        self.finish(json.dumps(times_from(now, self.settings["hcwh_limits"])))


def _jupyter_server_extension_points():
    return [{"module": "autograde.idlenotice"}]


def _load_jupyter_server_extension(serverapp):
    web_app = serverapp.web_app
    web_app.settings["hcwh_limits"] = LearnerLimits.from_env(os.environ)
    base = web_app.settings["base_url"]
    web_app.add_handlers(".*$", [(url_path_join(base, "hcwh/idle-notice.js"), ScriptHandler),
                                 (url_path_join(base, "hcwh/activity"), ActivityHandler)])
    serverapp.log.info("hcwh idle notice: %shcwh/idle-notice.js", base)
