"""The hub's login through the city directory: JupyterHub's own ``LDAPAuthenticator``
(configured by ``autograde.hub.ldap.configure_ldap``) with the course's pages, as the pilot
login has them (``autograde.hub.auth.COURSE_PAGES``): logging out says so in words, and
``/hub/home`` and ``/hub/token`` send each person to their own page. Its login form is
``hub/templates/login.html``, worded for a directory account (``directory_login``).
"""

from __future__ import annotations

import warnings

from autograde.hub.auth import COURSE_PAGES

with warnings.catch_warnings():  # ldap3 2.9.1 imports names pyasn1 has deprecated (at import only)
    warnings.filterwarnings("ignore", "tagMap is deprecated", DeprecationWarning)
    warnings.filterwarnings("ignore", "typeMap is deprecated", DeprecationWarning)
    from ldapauthenticator import LDAPAuthenticator


class DirectoryAuthenticator(LDAPAuthenticator):
    def get_handlers(self, app):
        return [*super().get_handlers(app), *COURSE_PAGES]
