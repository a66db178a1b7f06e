#!/usr/bin/env bash
# The main job on a local emulator: a compromised instance, its GuardDuty finding, the real
# quarantine-instance handler, and the state before and after. Pass --keep to leave the emulator up.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/emulator.sh
cargo run --quiet --locked -p firebreak-tests --bin firebreak-demo -- "$@"
