#!/usr/bin/env bash
# Every side-by-side benchmark of docs/performance.md in one run, ours and the pinned Node
# reference on the same workloads: 1-7 (bench/drive_workloads), 8-9 (bench/replication_workloads),
# 10 (drive_workloads --large-drive, ours only), 11-13 (bench/node/cli_big_files.js: cat, import
# and export of big files through the `hyperdrive` command, each a new process), 14
# (bench/node/remote_stat.js: a remote stat of a random path of a 20,000-file drive, 100,000
# with --full, over a fresh connection through a 50 ms link, both readers against both seeds),
# 15-19 (bench/daemon_bench.sh: small writeFile / readFile / stat and a 256 MiB stream each way,
# 10,000 files and 1 GiB with --full, through the reference's Node client against our daemon and
# against hyperdrive-daemon 1.14.5). Prints one table (both figures, our ratio, the
# goal and whether this run met it) and writes every figure with the configuration and the
# machine to one JSON file.
#   bash scripts/bench.sh [--full] [--out FILE]
#     --full   the issue's sizes (100,000 stats, 1 GiB files, a 1,000,000-file drive; 2-3 min on
#              2 cores once built, plus the daemon's workloads); without it, smaller sizes
#     --out    where the JSON goes (default: bench-results.json in the current folder)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
full=()
large=100000
remote_files=20000
out="$PWD/bench-results.json"
while (($#)); do
  case "$1" in
    --full) full=(--full); large=1000000; remote_files=100000 ;;
    --out) [ $# -ge 2 ] || { echo "bench.sh: --out needs a file" >&2; exit 2; }; out="$2"; shift ;;
    *) echo "usage: bash scripts/bench.sh [--full] [--out FILE]" >&2; exit 2 ;;
  esac
  shift
done

# The build (benchmarks are on by default) and the Node reference they compare with.
HYPER_WITH_NODE=1 bash "$root/scripts/setup.sh" >&2
bench="${HYPER_BUILD_DIR:-$root/build}/bench"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

echo "== workloads 1-7: drive operations" >&2
"$bench/drive_workloads" "${full[@]}" --out "$tmp/drive.json"
echo "== workloads 8-9: replication over TCP on 127.0.0.1" >&2
"$bench/replication_workloads" "${full[@]}" --out "$tmp/replication.json"
echo "== workload 10: a drive of $large files" >&2
"$bench/drive_workloads" --large-drive "$large" >"$tmp/large.json"

echo "== workloads 11-13: big files through the command line, new processes" >&2
HYPER_INTEROP_DIR="$root/tests/interop" node "$root/bench/node/cli_big_files.js" \
  "${HYPER_BUILD_DIR:-$root/build}/src/cli/hyperdrive" "${full[@]}" --out "$tmp/big.json" >&2

echo "== workload 14: a remote stat of a random path over a fresh connection, 50 ms round trips" >&2
HYPER_INTEROP_DIR="$root/tests/interop" node "$root/bench/node/remote_stat.js" \
  "${HYPER_BUILD_DIR:-$root/build}/src/cli/hyperdrive" --files "$remote_files" --rtt 50 \
  --out "$tmp/remote.json" >&2

echo "== workloads 15-19: the daemon, ours and hyperdrive-daemon 1.14.5, through the Node client" >&2
bash "$root/bench/daemon_bench.sh" "${full[@]}" --out "$tmp/daemon.json" >&2

echo "== rename of a directory of 100,000 files (ours only: the reference has no rename)" >&2
"$bench/rename_bench" --entries 100000 >&2
echo "== gc of a drive of 10,000 files / 1 GiB overwritten once (ours only: the reference has no gc)" >&2
"$bench/gc_bench" --files 10000 --mib 1024 >&2
"$bench/gc_bench" --files 10000 --mib 1024 --every 2 >&2

echo "== replication of a drive sharing 90 % of its content with one held, with and without deduplication (ours only)" >&2
"$bench/dedup_wire_bench" --mib "$([ ${#full[@]} -gt 0 ] && echo 1024 || echo 64)" >&2
echo "== import of a folder of 90 % copies, with and without deduplication (ours only)" >&2
bash "$root/bench/dedup_import.sh" --bin "${HYPER_BUILD_DIR:-$root/build}/src/cli/hyperdrive" >&2

node "$root/bench/node/report.js" "$out" "$tmp/drive.json" "$tmp/replication.json" "$tmp/large.json" \
  "$tmp/big.json" "$tmp/remote.json" "$tmp/daemon.json"
