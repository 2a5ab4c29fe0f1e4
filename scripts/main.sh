#!/usr/bin/env bash
# The main job: installs what is needed, builds, puts a folder into a new drive in the local
# store (the storage root ~/.hyperdrive, or $HYPERDRIVE_STORAGE; the cores are in its
# storage/cores, as the Hyperdrive daemon keeps them), then shares it: `hyperdrive seed` prints
# the drive's hyper:// URL and the one command another machine runs to fetch it, announces the
# drive on the DHT and serves it until Ctrl-C. Options after the folder go to `seed` (for example
# `--bootstrap HOST:PORT` for a DHT of your own, `--listen HOST:PORT`).
#   usage: bash scripts/main.sh FOLDER [seed options...]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
[ $# -ge 1 ] && [ -d "$1" ] || { echo "usage: bash scripts/main.sh FOLDER [seed options...]" >&2; exit 2; }
folder="$1"
shift
"$root/scripts/setup.sh" >&2
hyperdrive="$root/build/src/cli/hyperdrive"
url="$("$hyperdrive" import "$folder")"
exec "$hyperdrive" seed "$url" "$@"
