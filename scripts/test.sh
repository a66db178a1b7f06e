#!/usr/bin/env bash
# Runs every check and every test: formatting, lints, unit tests and the emulator tests.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/emulator.sh
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked
bash scripts/infra-check.sh
