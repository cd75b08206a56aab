#!/usr/bin/env bash
# Regenerate runtime-cli/hot-symbols.txt: the functions quai runs through in create,
# state, start, delete, run, exec, kill and list, sampled with perf over many containers,
# hottest first. scripts/build-release.sh hands the list to the linker (lld
# --symbol-ordering-file), which lays those functions out together: a command then maps a
# few 64 KB fault-around windows of the binary instead of most of them (create's peak
# RSS 4.5 -> 2.8 MB here). Names missing from a later build are skipped by the linker;
# rerun after big changes. Usage (root): scripts/gen-hot-symbols.sh [N]
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
n="${1:-120}"
quai="$("$repo/scripts/build-release.sh")"
work="$(mktemp -d /tmp/quai-hot.XXXXXX)"
root="$(mktemp -d /dev/shm/quai-hot.XXXXXX)"
cleanup() {
    for id in $("$quai" --root "$root" list -q 2>/dev/null); do
        "$quai" --root "$root" delete --force "$id" || true
    done
    rm -rf "$work" "$root"
}
trap cleanup EXIT

# Two bundles on one busybox rootfs: `true` for the life cycle, `sleep` to exec into.
mkdir -p "$work/rootfs/bin" "$work/true" "$work/sleep"
cp /bin/busybox "$work/rootfs/bin/"
for a in true sleep sh; do ln -s busybox "$work/rootfs/bin/$a"; done
(cd "$work/true" && "$quai" spec)
jq --arg r "$work/rootfs" '.root.path = $r | .process.terminal = false | .process.args = ["true"]' \
    "$work/true/config.json" >"$work/c.json" && mv "$work/c.json" "$work/true/config.json"
jq '.process.args = ["sleep", "1000"]' "$work/true/config.json" >"$work/sleep/config.json"

data="$work/perf.data"
perf record -q -F 40000 -e cpu-clock -o "$data" -- sh -c "
    q='$quai --root $root'
    for i in \$(seq $n); do
        \$q create --bundle $work/true h\$i </dev/null >/dev/null 2>&1
        \$q state h\$i >/dev/null
        \$q start h\$i
        \$q delete --force h\$i
        \$q run --bundle $work/true r\$i </dev/null >/dev/null 2>&1
    done
    \$q run -d --bundle $work/sleep s </dev/null >/dev/null 2>&1
    for i in \$(seq $n); do
        \$q exec s /bin/true
        \$q list >/dev/null
    done
    \$q kill s KILL"
perf script -i "$data" -F comm,ip,sym,dso --no-demangle 2>/dev/null |
    awk -v bin="$quai" '$1 == "quai" && index($0, "(" bin ")") { print $3 }' |
    grep -v '^\[unknown\]$' | sort | uniq -c | sort -rn | awk '{ print $2 }' \
    >"$repo/runtime-cli/hot-symbols.txt"
echo "$(wc -l <"$repo/runtime-cli/hot-symbols.txt") functions in runtime-cli/hot-symbols.txt"
