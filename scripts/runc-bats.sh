#!/usr/bin/env bash
# runc's own integration suite (v1.1.5, ../shared/conformance/runc-bats) against quai.
# runc 1.1.5 passes every test of it that runs on this kind of machine, so a test quai
# fails is a bug in quai, unless scripts/runc-bats-expected.txt lists it with a reason
# (runc's own output). Exits 1 on any other
# failure; lists expected failures that now pass, so their lines can be removed.
#
#   scripts/runc-bats.sh [QUAI_BINARY] [FILE.bats ...]
set -euo pipefail
cd "$(dirname "$0")/.."

suite="${RUNC_BATS:-$PWD/../shared/conformance/runc-bats/run.sh}"
if [ ! -x "$suite" ]; then
    echo "runc-bats: runc's suite is not on this machine ($suite); it is not run" >&2
    exit 0
fi
bin="${1:-target/debug/quai}"
[ $# -gt 0 ] && shift
expected=scripts/runc-bats-expected.txt
out="${BATS_OUT:-/tmp/bats-runs/quai-$(date +%Y%m%d-%H%M%S)}"
export BATS_OUT="$out"
# runc needs under 20 s a file here; a file that hangs (events.bats waits on exec) is cut
# short sooner than the suite's default of 180 s.
export PER_FILE_TIMEOUT="${PER_FILE_TIMEOUT:-60}"

# The suite's helpers make directories on the /sys/fs/cgroup tmpfs for controllers this
# host does not mount (hugetlb, net_cls, perf_event, ...); what is new after the run and
# is not a mount point is the suite's, and goes (only empty directories, deepest first).
cgroup_entries_before=$(ls /sys/fs/cgroup)
"$suite" "$bin" "$@" | tail -n 1 || true
for d in /sys/fs/cgroup/*; do
    name=$(basename "$d")
    grep -qxF "$name" <<<"$cgroup_entries_before" && continue
    mountpoint -q "$d" && continue
    find "$d" -depth -type d -empty -delete 2>/dev/null || true
done
[ -f "$out/all.tap" ] || { echo "runc-bats: the suite produced no results" >&2; exit 1; }

# "file.bats<TAB>test name" for each failure, from the per-file TAP files (tests a file
# announced but never reported count too: the file timed out).
failures="$out/failed.txt"
: >"$failures"
for tap in "$out"/tap/*.tap; do
    f="$(basename "$tap" .tap).bats"
    sed -nE 's/^not ok [0-9]+ (.*)$/\1/p' "$tap" | sed "s|^|$f\t|" >>"$failures"
    plan=$(grep -m1 -oE '^1\.\.[0-9]+' "$tap" | cut -d. -f3 || true)
    seen=$(grep -cE '^(not )?ok [0-9]+ ' "$tap" || true)
    if [ -n "$plan" ] && [ "$seen" -lt "$plan" ]; then
        echo -e "$f\t(file cut short: $seen of $plan tests reported)" >>"$failures"
    fi
done

# Only the listed failures of the files that ran.
known="$out/expected.txt"
ran=$(for tap in "$out"/tap/*.tap; do basename "$tap" .tap; done)
grep -vE '^(#|$)' "$expected" | cut -f1,2 |
    while IFS=$'\t' read -r f name; do
        if grep -qxF "${f%.bats}" <<<"$ran"; then printf '%s\t%s\n' "$f" "$name"; fi
    done | sort -u >"$known"
sort -u "$failures" -o "$failures"
unexpected=$(comm -23 "$failures" "$known")
now_pass=$(comm -13 "$failures" "$known")
if [ -n "$now_pass" ]; then
    echo "runc-bats: listed as expected failures but passed (remove them from $expected):"
    echo "$now_pass" | sed 's/^/  /'
fi
if [ -n "$unexpected" ]; then
    echo "runc-bats: FAILED where runc 1.1.5 passes (details: $out/failures.txt):"
    echo "$unexpected" | sed 's/^/  /'
    exit 1
fi
echo "runc-bats: no failure beyond the $(wc -l <"$known") listed in $expected"
