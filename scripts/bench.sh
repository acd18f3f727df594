#!/usr/bin/env bash
# Benchmarks, each one command. Results go to stdout; BENCHMARKS.md records them.
#
#   scripts/bench.sh sweep     sweep vs the physical limit (N = 1,000 and 10,000)
#   scripts/bench.sh events    event latency at 50 events/s (starts moto)
#   scripts/bench.sh footprint peak RSS at 10,000 workloads and idle CPU between sweeps
#   scripts/bench.sh all       both
set -euo pipefail
cd "$(dirname "$0")/.."
export WORK="${REL04D_WORK:-$PWD/.ci-work}"
mkdir -p "$WORK"
source scripts/services.sh
trap stop_services EXIT

what="${1:-all}"
case "$what" in
    sweep|all) log "sweep benchmark"; cargo bench --quiet --bench sweep ;;&
    footprint|all) log "footprint benchmark"; cargo bench --quiet --bench footprint ;;&
    events|all)
        install_python
        MOTO_PORT=55100 start_moto
        log "event latency benchmark"
        cargo bench --quiet --bench events
        ;;
    sweep|footprint) ;;
    *) echo "usage: $0 sweep|events|footprint|all" >&2; exit 2 ;;
esac
