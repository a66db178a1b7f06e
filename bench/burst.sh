#!/usr/bin/env bash
# The burst bench (issue 19; method: docs/performance.md "Burst"): builds the release
# quarantine-instance bootstrap, then contains N = 1, 10, 50, 100 instances at once against EC2's
# request token buckets, as N findings to 10 processes and as attack sequences, for the Rust
# bootstrap and the Python + boto3 baseline. Writes bench/results-burst.md and bench/burst.svg.
# Arguments go to the bench: --sizes 1,10 (default 1,10,50,100), --latency-ms N (default 20),
# --bootstrap PATH, --python PATH; FIREBREAK_BURST_OUTPUT=PATH moves the results file.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/emulator.sh
target="${CARGO_TARGET_DIR:-target}"
cargo build --release --locked -p quarantine-instance
# --workspace: the features the test command builds with, so its debug build is reused.
cargo build --locked --workspace --bin firebreak-bench
exec "$target/debug/firebreak-bench" --bootstrap "$target/release/quarantine-instance" --burst "$@"
