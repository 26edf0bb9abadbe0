#!/usr/bin/env bash
# Build one of the hub's Python environments from Debian's own /usr/bin/python3 (python3-venv),
# at a world-readable path, so that accounts other than root can run it (the venv `make install`
# makes uses a Python inside /root, which no other account may enter).
#
#   scripts/hub-env.sh learner DIR   learners' single-user servers: jupyterlab, nbgrader (its
#                                    Assignments list), ipywidgets, voila (the module pages),
#                                    jupyterhub-singleuser and the
#                                    project's `curriculum` package, installed as a copy (never the
#                                    content files with the keys: the wheel excludes them)
#   scripts/hub-env.sh course DIR    the course account's services (formgrader, trainer console,
#                                    HR report): the whole project, editable from this checkout
#
# Idempotent: DIR/.hcwh-stamp records what it was built from; an unchanged build is skipped.
set -euo pipefail

kind=${1:?usage: hub-env.sh learner|course DIR}
dir=${2:?usage: hub-env.sh learner|course DIR}
here=$(cd "$(dirname "$0")/.." && pwd)
py=/usr/bin/python3

if ! "$py" -c 'import venv, ensurepip' 2>/dev/null; then
    echo "hub-env: Debian's python3-venv is missing: run 'bash scripts/system-deps.sh' as root" >&2
    exit 1
fi

# What the environment is built from: this script, the package list, and for learners the project's code
# (curriculum, and autograde for the exchange's client).
# The course env is an editable install, so the checkout's path is part of what it is built from.
want=$( { echo "$kind"; [ "$kind" = learner ] || echo "$here"; cat "$here/scripts/hub-env.sh" "$here/pyproject.toml" "$here/requirements/$([ "$kind" = learner ] && echo learner || echo project).txt"; [ "$kind" = course ] || find "$here/curriculum" "$here/autograde" -name '*.py' -o -name '*.j2' -o -name '*.js' -o -name 'conf.json' -o -name 'kernel.json' -o -path '*/framework/*' | grep -v '/modules/' | sort | xargs cat; } | sha256sum | cut -d' ' -f1)
if [ -f "$dir/.hcwh-stamp" ] && [ "$(cat "$dir/.hcwh-stamp")" = "$want" ]; then
    echo "hub-env: $dir is up to date"
    exit 0
fi

umask 022
mkdir -p "$(dirname "$dir")"
[ -x "$dir/bin/python" ] || "$py" -m venv "$dir"
pip=("$dir/bin/python" -m pip install --quiet)
"${pip[@]}" --upgrade pip setuptools wheel
case "$kind" in
    learner)
        "${pip[@]}" --require-hashes -r "$here/requirements/learner.txt"
        # A copy of the project built as a wheel: curriculum without curriculum/modules (the keys).
        tmp=$(mktemp -d)
        trap 'rm -rf "$tmp"' EXIT
        "$dir/bin/python" -m pip wheel --quiet --no-deps --no-build-isolation -w "$tmp" "$here"
        "${pip[@]}" --no-deps --force-reinstall "$tmp"/*.whl
        if (cd / && "$dir/bin/python" -I -c 'import curriculum, pathlib, sys; sys.exit(any((pathlib.Path(curriculum.__file__).parent / "modules").glob("*.yaml")))'); then :; else
            echo "hub-env: the learner environment holds curriculum/modules (answer keys): refusing" >&2
            exit 1
        fi
        # nbgrader's trainer extensions off for learners: only the Assignments list.
        "$dir/bin/jupyter" server extension disable --sys-prefix nbgrader.server_extensions.formgrader >/dev/null 2>&1 || true
        "$dir/bin/jupyter" server extension disable --sys-prefix nbgrader.server_extensions.course_list >/dev/null 2>&1 || true
        "$dir/bin/jupyter" labextension disable --level=sys_prefix @jupyter/nbgrader:formgrader >/dev/null 2>&1 || true
        "$dir/bin/jupyter" labextension disable --level=sys_prefix @jupyter/nbgrader:course-list >/dev/null 2>&1 || true
        "$dir/bin/jupyter" labextension disable --level=sys_prefix @jupyter/nbgrader:create-assignment >/dev/null 2>&1 || true
        ;;
    course)
        "${pip[@]}" --require-hashes -r "$here/requirements/project.txt"
        "${pip[@]}" --no-deps --no-build-isolation -e "$here"
        ;;
    *)
        echo "hub-env: unknown kind '$kind' (learner or course)" >&2
        exit 2
        ;;
esac
# jsonschema's rfc3987-syntax (pulled in by jupyter-events' jsonschema[format-nongpl]) builds 35
# parsers when it is imported, which every Jupyter server does: 1.4 s of each learner's server start,
# measured here (github.com/jupyter-server/jupyter_server/issues/1559). Without it jsonschema skips
# the "iri" and "iri-reference" formats, which no Jupyter schema uses. It stays in the lock (and the
# SBOM) because the lock is resolved as pip sees the packages' requirements.
"$dir/bin/python" -m pip uninstall --quiet --yes rfc3987-syntax
chmod -R a+rX "$dir"
echo "$want" > "$dir/.hcwh-stamp"
echo "hub-env: built $kind environment in $dir"
