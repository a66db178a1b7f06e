#!/usr/bin/env bash
# Installs the pinned AWS emulator (moto server) into a virtual environment, once.
# Sourced by test.sh and demo.sh; exports FIREBREAK_MOTO_SERVER for the test harness.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${FIREBREAK_VENV:-$root/.venv}"
stamp="$venv/.requirements-dev.txt"
if ! cmp -s "$root/requirements-dev.txt" "$stamp" 2>/dev/null || [ ! -x "$venv/bin/moto_server" ]; then
  echo "installing the emulator into $venv ..." >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$root/requirements-dev.txt"
  cp "$root/requirements-dev.txt" "$stamp"
fi
export FIREBREAK_MOTO_PYTHON="$venv/bin/python"
export FIREBREAK_MOTO_SERVER="$root/scripts/moto-server"
