#!/usr/bin/env bash
# The real-browser suite: Debian's Chromium + playwright-core + axe-core against the atomes binary.
# Usage: e2e/run.sh   (env: ATOMES_BIN, else ${CARGO_TARGET_DIR:-../target}/debug/atomes; CHROMIUM_PATH)
set -euo pipefail
# A relative ATOMES_BIN is taken from the caller's directory; CARGO_TARGET_DIR from e2e/.
if [ -n "${ATOMES_BIN:-}" ] && [[ "$ATOMES_BIN" != /* ]]; then
  export ATOMES_BIN="$PWD/$ATOMES_BIN"
fi
cd "$(dirname "$0")"

chromium="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [ ! -x "$chromium" ]; then
  echo "e2e: Chromium not found at $chromium. Install Debian's package: apt-get update && apt-get install -y chromium" >&2
  exit 1
fi
# Same default as lib/server.js: relative paths are relative to e2e/.
bin="${ATOMES_BIN:-${CARGO_TARGET_DIR:-../target}/debug/atomes}"
if [ ! -x "$bin" ]; then
  echo "e2e: the atomes binary is not at $bin: build it (cargo build, or cargo test) or set ATOMES_BIN" >&2
  exit 1
fi
command -v node >/dev/null || { echo "e2e: node (20 or later) is required" >&2; exit 1; }

if [ ! -d node_modules ]; then
  npm ci --no-audit --no-fund
fi

rm -rf screenshots test-results.tap
mkdir -p screenshots

# npm test writes the spec report to stdout and a TAP copy to test-results.tap; its summary
# ("# tests N", "# pass N", "# fail N", ...) is printed last, as the runner's closing lines.
status=0
npm test || status=$?
echo
echo "e2e: screenshots and axe results in $(pwd)/screenshots"
if [ -f test-results.tap ]; then
  grep -E '^# (tests|suites|pass|fail|cancelled|skipped|todo|duration_ms) ' test-results.tap || true
fi
exit "$status"
