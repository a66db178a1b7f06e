#!/usr/bin/env bash
# The performance bench (README "Performance"): builds the release bootstrap of
# quarantine-instance, then measures it and the Python + boto3 baseline side by side and prints
# the table. Arguments go to the bench: --iterations N (default 5), --latency-ms N (default 20),
# --no-moto, --bootstrap PATH, --python PATH.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/emulator.sh
target="${CARGO_TARGET_DIR:-target}"
cargo build --release --locked -p quarantine-instance
# The bench itself is a plain debug build: its endpoints do next to nothing per request.
cargo build --locked -p firebreak-bench --bin firebreak-bench
exec "$target/debug/firebreak-bench" --bootstrap "$target/release/quarantine-instance" "$@"
