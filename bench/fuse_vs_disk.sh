#!/usr/bin/env bash
# The FUSE mount (docs/fuse.md) against the local disk and against our CLI: sequential write and
# read of one big file, `find` over many files, `cp -r` of many small files in. The daemon runs
# on a fresh root (offline) with --mountpoint; each figure is the wall time, and the ratio to
# the local disk (same disk, the temporary folder's) is printed. Reads of the mount and of the
# disk are of files just written (the page cache is warm on both sides; the mount's kernel cache
# is dropped at unmount only). Ours only: the reference's FUSE needed sudo and a Node daemon.
#   bash bench/fuse_vs_disk.sh [--mib 1024] [--files 100000] [--small 10000] [--bin PATH]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
mib=1024 files=100000 small=10000 bin="$root/build/src/cli/hyperdrive"
while (($#)); do
  case "$1" in
    --mib) mib="$2"; shift ;;
    --files) files="$2"; shift ;;
    --small) small="$2"; shift ;;
    --bin) bin="$2"; shift ;;
    *) echo "usage: bash bench/fuse_vs_disk.sh [--mib N] [--files N] [--small N] [--bin PATH]" >&2
       exit 2 ;;
  esac
  shift
done
tmp="$(mktemp -d)"
hd=("$bin" --storage "$tmp/root")
cleanup() {
  "${hd[@]}" stop >/dev/null 2>&1 || true
  mountpoint -q "$tmp/mnt" 2>/dev/null && "${hd[@]}" force-unmount "$tmp/mnt" >/dev/null 2>&1
  rm -rf "$tmp"
}
trap cleanup EXIT
"${hd[@]}" start --port 0 --offline --mountpoint "$tmp/mnt" >/dev/null
url="hyper://$(grep -o 'root drive [0-9a-f]\{64\}' "$tmp/root/daemon.log" | tail -1 | cut -c12-)"
# The CLI's writes go to a drive of their own (deduplication works within a drive: the same
# bytes written through the mount first would make them cheap).
cli_url=$("${hd[@]}" create --no-seed | grep -o 'hyper://[0-9a-f]\{64\}' | head -1)
mnt="$tmp/mnt" disk="$tmp/disk"
mkdir -p "$disk"

# Seconds taken by "$@".
timed() {
  local start end
  start=$(date +%s.%N)
  "$@" >/dev/null
  end=$(date +%s.%N)
  echo "$end - $start" | bc
}
row() {  # name, mount seconds, disk seconds, CLI seconds (or -)
  local ratio cli_ratio="-"
  ratio=$(echo "scale=2; $2 / $3" | bc)
  [ "$4" != - ] && cli_ratio=$(echo "scale=2; $4 / $3" | bc)
  printf '%-32s mount %7.2f s  disk %7.2f s  mount/disk %6s  CLI %7.2f s  CLI/disk %6s\n' \
    "$1" "$2" "$3" "$ratio" "$4" "$cli_ratio"
}

# Small files of 1-4 KiB in 100 folders, made once on the disk.
src="$tmp/small-src"
for d in $(seq 0 99); do mkdir -p "$src/d$d"; done
for i in $(seq 1 "$small"); do
  head -c $((1024 + (i * 37) % 3072)) /dev/urandom >"$src/d$((i % 100))/f$i"
done
sync

# Sequential write and read of one big file (dd bs=1M, the disk's write with conv=fsync: the
# mount's close writes the drive's version to disk too).
w_mnt=$(timed dd if=/dev/zero of="$mnt/big" bs=1M count="$mib" status=none)
w_disk=$(timed dd if=/dev/zero of="$disk/big" bs=1M count="$mib" conv=fsync status=none)
w_cli=$(timed sh -c "head -c $((mib * 1024 * 1024)) /dev/zero | ${hd[*]} put $cli_url/big")
row "write ${mib} MiB (dd bs=1M)" "$w_mnt" "$w_disk" "$w_cli"
r_mnt=$(timed dd if="$mnt/big" of=/dev/null bs=1M status=none)
r_disk=$(timed dd if="$disk/big" of=/dev/null bs=1M status=none)
r_cli=$(timed sh -c "${hd[*]} cat $cli_url/big > /dev/null")
row "read ${mib} MiB (dd bs=1M)" "$r_mnt" "$r_disk" "$r_cli"
cmp -n $((mib * 1024 * 1024)) "$mnt/big" "$disk/big"
rm -f "$mnt/big" "$disk/big"

# cp -r of the small files in.
c_mnt=$(timed cp -r "$src" "$mnt/small")
c_disk=$(timed sh -c "cp -r '$src' '$disk/small' && sync -f '$disk/small'")
c_cli=$(timed sh -c "${hd[*]} import '$src' 2>/dev/null")  # a new drive
row "cp -r ${small} small files in" "$c_mnt" "$c_disk" "$c_cli"
diff -r "$src" "$mnt/small" >/dev/null

# find over many (empty) files, made through the mount and on the disk.
mkdir -p "$mnt/many" "$disk/many"
for dir in "$mnt/many" "$disk/many"; do
  (cd "$dir" && for d in $(seq 0 99); do mkdir "d$d"; done &&
    seq 1 "$files" | awk '{print "d" ($1 % 100) "/e" $1}' | xargs touch)
done
f_mnt=$(timed sh -c "find '$mnt/many' | wc -l")
f_disk=$(timed sh -c "find '$disk/many' | wc -l")
f_cli=$(timed sh -c "${hd[*]} ls -R $url/many | wc -l")
row "find over ${files} files" "$f_mnt" "$f_disk" "$f_cli"
[ "$(find "$mnt/many" | wc -l)" = "$(find "$disk/many" | wc -l)" ]
