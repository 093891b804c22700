#!/bin/sh
# Install every client toolchain of the client matrix (tests/clients). Idempotent and quiet:
# when everything is there it only checks (about a second). The suite runs it once per session.
#
#   tests/clients/install.sh
#
# apt (as root, else via sudo): Java JAX-WS wsimport + Axis 1.4, Mono wsdl/mcs, gSOAP, KDSoap/Qt 5,
#      PHP soap, Perl SOAP::WSDL, Ruby soap4r (and a JDK, gcc/g++, node/npm if missing)
# pip: zeep, suds-community, xsdata into $CACHE/venv (not the project's venv)
# npm: soap, strong-soap, wsdl-tsclient, typescript into $CACHE/node
# CACHE is $CONDOR_SOAP_CLIENTS_CACHE, default ~/.cache/condor-soap-clients. Versions are pinned.
set -eu
CACHE=${CONDOR_SOAP_CLIENTS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/condor-soap-clients}
PY=${PYTHON:-python3}
mkdir -p "$CACHE"
LOG="$CACHE/install.log"
: > "$LOG"

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
# run quietly; on failure show what it said
quiet() { "$@" >>"$LOG" 2>&1 || { echo "install.sh: failed: $*" >&2; tail -n 40 "$LOG" >&2; exit 1; }; }

# --- apt ------------------------------------------------------------------------------------
APT_PACKAGES="jaxws libaxis-java libwsdl4j-java libcommons-discovery-java libcommons-logging-java
 mono-devel gsoap libgsoap-dev libkdsoap-bin libkdsoap-dev qtbase5-dev php-cli php-soap
 libsoap-wsdl-perl ruby-soap4r ruby-httpclient gcc g++ make pkg-config"
missing=""
command -v javac >/dev/null || missing="default-jdk-headless"
command -v node >/dev/null && command -v npm >/dev/null || missing="$missing nodejs npm"
for p in $APT_PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "install.sh: apt-get install$missing" >&2
    quiet as_root apt-get update -qq
    quiet as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
fi

# --- pip ------------------------------------------------------------------------------------
PIP_PACKAGES="zeep==4.3.3 suds-community==1.2.0 xsdata[cli,lxml,soap]==26.10"
stamp="$CACHE/venv/.installed"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$PIP_PACKAGES" ]; then
    echo "install.sh: pip install $PIP_PACKAGES" >&2
    [ -x "$CACHE/venv/bin/python" ] || quiet "$PY" -m venv "$CACHE/venv"
    quiet "$CACHE/venv/bin/python" -m pip install -q --disable-pip-version-check $PIP_PACKAGES
    echo "$PIP_PACKAGES" > "$stamp"
fi

# --- npm ------------------------------------------------------------------------------------
NPM_PACKAGES="soap@1.13.0 strong-soap@5.0.10 wsdl-tsclient@1.7.1 typescript@5.9.3 @types/node@^20"
stamp="$CACHE/node/.installed"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$NPM_PACKAGES" ]; then
    echo "install.sh: npm install $NPM_PACKAGES" >&2
    mkdir -p "$CACHE/node"
    [ -f "$CACHE/node/package.json" ] || echo '{"name": "condor-soap-clients", "private": true}' > "$CACHE/node/package.json"
    (cd "$CACHE/node" && quiet npm install --no-audit --no-fund --loglevel=error $NPM_PACKAGES)
    echo "$NPM_PACKAGES" > "$stamp"
fi
