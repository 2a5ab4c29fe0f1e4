#!/usr/bin/env bash
# The main job: installs what is needed, builds, puts a folder into a new drive in the local
# store (~/.hyperdrive/storage, or $HYPERDRIVE_STORAGE) and prints its hyper:// URL.
#   usage: bash scripts/main.sh FOLDER
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
[ $# -eq 1 ] && [ -d "$1" ] || { echo "usage: bash scripts/main.sh FOLDER" >&2; exit 2; }
"$root/scripts/setup.sh" >&2
exec "$root/build/src/cli/hyperdrive" import "$1"
