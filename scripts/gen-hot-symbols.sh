#!/usr/bin/env bash
# Regenerate runtime-cli/hot-symbols.txt: every function quai runs in create, exec, run,
# start, state, kill, delete and list, found exactly (quai-touch: a one-shot breakpoint
# on each function of the release binary, every process followed), laid out so that
# each command's functions sit together, create's first (benches/src/touch/layout.rs).
# scripts/build-release.sh hands the list to the linker (lld --symbol-ordering-file): a
# command then maps a few 64 KB fault-around windows of the binary instead of most of
# them (create's peak RSS: 4.5 MB unordered, 2.8 MB from a perf sample, 2.0 MB from
# this trace). Names missing from a later build are skipped by the linker; rerun after
# big changes, then scripts/build-release.sh again. Usage (root): scripts/gen-hot-symbols.sh
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
quai="$("$repo/scripts/build-release.sh")"
cargo build --quiet --manifest-path "$repo/Cargo.toml" -p benches --bin quai-touch
touch_bin="$repo/target/debug/quai-touch"
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

# The commands as engines call them; one of each is enough (a function runs or not).
cat >"$work/commands.sh" <<SCRIPT
set -e
q="$quai --root $root"
\$q create --bundle $work/true t </dev/null >/dev/null 2>&1
\$q state t >/dev/null
\$q start t
\$q delete --force t
\$q run --bundle $work/true r </dev/null >/dev/null 2>&1
\$q run -d --bundle $work/sleep s </dev/null >/dev/null 2>&1
\$q exec s /bin/true
\$q list >/dev/null
\$q kill s KILL
\$q delete --force s
SCRIPT
"$touch_bin" --binary "$quai" --priority create,exec,run,start,state,kill,delete,list \
    -- sh "$work/commands.sh" >"$repo/runtime-cli/hot-symbols.txt"
echo "$(wc -l <"$repo/runtime-cli/hot-symbols.txt") functions in runtime-cli/hot-symbols.txt"
