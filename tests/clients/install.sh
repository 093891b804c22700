#!/bin/sh
# Install every client toolchain the client matrix (tests/clients) needs. Idempotent and quiet:
# a second run only checks what is there (about a second).
#
#   tests/clients/install.sh            # apt (as root or via sudo), pip and npm
#
# apt:  Java JAX-WS + Axis 1.4, Mono, gSOAP, KDSoap/Qt, PHP, Perl SOAP::WSDL, Ruby soap4r
# pip:  zeep, suds-community, xsdata into $CACHE/venv (not the project's venv)
# npm:  soap, strong-soap, wsdl-tsclient, typescript into $CACHE/node (versions pinned)
# CACHE defaults to ~/.cache/condor-soap-clients (CONDOR_SOAP_CLIENTS_CACHE overrides it).
set -eu
CACHE=${CONDOR_SOAP_CLIENTS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/condor-soap-clients}
PY=${PYTHON:-python3}
mkdir -p "$CACHE"

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# --- apt -------------------------------------------------------------------------------
APT_PACKAGES="default-jdk-headless jaxws libaxis-java libwsdl4j-java libcommons-discovery-java
 libcommons-logging-java mono-devel gsoap libgsoap-dev g++ gcc make pkg-config
 libkdsoap-bin libkdsoap-dev qtbase5-dev php-cli php-soap libsoap-wsdl-perl ruby-soap4r
 nodejs npm"
missing=""
for p in $APT_PACKAGES; do
    case "$p" in  # a preinstalled JDK / node also does
        default-jdk-headless) command -v javac >/dev/null && continue ;;
        nodejs|npm) command -v node >/dev/null && command -v npm >/dev/null && continue ;;
    esac
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "install.sh: apt-get install$missing" >&2
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

# --- pip -------------------------------------------------------------------------------
PIP_PACKAGES="zeep==4.3.3 suds-community==1.2.0 xsdata[cli,lxml,soap]==26.10"
stamp="$CACHE/venv/.installed"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$PIP_PACKAGES" ]; then
    [ -x "$CACHE/venv/bin/python" ] || "$PY" -m venv "$CACHE/venv"
    "$CACHE/venv/bin/python" -m pip install -q --disable-pip-version-check $PIP_PACKAGES
    echo "$PIP_PACKAGES" > "$stamp"
fi

# --- npm -------------------------------------------------------------------------------
NPM_PACKAGES="soap@1.13.0 strong-soap@5.0.10 wsdl-tsclient@1.7.1 typescript@5.9.3 @types/node@^20"
stamp="$CACHE/node/.installed"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$NPM_PACKAGES" ]; then
    mkdir -p "$CACHE/node"
    [ -f "$CACHE/node/package.json" ] || echo '{"name": "condor-soap-clients", "private": true}' > "$CACHE/node/package.json"
    (cd "$CACHE/node" && npm install --silent --no-audit --no-fund $NPM_PACKAGES >/dev/null)
    echo "$NPM_PACKAGES" > "$stamp"
fi
echo "install.sh: client toolchains ready in $CACHE" >&2
