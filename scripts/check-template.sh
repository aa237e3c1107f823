#!/usr/bin/env bash
# Checks infra/template.yaml offline, three ways; they catch different mistakes:
#   1. a plain YAML parser can read it (the local runner parses it that way,
#      so short-form tags such as !Ref must not appear);
#   2. cfn-lint: CloudFormation schemas, property types, best practices,
#      resources available in the deploy region;
#   3. sam validate: runs the SAM transform (aws-sam-translator) itself, so
#      errors in Serverless::Function / HttpApi / event sources show up.
#
# Offline: both tools ship their specs. `sam validate` only calls AWS (IAM
# ListPolicies) when a function's Policies names an AWS managed policy by
# NAME; name one by ARN (arn:${AWS::Partition}:iam::aws:policy/...) or use
# an inline Statement, as the template does, and it never leaves the machine.
# Dummy credentials and a region are set because boto3, which SAM CLI uses,
# wants both before it starts. `sam validate --lint` exists too, but it only
# runs the same cfn-lint in-process with terser output, so step 2 runs
# cfn-lint directly instead.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.local/venv"
TEMPLATE="${1:-$ROOT/infra/template.yaml}"

[ -x "$VENV/bin/cfn-lint" ] && [ -x "$VENV/bin/sam" ] || bash "$ROOT/scripts/setup.sh" >&2

# Never the developer's real account: dummy credentials, no profile, no IMDS.
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_SECURITY_TOKEN
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-ap-southeast-1}"
export AWS_REGION="$AWS_DEFAULT_REGION"
export AWS_EC2_METADATA_DISABLED=true SAM_CLI_TELEMETRY=0

echo "== plain YAML (local runner's view)"
"$VENV/bin/python" - "$TEMPLATE" <<'PY'
import sys, yaml
try:
    doc = yaml.safe_load(open(sys.argv[1], encoding="utf-8"))
except yaml.YAMLError as e:
    sys.exit(f"not plain YAML (use long-form intrinsics like `Ref: X`, not `!Ref X`):\n{e}")
print(f"ok: {len(doc.get('Resources', {}))} resources")
PY

echo "== cfn-lint $("$VENV/bin/cfn-lint" --version | awk '{print $2}')"
# us-east-1 as well as the deploy region: resource availability differs.
"$VENV/bin/cfn-lint" --regions "$AWS_DEFAULT_REGION" us-east-1 -- "$TEMPLATE"
echo "ok"

echo "== sam validate (SAM transform)"
"$VENV/bin/sam" validate --region "$AWS_DEFAULT_REGION" -t "$TEMPLATE"

echo "template checks passed"
