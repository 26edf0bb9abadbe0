#!/usr/bin/env bash
# The hub's system part, run as root by `make hub` (idempotent):
#   - the course account (hcwh-course: owns the state folder, runs formgrader, the trainer
#     console, HR's report and `hcwh`), the proxy's account (hcwh-proxy) and the idle
#     culler's (hcwh-culler), system accounts with no login shell;
#   - the learners' group (hcwh-learners);
#   - the account helper, installed root-owned as /usr/local/sbin/hcwh-account, the state
#     folder it may touch in /etc/hcwh/state-dir, and (if sudo is installed) the one sudoers
#     line that lets the course account run it;
#   - the state folder: owned by the course account, 0711 (learners pass through to the
#     exchange, see nothing else); the exchange 0755 (nbgrader makes its inbound 0733);
#   - the hub's secrets, each 0600 under its account (scripts/hub-secrets.sh ensure: the list is
#     autograde/hub/credentials.py; existing ones are kept, never regenerated).
#   - the certificates' signer: its account (hcwh-signer), its Ed25519 key (made once, 0600, that
#     account's alone, /etc/hcwh/signer/certificate.key; the public key beside it, 0644) and the one
#     sudoers line that lets the course account run `signer sign` as it (autograde/record/signer.py).
# Usage: scripts/hub-setup.sh STATE_DIR
set -euo pipefail
state=${1:?usage: hub-setup.sh STATE_DIR}
here=$(cd "$(dirname "$0")/.." && pwd)
course=${HCWH_COURSE_USER:-hcwh-course}
proxy=${HCWH_PROXY_USER:-hcwh-proxy}
culler=${HCWH_CULLER_USER:-hcwh-culler}
signer=${HCWH_SIGNER_USER:-hcwh-signer}
course_env=${HCWH_COURSE_ENV:-/opt/hcwh/course-env}
[ "$(id -u)" -eq 0 ] || { echo "hub-setup: run as root (the hub starts each learner's page as their own account)" >&2; exit 1; }

getent group hcwh-learners >/dev/null || groupadd --system hcwh-learners
id "$course" >/dev/null 2>&1 || useradd --system --user-group --shell /usr/sbin/nologin \
    --home-dir "/var/lib/$course" --create-home --comment "How Can We Help? course account" "$course"
chmod 0700 "/var/lib/$course"
id "$proxy" >/dev/null 2>&1 || useradd --system --user-group --shell /usr/sbin/nologin \
    --no-create-home --home-dir /nonexistent --comment "How Can We Help? proxy" "$proxy"
id "$culler" >/dev/null 2>&1 || useradd --system --user-group --shell /usr/sbin/nologin \
    --no-create-home --home-dir /nonexistent --comment "How Can We Help? idle culler" "$culler"
id "$signer" >/dev/null 2>&1 || useradd --system --user-group --shell /usr/sbin/nologin \
    --no-create-home --home-dir /nonexistent --comment "How Can We Help? certificate signer" "$signer"

install -d -m 0755 -o root -g root /usr/local/lib/hcwh /etc/hcwh
install -m 0644 -o root -g root "$here/autograde/identity.py" /usr/local/lib/hcwh/identity.py
install -m 0644 -o root -g root "$here/autograde/hub/logins.py" /usr/local/lib/hcwh/logins.py
install -m 0644 -o root -g root "$here/autograde/hub/seclog.py" /usr/local/lib/hcwh/seclog.py
install -m 0644 -o root -g root "$here/autograde/hub/accounts.py" /usr/local/lib/hcwh/hcwh_account.py
printf '#!/bin/sh\nexec /usr/bin/python3 -E -s /usr/local/lib/hcwh/hcwh_account.py "$@"\n' > /usr/local/sbin/hcwh-account
chown root:root /usr/local/sbin/hcwh-account && chmod 0755 /usr/local/sbin/hcwh-account
mkdir -p "$state"
state=$(cd "$state" && pwd)
echo "$state" > /etc/hcwh/state-dir && chmod 0644 /etc/hcwh/state-dir
signer_key=/etc/hcwh/signer/certificate.key
sign_command="$course_env/bin/python -m autograde.record.signer sign $signer_key"
if [ -d /etc/sudoers.d ]; then
    printf '%s\n' "$course ALL=(root) NOPASSWD: /usr/local/sbin/hcwh-account" \
        "$course ALL=($signer) NOPASSWD: $sign_command" > /etc/sudoers.d/hcwh.new
    chmod 0440 /etc/sudoers.d/hcwh.new && mv /etc/sudoers.d/hcwh.new /etc/sudoers.d/hcwh
fi

chown "$course:$course" "$state" && chmod 0711 "$state"
install -d -m 0755 -o "$course" -g "$course" "$state/exchange"
install -d -m 0700 -o "$course" -g "$course" "$state/course"
install -d -m 0700 -o root -g root "$state/hub"
# the security log (autograde/hub/seclog.py): the course account's, 0600 in a 0700 folder
install -d -m 0700 -o "$course" -g "$course" "$state/logs"
[ -e "$state/logs/security.log" ] || install -m 0600 -o "$course" -g "$course" /dev/null "$state/logs/security.log"
chown "$course:$course" "$state/logs/security.log" && chmod 0600 "$state/logs/security.log"
bash "$here/scripts/hub-secrets.sh" ensure "$state"
# The backup key (hcwh backup / restore): root's, 0600, apart from the state folder; made once, never
# replaced (older archives need it). IT keeps a copy off this machine (README "Backup and restore").
backup_key=${HCWH_BACKUP_KEY:-/etc/hcwh/backup.key}
if [ ! -e "$backup_key" ]; then
    (umask 077 && /usr/bin/python3 -c 'import secrets; print(secrets.token_hex(32))' > "$backup_key")
    echo "hub-setup: backup key $backup_key made (root, 0600): copy it off this machine now"
fi
# The certificates' signing key: made once as the signer account (it alone can read it), never replaced
# (certificates already issued rest on it); the public key is readable by all.
install -d -m 0755 -o "$signer" -g "$signer" /etc/hcwh/signer
if [ ! -e "$signer_key" ]; then
    if [ -x "$course_env/bin/python" ]; then
        (cd / && setpriv --reuid="$signer" --regid="$signer" --clear-groups -- \
            "$course_env/bin/python" -m autograde.record.signer init "$signer_key" >/dev/null)
        echo "hub-setup: certificate signing key $signer_key made ($signer, 0600)"
    else
        echo "hub-setup: WARNING: no course environment at $course_env yet: the signing key is made once it exists (make course-env, then run this again)" >&2
    fi
fi
echo "hub-setup: accounts $course, $proxy, $culler and $signer, helper /usr/local/sbin/hcwh-account, state $state"
[ ! -e "$signer_key" ] || echo "hub-setup: certificates: HCWH_SIGNER=\"sudo -n -u $signer $sign_command\" HCWH_SIGNER_PUBLIC_KEY=$signer_key.pub"

# Lateness is judged on this server's clock: check that it is synchronized (autograde/clock.py).
if ! python3 -E -s "$here/autograde/clock.py"; then
    echo "hub-setup: WARNING: until the clock is synchronized, receipts record clock_synced false and late" >&2
    echo "hub-setup: marks in feedback notes, My plan and HR's report carry a warning." >&2
fi

# Grading runs learners' code in a bubblewrap sandbox as the course account: check now, as that
# account, that this kernel lets it build one, and say what to ask IT for if not.
if [ -x "$course_env/bin/python" ]; then
    if ! why=$(cd / && setpriv --reuid="$course" --regid="$course" --clear-groups -- \
            "$course_env/bin/python" -c 'from autograde.grading.sandbox import require_sandbox; require_sandbox(True)' 2>&1); then
        echo "hub-setup: WARNING: autograde will refuse to grade on this server until this is fixed:" >&2
        echo "$why" | grep -v '^Traceback\|^  File\|^    ' >&2
    fi
fi
