# Sourced by scripts/test.sh and scripts/bench.sh: installs and starts the real
# components the tests talk to, on loopback, under $WORK. Nothing here is cached
# between runs; a clean clone gets the same setup as a developer machine.
#
#   install_packages   Debian's postgresql (apt-get) when its binaries are missing
#   install_python     a venv with moto[server], boto3, botocore, cfn-lint
#   start_postgres     initdb + pg_ctl as the postgres user → $REL04D_TEST_POSTGRES_URL
#                      (extra server options in $PG_OPTIONS)
#   start_moto         moto_server (EventBridge, SQS, Security Hub) → $REL04D_TEST_MOTO_URL
#   stop_services      stops what was started (also on exit via trap)

: "${WORK:?WORK must be set}"
VENV="${VENV:-$WORK/venv}"
PG_PORT="${PG_PORT:-55432}"
MOTO_PORT="${MOTO_PORT:-55000}"

log() { printf '\n==> %s\n' "$*" >&2; }

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

pg_bindir() {
    ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

install_packages() {
    local missing=()
    [ -n "$(pg_bindir)" ] || missing+=(postgresql)
    command -v python3 >/dev/null || missing+=(python3 python3-venv)
    if [ ${#missing[@]} -gt 0 ]; then
        log "installing Debian packages: ${missing[*]}"
        as_root apt-get update -qq
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
}

install_python() {
    if [ ! -x "$VENV/bin/python" ]; then
        log "creating Python venv $VENV"
        python3 -m venv "$VENV"
    fi
    log "installing moto[server], boto3, botocore, cfn-lint into the venv"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check 'moto[server]' boto3 botocore cfn-lint
    REL04D_BOTOCORE_MODEL="$("$VENV/bin/python" - <<'PY'
import os, botocore
print(os.path.join(os.path.dirname(botocore.__file__), "data", "wellarchitected", "2020-03-31", "service-2.json.gz"))
PY
)"
    export REL04D_BOTOCORE_MODEL
    # botocore's Security Hub model: the tests check every finding against its
    # AwsSecurityFinding shape.
    REL04D_SECURITYHUB_MODEL="$(dirname "$(dirname "$(dirname "$REL04D_BOTOCORE_MODEL")")")/securityhub/2018-10-26/service-2.json.gz"
    export REL04D_SECURITYHUB_MODEL
}

wait_for_port() {
    local port=$1 name=$2
    for _ in $(seq 1 100); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
        sleep 0.2
    done
    echo "$name did not start on port $port" >&2
    return 1
}

start_postgres() {
    local bin data
    bin="$(pg_bindir)"
    data="$WORK/pgdata"
    log "starting PostgreSQL ($("$bin/postgres" --version)) on 127.0.0.1:$PG_PORT"
    rm -rf "$data"
    mkdir -p "$data"
    # PostgreSQL refuses to run as root: the cluster belongs to the postgres user.
    if [ "$(id -u)" = 0 ]; then
        chown -R postgres: "$data"
        chmod 755 "$WORK"
        PG_AS=(runuser -u postgres --)
    else
        PG_AS=()
    fi
    "${PG_AS[@]}" "$bin/initdb" -D "$data" -U postgres --auth=trust -E UTF8 >/dev/null
    "${PG_AS[@]}" "$bin/pg_ctl" -D "$data" -l "$data/server.log" -w \
        -o "-h 127.0.0.1 -p $PG_PORT -k $data -c max_connections=400 -c fsync=off ${PG_OPTIONS:-}" start >/dev/null
    export REL04D_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$PG_PORT"
    STARTED_POSTGRES="$bin"
}

start_moto() {
    log "starting moto server (EventBridge, SQS, Security Hub) on 127.0.0.1:$MOTO_PORT"
    "$VENV/bin/moto_server" -H 127.0.0.1 -p "$MOTO_PORT" >"$WORK/moto.log" 2>&1 &
    MOTO_PID=$!
    wait_for_port "$MOTO_PORT" moto
    export REL04D_TEST_MOTO_URL="http://127.0.0.1:$MOTO_PORT"
}

stop_services() {
    if [ -n "${MOTO_PID:-}" ]; then kill "$MOTO_PID" 2>/dev/null || true; fi
    if [ -n "${STARTED_POSTGRES:-}" ]; then
        "${PG_AS[@]}" "$STARTED_POSTGRES/pg_ctl" -D "$WORK/pgdata" -m fast stop >/dev/null 2>&1 || true
    fi
}

# The AWS SDK wants credentials and a region even for local endpoints, and must
# not wait on instance metadata.
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
