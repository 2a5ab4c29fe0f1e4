#!/usr/bin/env bash
# Discovery by key alone, side by side with the Node stack on one local testnet (issue 14): a DHT
# bootstrap node (`hyperdrive dht-node` on 127.0.0.1), a seed announcing a drive of one small file
# and one big file (100 MiB by default), then readers that know only the key and the bootstrap,
# each a new process with an empty store:
#   first byte: ours `hyperdrive cat hyper://KEY/small.txt --bootstrap B`, against Node
#               (tests/interop/scripts/swarm_peer.js read: hyperswarm join + hyperdrive readFile);
#   full sync:  ours `hyperdrive sync hyper://KEY --bootstrap B`, against Node (join, then every file
#               read whole through createReadStream: all the content travels).
# Run against our seed, then against a Node hyperswarm seed of a drive of the same shape.
# Prints wall times (process start to exit, the median of --runs) and the ratio Node / ours.
#   bash bench/swarm_first_byte.sh [--size-mib 100] [--runs 3] [--bin build/src/cli/hyperdrive]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
size=100 runs=3 bin="$root/build/src/cli/hyperdrive"
while (($#)); do
  case "$1" in
    --size-mib) size="$2"; shift ;;
    --runs) runs="$2"; shift ;;
    --bin) bin="$2"; shift ;;
    *) echo "usage: bash bench/swarm_first_byte.sh [--size-mib N] [--runs R] [--bin PATH]" >&2
       exit 2 ;;
  esac
  shift
done
script="$root/tests/interop/scripts/swarm_peer.js"
[ -d "$root/tests/interop/node_modules/hyperswarm" ] ||
  { echo "the Node reference is not installed: run scripts/test.sh first" >&2; exit 1; }
tmp="$(mktemp -d)"
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$tmp"' EXIT
export HYPERDRIVE_BOOTSTRAP=""  # nothing but the local testnet, whatever the caller's environment

"$bin" dht-node --listen 127.0.0.1:0 >"$tmp/dht.out" 2>&1 &
pids+=($!)
for _ in $(seq 100); do grep -q "listening on" "$tmp/dht.out" && break; sleep 0.05; done
boot="$(sed -n 's/^dht-node listening on //p' "$tmp/dht.out")"
[ -n "$boot" ] || { echo "dht-node did not start" >&2; exit 1; }

mkdir -p "$tmp/folder"
echo "the first byte" >"$tmp/folder/small.txt"
head -c $((size * 1024 * 1024)) /dev/urandom >"$tmp/folder/big.bin"
url="$("$bin" --storage "$tmp/ours" import "$tmp/folder")"
key="${url#hyper://}"
echo "drive $url: small.txt + big.bin ($size MiB); bootstrap $boot"

now_ms() { date +%s%3N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
run_ms() {  # the wall time of a command, in ms; the command must succeed
  local start end
  start=$(now_ms)
  "$@" >"$tmp/last.out" 2>"$tmp/last.err" || { echo "failed: $* ($(cat "$tmp/last.err"))" >&2; exit 1; }
  end=$(now_ms)
  echo $((end - start))
}
measure() {  # label; prints the four medians
  local ours_first=() node_first=() ours_sync=() node_sync=() i
  for ((i = 0; i < runs; i++)); do
    ours_first+=("$(run_ms "$bin" --storage "$tmp/r-$1-$i-a" cat "$url/small.txt" --bootstrap "$boot")")
    grep -q "the first byte" "$tmp/last.out" || { echo "ours read wrong bytes" >&2; exit 1; }
    node_first+=("$(run_ms node "$script" "{\"role\":\"read\",\"dir\":\"$tmp/n-$1-$i-a\",\"key\":\"$key\",\"bootstrap\":[\"$boot\"],\"paths\":[\"/small.txt\"],\"lifetime\":120000}")")
    ours_sync+=("$(run_ms "$bin" --storage "$tmp/r-$1-$i-b" sync "$url" --bootstrap "$boot" --timeout 60)")
    if [ "$check_big" = bytes ]; then
      cmp -s "$tmp/folder/big.bin" <("$bin" --storage "$tmp/r-$1-$i-b" cat "$url/big.bin" --offline) ||
        { echo "ours synced wrong bytes" >&2; exit 1; }
    else
      [ "$("$bin" --storage "$tmp/r-$1-$i-b" cat "$url/big.bin" --offline | wc -c)" = $((size * 1024 * 1024)) ] ||
        { echo "ours synced a wrong size" >&2; exit 1; }
    fi
    node_sync+=("$(run_ms node "$script" "{\"role\":\"read\",\"dir\":\"$tmp/n-$1-$i-b\",\"key\":\"$key\",\"bootstrap\":[\"$boot\"],\"download\":true,\"paths\":[],\"lifetime\":300000}")")
    grep -q "\"downloadedBytes\":$((size * 1024 * 1024 + 15))" "$tmp/last.out" ||
      { echo "Node did not read every byte: $(cat "$tmp/last.out")" >&2; exit 1; }
    rm -rf "$tmp/r-$1-$i-"* "$tmp/n-$1-$i-"*
  done
  local of nf os ns
  of=$(printf '%s\n' "${ours_first[@]}" | median); nf=$(printf '%s\n' "${node_first[@]}" | median)
  os=$(printf '%s\n' "${ours_sync[@]}" | median); ns=$(printf '%s\n' "${node_sync[@]}" | median)
  printf '%-12s first byte: ours %5d ms  node %5d ms  (%.1fx)   full sync %d MiB: ours %6d ms  node %6d ms  (%.1fx)\n' \
    "$1" "$of" "$nf" "$(echo "$nf / $of" | bc -l)" "$size" "$os" "$ns" "$(echo "$ns / $os" | bc -l)"
}

# 1. Our seed.
check_big=bytes
"$bin" --storage "$tmp/ours" seed "$url" --listen 127.0.0.2:0 --bootstrap "$boot" >"$tmp/seed.out" 2>&1 &
seed=$!
pids+=("$seed")
for _ in $(seq 100); do grep -q "announcing" "$tmp/seed.out" && break; sleep 0.05; done
measure "our seed"
kill "$seed"; wait "$seed" 2>/dev/null || true

# 2. A Node hyperswarm seed of a drive of the same shape (its own key; big.bin is Node's
# generated bytes, checked by size).
node "$script" "{\"role\":\"seed\",\"dir\":\"$tmp/nodeseed\",\"bootstrap\":[\"$boot\"],\"files\":[{\"path\":\"/small.txt\",\"data\":{\"text\":\"the first byte\\n\"}},{\"path\":\"/big.bin\",\"data\":{\"seed\":1,\"size\":$((size * 1024 * 1024))}}],\"infofile\":\"$tmp/nodeseed.json\",\"stopfile\":\"$tmp/stop\",\"lifetime\":3600000}" \
  >"$tmp/nodeseed.out" 2>&1 &
pids+=($!)
for _ in $(seq 600); do [ -f "$tmp/nodeseed.json" ] && break; sleep 0.1; done
[ -f "$tmp/nodeseed.json" ] || { echo "the Node seed did not start: $(cat "$tmp/nodeseed.out")" >&2; exit 1; }
key="$(node -e "console.log(require('$tmp/nodeseed.json').key)")"
url="hyper://$key"
check_big=size
measure "Node seed"
touch "$tmp/stop"
