# The cohort's JupyterHub. `make hub` runs it (as root: see README "Running the hub").
# Every setting comes from an environment variable with a default that works on one machine:
#
#   HCWH_STATE_DIR      the course's state folder (default: <checkout>/var); the hub's own
#                       state is <state>/hub (0700, root): database, cookie secret, proxy token
#   HCWH_HUB_IP         where the hub listens for browsers (default 127.0.0.1; beyond loopback
#                       only with TLS: HCWH_TLS_CERT + HCWH_TLS_KEY, or HCWH_TLS_PROXY)
#   HCWH_HUB_PORT       its port (default 8000)
#   HCWH_TLS_CERT, HCWH_TLS_KEY  the city CA's certificate (PEM chain) and key (PEM, 0600, the
#                       proxy account's): the proxy serves HTTPS (autograde/hub/origin.py)
#   HCWH_TLS_PROXY      instead: the address of the city's TLS reverse proxy in front
#   HCWH_HUB_API_PORT   the hub's internal API port, on 127.0.0.1 (default 8081)
#   HCWH_PROXY_API_PORT the proxy's internal API port, on 127.0.0.1 (default 8001)
#   HCWH_SERVICE_PORT   first of the ports the services use on 127.0.0.1 (default 8010; 4 ports;
#                       the last is the exchange's, which learners' servers reach directly)
#   HCWH_LEARNER_ENV    the learners' Python environment (default /opt/hcwh/learner-env)
#   HCWH_COURSE_ENV     the course account's environment (default /opt/hcwh/course-env)
#   HCWH_COURSE_USER    the course account: owns the state folder, runs the services (hcwh-course)
#   HCWH_PROXY_USER     the account the proxy runs as (default hcwh-proxy; never root)
#   HCWH_CULLER_USER    the account the idle culler runs as (default hcwh-culler; never root)
#   HCWH_AUTHENTICATOR  pilot (default: roster logins with enrollment codes) or ldap
#   HCWH_LEARNER_*, HCWH_IDLE_*, HCWH_KERNEL_*, HCWH_CONCURRENT_SPAWNS, HCWH_ACTIVE_SERVERS,
#   HCWH_START_TIMEOUT, HCWH_HTTP_TIMEOUT   a learner's page: memory, processes, CPU, idle stop and
#                       its warning, kernel culling, pages starting and running at once
#                       (autograde/limits.py LearnerLimits: each variable, its default and why)
#   HCWH_PREPARE_PAGES  1 (default): each learner's server keeps the module page they opened last
#                       prepared for its next open (one more kernel each, about 40 MiB); 0: off
#                       (autograde/learner/prepared.py)
#   HCWH_HELP_CONTACT   the help contact on every page (the city must fill it in)
#   HCWH_LEARNER_LANDING  where a learner's page opens (default /hcwh/: My modules, their own
#                       pages, no code; /lab for JupyterLab for every learner)
import json
import os
import pwd
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent
sys.path.insert(0, str(PROJECT))

from autograde.config import Settings  # noqa: E402
from autograde.exchange import ACCESS_SCOPE, SERVICE_NAME, apply_hub_config  # noqa: E402
from autograde.hub import auth  # noqa: E402
from autograde.learner import KERNEL_MANAGER, VOILA_CONFIGURATION  # noqa: E402
from autograde.lifeline import ends_with_hub  # noqa: E402
from autograde.limits import LearnerLimits  # noqa: E402
from autograde.hub import credentials, origin, seclog  # noqa: E402

c = get_config()  # noqa: F821 (given by JupyterHub when it loads this file)


def env(name, default):
    return os.environ.get(name) or default


STATE = Path(env("HCWH_STATE_DIR", PROJECT / "var")).resolve()
HUB_STATE = STATE / "hub"
LEARNER_ENV = Path(env("HCWH_LEARNER_ENV", "/opt/hcwh/learner-env"))
COURSE_ENV = Path(env("HCWH_COURSE_ENV", "/opt/hcwh/course-env"))
COURSE_USER = env("HCWH_COURSE_USER", "hcwh-course")
PROXY_USER = env("HCWH_PROXY_USER", "hcwh-proxy")
CULLER_USER = env("HCWH_CULLER_USER", "hcwh-culler")
HELP = env("HCWH_HELP_CONTACT", "your trainer (the city's help contact is still to confirm)")
API_PORT = int(env("HCWH_HUB_API_PORT", "8081"))
SERVICE_PORT = int(env("HCWH_SERVICE_PORT", "8010"))
# The hub exchange (autograde/exchange/): every nbgrader exchange operation (learners' Assignments
# tab, formgrader, the trainer console, `hcwh`) goes through it, at the service's own port on
# 127.0.0.1 (plain HTTP on loopback, whatever the public port serves: no CA or certificate name
# needed by its clients; the learners' egress rule lets this port through). Each request carries
# a hub token, which the service checks with the hub.
EXCHANGE_PORT = SERVICE_PORT + 3
EXCHANGE_URL = f"http://127.0.0.1:{EXCHANGE_PORT}/services/{SERVICE_NAME}/"

HUB_STATE.mkdir(parents=True, exist_ok=True, mode=0o700)
os.chmod(HUB_STATE, 0o700)


# -- secrets (issue 13, point 5; autograde/hub/credentials.py: the one list) ------------------------
# Made at install (scripts/hub-setup.sh), 0600 under their account, rotated by name
# (scripts/hub-secrets.sh rotate NAME); never in git, in this file, or in a learner's environment.
def secret(name):
    try:
        return credentials.read(STATE, name)
    except credentials.SecretError as e:
        sys.exit(f"hub/jupyterhub_config.py: {e}")


# the gradebook's password: never in HCWH_DB_URL (an environment variable, a unit file), but the
# secret db-password, a libpq password file the course's services are pointed at (PGPASSFILE, below)
if credentials.db_url_has_password(os.environ.get("HCWH_DB_URL", "")):
    sys.exit("hub/jupyterhub_config.py: HCWH_DB_URL holds a password; take it out and put it in the secret "
             "db-password (scripts/hub-secrets.sh set STATE db-password, README \"Secrets\")")
# -- end of secrets ---------------------------------------------------------------------------------


# -- TLS and the origin (issue 13, point 4; autograde/hub/origin.py) ---------------------------------
# Loopback without TLS; beyond it only with the city CA's certificate (the proxy serves HTTPS) or a
# declared TLS proxy in front. With TLS: Secure cookies and HSTS.
try:
    ORIGIN = origin.origin_from_env(os.environ, PROXY_USER if os.geteuid() == 0 else None)
except origin.OriginError as e:
    sys.exit(f"hub/jupyterhub_config.py: the hub cannot listen as asked: {e}")
origin.configure(c, ORIGIN)
# -- end of TLS and the origin --------------------------------------------------------------------

# -- the security log (issue 13, point 6; autograde/hub/seclog.py) --------------------------------
# Logins, refusals and lockouts (auth.py), accounts and roles (accounts.py), hcwh's admin actions
# (people.py), reports opened (services.py), and every change through the hub's own API (here).
# HCWH_SECLOG file|syslog|both, HCWH_SECLOG_FILE, HCWH_SYSLOG_ADDRESS: wrong values stop the hub now.
try:
    seclog.settings(STATE)
except seclog.SecLogError as e:
    sys.exit(f"hub/jupyterhub_config.py: the security log is not set up right: {e}")
_tornado = dict(c.JupyterHub.get("tornado_settings", {}))
_tornado["log_function"] = seclog.hub_request_logger(STATE)
c.JupyterHub.tornado_settings = _tornado
SECLOG_ENV = {k: os.environ[k] for k in ("HCWH_SECLOG", "HCWH_SECLOG_FILE", "HCWH_SYSLOG_ADDRESS") if k in os.environ}
# -- end of the security log ----------------------------------------------------------------------

# -- the hub and its proxy ------------------------------------------------------
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = API_PORT
_db = HUB_STATE / "jupyterhub.sqlite"
if not _db.exists():
    os.close(os.open(_db, os.O_WRONLY | os.O_CREAT, 0o600))  # SQLite keeps the mode it finds
os.chmod(_db, 0o600)
c.JupyterHub.db_url = f"sqlite:///{_db}"
secret("cookie-secret")  # present and 0600, or the hub stops here
c.JupyterHub.cookie_secret_file = str(credentials.path_of(STATE, credentials.by_name("cookie-secret")))
c.JupyterHub.pid_file = str(HUB_STATE / "jupyterhub.pid")
c.ConfigurableHTTPProxy.auth_token = secret("proxy-token")
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{env('HCWH_PROXY_API_PORT', '8001')}"
c.ConfigurableHTTPProxy.pid_file = str(HUB_STATE / "proxy.pid")
c.ConfigurableHTTPProxy.log_level = "warn"
# The project's own proxy (hub/node_modules, from package-lock.json), as an unprivileged account.
_proxy = [str(HERE / "node_modules" / ".bin" / "configurable-http-proxy")]
if os.geteuid() == 0:
    _pw = pwd.getpwnam(PROXY_USER)
    _proxy = ["setpriv", f"--reuid={_pw.pw_uid}", f"--regid={_pw.pw_gid}", "--clear-groups", "--", *_proxy]
c.ConfigurableHTTPProxy.command = _proxy
(HUB_STATE / "api-url").write_text(f"http://127.0.0.1:{API_PORT}/hub/api\n")
# A hub restart leaves learners' pages running.
c.JupyterHub.cleanup_servers = False
c.JupyterHub.template_paths = [str(HERE / "templates")]
_login_kind = env("HCWH_AUTHENTICATOR", "pilot")
if _login_kind not in ("pilot", "ldap"):
    sys.exit(f"hub/jupyterhub_config.py: HCWH_AUTHENTICATOR={_login_kind!r} is neither 'pilot' nor 'ldap'")
DIRECTORY_LOGIN = _login_kind == "ldap"
c.JupyterHub.template_vars = {"help_contact": HELP, "directory_login": DIRECTORY_LOGIN}
c.JupyterHub.default_url = auth.landing
c.JupyterHub.shutdown_on_logout = True  # a shared computer: logging out ends the page too
c.JupyterHub.allow_named_servers = False

# -- logins -----------------------------------------------------------------------
if DIRECTORY_LOGIN:
    # The city directory: autograde/hub/ldap.py (settings, HCWH_LDAP_*) and directory.py.
    from autograde.hub import ldap as _ldap  # noqa: E402

    try:
        _ldap.configure(c, STATE)
        c.DirectoryAuthenticator.state_dir = str(STATE)  # its login events to the security log
    except _ldap.LDAPConfigError as e:  # a setting missing or unusable: say which, start nothing
        sys.exit(f"hub/jupyterhub_config.py: the city directory login cannot start: {e}")
else:
    c.JupyterHub.authenticator_class = auth.PlainAuthenticator
    c.PlainAuthenticator.state_dir = str(STATE)
    c.Authenticator.manage_groups = True
    c.Authenticator.auth_refresh_age = 15  # a leaver is logged out within 15 s of any request
    c.Authenticator.refresh_pre_spawn = True

# -- learners' pages: their own OS account, Debian's Python ---------------------------
c.JupyterHub.spawner_class = "autograde.hub.spawner.CourseSpawner"  # a page that stops while starting fails at once
c.Spawner.cmd = [str(LEARNER_ENV / "bin" / "jupyterhub-singleuser")]
# kernels talk to their server over Unix sockets: the learners' firewall (below) refuses other local TCP
c.Spawner.args = ["--ServerApp.terminals_enabled=False", "--ServerApp.allow_root=False",
                  "--KernelManager.transport=ipc",
                  # the module page opened last kept prepared for its next open (autograde/learner/prepared.py)
                  f"--ServerApp.kernel_manager_class={KERNEL_MANAGER}"]
PREPARE_PAGES = env("HCWH_PREPARE_PAGES", "1").strip()
if PREPARE_PAGES not in ("0", "1"):
    sys.exit(f"hub/jupyterhub_config.py: HCWH_PREPARE_PAGES={PREPARE_PAGES!r} is neither 1 (keep the module page "
             "opened last prepared) nor 0")
if PREPARE_PAGES == "0":
    c.Spawner.args.append("--PreparedPageKernelManager.prepare_pages=False")
# Where a learner lands: their own pages (autograde/learner: My modules, submit, feedback, how the
# course works), with no link into JupyterLab; `hcwh roster jupyterlab ID on` gives one learner
# JupyterLab (below). README "How a learner opens a module".
c.Spawner.default_url = env("HCWH_LEARNER_LANDING", "/hcwh/")
c.Spawner.notebook_dir = "~"
# -- learners' limits and housekeeping (issue 13 point 3; autograde/limits.py, README "Limits and housekeeping") --
try:
    LIMITS = LearnerLimits.from_env(os.environ)
except ValueError as exc:
    sys.exit(f"hub/jupyterhub_config.py: {exc}")
c.JupyterHub.concurrent_spawn_limit = LIMITS.concurrent_spawns
c.JupyterHub.active_server_limit = LIMITS.active_servers
c.Spawner.start_timeout = LIMITS.start_timeout
c.Spawner.http_timeout = LIMITS.http_timeout
# kernels no page is connected to (a closed tab, Voilà's included: Voilà's server extension uses the
# server's kernel manager) are shut down when idle; a page left open keeps its kernel until the idle stop
c.Spawner.args += [f"--MappingKernelManager.cull_idle_timeout={LIMITS.kernel_idle_timeout}",
                   f"--MappingKernelManager.cull_interval={LIMITS.kernel_cull_interval}",
                   "--MappingKernelManager.cull_connected=False", "--MappingKernelManager.cull_busy=False"]
# -- end of learners' limits --


def _pre_spawn(spawner):
    """Only learners have a page; a learner given JupyterLab lands there, with a link to it on their pages."""
    from autograde.hub.people import jupyterlab_learners

    auth.spawn_only_learners(spawner)
    lab = spawner.user.name in jupyterlab_learners(STATE)  # read at each start: on and off take effect then
    spawner.default_url = "/lab" if lab else c.Spawner.default_url
    spawner.environment = {**c.Spawner.environment, **({
        "HCWH_JUPYTERLAB_LINK": "1",
        # JupyterLab's server extensions (LEARNER_LAB_CONFIG) over the learners' own: the first wins
        "JUPYTER_CONFIG_PATH": os.pathsep.join([str(LEARNER_LAB_CONFIG), str(LEARNER_CONFIG)]),
    } if lab else {})}


c.Spawner.pre_spawn_hook = _pre_spawn
# nbgrader for learners: the course and the hub exchange (autograde.exchange.client, in the
# learner environment's copy of the project; the service decides who submitted and when).
LEARNER_CONFIG = STATE / "learner-config"
LEARNER_CONFIG.mkdir(exist_ok=True)
(LEARNER_CONFIG / "nbgrader_config.py").write_text(
    "c = get_config()\n"
    "c.CourseDirectory.course_id = 'how-can-we-help'\n"
    "from autograde.exchange import apply_nbgrader_config\n"
    f"apply_nbgrader_config(c, {EXCHANGE_URL!r})\n"
)
# in every learner's page: the idle warning with its "I need more time" button (autograde/idlenotice.py)
# and the learners' own pages (autograde/learner), server extensions beside Voilà
# and the module page's own template (links, idle warning, lost-connection banner: autograde/learner/pages.py);
# with TLS, its _xsrf cookie Secure too (origin.server_config)
# A learner's server loads only what their page uses: Voilà and those two. The learner environment's
# other server extensions are off (measured: with them, and jsonschema's rfc3987-syntax, which
# scripts/hub-env.sh leaves out, a learner's server took 3.3 s to start; without, 0.8 to 1.0 s, on a
# machine where every login starts one): JupyterLab, Notebook and nbgrader's Assignments list (its
# lab tab; My modules calls nbgrader's exchange itself) come back only for a learner a trainer gave
# JupyterLab (LEARNER_LAB_CONFIG, first on that learner's JUPYTER_CONFIG_PATH: _pre_spawn);
# the language server and terminals (off anyway: --ServerApp.terminals_enabled=False) for nobody.
LAB_EXTENSIONS = ("jupyterlab", "notebook", "notebook_shim", "nbgrader.server_extensions.assignment_list",
                  "nbgrader.server_extensions.validate_assignment")
(LEARNER_CONFIG / "jupyter_server_config.json").write_text(json.dumps(
    {**origin.server_config(ORIGIN, {"autograde.idlenotice": True, "autograde.learner": True,
                                     **dict.fromkeys(LAB_EXTENSIONS, False),
                                     "jupyter_lsp": False, "jupyter_server_terminals": False}),
     "VoilaConfiguration": VOILA_CONFIGURATION}) + "\n")
LEARNER_LAB_CONFIG = LEARNER_CONFIG / "jupyterlab"
LEARNER_LAB_CONFIG.mkdir(exist_ok=True)
(LEARNER_LAB_CONFIG / "jupyter_server_config.json").write_text(json.dumps(
    {"ServerApp": {"jpserver_extensions": dict.fromkeys(LAB_EXTENSIONS, True)}}) + "\n")
# the template as the learner environment holds it (its copy of autograde.learner: pages.VOILA_DATA)
# (this checkout's copy if that environment is not built yet: the hub's own start-up checks come first)
VOILA_DATA = [*sorted(LEARNER_ENV.glob("lib/python3*/site-packages/autograde/learner/share")),
              PROJECT / "autograde" / "learner" / "share"][:1]
os.chmod(LEARNER_CONFIG, 0o755)
os.chmod(LEARNER_CONFIG / "nbgrader_config.py", 0o644)
os.chmod(LEARNER_CONFIG / "jupyter_server_config.json", 0o644)
os.chmod(LEARNER_LAB_CONFIG, 0o755)
os.chmod(LEARNER_LAB_CONFIG / "jupyter_server_config.json", 0o644)
c.Spawner.environment = {
    "JUPYTER_CONFIG_PATH": str(LEARNER_CONFIG),
    "JUPYTER_PATH": str(VOILA_DATA[0]),
    "PATH": f"{LEARNER_ENV / 'bin'}:/usr/bin:/bin",
    "HCWH_EXCHANGE": "hub",
    "HCWH_EXCHANGE_URL": EXCHANGE_URL,
    **LIMITS.as_env(),  # the idle warning reads the same figures as the culler (LearnerLimits.from_env)
    "HCWH_HELP_CONTACT": HELP,  # on the learner's pages
    "HCWH_TIMEZONE": env("HCWH_TIMEZONE", "UTC"),  # receipts' times on the city's clock
}


def _server_token_scopes(spawner):
    """A learner's server token: the server's usual scopes, and the exchange (their Assignments tab)."""
    return [f"users:activity!user={spawner.user.name}", f"access:servers!server={spawner.user.name}/{spawner.name}",
            ACCESS_SCOPE]


c.Spawner.server_token_scopes = _server_token_scopes

# -- learners' isolation (issue 13; autograde/hub/isolation.py, README "Isolation between learners") --
# Each server in its own mount namespace (private /tmp, /var/tmp, /dev/shm, /run/lock; /proc with
# hidepid), and an owner-matched egress rule: learners' processes reach only the proxy and the hub's
# API on 127.0.0.1. Either is turned off only by name, for a host that cannot have it.
# Each server also in its own cgroup (memory, processes, CPU: LIMITS above); HCWH_LEARNER_LIMITS=off.
if os.geteuid() == 0:
    from autograde.hub import isolation  # noqa: E402

    c.JupyterHub.spawner_class = isolation.IsolatedSpawner
    if env("HCWH_LEARNER_NAMESPACE", "on") != "off":
        # the learners' nbgrader config stays readable when the state folder is under /tmp (tests)
        c.IsolatedSpawner.keep_visible = [str(LEARNER_CONFIG)]
        try:
            isolation.check_private_view([str(LEARNER_CONFIG)], "16m")
        except isolation.IsolationError as exc:
            isolation.fail(str(exc))
    else:
        c.IsolatedSpawner.private_namespace = False
    if env("HCWH_LEARNER_LIMITS", "on") != "off":
        try:
            isolation.check_limits(LIMITS)
        except isolation.IsolationError as exc:
            isolation.fail(str(exc))
        c.IsolatedSpawner.learner_limits = LIMITS
    if env("HCWH_LEARNER_FIREWALL", "on") != "off":
        import atexit  # noqa: E402

        try:
            isolation.apply_firewall([c.JupyterHub.port, API_PORT, EXCHANGE_PORT])
        except isolation.IsolationError as exc:
            isolation.fail(str(exc))
        atexit.register(isolation.remove_firewall)

# -- roles: no admin for trainers or HR -----------------------------------------------
c.JupyterHub.load_roles = [
    {"name": "trainer", "groups": ["trainers"],
     "scopes": ["access:services!service=formgrader", "access:services!service=trainer-console"]},
    {"name": "hr-reader", "groups": ["hr"], "scopes": ["access:services!service=hr-report"]},
    # the account helper (root only: its token file is 0600 in <state>/hub): stop a leaver's
    # server, revoke their tokens
    {"name": "hcwh-accounts", "services": ["hcwh-accounts"], "scopes": ["servers", "tokens", "read:users"]},
    {"name": "idle-culler", "services": ["idle-culler"],
     "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"]},
]

# Break-glass: IT's own login (`hcwh staff add NAME --role it`), named in HCWH_BREAK_GLASS_ADMIN;
# the only holder of JupyterHub's admin role. Every use is in the hub's log.
if os.environ.get("HCWH_BREAK_GLASS_ADMIN"):
    c.Authenticator.admin_users = {os.environ["HCWH_BREAK_GLASS_ADMIN"]}

# -- services -------------------------------------------------------------------------
_course = pwd.getpwnam(COURSE_USER) if os.geteuid() == 0 else None
_course_env = {
    **SECLOG_ENV,
    "HCWH_STATE_DIR": str(STATE),
    "HCWH_HELP_CONTACT": HELP,
    "HOME": _course.pw_dir if _course else os.environ.get("HOME", "/"),
    "PATH": f"{COURSE_ENV / 'bin'}:/usr/bin:/bin",
    "PYTHONDONTWRITEBYTECODE": "1",
    "PYTHONPATH": str(PROJECT),  # this checkout's code, whatever the course env was built from
    "HCWH_EXCHANGE": "hub",
    "HCWH_EXCHANGE_URL": EXCHANGE_URL,
    **{k: os.environ[k] for k in ("HCWH_DB_URL", "HCWH_TIMEZONE", "HCWH_NO_SANDBOX") if k in os.environ},
}
# the secret db-password (credentials.py), when the city's database has one
if credentials.path_of(STATE, credentials.by_name("db-password")).exists():
    secret("db-password")  # 0600, or the hub stops here
    _course_env["PGPASSFILE"] = str(credentials.path_of(STATE, credentials.by_name("db-password")))


# formgrader's server extensions: autograde.course.attribution records every manual score with the
# trainer's hub name (<state>/attribution.db); JUPYTER_CONFIG_PATH adds this folder to the rest.
FORMGRADER_CONFIG = STATE / "formgrader-config"
FORMGRADER_CONFIG.mkdir(exist_ok=True)
(FORMGRADER_CONFIG / "jupyter_server_config.json").write_text(json.dumps(
    origin.server_config(ORIGIN, {"autograde.course.attribution": True})) + "\n")
os.chmod(FORMGRADER_CONFIG, 0o755)
os.chmod(FORMGRADER_CONFIG / "jupyter_server_config.json", 0o644)


def course_service(name, port, command, **extra_env):
    spec = {"name": name, "url": f"http://127.0.0.1:{port}", "command": command, "cwd": str(PROJECT),
            "environment": {**_course_env, **extra_env}, "oauth_no_confirm": True}
    if _course:
        spec["user"] = COURSE_USER
    return spec


services = [
    # formgrader: nbgrader's own, as the course account, terminals off; opened in its own tab
    # (JupyterHub >= 4.1 forbids framing it inside JupyterLab); it and the culler end with the hub
    # (autograde/lifeline.py: JupyterHub's own clean-up at shutdown does not always reach them)
    course_service("formgrader", SERVICE_PORT, ends_with_hub([
        str(COURSE_ENV / "bin" / "jupyterhub-singleuser"), "--ServerApp.terminals_enabled=False",
        f"--ServerApp.root_dir={STATE / 'course'}", "--ServerApp.default_url=/formgrader"]),
        JUPYTER_CONFIG_PATH=str(FORMGRADER_CONFIG)),
    course_service("trainer-console", SERVICE_PORT + 1,
                   [str(COURSE_ENV / "bin" / "python"), "-m", "autograde.hub.services", "console"]),
    course_service("hr-report", SERVICE_PORT + 2,
                   [str(COURSE_ENV / "bin" / "python"), "-m", "autograde.hub.services", "report"]),
    # the idle culler: pages idle longer than LIMITS.idle_timeout stopped (LearnerLimits), as its own account
    # with no files (hcwh-culler, scripts/hub-setup.sh) and the role "idle-culler" above
    {"name": "idle-culler", "command": ends_with_hub([str(COURSE_ENV / "bin" / "python"), "-m", "jupyterhub_idle_culler",
                                                      f"--timeout={LIMITS.idle_timeout}", f"--cull-every={LIMITS.cull_every}"]),
     "environment": {"PATH": _course_env["PATH"]}, "cwd": "/", **({"user": CULLER_USER} if _course else {})},
    {"name": "hcwh-accounts", "api_token": secret("accounts-token")},
]
# `hcwh` on the command line (release, collect, feedback as the course account): a trainer-side
# service whose token is the secret exchange-cli-token (<state>/exchange-cli.token, the course
# account's, 0600); `HCWH_EXCHANGE_TOKEN=$(cat <state>/exchange-cli.token)` for hcwh (README).
services.append({"name": "hcwh-cli", "api_token": secret("exchange-cli-token")})
c.JupyterHub.services = services
# The hub exchange: its service as the course account from the course environment's Python;
# formgrader, the console and hcwh's service may release, collect and release feedback.
apply_hub_config(c, Settings(state_dir=STATE, timezone=env("HCWH_TIMEZONE", "UTC")), port=EXCHANGE_PORT,
                 user=COURSE_USER if _course else None, python=str(COURSE_ENV / "bin" / "python"),
                 trainer_services=("formgrader", "trainer-console", "hcwh-cli"))
