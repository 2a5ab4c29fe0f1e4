#!/usr/bin/env bash
# uTP throughput with UDP packets lost (issue 15): runs bench/utp_throughput (ours over uTP, ours
# over TCP, Node utp-native to utp-native, side by side) inside a network namespace of its own
# (unshare -n, loopback up) where nftables drops P % of UDP packets at random on output
# (inet table, `numgen random mod 100 < P drop`). Every uTP packet crosses the output hook once,
# data and ACKs alike, in both directions; TCP is not touched. Prints the benchmark's figures
# (MB/s and stalls: whole seconds in which the receiver got nothing) and the packets dropped.
# Needs root (or unprivileged user namespaces: it then adds -r) and nft.
#   bash bench/utp_loss.sh --loss P [--bin build/bench/utp_throughput] [utp_throughput options]
#   e.g. bash bench/utp_loss.sh --loss 5 --mib 64
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
usage() {
  echo "usage: bash bench/utp_loss.sh --loss P [--bin PATH] [--mib N] [--timeout S] [--no-node]" >&2
  echo "  P: the share of UDP packets dropped, a whole number from 0 to 99" >&2
  exit 2
}
loss="" bin="$root/build/bench/utp_throughput" rest=()
while (($#)); do
  case "$1" in
    --loss) [ $# -ge 2 ] || usage; loss="$2"; shift ;;
    --bin) [ $# -ge 2 ] || usage; bin="$2"; shift ;;
    --inside) inside=1 ;;
    -h|--help) usage ;;
    *) rest+=("$1") ;;
  esac
  shift
done
[[ "$loss" =~ ^[0-9]{1,2}$ ]] || usage
[ -x "$bin" ] || { echo "no benchmark at $bin: build it (utp_throughput)" >&2; exit 1; }
command -v nft >/dev/null || { echo "nft (nftables) is not installed" >&2; exit 1; }

if [ -z "${inside:-}" ]; then
  flags=(-n)
  [ "$(id -u)" = 0 ] || flags=(-r -n)
  exec unshare "${flags[@]}" bash "${BASH_SOURCE[0]}" --inside --loss "$loss" --bin "$bin" \
    ${rest[@]+"${rest[@]}"}
fi

# In the namespace: loopback up, then the loss.
ip link set lo up
nft add table inet utp_loss
nft add chain inet utp_loss out '{ type filter hook output priority 0; policy accept; }'
nft add rule inet utp_loss out meta l4proto udp numgen random mod 100 '<' "$loss" counter drop
echo "network namespace, loopback: $loss % of UDP packets dropped on output"
status=0
"$bin" ${rest[@]+"${rest[@]}"} || status=$?
dropped="$(nft list chain inet utp_loss out | grep -o 'packets [0-9]*' | head -1)"
echo "dropped by nftables: ${dropped:-packets 0}"
exit "$status"
