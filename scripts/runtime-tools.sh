#!/usr/bin/env bash
# The OCI runtime-tools validation suite (../shared/conformance/runtime-tools.sh) against
# runc and quai in the same run: fails on any test runc passes here that quai fails.
# Both run on this machine as it is, so a test the host cannot give (hugetlb limits, which
# this hybrid host has only in the unified tree, not delegated) fails for both alike.
#
#   scripts/runtime-tools.sh [QUAI_BINARY]   (default target/debug/quai)
set -euo pipefail
cd "$(dirname "$0")/.."

suite="${RUNTIME_TOOLS:-$PWD/../shared/conformance/runtime-tools.sh}"
if [ ! -x "$suite" ]; then
    echo "runtime-tools: the suite is not on this machine ($suite); it is not run" >&2
    exit 0
fi
quai="$(realpath "${1:-target/debug/quai}")"
runc="$(command -v runc || echo /usr/sbin/runc)"
out="${RT_OUT:-/tmp/runtime-tools-runs/$(date +%Y%m%d-%H%M%S)}"
mkdir -p "$out"

# Exit statuses are not ours to judge here: the comparison below is.
"$suite" --out "$out/runc.tsv" "$runc" | tail -n 1 || true
"$suite" --out "$out/quai.tsv" "$quai" | tail -n 1 || true

regressions=$(join -t $'\t' <(sort "$out/runc.tsv") <(sort "$out/quai.tsv") |
    awk -F'\t' '$2 == "PASS" && $4 != "PASS" { print "  " $1 ": " $5 }')
passed() { awk -F'\t' '$2 == "PASS"' "$1" | wc -l; }
echo "runtime-tools: quai $(passed "$out/quai.tsv")/$(wc -l <"$out/quai.tsv"), runc $(passed "$out/runc.tsv")/$(wc -l <"$out/runc.tsv") (results in $out)"
if [ -n "$regressions" ]; then
    echo "runtime-tools: tests runc passes and quai fails:"
    echo "$regressions"
    exit 1
fi
echo "runtime-tools: every test runc passes, quai passes"
