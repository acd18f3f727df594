#!/usr/bin/env bash
# Supply-chain checks of the dependency graph with cargo-deny (policy: deny.toml):
#
#   licenses   every crate's licence is one deny.toml allows
#   bans       no banned crate (OpenSSL), no wildcard versions; duplicates reported
#   sources    everything comes from crates.io
#
# cargo-deny is installed from crates.io into $WORK/cargo-deny (pinned version,
# reused when already there; a fresh install compiles it, about 3.5 minutes on
# 2 cores), so nothing outside the repository's work directory is needed.
#
# Advisories (RustSec) are NOT checked by default: the advisory database is a Git
# repository on GitHub, which this project's machines and CI cannot reach (only
# crates.io, PyPI, npm and Debian are), and no registry carries a copy. Where
# GitHub is reachable, REL04D_CHECK_ADVISORIES=1 adds `cargo deny check advisories`.
set -euo pipefail
cd "$(dirname "$0")/.."
WORK="${REL04D_WORK:-$PWD/.ci-work}"
DENY_VERSION="0.20.2"
ROOT="$WORK/cargo-deny"
DENY="$ROOT/bin/cargo-deny"

log() { printf '\n==> %s\n' "$*" >&2; }

if ! "$DENY" --version 2>/dev/null | grep -qx "cargo-deny $DENY_VERSION"; then
    log "installing cargo-deny $DENY_VERSION into $ROOT"
    mkdir -p "$ROOT"
    started=$SECONDS
    cargo install cargo-deny --version "$DENY_VERSION" --locked --root "$ROOT" --quiet
    log "cargo-deny installed in $((SECONDS - started)) s"
fi

checks=(licenses bans sources)
if [ "${REL04D_CHECK_ADVISORIES:-0}" = 1 ]; then
    checks+=(advisories)
    log "cargo deny check ${checks[*]}"
    "$DENY" --locked check --hide-inclusion-graph "${checks[@]}"
else
    log "cargo deny check ${checks[*]} (offline)"
    "$DENY" --locked --offline check --hide-inclusion-graph "${checks[@]}"
    log "advisories NOT checked: the RustSec database is on GitHub, out of reach here (REL04D_CHECK_ADVISORIES=1 where it is reachable)"
fi
