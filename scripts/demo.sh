#!/usr/bin/env bash
# Build quai, make a busybox bundle in a temporary directory, run it, and clean up.
# Run as root on a fresh machine: scripts/demo.sh   (QUAI_BIN=/path/to/quai skips the build)
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
    echo "scripts/demo.sh: running a container needs root" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
if [ ! -x /bin/busybox ] || ! command -v jq >/dev/null; then
    apt-get update -qq
    apt-get install -y -qq busybox-static jq >/dev/null
fi

if [ -z "${QUAI_BIN:-}" ]; then
    cargo build --quiet -p runtime-cli
    QUAI_BIN="$PWD/target/debug/quai"
fi

work="$(mktemp -d /tmp/quai-demo.XXXXXX)"
id="demo-$$"
cleanup() {
    "$QUAI_BIN" --root "$work/state" delete --force "$id" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

# The root filesystem: busybox and a few of its applets.
mkdir -p "$work/bundle/rootfs/bin"
cp /bin/busybox "$work/bundle/rootfs/bin/"
for applet in sh echo cat hostname id ls ps; do
    ln -s busybox "$work/bundle/rootfs/bin/$applet"
done

# quai's default config, with a command that shows where it runs and no terminal.
"$QUAI_BIN" spec --bundle "$work/bundle"
jq '.process.terminal = false
    | .process.args = ["/bin/sh", "-c",
        "echo \"hello from inside quai: hostname $(hostname), pid $$, $(id)\"; ls /"]' \
    "$work/bundle/config.json" >"$work/config.json"
mv "$work/config.json" "$work/bundle/config.json"

echo "+ quai run --bundle $work/bundle $id"
"$QUAI_BIN" --root "$work/state" run --bundle "$work/bundle" "$id"
