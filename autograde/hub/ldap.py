"""The city directory (LDAP / Active Directory) as the hub's login.

``configure_ldap(c, settings)`` sets JupyterHub's own
``ldapauthenticator.LDAPAuthenticator`` from :class:`LDAPSettings` (read from
``HCWH_LDAP_*`` environment variables by ``LDAPSettings.from_env()``):

* StartTLS before any bind (``tls_strategy = before_bind``), the server's
  certificate checked against the city's CA file and its host name;
* either a bind DN template (``uid={username},ou=people,...``) or
  search-then-bind: a lookup account finds the user's DN by the login
  attribute (``sAMAccountName`` on AD, ``uid`` on OpenLDAP); the lookup
  account's password is read from a file of mode 0600, never from config;
* a disabled account is refused by a search filter run after the user's own
  bind: by default AD's ``userAccountControl`` ACCOUNTDISABLE bit (2), matched
  with the bitwise-AND rule ``1.2.840.113556.1.4.803`` (OpenLDAP implements
  the same rule, so the test directory uses the same filter);
* only members of the learners, trainers or HR directory group may log in;
  each becomes a hub group (``learners`` / ``trainers`` / ``hr``, kept in step
  at every login by ``manage_groups``) and the course role of that name;
* the hub name is the project's employee id -> login mapping applied to the
  directory's employee id attribute (or to the login attribute's value).
"""

from __future__ import annotations

import os
import ssl
import stat
from dataclasses import dataclass
from pathlib import Path

from autograde import identity

# The hub groups (and course roles) a directory group can map to.
COURSE_ROLES = ("learners", "trainers", "hr")

# Active Directory: userAccountControl has ACCOUNTDISABLE (0x2) set.
AD_DISABLED_FILTER = "(userAccountControl:1.2.840.113556.1.4.803:=2)"

# What a person may type in the login form (the directory compares it
# case-insensitively; every character the filter or DN needs escaped is
# escaped by ldapauthenticator as well).
TYPED_LOGIN_REGEX = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"


class LDAPConfigError(ValueError):
    """The directory settings cannot work; the message names what and where."""


# --- the employee id -> login name mapping: the project's one (autograde/identity.py)
login_name = identity.login_name

# --- settings ----------------------------------------------------------------
@dataclass(frozen=True)
class LDAPSettings:
    server: str                          # host name or address the certificate names
    ca_file: Path                        # the city's CA certificate(s), PEM
    user_search_base: str                # e.g. ou=people,dc=city,dc=gov
    groups: dict[str, str]               # course role -> directory group DN
    port: int = 389
    login_attribute: str = "sAMAccountName"  # uid on OpenLDAP
    bind_dn_template: str | None = None      # e.g. uid={username},ou=people,dc=city,dc=gov
    lookup_dn: str | None = None             # the lookup account's DN (search-then-bind)
    bind_password_file: Path | None = None   # its password, in a 0600 file
    id_attribute: str | None = None          # employeeID (AD) / employeeNumber; None: the login
    disabled_filter: str | None = AD_DISABLED_FILTER  # None: no disabled-account filter
    group_filter: str = "(member={userdn})"  # AD nested groups: (member:1.2.840.113556.1.4.1941:={userdn})

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> "LDAPSettings":
        env = os.environ if env is None else env

        def need(key: str) -> str:
            value = env.get(key, "").strip()
            if not value:
                raise LDAPConfigError(f"{key} is not set (needed for the city directory login)")
            return value

        groups = {role: env.get(f"HCWH_LDAP_{role.upper()}_GROUP", "").strip() for role in COURSE_ROLES}
        groups = {role: dn for role, dn in groups.items() if dn}
        if not groups:
            raise LDAPConfigError(
                "none of HCWH_LDAP_LEARNERS_GROUP, HCWH_LDAP_TRAINERS_GROUP, HCWH_LDAP_HR_GROUP is set: "
                "with no directory group nobody could log in"
            )
        port = env.get("HCWH_LDAP_PORT", "389").strip()
        if not port.isdigit():
            raise LDAPConfigError(f"HCWH_LDAP_PORT={port!r} is not a port number")
        disabled = env.get("HCWH_LDAP_DISABLED_FILTER", AD_DISABLED_FILTER).strip() or None
        return cls(
            server=need("HCWH_LDAP_SERVER"),
            port=int(port),
            ca_file=Path(need("HCWH_LDAP_CA_FILE")),
            user_search_base=need("HCWH_LDAP_USER_SEARCH_BASE"),
            groups=groups,
            login_attribute=env.get("HCWH_LDAP_LOGIN_ATTRIBUTE", "sAMAccountName").strip(),
            bind_dn_template=env.get("HCWH_LDAP_BIND_DN_TEMPLATE", "").strip() or None,
            lookup_dn=env.get("HCWH_LDAP_LOOKUP_DN", "").strip() or None,
            bind_password_file=Path(p) if (p := env.get("HCWH_LDAP_BIND_PASSWORD_FILE", "").strip()) else None,
            id_attribute=env.get("HCWH_LDAP_ID_ATTRIBUTE", "").strip() or None,
            disabled_filter=disabled,
            group_filter=env.get("HCWH_LDAP_GROUP_FILTER", "(member={userdn})").strip(),
        )


def read_bind_password(path: Path) -> str:
    """The lookup account's password from ``path``, which must be a regular file
    that neither group nor others can read or write (0600 or 0400)."""
    try:
        st = path.stat()
    except FileNotFoundError:
        raise LDAPConfigError(f"LDAP bind password file {path} does not exist") from None
    except OSError as e:
        raise LDAPConfigError(f"LDAP bind password file {path} cannot be read: {e.strerror}") from None
    if not stat.S_ISREG(st.st_mode):
        raise LDAPConfigError(f"LDAP bind password file {path} is not a regular file")
    if st.st_mode & 0o077:
        raise LDAPConfigError(
            f"LDAP bind password file {path} has mode {stat.S_IMODE(st.st_mode):04o}; "
            f"it must be readable by its owner only (chmod 600 {path})"
        )
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise LDAPConfigError(f"LDAP bind password file {path} cannot be read: {e.strerror}") from None
    password = text.rstrip("\r\n")
    if not password.strip():
        raise LDAPConfigError(f"LDAP bind password file {path} is empty")
    return password


def _check_ca_file(path: Path) -> None:
    if not path.is_file():
        raise LDAPConfigError(f"LDAP CA file {path} does not exist (HCWH_LDAP_CA_FILE)")
    try:
        ssl.create_default_context(cafile=str(path))
    except (OSError, ssl.SSLError) as e:
        raise LDAPConfigError(f"LDAP CA file {path} holds no usable PEM certificate: {e}") from None


# --- the hook that maps directory groups and ids ------------------------------
def make_post_auth_hook(settings: LDAPSettings):
    """A ``post_auth_hook``: directory groups -> hub groups / course roles, and
    the hub name through :func:`login_name`. Refuses (HTTP 403, with the reason
    in the hub's log) an account the mapping cannot name."""
    dn_to_role = {dn.lower(): role for role, dn in settings.groups.items()}

    def post_auth_hook(authenticator, handler, authentication):
        from tornado.web import HTTPError

        state = authentication.get("auth_state") or {}
        roles = sorted({dn_to_role[dn.lower()] for dn in state.get("ldap_groups", []) if dn.lower() in dn_to_role})
        if not roles:  # check_allowed already demands one of the groups; never let none through
            raise HTTPError(403, "not in any course group")
        source = authentication["name"]
        if settings.id_attribute:
            values = (state.get("user_attributes") or {}).get(settings.id_attribute) or []
            if len(values) != 1:
                authenticator.log.warning(
                    "LDAP login %r refused: directory attribute %s has %d values, expected one",
                    source, settings.id_attribute, len(values))
                raise HTTPError(403, f"directory account has no single {settings.id_attribute}")
            source = str(values[0])
        try:
            name = login_name(source)
        except ValueError as e:
            authenticator.log.warning("LDAP login %r refused: %s", authentication["name"], e)
            raise HTTPError(403, f"this account cannot be given a course login: {e}") from None
        authentication["name"] = name
        authentication["groups"] = roles
        state["course_roles"] = roles
        authentication["auth_state"] = state
        return authentication

    return post_auth_hook


def configure_ldap(c, settings: LDAPSettings) -> None:
    """Make ``c`` (a JupyterHub traitlets config) log in through the city
    directory as ``settings`` says. Raises LDAPConfigError naming a missing or
    unusable CA file, password file or setting."""
    _check_ca_file(settings.ca_file)
    if not settings.bind_dn_template and not settings.lookup_dn:
        raise LDAPConfigError(
            "set either HCWH_LDAP_BIND_DN_TEMPLATE (e.g. uid={username},ou=people,...) "
            "or HCWH_LDAP_LOOKUP_DN with HCWH_LDAP_BIND_PASSWORD_FILE (search-then-bind)")
    if settings.bind_dn_template and "{username}" not in settings.bind_dn_template:
        raise LDAPConfigError(f"HCWH_LDAP_BIND_DN_TEMPLATE {settings.bind_dn_template!r} has no {{username}}")
    unknown = set(settings.groups) - set(COURSE_ROLES)
    if unknown or not settings.groups:
        raise LDAPConfigError(f"directory groups must map to {COURSE_ROLES}, got {sorted(settings.groups)}")

    a = c.LDAPAuthenticator
    c.JupyterHub.authenticator_class = "autograde.hub.directory.DirectoryAuthenticator"
    a.server_address = settings.server
    a.server_port = settings.port
    a.tls_strategy = "before_bind"  # StartTLS, then bind
    a.tls_kwargs = {"ca_certs_file": str(settings.ca_file), "validate": ssl.CERT_REQUIRED}
    a.valid_username_regex = TYPED_LOGIN_REGEX
    a.user_search_base = settings.user_search_base
    a.user_attribute = settings.login_attribute
    if settings.lookup_dn:
        if settings.bind_password_file is None:
            raise LDAPConfigError("HCWH_LDAP_LOOKUP_DN is set but HCWH_LDAP_BIND_PASSWORD_FILE is not")
        a.lookup_dn = True
        a.lookup_dn_search_user = settings.lookup_dn
        a.lookup_dn_search_password = read_bind_password(settings.bind_password_file)
        a.lookup_dn_user_dn_attribute = settings.login_attribute
        a.use_lookup_dn_username = True  # the directory's spelling, not what was typed
    if settings.bind_dn_template:
        a.bind_dn_template = [settings.bind_dn_template]
    # Run after the user's own bind, as the user: exactly one entry must match.
    user = "({userattr}={username})"
    a.search_filter = f"(&{user}(!{settings.disabled_filter}))" if settings.disabled_filter else user
    a.attributes = [settings.login_attribute]
    a.allowed_groups = list(settings.groups.values())
    a.group_search_filter = settings.group_filter
    a.group_attributes = ["member"]
    a.auth_state_attributes = [settings.id_attribute] if settings.id_attribute else []
    a.post_auth_hook = make_post_auth_hook(settings)
    # Hub groups follow the directory at every login; roles are granted to the
    # hub groups (load_roles) in the hub's own configuration, never `admin`.
    c.Authenticator.manage_groups = True
    c.Authenticator.allow_all = False
    c.Authenticator.enable_auth_state = False  # nothing secret is kept; set True with JUPYTERHUB_CRYPT_KEY to keep it


def configure(c, state_dir: Path) -> None:
    """``HCWH_AUTHENTICATOR=ldap`` in ``hub/jupyterhub_config.py``: the settings from the
    environment (``HCWH_LDAP_*``, see ``LDAPSettings.from_env``) applied to ``c``."""
    configure_ldap(c, LDAPSettings.from_env())
