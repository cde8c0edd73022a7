#!/usr/bin/env bash
# SECURITY-TESTS T14: schemathesis with every check on the OpenAPI document (/api/openapi.json)
# of a local demo server (debug build, throwaway data directory, rate limits off so that the
# fuzzer is not throttled). Installs schemathesis 4 with pip in a venv under /tmp the first time.
# Not run by CI: it takes about five minutes (budget + build + install). Prints schemathesis' summary; exits non-zero on a
# failure.
#
#   scripts/schemathesis.sh [SECONDS]     # time budget of the fuzzing phase (default 240)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/atomes-target}"
budget="${1:-240}"
venv="${SCHEMATHESIS_VENV:-/tmp/atomes-schemathesis-venv}"
port="${SCHEMATHESIS_PORT:-18473}"
base="http://127.0.0.1:$port"

if [ ! -x "$venv/bin/schemathesis" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "schemathesis>=4,<5"
fi
cargo build -q

data=$(mktemp -d /tmp/atomes-schemathesis-XXXXXX)
ATOMES_RATE_LIMITS__ENABLED=false ATOMES_LOG_FORMAT=json "$CARGO_TARGET_DIR/debug/atomes" --data-dir "$data" --listen "127.0.0.1:$port" demo \
  >"$data/server.log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$data"' EXIT
# Ready when the demo directory is indexed (the index job runs right after start).
for _ in $(seq 1 120); do
  if curl -sf "$base/fhir/HealthcareService?_count=0" 2>/dev/null | grep -q '"total":[1-9]'; then break; fi
  sleep 1
done
curl -sf "$base/fhir/HealthcareService?_count=0" | grep -q '"total":[1-9]' || { cat "$data/server.log"; exit 1; }

rc=0
config="$PWD/scripts/schemathesis.toml"
# From the throwaway directory: schemathesis keeps its crash cache (.schemathesis/) there.
(cd "$data" && "$venv/bin/schemathesis" --config-file "$config" run "$base/api/openapi.json" \
  --url "$base" --checks all --max-time "$budget") || rc=$?
# The server's own count, to go with schemathesis' figures.
echo "server: $(grep -c 'answered' "$data/server.log") requests answered, $(grep -Ec '"status":5[0-9]{2}' "$data/server.log") with a 5xx, $(grep -c 'panicked' "$data/server.log") panics"
exit "$rc"
