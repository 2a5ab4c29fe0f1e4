#!/usr/bin/env bash
# Runs every test: installs what is needed (Debian packages, the pinned Node reference), builds
# with g++ and runs the suite, then builds with clang 14 under AddressSanitizer and
# UndefinedBehaviorSanitizer and runs the suite again.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
jobs="$(nproc)"

echo "== g++ build and tests" >&2
# Line tables only (-DHYPER_DEBUG_LINES_ONLY=ON, see CMakeLists.txt): a third faster to build, and
# failures still print files and lines.
HYPER_WITH_TESTS=1 HYPER_CMAKE_ARGS="-DHYPER_DEBUG_LINES_ONLY=ON" "$root/scripts/setup.sh"
(cd "$root/build" && ctest --output-on-failure -j"$jobs" --timeout 900)

echo "== clang + ASan/UBSan build and tests" >&2
HYPER_BUILD_DIR="$root/build-asan" \
  HYPER_CMAKE_ARGS="-DCMAKE_CXX_COMPILER=clang++ -DHYPER_SANITIZE=ON -DHYPER_BENCH=OFF -DHYPER_DEBUG_LINES_ONLY=ON" \
  "$root/scripts/setup.sh"
(cd "$root/build-asan" && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --output-on-failure -j"$jobs" --timeout 900)

echo "== clang-tidy" >&2
"$root/scripts/lint.sh"
echo "all tests passed" >&2
