#!/usr/bin/env bash
# Our Hyperdrive daemon and the reference's (hyperdrive-daemon 1.14.5, Node) side by side in one
# run, both driven by the reference's own Node client (hyperdrive-daemon-client 1.16.0) through
# the same script, bench/node/daemon_client_workload.js:
#   daemonWriteFile    N writeFile of 100 bytes, one after another         (ops/s)
#   daemonReadFile     N readFile of them                                  (ops/s)
#   daemonStat         N stat of them                                      (ops/s)
#   daemonWriteStream  one createWriteStream of M MiB into the drive       (MB/s)
#   daemonReadStream   one createReadStream of it back, checked by SHA-256 (MB/s)
# N is 2,000 and M 256 (--full: 10,000 and 1,024, the issue's 1 GiB). Each daemon starts on a
# fresh temporary root (ours: `hyperdrive start --port 0 --offline`; the reference: its index.js
# with --log-level warn, the heap its own launcher gives it, and a local dht-node as its only
# bootstrap), and both are stopped at the end, also on failure or Ctrl-C. Where the kernel allows
# it (unshare -rn) the whole run is in a network namespace of its own with only a loopback, so
# neither daemon can reach any other machine (the reference binds 0.0.0.0 and multicasts mDNS);
# HYPER_DAEMON_BENCH_NETNS=0 runs it in the machine's network instead.
# Prints one table (workload, ours, Node, ratio ours/Node: higher is better for us) and writes
# the figures, the configuration and the machine to a JSON file in the shape scripts/bench.sh
# merges.
#   bash bench/daemon_bench.sh [--full] [--files N] [--mib M] [--out FILE]
#     --out  where the JSON goes (default: daemon-bench-results.json in the current folder)
#   (HYPER_BUILD_DIR: the build folder, default build/; it must hold src/cli/hyperdrive)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
usage() {
  echo "usage: bash bench/daemon_bench.sh [--full] [--files N] [--mib M] [--out FILE]" >&2
  exit 2
}
files=2000
mib=256
out="$PWD/daemon-bench-results.json"
args=("$@")
while (($#)); do
  case "$1" in
    --full) files=10000; mib=1024 ;;
    --files) [ $# -ge 2 ] || usage; files="$2"; shift ;;
    --mib) [ $# -ge 2 ] || usage; mib="$2"; shift ;;
    --out) [ $# -ge 2 ] || usage; out="$2"; shift ;;
    *) usage ;;
  esac
  shift
done
[[ "$files" =~ ^[1-9][0-9]*$ && "$mib" =~ ^[1-9][0-9]*$ ]] || {
  echo "daemon_bench.sh: --files and --mib take positive whole numbers" >&2
  exit 2
}
case "$out" in /*) ;; *) out="$PWD/$out" ;; esac

die() {
  echo "daemon_bench.sh: $*" >&2
  exit 1
}
hyperdrive="${HYPER_BUILD_DIR:-$root/build}/src/cli/hyperdrive"
interop="$root/tests/interop"
reference="$interop/node_modules/hyperdrive-daemon/index.js"
workload="$root/bench/node/daemon_client_workload.js"
[ -x "$hyperdrive" ] || die "no $hyperdrive: build it first (bash scripts/setup.sh)"
command -v node >/dev/null || die "node is not installed"
[ -f "$reference" ] && [ -d "$interop/node_modules/hyperdrive-daemon-client" ] ||
  die "the Node reference daemon is not installed: HYPER_WITH_NODE=1 bash scripts/setup.sh"

# A network namespace of our own, with only a loopback, when the kernel lets us make one.
if [ -z "${HYPER_DAEMON_BENCH_NETNS:-}" ]; then
  if command -v unshare >/dev/null && command -v ip >/dev/null &&
    unshare -rn ip link set lo up 2>/dev/null; then
    export HYPER_DAEMON_BENCH_NETNS=1
    # unshare without --fork becomes the script (same process), so signals reach it.
    exec unshare -rn bash -c 'ip link set lo up && exec bash "$0" "$@"' "$0" "${args[@]}"
  fi
  echo "daemon_bench.sh: no network namespace here (unshare -rn); running in the machine's" \
    "network, the reference's DHT bootstrapped only from a local dht-node" >&2
  export HYPER_DAEMON_BENCH_NETNS=0
fi
if [ "$HYPER_DAEMON_BENCH_NETNS" = 1 ]; then
  network="a network namespace of its own (unshare -rn), loopback only"
else
  network="the machine's network; the reference's DHT bootstrapped from a local dht-node only"
fi

# The client must find each daemon through its root's config.json, as users' clients do.
unset HYPERDRIVE_ENDPOINT HYPERDRIVE_TOKEN HYPERDRIVE_STORAGE
export HYPER_INTEROP_DIR="$interop"

tmp="$(mktemp -d "${TMPDIR:-/tmp}/daemon-bench.XXXXXX")"
ours="$tmp/ours"
theirs="$tmp/node"
mkdir -p "$ours" "$theirs"
dht_pid=""
node_pid=""
child_pid=""

# Runs a command and waits for it as a background child: bash runs a trap only once its
# foreground command ends, but interrupts `wait` at once, so Ctrl-C or a TERM stops the run now.
run() {
  "$@" &
  child_pid=$!
  local rc=0
  wait "$child_pid" || rc=$?
  child_pid=""
  return "$rc"
}

# Ends process $1 (a child of this shell): SIGTERM, then SIGKILL after 15 s.
end_child() {
  local pid="$1"
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  (sleep 15 && kill -KILL "$pid" 2>/dev/null) &
  local watchdog=$!
  wait "$pid" 2>/dev/null || true
  kill "$watchdog" 2>/dev/null || true
  wait "$watchdog" 2>/dev/null || true
}
cleanup() {
  set +e
  [ -n "$child_pid" ] && end_child "$child_pid"
  if [ -f "$ours/daemon.pid" ] && ! timeout 30 "$hyperdrive" --storage "$ours" stop >/dev/null 2>&1; then
    local pid
    pid="$(cat "$ours/daemon.pid" 2>/dev/null)"
    if [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null; then
      echo "daemon_bench.sh: our daemon (pid $pid) did not stop; killing it" >&2
      kill -KILL "$pid"
    fi
  fi
  [ -n "$node_pid" ] && end_child "$node_pid"
  [ -n "$dht_pid" ] && end_child "$dht_pid"
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Waits up to $2 seconds for file $1 to hold a line matching $3 while process $4 lives.
wait_for_line() {
  local file="$1" seconds="$2" pattern="$3" pid="$4" i
  for ((i = 0; i < seconds * 10; i++)); do
    grep -q "$pattern" "$file" 2>/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}
# A free TCP port on this host (in this namespace).
free_port() {
  node -e "const s = require('net').createServer().listen(0, () => { console.log(s.address().port); s.close() })"
}
# CPU seconds (user + system) process $1 has used so far.
cpu_seconds() {
  # utime and stime, fields 14 and 15 (the command field has no spaces for these processes).
  awk -v tick="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / tick }' "/proc/$1/stat"
}
peak_rss_mib() {
  awk '/^VmHWM:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"
}

echo "== a local DHT bootstrap node for the reference's swarm" >&2
"$hyperdrive" dht-node --listen 127.0.0.1:0 >"$tmp/dht.out" 2>"$tmp/dht.err" &
dht_pid=$!
wait_for_line "$tmp/dht.out" 20 "dht-node listening on 127.0.0.1:" "$dht_pid" ||
  die "the local dht-node did not start: $(cat "$tmp/dht.err")"
bootstrap="$(sed -n 's/.*dht-node listening on \(127\.0\.0\.1:[0-9]*\).*/\1/p' "$tmp/dht.out" | head -1)"

echo "== our daemon on $ours" >&2
if ! run timeout 90 "$hyperdrive" --storage "$ours" start --port 0 --offline --log-level warn >"$tmp/start.out" 2>&1; then
  die "our daemon did not start: $(cat "$tmp/start.out")"
fi
ours_pid="$(cat "$ours/daemon.pid")"
run timeout 90 node "$workload" wait "$ours" 60 >/dev/null || die "our daemon does not answer"

echo "== the reference daemon (hyperdrive-daemon 1.14.5) on $theirs" >&2
port="$(free_port)"
# The heap its own launcher (pm2, through `hyperdrive start`) gives it.
node --max-old-space-size=4096 "$reference" --port "$port" --storage "$theirs" \
  --bootstrap "$bootstrap" --log-level warn >"$tmp/node-daemon.log" 2>&1 &
node_pid=$!
if ! run timeout 90 node "$workload" wait "$theirs" 60 >/dev/null || ! kill -0 "$node_pid" 2>/dev/null; then
  die "the reference daemon did not start; its log ends with:
$(tail -20 "$tmp/node-daemon.log")"
fi

# One side: the workload against the daemon of root $1 (pid $2), its figures to $3.
measure() {
  local storage="$1" pid="$2" json="$3" name="$4" before after
  echo "== the workload against $name: $files small files, a $mib MiB stream each way" >&2
  before="$(cpu_seconds "$pid")"
  run timeout 3600 node "$workload" run "$storage" "$files" "$mib" >"$json" ||
    die "the workload against $name failed"
  kill -0 "$pid" 2>/dev/null || die "$name exited during the workload"
  after="$(cpu_seconds "$pid")"
  echo "{\"cpuSeconds\": $(awk -v a="$after" -v b="$before" 'BEGIN { printf "%.2f", a - b }'), \"peakRssMiB\": $(peak_rss_mib "$pid")}" >"$json.proc"
}
measure "$ours" "$ours_pid" "$tmp/ours.json" "our daemon"
measure "$theirs" "$node_pid" "$tmp/node.json" "the reference daemon"

ours_version="$("$hyperdrive" --version 2>/dev/null | head -1 || true)"
config="$(node -e '
  const fs = require("fs")
  const [files, mib, network, version, oursProc, nodeProc] = process.argv.slice(1)
  console.log(JSON.stringify({
    files: +files, smallFileBytes: 100, streamMiB: +mib, network,
    ours: { binary: version, start: "hyperdrive start --port 0 --offline --log-level warn" },
    node: { daemon: "hyperdrive-daemon 1.14.5", node: process.version,
            start: "node --max-old-space-size=4096 index.js --port P --storage DIR --bootstrap LOCAL --log-level warn" },
    client: "hyperdrive-daemon-client 1.16.0",
    daemonProcess: { ours: JSON.parse(fs.readFileSync(oursProc)), node: JSON.parse(fs.readFileSync(nodeProc)) }
  }))' "$files" "$mib" "$network" "$ours_version" "$tmp/ours.json.proc" "$tmp/node.json.proc")"
echo
node "$root/bench/node/daemon_compare.js" "$tmp/ours.json" "$tmp/node.json" "$out" "$config"
