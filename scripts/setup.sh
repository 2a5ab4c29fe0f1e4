#!/usr/bin/env bash
# Installs what the project needs on Debian 12 (idempotent: fast when all is there) and builds it.
#   scripts/setup.sh            build with g++ into build/
#   HYPER_WITH_TESTS=1 ...      also build the tests and install the Node reference they use
#   HYPER_WITH_NODE=1 ...       install the Node reference without building the tests (benchmarks)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# Installed without the packages they only recommend (fonts, X, mesa, boost, perl modules: half
# of the download); what the build and tests use is named here: python3 (lint.sh), llvm-14
# (llvm-symbolizer, for the sanitizers' stack traces), lld (the linker; see CMakeLists.txt);
# grpc++ and protobuf (with protoc and its gRPC plugin) for the daemon's API (src/daemon).
# curl, chromium and ffmpeg: the HTTP gateway's end-to-end tests (tests/cli/gateway_*_test.cc).
# libfuse3-dev and fuse3 (fusermount3): the daemon's FUSE mount (src/fuse). nftables: packet loss
# in the namespaces of the network benchmarks (bench/utp_loss.sh). rsync and attr (setfattr,
# getfattr): the FUSE tests use them as a user would (tests/cli/fuse_cli_test.cc).
packages=(build-essential cmake ninja-build pkg-config git python3
  libsodium-dev nlohmann-json3-dev libcli11-dev libfmt-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  clang clang-tidy clang-format libclang-rt-14-dev llvm-14 lld
  nodejs npm libasio-dev libleveldb-dev curl chromium ffmpeg
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc
  libfuse3-dev fuse3 nftables rsync attr)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# node and npm may come from elsewhere than Debian (nodesource, nvm): any working node >= 18 will do.
if command -v node >/dev/null && command -v npm >/dev/null; then
  missing=("${missing[@]/nodejs/}"); missing=("${missing[@]/npm/}")
fi
missing=($(printf '%s\n' "${missing[@]}" | grep -v '^$' || true))
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  if [ "$(id -u)" -ne 0 ]; then sudo=sudo; else sudo=; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi

# /dev/fuse for every user, as the fuse3 package's udev rule makes it (a container has no udev,
# and leaves it root's alone): a user's daemon mounts through fusermount3 without sudo, and the
# FUSE tests run one as a user who is not root (tests/cli/fuse_cli_test.cc).
if [ -c /dev/fuse ] && [ "$(stat -c %a /dev/fuse)" != 666 ] && [ "$(id -u)" -eq 0 ]; then
  chmod 666 /dev/fuse || echo "setup: could not chmod 666 /dev/fuse" >&2
fi

npm_pid=
if [ "${HYPER_WITH_TESTS:-0}" = 1 ] || [ "${HYPER_WITH_NODE:-0}" = 1 ]; then
  # The Node reference, pinned by tests/interop/package-lock.json (with the noise-protocol override).
  # npm mostly waits on the network, so it runs while the build below compiles.
  interop="$root/tests/interop"
  stamp="$interop/node_modules/.installed-lock"
  if ! cmp -s "$interop/package-lock.json" "$stamp" 2>/dev/null; then
    echo "setup: installing the Node reference (npm ci, beside the build)" >&2
    (cd "$interop" && npm ci --no-audit --no-fund --loglevel=error >/dev/null &&
      cp package-lock.json "$stamp") &
    npm_pid=$!
  fi
fi

build="${HYPER_BUILD_DIR:-$root/build}"
tests=OFF
[ "${HYPER_WITH_TESTS:-0}" = 1 ] && tests=ON
build_status=0
{ cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHYPER_TESTS="$tests" \
    ${HYPER_CMAKE_ARGS:-} >/dev/null &&
  cmake --build "$build" -j"$(nproc)"; } || build_status=$?
if [ -n "$npm_pid" ] && ! wait "$npm_pid"; then
  echo "setup: npm ci failed in tests/interop" >&2
  exit 1
fi
exit "$build_status"
