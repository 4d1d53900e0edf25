#!/usr/bin/env bash
# isoexec benchmarks (issue #8): launch latency, exec, throughput, memory, chroot env, stats,
# syscalls and micro-benchmarks against crun, runc, bubblewrap, unshare and a posix_spawn
# floor. Run as root on a machine you can keep quiet:   sudo bench/run.sh
# Results: bench/results/latest.{md,json}, bench/results/launch.png; raw samples under
# bench/results/raw/<date>/ (gitignored). Everything else it creates is removed at exit.
# Knobs (environment): see docs/benchmarks.md. The most used:
#   BENCH_ROUNDS=30          interleaved rounds for launch/exec/stats
#   BENCH_SECTIONS=a,b       subset of floor,launch,ablation,throughput,exec,memory,chroot,
#                            stats,syscalls,micro
#   BENCH_QUICK=1            a short smoke run (few rounds, small throughput batches)
#   BENCH_ISOEXEC=PATH       benchmark this isoexec binary instead of building one
#   BENCH_SKIP_INSTALL=1     do not apt-get anything
#   BENCH_BUILD_DIR=DIR      build directory (default build/bench)
#   BENCH_CMAKE_ARGS="..."   extra cmake configure arguments
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
say() { printf '\033[1m== %s\033[0m\n' "$*" >&2; }
die() { printf 'bench/run.sh: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "run as root (the contenders create namespaces and cgroups)"
[ "$(uname -s)" = Linux ] || die "Linux only"

if [ "${BENCH_QUICK:-0}" = 1 ]; then
  : "${BENCH_ROUNDS:=5}" "${BENCH_WARMUP:=1}" "${BENCH_TPUT_LAUNCHES:=32}" \
    "${BENCH_FLOOR_N:=200}" "${BENCH_MEM_SAMPLES:=1}" "${BENCH_CHROOT_ROUNDS:=1}" \
    "${BENCH_CHROOT_LAUNCHES:=3}" "${BENCH_ABLATION_RUNS:=5}" "${BENCH_MICRO_MIN_TIME:=0.05}"
  export BENCH_ROUNDS BENCH_WARMUP BENCH_TPUT_LAUNCHES BENCH_FLOOR_N BENCH_MEM_SAMPLES \
    BENCH_CHROOT_ROUNDS BENCH_CHROOT_LAUNCHES BENCH_ABLATION_RUNS BENCH_MICRO_MIN_TIME
fi

# ---- 1. tools ----------------------------------------------------------------------------
if [ "${BENCH_SKIP_INSTALL:-0}" != 1 ]; then
  say "dependencies"
  if [ -x "$ROOT/scripts/install-deps.sh" ]; then
    "$ROOT/scripts/install-deps.sh" --bench
  fi
  pkgs=(crun runc bubblewrap busybox-static hyperfine gnuplot-nox strace util-linux python3
        file libbenchmark-dev cmake ninja-build build-essential)
  missing=()
  for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    say "installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
fi
PY=$(command -v /usr/bin/python3 || command -v python3) || die "python3 is missing"
export PYTHONDONTWRITEBYTECODE=1

# ---- 2. build ----------------------------------------------------------------------------
BUILD=$(realpath -m "${BENCH_BUILD_DIR:-$ROOT/build/bench}")
MICRO=""
SPAWNWAIT=""
if [ -n "${BENCH_ISOEXEC:-}" ]; then
  ISOEXEC=$(realpath "$BENCH_ISOEXEC")
else
  say "building isoexec (release) in $BUILD"
  # shellcheck disable=SC2086  # BENCH_CMAKE_ARGS is a word list on purpose
  (cd "$ROOT" && cmake --preset release -B "$BUILD" -DISOEXEC_BUILD_BENCH=ON \
      -DISOEXEC_BUILD_TESTS=OFF -DCMAKE_CXX_FLAGS= ${BENCH_CMAKE_ARGS:-} >/dev/null) ||
    die "cmake configure failed (try BENCH_CMAKE_ARGS=... or BENCH_ISOEXEC=PATH)"
  BUILD_LOG=$(mktemp)
  if ! cmake --build "$BUILD" -j"$(nproc)" --target isoexec 2>&1 | tee "$BUILD_LOG" >&2; then
    # A compiler warning promoted by -Werror must not stop a benchmark of otherwise working
    # code: retry with exactly those warnings demoted (-Wno-error=NAME) and say so.
    demote=$(grep -o -- '\[-Werror=[A-Za-z0-9_=-]*\]' "$BUILD_LOG" | sort -u |
             sed 's/^\[-Werror=\(.*\)\]$/-Wno-error=\1/' | tr '\n' ' ')
    rm -f "$BUILD_LOG"
    [ -n "$demote" ] || die "building isoexec failed (see above); BENCH_ISOEXEC=PATH uses a prebuilt binary"
    say "release build failed on warnings; retrying with $demote(noted in the results)"
    # shellcheck disable=SC2086
    (cd "$ROOT" && cmake --preset release -B "$BUILD" -DISOEXEC_BUILD_BENCH=ON \
        -DISOEXEC_BUILD_TESTS=OFF "-DCMAKE_CXX_FLAGS=$demote" ${BENCH_CMAKE_ARGS:-} >/dev/null)
    cmake --build "$BUILD" -j"$(nproc)" --target isoexec >&2 ||
      die "building isoexec failed (see above); BENCH_ISOEXEC=PATH uses a prebuilt binary"
    export BENCH_BUILD_NOTE="the -Werror release build failed; isoexec was built with ${demote% }"
  fi
  rm -f "$BUILD_LOG"
  ISOEXEC=$BUILD/src/cli/isoexec
  if cmake --build "$BUILD" -j"$(nproc)" --target isoexec_micro >&2; then
    MICRO=$BUILD/bench/isoexec_micro
  else
    say "micro-benchmarks did not build: that section is skipped"
  fi
  if cmake --build "$BUILD" -j"$(nproc)" --target spawnwait >&2; then
    SPAWNWAIT=$BUILD/bench/spawnwait
  fi
fi
[ -x "$ISOEXEC" ] || die "no isoexec binary at $ISOEXEC"

# ---- 3. scratch space (same filesystem as /usr, for the `cp -al` chroot comparison) -------
WORK_PARENT=${BENCH_WORK_PARENT:-/var/tmp}
WORK=$(mktemp -d "$WORK_PARENT/isoexec-bench.XXXXXX")
MOUNTS_BEFORE=$(mktemp)
CGROUPS_BEFORE=$(mktemp)
snapshot_cgroups() {
  find /sys/fs/cgroup -mindepth 1 -maxdepth 3 -type d 2>/dev/null | grep -v '/process_api/' | sort
}
cleanup() {
  local rc=$?
  # Nothing of ours is mounted in this namespace, but never let rm cross a mount point.
  if findmnt -rn -o TARGET | grep -q "^$WORK"; then
    findmnt -rn -o TARGET | grep "^$WORK" | sort -r | xargs -r -n1 umount -l || true
  fi
  rm -rf --one-file-system "$WORK"
  rm -f "$MOUNTS_BEFORE" "$CGROUPS_BEFORE"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ -z "$SPAWNWAIT" ]; then
  cc -O2 -o "$WORK/spawnwait" "$HERE/spawnwait.c" || die "cannot build bench/spawnwait.c"
  SPAWNWAIT=$WORK/spawnwait
fi

# ---- 4. the cgroup view every contender gets ----------------------------------------------
# crun refuses a hybrid host whose cgroup2 (/sys/fs/cgroup/unified) owns any controller, so
# the harness runs in a private mount namespace with an empty tmpfs over it: every contender
# then sees the same pure-v1 view. (isoexec puts task cgroups on v1 on a hybrid host anyway.)
UNIFIED=/sys/fs/cgroup/unified
HOST_CG="unknown"
VIEW_CMD=""
if [ "$(findmnt -n -o FSTYPE /sys/fs/cgroup 2>/dev/null)" = cgroup2 ]; then
  HOST_CG="cgroup v2 (unified)"
  VIEW="cgroup v2, as the host"
elif [ "$(findmnt -n -o FSTYPE "$UNIFIED" 2>/dev/null)" = cgroup2 ]; then
  ctrls=$(cat "$UNIFIED/cgroup.controllers" 2>/dev/null || true)
  HOST_CG="hybrid: cgroup v1 controllers + cgroup2 at $UNIFIED (controllers: ${ctrls:-none})"
  VIEW="cgroup v1 only (empty tmpfs over $UNIFIED in a private mount namespace)"
  VIEW_CMD="mount -t tmpfs -o mode=755 isoexec-bench $UNIFIED && "
else
  HOST_CG="cgroup v1"
  VIEW="cgroup v1, as the host"
fi
export BENCH_HOST_CGROUP=$HOST_CG BENCH_CGROUP_VIEW=$VIEW

RESULTS=$HERE/results
RAW=$RESULTS/raw/$(date -u +%Y%m%d-%H%M%S)
mkdir -p "$RAW"
findmnt -rn -o TARGET,SOURCE,FSTYPE | sort >"$MOUNTS_BEFORE"
snapshot_cgroups >"$CGROUPS_BEFORE"

say "running the harness (host: $HOST_CG)"
set +e
unshare --mount --propagation private -- sh -c "${VIEW_CMD}exec \"\$@\"" harness \
  "$PY" "$HERE/harness.py" --work "$WORK" --isoexec "$ISOEXEC" --spawnwait "$SPAWNWAIT" \
  --micro "$MICRO" --source "$ROOT" --results "$RESULTS" --raw "$RAW"
HARNESS_RC=$?
set -e

# ---- 5. nothing left behind on the host ----------------------------------------------------
LEAKS=""
new_mounts=$(comm -13 "$MOUNTS_BEFORE" <(findmnt -rn -o TARGET,SOURCE,FSTYPE | sort) |
             grep -E "isoexec|$WORK|crun|runc" || true)
[ -z "$new_mounts" ] || LEAKS+="mounts: $new_mounts; "
new_cgroups=$(comm -13 "$CGROUPS_BEFORE" <(snapshot_cgroups) | grep -E 'isoexec-bench|/ib[0-9a-f]{6}-' || true)
[ -z "$new_cgroups" ] || LEAKS+="cgroups: $(echo "$new_cgroups" | tr '\n' ' '); "
stray=$(pgrep -a -f "$WORK" | grep -v "^$$ " || true)
[ -z "$stray" ] || LEAKS+="processes: $(echo "$stray" | tr '\n' ' '); "
if [ -f "$RESULTS/latest.md" ]; then
  printf 'Host check by run.sh after the harness: %s\n' "${LEAKS:-no new mounts, cgroups or processes; scratch dir removed.}" >>"$RESULTS/latest.md"
fi
if [ -n "$LEAKS" ]; then
  say "LEFT BEHIND: $LEAKS"
  exit 1
fi
say "results: $RESULTS/latest.md, $RESULTS/latest.json, $RESULTS/launch.png (raw: $RAW)"
exit "$HARNESS_RC"
