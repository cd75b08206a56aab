#!/usr/bin/env bash
# Capture the default seccomp profiles that Docker (dockerd) and podman write into the OCI
# config.json of a container, for integration-tests/tests/seccomp_profiles.rs.
#
# Each engine runs with its defaults kept (seccomp on, its default capabilities) and runc
# as its runtime, in a private temporary directory. A container is created from a busybox
# image imported from a tarball (there is no registry), and `linux.seccomp` is copied from
# the bundle's config.json, with the process's capabilities and noNewPrivileges beside it
# (the engine resolved the profile against those capabilities, so the test runs it with
# them, as the engine would):
#
#   integration-tests/tests/data/seccomp/docker-default.json   (linux.seccomp, verbatim)
#   integration-tests/tests/data/seccomp/docker-process.json   (process.capabilities and
#                                                               process.noNewPrivileges)
#   integration-tests/tests/data/seccomp/podman-default.json
#   integration-tests/tests/data/seccomp/podman-process.json
#
# Usage: scripts/capture-seccomp-profiles.sh [docker|podman]...   (default: both)
# Needs root, jq, busybox-static, runc, podman and docker.io (dockerd). Everything the
# engines start is stopped by PID; their directories, mounts and cgroups are removed.
set -euo pipefail
cd "$(dirname "$0")/.."
out="$PWD/integration-tests/tests/data/seccomp"
engines=("$@")
[ ${#engines[@]} -gt 0 ] || engines=(docker podman)

for tool in jq busybox runc; do
    command -v "$tool" >/dev/null || { echo "missing: $tool" >&2; exit 1; }
done

work="$(mktemp -d /tmp/quai-seccomp-capture.XXXXXX)"
tag="quai-seccomp-capture-$$"
image="localhost/quai-seccomp:latest"
dockerd_pid=""
podman_used=""

# podman with everything in $work. No CONTAINERS_CONF: the system's containers.conf and
# seccomp.json stay in force; only what this machine needs is given as flags (no systemd:
# cgroupfs and file events).
pod() {
    podman --root "$work/podman/storage" --runroot "$work/podman/run" \
        --tmpdir "$work/podman/tmp" --storage-driver vfs --cgroup-manager cgroupfs \
        --events-backend file --runtime runc "$@"
}

# Host paths the engines may make outside $work; whatever is new at the end is removed.
# (conmon makes directories for controllers the host does not mount right on the
# /sys/fs/cgroup tmpfs; dockerd's containerd keeps shim sockets under /run/containerd.)
host_paths=(/run/containers /run/containerd /run/runc /run/docker /etc/docker/key.json)
for c in blkio cpu cpuacct cpuset devices freezer hugetlb memory misc net_cls net_prio \
    perf_event pids rdma; do
    host_paths+=("/sys/fs/cgroup/$c")
done
new_paths=()
for p in "${host_paths[@]}"; do
    [ -e "$p" ] || new_paths+=("$p")
done

# The containers' cgroups go under a parent named after this run, in every hierarchy.
cgroup_dirs() {
    find /sys/fs/cgroup -mindepth 2 -maxdepth 2 -type d -name "$tag" 2>/dev/null || true
}

cleanup() {
    set +e
    if [ -n "$dockerd_pid" ] && kill -0 "$dockerd_pid" 2>/dev/null; then
        kill -TERM "$dockerd_pid"
        for _ in $(seq 100); do kill -0 "$dockerd_pid" 2>/dev/null || break; sleep 0.2; done
    fi
    # Mounts left under the work directory (netns/default, overlay, shm), deepest first.
    findmnt -rn -o TARGET | grep -F "$work" | sort -r | while read -r m; do
        umount -l "$m"
    done
    if [ -n "$podman_used" ]; then
        pod rm -af -t 0 >/dev/null 2>&1
        pod rmi -af >/dev/null 2>&1
    fi
    # conmon may still be on its way out: retry for a few seconds.
    for _ in $(seq 50); do
        for d in $(cgroup_dirs); do
            find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
        done
        [ -z "$(cgroup_dirs)" ] && break
        sleep 0.1
    done
    [ -z "$(cgroup_dirs)" ] || echo "warning: cgroups left: $(cgroup_dirs)" >&2
    for p in "${new_paths[@]}"; do
        if [ -e "$p" ]; then
            case "$p" in
            /sys/fs/cgroup/*)
                # A plain directory on the tmpfs (no controller is mounted there).
                if ! mountpoint -q "$p"; then rm -rf "$p"; fi ;;
            *) rm -rf "$p" ;;
            esac
        fi
    done
    rm -rf "$work"
}
trap cleanup EXIT

# A busybox root filesystem, as the tests build it, as an image tarball.
mkdir -p "$work/rootfs"/{bin,dev,proc,sys,tmp,etc,root,run,var}
cp /bin/busybox "$work/rootfs/bin/busybox"
for a in sh sleep true echo ls; do ln -s busybox "$work/rootfs/bin/$a"; done
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$work/rootfs/etc/passwd"
printf 'root:x:0:\n' >"$work/rootfs/etc/group"
tar -C "$work/rootfs" -cf "$work/rootfs.tar" .

mkdir -p "$out"

# extract CONFIG_JSON NAME: save linux.seccomp (key order kept) and the process fields the
# test copies (an absent noNewPrivileges is false).
extract() {
    jq '.linux.seccomp' "$1" >"$out/$2-default.json"
    jq '.process | {capabilities, noNewPrivileges: (.noNewPrivileges // false)}' "$1" \
        >"$out/$2-process.json"
    [ "$(jq -r '.defaultAction' "$out/$2-default.json")" != null ] ||
        { echo "$1 has no linux.seccomp" >&2; exit 1; }
    echo "$2: $(jq '.syscalls | length' "$out/$2-default.json") syscall rules" \
        "from $1 -> $out/$2-default.json"
}

capture_podman() {
    mkdir -p "$work/podman"
    podman_used=1
    podman --version
    pod import "$work/rootfs.tar" "$image" >/dev/null
    # No CAP_SYS_RESOURCE here: rlimits no higher than the current hard ones.
    pod create --name "$tag" --network none --cgroup-parent "/$tag" \
        --ulimit nofile=20000:20000 --ulimit nproc=32768:32768 \
        "$image" /bin/sleep 1000 >/dev/null
    # init: podman writes the spec and runs `runc create` on it.
    pod init "$tag" >/dev/null
    local cfg
    cfg="$(pod inspect --format '{{.OCIConfigPath}}' "$tag")"
    [ "$(jq -r '.process.args[0]' "$cfg")" = /bin/sleep ] || { echo "bad $cfg" >&2; exit 1; }
    extract "$cfg" podman
    pod rm -f -t 0 "$tag" >/dev/null
    pod rmi -af >/dev/null
}

capture_docker() {
    local dw="$work/docker"
    mkdir -p "$dw/config"
    local sock="unix://$dw/docker.sock"
    dockerd --version
    # dockerd's own defaults otherwise (runc from PATH, its default seccomp profile and
    # capabilities); it starts its own containerd under the exec root.
    dockerd --data-root "$dw/data" --exec-root "$dw/exec" --pidfile "$dw/docker.pid" \
        -H "$sock" --iptables=false --ip-masq=false --bridge=none \
        --storage-driver=overlay2 >"$dw/dockerd.log" 2>&1 &
    dockerd_pid=$!
    dk() { DOCKER_CONFIG="$dw/config" /usr/bin/docker -H "$sock" "$@"; }
    for _ in $(seq 150); do
        dk version >/dev/null 2>&1 && break
        kill -0 "$dockerd_pid" || { cat "$dw/dockerd.log" >&2; exit 1; }
        sleep 0.2
    done
    dk version --format 'docker server {{.Server.Version}}, runc default runtime'
    dk import "$work/rootfs.tar" "$image" >/dev/null
    dk create --name "$tag" --network none --cgroup-parent "/$tag" \
        "$image" /bin/sleep 1000 >/dev/null
    dk start "$tag" >/dev/null
    local id cfg
    id="$(dk inspect --format '{{.Id}}' "$tag")"
    cfg="$(find "$dw/exec" -path "*/io.containerd.runtime.v2.task/moby/$id/config.json" | head -1)"
    [ -n "$cfg" ] || { echo "no bundle config.json for $id under $dw/exec" >&2; exit 1; }
    extract "$cfg" docker
    dk rm -f "$tag" >/dev/null
    dk rmi -f "$image" >/dev/null
    kill -TERM "$dockerd_pid"
    wait "$dockerd_pid" || true
    dockerd_pid=""
}

for e in "${engines[@]}"; do
    case "$e" in
    docker) capture_docker ;;
    podman) capture_podman ;;
    *) echo "unknown engine: $e" >&2; exit 2 ;;
    esac
done
runc --version | head -1
