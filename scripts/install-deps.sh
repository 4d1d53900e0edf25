#!/usr/bin/env bash
# Installs everything isoexec's build, tests and demo need on Debian 12. Idempotent: packages
# already present are not touched and apt is not even updated.
set -euo pipefail

PKGS=(
  build-essential cmake ninja-build pkg-config git
  libseccomp-dev libcap-dev libcli11-dev nlohmann-json3-dev libfmt-dev libspdlog-dev
  libexpected-dev libgtest-dev libgmock-dev libbenchmark-dev
  busybox-static iproute2 procps util-linux
)
# The Nomad executor service (isoexec-executor) and its tests.
PKGS+=(libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler)
# Fuzzing (scripts/fuzz.sh, the `fuzz` preset): clang 14, libclang-rt-14-dev (libFuzzer and
# clang's ASan/UBSan runtimes: libclang_rt.fuzzer-x86_64.a), llvm (llvm-symbolizer, for stack
# traces with file:line). The `tsan` preset needs only g++ (libtsan2 comes with it).
PKGS+=(clang libclang-rt-14-dev llvm)
for arg in "$@"; do
  case "$arg" in
    --bench) PKGS+=(crun runc bubblewrap hyperfine gnuplot-nox strace) ;;
    --dev) PKGS+=(clang-format clang-tidy) ;;
  esac
done

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: missing packages (${missing[*]}); run as root" >&2
    exit 1
  fi
  echo "install-deps: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
