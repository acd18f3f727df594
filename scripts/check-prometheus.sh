#!/usr/bin/env bash
# Checks the Prometheus alert rules: syntax and types (promtool check rules), and
# that each alert fires on synthetic series and stays quiet on healthy ones
# (promtool test rules, deploy/prometheus/rules.test.yml). promtool comes with
# Debian's prometheus package, installed when missing. That the rules and the
# Grafana dashboard query only series /metrics exposes is an integration test
# (tests/it/monitoring.rs), against a real daemon.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-missing.sh promtool prometheus
promtool check rules deploy/prometheus/rules.yml
promtool test rules deploy/prometheus/rules.test.yml
