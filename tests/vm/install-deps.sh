#!/bin/bash
# install-deps.sh - install what tests/vm/ needs (idempotent; run as root).
#
#   * Debian packages: qemu-system-x86 busybox-static cpio kmod xz-utils
#   * the guest kernel, WITHOUT installing a kernel package: the
#     linux-image-6.1.*-amd64 package that linux-image-amd64 depends on is
#     fetched with "apt-get download" and unpacked with "dpkg-deb -x" into
#     $ISOEXEC_VM_CACHE/kroot (default /var/cache/isoexec-vmtest/kroot), then
#     "depmod -b" is run there.  (Installing linux-image-amd64 would run
#     update-initramfs, ~4 min here, for an initrd we never use.)
#
# A second run only checks dpkg's status and the kroot stamp (< 1 s).
# Environment:
#   ISOEXEC_VM_CACHE   cache dir (default /var/cache/isoexec-vmtest)
#   ISOEXEC_VM_KPKG    kernel package to unpack (default: what linux-image-amd64
#                      depends on, e.g. linux-image-6.1.0-57-amd64)
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive LC_ALL=C

CACHE=${ISOEXEC_VM_CACHE:-/var/cache/isoexec-vmtest}
PKGS=(qemu-system-x86 busybox-static cpio kmod xz-utils)
log() { echo "install-deps: $*" >&2; }

[ "$(id -u)" = 0 ] || { log "must run as root"; exit 1; }
mkdir -p "$CACHE"
# Serialise concurrent callers (parallel CI jobs, run-in-vm.sh on a fresh box).
exec 9>"$CACHE/.install.lock"
flock 9

UPDATED=0
apt_update() {
    [ $UPDATED = 1 ] && return 0
    log "apt-get update"
    apt-get update -qq >&2
    UPDATED=1
}

# ------------------------------------------------------------ packages
missing=()
for p in "${PKGS[@]}"; do
    dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null | grep -qx installed || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]}"
    if ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2; then
        apt_update
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
    fi
fi

# ------------------------------------------------------------ guest kernel
KROOT=$CACHE/kroot
kpkg_name() {
    if [ -n "${ISOEXEC_VM_KPKG:-}" ]; then echo "$ISOEXEC_VM_KPKG"; return; fi
    # "Depends: linux-image-6.1.0-57-amd64" of the candidate linux-image-amd64
    apt-cache depends linux-image-amd64 2>/dev/null |
        awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }'
}
KPKG=$(kpkg_name)
if [ -z "$KPKG" ]; then apt_update; KPKG=$(kpkg_name); fi
if [ -z "$KPKG" ]; then
    if [ -s "$KROOT/.pkg" ]; then
        log "cannot resolve the kernel package; keeping $(cat "$KROOT/.pkg")"; exit 0
    fi
    log "cannot resolve the kernel package behind linux-image-amd64"; exit 1
fi
KVER=${KPKG#linux-image-}
KPKGVER=$(apt-cache show --no-all-versions "$KPKG" 2>/dev/null | awk '/^Version:/ { print $2; exit }')
WANT="$KPKG $KPKGVER"

if [ "$(cat "$KROOT/.pkg" 2>/dev/null)" = "$WANT" ] && [ -s "$KROOT/lib/modules/$KVER/modules.dep" ] &&
   [ -e "$KROOT/boot/vmlinuz-$KVER" ]; then
    exit 0          # up to date
fi

log "fetching $KPKG $KPKGVER into $KROOT"
WORK=$(mktemp -d "$CACHE/kroot-new.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
chmod 755 "$WORK"
# apt-get download drops privileges to _apt: let it write there.
if id _apt >/dev/null 2>&1; then chown _apt "$WORK"; fi
fetch() { (cd "$WORK" && apt-get download -qq "$KPKG" >&2); }
if ! fetch; then
    apt_update
    KPKGVER=$(apt-cache show --no-all-versions "$KPKG" 2>/dev/null | awk '/^Version:/ { print $2; exit }')
    WANT="$KPKG $KPKGVER"
    fetch || {
        if [ -s "$KROOT/.pkg" ]; then log "download failed; keeping $(cat "$KROOT/.pkg")"; exit 0; fi
        log "apt-get download $KPKG failed"; exit 1
    }
fi
mkdir "$WORK/root"
dpkg-deb -x "$WORK"/*.deb "$WORK/root"
rm -f "$WORK"/*.deb
[ -e "$WORK/root/boot/vmlinuz-$KVER" ] || { log "$KPKG has no /boot/vmlinuz-$KVER"; exit 1; }
depmod -b "$WORK/root" "$KVER"
echo "$WANT" >"$WORK/root/.pkg"
# Swap in atomically-ish: the old tree is removed only after the new is in place.
if [ -e "$KROOT" ]; then mv "$KROOT" "$WORK/old"; fi
mv "$WORK/root" "$KROOT"
log "kernel $KVER ready in $KROOT ($(du -sh "$KROOT" | cut -f1))"
