#!/usr/bin/env bash
# The deployment checks, offline: cfn-lint on every template, the CDK app synthesised with cdk-nag
# (the evidence stack too: -c evidence=true) and its assertion tests, then infra/checks/infra_check.py
# (functions deployed, EventBridge patterns through moto's matcher against events/, roles against
# the code's AWS calls) and infra/checks/evidence_check.py (evidence.yaml == its CDK twin, the
# bucket's settings, the forensic role against the capture document).
# Called by test.sh; needs Node 20 + npm (the CDK packages install once from package-lock.json).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
source scripts/emulator.sh
venv="${FIREBREAK_VENV:-$root/.venv}"
python="$venv/bin/python"

cdk="$root/infra/cdk"
if ! cmp -s "$cdk/package-lock.json" "$cdk/node_modules/.package-lock.stamp" 2>/dev/null; then
  echo "installing the CDK packages (npm ci) ..." >&2
  (cd "$cdk" && npm ci --no-audit --no-fund --loglevel=error)
  cp "$cdk/package-lock.json" "$cdk/node_modules/.package-lock.stamp"
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# cdk synth without building Rust: one placeholder bootstrap per crate in functions/ (a real
# deploy points FIREBREAK_LAMBDA_DIR at target/lambda, see docs/deploy.md).
for manifest in functions/*/Cargo.toml; do
  name="$(sed -n 's/^name *= *"\(.*\)"/\1/p' "$manifest" | head -1)"
  mkdir -p "$work/lambda/$name" && : > "$work/lambda/$name/bootstrap"
done

echo "== cdk synth (cdk-nag AwsSolutions) and the CDK assertion tests"
(cd "$cdk" && npx tsc \
  && FIREBREAK_LAMBDA_DIR="$work/lambda" CDK_OUTDIR="$work/cdk.out" CDK_CONTEXT_JSON='{"evidence":"true"}' node dist/bin/firebreak.js \
  && node --test dist/test/)

echo "== cfn-lint"
"$venv/bin/cfn-lint" infra/sam/template.yaml infra/member-role.yaml infra/evidence.yaml
# W3005: CDK itself writes a DependsOn on the role next to the Fn::GetAtt of it.
"$venv/bin/cfn-lint" --ignore-checks W3005 -- "$work/cdk.out/Firebreak.template.json"
"$venv/bin/cfn-lint" -- "$work/cdk.out/FirebreakEvidence.template.json"

echo "== templates against the code and the sample events"
"$python" infra/checks/infra_check.py infra/sam/template.yaml "$work/cdk.out/Firebreak.template.json" infra/member-role.yaml

echo "== the evidence template (infra/evidence.yaml) and its CDK twin"
"$python" infra/checks/evidence_check.py infra/evidence.yaml "$work/cdk.out/FirebreakEvidence.template.json"
