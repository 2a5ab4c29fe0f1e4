#!/usr/bin/env bash
# Deduplication within a drive (docs/dedup.md): `hyperdrive import` of a folder in which 90 % of
# the bytes are copies of other files, into a new store with deduplication (the default) and
# with --no-dedup. Prints the folder's size, each import's time and the disk the store takes
# (`du -sk`, what the filesystem allocated), and checks that both drives export the folder's
# bytes. Ours only: the reference appends every file's content.
#   bash bench/dedup_import.sh [--big 20] [--big-mib 2] [--small 500] [--small-kib 8] [--copies 9]
#                              [--bin build/src/cli/hyperdrive]
# The folder: `big` files of `big-mib` MiB and `small` files of `small-kib` KiB of random bytes,
# then `copies` copies of all of them in other folders (9 copies: 90 % of the bytes duplicate).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
big=20 big_mib=2 small=500 small_kib=8 copies=9 bin="$root/build/src/cli/hyperdrive"
while (($#)); do
  case "$1" in
    --big) big="$2"; shift ;;
    --big-mib) big_mib="$2"; shift ;;
    --small) small="$2"; shift ;;
    --small-kib) small_kib="$2"; shift ;;
    --copies) copies="$2"; shift ;;
    --bin) bin="$2"; shift ;;
    *) echo "usage: bash bench/dedup_import.sh [--big N] [--big-mib M] [--small N]" \
         "[--small-kib K] [--copies C] [--bin PATH]" >&2
       exit 2 ;;
  esac
  shift
done
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

src="$tmp/folder"
mkdir -p "$src/original"
for i in $(seq 1 "$big"); do
  head -c "$((big_mib * 1024 * 1024))" /dev/urandom >"$src/original/big-$i.bin"
done
for i in $(seq 1 "$small"); do
  head -c "$((small_kib * 1024))" /dev/urandom >"$src/original/small-$i.bin"
done
for c in $(seq 1 "$copies"); do cp -r "$src/original" "$src/copy-$c"; done
folder_kib=$(du -sk "$src" | cut -f1)
echo "folder: $(find "$src" -type f | wc -l) files, ${folder_kib} KiB," \
  "$((100 * copies / (copies + 1))) % of the bytes copies of other files"

for mode in dedup no-dedup; do
  store="$tmp/store-$mode"
  flags=()
  [ "$mode" = no-dedup ] && flags=(--no-dedup)
  start=$(date +%s.%N)
  url=$("$bin" --storage "$store" import "${flags[@]}" "$src" 2>"$tmp/import-$mode.err")
  end=$(date +%s.%N)
  store_kib=$(du -sk "$store" | cut -f1)
  printf '%-9s import %.2f s, store %s KiB (%s)\n' "$mode" "$(echo "$end - $start" | bc)" \
    "$store_kib" "$(tail -n 1 "$tmp/import-$mode.err" | sed 's/^hyperdrive: //')"
  "$bin" --storage "$store" export "$url" "$tmp/out-$mode" 2>/dev/null
  diff -r "$src" "$tmp/out-$mode" >/dev/null || { echo "$mode: export differs" >&2; exit 1; }
  rm -rf "$tmp/out-$mode"
done
