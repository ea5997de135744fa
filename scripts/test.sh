#!/usr/bin/env bash
# The one test command (README): type-check, unit tests in Node (the quick loop, scripts/unit.sh,
# then the slow crash/property/fuzz files, scripts/slow.sh), end-to-end tests in Chromium.
# Ends with a plain "N passed, N failed" line summing all three runs.
set -uo pipefail
cd "$(dirname "$0")/.."
log_dir=$(mktemp -d)
if [ ! -x node_modules/.bin/vite ]; then
  echo "== installing dependencies (npm install)"
  npm install --no-audit --no-fund
fi
status=0

echo "== npm run check (svelte-check + tsc, strict)"
if ! npm run --silent check; then
  echo "type check failed" >&2
  status=1
fi

echo "== unit tests, quick loop (Node)"
bash scripts/unit.sh 2>&1 | tee "$log_dir/unit.log"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1

echo "== slow unit tests: crash, property, fuzz (Node)"
bash scripts/slow.sh 2>&1 | tee "$log_dir/slow.log"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1

echo "== end-to-end tests (Chromium)"
bash scripts/e2e.sh 2>&1 | tee "$log_dir/e2e.log"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1

count() { # $1 = pass|fail, sums node's "ℹ pass N" lines over every log (unit, slow, e2e)
  grep -hE "^ℹ $1 [0-9]+$" "$log_dir"/*.log | awk '{s += $3} END {print s + 0}'
}
passed=$(count pass)
failed=$(count fail)
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
echo
echo "$passed passed, $failed failed"
exit "$status"
