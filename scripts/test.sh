#!/usr/bin/env bash
# Runs every test: installs what is needed (Debian packages, the pinned Node reference), builds
# with g++ and runs the suite, then builds with clang 14 under AddressSanitizer and
# UndefinedBehaviorSanitizer and runs the suite again; then clang-tidy (scripts/lint.sh).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
jobs="$(nproc)"
step() { echo "== $* (at ${SECONDS}s)" >&2; }
# Line tables only (-DHYPER_DEBUG_LINES_ONLY=ON, see CMakeLists.txt): a third faster to build, and
# failures still print files and lines.
asan_args="-DCMAKE_CXX_COMPILER=clang++ -DHYPER_SANITIZE=ON -DHYPER_BENCH=OFF -DHYPER_DEBUG_LINES_ONLY=ON"

step "g++ build"
HYPER_WITH_TESTS=1 HYPER_CMAKE_ARGS="-DHYPER_DEBUG_LINES_ONLY=ON" "$root/scripts/setup.sh"

step "g++ tests"
(cd "$root/build" && ctest --output-on-failure -j"$jobs" --timeout 900)

step "clang + ASan/UBSan build"
HYPER_BUILD_DIR="$root/build-asan" HYPER_CMAKE_ARGS="$asan_args" "$root/scripts/setup.sh"
step "clang + ASan/UBSan tests"
# Leaks in system libraries (gRPC's c-ares) are suppressed by name (scripts/lsan.supp), without
# LSan's report of the suppressions it used on stderr (a test comparing a command's stderr with
# and without gRPC in the process would see it); the variables reach the processes the tests
# start too.
(cd "$root/build-asan" && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  LSAN_OPTIONS="suppressions=$root/scripts/lsan.supp:print_suppressions=0" \
  ctest --output-on-failure -j"$jobs" --timeout 900)

step "clang-tidy"
"$root/scripts/lint.sh"
echo "all tests passed (${SECONDS}s)" >&2
