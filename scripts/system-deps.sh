#!/usr/bin/env bash
# System packages the test suite needs that pip cannot provide (Debian/Ubuntu).
# Idempotent: installs only what is missing, and only when run as root; as
# another user it just reports what is missing. Called by `make test`.
set -euo pipefail

missing=()

# Browser tests (tests/e2e/test_browser.py): Debian's Chromium, driven by Playwright.
# Never let Playwright download its own browser (`playwright install`).
[ -x /usr/bin/chromium ] || missing+=(chromium)

# Sandboxed kernels: bubblewrap.
command -v bwrap >/dev/null 2>&1 || missing+=(bubblewrap)
# ...whose CPU, memory and file-size limits are set with prlimit (util-linux).
command -v prlimit >/dev/null 2>&1 || missing+=(util-linux)

# PostgreSQL server binaries (initdb, pg_ctl) for tests/e2e/test_postgres.py, which
# starts its own throwaway server; the gradebook can live in PostgreSQL.
command -v initdb >/dev/null 2>&1 || compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || missing+=(postgresql)

# The hub (make hub, tests/e2e/test_hub.py): Debian's own Python with venv for the environments
# every account can run (learners' pages, the course account's services), sudo for the course
# account's one root helper, setpriv (util-linux) to start the proxy unprivileged.
/usr/bin/python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || missing+=(python3-venv)
command -v sudo >/dev/null 2>&1 || missing+=(sudo)
# The learners' egress rule (autograde/hub/isolation.py; tests/e2e/test_isolation.py): iptables.
[ -x /usr/sbin/iptables ] || missing+=(iptables)
# City directory tests (tests/e2e/test_ldap.py): OpenLDAP's server and its client
# tools (ldapadd, ldapwhoami); the test starts its own slapd with its own
# config and database, never the package's. openssl makes the test's CA.
[ -x /usr/sbin/slapd ] || missing+=(slapd)
command -v ldapadd >/dev/null 2>&1 || missing+=(ldap-utils)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)

if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "system-deps: installing ${missing[*]}"
        apt-get update
        # slapd asks debconf for a domain and builds a default database: skip
        # all of that (the test brings its own config).
        if [[ " ${missing[*]} " == *" slapd "* ]]; then
            echo "slapd slapd/no_configuration boolean true" | debconf-set-selections
        fi
        DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
    else
        echo "system-deps: missing ${missing[*]}; install them as root (apt-get install ${missing[*]})" >&2
    fi
fi
