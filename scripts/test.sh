#!/usr/bin/env bash
# The one test command (README): type-check, unit tests in Node (the quick loop, scripts/unit.sh,
# then the slow crash/property/fuzz files, scripts/slow.sh), the sync relay's own type check and
# tests (sync-server/, its own package: sync-server/test/run.sh), end-to-end tests in Chromium.
# Ends with a plain "N passed, N failed" line summing all four runs.
set -uo pipefail
cd "$(dirname "$0")/.."
log_dir=$(mktemp -d)
if [ ! -x node_modules/.bin/vite ]; then
  echo "== installing dependencies (npm install)"
  npm install --no-audit --no-fund
fi
# The relay is its own package (the app does not ship its dependencies). Installed before the
# type check: tsconfig.node.json also covers sync-server/**/*.ts.
if [ ! -x sync-server/node_modules/.bin/tsx ]; then
  echo "== installing the relay's dependencies (npm ci --prefix sync-server)"
  npm ci --prefix sync-server --no-audit --no-fund
fi
status=0

echo "== npm run check (svelte-check + tsc, strict)"
if ! npm run --silent check; then
  echo "type check failed" >&2
  status=1
fi

echo "== relay type check (tsc -p sync-server/tsconfig.json, strict)"
if ! npx tsc -p sync-server/tsconfig.json --noEmit; then
  echo "relay type check failed" >&2
  status=1
fi

echo "== unit tests, quick loop (Node)"
bash scripts/unit.sh 2>&1 | tee "$log_dir/unit.log"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1

echo "== slow unit tests: crash, property, fuzz (Node)"
bash scripts/slow.sh 2>&1 | tee "$log_dir/slow.log"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1

echo "== relay tests (sync-server: real relay processes on 127.0.0.1)"
bash sync-server/test/run.sh 2>&1 | tee "$log_dir/relay.log"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1

echo "== end-to-end tests (Chromium)"
bash scripts/e2e.sh 2>&1 | tee "$log_dir/e2e.log"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1

count() { # $1 = pass|fail, sums node's "ℹ pass N" lines over every log (unit, slow, relay, e2e)
  grep -hE "^ℹ $1 [0-9]+$" "$log_dir"/*.log | awk '{s += $3} END {print s + 0}'
}
passed=$(count pass)
failed=$(count fail)
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
echo
echo "$passed passed, $failed failed"
exit "$status"
