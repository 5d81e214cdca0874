#!/usr/bin/env bash
# Installs everything hadeq and its tests need on a fresh Debian machine (run as root,
# or with sudo available). Idempotent: a second run installs nothing new.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v ngspice >/dev/null 2>&1 || need_apt+=(ngspice)
[ -d /usr/share/datasets/fashion-mnist ] || need_apt+=(dataset-fashion-mnist)
if [ ${#need_apt[@]} -gt 0 ]; then
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}"
fi

PY=${PYTHON:-python3}
# torch first and pinned: a CPU build; anything later that depends on torch finds it.
$PY -c "import torch, sys; sys.exit(torch.__version__.split('+')[0] != '2.13.0')" 2>/dev/null \
    || $PY -m pip install -q torch==2.13.0
$PY -m pip install -q -e ".[dev]"
