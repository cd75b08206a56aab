#!/usr/bin/env bash
# Regenerate runtime-cli/hot-symbols.txt: the functions quai runs through in create,
# state, start, delete and run, sampled with perf over many containers, hottest first.
# scripts/build-release.sh hands the list to the linker (lld --symbol-ordering-file), which
# lays those functions out together: a command then touches a few 64 KB fault-around
# windows of the binary instead of most of them (create's peak RSS 4.5 -> 2.8 MB here).
# Names missing from a later build are skipped by the linker; rerun after big changes.
# Usage (root, a busybox bundle in the current directory): scripts/gen-hot-symbols.sh [N]
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
n="${1:-120}"
quai="$("$repo/scripts/build-release.sh")"
root="$(mktemp -d /dev/shm/quai-hot.XXXXXX)"
data="$(mktemp /tmp/quai-hot.XXXXXX.data)"
trap 'rm -rf "$root" "$data"' EXIT
perf record -q -F 40000 -e cpu-clock -o "$data" -- sh -c "
    for i in \$(seq $n); do
        $quai --root $root create h\$i </dev/null >/dev/null 2>&1
        $quai --root $root state h\$i >/dev/null
        $quai --root $root start h\$i
        $quai --root $root delete --force h\$i
        $quai --root $root run r\$i </dev/null >/dev/null 2>&1
    done"
perf script -i "$data" -F comm,ip,sym,dso --no-demangle 2>/dev/null |
    awk -v bin="$quai" '$1 == "quai" && index($0, "(" bin ")") { print $3 }' |
    grep -v '^\[unknown\]$' | sort | uniq -c | sort -rn | awk '{ print $2 }' \
    >"$repo/runtime-cli/hot-symbols.txt"
echo "$(wc -l <"$repo/runtime-cli/hot-symbols.txt") functions in runtime-cli/hot-symbols.txt"
