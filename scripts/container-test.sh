#!/usr/bin/env bash
# The container image, built and run for real with podman:
#
#   scripts/container-test.sh [BINARY]     (default: target/dist/rel04d)
#
# 1. Installs podman, runc and mmdebstrap when missing (Debian; run as root).
# 2. Makes a stand-in for distroless cc-debian12:nonroot from Debian packages
#    (localhost/rel04d-runtime-base:ci): no image registry is reachable here.
# 3. Builds the project's Dockerfile (localhost/rel04d:ci) with that runtime base
#    and BINARY in place of the builder stage (the Dockerfile says how and why),
#    and checks the runtime stage as shipped: user, volume, health check,
#    entrypoint, ownership, no shell.
# 4. Runs it read-only, on a named volume, against the simulator on the host:
#    controls are evaluated into the volume's database, the image's health check
#    passes, SIGTERM stops it with exit code 0 in under 10 s, and a second
#    container on the same volume sweeps again without recording any transition.
# 5. Prints the image size and the stop times.
#
# Every check that fails exits non-zero with what went wrong and the logs.
set -euo pipefail
cd "$(dirname "$0")/.."

BINARY="${1:-target/dist/rel04d}"
IMAGE=localhost/rel04d:ci
BASE_IMAGE=localhost/rel04d-runtime-base:ci
WORKLOADS=12
STOP_TIMEOUT=10
# Fast sweeps, no jitter: the second container sweeps within seconds of the first
# one's lease running out (a stopped daemon keeps its sweep lease until then).
SWEEP_INTERVAL=5s
NAME="rel04d-ci-$$"
VOLUME="$NAME-state"

WORK_DIR="$(mktemp -d "${TMPDIR:-/tmp}/rel04d-container-test.XXXXXX")"
SIMULATOR_PID=""
CONTAINERS=()

log() { printf '\n==> %s\n' "$*" >&2; }

# Prints the logs of everything this run started, then stops the script.
fail() {
    printf '\ncontainer-test: FAILED: %s\n' "$*" >&2
    local container
    for container in "${CONTAINERS[@]}"; do
        printf '\n--- podman logs %s (last 30 lines) ---\n' "$container" >&2
        podman logs --tail 30 "$container" >&2 || true
    done
    if [ -f "$WORK_DIR/simulator.log" ]; then
        printf '\n--- simulator log ---\n' >&2
        tail -n 20 "$WORK_DIR/simulator.log" >&2 || true
    fi
    exit 1
}

# Without systemd, podman cannot schedule the image's health check (the test runs
# it by hand) and says so on every run and stop: only that noise is dropped.
quiet_podman() {
    podman "$@" 2> >(grep -v 'unable to get systemd connection' >&2)
}

cleanup() {
    local container
    for container in "${CONTAINERS[@]}"; do
        podman rm --force --time 0 "$container" >/dev/null 2>&1 || true
    done
    podman volume rm --force "$VOLUME" >/dev/null 2>&1 || true
    if [ -n "$SIMULATOR_PID" ]; then
        kill "$SIMULATOR_PID" 2>/dev/null || true
        wait "$SIMULATOR_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK_DIR"
}
trap cleanup EXIT

install_tools() {
    local missing=()
    command -v podman >/dev/null || missing+=(podman)
    command -v runc >/dev/null || missing+=(runc)
    command -v mmdebstrap >/dev/null || missing+=(mmdebstrap)
    command -v readelf >/dev/null || missing+=(binutils)
    command -v python3 >/dev/null || missing+=(python3)
    if [ ${#missing[@]} -gt 0 ]; then
        log "installing Debian packages: ${missing[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
}

# crun fails on this machine's cgroups, and the default ulimits cannot be set in a
# nested container: a drop-in leaves any containers.conf of the machine alone.
configure_podman() {
    local conf=/etc/containers/containers.conf.d/50-rel04d-ci.conf
    local wanted
    wanted="$(printf '%s\n' \
        '# Written by rel04d scripts/container-test.sh' \
        '[containers]' 'default_ulimits = []' '' '[engine]' 'runtime = "runc"')"
    if [ "$(cat "$conf" 2>/dev/null)" != "$wanted" ]; then
        mkdir -p "${conf%/*}"
        printf '%s\n' "$wanted" >"$conf"
    fi
}

debian_codename() {
    # shellcheck source=/dev/null
    (. /etc/os-release && echo "$VERSION_CODENAME")
}

# The mirrors this machine's apt uses for its own release (main component), as
# "deb URI SUITE main" lines: mmdebstrap then fetches from the same place.
apt_mirrors() {
    local codename
    codename="$(debian_codename)"
    apt-cache policy | awk -v c="$codename" '
        $1 ~ /^[0-9]+$/ && $2 ~ /:\/\// {
            split($3, release, "/")
            if ((release[1] == c || release[1] == c "-updates" || release[1] == c "-security") \
                && release[2] == "main")
                print "deb " $2 " " release[1] " main"
        }' | sort -u
}

# apt settings of this machine that mmdebstrap's apt must share (an old snapshot
# mirror needs Check-Valid-Until off; a proxy must be used as well).
apt_options() {
    local key value
    for key in Acquire::Check-Valid-Until Acquire::Check-Date \
        Acquire::http::Proxy Acquire::https::Proxy; do
        value="$(apt-config shell v "$key" | sed -n "s/^v='\(.*\)'$/\1/p")"
        if [ -n "$value" ]; then printf -- '--aptopt=%s "%s"\n' "$key" "$value"; fi
    done
}

# A stand-in for gcr.io/distroless/cc-debian12:nonroot: the same Debian packages
# (glibc, libgcc_s, CA certificates, tzdata, base-files, netbase), the same
# passwd/group entries (nonroot = 65532), the CA bundle distroless generates, and
# no shell. (It also carries the packages' hard dependencies, e.g. openssl, so it
# is larger than distroless.)
build_runtime_base() {
    local codename root mirrors options
    codename="$(debian_codename)"
    mapfile -t mirrors < <(apt_mirrors)
    if [ ${#mirrors[@]} -eq 0 ]; then
        apt-get update -qq  # apt-cache policy lists only mirrors it has indexes of
        mapfile -t mirrors < <(apt_mirrors)
    fi
    [ ${#mirrors[@]} -gt 0 ] || fail "no Debian $codename main mirror in apt-cache policy"
    mapfile -t options < <(apt_options)
    log "runtime base from Debian $codename packages (${mirrors[*]})"
    root="$WORK_DIR/base"
    mmdebstrap --quiet --variant=extract \
        --include=libc6,libgcc-s1,ca-certificates,tzdata,base-files,netbase \
        "${options[@]}" "$codename" "$root" "${mirrors[@]}" </dev/null \
        || fail "mmdebstrap could not build the runtime base"

    printf '%s\n' 'root:x:0:0:root:/root:/sbin/nologin' \
        'nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin' \
        'nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin' >"$root/etc/passwd"
    printf '%s\n' 'root:x:0:' 'nobody:x:65534:' 'tty:x:5:' 'staff:x:50:' \
        'nonroot:x:65532:' >"$root/etc/group"
    install -d -m 0700 -o 65532 -g 65532 "$root/home/nonroot"
    install -d -m 0700 "$root/root"
    chmod 1777 "$root/tmp"
    mkdir -p "$root/etc/ssl/certs"
    cat "$root"/usr/share/ca-certificates/mozilla/*.crt >"$root/etc/ssl/certs/ca-certificates.crt"
    # Distroless has no device nodes (the runtime provides /dev) and no apt.
    rm -rf "${root:?}"/dev/* "$root/etc/apt" "$root/var/lib/apt" "$root/var/cache/apt"

    podman rmi --force "$BASE_IMAGE" >/dev/null 2>&1 || true
    tar -C "$root" --numeric-owner -c . | podman import --quiet \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt' \
        --change 'USER 65532' \
        - "$BASE_IMAGE" >/dev/null \
        || fail "podman import of the runtime base failed"
}

# What the Dockerfile's builder stage leaves in /out, with BINARY: the directory
# that replaces that stage (podman build --build-context builder=DIR).
prepare_build_output() {
    BUILD_OUTPUT="$WORK_DIR/build-output"
    scripts/check-shared-libraries.sh "$BINARY" || fail "$BINARY needs a library the runtime lacks"
    install -D -m 0755 "$BINARY" "$BUILD_OUTPUT/out/usr/local/bin/rel04d"
    install -d -m 0750 "$BUILD_OUTPUT/out/var/lib/rel04d"
}

build_image() {
    log "podman build $IMAGE (runtime base $BASE_IMAGE, binary $BINARY)"
    # Docker format: the OCI image format has no HEALTHCHECK, and Docker and ECS
    # run the image with it.
    podman rmi --force "$IMAGE" >/dev/null 2>&1 || true
    # --layers=false: no intermediate images left behind by each run.
    if ! podman build --format docker --layers=false \
        --build-arg "RUNTIME_IMAGE=$BASE_IMAGE" \
        --build-context "builder=$BUILD_OUTPUT" \
        --tag "$IMAGE" . >"$WORK_DIR/build.log" 2>&1; then
        tail -n 40 "$WORK_DIR/build.log" >&2
        fail "podman build failed (its last lines above)"
    fi
}

expect_equal() {
    local what=$1 actual=$2 expected=$3
    [ "$actual" = "$expected" ] || fail "$what is '$actual', expected '$expected'"
}

# The runtime stage as shipped: what `podman inspect` and the image's files say.
check_image() {
    log "image configuration and file ownership"
    local inspect='{{.Config.User}}|{{json .Config.Entrypoint}}|{{json .Config.Cmd}}|{{json .Config.Volumes}}|{{json .Config.Healthcheck.Test}}|{{.Config.StopSignal}}'
    local config user entrypoint cmd volumes healthcheck stopsignal
    config="$(podman image inspect --format "$inspect" "$IMAGE")"
    IFS='|' read -r user entrypoint cmd volumes healthcheck stopsignal <<<"$config"
    expect_equal "USER" "$user" "65532:65532"
    expect_equal "ENTRYPOINT" "$entrypoint" '["/usr/local/bin/rel04d"]'
    expect_equal "CMD" "$cmd" '["run"]'
    expect_equal "VOLUME" "$volumes" '{"/var/lib/rel04d":{}}'
    expect_equal "HEALTHCHECK" "$healthcheck" '["CMD","/usr/local/bin/rel04d","healthcheck"]'
    expect_equal "STOPSIGNAL" "$stopsignal" "SIGTERM"

    local root
    root="$(podman image mount "$IMAGE")" || fail "cannot mount $IMAGE to read its files"
    local binary_owner state_owner var_lib_owner
    binary_owner="$(stat -c '%u:%g %a' "$root/usr/local/bin/rel04d")"
    state_owner="$(stat -c '%u:%g %a' "$root/var/lib/rel04d")"
    var_lib_owner="$(stat -c '%u:%g' "$root/var/lib")"
    local shell_found=no
    if [ -e "$root/bin/sh" ] || [ -e "$root/usr/bin/sh" ]; then shell_found=yes; fi
    podman image unmount "$IMAGE" >/dev/null
    expect_equal "/usr/local/bin/rel04d owner and mode" "$binary_owner" "0:0 755"
    expect_equal "/var/lib/rel04d owner and mode" "$state_owner" "65532:65532 750"
    expect_equal "/var/lib owner" "$var_lib_owner" "0:0"
    expect_equal "a shell in the image" "$shell_found" "no"
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start_simulator() {
    log "simulator on the host: $WORKLOADS workloads"
    "$BINARY" simulator --listen 127.0.0.1:0 --workloads "$WORKLOADS" --seed 4 \
        >"$WORK_DIR/simulator.log" 2>&1 &
    SIMULATOR_PID=$!
    for _ in $(seq 1 100); do
        SIMULATOR_URL="$(sed -n 's/^simulator serving .* at \(http:[^ ]*\)$/\1/p' "$WORK_DIR/simulator.log")"
        [ -n "$SIMULATOR_URL" ] && return 0
        kill -0 "$SIMULATOR_PID" 2>/dev/null || fail "the simulator exited"
        sleep 0.2
    done
    fail "the simulator did not print its URL within 20 s"
}

# Starts a daemon container on the volume; its name goes to CONTAINERS.
# --read-only-tmpfs=false: no writable /tmp or /run either, as with docker run
# --read-only and ECS readonlyRootFilesystem (podman would add them by default).
start_daemon() {
    local name=$1
    CONTAINERS+=("$name")
    quiet_podman run --detach --name "$name" \
        --read-only --read-only-tmpfs=false \
        --network host \
        --volume "$VOLUME:/var/lib/rel04d" \
        --env AWS_REGION=us-east-1 \
        --env AWS_ACCESS_KEY_ID=test --env AWS_SECRET_ACCESS_KEY=test \
        --env AWS_EC2_METADATA_DISABLED=true \
        --env "AWS_ENDPOINT_URL_WELLARCHITECTED=$SIMULATOR_URL" \
        --env "REL04D__HTTP__LISTEN=127.0.0.1:$HTTP_PORT" \
        --env "REL04D__SCHEDULE__INTERVAL=$SWEEP_INTERVAL" \
        --env REL04D__SCHEDULE__JITTER=0s \
        --env 'REL04D__POLICIES__GLOBAL__REL04=Check: Choices based on sub policies' \
        --env REL04D__POLICIES__GLOBAL__IDENTIFY=True \
        --env REL04D__POLICIES__GLOBAL__LOOSELY_COUPLED=True \
        --env REL04D__POLICIES__GLOBAL__IDEMPOTENT=True \
        --env REL04D__POLICIES__GLOBAL__CONSTANT_WORK=True \
        "$IMAGE" >/dev/null \
        || fail "podman run $name failed"
}

# `rel04d <args>` in a one-off read-only container on the volume (no network).
rel04d_on_volume() {
    quiet_podman run --rm --read-only --read-only-tmpfs=false --network none \
        --volume "$VOLUME:/var/lib/rel04d" "$IMAGE" "$@"
}

# Waits for the container's first "sweep finished" log line and checks that the
# sweep listed every workload and failed none.
wait_for_sweep() {
    local container=$1 line=""
    for _ in $(seq 1 120); do
        [ "$(podman inspect --format '{{.State.Running}}' "$container")" = true ] \
            || fail "$container exited early"
        line="$(podman logs "$container" 2>&1 | grep -m 1 '"message":"sweep finished"' || true)"
        [ -n "$line" ] && break
        sleep 1
    done
    [ -n "$line" ] || fail "$container: no sweep finished within 120 s"
    python3 - "$line" "$WORKLOADS" <<'PY' || fail "$container: incomplete sweep: $line"
import json, sys
sweep, workloads = json.loads(sys.argv[1]), int(sys.argv[2])
sys.exit(not (sweep["listed"] == workloads and sweep["failed"] == 0 and not sweep.get("listing_error")))
PY
}

# Checks `rel04d controls --output json`, run in the container: every control was
# evaluated after $2 (RFC 3339) and is ok or alarm, and there are $3 of them (any
# number when empty; generated workloads without the Well-Architected lens have
# none). Prints "<n> controls: <n> ok, <n> alarm".
check_controls() {
    local container=$1 since=$2 expected=$3 verdict
    podman exec "$container" /usr/local/bin/rel04d controls --output json >"$WORK_DIR/controls.json" \
        || fail "$container: rel04d controls failed: $(cat "$WORK_DIR/controls.json")"
    verdict="$(python3 - "$WORK_DIR/controls.json" "$since" "$expected" <<'PY'
import json, sys
from datetime import datetime

controls, expected = json.load(open(sys.argv[1])), sys.argv[3]
parse = lambda text: datetime.fromisoformat(text.replace("Z", "+00:00"))
since = parse(sys.argv[2])
stale = [c["workload_name"] for c in controls if not c["evaluated_at"] or parse(c["evaluated_at"]) <= since]
wrong = ["%s=%s" % (c["workload_name"], c["state"]) for c in controls if c["state"] not in ("ok", "alarm")]
if not controls or (expected and len(controls) != int(expected)):
    print("error: %d controls, expected %s" % (len(controls), expected or "some"))
elif stale:
    print("error: not evaluated since %s: %s" % (sys.argv[2], ", ".join(stale)))
elif wrong:
    print("error: neither ok nor alarm: " + ", ".join(wrong))
else:
    ok = sum(c["state"] == "ok" for c in controls)
    print("%d controls: %d ok, %d alarm" % (len(controls), ok, len(controls) - ok))
PY
)"
    case "$verdict" in
        error:*) fail "$container: ${verdict#error: }" ;;
    esac
    echo "$verdict"
}

count_transitions() {
    rel04d_on_volume history --output json | python3 -c 'import json, sys; print(len(json.load(sys.stdin)))' \
        || fail "rel04d history on the volume failed"
}

# Sends SIGTERM (podman stop) and checks exit code 0 within STOP_TIMEOUT seconds;
# prints the time taken.
stop_daemon() {
    local container=$1 started elapsed code
    started="$(date +%s%N)"
    quiet_podman stop --time "$STOP_TIMEOUT" "$container" >/dev/null || fail "podman stop $container failed"
    elapsed="$(( ($(date +%s%N) - started) / 1000000 ))"
    code="$(podman inspect --format '{{.State.ExitCode}}' "$container")"
    [ "$code" = 0 ] || fail "$container exited with code $code after SIGTERM (137 = killed at the $STOP_TIMEOUT s timeout)"
    [ "$elapsed" -lt $((STOP_TIMEOUT * 1000)) ] || fail "$container took ${elapsed} ms to stop"
    echo "$elapsed"
}

main() {
    [ "$(id -u)" = 0 ] || { echo "container-test: run as root (podman, apt-get, mmdebstrap)" >&2; exit 1; }
    [ -x "$BINARY" ] || { echo "container-test: no executable binary at $BINARY" >&2; exit 1; }
    install_tools
    configure_podman
    build_runtime_base
    prepare_build_output
    build_image
    check_image
    start_simulator
    HTTP_PORT="$(free_port)"
    podman volume create "$VOLUME" >/dev/null

    log "first container: sweeps into the volume's database"
    local since first_states first_stop_ms transitions_before
    since="$(date -u +%Y-%m-%dT%H:%M:%S.%6N+00:00)"
    start_daemon "$NAME-1"
    wait_for_sweep "$NAME-1"
    first_states="$(check_controls "$NAME-1" "$since" "")"
    echo "$first_states" >&2

    log "health check: the image's HEALTHCHECK, run by podman"
    podman healthcheck run "$NAME-1" >&2 || fail "podman healthcheck run $NAME-1 did not report healthy"

    log "SIGTERM: podman stop --time $STOP_TIMEOUT"
    first_stop_ms="$(stop_daemon "$NAME-1")"
    transitions_before="$(count_transitions)"
    [ "$transitions_before" -ge "$WORKLOADS" ] \
        || fail "$transitions_before transitions recorded for $WORKLOADS new workloads"

    log "second container on the same volume: sweeps again, announces nothing"
    local second_states second_stop_ms transitions_after
    since="$(date -u +%Y-%m-%dT%H:%M:%S.%6N+00:00)"
    start_daemon "$NAME-2"
    wait_for_sweep "$NAME-2"
    second_states="$(check_controls "$NAME-2" "$since" "${first_states%% *}")"
    second_stop_ms="$(stop_daemon "$NAME-2")"
    transitions_after="$(count_transitions)"
    [ "$transitions_after" = "$transitions_before" ] \
        || fail "the second container recorded $((transitions_after - transitions_before)) transitions for unchanged workloads"
    [ "$second_states" = "$first_states" ] \
        || fail "states changed between containers: '$first_states' then '$second_states'"

    local size base_size
    size="$(podman image inspect --format '{{.Size}}' "$IMAGE")"
    base_size="$(podman image inspect --format '{{.Size}}' "$BASE_IMAGE")"
    log "container test passed"
    echo "image $IMAGE: $((size / 1000000)) MB (runtime base $((base_size / 1000000)) MB, binary $(($(stat -c %s "$BINARY") / 1000000)) MB)"
    echo "$first_states; transitions: $transitions_before, none added by the second container"
    echo "stop (SIGTERM to exit 0): first container ${first_stop_ms} ms, second ${second_stop_ms} ms"
}

main
