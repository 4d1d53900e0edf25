#!/bin/bash
# run-in-vm.sh - run SCRIPT as root in a throw-away QEMU (TCG) guest that boots
# Debian's stock kernel with ONLY cgroup v2 (cgroup_no_v1=all); stream its
# output and exit with its status.
#
# Usage: tests/vm/run-in-vm.sh [options] SCRIPT [ARGS...]
#   -s DIR      share host DIR read-write at the same path in the guest
#               (repeatable; e.g. the build dir the test writes results to)
#   -t SECS     timeout for the whole guest run (default 900)
#   -m MEM      guest memory (default 1G)
#   -p N        guest vCPUs (default 2)
#   -C DIR      working directory in the guest (default: $PWD if visible, else /)
#   -e VAR=VAL  set an environment variable for SCRIPT (repeatable)
#   -v          print the guest console log and QEMU's messages to stderr at the end
#   -T          print timings (guest uptime at script start, total wall) to stderr
#   -k          keep the run dir (console log, output, rc) and print its path
#
# Exit status: SCRIPT's status; 124 timeout; 125 the guest did not report a
# status (boot failure, kernel panic, ...); 130 interrupted; 2 usage error.
#
# The guest sees the host's / read-only (overlay with a tmpfs upper layer, so
# host binaries and shared libraries run unchanged and writes are discarded),
# the -s dirs read-write, fresh tmpfs on /tmp, /run and /dev/shm, devpts,
# mqueue, and cgroup2 on /sys/fs/cgroup with every controller enabled in the
# root cgroup.subtree_control.  SCRIPT runs in the root cgroup with stdin
# </dev/null, stdout+stderr merged, and ISOEXEC_IN_VM=1.  If SCRIPT lives
# where the guest cannot see it (host /tmp, /run), a copy is run instead.
#
# Environment: ISOEXEC_VM_CACHE (kernel/initrd cache, default
# /var/cache/isoexec-vmtest), ISOEXEC_VM_CPU (-cpu model, default qemu64),
# ISOEXEC_VM_ACCEL (default tcg), ISOEXEC_VM_BOOT_TIMEOUT (secs until SCRIPT
# must have started, default 60) and ISOEXEC_VM_BOOT_RETRIES (default 1): a
# hung boot is killed and retried; ISOEXEC_VM_APPEND (extra kernel args),
# ISOEXEC_VM_QEMU_ARGS (extra QEMU args, word-split).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
usage() { sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//' >&2; exit 2; }
say() { echo "run-in-vm: $*" >&2; }

SHARES=() ENVS=() TIMEOUT=900 MEM=1G NCPU=2 CWD="" VERBOSE=0 TIMING=0 KEEP=0
while getopts s:t:m:p:C:e:vTkh o; do
    case $o in
        s) SHARES+=("$OPTARG") ;;
        t) TIMEOUT=$OPTARG ;;
        m) MEM=$OPTARG ;;
        p) NCPU=$OPTARG ;;
        C) CWD=$OPTARG ;;
        e) ENVS+=("$OPTARG") ;;
        v) VERBOSE=1 ;;
        T) TIMING=1 ;;
        k) KEEP=1 ;;
        *) usage ;;
    esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] || usage
if [ -e "$1" ]; then SCRIPT=$(realpath -e "$1")
else SCRIPT=$(command -v "$1") || { say "$1: not found"; exit 2; }; fi
shift
case $TIMEOUT in '' | *[!0-9]*) say "bad -t $TIMEOUT"; exit 2 ;; esac

T0=$(date +%s.%N)
ART=$("$HERE/build-initrd.sh") || { say "build-initrd.sh failed"; exit 125; }
eval "$(grep -E '^(KERNEL|INITRD|KVER)=/?[A-Za-z0-9._/-]*$' <<<"$ART")"

RUN=$(mktemp -d "${TMPDIR:-/tmp}/isoexec-vm.XXXXXX")
QPID="" TPID=""
cleanup() {
    local p
    for p in $QPID $TPID; do kill "$p" 2>/dev/null || true; done
    for p in $QPID $TPID; do wait "$p" 2>/dev/null || true; done
    if [ "$KEEP" = 1 ]; then say "run dir kept: $RUN"; else rm -rf "$RUN"; fi
}
trap cleanup EXIT
INTR=0
trap 'INTR=1; [ -z "$QPID" ] || kill "$QPID" 2>/dev/null' INT TERM HUP
mkdir "$RUN/ctl"

q() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"; }   # quote for the guest's ash
qemu_path() { printf '%s' "${1//,/,,}"; }                           # -virtfs splits on ','

# ------------------------------------------------------------------ exports
VIRTFS=(-virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap"
        -virtfs "local,path=$(qemu_path "$RUN/ctl"),mount_tag=vmctl,security_model=none,multidevs=remap")
: >"$RUN/ctl/shares"
DIRS=()
for s in ${SHARES[@]+"${SHARES[@]}"}; do
    d=$(realpath -e "$s") || { say "share $s does not exist"; exit 2; }
    [ -d "$d" ] && [ "$d" != / ] || { say "share $d: not a directory (or /)"; exit 2; }
    case $d in *$'\n'*) say "bad share path"; exit 2 ;; esac
    DIRS+=("$d")
done
i=0
while IFS= read -r dir; do                 # sorted: parents are mounted before children
    [ -n "$dir" ] || continue
    VIRTFS+=(-virtfs "local,path=$(qemu_path "$dir"),mount_tag=s$i,security_model=none,multidevs=remap")
    echo "s$i $dir" >>"$RUN/ctl/shares"
    i=$((i + 1))
done < <(printf '%s\n' ${DIRS[@]+"${DIRS[@]}"} | sort -u)

# Host paths the guest sees at the same path: all of / except what it hides
# under its own /tmp, /run, /dev, /proc, /sys -- unless a share brings it back.
visible() {
    local d
    while read -r _ d; do case $1 in "$d" | "$d"/*) return 0 ;; esac; done <"$RUN/ctl/shares"
    case $1 in /tmp | /tmp/* | /run | /run/* | /dev | /dev/* | /proc | /proc/* | /sys | /sys/*) return 1 ;; esac
    return 0
}
RUNPATH=$SCRIPT
if ! visible "$SCRIPT"; then cp -p "$SCRIPT" "$RUN/ctl/script"; RUNPATH=/run/isoexec-vm/ctl/script; fi
if [ -n "$CWD" ]; then
    CWD=$(realpath -m "$CWD")
    visible "$CWD" || say "warning: -C $CWD is not visible in the guest (share it with -s)"
else
    CWD=$PWD; visible "$CWD" || CWD=/
fi
{
    echo "VM_CWD=$(q "$CWD")"
    cmd=$(q "$RUNPATH"); [ -x "$SCRIPT" ] || cmd="/bin/sh $cmd"
    for a in "$@"; do cmd="$cmd $(q "$a")"; done
    echo "VM_CMD=$(q "$cmd")"
    for e in ${ENVS[@]+"${ENVS[@]}"}; do
        case $e in [A-Za-z_]*=*) echo "export ${e%%=*}=$(q "${e#*=}")" ;;
                   *) say "bad -e $e"; exit 2 ;; esac
    done
} >"$RUN/ctl/config"

# --------------------------------------------------------------------- boot
# cgroup_no_v1=all   no v1 hierarchy can be mounted: cgroup2 is the only one
# panic=-1 oops=panic  a crashed guest reboots at once, and -no-reboot ends QEMU
# norandmaps         no ASLR: TCG caches translated code by virtual address, so
#                    with ASLR every exec re-translates ld.so/libc (~3x slower)
# tsc=reliable       TSC clocksource instead of emulated HPET MMIO reads
# pci=noacpi         skip ACPI PCI IRQ routing, ~0.15 s per device under TCG
# cryptomgr.notests  skip the crypto self-tests, 0.2-0.6 s under TCG
APPEND="console=ttyS0 quiet panic=-1 oops=panic cgroup_no_v1=all systemd.unified_cgroup_hierarchy=1"
APPEND="$APPEND norandmaps tsc=reliable mitigations=off pci=noacpi cryptomgr.notests rdinit=/init"
APPEND="$APPEND ${ISOEXEC_VM_APPEND:-}"
BIOS=()
[ -r /usr/share/qemu/qboot.rom ] && BIOS=(-bios /usr/share/qemu/qboot.rom)   # faster than SeaBIOS
BOOT_TIMEOUT=${ISOEXEC_VM_BOOT_TIMEOUT:-60}

# One boot: sets QRC (124 on timeout) and HUNG=1 if SCRIPT did not start in time.
boot_once() {
    rm -f "$RUN/ctl/started" "$RUN/ctl/rc" "$RUN/console.log"
    : >"$RUN/ctl/output"
    # shellcheck disable=SC2086
    timeout -k 5 "$TIMEOUT" qemu-system-x86_64 \
        -accel "${ISOEXEC_VM_ACCEL:-tcg}" -cpu "${ISOEXEC_VM_CPU:-qemu64}" -smp "$NCPU" -m "$MEM" \
        -nodefaults -no-user-config -display none -no-reboot ${BIOS[@]+"${BIOS[@]}"} \
        -kernel "$KERNEL" -initrd "$INITRD" -append "$APPEND" \
        -serial "file:$RUN/console.log" -device virtio-rng-pci \
        "${VIRTFS[@]}" ${ISOEXEC_VM_QEMU_ARGS:-} </dev/null >>"$RUN/qemu.err" 2>&1 &
    QPID=$!
    # The guest appends SCRIPT's output to ctl/output (9p writes are
    # synchronous; the emulated UART would do ~170 KB/s and lose the tail).
    tail -n +1 -s 0.2 -f --pid=$QPID "$RUN/ctl/output" &
    TPID=$!
    HUNG=0
    local deadline=$((SECONDS + BOOT_TIMEOUT))
    while [ ! -e "$RUN/ctl/started" ] && kill -0 $QPID 2>/dev/null && [ $INTR = 0 ]; do
        if [ $SECONDS -ge $deadline ]; then HUNG=1; kill $QPID 2>/dev/null; break; fi
        sleep 0.1
    done
    while :; do              # a trapped signal interrupts wait: wait again
        QRC=0; wait $QPID || QRC=$?
        kill -0 $QPID 2>/dev/null || break
    done
    QPID=""
    wait $TPID || true
    TPID=""
}

ATTEMPTS=$((1 + ${ISOEXEC_VM_BOOT_RETRIES:-1}))
for attempt in $(seq "$ATTEMPTS"); do
    boot_once
    [ $HUNG = 1 ] && [ $INTR = 0 ] || break
    say "guest did not start the script within ${BOOT_TIMEOUT}s (attempt $attempt/$ATTEMPTS); console tail:"
    tail -n 20 "$RUN/console.log" >&2 2>/dev/null || true
    cp "$RUN/console.log" "$RUN/console.hung$attempt.log" 2>/dev/null || true
done
T1=$(date +%s.%N)

if [ $VERBOSE = 1 ]; then
    { echo "----- guest console -----"; cat "$RUN/console.log"; echo "-----"; } >&2 2>/dev/null || true
    [ -s "$RUN/qemu.err" ] && sed 's/^/qemu: /' "$RUN/qemu.err" >&2
fi
fail_info() {
    [ $VERBOSE = 1 ] && return 0
    [ -s "$RUN/qemu.err" ] && sed 's/^/qemu: /' "$RUN/qemu.err" >&2
    say "guest console tail:"; tail -n 30 "$RUN/console.log" >&2 2>/dev/null || true
}
if [ $INTR = 1 ]; then say "interrupted"; exit 130; fi
if [ $QRC = 124 ] || [ $QRC = 137 ]; then say "TIMEOUT after ${TIMEOUT}s"; fail_info; exit 124; fi
if [ ! -s "$RUN/ctl/rc" ]; then say "guest reported no exit status (qemu status $QRC)"; fail_info; exit 125; fi
RC=$(cat "$RUN/ctl/rc")
if [ $TIMING = 1 ]; then
    awk -v a="$T0" -v b="$T1" -v s="$(cat "$RUN/ctl/started")" \
        'BEGIN { printf "run-in-vm: guest uptime at script start %.2fs, total wall %.2fs\n", s, b - a }' >&2
fi
exit "$RC"
