#!/usr/bin/env bash
# Build the release quai as one static binary (glibc, crt-static): no dynamic library,
# no loader at start, nothing to resolve in a container's mount namespace.
# Prints the binary's path. With --print-path, only prints it.
#
# The functions the engine-driven commands run through (runtime-cli/hot-symbols.txt,
# scripts/gen-hot-symbols.sh) are laid out together by the linker: fewer pages of the
# binary touched per command, so a smaller resident set and fewer page faults.
#
# `--target` keeps the static flag away from build scripts and proc-macros (which must
# stay dynamic) and puts the binary in target/x86_64-unknown-linux-gnu/release/.
set -euo pipefail
cd "$(dirname "$0")/.."
target=x86_64-unknown-linux-gnu
bin="$PWD/target/$target/release/quai"
if [ "${1:-}" = "--print-path" ]; then
    echo "$bin"
    exit 0
fi
# Non-PIE (relocation-model=static): a static-pie relocates itself at every start
# (_dl_relocate_static_pie, the second-hottest function in a profile of 600 commands)
# and keeps its relocated RELRO as private memory in every process, the waiting init
# included (200 KB). The cost, no ASLR for quai's own code, is weighed in
# docs/decisions.md ("The release binary"); QUAI_PIE=1 builds a static-pie instead.
flags="-C target-feature=+crt-static"
[ "${QUAI_PIE:-0}" = 1 ] || flags="$flags -C relocation-model=static"
flags="$flags -C link-arg=-Wl,--symbol-ordering-file=$PWD/runtime-cli/hot-symbols.txt"
flags="$flags -C link-arg=-Wl,--no-warn-symbol-ordering"
RUSTFLAGS="$flags" cargo build --quiet --release -p runtime-cli --target "$target"
# A static-pie has no NEEDED entry and no interpreter (ldd calls it "statically linked").
if readelf -d "$bin" | grep -q NEEDED || readelf -l "$bin" | grep -q INTERP; then
    echo "scripts/build-release.sh: $bin is not static:" >&2
    readelf -d "$bin" | grep NEEDED >&2
    exit 1
fi
echo "$bin"
