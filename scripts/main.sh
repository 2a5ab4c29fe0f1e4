#!/usr/bin/env bash
# The main job: installs what is needed, builds, and stores a folder in the local store
# (~/.hyperdrive/storage, or $HYPERDRIVE_STORAGE), printing what it stored.
#
# Until the drive layer lands, each regular file of the folder becomes one hypercore (64 KiB
# blocks) and the script prints "<key>  <path>" for each; `hyperdrive core cat <key>` gives the
# file back, and the store is readable by the Node reference's corestore.
#   usage: bash scripts/main.sh FOLDER
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
[ $# -eq 1 ] && [ -d "$1" ] || { echo "usage: bash scripts/main.sh FOLDER" >&2; exit 2; }
folder="$(cd "$1" && pwd)"
"$root/scripts/setup.sh" >&2
bin="$root/build/src/cli/hyperdrive"
cd "$folder"
find . -type f -print0 | sort -z | while IFS= read -r -d '' f; do
  key="$("$bin" core create)"
  "$bin" core append "$key" "$f" >/dev/null
  printf '%s  %s\n' "$key" "${f#./}"
done
