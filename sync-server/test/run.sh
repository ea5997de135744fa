#!/usr/bin/env bash
# The relay's tests (`npm test` here; the repository's scripts/test.sh runs this too): every
# sync-server/test/*.test.ts under node's test runner with tsx. The process tests spawn real
# relays on 127.0.0.1 (port 0, temp data dirs) and stop them by PID; the whole run is bounded.
# Prints node's closing summary (ℹ tests / ℹ pass / ℹ fail), which scripts/test.sh sums.
set -uo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(find test -name '*.test.ts' | sort)
if [ "${#files[@]}" -eq 0 ]; then
  echo "no relay test files found under sync-server/test" >&2
  exit 1
fi
exec timeout --kill-after=10 300 node --import tsx --test --test-reporter=spec \
  --test-concurrency="${KINGDOM_TEST_CONCURRENCY:-2}" "${files[@]}"
