#!/usr/bin/env bash
# The daemon's memory over time: our daemon on a fresh root, driven for a long time by the
# reference's own Node client with a steady mix of the calls users make
# (bench/node/daemon_soak.js: sessions on 16 drives, writes, reads checked against what was
# written, stat, readdir, mkdir/unlink, 1 MiB streams, watch, diff, checkouts, metadata,
# configureNetwork, listPeers). The daemon's resident memory is sampled every 10 s: all of it
# (VmRSS), its anonymous part (RssAnon: the heap and stacks, what a leak grows) and its file part
# (RssFile: the program, its libraries and the pages of the store's files it maps, which grow
# with the store and which the kernel takes back under pressure).
#   bash bench/daemon_soak.sh [--minutes M] [--rate OPS] [--out FILE] [--heaptrack FILE]
#     --minutes  how long the client runs (default 60: the issue's one-hour soak)
#     --rate     operations per second the client holds (default 40)
#     --out      the samples, one line "seconds rss_kib anon_kib file_kib ops" each
#                (default daemon-soak.tsv)
#     --heaptrack  run the daemon in the foreground under heaptrack, which writes its profile of
#                every allocation to FILE(.zst) when the daemon stops: `heaptrack_print FILE.zst`
#                then tells the heap's own peak and growth from the allocator's and kernel's
#                share of the RSS (fragmentation, arenas)
# At the end it prints, for the RSS and for its anonymous part: the value after the first 5
# minutes (the warm-up: caches fill), at the end, the peak, and the least-squares slope over the
# samples after the warm-up, in MiB per hour; it fails if the daemon died or the client saw a
# wrong byte or an unexpected error.
# The run is in a network namespace of its own (unshare -rn) when the kernel allows it; the
# daemon runs with --offline either way, so it contacts no other machine.
#   (HYPER_BUILD_DIR: the build folder, default build/; it must hold src/cli/hyperdrive)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
usage() {
  echo "usage: bash bench/daemon_soak.sh [--minutes M] [--rate OPS] [--out FILE] [--heaptrack FILE]" >&2
  exit 2
}
minutes=60
rate=40
out="$PWD/daemon-soak.tsv"
heaptrack_out=""
args=("$@")
while (($#)); do
  case "$1" in
    --minutes) [ $# -ge 2 ] || usage; minutes="$2"; shift ;;
    --rate) [ $# -ge 2 ] || usage; rate="$2"; shift ;;
    --out) [ $# -ge 2 ] || usage; out="$2"; shift ;;
    --heaptrack) [ $# -ge 2 ] || usage; heaptrack_out="$2"; shift ;;
    *) usage ;;
  esac
  shift
done
[[ "$minutes" =~ ^[1-9][0-9]*$ && "$rate" =~ ^[1-9][0-9]*$ ]] || {
  echo "daemon_soak.sh: --minutes and --rate take positive whole numbers" >&2
  exit 2
}
case "$out" in /*) ;; *) out="$PWD/$out" ;; esac
case "$heaptrack_out" in /* | "") ;; *) heaptrack_out="$PWD/$heaptrack_out" ;; esac
if [ -n "$heaptrack_out" ] && ! command -v heaptrack >/dev/null; then
  echo "daemon_soak.sh: --heaptrack needs heaptrack (apt-get install heaptrack)" >&2
  exit 2
fi
die() {
  echo "daemon_soak.sh: $*" >&2
  exit 1
}
hyperdrive="${HYPER_BUILD_DIR:-$root/build}/src/cli/hyperdrive"
interop="$root/tests/interop"
client="$root/bench/node/daemon_soak.js"
[ -x "$hyperdrive" ] || die "no $hyperdrive: build it first (bash scripts/setup.sh)"
[ -d "$interop/node_modules/hyperdrive-daemon-client" ] ||
  die "the Node client is not installed: HYPER_WITH_NODE=1 bash scripts/setup.sh"

if [ -z "${HYPER_SOAK_NETNS:-}" ]; then
  if command -v unshare >/dev/null && unshare -rn ip link set lo up 2>/dev/null; then
    export HYPER_SOAK_NETNS=1
    exec unshare -rn bash -c 'ip link set lo up && exec bash "$0" "$@"' "$0" "${args[@]}"
  fi
  export HYPER_SOAK_NETNS=0
fi

unset HYPERDRIVE_ENDPOINT HYPERDRIVE_TOKEN HYPERDRIVE_STORAGE
export HYPER_INTEROP_DIR="$interop"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/daemon-soak.XXXXXX")"
storage="$tmp/root"
client_pid=""
heaptrack_pid=""
cleanup() {
  set +e
  [ -n "$client_pid" ] && kill "$client_pid" 2>/dev/null
  timeout 30 "$hyperdrive" --storage "$storage" stop >/dev/null 2>&1
  # heaptrack writes its profile once the daemon has exited.
  [ -n "$heaptrack_pid" ] && wait "$heaptrack_pid"
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

daemon_args=(--storage "$storage" start --port 0 --offline --log-level warn)
if [ -n "$heaptrack_out" ]; then
  heaptrack -o "$heaptrack_out" "$hyperdrive" "${daemon_args[@]}" --foreground \
    >"$tmp/start.out" 2>&1 &
  heaptrack_pid=$!
  for _ in $(seq 180); do
    "$hyperdrive" --storage "$storage" status >/dev/null 2>&1 && break
    kill -0 "$heaptrack_pid" 2>/dev/null || die "our daemon did not start: $(cat "$tmp/start.out")"
    sleep 0.5
  done
  "$hyperdrive" --storage "$storage" status >/dev/null 2>&1 ||
    die "our daemon did not answer in 90 s: $(cat "$tmp/start.out")"
else
  timeout 90 "$hyperdrive" "${daemon_args[@]}" \
    >"$tmp/start.out" 2>&1 || die "our daemon did not start: $(cat "$tmp/start.out")"
fi
pid="$(cat "$storage/daemon.pid")"
echo "daemon_soak.sh: daemon pid $pid; $minutes min at $rate ops/s; samples in $out" >&2

node "$client" "$storage" "$((minutes * 60))" "$rate" >"$tmp/client.out" 2>"$tmp/client.err" &
client_pid=$!
: >"$out"
start=$SECONDS
while kill -0 "$client_pid" 2>/dev/null; do
  kill -0 "$pid" 2>/dev/null || die "the daemon died after $((SECONDS - start)) s"
  mem="$(awk '/^(VmRSS|RssAnon|RssFile):/ { printf "%s\t", $2 }' "/proc/$pid/status")"
  ops="$(tail -1 "$tmp/client.out" 2>/dev/null | sed -n 's/.*"ops":\([0-9]*\).*/\1/p')"
  printf '%s\t%s%s\n' "$((SECONDS - start))" "$mem" "${ops:-0}" >>"$out"
  sleep 10
done
rc=0
wait "$client_pid" || rc=$?
client_pid=""
((rc == 0)) || die "the client failed: $(tail -5 "$tmp/client.err")"
kill -0 "$pid" 2>/dev/null || die "the daemon died during the soak"
tail -1 "$tmp/client.out" | grep -q '"done":true' || die "the client ended early: $(tail -3 "$tmp/client.out")"
total_ops="$(tail -1 "$tmp/client.out" | sed -n 's/.*"ops":\([0-9]*\).*/\1/p')"
awk -v ops="$total_ops" -v minutes="$minutes" '
  { t[NR] = $1; for (c = 2; c <= 3; c++) { m[c, NR] = $c / 1024; if ($c / 1024 > peak[c]) peak[c] = $c / 1024 } }
  END {
    warm = 0
    for (i = 1; i <= NR; i++) if (!warm && (t[i] >= 300 || minutes < 10)) warm = i
    if (!warm) warm = 1
    printf "operations: %d in %d min\n", ops, minutes
    for (c = 2; c <= 3; c++) {
      n = 0; sx = 0; sy = 0; sxx = 0; sxy = 0
      for (i = warm; i <= NR; i++) { x = t[i] / 3600; n++; sx += x; sy += m[c, i]; sxx += x * x; sxy += x * m[c, i] }
      slope = (n > 1 && n * sxx - sx * sx > 0) ? (n * sxy - sx * sy) / (n * sxx - sx * sx) : 0
      name = c == 2 ? "rss (all)" : "rss (anonymous)"
      printf "%s: %.1f MiB after warm-up (t=%d s), %.1f MiB at the end (t=%d s), peak %.1f MiB, slope after warm-up %+.1f MiB/hour\n", name, m[c, warm], t[warm], m[c, NR], t[NR], peak[c], slope
    }
  }' "$out"
