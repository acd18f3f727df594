#!/usr/bin/env bash
# Checks the Prometheus alert rules: syntax and types (promtool check rules), and
# that each alert fires on synthetic series and stays quiet on healthy ones
# (promtool test rules, deploy/prometheus/rules.test.yml). promtool comes with
# Debian's prometheus package, installed when missing. That the rules and the
# Grafana dashboard query only series /metrics exposes is an integration test
# (tests/it/monitoring.rs), against a real daemon.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v promtool >/dev/null; then
    echo "==> installing Debian's prometheus (for promtool)" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
fi
promtool check rules deploy/prometheus/rules.yml
promtool test rules deploy/prometheus/rules.test.yml
