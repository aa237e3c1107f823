#!/usr/bin/env bash
# Builds every function for arm64 the way it ships: this runs `sam build` itself (the
# template's BuildMethod rust-cargolambda -> `cargo lambda build --release --arm64
# --bin <Binary>`, zig as the cross-linker), then zips each bootstrap as `sam deploy`
# uploads it, and prints each zip's size and the build time.
#
#   bash scripts/build.sh            # -> .aws-sam/build/<Function>/bootstrap
#                                    #    artifacts/lambda/<Function>.zip
#
# The release profile is tuned for Lambda here, through cargo's CARGO_PROFILE_RELEASE_*
# variables, rather than in Cargo.toml: the local benchmarks (`cargo run --release`,
# criterion) keep the workspace's fast-to-build, speed-optimised release profile, and
# only the shipped bootstraps pay for the size optimisations:
#   opt-level s       smaller code; the handlers wait on the network, not the CPU
#   lto fat, 1 unit   whole-program dead-code removal across the SDK crates
#   strip             no symbols (also set in Cargo.toml)
# panic stays `unwind` (named in Cargo.toml, or cargo-lambda would make it `abort`):
# lambda_runtime turns a handler panic into an invocation error and keeps the execution
# environment warm; `abort` would make every panic a fresh cold start. A plain
# `sam build` works too, with larger binaries.
#
# All five binaries are first built by ONE `cargo lambda build` with the same flags and
# environment as sam's per-function calls, so cargo runs their (single-threaded) fat-LTO
# links side by side; sam's own calls then find everything fresh and only package.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

bash scripts/setup.sh >&2

REDRESS_CACHE="${REDRESS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/redress}"
CL_VENV="$(ls -d "$REDRESS_CACHE"/cargo-lambda-* | sort -V | tail -1)"
# cargo-lambda, and the venv's python3 that carries zig (`python3 -m ziglang`).
export PATH="$CL_VENV/bin:$ROOT/.local/venv/bin:$PATH"

export CARGO_PROFILE_RELEASE_OPT_LEVEL="${CARGO_PROFILE_RELEASE_OPT_LEVEL:-s}"
export CARGO_PROFILE_RELEASE_LTO="${CARGO_PROFILE_RELEASE_LTO:-fat}"
export CARGO_PROFILE_RELEASE_CODEGEN_UNITS="${CARGO_PROFILE_RELEASE_CODEGEN_UNITS:-1}"
export CARGO_PROFILE_RELEASE_STRIP=true

# SAM needs a region and wants credentials before it starts; the build never calls AWS.
unset AWS_PROFILE
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-test}" AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-test}"
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-ap-southeast-1}" SAM_CLI_TELEMETRY=0

# The functions: every rust-cargolambda Binary of the template.
mapfile -t BINARIES < <(sed -nE 's/^[[:space:]]+Binary:[[:space:]]*([A-Za-z0-9_-]+).*/\1/p' infra/template.yaml)
[ "${#BINARIES[@]}" -gt 0 ] || { echo "build.sh: no BuildProperties Binary in infra/template.yaml" >&2; exit 1; }

start=$SECONDS
bins=(); for b in "${BINARIES[@]}"; do bins+=(--bin "$b"); done
cargo lambda build --release --arm64 "${bins[@]}" >&2
compiled=$((SECONDS - start))
# samconfig.toml's [default.build.parameters] name the template and turn on caching
# and parallel builds; --no-cached here so the bootstraps are always this tree's.
sam build --no-cached >&2
elapsed=$((SECONDS - start))

mkdir -p artifacts/lambda
printf '%-18s %12s %12s\n' function bootstrap zip
for dir in .aws-sam/build/*/; do
    fn="$(basename "$dir")"
    [ -f "$dir/bootstrap" ] || continue
    file "$dir/bootstrap" | grep -q 'aarch64' || { echo "build.sh: $fn/bootstrap is not an arm64 binary" >&2; exit 1; }
    rm -f "artifacts/lambda/$fn.zip"
    (cd "$dir" && zip -q -X -9 "$ROOT/artifacts/lambda/$fn.zip" bootstrap)
    printf '%-18s %12s %12s\n' "$fn" "$(stat -c %s "$dir/bootstrap")" "$(stat -c %s "artifacts/lambda/$fn.zip")"
done
echo "built in ${elapsed}s, of which compiling ${compiled}s (opt-level=$CARGO_PROFILE_RELEASE_OPT_LEVEL lto=$CARGO_PROFILE_RELEASE_LTO codegen-units=$CARGO_PROFILE_RELEASE_CODEGEN_UNITS)"
