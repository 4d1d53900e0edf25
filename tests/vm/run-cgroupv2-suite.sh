#!/usr/bin/env bash
# Runs the cgroup v2 subset of the integration suite, for real, in a throw-away VM booted with
# cgroup_no_v1=all (this host is hybrid, so v2 limit files cannot be exercised here).
# Usage: tests/vm/run-cgroupv2-suite.sh BUILD_DIR [GTEST_FILTER]
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=$(realpath "${1:?usage: $0 BUILD_DIR [GTEST_FILTER]}")
FILTER=${2:-${ISOEXEC_V2_FILTER:-'CgroupV2*:CgroupBackend*:Limits*:Oom*:KillAll*:Stats*:Devices*:Isolation*:Escape*:Run.EchoInBusyboxRoot:Run.ExitCodesFollowTheContract:Run.PrivatePidNamespaceHasInitAsPid1'}}
OUT=$(mktemp -d /tmp/isoexec-vm-out.XXXXXX)
trap 'rm -rf "$OUT"' EXIT
set +e
# The build dir is shared explicitly: the guest hides the host's /tmp and /run, where a CI
# clone may live.
"$HERE/run-in-vm.sh" -m 2G -t 1200 -s "$OUT" -s "$BUILD" "$HERE/cgroupv2-guest.sh" "$BUILD" "$FILTER" "$OUT"
rc=$?
set -e
echo "cgroup v2 VM suite: exit $rc"
exit $rc
