#!/bin/sh
# Runs inside the pure cgroup v2 guest: checks the layout, then the v2 subset of the suite.
set -eu
BUILD=$1 FILTER=$2 OUT=$3
if grep -q ' - cgroup ' /proc/self/mountinfo || ! grep -q ' - cgroup2 ' /proc/self/mountinfo; then
  echo "guest is not pure cgroup v2" >&2
  exit 1
fi
echo "guest: $(uname -r), cgroup2 controllers: $(cat /sys/fs/cgroup/cgroup.controllers)"
cd "$OUT"
"$BUILD/tests/isoexec_integration_tests" --gtest_filter="$FILTER" --gtest_brief=0 2>&1
