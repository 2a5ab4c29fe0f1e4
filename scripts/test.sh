#!/usr/bin/env bash
# Runs every test: installs what is needed (Debian packages, the pinned Node reference), builds
# with clang 14 under AddressSanitizer and UndefinedBehaviorSanitizer and runs the whole suite;
# while it runs, compiles the product and the benchmarks with g++ (as the main job does) and runs
# clang-tidy (scripts/lint.sh), both at the lowest CPU priority so that they use the time the
# tests spend waiting (on sockets, on the Node reference) without slowing the tests down.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
jobs="$(nproc)"
step() { echo "== $* (at ${SECONDS}s)" >&2; }
# Line tables only (-DHYPER_DEBUG_LINES_ONLY=ON, see CMakeLists.txt): a third faster to build, and
# failures still print files and lines.
asan_args="-DCMAKE_CXX_COMPILER=clang++ -DHYPER_SANITIZE=ON -DHYPER_BENCH=OFF -DHYPER_DEBUG_LINES_ONLY=ON"

step "clang + ASan/UBSan build (and the Node reference)"
HYPER_WITH_TESTS=1 HYPER_BUILD_DIR="$root/build-asan" HYPER_CMAKE_ARGS="$asan_args" \
  "$root/scripts/setup.sh"

# In the background, at nice 19: the g++ build of what users run (the product and the benchmarks,
# as scripts/main.sh builds them), and clang-tidy over the library (it reads build-asan's
# compile_commands.json). That build is only compiled and linked here, never run, so it is built
# without optimization or debug information (-O0 compiles in two thirds of the time of -O2 -g1),
# in its own directory so that it never stands in for the optimized build/ of scripts/main.sh.
gcc_args="-DCMAKE_BUILD_TYPE=None -DCMAKE_CXX_FLAGS=-DNDEBUG"
side_log="$root/build-asan/side-jobs.log"
(
  set -e
  echo "== g++ build of the product and the benchmarks, unoptimized (at ${SECONDS}s)"
  HYPER_BUILD_DIR="$root/build-gcc" HYPER_CMAKE_ARGS="$gcc_args" nice -n 19 "$root/scripts/setup.sh"
  echo "== clang-tidy (at ${SECONDS}s)"
  nice -n 19 "$root/scripts/lint.sh"
  echo "== g++ build and clang-tidy done (at ${SECONDS}s)"
) > "$side_log" 2>&1 &
side_pid=$!

step "clang + ASan/UBSan tests (g++ build and clang-tidy beside them at nice 19)"
# Leaks in system libraries (gRPC's c-ares) are suppressed by name (scripts/lsan.supp), without
# LSan's report of the suppressions it used on stderr (a test comparing a command's stderr with
# and without gRPC in the process would see it); the variables reach the processes the tests
# start too.
tests_status=0
(cd "$root/build-asan" && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  LSAN_OPTIONS="suppressions=$root/scripts/lsan.supp:print_suppressions=0" \
  ctest --output-on-failure -j"$jobs" --timeout 900) || tests_status=$?

step "waiting for the g++ build and clang-tidy"
side_status=0
wait "$side_pid" || side_status=$?
cat "$side_log" >&2
if [ "$tests_status" -ne 0 ]; then
  echo "tests failed (ctest exit $tests_status)" >&2
fi
if [ "$side_status" -ne 0 ]; then
  echo "the g++ build or clang-tidy failed (exit $side_status; its output is above)" >&2
fi
if [ "$tests_status" -ne 0 ] || [ "$side_status" -ne 0 ]; then
  exit 1
fi
echo "all tests passed (${SECONDS}s)" >&2
