#!/usr/bin/env bash
# clang-tidy (checks in .clang-tidy) over every library source of src/ that the clang build
# compiles (tests excluded), using its compile_commands.json. Exits non-zero on any finding.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
db="$root/build-asan"
[ -f "$db/compile_commands.json" ] || { echo "lint: run scripts/test.sh first (needs build-asan)" >&2; exit 2; }
cd "$root"
python3 - "$db/compile_commands.json" "$root" > "$db/lint-files.txt" <<'PY'
import json, sys, os
root = sys.argv[2] + "/src/"
files = sorted({e["file"] for e in json.load(open(sys.argv[1]))
                if e["file"].startswith(root) and not e["file"].endswith("_test.cc")})
print("\n".join(files))
PY
# The static analyzer explores each function up to 75,000 nodes of its exploded graph, the budget
# of its own "shallow" mode, instead of 225,000: a few long functions (Drive::ListChildren's
# visitor, Drive::Target, Drive::WriteFiles) ran to the larger limit and made most of the lint's
# time (drive.cc: 26 s of CPU, 12 s with this budget). clang-tidy 14 reads the node budget only
# from the analyzer's own flag, not from .clang-tidy's CheckOptions, hence the extra arguments.
budget=(--extra-arg=-Xclang --extra-arg=-analyzer-config --extra-arg=-Xclang
  --extra-arg=max-nodes=75000)
# One file per clang-tidy run: the files take from 2 to 20 seconds, so batches would leave a core idle.
xargs -P "$(nproc)" -n 1 clang-tidy -p "$db" --quiet --warnings-as-errors='*' "${budget[@]}" \
  < "$db/lint-files.txt" 2>/dev/null
