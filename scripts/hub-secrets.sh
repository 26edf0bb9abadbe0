#!/usr/bin/env bash
# The hub's secrets (autograde/hub/credentials.py holds the one list), run by IT as root with
# Debian's Python and the standard library only:
#   scripts/hub-secrets.sh ensure STATE_DIR        make what is missing (hub-setup.sh does it at install)
#   scripts/hub-secrets.sh list   STATE_DIR        each secret: file, owner, mode, since when
#   scripts/hub-secrets.sh rotate STATE_DIR NAME   a new random value; prints what to restart
#   scripts/hub-secrets.sh set    STATE_DIR NAME   a city-provided secret (db-password), from stdin
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here" && exec /usr/bin/python3 -s -m autograde.hub.credentials "$@"
