#!/usr/bin/env bash
# Set up imgsync in a virtualenv and run the demo: a local Keystone + Glance,
# a sample Ubuntu mirror, then 'imgsync sync' twice against them.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v qemu-img >/dev/null; then
    if [ "$(id -u)" = 0 ]; then
        echo "demo: installing qemu-utils with apt-get (to build the sample images)" >&2
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq qemu-utils >/dev/null
    else
        echo "demo: qemu-img is needed to build the sample images: apt-get install qemu-utils" >&2
        exit 2
    fi
fi
if [ ! -x .venv/bin/python ]; then
    echo "demo: creating the virtualenv .venv" >&2
    python3 -m venv .venv
fi
echo "demo: installing imgsync and its dependencies into .venv" >&2
.venv/bin/pip install -q -e .
exec .venv/bin/python tools/demo.py "$@"
