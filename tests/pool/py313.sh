#!/bin/sh
# Run the wire and workflow tests on Python 3.13, in the Debian trixie root of tests/pool.
#   tests/pool/py313.sh [pytest options]
# Builds the root if needed (tests/pool/pool.sh build), makes a 3.13 venv in it, installs this
# checkout (bind-mounted with its parent, so ../shared is there too) and runs pytest. Needs root.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
PARENT=$(dirname "$REPO")
DIR=${CONDOR_POOL_DIR:-/var/tmp/condor-pool}
ROOT=$DIR/root
MNT=/mnt/work
VENV=/opt/condor-soap-py313

"$HERE/pool.sh" build >&2
cp /etc/ssl/certs/ca-certificates.crt "$ROOT/etc/ssl/certs/host-ca-certificates.crt"
mkdir -p "$ROOT$MNT"
mountpoint -q "$ROOT$MNT" || mount --bind "$PARENT" "$ROOT$MNT"
trap 'umount "$ROOT$MNT" 2>/dev/null || true' EXIT

CA=/etc/ssl/certs/host-ca-certificates.crt
chroot "$ROOT" env PIP_CERT=$CA SSL_CERT_FILE=$CA REQUESTS_CA_BUNDLE=$CA PIP_FIND_LINKS= sh -eu -c "
    [ -x $VENV/bin/python ] || {
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
        python3 -m venv $VENV
    }
    $VENV/bin/python -m pip install -q -e '$MNT/$(basename "$REPO")[test]'
"
cd "$REPO"
exec chroot "$ROOT" env PIP_FIND_LINKS= sh -c "cd '$MNT/$(basename "$REPO")' && \
    $VENV/bin/python -m pytest -p no:cacheprovider tests/soap tests/functional -k 'not htcondor' $*"
