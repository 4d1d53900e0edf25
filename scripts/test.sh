#!/usr/bin/env bash
# The whole suite, from a clean clone on a fresh Debian 12 machine (as root):
#   1. dependencies, 2. dev build + unit tests + integration tests (real containers),
#   3. the same suites under ASan+UBSan, 4. the cgroup v2 subset in a pure-v2 VM (qemu).
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

if [ "$(id -u)" -eq 0 ] && [ "${ISOEXEC_SKIP_VM:-0}" != 1 ]; then
  log "cgroup v2 tests in a pure cgroup v2 VM"
  tests/vm/run-cgroupv2-suite.sh "$ROOT/build/dev"
else
  log "cgroup v2 VM tests SKIPPED (needs root; ISOEXEC_SKIP_VM=${ISOEXEC_SKIP_VM:-0})"
fi
log "all suites passed"
