#!/usr/bin/env bash
# End-to-end tests in real Chromium (Debian's /usr/bin/chromium, never `playwright install`) and
# smoke journeys in Firefox ESR (Debian's /usr/bin/firefox-esr through puppeteer-core, never
# `npx puppeteer browsers install`; test/e2e/firefox.test.ts, and test/e2e/firefox-sync.test.ts with
# a Chromium device).
# Installs Chromium and Firefox ESR with apt when missing, builds the app (dist/) and the e2e test pages
# (.tmp/e2e-pages), then runs every test/e2e/**/*.test.ts one file at a time. Prints node's
# closing summary (ℹ tests / ℹ pass / ℹ fail), which CI reads.
set -uo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
apt_updated=0
apt_install() { # apt_install PACKAGE (apt-get update once per run)
  if [ "$apt_updated" -eq 0 ]; then $sudo apt-get update || return 1; apt_updated=1; fi
  $sudo apt-get install -y "$1"
}

chromium_path="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [ ! -x "$chromium_path" ]; then
  echo "== installing chromium (apt)"
  apt_install chromium || { echo "could not install chromium" >&2; exit 1; }
fi
firefox_path="${FIREFOX_PATH:-/usr/bin/firefox-esr}"
if [ ! -x "$firefox_path" ]; then
  echo "== installing firefox-esr (apt)"
  apt_install firefox-esr || { echo "could not install firefox-esr" >&2; exit 1; }
fi

# A failed build does not stop the run: the tests that need it fail with the build error, the
# others still report, and the script exits non-zero.
build_status=0
echo "== building the app (vite build -> dist/)"
npx vite build --logLevel warn || { echo "app build failed (the app tests will fail)" >&2; build_status=1; }
echo "== building the e2e test pages (-> .tmp/e2e-pages)"
npx vite build --config test/e2e/vite.pages.config.ts --logLevel warn || { echo "test page build failed" >&2; build_status=1; }

# Built once for the whole run: the tests use these builds as they are (see test/e2e/support.ts).
export KINGDOM_E2E_BUILT=1

mapfile -t files < <(find test/e2e -name '*.test.ts' | sort)
if [ "${#files[@]}" -eq 0 ]; then
  echo "no e2e test files found under test/e2e" >&2
  exit 1
fi
# The whole run is bounded (about 8 minutes on 2 cores); a hung browser fails instead of blocking CI.
timeout --kill-after=30 900 node --import tsx --test --test-reporter=spec --test-concurrency=1 --test-timeout=300000 "${files[@]}"
status=$?
if [ "$status" -eq 0 ] && [ "$build_status" -ne 0 ]; then status=1; fi
exit "$status"
