#!/usr/bin/env bash
# Runs every test: unit tests of each crate, then the cross-component tests
# against the real wrangler dev, builder, stand-ins and headless Chromium.
# Installs what is missing first (see scripts/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

start=$(date +%s)
build_all

export ASU_TEST_STATE="$PWD/target/asu-test"
export ASU_TEST_PIDS_DIR="$ASU_TEST_STATE/pids"
mkdir -p "$ASU_TEST_STATE"
# Keep the generated mirror (its generator caches archives); drop old runs' state.
find "$ASU_TEST_STATE" -mindepth 1 -maxdepth 1 ! -name mirror -exec rm -rf {} +

cleanup() { # what a crashed test binary or a killed builder may have left running
  for f in "$ASU_TEST_PIDS_DIR"/*; do
    [ -e "$f" ] && kill -9 -- "-$(basename "$f")" 2>/dev/null || true
  done
  # Builds run in process groups of their own; a builder killed on purpose
  # leaves them behind. Their command lines name folders under the test state.
  for pid in $(pgrep -f -- "$ASU_TEST_STATE/" || true); do
    pgid=$(ps -o pgid= -p "$pid" 2>/dev/null | tr -d ' ')
    [ -n "$pgid" ] && [ "$pgid" != "$(ps -o pgid= -p $$ | tr -d ' ')" ] && kill -9 -- "-$pgid" 2>/dev/null || true
  done
}
trap cleanup EXIT

log "running the tests"
set +e
cargo test --workspace --no-fail-fast 2>&1 | tee "$ASU_TEST_STATE/test-output.txt"
status=${PIPESTATUS[0]}
set -e

passed=$(grep -Eo '^test result: .*' "$ASU_TEST_STATE/test-output.txt" | awk '{p+=$4; f+=$6; i+=$8} END {print p+0, f+0, i+0}')
read -r p f i <<<"$passed"
echo
echo "Summary after $(( $(date +%s) - start )) s:"
echo "$p passed, $f failed, $i skipped"
exit "$status"
