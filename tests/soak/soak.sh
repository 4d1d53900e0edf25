#!/usr/bin/env bash
# Soak: many launches of a small task with random early stops and kills, then leak counts and
# fd growth checks. Root only; a private --state-dir and --cgroup-parent.
#
#   tests/soak/soak.sh BUILD_DIR
#
#   1. SOAK_SEQ (1000) sequential launches, then SOAK_CONC (200) with SOAK_INFLIGHT (8) in
#      flight. Each launch is one of: a foreground `run --rm`; a detached task stopped early
#      (`stop`, grace 0 or 100ms); killed with `isoexec kill` (TERM or KILL); its main process
#      SIGKILLed from the host; or left to exit by itself. Every outcome is checked (exit
#      status of run/stop/kill/wait/delete).
#   2. Zero leaked cgroups, mounts, processes and state dirs.
#   3. A long-lived detached supervisor serves SOAK_REQUESTS (500) control requests (exec,
#      stats, ps, inspect/state, kill -0 style signals, an abandoned stats stream): its fd
#      count must not grow. The same for the executor service when it is built.
#
# Exit status: 0 all good, 1 a failure, 77 skipped (not root).
set -u -o pipefail

BUILD=${1:?usage: soak.sh BUILD_DIR}
BUILD=$(cd "$BUILD" && pwd)
ISO=$BUILD/src/cli/isoexec
TESTINIT=$BUILD/tests/helpers/testinit
EXE_SOAK=$BUILD/tests/soak/isoexec_executor_soak
SEQ=${SOAK_SEQ:-1000}
CONC=${SOAK_CONC:-200}
INFLIGHT=${SOAK_INFLIGHT:-8}
REQUESTS=${SOAK_REQUESTS:-500}
SEED=${SOAK_SEED:-$$}

if [[ $EUID -ne 0 ]]; then
  echo "soak: needs root (real namespaces, mounts, cgroups): skipped"
  exit 77
fi
[[ -x $ISO ]] || { echo "soak: $ISO not built" >&2; exit 1; }
BUSYBOX=$(command -v busybox || true)
[[ -n $BUSYBOX ]] || { echo "soak: needs busybox" >&2; exit 1; }

TAG=isoexec-soak-$$
SD=/run/$TAG
CGP=$TAG
WORK=$(mktemp -d "/tmp/$TAG.XXXXXX")
ROOT=$WORK/root
FAILS=$WORK/failures
: >"$FAILS"
RANDOM=$SEED

mkdir -p "$ROOT"/{bin,etc,tmp}
chmod 1777 "$ROOT/tmp"
cp "$BUSYBOX" "$ROOT/bin/busybox"
for a in sh true sleep cat echo; do ln -s busybox "$ROOT/bin/$a"; done
[[ -x $TESTINIT ]] && cp "$TESTINIT" "$ROOT/bin/testinit"
echo 'root:x:0:0:root:/root:/bin/sh' >"$ROOT/etc/passwd"
echo 'root:x:0:' >"$ROOT/etc/group"

I() { "$ISO" --state-dir "$SD" --cgroup-parent "$CGP" "$@"; }
fail() { echo "$*" >>"$FAILS"; }
# expect WHAT WANT CMD...: runs CMD (stdout and stderr kept for the failure message).
expect() {
  local what=$1 want=$2; shift 2
  local out rc
  out=$("$@" 2>&1); rc=$?
  [[ $rc == "$want" ]] || fail "$what: exit $rc, want $want: $out"
  return 0
}
# The supervisor of a --rm task removes its dir once it has exited; wait for that.
gone() {
  local i
  for ((i = 0; i < 500; i++)); do [[ -e $SD/$1 ]] || return 0; sleep 0.01; done
  fail "$1: state dir still there 5 s after the task ended"
}
json_field() { sed -n "s/^  \"$2\": \\([0-9]*\\),\$/\\1/p" <<<"$1"; }

# One launch with a random fate; $1 is a unique id, $2 a random number.
one() {
  local id=$1 r=$(( $2 % 10 )) out pid
  case $r in
    0|1|2)  # foreground, removed at the end
      expect "$id run --rm" 0 I run --rm --rootfs "$ROOT" -- /bin/true ;;
    3|4)    # detached, stopped early (no grace, or a short one)
      local grace=0; (( $2 % 2 )) && grace=100ms
      out=$(I run -d --rm --name "$id" --rootfs "$ROOT" -- /bin/sleep 30 2>&1) || { fail "$id run -d: $out"; return; }
      expect "$id stop -t $grace" 0 I stop -t "$grace" "$id"
      gone "$id" ;;
    5|6)    # detached, `isoexec kill` TERM or KILL, then wait and delete
      local sig=TERM code=143; (( $2 % 2 )) && { sig=KILL; code=137; }
      out=$(I run -d --name "$id" --rootfs "$ROOT" -- /bin/sleep 30 2>&1) || { fail "$id run -d: $out"; return; }
      expect "$id kill $sig" 0 I kill "$id" "$sig"
      expect "$id wait after $sig" "$code" I wait "$id"
      expect "$id delete" 0 I delete "$id" ;;
    7|8)    # detached, its main process SIGKILLed from the host
      out=$(I run -d --name "$id" --rootfs "$ROOT" -- /bin/sleep 30 2>&1) || { fail "$id run -d: $out"; return; }
      pid=$(json_field "$(I inspect "$id")" pid)
      if [[ -n $pid && $pid -gt 0 ]]; then kill -KILL "$pid"; else fail "$id: no pid in inspect"; fi
      expect "$id wait after SIGKILL" 137 I wait "$id"
      expect "$id delete" 0 I delete "$id" ;;
    9)      # detached, ends by itself
      out=$(I run -d --name "$id" --rootfs "$ROOT" -- /bin/sh -c 'exit 3' 2>&1) || { fail "$id run -d: $out"; return; }
      expect "$id wait" 3 I wait "$id"
      expect "$id delete" 0 I delete "$id" ;;
  esac
}

count_leaks() {
  local cg mnt procs state p
  cg=$(find /sys/fs/cgroup -maxdepth 3 -path "*/$CGP*" -mindepth 2 -type d 2>/dev/null |
       grep -E "/$CGP(\\.slice)?/" | wc -l)
  mnt=$(grep -cE "$SD|$WORK" /proc/self/mountinfo)
  procs=0
  for p in /proc/[0-9]*; do
    [[ $(cut -d' ' -f3 "$p/stat" 2>/dev/null) == [ZX] || ! -e $p/stat ]] && continue
    if grep -qE "/$CGP(\\.slice)?/" "$p/cgroup" 2>/dev/null ||
       tr '\0' ' ' <"$p/cmdline" 2>/dev/null | grep -q -- "$SD"; then
      procs=$((procs + 1))
      echo "soak: leaked process ${p#/proc/}: $(tr '\0' ' ' <"$p/cmdline" 2>/dev/null)" >&2
    fi
  done
  state=$(find "$SD" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
  echo "$cg $mnt $procs $state"
}

cleanup() {
  local d
  for d in $(ls "$SD" 2>/dev/null); do I delete --force "$d" >/dev/null 2>&1; done
  rm -rf "$SD" "$WORK"
  find /sys/fs/cgroup -maxdepth 3 -depth -type d -path "*/$CGP*" -exec rmdir {} + 2>/dev/null
  return 0
}
trap cleanup EXIT

start=$(date +%s.%N)
echo "soak: $SEQ sequential launches (seed $SEED)"
for ((i = 0; i < SEQ; i++)); do one "s$i" $RANDOM; done
t_seq=$(date +%s.%N)
echo "soak: $CONC concurrent launches, $INFLIGHT in flight"
for ((i = 0; i < CONC; i++)); do
  one "c$i" $RANDOM &
  while (( $(jobs -rp | wc -l) >= INFLIGHT )); do wait -n; done
done
wait
t_conc=$(date +%s.%N)

read -r cg mnt procs state < <(count_leaks)
echo "soak: leaks after $((SEQ + CONC)) launches: cgroups=$cg mounts=$mnt processes=$procs state_dirs=$state"
(( cg == 0 && mnt == 0 && procs == 0 && state == 0 )) || fail "leaks: cgroups=$cg mounts=$mnt processes=$procs state_dirs=$state"

# ---- fd growth of a long-lived supervisor
I run -d --name fdsoak --rootfs "$ROOT" -- /bin/sleep 1000 >/dev/null || fail "fdsoak: run -d"
sup=$(json_field "$(I inspect fdsoak)" supervisor_pid)
fds() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }
# A first round of every request kind, then measure.
I exec fdsoak -- /bin/true; I stats --no-stream fdsoak >/dev/null; I ps fdsoak >/dev/null
fd_before=$(fds "$sup")
for ((i = 0; i < REQUESTS; i++)); do
  case $((i % 6)) in
    0) expect "exec #$i" 0 I exec fdsoak -- /bin/true ;;
    1) expect "stats #$i" 0 I stats --no-stream fdsoak ;;
    2) expect "ps #$i" 0 I ps fdsoak ;;
    3) expect "inspect #$i" 0 I inspect fdsoak ;;
    4) expect "kill CONT #$i" 0 I kill fdsoak CONT ;;
    5) # a stats stream its client abandons
       "$ISO" --state-dir "$SD" --cgroup-parent "$CGP" stats --interval 100ms fdsoak >/dev/null 2>&1 &
       sp=$!
       sleep 0.05; kill -KILL $sp 2>/dev/null; wait $sp 2>/dev/null ;;
  esac
done
sleep 0.5
fd_after=$(fds "$sup")
echo "soak: supervisor fds: $fd_before before, $fd_after after $REQUESTS requests"
(( fd_after <= fd_before )) || fail "supervisor fd growth: $fd_before -> $fd_after"
expect "fdsoak delete" 0 I delete --force fdsoak

# ---- fd growth of the executor service
if [[ -x $EXE_SOAK ]]; then
  if SOAK_EXECUTOR_REQUESTS=$REQUESTS "$EXE_SOAK" >"$WORK/executor.log" 2>&1; then
    grep -E "fds:" "$WORK/executor.log" | sed 's/^/soak: /'
  else
    cat "$WORK/executor.log"
    fail "executor soak failed"
  fi
else
  echo "soak: executor service not built: skipped its fd check"
fi

read -r cg mnt procs state < <(count_leaks)
(( cg == 0 && mnt == 0 && procs == 0 && state == 0 )) || fail "leaks at the end: cgroups=$cg mounts=$mnt processes=$procs state_dirs=$state"
end=$(date +%s.%N)
awk -v a="$start" -v b="$t_seq" -v c="$t_conc" -v d="$end" 'BEGIN {
  printf "soak: wall time %.1f s (sequential %.1f s, concurrent %.1f s, fd checks %.1f s)\n", d - a, b - a, c - b, d - c }'
if [[ -s $FAILS ]]; then
  echo "soak: $(wc -l <"$FAILS") failure(s):"
  head -50 "$FAILS"
  exit 1
fi
echo "soak: OK"
