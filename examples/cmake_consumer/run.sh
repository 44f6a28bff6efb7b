#!/bin/bash
# Installs portsig with CMake into a temporary prefix, then builds this
# project against it twice, as a host program would: with
# find_package(portsig) (ctest runs shutdown_check on both backends) and
# with pkg-config (portsig.pc). Exits non-zero on any failure.
#
# PORTSIG_BUILD_DIR: an already configured and built portsig CMake build
# tree to install from (CI passes the one it tested); otherwise portsig is
# configured and built here, without its tests. Extra arguments go to
# portsig's configure step.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
# shellcheck source=../../third_party/debian/ensure_packages.sh
source "$root/third_party/debian/ensure_packages.sh"
ensure_packages cmake make g++ pkg-config libabsl-dev libgtest-dev
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
jobs="$(nproc)"

build="${PORTSIG_BUILD_DIR:-}"
if [[ -z "$build" ]]; then
  build="$work/portsig"
  cmake -S "$root" -B "$build" -DPORTSIG_BUILD_TESTS=OFF "$@"
  cmake --build "$build" -j "$jobs"
fi
prefix="$work/prefix"
cmake --install "$build" --prefix "$prefix"

echo "run.sh: find_package(portsig)"
cmake -S "$here" -B "$work/consumer" -DCMAKE_PREFIX_PATH="$prefix"
cmake --build "$work/consumer" -j "$jobs"
ctest --test-dir "$work/consumer" --output-on-failure

echo "run.sh: pkg-config portsig"
pc="$(dirname "$(find "$prefix" -name portsig.pc | head -n 1)")"
read -r -a flags <<<"$(PKG_CONFIG_PATH="$pc" pkg-config --cflags --libs portsig)"
"${CXX:-c++}" "$here/shutdown_check.cc" "${flags[@]}" -o "$work/shutdown_check_pc"
output="$("$work/shutdown_check_pc")"
echo "$output"
[[ "$output" == "shutdown_check: PASS "* ]]

echo "run.sh: PASS"
