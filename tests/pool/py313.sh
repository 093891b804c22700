#!/bin/sh
# Run the SOAP and workflow tests on Python 3.13, in the Debian trixie root of tests/pool.
#   tests/pool/py313.sh [pytest options]
# Builds the root if needed (tests/pool/pool.sh build), makes a 3.13 venv in it, bind-mounts
# this checkout (only it) at /mnt/condor-soap, installs it and runs pytest. Needs root.
# Everything it mounts is unmounted when it ends, also on failure or interruption; one run at
# a time (flock), so two checkouts never see each other's tree.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
DIR=${CONDOR_POOL_DIR:-/var/tmp/condor-pool}
ROOT=$DIR/root
MNT=/mnt/condor-soap
VENV=/opt/condor-soap-py313
CA=/etc/ssl/certs/host-ca-certificates.crt

"$HERE/pool.sh" build >&2
mkdir -p "$DIR"
exec 9>"$DIR/py313.lock"
flock 9

cleanup() {
    status=$?
    trap - EXIT INT TERM
    umount "$ROOT$MNT" 2>/dev/null || umount -l "$ROOT$MNT" 2>/dev/null || true
    rmdir "$ROOT$MNT" 2>/dev/null || true
    "$HERE/pool.sh" release >&2 || true   # proc/dev of the root, unless the pool is running
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

"$HERE/pool.sh" mount >&2
cp /etc/ssl/certs/ca-certificates.crt "$ROOT$CA"
mkdir -p "$ROOT$MNT"
mount --bind "$REPO" "$ROOT$MNT"

chroot "$ROOT" env PIP_CERT=$CA SSL_CERT_FILE=$CA REQUESTS_CA_BUNDLE=$CA PIP_FIND_LINKS= sh -eu -c "
    [ -x $VENV/bin/python ] || {
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
        python3 -m venv $VENV
    }
    $VENV/bin/python -m pip install -q -e '$MNT[test]'
"
# not exec: the trap must run once pytest ends
chroot "$ROOT" env PIP_FIND_LINKS= sh -c "cd '$MNT' && \
    $VENV/bin/python -m pytest -p no:cacheprovider tests/soap tests/functional -k 'not htcondor' -m 'not real_pool' $*"
