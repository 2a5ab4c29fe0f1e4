#!/usr/bin/env bash
# One process serving many drives to many peers at once (issue 13): `hyperdrive seed --all` over
# a store of N drives, and P readers at a time, each a new `hyperdrive cat --peer` process with
# its own empty store reading the one file of a random drive, in W waves. Prints the seed's
# thread count and memory (VmRSS now, VmHWM the peak) when idle, after each wave and at the end,
# the time of each wave, and checks every byte read. Ours only: the reference has no command
# that serves a whole store.
#   bash bench/serve_many.sh [--drives 1000] [--peers 50] [--waves 4] [--bin build/src/cli/hyperdrive]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
drives=1000 peers=50 waves=4 bin="$root/build/src/cli/hyperdrive"
while (($#)); do
  case "$1" in
    --drives) drives="$2"; shift ;;
    --peers) peers="$2"; shift ;;
    --waves) waves="$2"; shift ;;
    --bin) bin="$2"; shift ;;
    *) echo "usage: bash bench/serve_many.sh [--drives N] [--peers P] [--waves W] [--bin PATH]" >&2
       exit 2 ;;
  esac
  shift
done
tmp="$(mktemp -d)"
seed_pid=""
trap '[ -n "$seed_pid" ] && kill "$seed_pid" 2>/dev/null; rm -rf "$tmp"' EXIT

store="$tmp/store"
echo "making $drives drives..." >&2
mkdir -p "$tmp/src"
urls=()
for ((i = 0; i < drives; i++)); do
  echo "drive $i" > "$tmp/src/file.txt"
  urls+=("$("$bin" --storage "$store" import "$tmp/src" 2>/dev/null)")
done

# Every reader connects from 127.0.0.1: lift the per-address cap (8 by default) above them.
"$bin" --storage "$store" seed --all --listen 127.0.0.1:0 --max-per-address $((peers + 8)) \
  >"$tmp/seed.out" 2>"$tmp/seed.err" &
seed_pid=$!
for _ in $(seq 100); do grep -q "listening on" "$tmp/seed.out" && break; sleep 0.1; done
addr="$(sed -n 's/^listening on //p' "$tmp/seed.out")"
[ -n "$addr" ] || { echo "the seed did not start: $(cat "$tmp/seed.err")" >&2; exit 1; }

status() {  # threads, VmRSS, VmHWM of the seed
  awk '/^Threads:/ {t=$2} /^VmRSS:/ {r=$2} /^VmHWM:/ {h=$2}
       END {printf "threads %d  rss %.1f MiB  peak %.1f MiB", t, r/1024, h/1024}' \
    "/proc/$seed_pid/status"
}
echo "seed of $drives drives on $addr, idle: $(status)"
failures=0
for ((w = 1; w <= waves; w++)); do
  start=$(date +%s.%N)
  pids=()
  for ((p = 0; p < peers; p++)); do
    k=$((RANDOM * 32768 + RANDOM))
    k=$((k % drives))
    ( out="$("$bin" --storage "$tmp/r$w-$p" cat "${urls[$k]}/file.txt" --peer "$addr" \
              --timeout 30 2>"$tmp/r$w-$p.err")"
      [ "$out" = "drive $k" ] ) &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid" || failures=$((failures + 1)); done
  secs=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
  printf 'wave %d: %d readers at once in %s s; seed: %s\n' "$w" "$peers" "$secs" "$(status)"
  rm -rf "$tmp"/r$w-*
done
echo "end: $(status); $failures of $((peers * waves)) reads failed"
[ "$failures" -eq 0 ]
