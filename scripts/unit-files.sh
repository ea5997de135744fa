#!/usr/bin/env bash
# Lists the unit test files, one per line, sorted: `quick` (scripts/unit.sh), `slow`
# (scripts/slow.sh) or `all`. Every test/unit/**/*.test.ts is in exactly one of quick and slow.
#
# Slow = crash, SIGKILL, property and fuzz files, by name: *crash*, *sigkill*, *property*, *fuzz*.
# They were the slowest files when measured one by one (engine-property ~20 s, crash-sigkill
# ~14 s, kernel/crash ~8 s, workflow/fuzz ~6 s, the SIGKILL case of the file VFS ~4 s, kernel/fuzz
# ~3.5 s, expr/fuzz ~2.7 s; the other files 0.5-3.5 s each, mostly process start-up). A new
# file named like that goes to the slow suite by itself.
set -euo pipefail
cd "$(dirname "$0")/.."
slow=(-name '*crash*' -o -name '*sigkill*' -o -name '*property*' -o -name '*fuzz*')
case "${1:-}" in
  quick) find test/unit -name '*.test.ts' ! \( "${slow[@]}" \) | sort ;;
  slow) find test/unit -name '*.test.ts' \( "${slow[@]}" \) | sort ;;
  all) find test/unit -name '*.test.ts' | sort ;;
  *) echo "usage: $0 quick|slow|all" >&2; exit 2 ;;
esac
