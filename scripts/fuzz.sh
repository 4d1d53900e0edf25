#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/, the `fuzz` preset: clang, ASan + UBSan) and runs each
# for a bounded time, starting from its seed corpus fuzz/corpus/<target>/ (copied to a
# temporary directory: the repository is never modified).
#   scripts/fuzz.sh [SECONDS_PER_TARGET]      (default 30)
# Environment: FUZZ_TARGETS="spec_json control" runs only those; FUZZ_JOBS targets at a time
# (default: the number of CPUs); FUZZ_RSS_MB (default 2048) and FUZZ_TIMEOUT (seconds per
# input, default 10) are the per-input limits.
# Exit status 0 only if no target crashed, leaked, hit a sanitizer report, a FUZZ_CHECK, the
# timeout or the memory limit. A failure keeps its work directory (log + reproducer) and names
# it; reproduce with: build/fuzz/fuzz/<target>_fuzz <reproducer file>.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SECS=${1:-30}
JOBS=${FUZZ_JOBS:-$(nproc)}
RSS_MB=${FUZZ_RSS_MB:-2048}
TIMEOUT=${FUZZ_TIMEOUT:-10}
case "$SECS" in ''|*[!0-9]*) echo "usage: scripts/fuzz.sh [SECONDS_PER_TARGET]" >&2; exit 2 ;; esac

cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j"$(nproc)"

if [ -n "${FUZZ_TARGETS:-}" ]; then
  read -r -a targets <<<"$FUZZ_TARGETS"
else
  targets=()
  for src in fuzz/*_fuzz.cc; do
    n=$(basename "$src" _fuzz.cc)
    targets+=("$n")
  done
fi

WORK=$(mktemp -d /tmp/isoexec-fuzz.XXXXXX)
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

run_one() {  # target
  local t=$1 bin=$ROOT/build/fuzz/fuzz/$1_fuzz dir=$WORK/$1
  mkdir -p "$dir/corpus"
  [ -d "fuzz/corpus/$t" ] && cp -r "fuzz/corpus/$t/." "$dir/corpus/"
  local rc=0
  "$bin" "$dir/corpus" -max_total_time="$SECS" -rss_limit_mb="$RSS_MB" -timeout="$TIMEOUT" \
    -max_len=4096 -print_final_stats=1 -artifact_prefix="$dir/" >"$dir/log" 2>&1 || rc=$?
  echo "$rc" >"$dir/rc"
}

start=$SECONDS
running=0
for t in "${targets[@]}"; do
  if [ ! -x "build/fuzz/fuzz/${t}_fuzz" ]; then
    echo "fuzz: no target build/fuzz/fuzz/${t}_fuzz" >&2
    exit 2
  fi
  run_one "$t" &
  running=$((running + 1))
  if [ "$running" -ge "$JOBS" ]; then
    wait -n || true
    running=$((running - 1))
  fi
done
wait

# One line per target: executions, wall time, coverage at start (seed corpus) -> at the end.
failed=()
for t in "${targets[@]}"; do
  dir=$WORK/$t
  rc=$(cat "$dir/rc" 2>/dev/null || echo 99)
  log=$dir/log
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  new=$(sed -n 's/^stat::new_units_added: *//p' "$log" | tail -1)
  rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log" | tail -1)
  secs=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -1)
  cov0=$(sed -n 's/.*INITED cov: \([0-9]*\) ft: \([0-9]*\).*/\1 \2/p' "$log" | tail -1)
  cov1=$(grep -E '^#[0-9]+' "$log" | sed -n 's/.* cov: \([0-9]*\) ft: \([0-9]*\).*/\1 \2/p' | tail -1)
  rate="?"
  [ -n "$execs" ] && [ -n "$secs" ] && [ "$secs" -gt 0 ] && rate=$((execs / secs))
  read -r c0 f0 <<<"${cov0:-? ?}"
  read -r c1 f1 <<<"${cov1:-? ?}"
  bad=""
  if [ "$rc" != 0 ] || grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|FUZZ_CHECK failed' "$log"; then
    bad=" FAILED (exit $rc)"
    failed+=("$t")
  fi
  printf 'fuzz %-16s execs=%-9s (%s/s) time=%ss cov=%s->%s ft=%s->%s new_units=%s peak_rss=%sMB%s\n' \
    "$t" "${execs:-?}" "$rate" "${secs:-?}" "$c0" "$c1" "$f0" "$f1" "${new:-?}" "${rss:-?}" "$bad"
done
echo "fuzz: ${#targets[@]} targets, ${SECS}s each, $((SECONDS - start))s wall"

if [ ${#failed[@]} -gt 0 ]; then
  for t in "${failed[@]}"; do
    echo "== fuzz $t: log $WORK/$t/log; reproducer(s):" >&2
    ls "$WORK/$t"/crash-* "$WORK/$t"/leak-* "$WORK/$t"/timeout-* "$WORK/$t"/oom-* 2>/dev/null >&2 || true
    grep -m1 -B2 -A25 -E 'ERROR: |runtime error:|FUZZ_CHECK failed' "$WORK/$t/log" >&2 || tail -40 "$WORK/$t/log" >&2
  done
  echo "fuzz: FAILED: ${failed[*]} (work dir kept: $WORK)" >&2
  exit 1
fi
rm -rf "$WORK"
