#!/usr/bin/env bash
# Re-lock the Python environments with hashes (README "Patching and upgrades"), from PyPI only:
#   requirements/project.txt   the project's venv (make install) and the course account's env:
#                              pyproject.toml's dependencies and its `test` extra
#   requirements/learner.txt   the learners' environment, from requirements/learner.in
#   scripts/lock.sh             after changing a dependency: new and changed requirements resolved,
#                               every other pin kept
#   scripts/lock.sh --upgrade   take upgrades: every package to its newest allowed version
# Then run make test and commit both files. The hub's proxy is locked by hub/package-lock.json (npm ci).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
tool=$(mktemp -d)
trap 'rm -rf "$tool"' EXIT
# PyPI only: this machine's own wheel folders and pip configuration are not what CI will see.
export PIP_CONFIG_FILE=/dev/null
unset PIP_FIND_LINKS PIP_EXTRA_INDEX_URL PIP_CONSTRAINT || true
# Resolved for Debian's own Python (3.11.2 on Debian 12), which the hub's environments run: the
# oldest Python any environment uses, so every pin installs on the project's Python 3.11 too.
py=${HCWH_LOCK_PYTHON:-/usr/bin/python3}
echo "lock: pip-tools in a throwaway environment ($("$py" --version))"
"$py" -m venv "$tool"
"$tool/bin/pip" install --quiet --disable-pip-version-check "pip-tools>=7.4"
compile=("$tool/bin/pip-compile" --quiet --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url
         --resolver=backtracking)
[ "${1:-}" = "--upgrade" ] && compile+=(--upgrade)
cd "$here"
echo "lock: requirements/project.txt (pyproject.toml + [test])"
"${compile[@]}" --extra test -o requirements/project.txt pyproject.toml
echo "lock: requirements/learner.txt (requirements/learner.in)"
"${compile[@]}" -o requirements/learner.txt requirements/learner.in
echo "lock: done; run make test, then commit requirements/*.txt"
