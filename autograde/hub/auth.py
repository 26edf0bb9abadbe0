"""The pilot's authenticator: logins from ``logins.json`` (autograde/hub/logins.py), no sign-up.

- ``/hub/login``: login name and password. Wrong tries count; after ``MAX_FAILURES`` the login
  pauses for ``LOCK_MINUTES``. Every refusal is a sentence a new hire understands.
- ``/hub/enroll``: login name, the one-time code from the supervisor, and a new password typed
  twice; the code then stops working and the person is logged in.
- ``/hub/logout``: says 'You are logged out' (the page stops too: ``shutdown_on_logout``).
- ``/hub/home`` and ``/hub/token`` send each person to their own page instead (``landing``):
  learners to their training page (their own server), trainers to the trainer console, HR to
  the report. Nobody meets the hub's technical pages.
- Roles become hub groups (``learners``, ``trainers``, ``hr``; ``manage_groups``), which the
  hub's roles in ``hub/jupyterhub_config.py`` turn into what each may reach.
- A leaver (``hcwh roster leave``) is refused at the next request: ``refresh_user`` reads the
  store at most every ``auth_refresh_age`` seconds and before every spawn.

Checking a password happens in the handler (so its refusal can be shown in words); the
``authenticate`` JupyterHub then calls only accepts the name the handler has just checked.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from jupyterhub.auth import Authenticator
from jupyterhub.handlers.base import BaseHandler
from jupyterhub.handlers.login import LoginHandler, LogoutHandler
from jupyterhub.utils import url_path_join
from tornado import web
from traitlets import Unicode

from autograde.hub import seclog
from autograde.hub.logins import MIN_PASSWORD, LoginRefused, LoginStore

GROUPS = {"learner": "learners", "trainer": "trainers", "hr": "hr", "it": "it-admins"}
LANDING = {"trainer": "services/trainer-console/", "hr": "services/hr-report/", "it": "hub/admin"}


FAILED = {"wrong": "login.failed", "locked": "login.locked", "lockout": "lockout"}


def security(handler, what: str, name: str, result: str = "ok", **extra) -> None:
    """One security event for a login page's request (autograde/hub/seclog.py); never raises."""
    seclog.record(handler.authenticator.state_dir, what, name[:64], name[:64], result,
                  source=handler.request.remote_ip, service="hub", **extra)


def role_of(user) -> str | None:
    names = {g.name for g in user.groups}
    return next((role for role, group in GROUPS.items() if group in names), None)


def landing(handler, user=None) -> str:
    """Where ``user`` goes after logging in (``JupyterHub.default_url``)."""
    user = user or handler.current_user
    base = handler.base_url
    if user is None:
        return url_path_join(base, "hub/login")
    role = role_of(user)
    if role in LANDING:
        return url_path_join(base, LANDING[role])
    if role == "learner":
        return url_path_join(base, "hub/spawn", user.name)
    return url_path_join(base, "hub/logout")  # no role: nothing to see


class _Checked:
    """Marks a request whose login the handler has just checked (name and role)."""

    attr = "_hcwh_checked"


class PlainLoginHandler(LoginHandler):
    async def post(self):
        name = self.get_argument("username", "", strip=True).lower()
        password = self.get_argument("password", "")
        store: LoginStore = self.authenticator.store
        try:
            role = await asyncio.get_running_loop().run_in_executor(None, store.login, name, password)
        except LoginRefused as exc:
            self.log.warning("hcwh login refused for %r: %s", name[:32], str(exc)[:60])
            security(self, FAILED[exc.reason], name, "refused")
            self.set_status(403)
            self.finish(await self._render(login_error=str(exc), username=name[:32]))
            return
        setattr(self, _Checked.attr, (name, role))
        user = await self.login_user({"username": name})
        security(self, "login", name, "ok" if user else "refused", role=role)
        if user is None:
            self.set_status(403)
            self.finish(await self._render(login_error="You cannot log in right now. Ask for help.", username=name))
            return
        self._jupyterhub_user = user
        self.redirect(self.get_next_url(user))


class PlainLogoutHandler(LogoutHandler):
    """Logging out says so in words (JupyterHub would show the login form again)."""

    async def render_logout_page(self):
        self.finish(await self.render_template("logout.html"))


class EnrollHandler(BaseHandler):
    """First use: the code from the supervisor, and a password of one's own."""

    def _page(self, error: str | None = None, username: str = ""):
        return self.render_template("enroll.html", enroll_error=error, username=username,
                                    min_password=MIN_PASSWORD, xsrf=self.xsrf_token.decode("ascii"),
                                    next=self.get_argument("next", ""))

    async def get(self):
        self.finish(await self._page(username=self.get_argument("username", "", strip=True)))

    async def post(self):
        name = self.get_argument("username", "", strip=True).lower()
        code = self.get_argument("code", "", strip=True)
        password, again = self.get_argument("password", ""), self.get_argument("password2", "")
        store: LoginStore = self.authenticator.store
        try:
            role = await asyncio.get_running_loop().run_in_executor(None, store.redeem, name, code, password, again)
        except LoginRefused as exc:
            self.log.warning("hcwh enrollment refused for %r: %s", name[:32], str(exc)[:60])
            security(self, "lockout" if exc.reason == "lockout" else "enrollment.failed", name, "refused")
            self.set_status(403)
            self.finish(await self._page(error=str(exc), username=name[:32]))
            return
        self.log.info("hcwh enrollment: %s chose a password", name)
        security(self, "enrollment", name, role=role)
        setattr(self, _Checked.attr, (name, role))
        user = await self.login_user({"username": name})
        if user is None:
            raise web.HTTPError(403, "You cannot log in right now. Ask for help.")
        self._jupyterhub_user = user
        self.redirect(self.get_next_url(user))


class LandingHandler(BaseHandler):
    """``/hub/home`` and ``/hub/token``: each person's own page instead."""

    @web.authenticated
    def get(self, *args):
        self.redirect(landing(self, self.current_user))


# The course's own pages whatever the login (this pilot's, or the city directory's in
# autograde/hub/directory.py): logging out in words, and nobody on the hub's home or token page.
COURSE_PAGES = [(r"/logout", PlainLogoutHandler), (r"/home", LandingHandler), (r"/token", LandingHandler)]


class PlainAuthenticator(Authenticator):
    any_allow_config = True  # who may log in is logins.json (check_allowed)

    state_dir = Unicode(help="the course's state folder; logins are in <state>/hub/logins.json").tag(config=True)

    @property
    def store(self) -> LoginStore:
        return LoginStore(Path(self.state_dir) / "hub" / "logins.json")

    def get_handlers(self, app):
        return [(r"/login", PlainLoginHandler), (r"/enroll", EnrollHandler), *COURSE_PAGES]

    async def authenticate(self, handler, data):
        checked = getattr(handler, _Checked.attr, None)
        if not checked or checked[0] != (data or {}).get("username"):
            return None  # only names the handler has just checked
        name, role = checked
        return {"name": name, "groups": [GROUPS[role]]}

    async def check_allowed(self, username, authentication=None):
        return self.store.allowed(username)

    async def refresh_user(self, user, handler=None):
        role = self.store.role(user.name)
        if role is None:
            return False  # left (or removed): logged out, and every login refused
        return {"name": user.name, "groups": [GROUPS[role]]}


def spawn_only_learners(spawner) -> None:
    """``Spawner.pre_spawn_hook``: only learners have a server (trainers and HR use services)."""
    if role_of(spawner.user) != "learner":
        raise web.HTTPError(403, "Only learners have a training page. Trainers use the trainer console, "
                                 "HR the report.")
