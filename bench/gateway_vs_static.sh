#!/usr/bin/env bash
# The HTTP gateway (issue 19) against a plain static file server on the same machine, in the same
# run: a file of random bytes imported into a local drive and served by `hyperdrive serve
# --offline`, and the same file on disk served by `python3 -m http.server`; each downloaded with
# curl --runs times in a row (the first run of the gateway reads every block for the first time
# in its process and checks it). Prints each run, the best of each and their ratio. Then 1,000
# requests of 20 small files of the drive, 300 at a time, over the gateway: all must answer 200;
# prints the requests per second and the p50 and p99 times.
#   bash bench/gateway_vs_static.sh [--size-mib 1024] [--runs 3] [--bin build/src/cli/hyperdrive]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
size_mib=1024 runs=3 bin="${HYPER_BUILD_DIR:-$root/build}/src/cli/hyperdrive"
usage() {
  echo "usage: bash bench/gateway_vs_static.sh [--size-mib N] [--runs R] [--bin PATH]" >&2
  exit 2
}
while (($#)); do
  case "$1" in
    --size-mib) [ $# -ge 2 ] || usage; size_mib="$2"; shift ;;
    --runs) [ $# -ge 2 ] || usage; runs="$2"; shift ;;
    --bin) [ $# -ge 2 ] || usage; bin="$2"; shift ;;
    *) usage ;;
  esac
  shift
done
[[ "$size_mib" =~ ^[1-9][0-9]*$ && "$runs" =~ ^[1-9][0-9]*$ ]] || usage
[ -x "$bin" ] || { echo "gateway_vs_static.sh: no $bin: build it first" >&2; exit 1; }
command -v curl >/dev/null || { echo "gateway_vs_static.sh: curl is needed" >&2; exit 1; }

tmp="$(mktemp -d)"
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$tmp"' EXIT

# The address a server printed ("... http://HOST:PORT/..."), waiting up to 10 s for it.
address_in() {
  for _ in $(seq 100); do
    local a
    a="$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$1" | head -1 || true)"
    if [ -n "$a" ]; then echo "$a"; return 0; fi
    sleep 0.1
  done
  echo "gateway_vs_static.sh: no server address in $1: $(cat "$1")" >&2
  exit 1
}

mkdir -p "$tmp/files" "$tmp/small"
echo "writing $size_mib MiB of random bytes..." >&2
head -c "$((size_mib << 20))" /dev/urandom > "$tmp/files/big.bin"
for i in $(seq 20); do head -c $((1000 * i)) /dev/urandom > "$tmp/files/small-$i.bin"; done
url="$("$bin" --storage "$tmp/store" import "$tmp/files" 2>/dev/null | tail -1)"
key="${url#hyper://}"

"$bin" --storage "$tmp/store" serve --offline --listen 127.0.0.1:0 >"$tmp/gw.out" 2>&1 &
pids+=($!)
gateway="$(address_in "$tmp/gw.out")"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
(cd "$tmp/files" && exec python3 -m http.server --bind 127.0.0.1 "$port" >"$tmp/py.out" 2>&1) &
pids+=($!)
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.1; done
static="http://127.0.0.1:$port"

# Downloads $1 --runs times; prints each run; the best time goes to the file $2.
download() {
  local best=""
  for r in $(seq "$runs"); do
    read -r bytes secs < <(curl -s -o /dev/null -w '%{size_download} %{time_total}\n' "$1")
    [ "$bytes" = "$((size_mib << 20))" ] || { echo "gateway_vs_static.sh: $1 gave $bytes bytes" >&2; exit 1; }
    awk -v r="$r" -v s="$secs" -v b="$bytes" 'BEGIN {printf "  run %d: %.2f s (%.0f MB/s)\n", r, s, b / s / 1e6}'
    if [ -z "$best" ] || awk -v s="$secs" -v b="$best" 'BEGIN {exit !(s < b)}'; then best="$secs"; fi
  done
  echo "$best" > "$2"
}
echo "gateway ($gateway), $size_mib MiB:"
download "$gateway/$key/big.bin" "$tmp/best.gw"
echo "python3 -m http.server ($static), $size_mib MiB:"
download "$static/big.bin" "$tmp/best.py"
gw="$(cat "$tmp/best.gw")" py="$(cat "$tmp/best.py")"
awk -v g="$gw" -v p="$py" \
  'BEGIN {printf "best: gateway %.2f s, static %.2f s: the gateway at %.2fx the static server\n", g, p, p / g}'

# 1,000 small requests, 300 at a time.
: > "$tmp/urls.cfg"
for i in $(seq 1000); do
  echo "url = \"$gateway/$key/small-$(( (i % 20) + 1 )).bin\"" >> "$tmp/urls.cfg"
  echo "output = \"/dev/null\"" >> "$tmp/urls.cfg"
done
start="$(date +%s.%N)"
curl -s -Z --parallel-max 300 -K "$tmp/urls.cfg" -w '%{http_code} %{time_total}\n' \
  > "$tmp/small.out" 2>/dev/null
end="$(date +%s.%N)"
ok="$(grep -c '^200 ' "$tmp/small.out" || true)"
[ "$ok" = 1000 ] || { echo "gateway_vs_static.sh: $ok of 1000 small requests answered 200" >&2; exit 1; }
read -r p50 p99 < <(awk '{print $2}' "$tmp/small.out" | sort -n |
  awk '{t[NR] = $1} END {print t[int(NR * 0.5)], t[int(NR * 0.99)]}')
awk -v s="$start" -v e="$end" -v a="$p50" -v b="$p99" 'BEGIN {
  t = e - s
  printf "1000 small requests, 300 at a time: %.2f s (%.0f requests/s), p50 %.1f ms, p99 %.1f ms\n",
    t, 1000 / t, a * 1000, b * 1000
}'
