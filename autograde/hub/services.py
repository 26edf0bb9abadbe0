"""Two hub services, run by the hub as the course account (``hub/jupyterhub_config.py``):

- ``python -m autograde.hub.services console``: the trainer console. Four buttons, Collect,
  Autograde, Feedback and HR report, each calling the plain function ``hcwh`` calls
  (``cycle.collect``, ``cycle.autograde``, ``cycle.feedback``, ``report.write_report``), one at
  a time, and each logged with the trainer's hub name to ``<state>/logs/trainer-console.log``
  (one JSON line: time UTC, trainer, action, result). A link opens formgrader in its own tab.
  Its *Grader calibration* screen (``calibrate/``) is where trainers double-grade sampled reflections blind.
- ``python -m autograde.hub.services report``: HR's latest report, read-only: the newest
  snapshot's ``report.html`` and its CSV/XLSX files, served with
  ``Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline'; img-src data:``.

Who may open each is the hub's decision (``access:services!service=<name>``, given to the
``trainers`` and ``hr`` groups); ``HubOAuthenticated`` refuses everyone else with 403.
"""

from __future__ import annotations

import asyncio
import html
import json
import os
import sys
import threading
import traceback
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlparse

from jupyterhub.services.auth import HubOAuthCallbackHandler, HubOAuthenticated
from jupyterhub.utils import url_path_join
from tornado import ioloop, web

from autograde.config import Settings
from autograde.hub import seclog

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
HELP = os.environ.get("HCWH_HELP_CONTACT", "your trainer (the city's help contact is still to confirm)")

PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font-family:sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;line-height:1.5}}
button{{font-size:1.1rem;padding:.5rem 1rem;margin:.3rem 0}} pre{{background:#f4f4f4;padding:.8rem;white-space:pre-wrap}}
.msg{{border-left:4px solid #2a6;padding:.4rem .8rem;background:#eef8f0}}</style></head>
<body><main>{body}</main><footer><p>Need help? Contact {help}.</p></footer></body></html>"""


def page(title: str, body: str) -> str:
    return PAGE.format(title=html.escape(title), body=body, help=html.escape(HELP))


class Base(HubOAuthenticated, web.RequestHandler):
    def set_default_headers(self):
        self.set_header("Content-Security-Policy", CSP + "; frame-ancestors 'none'; form-action 'self'")
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Referrer-Policy", "no-referrer")
        self.set_header("Cache-Control", "no-store")

    def write_error(self, status_code, **kwargs):
        words = {403: "This page is not for your account. If you think it should be, ask for help.",
                 404: "There is nothing here."}.get(status_code, "Something went wrong on our side. Try again in a "
                                                                 "minute; if it keeps happening, ask for help.")
        self.finish(page("Not available", f"<h1>{html.escape(words)}</h1>"))


# -- the trainer console ------------------------------------------------------------

ACTIONS = {
    "collect": "Collect submissions",
    "autograde": "Autograde",
    "feedback": "Release feedback",
    "report": "Make the HR report",
}


def run_action(s: Settings, action: str) -> list[str]:
    """The plain function behind each button; the lines it printed."""
    lines: list[str] = []
    if action == "collect":
        from autograde.course.cycle import collect

        collect(s, progress=lines.append)
    elif action == "autograde":
        from autograde.course.cycle import autograde

        report = autograde(s, progress=lines.append)
        lines += report.summary()
    elif action == "feedback":
        from autograde.course.cycle import feedback

        feedback(s, progress=lines.append)
    elif action == "report":
        from autograde.reporting.report import write_report

        files = write_report(s)
        lines.append(f"Report snapshot: {files.folder.name} (HR sees it now)")
    else:
        raise web.HTTPError(404)
    return lines


class Console(Base):
    lock = threading.Lock()
    last: dict[str, object] = {}

    def settings_(self) -> Settings:
        return Settings.from_env()

    def log_action(self, trainer: str, action: str, result: str, detail: str = "") -> None:
        folder = self.settings_().state_dir / "logs"
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        line = json.dumps({"time": datetime.now(timezone.utc).isoformat(timespec="seconds"), "trainer": trainer,
                           "action": action, "result": result, "detail": detail[-2000:]})
        fd = os.open(folder / "trainer-console.log", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as f:
            f.write(line + "\n")
        print(line, flush=True)
        seclog.record(self.settings_().state_dir, "console.action", trainer, action, result.split(":")[0],
                      source=self.request.remote_ip, service="trainer-console")

    @web.authenticated
    def get(self):
        user = self.get_current_user()
        seclog.record(self.settings_().state_dir, "console.open", user["name"], "trainer-console", "ok",
                      source=self.request.remote_ip, service="trainer-console")
        prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/")
        formgrader = url_path_join(os.environ.get("JUPYTERHUB_BASE_URL", "/"), "services/formgrader/formgrader")
        buttons = "".join(
            f'<form method="post" action="{html.escape(url_path_join(prefix, "run", key))}">'
            f'<input type="hidden" name="_xsrf" value="{html.escape(self.xsrf_token.decode())}">'
            f'<button type="submit">{html.escape(label)}</button></form>'
            for key, label in ACTIONS.items())
        last = ""
        if self.last.get("trainer") == user["name"]:
            last = (f'<div class="msg" role="status"><p>{html.escape(str(self.last["label"]))}: '
                    f'{html.escape(str(self.last["result"]))}</p><pre>{html.escape(str(self.last["detail"]))}</pre></div>')
        self.finish(page("Trainer console", f"""<h1>Trainer console</h1>
<p>Logged in as {html.escape(user["name"])}. Each button does one step for every released module; it may take a
few minutes. What you do here is recorded with your name.</p>{last}
{buttons}
<p><a href="{html.escape(formgrader)}" target="_blank" rel="noopener">Open formgrader (grade reflections) in a new tab</a></p>
<p><a href="{html.escape(url_path_join(prefix, "calibrate"))}">Grader calibration: score the reflections chosen for double grading</a></p>
<p><a href="{html.escape(url_path_join(os.environ.get("JUPYTERHUB_BASE_URL", "/"), "hub/logout"))}">Log out</a></p>"""))

    @web.authenticated
    async def post(self, action: str):
        if action not in ACTIONS:
            raise web.HTTPError(404)
        trainer = self.get_current_user()["name"]
        if not self.lock.acquire(blocking=False):
            Console.last = {"trainer": trainer, "label": ACTIONS[action], "result": "not started",
                            "detail": "Another step is still running. Wait for it to finish, then try again."}
            self.log_action(trainer, action, "refused: another step is running")
            return self.redirect(os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/"))
        try:
            self.log_action(trainer, action, "started")
            try:
                lines = await asyncio.get_running_loop().run_in_executor(None, run_action, self.settings_(), action)
                result, detail = "done", "\n".join(lines)
            except Exception as exc:  # noqa: BLE001 (the trainer must hear what failed, in the page)
                result, detail = f"failed: {exc}", traceback.format_exc(limit=3)
            self.log_action(trainer, action, result, detail)
            Console.last = {"trainer": trainer, "label": ACTIONS[action], "result": result, "detail": detail}
        finally:
            self.lock.release()
        self.redirect(os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/"))


# -- grader calibration: the second grader's blind screen ------------------------------

class Calibration(Console):
    """The trainers' double-grading screen (``autograde/course/calibration.py``), inside the console, so
    the console's hub role decides who may open it. A grader sees the learner's words, the prompt and the
    rubric, and their own scores only: never another grader's scores or name, the gradebook's score, or
    the learner's name. The words are read from the submitted notebook here and shown nowhere else."""

    def _link(self, *parts: str) -> str:
        return html.escape(url_path_join(os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/"), "calibrate", *parts))

    @web.authenticated
    def get(self, sample_id: str | None = None):
        from autograde.course import calibration

        trainer = self.get_current_user()["name"]
        s = self.settings_()
        if sample_id is None:
            return self._list(s, trainer)
        try:
            v = calibration.view(s, int(sample_id), trainer)
        except calibration.CalibrationError as exc:
            self.set_status(404)
            return self.finish(page("Grader calibration", f"<h1>Not available</h1><p>{html.escape(str(exc))}</p>"))
        self._form(v, v.own)

    def _list(self, s: Settings, trainer: str):
        from autograde.course import calibration

        def items(samples) -> str:
            return "".join(f'<li><a href="{self._link(str(x.id))}">Sample {x.id}: {html.escape(x.assignment)}, '
                           f'{html.escape(x.cell.removesuffix("-answer"))}</a></li>' for x in samples) or "<li>None.</li>"
        saved = self.get_argument("saved", "")
        note = (f'<div class="msg" role="status"><p>Your scores for sample {html.escape(saved)} are saved.</p></div>'
                if saved.isdigit() else "")
        self.finish(page("Grader calibration", f"""<h1>Grader calibration</h1>{note}
<p>Logged in as {html.escape(trainer)}. Each reflection below was chosen for double grading. Score each one on
its own, criterion by criterion: you do not see anyone else's scores, and nobody sees yours until the round's
agreement is reported, without names.</p>
<h2>To score</h2><ul>{items(calibration.to_score(s, trainer))}</ul>
<h2>You have scored</h2><p>You can change your scores until the final score is written.</p>
<ul>{items(calibration.scored_by(s, trainer))}</ul>
<p><a href="{html.escape(os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/"))}">Back to the trainer console</a></p>"""))

    def _form(self, v, chosen: list[float] | None, error: str = ""):
        fields = []
        for n, c in enumerate(v.reflection.rubric):
            steps = [i / 2 for i in range(int(c.points * 2) + 1)]
            radios = "".join(
                f'<input type="radio" id="c{n}-{i}" name="c{n}" value="{x:g}" required'
                f'{" checked" if chosen and chosen[n] == x else ""}>'
                f'<label for="c{n}-{i}">{x:g} {"point" if x == 1 else "points"}</label> ' for i, x in enumerate(steps))
            fields.append(f'<fieldset><legend>Criterion {n + 1} (up to {c.points:g}): {html.escape(c.text)}</legend>'
                          f'{radios}</fieldset>')
        alert = f'<div class="msg" role="alert"><p>{html.escape(error)}</p></div>' if error else ""
        if v.final:
            rows = "".join(f"<tr><th scope=\"row\">{n + 1}. {html.escape(c.text)}</th>"
                           f"<td>{html.escape(', '.join(f'{x:g}' for x in v.given[n]))}</td></tr>"
                           for n, c in enumerate(v.reflection.rubric))
            action = (f"<p>The final score, {v.final.score:g}, is in the gradebook ({html.escape(v.final.rule)}); "
                      "scores can no longer change. For the calibration meeting, the scores given (graders not "
                      "named, lowest first):</p><table><caption>Scores given per criterion</caption>"
                      f"<tr><th scope=\"col\">Criterion</th><th scope=\"col\">Scores</th></tr>{rows}</table>")
        else:
            action = (f'<form method="post" action="{self._link(str(v.sample.id))}">'
                      f'<input type="hidden" name="_xsrf" value="{html.escape(self.xsrf_token.decode())}">'
                      f'{"".join(fields)}<button type="submit">Save my scores</button></form>')
        self.finish(page(f"Grader calibration: sample {v.sample.id}", f"""<h1>Sample {v.sample.id}:
{html.escape(v.sample.assignment)}, {html.escape(v.reflection.id)}</h1>{alert}
<h2>The question</h2><p>{html.escape(v.reflection.prompt)}</p>
<h2>The learner's answer</h2><pre>{html.escape(v.text)}</pre>
<h2>Your scores</h2>{action}
<p><a href="{self._link()}">Back to the list</a></p>"""))

    @web.authenticated
    def post(self, sample_id: str):
        from autograde.course import calibration

        trainer = self.get_current_user()["name"]
        s = self.settings_()
        try:
            v = calibration.view(s, int(sample_id), trainer)
        except calibration.CalibrationError:
            raise web.HTTPError(404)
        values = [self.get_body_argument(f"c{n}", "") for n in range(len(v.reflection.rubric))]
        try:
            calibration.score(s, v.sample.id, trainer, values)
        except calibration.CalibrationError as exc:
            self.set_status(400)
            return self._form(v, None, str(exc))
        self.log_action(trainer, "calibration score", "done", f"sample {v.sample.id}")
        self.redirect(url_path_join(os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/"), "calibrate") + f"?saved={v.sample.id}")


# -- HR's report ----------------------------------------------------------------------

def latest_snapshot(s: Settings) -> Path | None:
    folders = sorted(p for p in s.reports_dir.glob("*") if (p / "report.html").is_file()) if s.reports_dir.is_dir() else []
    return folders[-1] if folders else None


class Report(Base):
    @web.authenticated
    def get(self, name: str = "report.html"):
        s = Settings.from_env()
        snap = latest_snapshot(s)
        if snap is None:
            self.finish(page("HR report", "<h1>No report yet</h1><p>A trainer makes it from the trainer console. "
                                         "Come back later.</p>"))
            return
        files = {p.name: p for p in snap.iterdir() if p.is_file() and p.suffix in (".html", ".csv", ".xlsx")}
        who, source = self.get_current_user()["name"], self.request.remote_ip
        what = "report.open" if name.endswith(".html") else "report.download"
        if name not in files:
            seclog.record(s.state_dir, what, who, f"{snap.name}/{name}", "refused", source=source, service="hr-report",
                          detail="no such file")
            raise web.HTTPError(404)
        seclog.record(s.state_dir, what, who, f"{snap.name}/{name}", "ok", source=source, service="hr-report")
        kinds = {".html": "text/html; charset=utf-8", ".csv": "text/csv; charset=utf-8",
                 ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
        self.set_header("Content-Type", kinds[files[name].suffix])
        if files[name].suffix != ".html":
            self.set_header("Content-Disposition", f'attachment; filename="{snap.name}-{name}"')
        self.finish(files[name].read_bytes())

    def post(self, *args):
        raise web.HTTPError(405)


def make_app(kind: str) -> web.Application:
    prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/")
    routes = [(url_path_join(prefix, "oauth_callback"), HubOAuthCallbackHandler)]
    if kind == "console":
        routes += [(prefix, Console), (url_path_join(prefix, r"run/([a-z]+)"), Console),
                   (url_path_join(prefix, "calibrate"), Calibration),
                   (url_path_join(prefix, r"calibrate/([0-9]+)"), Calibration)]
    elif kind == "report":
        routes += [(prefix, Report), (url_path_join(prefix, r"files/([A-Za-z0-9._-]+)"), Report)]
    else:
        raise SystemExit(f"unknown service '{kind}' (console or report)")
    return web.Application(routes, cookie_secret=os.urandom(32), xsrf_cookies=True)


def main(argv: list[str] | None = None) -> None:
    kind = (argv or sys.argv[1:] or [""])[0]
    app = make_app(kind)
    url = urlparse(os.environ["JUPYTERHUB_SERVICE_URL"])
    app.listen(url.port, url.hostname or "127.0.0.1", xheaders=True)  # remote_ip: the browser's, from the proxy
    print(f"hcwh {kind} service on {url.hostname}:{url.port}", flush=True)
    from autograde.lifeline import end_with_parent

    end_with_parent(f"hcwh {kind} service")
    try:
        ioloop.IOLoop.current().start()
    except KeyboardInterrupt:  # the hub stopping us
        pass


if __name__ == "__main__":
    main()
