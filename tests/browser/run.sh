#!/usr/bin/env bash
# Runs the browser tests: installs playwright-core from package-lock.json (npm ci) when it is
# missing or stale, then runs every *.test.mjs with node's test runner, one file at a time.
# Needs Debian's chromium (scripts/deps.sh installs it); never downloads a browser.
set -euo pipefail
cd "$(dirname "$0")"
if [[ ! -x /usr/bin/chromium && -z "${CHROMIUM:-}" ]]; then
  echo "browser tests: /usr/bin/chromium is missing (run scripts/deps.sh)" >&2
  exit 1
fi
if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error
fi
exec node --test --test-concurrency=1 --test-timeout=240000 "${@:-.}"
