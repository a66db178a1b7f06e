#!/usr/bin/env bash
# The performance bench (method: docs/performance.md): builds the release bootstrap of every
# function, then measures quarantine-instance's and the Python + boto3 baseline side by side,
# prints the tables and the targets' verdicts, writes them to bench/results.md and prints that
# path last. Arguments go to the bench: --iterations N (default 5), --latency-ms N (default 20),
# --no-moto, --bootstrap PATH, --python PATH, --output PATH (or FIREBREAK_BENCH_OUTPUT=PATH).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/emulator.sh
target="${CARGO_TARGET_DIR:-target}"
# Every function's bootstrap, for the size table; quarantine-instance is the one measured.
cargo build --release --locked $(for f in functions/*/Cargo.toml; do printf -- '-p %s ' "$(basename "$(dirname "$f")")"; done)
# The bench itself is a plain debug build: its endpoints do next to nothing per request.
# --workspace: the features the test command builds with, so its debug build is reused.
cargo build --locked --workspace --bin firebreak-bench
exec "$target/debug/firebreak-bench" --bootstrap "$target/release/quarantine-instance" "$@"
