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
kroot_ok() { [ -s "$KROOT/.pkg" ] && [ -s "$KROOT/lib/modules/$1/modules.dep" ] && [ -e "$KROOT/boot/vmlinuz-$1" ]; }
# Fast path: the kroot is complete and no apt list changed since it was made,
# so the answer below cannot have changed either (apt-cache costs ~1 s).
if [ -s "$KROOT/.pkg" ] && [ -z "${ISOEXEC_VM_KPKG:-}" ]; then
    read -r HAVE _ <"$KROOT/.pkg"
    if kroot_ok "${HAVE#linux-image-}" &&
       [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -newer "$KROOT/.pkg" | head -1)" ]; then
        exit 0
    fi
fi
# "PKG VERSION" of the kernel image: linux-image-amd64 (the candidate) has
# "Depends: linux-image-6.1.0-57-amd64 (= 6.1.192-3)".
kpkg() {
    if [ -n "${ISOEXEC_VM_KPKG:-}" ]; then
        apt-cache show --no-all-versions "$ISOEXEC_VM_KPKG" 2>/dev/null |
            awk -v p="$ISOEXEC_VM_KPKG" '/^Version:/ { print p, $2; exit }'
        return
    fi
    apt-cache show --no-all-versions linux-image-amd64 2>/dev/null | awk '
        /^Depends:/ { if (match($0, /linux-image-[0-9][^ ,]*-amd64 \(= [^)]*\)/)) {
            split(substr($0, RSTART, RLENGTH), a, /[ ()=]+/); print a[1], a[2]; exit } }'
}
WANT=$(kpkg)
if [ -z "$WANT" ]; then apt_update; WANT=$(kpkg); fi
if [ -z "$WANT" ]; then
    if [ -s "$KROOT/.pkg" ]; then log "cannot resolve the kernel package; keeping $(cat "$KROOT/.pkg")"; exit 0; fi
    log "cannot resolve the kernel package behind linux-image-amd64"; exit 1
fi
KPKG=${WANT%% *}
KVER=${KPKG#linux-image-}
if [ "$(cat "$KROOT/.pkg" 2>/dev/null)" = "$WANT" ] && kroot_ok "$KVER"; then
    touch "$KROOT/.pkg"          # re-arm the fast path
    exit 0
fi

log "fetching $WANT into $KROOT"
WORK=$(mktemp -d "$CACHE/kroot-new.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
chmod 755 "$WORK"
# apt-get download drops privileges to _apt: let it write there.
if id _apt >/dev/null 2>&1; then chown _apt "$WORK"; fi
fetch() { (cd "$WORK" && apt-get download -qq "$KPKG" >&2); }
if ! fetch; then
    apt_update         # stale lists: the mirror may have a newer version by now
    WANT=$(kpkg); KPKG=${WANT%% *}; KVER=${KPKG#linux-image-}
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
