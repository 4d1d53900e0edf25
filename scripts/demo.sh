#!/usr/bin/env bash
# A short tour: builds isoexec (release) and runs a task that shows its isolation.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release -j"$(nproc)" --target isoexec >/dev/null
BIN=$PWD/build/release/src/cli/isoexec
if [ "$(id -u)" -ne 0 ]; then echo "demo: run as root (isoexec creates namespaces and cgroups)" >&2; exit 1; fi

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
run() { step "$*"; "$@" || echo "(exit status $?)"; }

run "$BIN" version
cat <<'MSG'

A task in the default ephemeral root: host /bin /etc /lib* /sbin /usr mounted read-only, a
private /tmp, its own mount, PID and IPC namespaces, a minimal /dev, masked kernel paths, a
cgroup with limits, the default capability set and seccomp profile.
MSG
run "$BIN" run --memory 64M --pids-max 32 --hostname demo -- sh -c '
  echo "hostname:     $(hostname)"
  echo "pid in task:  $$ (PID 1 is isoexec'"'"'s init)"
  echo "root:         $(ls / | tr "\n" " ")"
  echo "/dev:         $(ls /dev | tr "\n" " ")"
  echo "cgroup:       $(grep memory /proc/self/cgroup)"
  echo "caps:         $(grep CapEff /proc/self/status)"
  echo "seccomp:      $(grep "^Seccomp:" /proc/self/status)"
  touch /usr/x 2>/dev/null || echo "/usr is read-only"
  echo "/proc/keys is masked: $(wc -c </proc/keys) bytes readable"
  exit 7'
step "exit status of the task above: 7 expected"
run "$BIN" run --log-level info --memory 32M -- sh -c 'echo allocating without bound under a 32M limit; tail /dev/zero'
echo "(137 = killed by SIGKILL; isoexec tells an OOM kill apart from a plain SIGKILL)"
run "$BIN" run -- nosuchcommand
echo "(127 = command not found)"
