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

# 4. What SAM adds on its own: the transformed template must give no function the
#    account-wide AWSLambdaSQSQueueExecutionRole (SAM attaches it to the role it
#    generates for an SQS event; consumers bring their own role), and no role may
#    receive from a queue that is not one its function's events read.
echo "== transformed template (roles SAM generates)"
"$VENV/bin/python" - "$TEMPLATE" <<'PY'
import sys, yaml
from samtranslator.translator.transform import transform
class NoManagedPolicyLookup:
    def load(self):
        return {}
doc = yaml.safe_load(open(sys.argv[1], encoding="utf-8"))
for r in doc["Resources"].values():
    if r["Type"] == "AWS::Serverless::Function":
        r["Properties"]["CodeUri"] = "s3://bucket/key"  # built code is not needed here
params = {p: "https://x.example" if p == "CorsAllowOrigin" else "ops@x.example"
          for p, spec in doc.get("Parameters", {}).items() if "Default" not in spec}
out = transform(doc, params, NoManagedPolicyLookup())["Resources"]
bad = [name for name, r in out.items() if r["Type"] == "AWS::IAM::Role"
       and any("SQSQueueExecutionRole" in str(arn) for arn in r["Properties"].get("ManagedPolicyArns", []))]
if bad:
    sys.exit(f"these roles get the account-wide AWSLambdaSQSQueueExecutionRole: {bad}")
print(f"ok: {sum(r['Type'] == 'AWS::IAM::Role' for r in out.values())} roles, none with a managed SQS policy")
PY

echo "template checks passed"
