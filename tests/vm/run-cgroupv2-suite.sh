#!/usr/bin/env bash
# Runs the cgroup v2 subset of the integration suite and of the security suite (escape attempts,
# resource bombs), for real, in one throw-away VM booted with cgroup_no_v1=all (this host is
# hybrid, so v2 limit files cannot be exercised here).
# Usage: tests/vm/run-cgroupv2-suite.sh BUILD_DIR [GTEST_FILTER]
# The filter applies to both binaries (tests/isoexec_integration_tests and
# tests/isoexec_security_tests of BUILD_DIR); a binary it selects nothing from passes.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=$(realpath "${1:?usage: $0 BUILD_DIR [GTEST_FILTER]}")
FILTER=${2:-${ISOEXEC_V2_FILTER:-'CgroupV2*:CgroupBackend*:Limits*:Oom*:KillAll*:Stats*:Devices*:Isolation*:Escape*:Security*:Run.EchoInBusyboxRoot:Run.ExitCodesFollowTheContract:Run.PrivatePidNamespaceHasInitAsPid1'}}
OUT=$(mktemp -d /tmp/isoexec-vm-out.XXXXXX)
trap 'rm -rf "$OUT"' EXIT
# One boot for both binaries: cgroupv2-guest.sh checks the guest's layout and runs the
# integration binary; the security binary runs after it, with the same filter and cwd. Both
# scripts go into $OUT, which is shared: a checkout under /tmp or /run is hidden in the guest.
cp "$HERE/cgroupv2-guest.sh" "$OUT/cgroupv2-guest.sh"
cat >"$OUT/guest.sh" <<'EOF'
#!/bin/sh
BUILD=$1 FILTER=$2 OUT=$3
rc=0
"$OUT/cgroupv2-guest.sh" "$BUILD" "$FILTER" "$OUT" || rc=$?
if [ -x "$BUILD/tests/isoexec_security_tests" ]; then
  cd "$OUT" && "$BUILD/tests/isoexec_security_tests" --gtest_filter="$FILTER" --gtest_brief=0 2>&1 ||
    rc=$((rc ? rc : 1))
else
  echo "guest: $BUILD/tests/isoexec_security_tests is not built" >&2
  rc=$((rc ? rc : 1))
fi
exit "$rc"
EOF
chmod 755 "$OUT/guest.sh"
set +e
# The build dir is shared explicitly: the guest hides the host's /tmp and /run, where a CI
# clone may live.
"$HERE/run-in-vm.sh" -m 2G -t 1200 -s "$OUT" -s "$BUILD" "$OUT/guest.sh" "$BUILD" "$FILTER" "$OUT"
rc=$?
set -e
echo "cgroup v2 VM suite: exit $rc"
exit $rc
