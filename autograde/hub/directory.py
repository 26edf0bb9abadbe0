"""The hub's login through the city directory: JupyterHub's own ``LDAPAuthenticator``
(configured by ``autograde.hub.ldap.configure_ldap``) with the course's pages, as the pilot
login has them (``autograde.hub.auth.COURSE_PAGES``): logging out says so in words, and
``/hub/home`` and ``/hub/token`` send each person to their own page. Its login form is
``hub/templates/login.html``, worded for a directory account (``directory_login``).
"""

from __future__ import annotations

import warnings

from traitlets import Unicode

from autograde.hub import seclog
from autograde.hub.auth import COURSE_PAGES

with warnings.catch_warnings():  # ldap3 2.9.1 imports names pyasn1 has deprecated (at import only)
    warnings.filterwarnings("ignore", "tagMap is deprecated", DeprecationWarning)
    warnings.filterwarnings("ignore", "typeMap is deprecated", DeprecationWarning)
    from ldapauthenticator import LDAPAuthenticator


class DirectoryAuthenticator(LDAPAuthenticator):
    state_dir = Unicode("", help="the course's state folder (for the security log)").tag(config=True)

    def get_handlers(self, app):
        return [*super().get_handlers(app), *COURSE_PAGES]

    async def authenticate(self, handler, data):
        """The directory's answer, and a ``login`` or ``login.failed`` security event (seclog.py).
        Lockouts are the directory's own (its password policy), not seen here."""
        result = await super().authenticate(handler, data)
        name = str((data or {}).get("username", ""))[:64]
        seclog.record(self.state_dir or None, "login" if result else "login.failed", name, name,
                      "ok" if result else "refused", source=getattr(getattr(handler, "request", None), "remote_ip", None),
                      service="hub")
        return result
