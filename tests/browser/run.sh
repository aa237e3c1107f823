#!/usr/bin/env bash
# Runs the browser tests against a local pipeline started for them: redress-local on a
# free port with its own table/queue prefix, against the stack whose AWS_ENDPOINT_URL_*
# are exported (scripts/test.sh starts it). Needs `cargo build --workspace --bins`.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
: "${AWS_ENDPOINT_URL_DYNAMODB:?start the local stack first (scripts/stack.sh start)}"
: "${AWS_ENDPOINT_URL_SQS:?start the local stack first (scripts/stack.sh start)}"

PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')"
PREFIX="browser-$(head -c 4 /dev/urandom | od -An -tx1 | tr -d ' \n')"
LOG="$ROOT/artifacts/browser-pipeline.log"
mkdir -p "$ROOT/artifacts/screenshots"
target/debug/redress-local --listen "127.0.0.1:$PORT" --prefix "$PREFIX" --retry-after 1 --sweep-every 0 \
    --demo-users demo/users.toml >"$LOG" 2>&1 &
PIPELINE=$!
trap 'kill "$PIPELINE" 2>/dev/null || true; wait "$PIPELINE" 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do
    if curl -sf -o /dev/null "http://127.0.0.1:$PORT/assets/app.css"; then break; fi
    kill -0 "$PIPELINE" 2>/dev/null || { echo "browser: the local pipeline did not start (see $LOG)" >&2; tail -20 "$LOG" >&2; exit 1; }
    sleep 0.5
done

BASE_URL="http://127.0.0.1:$PORT" REDRESS_ROOT="$ROOT" REDRESS_PREFIX="$PREFIX" \
    node "$ROOT/tests/browser/pages.test.mjs"
