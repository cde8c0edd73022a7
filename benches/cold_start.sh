#!/usr/bin/env bash
# Cold start of `atomes serve`: milliseconds from exec to the first 200 on /readyz, on a new
# data directory (migrations included) and on an existing one. Prints the median of N runs.
# Usage: benches/cold_start.sh [N] [DATABASE_URL]   (release build: cargo build --release)
set -euo pipefail
n=${1:-10}
db_url=${2:-}
bin=${CARGO_TARGET_DIR:-target}/release/atomes
port=18080
[ -x "$bin" ] || { echo "build first: cargo build --release" >&2; exit 1; }

measure() { # $1 = data dir; prints ms
  local start end
  start=$(date +%s%N)
  env ATOMES_LOG=warn ATOMES_LISTEN=127.0.0.1:$port ATOMES_DATA_DIR="$1" \
    ATOMES_JOURNAL_KEY=cold-start-journal-key-0123456789abcdef ${db_url:+ATOMES_DATABASE_URL=$db_url} "$bin" serve >/dev/null 2>"${TMPDIR:-/tmp}/atomes-cold-start.log" &
  local pid=$!
  until curl -sf -o /dev/null "http://127.0.0.1:$port/readyz"; do sleep 0.002; done
  end=$(date +%s%N)
  kill "$pid"; wait "$pid" 2>/dev/null || true
  echo $(( (end - start) / 1000000 ))
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

tmp=$(mktemp -d)
fresh=$(for i in $(seq "$n"); do measure "$tmp/fresh-$i"; done | median)
warm=$(for i in $(seq "$n"); do measure "$tmp/fresh-1"; done | median)
echo "cold start to /readyz (median of $n): new data dir ${fresh} ms, existing data dir ${warm} ms"
rm -rf "$tmp"
