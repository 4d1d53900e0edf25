#!/bin/bash
# build-initrd.sh - build the guest kernel + initramfs for run-in-vm.sh.
#
# Output, in $ISOEXEC_VM_CACHE (default /var/cache/isoexec-vmtest):
#   vmlinux-$KVER     the uncompressed kernel ELF, cut out of the Debian bzImage;
#                     QEMU boots it through its PVH entry point, which skips the
#                     ~1.5 s XZ decompression under TCG (falls back to vmlinuz)
#   initrd-$KVER.img  gzip'd cpio: static busybox, the boot modules (virtio_pci,
#                     9p, 9pnet_virtio, overlay, virtio_rng + their deps, in load
#                     order) and /init (both guest stages, see below)
#   stamp-$KVER       fingerprint of the inputs: nothing is rebuilt if unchanged
# Prints KERNEL=, INITRD= and KVER= lines on stdout.
#
# The kernel comes from $CACHE/kroot (an unpacked linux-image-*-amd64 .deb, see
# install-deps.sh); if that or a tool is missing, install-deps.sh is run first.
# All other modules (veth, bridge, ...) are loadable on demand in the guest:
# /init bind-mounts $CACHE/kroot/lib/modules/$KVER (seen through the read-only
# host root) onto /lib/modules/$KVER, and the host's kmod does the rest.
#
# Usage: build-initrd.sh [-f]      (-f: force a rebuild)
# Environment: ISOEXEC_VM_CACHE, ISOEXEC_VM_EXTRA_MODULES (more modules to
# insmod at boot), ISOEXEC_VM_NO_PVH=1 (boot the compressed bzImage).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${ISOEXEC_VM_CACHE:-/var/cache/isoexec-vmtest}
KROOT=$CACHE/kroot
BUSYBOX=/bin/busybox
MODULES="virtio_pci 9pnet_virtio 9p overlay virtio_rng ${ISOEXEC_VM_EXTRA_MODULES:-}"
FORCE=0
[ "${1:-}" = -f ] && FORCE=1
log() { echo "build-initrd: $*" >&2; }

deps_ok() {
    [ -s "$KROOT/.pkg" ] && [ -x "$BUSYBOX" ] && command -v cpio >/dev/null &&
        command -v modprobe >/dev/null && command -v xz >/dev/null &&
        command -v qemu-system-x86_64 >/dev/null
}
if ! deps_ok; then
    log "dependencies missing, running install-deps.sh"
    ISOEXEC_VM_CACHE=$CACHE "$HERE/install-deps.sh"
    deps_ok || { log "install-deps.sh did not provide everything"; exit 1; }
fi
KVER=$(awk '{ sub(/^linux-image-/, "", $1); print $1 }' "$KROOT/.pkg")
VMLINUZ=$KROOT/boot/vmlinuz-$KVER
MODDIR=$KROOT/lib/modules/$KVER
[ -r "$VMLINUZ" ] && [ -s "$MODDIR/modules.dep" ] || { log "$KROOT is incomplete; rerun install-deps.sh"; exit 1; }

KERNEL_OUT=$CACHE/vmlinux-$KVER
INITRD_OUT=$CACHE/initrd-$KVER.img
STAMP=$CACHE/stamp-$KVER
result() { printf 'KERNEL=%s\nINITRD=%s\nKVER=%s\n' "$KERNEL_OUT" "$INITRD_OUT" "$KVER"; }
fingerprint() {
    cat "$0"
    echo "$KROOT $MODULES ${ISOEXEC_VM_NO_PVH:-0}"
    cat "$KROOT/.pkg"
    stat -L -c '%n %s %Y' "$BUSYBOX"
}
HASH=$(fingerprint | sha256sum | cut -d' ' -f1)
up_to_date() { [ -s "$KERNEL_OUT" ] && [ -s "$INITRD_OUT" ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$HASH" ]; }
if [ $FORCE = 0 ] && up_to_date; then result; exit 0; fi

exec 9>"$CACHE/.build.lock"
flock 9
if [ $FORCE = 0 ] && up_to_date; then result; exit 0; fi    # built by a concurrent caller

WORK=$(mktemp -d "$CACHE/build.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# ------------------------------------------------------------------ kernel
# A bzImage is a decompressor stub followed by the compressed vmlinux ELF.
extract_vmlinux() {
    local spec tool magic off
    for spec in 'xz:\xfd\x37\x7a\x58\x5a\x00' 'zstd:\x28\xb5\x2f\xfd' 'gzip:\x1f\x8b\x08'; do
        tool=${spec%%:*} magic=${spec#*:}
        command -v "$tool" >/dev/null || continue
        for off in $(LC_ALL=C grep -obUaP "$magic" "$VMLINUZ" | cut -d: -f1 | head -5); do
            case $tool in
                xz) tail -c +$((off + 1)) "$VMLINUZ" | xz -dc --single-stream >"$WORK/vmlinux" 2>/dev/null || true ;;
                *) tail -c +$((off + 1)) "$VMLINUZ" | "$tool" -dc >"$WORK/vmlinux" 2>/dev/null || true ;;
            esac
            [ "$(head -c 4 "$WORK/vmlinux" | od -An -tx1 | tr -d ' \n')" = 7f454c46 ] && return 0
        done
    done
    return 1
}
if [ "${ISOEXEC_VM_NO_PVH:-0}" != 1 ] && extract_vmlinux; then
    mv "$WORK/vmlinux" "$WORK/kernel"
else
    log "using the compressed $VMLINUZ (no PVH vmlinux)"
    cp "$VMLINUZ" "$WORK/kernel"
fi

# --------------------------------------------------------------- initramfs
R=$WORK/root
mkdir -p "$R"/{bin,dev,proc,sys,etc,lower,rw,newroot,lib/modules}
cp "$BUSYBOX" "$R/bin/busybox"
ln -s busybox "$R/bin/sh"
echo "$KVER" >"$R/etc/kver"
echo "$KROOT" >"$R/etc/kroot"
: >"$R/etc/modules"
for m in $MODULES; do
    modprobe -d "$KROOT" -S "$KVER" --show-depends "$m" | while read -r verb path _; do
        [ "$verb" = insmod ] || continue                    # "builtin X" needs nothing
        f=${path##*/}
        grep -qxF "$f" "$R/etc/modules" && continue
        cp "$path" "$R/lib/modules/$f"
        echo "$f" >>"$R/etc/modules"
    done
done

cat >"$R/init" <<'EOF'
#!/bin/busybox sh
# isoexec VM init.  Stage 1 (no argument) is PID 1 in the initramfs; it
# switch_root's into an overlay of the host root and re-runs this file as
# "stage2" (PID 1 in the final root), which runs the test command.
BB=/run/isoexec-vm/busybox
CTL=/run/isoexec-vm/ctl
MSIZE=512000
up() { { read -r t _ </proc/uptime || read -r t _ </newroot/proc/uptime; } 2>/dev/null; echo "$t"; }
log() { echo "[isoexec-vm $(up)] $*" >/dev/console; }
die() { log "FATAL: $*"; poweroff -f; exit 1; }    # host then reports 125

stage1() {
    export PATH=/bin
    /bin/busybox --install -s /bin
    mount -t proc proc /proc
    mount -t sysfs sysfs /sys
    mount -t devtmpfs -o mode=0755,nosuid devtmpfs /dev
    log "stage1"
    while read -r m; do insmod "/lib/modules/$m" || log "insmod $m failed"; done </etc/modules
    # Host root (read-only 9p) as the lower layer of an overlay with a tmpfs on
    # top: host binaries and libs run unchanged, all writes vanish at power-off.
    # cache=loose: the host root must not change under us during the run.
    mount -t 9p -o ro,trans=virtio,version=9p2000.L,msize=$MSIZE,cache=loose hostroot /lower ||
        die "cannot mount the hostroot 9p export"
    mount -t tmpfs -o mode=0755 tmpfs /rw
    mkdir /rw/upper /rw/work
    mount -t overlay -o lowerdir=/lower,upperdir=/rw/upper,workdir=/rw/work overlay /newroot ||
        die "cannot mount the overlay root"
    N=/newroot
    mount --move /proc $N/proc
    mount --move /sys $N/sys
    mount --move /dev $N/dev
    mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs $N/run
    mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs $N/tmp
    mkdir -p $N$CTL
    cp /bin/busybox /init $N/run/isoexec-vm/
    mount -t 9p -o trans=virtio,version=9p2000.L,msize=$MSIZE,cache=none vmctl $N$CTL ||
        die "cannot mount the vmctl 9p export"
    # Modules for on-demand loading (veth, bridge, ...), from the unpacked kernel.
    KVER=$(cat /etc/kver) KROOT=$(cat /etc/kroot)
    if [ -d "/lower$KROOT/lib/modules/$KVER" ]; then
        mkdir -p "$N/lib/modules/$KVER" &&
            mount --bind "/lower$KROOT/lib/modules/$KVER" "$N/lib/modules/$KVER"
    fi
    # Shares: "TAG PATH" lines, parents first; mounted read-write at PATH.
    # cache=mmap keeps them coherent with the host and allows shared mmap.
    while read -r tag path; do
        [ -n "$tag" ] || continue
        mkdir -p "$N$path"
        mount -t 9p -o trans=virtio,version=9p2000.L,msize=$MSIZE,cache=mmap "$tag" "$N$path" ||
            die "cannot mount share $tag at $path"
    done <$N$CTL/shares
    exec switch_root $N $BB sh /run/isoexec-vm/init stage2
    die "switch_root failed"
}

stage2() {
    export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
    $BB mkdir -p /dev/pts /dev/shm /dev/mqueue
    $BB mount -t devpts -o newinstance,ptmxmode=0666,mode=0620,gid=5 devpts /dev/pts
    [ -e /dev/ptmx ] || $BB ln -s pts/ptmx /dev/ptmx
    $BB mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /dev/shm
    $BB mount -t mqueue -o nosuid,nodev,noexec mqueue /dev/mqueue
    $BB ln -sfn /proc/self/fd /dev/fd
    $BB ln -sf /proc/self/fd/0 /dev/stdin
    $BB ln -sf /proc/self/fd/1 /dev/stdout
    $BB ln -sf /proc/self/fd/2 /dev/stderr
    # cgroup_no_v1=all on the kernel command line: cgroup2 is the only hierarchy.
    $BB mount -t cgroup2 -o nosuid,nodev,noexec,nsdelegate,memory_recursiveprot cgroup2 /sys/fs/cgroup ||
        die "cannot mount cgroup2"
    for c in $($BB cat /sys/fs/cgroup/cgroup.controllers); do
        echo "+$c" >/sys/fs/cgroup/cgroup.subtree_control || log "cannot enable controller $c"
    done
    $BB ip link set lo up
    $BB hostname isoexec-vm
    export HOME=/root USER=root LOGNAME=root TERM=dumb LANG=C.UTF-8 ISOEXEC_IN_VM=1
    # config (written by run-in-vm.sh) sets VM_CWD and VM_CMD (a quoted command
    # line) and exports the -e variables.
    . $CTL/config
    log "running $VM_CMD"
    up >$CTL/started
    (cd "$VM_CWD" && eval "exec $VM_CMD") </dev/null >>$CTL/output 2>&1 &
    wait $!                   # as PID 1, ash also reaps re-parented orphans here
    rc=$?
    log "exit status $rc"
    echo $rc >$CTL/rc.tmp && $BB mv $CTL/rc.tmp $CTL/rc
    $BB sync
    $BB poweroff -f
}

if [ "$1" = stage2 ]; then stage2; else stage1; fi
EOF
chmod 755 "$R/init"

find "$R" -exec touch -h -d @0 {} +
(cd "$R" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet | gzip -n -6) >"$WORK/initrd"
mv -f "$WORK/kernel" "$KERNEL_OUT"
mv -f "$WORK/initrd" "$INITRD_OUT"
echo "$HASH" >"$STAMP"
# Drop artifacts of other kernel versions.
for f in "$CACHE"/vmlinux-* "$CACHE"/initrd-*.img "$CACHE"/stamp-*; do
    case $f in "$KERNEL_OUT" | "$INITRD_OUT" | "$STAMP") ;; *) rm -f "$f" ;; esac
done
log "built $KERNEL_OUT and $INITRD_OUT ($(wc -l <"$R/etc/modules") boot modules)"
result
