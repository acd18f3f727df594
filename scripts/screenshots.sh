#!/usr/bin/env bash
# Regenerates the README's screenshots of the status page, docs/img/overview.png,
# overview-phone.png and control.png: the browser test (tests/it/status_page/browser.rs)
# saves them from headless Chromium as it goes, against a daemon seeded from the
# simulator. Installs Debian's chromium when it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-missing.sh chromium chromium
mkdir -p docs/img
REL04D_SCREENSHOTS="$PWD/docs/img" cargo test --quiet --test it status_page::browser:: -- --nocapture
