#!/usr/bin/env bash
# The slow unit tests (`npm run test:slow`; `npm test` runs them after scripts/unit.sh): the
# crash, SIGKILL, property and fuzz files (by name; the list is scripts/unit-files.sh slow).
# They spawn children and kill them at random points, or run many random cases; they mostly wait
# (on children, kill rounds), so two files run at a time (KINGDOM_TEST_CONCURRENCY=1: one at a time,
# e.g. to reproduce a failure with its seed).
#
# Environment:
#   KINGDOM_NIGHTLY=1           nightly run: property tests run more seeds / cases (each property
#                               test reads it; the default is the quick CI amount).
#   KINGDOM_CRASH_SEED=<n>      rerun test/unit/kernel/crash.test.ts with the seed it printed.
#   KINGDOM_ENGINE_CRASH_SEED=<n>  the same for test/unit/engine/crash-sigkill.test.ts.
#
# Measured on the 2-core dev machine, shared (load 7-10): 26-53 s wall two at a time, 51-67 s one at
# a time; 27 s CPU; 59 tests (scripts/unit.sh has the quick loop's figures).
# Prints node's closing summary (ℹ tests / ℹ pass / ℹ fail), which scripts/test.sh sums.
set -uo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(bash scripts/unit-files.sh slow)
if [ "${#files[@]}" -eq 0 ]; then
  echo "no slow unit test files found under test/unit" >&2
  exit 1
fi
exec node --import tsx --test --test-reporter=spec --test-concurrency="${KINGDOM_TEST_CONCURRENCY:-2}" "${files[@]}"
