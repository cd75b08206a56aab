#!/bin/sh
# Start-latency and memory benchmark of quai side by side with runc and crun.
# Usage (as root): scripts/bench.sh [--runs N] [--runtimes quai,runc,crun] [--json PATH]
# Extra arguments go to the benchmark; the default is 50 measured cycles per runtime.
set -eu
cd "$(dirname "$0")/.."

need=""
command -v runc >/dev/null 2>&1 || [ -x /usr/sbin/runc ] || need="$need runc"
command -v crun >/dev/null 2>&1 || need="$need crun"
[ -x /bin/busybox ] || need="$need busybox-static"
if [ -n "$need" ]; then
    apt-get install -y $need || { apt-get update && apt-get install -y $need; }
fi

cargo build --release -p runtime-cli -p benches
if [ "$#" -eq 0 ]; then
    set -- --runs 50 --json target/bench.json
fi
exec target/release/quai-bench "$@"
