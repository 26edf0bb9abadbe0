#!/usr/bin/env bash
# The upgrade path (README "Patching and upgrades"), run by IT as root from the NEW checkout, the hub
# stopped:
#
#   bash scripts/upgrade.sh backup   STATE BACKUP   # a consistent copy of STATE (hub stopped) + its gradebook rows
#   bash scripts/upgrade.sh upgrade  STATE          # this checkout's envs, jupyterhub upgrade-db, nbgrader db upgrade,
#                                                   # the record's migrations (NO_ENVS=1: keep the envs as they are)
#   (start the hub: make hub)
#   bash scripts/upgrade.sh smoke    STATE BACKUP [HUB_URL]  # the hub answers; gradebook rows as in the backup
#   bash scripts/upgrade.sh rollback STATE BACKUP   # hub stopped: STATE put back from BACKUP (the upgraded one kept aside)
#   bash scripts/upgrade.sh all      STATE BACKUP   # backup, then upgrade
#
# Each step stops at the first failure, saying what failed and where; nothing is deleted (rollback
# moves the upgraded state aside to STATE.upgraded-<time>). With HCWH_DB_URL (a PostgreSQL gradebook)
# the gradebook is not in STATE: back it up with pg_dump first; this script says so and stops.
set -euo pipefail

HERE=$(cd "$(dirname "$0")/.." && pwd)
PY=${HCWH_UPGRADE_PYTHON:-$HERE/.venv/bin/python}
die() { echo "upgrade.sh: $*" >&2; exit 2; }

hub_stopped() {  # refuse while STATE's hub runs: its databases would change under the copy
    local pidfile=$1/hub/jupyterhub.pid
    if [[ -f $pidfile ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
        die "the hub of $1 is running (pid $(cat "$pidfile"), $pidfile): stop it first"
    fi
}

no_external_gradebook() {
    [[ -z ${HCWH_DB_URL:-} ]] || die "HCWH_DB_URL is set: the gradebook is in that database, not in the state folder; back it up with pg_dump (and restore it with pg_restore on rollback), then run this with HCWH_DB_URL unset"
}

rows() { HCWH_STATE_DIR=$1 PYTHONPATH=$HERE "$PY" -m autograde.upgrade "${@:2}"; }

# The backup step: a plain copy on this machine, for a rollback minutes later (byte for byte, owners and
# modes kept). It is not the disaster backup: `hcwh backup` (encrypted, off the machine) is; take one too.
backup_state() {
    local state=$1 dest=$2
    [[ -d $state/course ]] || die "$state: not a state folder (no course/ in it)"
    [[ ! -e $dest/state ]] || die "$dest/state already exists: choose a new backup folder"
    hub_stopped "$state"
    no_external_gradebook
    mkdir -p "$dest" && chmod 700 "$dest"
    rows "$state" rows > "$dest/gradebook-rows.json.part"
    cp -a "$state" "$dest/state.part"
    mv "$dest/state.part" "$dest/state"
    mv "$dest/gradebook-rows.json.part" "$dest/gradebook-rows.json"
    git -C "$HERE" rev-parse HEAD > "$dest/upgraded-to" 2>/dev/null || true
    echo "backup: $state copied to $dest/state ($(du -sh "$dest/state" | cut -f1)); $(wc -c < "$dest/gradebook-rows.json") bytes of gradebook rows"
}

upgrade_state() {
    local state=$1
    hub_stopped "$state"
    no_external_gradebook
    if [[ -z ${NO_ENVS:-} ]]; then
        make -C "$HERE" install learner-env course-env
    fi
    if [[ -f $state/hub/jupyterhub.sqlite ]]; then  # JupyterHub keeps its own copy next to it (jupyterhub.sqlite.<time>.bak)
        (cd "$state/hub" && "$HERE/.venv/bin/jupyterhub" upgrade-db --db="sqlite:///$state/hub/jupyterhub.sqlite" \
            --log-level=WARN) || die "jupyterhub upgrade-db failed on $state/hub/jupyterhub.sqlite: roll back"
        echo "upgrade: the hub's database is at JupyterHub $("$HERE/.venv/bin/jupyterhub" --version)'s schema"
    fi
    # nbgrader runs `alembic` from PATH
    (cd "$HERE" && PATH=$HERE/.venv/bin:$PATH HCWH_STATE_DIR=$state "$HERE/.venv/bin/nbgrader" db upgrade --log-level=WARN) \
        || die "nbgrader db upgrade failed on $state/course/gradebook.db: roll back"
    echo "upgrade: the gradebook is at nbgrader $("$HERE/.venv/bin/python" -c 'import nbgrader; print(nbgrader.__version__)')'s schema"
    rows "$state" record | sed 's/^/upgrade: /' || die "the record's migrations failed on $state/record/record.db: roll back"
}

smoke() {
    local state=$1 dest=$2 url=${3:-}
    if [[ -n $url ]]; then
        local answer
        answer=$(curl -fsS --max-time 20 ${HCWH_UPGRADE_CA:+--cacert "$HCWH_UPGRADE_CA"} "$url/hub/api/") \
            || die "the hub at $url does not answer /hub/api/: roll back"
        echo "smoke: the hub answers: $answer"
    fi
    rows "$state" same "$dest/gradebook-rows.json" | sed 's/^/smoke: /'
    [[ ${PIPESTATUS[0]} == 0 ]] || die "the gradebook differs from the backup's: roll back"
}

rollback() {
    local state=$1 dest=$2
    hub_stopped "$state"
    [[ -d $dest/state ]] || die "$dest/state: no backup there"
    local aside
    aside="$state.upgraded-$(date -u +%Y%m%dT%H%M%SZ)"
    [[ -e $state ]] && mv "$state" "$aside"
    cp -a "$dest/state" "$state.part"
    mv "$state.part" "$state"
    echo "rollback: $state is the backup again; the upgraded state is kept in ${aside}"
    echo "rollback: now run the previous release's code (its checkout, \`make install learner-env course-env\`) and start the hub"
}

case ${1:-} in
    backup)   [[ $# == 3 ]] || die "usage: backup STATE BACKUP"; backup_state "$2" "$3" ;;
    upgrade)  [[ $# == 2 ]] || die "usage: upgrade STATE"; upgrade_state "$2" ;;
    smoke)    [[ $# -ge 3 ]] || die "usage: smoke STATE BACKUP [HUB_URL]"; smoke "$2" "$3" "${4:-}" ;;
    rollback) [[ $# == 3 ]] || die "usage: rollback STATE BACKUP"; rollback "$2" "$3" ;;
    all)      [[ $# == 3 ]] || die "usage: all STATE BACKUP"; backup_state "$2" "$3"; upgrade_state "$2" ;;
    *)        die "usage: bash scripts/upgrade.sh backup|upgrade|smoke|rollback|all STATE [BACKUP] [HUB_URL]" ;;
esac
