#!/bin/sh
# The project's real HTCondor pool for tests: Debian trixie's condor + minicondor in a chroot.
#
#   tests/pool/pool.sh start    build the root once (about 2 minutes), start condor_master,
#                               wait for the schedd, write the client config and an IDTOKEN
#   tests/pool/pool.sh build    only build the root (also used for the Python 3.13 test run)
#   tests/pool/pool.sh stop     stop condor_master and unmount the root's proc and dev
#   tests/pool/pool.sh mount|release   mount proc/dev in the root / unmount them (not while
#                               the pool runs)
#   tests/pool/pool.sh status   exit 0 if the pool is running
#   tests/pool/pool.sh env      print the environment a client needs (CONDOR_CONFIG=...)
#
# Needs root. State lives in $CONDOR_POOL_DIR (default /var/tmp/condor-pool).
set -eu
DIR=${CONDOR_POOL_DIR:-/var/tmp/condor-pool}
ROOT=$DIR/root
SUBMITTER=${CONDOR_POOL_SUBMITTER:-condorsoap}   # jobs owned by root are refused
# Per-user identity (docs/htcondor-backend.rst): Unix users the submitter may queue jobs as (it is
# a queue super user whose impersonation is limited to exactly these), and users that exist but
# are outside that set (the tests show the schedd refuses them; "malice" contains "alice").
IMPERSONATED=${CONDOR_POOL_USERS:-alice bob}
OUTSIDERS="carol malice"
CLIENT_CONFIG=$DIR/client.conf
TOKENS=$DIR/tokens

log() { echo "pool: $*" >&2; }

mirror() {
    # the Debian mirror this machine already uses
    sed -n 's/^URIs: *\(http[^ ]*debian\)\/*$/\1/p; s/^deb \(http[^ ]*debian\)\/* .*/\1/p' \
        /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null | head -n 1
}

in_root() { env -u CONDOR_CONFIG chroot "$ROOT" "$@"; }  # the host client config is not the root's

mount_root() {
    mountpoint -q "$ROOT/proc" || mount -t proc proc "$ROOT/proc"
    mountpoint -q "$ROOT/dev" || mount --bind /dev "$ROOT/dev"
}

release_root() {
    # proc and dev are the running pool's; with no pool running nothing may stay mounted
    running && return 0
    for m in "$ROOT/dev" "$ROOT/proc"; do
        mountpoint -q "$m" && { umount "$m" 2>/dev/null || umount -l "$m"; }
    done
    return 0
}

build() {
    if [ ! -x "$ROOT/usr/sbin/condor_master" ]; then
        command -v debootstrap >/dev/null || {
            apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null; }
        if [ ! -f "$ROOT/etc/debian_version" ]; then
            m=$(mirror); m=${m:-http://deb.debian.org/debian}
            log "debootstrap trixie from $m"
            mkdir -p "$DIR"
            debootstrap --variant=minbase trixie "$ROOT" "$m" >"$DIR/debootstrap.log" 2>&1
        fi
        mount_root
        cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
        # this machine's CA bundle: HTTPS (PyPI) may go through a proxy whose CA only it has
        cp /etc/ssl/certs/ca-certificates.crt "$ROOT/etc/ssl/certs/host-ca-certificates.crt" 2>/dev/null || true
        log "installing condor and minicondor in the root"
        in_root sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq condor minicondor' \
            >"$DIR/install.log" 2>&1
    fi
    mount_root
    for user in "$SUBMITTER" $IMPERSONATED $OUTSIDERS; do
        in_root id "$user" >/dev/null 2>&1 || in_root useradd -m "$user"
    done
    # ^(condorsoap|alice|bob)$: the schedd's match is unanchored, "alice|bob" would also allow
    # "malice". The submitter's own name must be in it: the knob limits every queue super user,
    # the shadow included, and a shadow that may not act as the job's owner cannot finish the job.
    may_impersonate="^($(echo $SUBMITTER $IMPERSONATED | tr ' ' '|'))\$"
    cat >"$ROOT/etc/condor/config.d/99-condor-soap" <<CONF
# Set by tests/pool/pool.sh: jobs cannot start in this sandbox otherwise.
MOUNT_UNDER_SCRATCH =
USE_PID_NAMESPACES = False
BASE_CGROUP =
# condor-soap's tests keep completed jobs briefly and poll often
PERIODIC_EXPR_INTERVAL = 2
SCHEDD_INTERVAL = 2
# the htcondor backend's insertAd: the submit identity may advertise ads (ADVERTISE_* falls
# back to DAEMON). A test pool only: see docs/htcondor-backend.rst for a production pool.
ALLOW_DAEMON = \$(ALLOW_DAEMON) $SUBMITTER@\$(UID_DOMAIN)
# Per-user identity: the submitter queues jobs owned by (and run as) the users it authenticated,
# and only those; HTCondor never lets anyone set Owner to root. See docs/htcondor-backend.rst.
QUEUE_SUPER_USERS = root, condor, $SUBMITTER
QUEUE_SUPER_USER_MAY_IMPERSONATE = $may_impersonate
CONF
}

running() { [ -f "$DIR/master.pid" ] && kill -0 "$(cat "$DIR/master.pid")" 2>/dev/null; }

start() {
    build
    if running; then
        in_root condor_reconfig >/dev/null 2>&1 || true   # pick up a changed config section
    else
        log "starting condor_master"
        in_root condor_master -pidfile /run/condor/master.pid
        for _ in $(seq 1 50); do [ -s "$ROOT/run/condor/master.pid" ] && break; sleep 0.2; done
        cp "$ROOT/run/condor/master.pid" "$DIR/master.pid"
    fi
    for _ in $(seq 1 150); do
        in_root condor_q -totals >/dev/null 2>&1 && break
        sleep 0.2
    done
    in_root condor_q -totals >/dev/null 2>&1 || { log "schedd did not come up"; exit 1; }
    mkdir -p "$TOKENS"
    chmod 700 "$TOKENS"
    in_root condor_token_create -identity "$SUBMITTER@$(in_root condor_config_val UID_DOMAIN)" \
        >"$TOKENS/condor-soap.token"
    chmod 600 "$TOKENS/condor-soap.token"
    cat >"$CLIENT_CONFIG" <<CONF
# Client configuration for the pool in $ROOT (written by tests/pool/pool.sh)
CONDOR_HOST = 127.0.0.1
COLLECTOR_HOST = 127.0.0.1:9618
SCHEDD_HOST = $(in_root condor_config_val SCHEDD_NAME 2>/dev/null || hostname)
SEC_TOKEN_DIRECTORY = $TOKENS
SEC_CLIENT_AUTHENTICATION_METHODS = IDTOKENS
SEC_CLIENT_AUTHENTICATION = REQUIRED
CONF
    log "ready: CONDOR_CONFIG=$CLIENT_CONFIG"
}

stop() {
    if running; then
        in_root condor_off -master -fast >/dev/null 2>&1 || kill "$(cat "$DIR/master.pid")"
        for _ in $(seq 1 100); do running || break; sleep 0.2; done
    fi
    rm -f "$DIR/master.pid"
    release_root
}

case "${1:-}" in
    start) start ;;
    build) build; release_root ;;
    mount) mount_root ;;
    release) release_root ;;
    stop) stop ;;
    status) running ;;
    env) echo "CONDOR_CONFIG=$CLIENT_CONFIG" ;;
    *) echo "usage: $0 start|build|stop|status|env" >&2; exit 2 ;;
esac
