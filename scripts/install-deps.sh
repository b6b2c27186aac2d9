#!/bin/sh
# install-deps.sh — makes sure the build dependencies are present (Debian 12).
# As root, installs what is missing with apt-get and says so; otherwise prints the apt-get line and fails.
set -e
PKGS=""
command -v pkg-config >/dev/null 2>&1 || PKGS="$PKGS pkg-config"
if command -v pkg-config >/dev/null 2>&1; then
    pkg-config --exists zlib || PKGS="$PKGS zlib1g-dev"
    pkg-config --exists json-c || PKGS="$PKGS libjson-c-dev"
    pkg-config --exists libpcre2-8 || PKGS="$PKGS libpcre2-dev"
    pkg-config --exists libutf8proc || PKGS="$PKGS libutf8proc-dev"
    pkg-config --exists check || PKGS="$PKGS check"
else
    PKGS="$PKGS zlib1g-dev libjson-c-dev libpcre2-dev libutf8proc-dev check"
fi
command -v cc >/dev/null 2>&1 || PKGS="$PKGS gcc"
[ -z "$PKGS" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "install-deps: installing missing Debian packages:$PKGS" >&2
    DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q $PKGS >&2
else
    echo "install-deps: missing build dependencies; run as root:" >&2
    echo "  apt-get install -y$PKGS" >&2
    exit 1
fi
