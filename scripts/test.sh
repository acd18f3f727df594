#!/usr/bin/env bash
# The whole test suite, from a clean clone: installs what it needs (Debian's
# postgresql, chromium and prometheus's promtool, a Python venv with moto,
# botocore and cfn-lint), starts PostgreSQL and moto on loopback, then runs
# formatting, lints and every test — the integration suite once on SQLite and once on Postgres — and last builds the
# image's binary (profile dist) and runs it in the container image (scripts/container-test.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
export WORK="${REL04D_WORK:-$PWD/.ci-work}"
mkdir -p "$WORK"
source scripts/services.sh
trap stop_services EXIT

install_packages
install_python
# OCSF output (tests/it/ocsf.rs) is checked with py-ocsf-models, the models Prowler
# uses; its own venv, so its pydantic pins never move moto's dependencies.
log "py-ocsf-models (PyPI) in its own venv, for the OCSF output check"
OCSF_VENV="$WORK/ocsf-venv"
[ -x "$OCSF_VENV/bin/python" ] || python3 -m venv "$OCSF_VENV"
"$OCSF_VENV/bin/pip" install --quiet --disable-pip-version-check 'py-ocsf-models==0.10.0'
export REL04D_OCSF_PYTHON="$OCSF_VENV/bin/python"
# The status page's browser tests (tests/it/status_page/browser.rs) drive it.
scripts/install-missing.sh chromium chromium
# Under CI the browser test fails rather than skips when Chromium is missing.
export CI="${CI:-1}"
# It also checks every page with axe-core (npm), named in REL04D_AXE_JS.
log "axe-core (npm) for the browser test's accessibility checks"
npm install --prefix "$WORK/node" --silent --no-audit --no-fund axe-core@4.14.1
export REL04D_AXE_JS="$WORK/node/node_modules/axe-core/axe.min.js"
start_postgres
start_moto
# faults:: (tests/it/faults.rs) restarts the server mid-run on its Postgres pass.
export REL04D_TEST_PG_RESTART="${PG_AS[*]} $(pg_bindir)/pg_ctl -D $WORK/pgdata -l $WORK/pgdata/server.log -m fast -w restart"

log "deploy lint (cfn-lint deploy/*.yaml, hadolint Dockerfile)"
VENV="$VENV" scripts/lint-deploy.sh

log "Prometheus rules: promtool check rules, promtool test rules"
scripts/check-prometheus.sh

log "Grafana dashboard against Grafana's schema (npm @grafana/schema, tsc)"
scripts/check-dashboard.sh

log "cargo deny: advisories (RustSec snapshot in ../shared), licences, bans, sources"
# From an empty Cargo cache, as on a new machine: security.sh must fetch what
# the lockfile needs before it checks offline (a warm cache here would hide that).
EMPTY_CARGO_HOME="$WORK/empty-cargo-home"
rm -rf "$EMPTY_CARGO_HOME" && mkdir -p "$EMPTY_CARGO_HOME"
CARGO_HOME="$EMPTY_CARGO_HOME" VENV="$VENV" scripts/security.sh
rm -rf "$EMPTY_CARGO_HOME"

log "cargo fmt --all --check"
cargo fmt --all --check

log "cargo clippy --workspace --all-targets -- -D warnings (and the daemon without the simulator)"
cargo clippy --workspace --all-targets --quiet -- -D warnings
cargo clippy --no-default-features --quiet -- -D warnings

log "tests on SQLite (unit, property, integration, CLI, simulator conformance)"
(unset REL04D_TEST_POSTGRES_URL; cargo test --workspace --quiet)

log "integration tests again on PostgreSQL"
# One binary, tests/it: faults:: restarts the Postgres server, so it runs alone
# after the rest, whose connections the restart would cut.
cargo test --quiet --test it -- --skip faults::
cargo test --quiet --test it faults::

log "the image's binary, with the Dockerfile's build command (profile dist)"
grep -q 'cargo build --profile dist --locked' Dockerfile
cargo build --profile dist --locked --quiet

log "container image: podman build of the Dockerfile, run read-only on a volume"
scripts/container-test.sh target/dist/rel04d

log "all tests passed"
