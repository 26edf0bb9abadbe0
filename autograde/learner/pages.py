"""The learner's pages, served by their own Jupyter server under ``<base>/hcwh/``.

``/hcwh/``                  My modules: the exchange's "my plan" (due dates, status, feedback ready),
                            a Start/Open button per module, Submit
``/hcwh/fetch/<module>``    (POST) fetch the module if it is not here yet, then open it as its page (Voilà)
``/hcwh/submit/<module>``   (POST) submit, then say what was sent: the module, the time on the
                            exchange's receipt, how many answers, each reflection's word count
``/hcwh/feedback/<module>`` fetch the released feedback and show it as a page (``results.json``,
                            written by the trainer's feedback step: autograde/course/results.py)
``/hcwh/acknowledge/<module>``  the standard's commitment, quoted verbatim; the learner types their
                            name (shown beside the account it is bound to), ticks and sends, or says
                            "I have a question for my supervisor"; the exchange service records it
``/hcwh/how``               How this course works, and whom to call
``/hcwh/page.js``           the module page's own script (static/page.js: the lost-connection banner,
                            reflections kept in the browser until saved, focus on role-play reactions),
                            loaded by the Voilà template ``hcwh`` (share/voila/templates/hcwh, found
                            through ``JUPYTER_PATH`` = ``VOILA_DATA``) with the links and the idle warning

Fetch, submit and fetch feedback are nbgrader's own exchange steps, through the plugins chosen in
the learners' nbgrader config (the hub exchange: autograde/exchange/client.py), with the server's
own hub token: the exchange decides who the learner is and keeps the time. Nothing here reads
another learner's data or a key: the plan is the caller's own, and results exist only once a
trainer has released feedback. Every page has a "Get help" link (``HCWH_HELP_CONTACT``).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.utils import url_path_join
from markupsafe import Markup
from tornado import web

from autograde.config import Settings
from autograde.exchange.names import RESULTS_FILE

PREFIX = "hcwh"
HELP_ENV = "HCWH_HELP_CONTACT"
JUPYTERLAB_ENV = "HCWH_JUPYTERLAB_LINK"  # "1": this learner may also open JupyterLab (hub/jupyterhub_config.py)
MODULE = re.compile(r"^[0-9]{2}-[a-z][a-z-]*$")  # a module id (curriculum/schema.py Module.id)
STATUS_WORDS = {"not started": "Not started", "overdue": "Overdue: not submitted by the due date",
                "submitted": "Submitted", "submitted late": "Submitted after the due date (late)"}

HERE = Path(__file__).parent
VOILA_DATA = HERE / "share"  # a Jupyter data folder: voila/templates/hcwh (the module page's template)
TEMPLATES = jinja2.Environment(loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
                               autoescape=True, undefined=jinja2.StrictUndefined)


# -- pure parts ------------------------------------------------------------------------


def module_title(module_id: str) -> str:
    """``01-authenticity`` -> ``Module 01: Authenticity``."""
    number, _, name = module_id.partition("-")
    return f"Module {number}: {name.replace('-', ' ').capitalize()}"


def answer_summary(answers: dict) -> dict:
    """What a submission of this answers file carries, in words a learner knows: questions answered,
    role-plays played to an ending, and each typed reflection's word count (in the module's order
    of typing is unknown here: by grade id, which follows the module)."""
    questions = answers.get("questions") if isinstance(answers.get("questions"), dict) else {}
    plays = answers.get("roleplays") if isinstance(answers.get("roleplays"), dict) else {}
    typed = answers.get("reflections") if isinstance(answers.get("reflections"), dict) else {}
    answered = sum(1 for v in questions.values() if v not in (None, "", []))
    played = sum(1 for v in plays.values() if isinstance(v, dict) and v.get("completed"))
    words = [len(v.split()) for _, v in sorted(typed.items()) if isinstance(v, str) and v.strip()]
    return {"questions": answered, "roleplays": played, "reflections": words}


def city_time(iso: str | None, tz: str) -> str:
    """A receipt's time (ISO, UTC) on the city's clock, as a person reads it."""
    if not iso:
        return ""
    t = datetime.fromisoformat(iso).astimezone(ZoneInfo(tz))
    return f"{t.day} {t:%B %Y} at {t:%H:%M:%S}"


def day(iso_date: str | None) -> str:
    if not iso_date:
        return ""
    d = date.fromisoformat(iso_date)
    return f"{d.day} {d:%B %Y}"


def rows(plan: dict, fetched: set[str], standards: set[str] = frozenset()) -> list[dict]:
    """The list's rows: the plan's modules with their words and which buttons they get
    (``standards``: the fetched modules that teach a standard, so have a commitment to acknowledge)."""
    out = []
    for m in plan.get("modules", []):
        submitted = m.get("submissions", 0) > 0
        out.append({**m, "title": module_title(m["module"]), "status_words": STATUS_WORDS.get(m["status"], m["status"]),
                    "due_words": day(m.get("due_date")), "fetched": m["module"] in fetched,
                    "submitted": submitted, "acknowledge": submitted and m["module"] in standards,
                    "clock_warning": m.get("clock_warning", "")})  # only a late mark on an unset clock has one
    return out


def teaches_a_standard(notebook: Path) -> bool:
    """Whether a fetched module teaches one standard (its notebook's ``metadata.curriculum.standard``)."""
    try:
        return bool(json.loads(notebook.read_text(encoding="utf-8")).get("metadata", {}).get("curriculum", {})
                    .get("standard"))
    except (OSError, ValueError, AttributeError):
        return False


# -- the exchange, as nbgrader's own steps -----------------------------------------------


class ExchangeSteps:
    """nbgrader's exchange steps for the learner whose server this is, in ``root`` (their home)."""

    def __init__(self, root: Path):
        self.root = root

    def _config(self):
        from nbgrader.apps import NbGrader

        app = NbGrader()
        app.load_cwd_config = False  # the learners' nbgrader config only (JUPYTER_CONFIG_PATH), not a file in ~
        app.load_config_file()
        return app.config

    def _step(self, kind: str, module: str | None = None):
        from nbgrader.auth import Authenticator
        from nbgrader.coursedir import CourseDirectory
        from nbgrader.exchange import ExchangeFactory

        config = self._config()
        coursedir = CourseDirectory(config=config)
        if module:
            coursedir.assignment_id = module
        step = getattr(ExchangeFactory(config=config), kind)(
            coursedir=coursedir, authenticator=Authenticator(config=config), config=config)
        step.assignment_dir = str(self.root)
        return step

    def _service(self):
        """The hub exchange's client (its "my plan" and receipts exist only there)."""
        from nbgrader.exchange import ExchangeError

        lister = self._step("List")
        if not hasattr(lister, "get_json"):
            raise ExchangeError("My modules needs the course's hub exchange (HCWH_EXCHANGE=hub); this server uses "
                                "nbgrader's shared folder")
        return lister

    def plan(self) -> dict:
        return self._service().get_json("plan")

    def receipts(self, module: str) -> list[dict]:
        return self._service().get_json("submissions", {"module": module})

    def fetch(self, module: str) -> None:
        self._step("FetchAssignment", module).start()

    def submit(self, module: str) -> dict:
        self._step("Submit", module).start()
        return self.receipts(module)[-1]

    def acknowledgement(self, module: str) -> dict:
        """The module's commitment, its version and this learner's own records, from the exchange."""
        return self._service().get_json(f"acknowledgements/{module}")

    def acknowledge(self, module: str, typed_name: str, choice: str, confirmed: bool) -> dict:
        body = json.dumps({"typed_name": typed_name, "choice": choice, "confirmed": confirmed}).encode()
        data, _ = self._service().request("POST", f"acknowledgements/{module}", body,
                                          headers={"Content-Type": "application/json"})
        return json.loads(data)

    def feedback(self, module: str) -> dict | None:
        """Fetch the released feedback, then the newest ``results.json`` fetched."""
        self._step("FetchFeedback", module).start()
        found = sorted((self.root / module / "feedback").glob(f"*/{RESULTS_FILE}"))
        return json.loads(found[-1].read_text(encoding="utf-8")) if found else None


# -- handlers --------------------------------------------------------------------------------


class Page(JupyterHandler):
    """Every page: the server's own login (the learner), the layout with "Get help"."""

    @property
    def root(self) -> Path:
        return Path(self.settings["hcwh_root"])

    @property
    def steps(self) -> ExchangeSteps:
        return ExchangeSteps(self.root)

    def link(self, *parts: str) -> str:
        return url_path_join(self.base_url, PREFIX, *parts)

    def page_url(self, module: str) -> str:
        return url_path_join(self.base_url, "voila", "render", module, f"{module}.ipynb")

    def show(self, template: str, status: int = 200, **values: Any) -> None:
        values.setdefault("problem", None)
        self.set_status(status)
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.finish(TEMPLATES.get_template(template).render(
            home=self.link(""), how=self.link("how"), idle_notice=self.link("idle-notice.js"), help=self.link("how") + "#get-help",
            help_contact=os.environ.get(HELP_ENV) or "your trainer",
            jupyterlab=url_path_join(self.base_url, "lab") if os.environ.get(JUPYTERLAB_ENV) == "1" else None,
            xsrf=Markup(self.xsrf_form_html()), **values))

    def module(self, value: str) -> str:
        if not MODULE.match(value):
            raise web.HTTPError(404, f"'{value}' is not a module")
        return value

    async def run(self, fn, *args):
        """An exchange step (blocking HTTP to the exchange) off the server's loop; (result, error words)."""
        from nbgrader.exchange import ExchangeError

        try:
            return await asyncio.get_running_loop().run_in_executor(None, fn, *args), None
        except ExchangeError as exc:
            return None, str(exc) or "the course exchange refused the request"

    def write_error(self, status_code: int, **kwargs) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        words = getattr(exc, "log_message", None) or self._reason
        self.show("problem.html.j2", status=status_code, title="Something went wrong", problem=words)


class MyModules(Page):
    @web.authenticated
    async def get(self):
        await self.render_list()

    async def render_list(self, problem: str | None = None, status: int = 200):
        plan, error = await self.run(self.steps.plan)
        fetched = {p.name for p in self.root.iterdir() if (p / f"{p.name}.ipynb").is_file()} if self.root.is_dir() else set()
        standards = {m for m in fetched if teaches_a_standard(self.root / m / f"{m}.ipynb")}
        listed = rows(plan, fetched, standards) if plan else []
        for r in listed:
            r.update(open=self.page_url(r["module"]), fetch=self.link("fetch", r["module"]),
                     submit=self.link("submit", r["module"]), feedback_url=self.link("feedback", r["module"]),
                     acknowledge_url=self.link("acknowledge", r["module"]))
        self.show("modules.html.j2", status=status if not error else 502, title="My modules", modules=listed,
                  on_roster=bool(plan and plan.get("on_roster")), problem=problem or error)


class Fetch(MyModules):
    @web.authenticated
    async def post(self, module):
        module = self.module(module)
        if not (self.root / module / f"{module}.ipynb").is_file():
            _, error = await self.run(self.steps.fetch, module)
            if error:
                return await self.render_list(f"{module_title(module)} could not be opened: {error}", 502)
        self.redirect(self.page_url(module))


class Submit(MyModules):
    @web.authenticated
    async def post(self, module):
        module = self.module(module)
        folder = self.root / module
        if not (folder / f"{module}.ipynb").is_file():
            return await self.render_list(f"{module_title(module)} is not here yet: open it first.", 409)
        try:
            answers = json.loads((folder / "answers.json").read_text(encoding="utf-8"))
        except FileNotFoundError:
            answers = {}
        except (OSError, ValueError) as exc:
            return await self.render_list(f"{module_title(module)} was not submitted: your answers file "
                                          f"{folder / 'answers.json'} cannot be read ({exc}).", 409)
        receipt, error = await self.run(self.steps.submit, module)
        if error:
            return await self.render_list(f"{module_title(module)} was not submitted: {error}", 502)
        plan, _ = await self.run(self.steps.plan)
        row = next((m for m in (plan or {}).get("modules", []) if m["module"] == module), {})
        tz = Settings.from_env().timezone
        self.show("submitted.html.j2", title="Submitted", module=module_title(module),
                  received=city_time(receipt["received_at"], tz), version=receipt["version"],
                  sent=answer_summary(answers if isinstance(answers, dict) else {}),
                  late=row.get("status") == "submitted late", due=day(row.get("due_date")),
                  acknowledge=self.link("acknowledge", module)
                  if teaches_a_standard(folder / f"{module}.ipynb") else None)


class Feedback(Page):
    @web.authenticated
    async def get(self, module):
        module = self.module(module)
        plan, error = await self.run(self.steps.plan)
        released = any(m["module"] == module and m.get("feedback") for m in (plan or {}).get("modules", []))
        results = None
        if released:  # the exchange has feedback for their last submission: fetch it
            results, error = await self.run(self.steps.feedback, module)
        if results is None:
            # nothing released for this learner yet (the exchange says 404) or an older page without results
            return self.show("feedback.html.j2", title=f"Feedback: {module_title(module)}", module=module_title(module),
                             results=None, problem=error)
        self.show("feedback.html.j2", title=f"Feedback: {module_title(module)}", module=module_title(module),
                  results=results, problem=None)


class Acknowledge(Page):
    """The commitment, quoted verbatim, and the learner's signature or question (recorded by the exchange)."""

    async def page(self, module: str, problem: str | None = None, status: int = 200, recorded: dict | None = None):
        about, error = await self.run(self.steps.acknowledgement, module)
        tz = Settings.from_env().timezone
        if about:
            for r in about["records"]:
                r["when"] = city_time(r["recorded_at"], tz)
        if recorded:
            recorded["when"] = city_time(recorded["recorded_at"], tz)
        done = bool(about) and any(r["choice"] == "acknowledged" and r["version"] == about["version"]
                                   for r in about["records"])
        self.show("acknowledge.html.j2", status=status if not error else 502,
                  title=f"Acknowledge: {module_title(module)}", module=module_title(module), about=about,
                  action=self.link("acknowledge", module), done=done, recorded=recorded,
                  typed=self.get_body_argument("typed_name", "") if self.request.method == "POST" else "",
                  problem=problem or error)

    @web.authenticated
    async def get(self, module):
        await self.page(self.module(module))

    @web.authenticated
    async def post(self, module):
        module = self.module(module)
        choice = self.get_body_argument("choice", "")
        row, error = await self.run(self.steps.acknowledge, module, self.get_body_argument("typed_name", ""),
                                    choice, self.get_body_argument("confirmed", "") == "yes")
        if error:
            return await self.page(module, f"Not recorded: {error}", 409)
        await self.page(module, recorded=row)


class How(Page):
    @web.authenticated
    def get(self):
        self.show("how.html.j2", title="How this course works")


class PageScript(JupyterHandler):
    @web.authenticated
    def get(self):
        self.set_header("Content-Type", "text/javascript; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.finish((HERE / "static" / "page.js").read_text(encoding="utf-8"))


def handlers(base_url: str) -> list:
    base = url_path_join(base_url, PREFIX)
    return [
        (base + "/?", MyModules),
        (base + r"/fetch/([^/]+)", Fetch),
        (base + r"/submit/([^/]+)", Submit),
        (base + r"/feedback/([^/]+)", Feedback),
        (base + r"/acknowledge/([^/]+)", Acknowledge),
        (base + "/how", How),
        (base + "/page.js", PageScript),
    ]
