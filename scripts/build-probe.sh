#!/usr/bin/env bash
# Build the test probe as a static binary (glibc crt-static) that runs in any rootfs.
# Its own target directory keeps the static RUSTFLAGS away from the rest of the workspace.
# With --print-path, only print where the binary is.
set -euo pipefail
cd "$(dirname "$0")/.."
target_dir="$PWD/target/probe-static"
probe="$target_dir/x86_64-unknown-linux-gnu/debug/probe"
if [ "${1:-}" = "--print-path" ]; then
    echo "$probe"
    exit 0
fi
RUSTFLAGS="-C target-feature=+crt-static -C strip=symbols" CARGO_TARGET_DIR="$target_dir" \
    cargo build --quiet -p probe --target x86_64-unknown-linux-gnu
echo "$probe"
