#!/usr/bin/env bash
# README's test command: on a Debian or Ubuntu machine with nothing but Python and apt,
# install what the test suite needs, then run it (tox -e py3,pep8; arguments go to pytest).
set -euo pipefail
cd "$(dirname "$0")/.."

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
apt_install() {
    echo "tools/test.sh: installing $* with apt-get" >&2
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq "$@" >/dev/null
}

# qemu-img builds the test images and converts them in the production-like Glance;
# redis-server backs the tooz lock tests.
missing=()
command -v qemu-img >/dev/null || missing+=(qemu-utils)
command -v lbzip2 >/dev/null || missing+=(lbzip2)
command -v redis-server >/dev/null || missing+=(redis-server)
command -v memcached >/dev/null || missing+=(memcached)   # tempauth's token cache in the test Swift
command -v gpgv >/dev/null || missing+=(gpgv)   # openSUSE's v3 signatures
command -v gpg >/dev/null || missing+=(gpg)     # the test mirror signs files as of their dates
python3 -c "import ensurepip" 2>/dev/null || missing+=(python3-venv)
[ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"

# tox in a virtualenv of its own: a distribution's Python refuses a system-wide pip install
tools_venv="${XDG_CACHE_HOME:-$HOME/.cache}/imgsync/tools-venv"
if [ ! -x "$tools_venv/bin/tox" ]; then
    echo "tools/test.sh: installing tox into $tools_venv" >&2
    python3 -m venv "$tools_venv"
    "$tools_venv/bin/pip" install -q tox
fi
exec "$tools_venv/bin/tox" -e py3,pep8 -- "$@"
