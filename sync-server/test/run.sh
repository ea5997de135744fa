#!/usr/bin/env bash
# The relay's tests (`npm test` here; the repository's scripts/test.sh runs this too): every
# sync-server/test/*.test.ts under node's test runner with tsx. The process tests spawn real
# relays on 127.0.0.1 (port 0, temp data dirs) and stop them by PID; the whole run is bounded.
# Prints node's closing summary (ℹ tests / ℹ pass / ℹ fail), which scripts/test.sh sums.
# The Redis tests (redis*.test.ts) need Debian's redis-server: installed here with apt when
# missing; if that fails they fail loudly (test/redis-helpers.ts), they never skip.
set -uo pipefail
cd "$(dirname "$0")/.."
redis_server="${REDIS_SERVER:-/usr/bin/redis-server}"
if [ ! -x "$redis_server" ]; then
  echo "== installing redis-server (apt) for the relay's Redis tests"
  if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update && $sudo apt-get install -y redis-server || echo "could not install redis-server: the Redis tests will fail" >&2
fi
mapfile -t files < <(find test -name '*.test.ts' | sort)
if [ "${#files[@]}" -eq 0 ]; then
  echo "no relay test files found under sync-server/test" >&2
  exit 1
fi
exec timeout --kill-after=10 300 node --import tsx --test --test-reporter=spec \
  --test-concurrency="${KINGDOM_TEST_CONCURRENCY:-2}" "${files[@]}"
