#!/bin/sh
# selftest.sh - quick check of the guest environment; runs INSIDE the VM:
#   tests/vm/run-in-vm.sh tests/vm/selftest.sh [SHARED_DIR]
# Asserts: cgroup2 is the only cgroup hierarchy and is at /sys/fs/cgroup;
# cpu, memory and pids (and cpuset, io) are enabled in the root
# cgroup.subtree_control; a child cgroup's memory.max is enforced (OOM kill);
# cgroup.kill works; the mounts run-in-vm.sh promises are there.  With
# SHARED_DIR (a -s share) it also writes SHARED_DIR/vm-selftest.out.
# Prints PASS/FAIL lines and exits 1 if anything failed.
CG=/sys/fs/cgroup
T=$CG/isoexec-selftest
FAILS=0 PASSES=0
pass() { echo "PASS: $*"; PASSES=$((PASSES + 1)); }
fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
check() { d=$1; shift; if "$@"; then pass "$d"; else fail "$d"; fi; }
fstype() { stat -f -c %T "$1" 2>/dev/null; }

if [ "${ISOEXEC_IN_VM:-}" != 1 ]; then
    echo "selftest.sh: meant to run inside the VM (tests/vm/run-in-vm.sh $0)" >&2; exit 2
fi
echo "kernel $(uname -r), $(nproc) cpus, $(awk '/MemTotal/ { print $2 " kB" }' /proc/meminfo), uid $(id -u)"
echo "cgroup mounts: $(grep cgroup /proc/mounts | tr '\n' ';')"
echo "root cgroup.subtree_control: $(cat $CG/cgroup.subtree_control)"

# --- cgroup v2 only ----------------------------------------------------------
check "running as root" [ "$(id -u)" = 0 ]
check "cgroup2 mounted at /sys/fs/cgroup" [ "$(fstype $CG)" = cgroup2fs ]
check "no cgroup v1 hierarchy mounted" sh -c '! awk "\$3 == \"cgroup\"" /proc/mounts | grep -q .'
check "exactly one cgroup2 mount" [ "$(awk '$3 == "cgroup2"' /proc/mounts | wc -l)" = 1 ]
check "/proc/self/cgroup is 0::/" [ "$(cat /proc/self/cgroup)" = "0::/" ]
mkdir -p /tmp/v1test
check "cgroup v1 cannot be mounted (cgroup_no_v1=all)" \
    sh -c '! mount -t cgroup -o memory none /tmp/v1test 2>/dev/null'
for c in cpu memory pids cpuset io; do
    check "controller $c enabled in root cgroup.subtree_control" grep -qw $c $CG/cgroup.subtree_control
done

# --- child cgroup with memory.max ------------------------------------------------
rmdir $T/kill $T 2>/dev/null
mkdir $T
check "child cgroup has memory/pids/cpu files" \
    test -e $T/memory.max -a -e $T/pids.max -a -e $T/cpu.max -a -e $T/memory.events
echo 32M >$T/memory.max
check "memory.max reads back 33554432" [ "$(cat $T/memory.max)" = 33554432 ]
echo 0 >$T/memory.swap.max 2>/dev/null
# A process that grows a 64 MiB string inside the 32 MiB limit must be OOM-killed.
sh -c "echo \$\$ >$T/cgroup.procs && exec awk 'BEGIN { s = \"x\"; for (i = 0; i < 26; i++) s = s s; print length(s) }'" >/dev/null
rc=$?
check "64 MiB allocation under memory.max=32M is SIGKILLed (status $rc)" [ $rc = 137 ]
check "memory.events counts the oom_kill" \
    [ "$(awk '$1 == "oom_kill" { print $2 }' $T/memory.events)" -ge 1 ]
echo max >$T/memory.max
sh -c "echo \$\$ >$T/cgroup.procs && exec awk 'BEGIN { s = \"x\"; for (i = 0; i < 26; i++) s = s s; exit length(s) != 67108864 }'"
check "the same allocation succeeds with memory.max=max" [ $? = 0 ]
echo 4 >$T/pids.max && echo "50000 100000" >$T/cpu.max
check "pids.max and cpu.max are writable" [ "$(cat $T/pids.max) $(cat $T/cpu.max)" = "4 50000 100000" ]

# --- cgroup.kill ----------------------------------------------------------------
mkdir $T/kill
check "cgroup.kill exists" test -e $T/kill/cgroup.kill
for _ in 1 2; do sh -c "echo \$\$ >$T/kill/cgroup.procs && exec sleep 600" & done
sleep 0.5
check "2 processes in the child cgroup" [ "$(wc -l <$T/kill/cgroup.procs)" = 2 ]
echo 1 >$T/kill/cgroup.kill
wait
sleep 0.2
check "cgroup.kill empties the cgroup (populated 0)" grep -qx 'populated 0' $T/kill/cgroup.events
rmdir $T/kill $T
check "child cgroups removed" test ! -e $T

# --- mounts and environment ---------------------------------------------------------
check "/tmp is tmpfs" [ "$(fstype /tmp)" = tmpfs ]
check "/run is tmpfs" [ "$(fstype /run)" = tmpfs ]
check "/dev/shm is tmpfs" [ "$(fstype /dev/shm)" = tmpfs ]
check "devpts at /dev/pts" [ "$(fstype /dev/pts)" = devpts ]
check "mqueue at /dev/mqueue" grep -q ' /dev/mqueue mqueue ' /proc/mounts
check "root is overlay (host root read-only below)" [ "$(fstype /)" = overlayfs ]
check "FIFO can be created in /tmp" sh -c 'mkfifo /tmp/fifo.$$ && rm /tmp/fifo.$$'
check "ASLR off (norandmaps)" [ "$(cat /proc/sys/kernel/randomize_va_space)" = 0 ]
if command -v ip >/dev/null; then
    check "veth module loads on demand (ip link add type veth)" \
        sh -c 'ip link add vst0 type veth peer name vst1 && ip link del vst0'
fi
if [ -n "${1:-}" ]; then
    check "shared dir $1 is writable" sh -c 'echo "from-guest $(uname -r)" >"$1/vm-selftest.out"' sh "$1"
fi

echo "$PASSES passed, $FAILS failed"
[ $FAILS = 0 ]
