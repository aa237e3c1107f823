#!/usr/bin/env bash
# Every check and every test, as CI runs them (.ci/run calls exactly this, with
# REDRESS_ARM64_BUILD=1 for the arm64 build at the end):
# formatting, the template (cfn-lint + SAM transform), clippy, then all tests —
# domain unit and property tests, handler tests from event fixtures, and end-to-end
# tests against a private local stack (in-memory DynamoDB Local and moto on their own
# ports, stopped afterwards).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

step() { printf '\n== %s\n' "$*" >&2; }

step "setup"
bash scripts/setup.sh >&2

step "formatting"
cargo fmt --all --check

step "template"
bash scripts/check-template.sh

step "clippy"
cargo clippy --quiet --workspace --all-targets -- -D warnings

step "local stack for the tests"
export AWS_REGION="${AWS_REGION:-us-east-1}"
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-test}"
export AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-test}"
export REDRESS_DDB_PORT="${REDRESS_TEST_DDB_PORT:-8100}"
export REDRESS_SQS_PORT="${REDRESS_TEST_SQS_PORT:-5100}"
export REDRESS_DDB_DATA=memory
trap 'bash scripts/stack.sh stop >&2 || true' EXIT
eval "$(bash scripts/stack.sh start)"

step "tests"
# The function binaries first: tests/tests/runtime_api.rs runs them under a Runtime API
# emulator (and the browser tests run the local runner).
cargo build --quiet --workspace --bins
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast
else
  cargo test --workspace --no-fail-fast
fi

step "browser tests (headless chromium; screenshots in artifacts/screenshots)"
bash tests/browser/run.sh

# The arm64 bootstraps that ship (sam build, zipped, sizes and build time). CI sets
# REDRESS_ARM64_BUILD=1 (.ci/run); locally it is off by default, because a first
# release build takes tens of minutes on 2 cores: `REDRESS_ARM64_BUILD=1 bash scripts/test.sh`
# or `bash scripts/build.sh` alone.
if [ "${REDRESS_ARM64_BUILD:-0}" = 1 ]; then
  step "arm64 build (scripts/build.sh)"
  nice -n 10 bash scripts/build.sh
fi
