#!/usr/bin/env bash
# Installs everything hadeq and its tests need on a fresh Debian machine. Idempotent: a
# second run installs nothing new.
#
# Needs root (sudo is used when not root) only for apt-get, and only when one of these
# Debian packages is missing:
#   ngspice                the circuit simulator `hadeq spice` and its tests run
#   dataset-fashion-mnist  the Fashion-MNIST files the fashion_mnist task reads
#                          (/usr/share/datasets/fashion-mnist)
#   python3-venv           when this Python cannot create a virtual environment
#   make                   the README's commands
# Everything Python goes into the project virtual environment $VENV (default .venv):
# torch==2.13.0 first (a CPU build), then hadeq, editable, with its dev and docs extras.
# Nothing is installed into the system Python.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
BASE_PYTHON=${BASE_PYTHON:-python3}

apt_install() {
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "setup: apt-get install $* (needs root${sudo:+, via sudo})" >&2
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@"
}

need_apt=()
command -v ngspice >/dev/null 2>&1 || need_apt+=(ngspice)
[ -d /usr/share/datasets/fashion-mnist ] || need_apt+=(dataset-fashion-mnist)
command -v make >/dev/null 2>&1 || need_apt+=(make)
if [ ${#need_apt[@]} -gt 0 ]; then
    apt_install "${need_apt[@]}"
fi

if [ ! -x "$VENV/bin/python" ]; then
    if ! "$BASE_PYTHON" -m venv "$VENV" 2>/dev/null; then
        rm -rf "$VENV"  # Debian's Python creates venvs only with python3-venv installed
        apt_install python3-venv
        "$BASE_PYTHON" -m venv "$VENV"
    fi
fi
PY="$VENV/bin/python"

# torch first and pinned: a CPU build; anything later that depends on torch finds it.
"$PY" -c "import torch, sys; sys.exit(torch.__version__.split('+')[0] != '2.13.0')" \
    2>/dev/null || "$PY" -m pip install -q torch==2.13.0
# hadeq itself, again only when pyproject.toml changed since the last install.
stamp="$VENV/.hadeq-installed"
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ] || ! "$PY" -c "import hadeq" 2>/dev/null; then
    "$PY" -m pip install -q -e ".[dev,docs]"
    echo "$want" > "$stamp"
fi
