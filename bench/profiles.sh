#!/usr/bin/env bash
# The release-profile comparison behind Cargo.toml's [profile.release] (docs/performance.md,
# "Release profile"): builds the quarantine-instance bootstrap once per profile variant, each from
# cold in its own target directory (timed), benches each against the instant endpoint, prints one
# row per variant and writes the table to bench/profiles.md (or FIREBREAK_PROFILES_OUTPUT=PATH).
# Slow: every variant is a full release build of the SDK (10-15 min each on 2 cores).
# Arguments go to the bench (e.g. --iterations 10). Variant target directories are removed after
# use, except the committed profile's, which is the normal release build.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/emulator.sh
target="${CARGO_TARGET_DIR:-target}"
# --workspace: the features the test command builds with, so its debug build is reused.
cargo build --locked --workspace --bin firebreak-bench

# name | environment overriding [profile.release]; the first is the committed profile.
variants=(
  "fat LTO, 1 CGU, opt s (committed)|"
  "fat LTO, 1 CGU, opt 3|CARGO_PROFILE_RELEASE_OPT_LEVEL=3"
  "thin LTO, 16 CGU, opt 3|CARGO_PROFILE_RELEASE_OPT_LEVEL=3 CARGO_PROFILE_RELEASE_LTO=thin CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16"
  "no LTO, 16 CGU, opt 3|CARGO_PROFILE_RELEASE_OPT_LEVEL=3 CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16"
  "fat LTO, 1 CGU, opt 3, panic unwind|CARGO_PROFILE_RELEASE_OPT_LEVEL=3 CARGO_PROFILE_RELEASE_PANIC=unwind"
)
# FIREBREAK_PROFILE_VARIANTS=N runs only the first N (1: the committed profile, a quick check).
rows=()
for variant in "${variants[@]:0:${FIREBREAK_PROFILE_VARIANTS:-${#variants[@]}}}"; do
  name="${variant%%|*}"
  overrides="${variant#*|}"
  if [ -z "$overrides" ]; then
    dir="$target"
  else
    dir="$target/profile-variant"
    rm -rf "$dir"
  fi
  # The committed profile's build may be warm already; its time is then not a cold build's.
  started=$(date +%s)
  env $overrides CARGO_TARGET_DIR="$dir" cargo build --release --locked -p quarantine-instance
  build="$(( ($(date +%s) - started + 30) / 60 )) min"
  cp "$dir/release/quarantine-instance" "$target/bootstrap-variant"
  rows+=("$("$target/debug/firebreak-bench" --bootstrap "$target/bootstrap-variant" --no-moto \
    --profile-row "$name" "$build" "$@")")
  [ "$dir" = "$target" ] || rm -rf "$dir"
done
rm -f "$target/bootstrap-variant"
output="${FIREBREAK_PROFILES_OUTPUT:-bench/profiles.md}"
{
  printf '# Firebreak release-profile comparison\n\n'
  printf 'measured: %s, commit %s\n' "$(date -u '+%Y-%m-%d %H:%M UTC')" "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
  printf 'machine: %s, %s core(s)\n\n' "$(uname -srm)" "$(nproc)"
  "$target/debug/firebreak-bench" --profile-header
  printf '%s\n' "${rows[@]}"
} | tee "$output"
printf '\nresults written to %s\n' "$output"
