#!/usr/bin/env bash
# The whole suite, from a clean clone on a fresh Debian 12 machine (as root):
#   1. dependencies, 2. dev build + unit tests + integration tests (real containers),
#   3. the same suites under ASan+UBSan, 4. libFuzzer on the parsers, 5. the gRPC executor's
#   tests under TSan, 6. the cgroup v2 subset in a pure-v2 VM (qemu).
# Exit status 0 only if everything passed; skips are listed with their reasons.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
JOBS=${JOBS:-$(nproc)}

log() { printf '\n== %s\n' "$*"; }

log "dependencies"
scripts/install-deps.sh

build() {  # preset
  cmake --preset "$1" >/dev/null
  cmake --build --preset "$1" -j"$JOBS"
}

log "dev build"
build dev

log "unit tests (dev)"
ctest --test-dir build/dev -L unit --output-on-failure -j"$JOBS"

if [ "$(id -u)" -eq 0 ]; then
  log "integration tests (dev, as root: real namespaces, mounts and cgroups)"
  ctest --test-dir build/dev -L integration --output-on-failure
  log "soak (dev): 1000 sequential + 200 concurrent launches, leak and fd counts"
  ctest --test-dir build/dev -L soak --output-on-failure
else
  log "integration tests SKIPPED: they need root"
fi

log "asan+ubsan build"
build asan
log "unit tests (asan+ubsan)"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build/asan -L unit --output-on-failure -j"$JOBS"
if [ "$(id -u)" -eq 0 ]; then
  log "integration tests (asan+ubsan)"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build/asan -L integration --output-on-failure
fi

# libFuzzer (clang, ASan + UBSan) on every parser, from the seed corpora in fuzz/corpus/;
# FUZZ_SECONDS per target (2 targets at a time on 2 CPUs). FUZZ_SECONDS=0 skips the step.
if [ "${FUZZ_SECONDS:-20}" != 0 ]; then
  log "fuzzing (libFuzzer + ASan + UBSan, ${FUZZ_SECONDS:-20} s per target)"
  scripts/fuzz.sh "${FUZZ_SECONDS:-20}"
fi

# The multi-threaded gRPC executor under ThreadSanitizer (`tsan` preset: g++
# -fsanitize=thread; its isoexec and isoexec-executor are TSan builds too). The test preset
# selects the `executor` label and leaves out the three ExecStreaming output tests (see
# docs/testing.md: their hand-offs happen inside uninstrumented gRPC). Debian's
# gRPC is not instrumented: tests/executor/tsan.supp says what is suppressed and why. Every
# process logs to $tsan_logs; any report there fails the step, even one from the executor
# process (which the tests do not always wait for).
if [ "$(id -u)" -eq 0 ]; then
  log "executor tests under ThreadSanitizer"
  build tsan
  tsan_logs=$(mktemp -d /tmp/isoexec-tsan.XXXXXX)
  tsan_rc=0
  TSAN_OPTIONS="suppressions=$ROOT/tests/executor/tsan.supp ignore_noninstrumented_modules=1 log_path=$tsan_logs/tsan" \
    ctest --preset tsan || tsan_rc=$?
  if compgen -G "$tsan_logs/tsan.*" >/dev/null; then
    cat "$tsan_logs"/tsan.* >&2
    echo "ThreadSanitizer reported problems (logs: $tsan_logs)" >&2
    tsan_rc=1
  fi
  [ "$tsan_rc" -eq 0 ] || exit "$tsan_rc"
  rm -rf "$tsan_logs"
else
  log "executor tests under ThreadSanitizer SKIPPED: they need root"
fi

if [ "$(id -u)" -eq 0 ] && [ "${ISOEXEC_SKIP_VM:-0}" != 1 ]; then
  log "cgroup v2 tests in a pure cgroup v2 VM"
  tests/vm/run-cgroupv2-suite.sh "$ROOT/build/dev"
else
  log "cgroup v2 VM tests SKIPPED (needs root; ISOEXEC_SKIP_VM=${ISOEXEC_SKIP_VM:-0})"
fi
log "all suites passed"
