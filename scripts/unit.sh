#!/usr/bin/env bash
# The quick loop (`npm run test:unit`): every unit test file (Node, in-memory and file-backed
# sqlite-wasm) except the slow crash/property/fuzz files, which scripts/slow.sh runs
# (`npm run test:slow`; `npm test` runs both). The split is scripts/unit-files.sh.
#
# Files run in parallel, one process each (node --test-concurrency). They share nothing: temp
# files under fresh mkdtemp directories, servers on ephemeral ports (test/helpers/listen.ts), no
# fixed paths or global state outside their own process (the file VFS's temp-file check uses a
# private TMPDIR for that reason). KINGDOM_TEST_CONCURRENCY overrides the
# number of files at a time (default: the number of CPUs, at least 2).
#
# Measured on the 2-core dev machine, shared with other test runs (load 7-10, so wall times vary):
#   before, every unit file one at a time in one run: 121-180 s wall (5 runs), 92 s CPU, 1067 tests;
#   this quick loop (70 files, 2 at a time):            98-99 s wall back to back with the run above
#                                                      (59-131 s over 13 runs at 2-4 at a time), 73 s CPU;
#   scripts/slow.sh (7 files):                          26-67 s wall, 27 s CPU (mostly waiting on children).
# Quick + slow hold every test of before, plus the ones added since (1021 + 59 = 1080 = 1067 + 13).
# Prints node's closing summary (ℹ tests / ℹ pass / ℹ fail), which scripts/test.sh sums.
set -uo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(bash scripts/unit-files.sh quick)
if [ "${#files[@]}" -eq 0 ]; then
  echo "no unit test files found under test/unit" >&2
  exit 1
fi
cpus=$(nproc 2>/dev/null || echo 2)
jobs="${KINGDOM_TEST_CONCURRENCY:-$(( cpus < 2 ? 2 : cpus ))}"
exec node --import tsx --test --test-reporter=spec --test-concurrency="$jobs" "${files[@]}"
