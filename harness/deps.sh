#!/bin/sh
# deps.sh - make sure the Debian packages allocmark builds and runs with are installed.
# As root: installs what is missing (one apt-get update first). Otherwise: prints the
# exact apt-get line and fails. Uses dpkg -s, so a second run installs nothing.
# usage: harness/deps.sh PACKAGE...
set -eu
missing=""
for pkg in "$@"; do
    if ! dpkg -s "$pkg" 2>/dev/null | grep -q '^Status: install ok installed'; then
        missing="$missing $pkg"
    fi
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
    echo "allocmark: missing Debian packages:$missing" >&2
    echo "allocmark: install them with:  sudo apt-get install -y$missing" >&2
    exit 1
fi
echo "allocmark: installing missing Debian packages:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >&2
