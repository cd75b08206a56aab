#!/usr/bin/env bash
# The start-latency and memory benchmark on a pure cgroup v2 host, where crun 1.8.1 runs
# too: quai, runc and crun side by side in the VM (scripts/vm/run.sh). The VM emulates its
# CPU (no KVM here), so absolute times are slow; the ratios are what it is for. The
# binaries are copied into the VM's tmpfs first, so no runtime pays 9p reads per exec.
#
#   scripts/vm/bench-v2.sh [quai-bench options]
#   (default: --runs 20 --no-scale --no-memory-limit: the emulated CPU makes 1,000
#   containers far too slow for the VM's time limit; pass smaller --parallel, --small,
#   --large to measure scale there)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here/../.."

"$here/setup.sh" >/dev/null
command -v crun >/dev/null || apt-get install -y -qq crun runc busybox-static >/dev/null
cargo build --quiet --release -p runtime-cli -p benches
[ "$#" -eq 0 ] && set -- --runs 20 --no-scale --no-memory-limit
out="$PWD/target/vm/bench-v2.json"
mkdir -p "$(dirname "$out")"
"$here/run.sh" sh -c '
    set -e
    mkdir -p /tmp/bin
    cp target/release/quai target/release/quai-bench "$(command -v runc)" "$(command -v crun)" /tmp/bin/
    PATH=/tmp/bin:$PATH /tmp/bin/quai-bench --quai /tmp/bin/quai --json "$0" \
        --out "${0%.json}" "$@"
' "$out" "$@"
echo "JSON written to $out; results.md and chart.svg in ${out%.json}/"
