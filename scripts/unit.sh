#!/usr/bin/env bash
# Unit tests (Node, in-memory and file-backed sqlite-wasm). Prints node's closing summary.
set -uo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(find test/unit -name '*.test.ts' | sort)
if [ "${#files[@]}" -eq 0 ]; then
  echo "no unit test files found under test/unit" >&2
  exit 1
fi
exec node --import tsx --test --test-reporter=spec "${files[@]}"
