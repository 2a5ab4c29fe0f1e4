#!/usr/bin/env bash
# clang-tidy (checks in .clang-tidy) over every source file of src/, with the clang build's
# compile_commands.json. Exits non-zero on any finding.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
db="$root/build-asan"
[ -f "$db/compile_commands.json" ] || { echo "lint: run scripts/test.sh first (needs build-asan)" >&2; exit 2; }
mapfile -t files < <(cd "$root" && git ls-files 'src/*.cc' | grep -v '_test\.cc$')
cd "$root"
printf '%s\n' "${files[@]}" | xargs -P "$(nproc)" -n 4 clang-tidy -p "$db" --quiet --warnings-as-errors='*' 2>/dev/null
