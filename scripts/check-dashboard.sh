#!/usr/bin/env bash
# Checks deploy/grafana/rel04d.json against Grafana's own published dashboard
# schema: the TypeScript types of npm's @grafana/schema (the `Dashboard` type
# Grafana's front end uses), with the dashboard written as an object literal, so
# tsc checks every property's type, every required field and (excess-property
# checks) every misspelt key. Node.js and npm are the machine's; the packages go
# into $WORK/node, pinned so a new release cannot break CI unasked. That the
# dashboard queries only series /metrics exposes is tests/it/monitoring.rs.
set -euo pipefail
cd "$(dirname "$0")/.."
WORK="${REL04D_WORK:-$PWD/.ci-work}"
NODE_DIR="$WORK/node"
GRAFANA_SCHEMA_VERSION=13.2.3
TYPESCRIPT_VERSION=5.9.3
DASHBOARD=deploy/grafana/rel04d.json

command -v npm >/dev/null || { echo "check-dashboard.sh: npm is needed (Node.js)" >&2; exit 1; }
mkdir -p "$NODE_DIR"
[ -f "$NODE_DIR/package.json" ] || echo '{ "private": true }' >"$NODE_DIR/package.json"
npm install --prefix "$NODE_DIR" --silent --no-audit --no-fund \
    "@grafana/schema@$GRAFANA_SCHEMA_VERSION" "typescript@$TYPESCRIPT_VERSION"

check="$NODE_DIR/check"
rm -rf "$check" && mkdir -p "$check"
{
    echo "import type { Dashboard } from '@grafana/schema';"
    printf 'export const dashboard: Dashboard = '
    cat "$DASHBOARD"
    echo ';'
} >"$check/dashboard.ts"
cat >"$check/tsconfig.json" <<'JSON'
{
  "compilerOptions": {
    "strict": true, "noEmit": true, "skipLibCheck": true, "target": "es2022",
    "module": "nodenext", "moduleResolution": "nodenext"
  },
  "files": ["dashboard.ts"]
}
JSON
echo "==> @grafana/schema $GRAFANA_SCHEMA_VERSION: $DASHBOARD" >&2
# tsc names positions in the generated file, whose line N is the dashboard's N-1.
if ! (cd "$check" && "$NODE_DIR/node_modules/.bin/tsc" -p .) >"$check/tsc.log" 2>&1; then
    DASHBOARD="$DASHBOARD" perl -pe \
        's/^dashboard\.ts\((\d+),(\d+)\)/"$ENV{DASHBOARD}:" . ($1 - 1) . ":$2"/e' "$check/tsc.log" >&2
    echo "dashboard: does not match Grafana's schema (above)" >&2
    exit 1
fi
echo "dashboard: matches Grafana's schema" >&2
