#!/usr/bin/env bash
# Regenerates the README's screenshots of the status page, docs/img/overview.png
# and docs/img/control.png: the browser test (tests/it/status_page/browser.rs)
# saves them from headless Chromium as it goes, against a daemon seeded from the
# simulator. Installs Debian's chromium when it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v chromium >/dev/null; then
    echo "==> installing Debian's chromium" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
mkdir -p docs/img
REL04D_SCREENSHOTS="$PWD/docs/img" cargo test --quiet --test it status_page::browser:: -- --nocapture
