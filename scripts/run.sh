#!/usr/bin/env bash
# The main job: the whole Redress pipeline on this machine, with the demo data loaded.
#
#   bash scripts/run.sh            # installs what is missing, starts the local stack,
#                                  # builds, serves the api on http://127.0.0.1:3000
#
# Data persists between runs in .local/data (DynamoDB Local -dbPath); the demo complaints
# are loaded with fixed idempotency keys, so a second run adds nothing twice.
# Extra arguments go to redress-local (try --help).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

bash scripts/setup.sh >&2
# The SDK signs every request, even to local servers: a region and dummy credentials.
export AWS_REGION="${AWS_REGION:-us-east-1}"
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-local}"
export AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-local}"
eval "$(bash scripts/stack.sh start)"

echo "run.sh: building (first build takes a few minutes)…" >&2
cargo build --quiet --workspace --bins

ADDR="${REDRESS_HTTP_ADDR:-127.0.0.1:3000}"
cat >&2 <<INFO
run.sh: to use the CLI against this stack, in another shell:
  export AWS_REGION=$AWS_REGION AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local
  export AWS_ENDPOINT_URL_DYNAMODB=$AWS_ENDPOINT_URL_DYNAMODB AWS_ENDPOINT_URL_SQS=$AWS_ENDPOINT_URL_SQS
  export AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER=$AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER
  TOKEN=\$(target/debug/redress token --user demo-billing)   # a demo user's access token, for curl
INFO
# The web pages; staff sign in with the demo users that redress-local prints.
cat >&2 <<PAGES
run.sh: web pages (zh/en; add ?lang=en or ?lang=zh):
  borrowers:   http://$ADDR/            (complaint form /complain, status /status)
  staff:       http://$ADDR/signin      then the console /console or, for managers, /dashboard
PAGES
exec target/debug/redress-local --listen "$ADDR" --demo demo/complaints.jsonl --demo-users demo/users.toml "$@"
