#!/usr/bin/env bash
# The night Firebreak exists for, replayed on a local emulator in its real order, through the real
# handlers: the NetworkOut alarm on the instance and AWS Health's abuse notice naming its Elastic
# IP (abuse-report), GuardDuty's DoS finding (quarantine-instance), the port probe on its
# world-open SSH group (close-open-ports), the leaked access key (revoke-credentials), then the
# morning posture audit listing what was left open (audit-posture). Each step prints a short
# summary; --json also prints each function's JSON report. --keep leaves the emulator up with a
# fresh compromised instance and its GuardDuty event in target/demo/.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/emulator.sh
cargo run --quiet --locked -p firebreak-tests --bin firebreak-demo -- "$@"
