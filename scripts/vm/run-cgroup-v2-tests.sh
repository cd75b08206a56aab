#!/usr/bin/env bash
# Run the cgroup v2 suite (integration-tests/tests/cgroup_v2.rs) on a pure cgroup v2 host:
# build quai, the static probe and the test binary here, boot the VM (run.sh) and run the
# binary inside it with QUAI_IN_VM=1. Exits non-zero when any test fails or the VM does
# not finish. Extra arguments go to the test binary (a name filter, --nocapture...).
#
#   scripts/vm/run-cgroup-v2-tests.sh [TEST-ARGS...]
#   QUAI_BIN=/usr/sbin/runc scripts/vm/run-cgroup-v2-tests.sh   # the same suite against runc
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here/../.."

if [ "$(id -u)" != 0 ]; then
    echo "scripts/vm/run-cgroup-v2-tests.sh: needs root (the VM's tests create containers)" >&2
    exit 1
fi

step() { printf '\n== %s\n' "$*" >&2; }

step "VM tools (scripts/vm/setup.sh)"
"$here/setup.sh"

step "build quai and the static probe"
cargo build --quiet -p runtime-cli
QUAI_BIN="${QUAI_BIN:-$PWD/target/debug/quai}"
QUAI_PROBE="$(scripts/build-probe.sh)"
export QUAI_BIN QUAI_PROBE

step "build the cgroup_v2 test binary"
test_bin="$(cargo test --quiet -p integration-tests --test cgroup_v2 --no-run --message-format=json \
    | jq -r 'select(.reason == "compiler-artifact" and .target.name == "cgroup_v2"
                    and .executable != null) | .executable' | tail -n 1)"
[ -x "$test_bin" ] || {
    echo "scripts/vm/run-cgroup-v2-tests.sh: no cgroup_v2 test executable from cargo" >&2
    exit 1
}
echo "QUAI_BIN=$QUAI_BIN" >&2
echo "QUAI_PROBE=$QUAI_PROBE" >&2
echo "tests=$test_bin" >&2

step "boot the cgroup v2 VM and run the suite"
start=$(date +%s)
set +e
"$here/run.sh" "$test_bin" --test-threads=2 "$@"
status=$?
set -e
echo "cgroup v2 suite: exit $status after $(($(date +%s) - start))s (boot included)" >&2
exit "$status"
