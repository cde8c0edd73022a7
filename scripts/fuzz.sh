#!/usr/bin/env bash
# SECURITY-TESTS T31: runs every cargo-fuzz target of fuzz/ for N seconds each (default 30) and
# prints target / executions / seconds / crashes. Not part of CI (nightly or before a release).
#
#   scripts/fuzz.sh [seconds]
#
# Installs cargo-fuzz if missing. The machines have a stable toolchain only: RUSTC_BOOTSTRAP=1
# lets cargo-fuzz pass its -Z flags. AddressSanitizer by default; FUZZ_SANITIZER=none for a plain
# build. Builds go to $CARGO_TARGET_DIR (default /var/tmp/atomes-fuzz-target). The corpus grows in
# fuzz/corpus/<target>/ (only the seed-* files are committed); a crash leaves its input in
# fuzz/artifacts/<target>/ (reproduce: RUSTC_BOOTSTRAP=1 cargo fuzz run <target> <file>).
# Exit status 1 if any target crashed.
set -uo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-30}"
sanitizer="${FUZZ_SANITIZER:-address}"
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/atomes-fuzz-target}"

if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install --locked cargo-fuzz || exit 1
fi

logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
cargo fuzz build --sanitizer "$sanitizer" || exit 1

failed=0
summary=()
for target in $(cargo fuzz list); do
  extra=()
  # The password policy accepts up to 4 × 1,024 scalar values before refusing: let inputs be that long.
  [ "$target" = password_policy ] && extra=(-max_len=16400)
  printf '\n==== %s (%s s)\n' "$target" "$seconds"
  cargo fuzz run --sanitizer "$sanitizer" "$target" -- \
    -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 "${extra[@]}" \
    2>&1 | tee "$logs/$target.log" | grep -E '^(#[0-9]+[[:space:]]+(INITED|DONE)|Done [0-9]+ runs|==[0-9]+==|SUMMARY|Slowest|Test unit written|thread .* panicked|stat::)'
  status=${PIPESTATUS[0]}
  execs=$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$logs/$target.log" | grep -Eo '[0-9]+$' | tail -n 1)
  took=$(grep -Eo 'Done [0-9]+ runs in [0-9]+ second' "$logs/$target.log" | grep -Eo '[0-9]+ second' | grep -Eo '[0-9]+')
  crashes=0
  if [ "$status" -ne 0 ]; then
    crashes=1
    failed=1
  fi
  summary+=("$(printf '%-16s %12s %8s %8s' "$target" "${execs:-?}" "${took:-?}" "$crashes")")
done

printf '\n%-16s %12s %8s %8s\n' target executions seconds crashes
printf '%s\n' "${summary[@]}"
exit "$failed"
