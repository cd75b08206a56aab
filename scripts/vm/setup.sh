#!/usr/bin/env bash
# Install what the cgroup v2 VM needs, idempotently, on a Debian 12 machine, as root:
# qemu (without KVM), Debian's kernel to boot, and virtme-ng (`vng`) to boot it with the
# host's root filesystem shared read-only. Prints the versions at the end.
#
# qemu-utils is pinned to bookworm: a fresh machine may ship the 10.0 backport, which
# conflicts with bookworm's qemu-system-x86 7.2 (see shared/docs/MACHINE.md).
set -euo pipefail

if [ "$(id -u)" != 0 ]; then
    echo "scripts/vm/setup.sh: needs root (apt-get, pip)" >&2
    exit 1
fi

have_kernel() { compgen -G '/boot/vmlinuz-*' >/dev/null; }

export DEBIAN_FRONTEND=noninteractive
if ! command -v qemu-system-x86_64 >/dev/null || ! have_kernel \
    || ! dpkg-query -W -f='${Version}' qemu-utils 2>/dev/null | grep -q '^1:7\.2'; then
    apt-get update -qq
    apt-get install -y -qq --allow-downgrades \
        qemu-system-x86 qemu-utils/bookworm linux-image-amd64 >/dev/null
fi

# virtme-ng from PyPI, into whichever python3 is first on PATH; `vng` lands in that
# interpreter's scripts directory, which run.sh finds the same way.
if ! python3 -c 'import virtme_ng' 2>/dev/null; then
    python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore virtme-ng
fi

# Where `vng` is: the scripts dir of this python3 (pyenv's shims may not cover it).
vng_path() {
    local scripts
    scripts="$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))')"
    if [ -x "$scripts/vng" ]; then
        echo "$scripts/vng"
    else
        command -v vng
    fi
}

echo "qemu-system-x86_64: $(qemu-system-x86_64 --version | head -1)"
echo "qemu-utils:         $(dpkg-query -W -f='${Version}' qemu-utils)"
echo "kernels:            $(find /boot -maxdepth 1 -name 'vmlinuz-*' -printf '%f ')"
echo "vng:                $(vng_path) ($("$(vng_path)" --version 2>&1 | head -1))"
