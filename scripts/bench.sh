#!/usr/bin/env bash
# Start-latency, memory and scale benchmark of quai side by side with runc and crun:
# every figure of issue 18 in one run, with ratios to crun and the targets judged
# (reported, never enforced by the exit status).
#
# Usage (as root): scripts/bench.sh [--smoke] [--no-crun-hugetlb] [quai-bench options]
#   --smoke            the CI run: 3 cycles, 10 parallel creates, 20 containers for
#                      list/state, a coarse memory search; uses the debug build
#                      (target/debug, as scripts/test.sh leaves it) and takes ~10 s
#   --no-crun-hugetlb  leave hugetlb where it is (crun is then reported not runnable)
# Other options go to quai-bench (`target/release/quai-bench --help`): --runs N,
# --runtimes quai,runc,crun, --quai PATH, --out DIR, --seccomp PROFILE.json, ...
# Results: target/bench-results/<UTC timestamp>/ (or --out DIR) holds results.json,
# results.md and chart.svg; the table goes to stdout.
#
# crun 1.8.1 refuses this hybrid host while the hugetlb controller is bound to the
# cgroup2 tree ("cgroups in hybrid mode not supported"). When crun is asked for,
# hugetlb is on /sys/fs/cgroup/unified and no cgroup there enables it, this script binds
# hugetlb to a v1 hierarchy at /sys/fs/cgroup/hugetlb for the run, and always gives it
# back (on exit, SIGINT, SIGTERM), checking that it is on the cgroup2 tree again and
# failing loudly if not. That is kernel-global state: nothing else can give crun its
# v1 hugetlb, not even a private mount namespace.
set -euo pipefail
cd "$(dirname "$0")/.."

readonly MNT=/sys/fs/cgroup/hugetlb
readonly UNIFIED=/sys/fs/cgroup/unified

say() { echo "bench.sh: $*" >&2; }

smoke=0
move=1
runtimes=quai,runc,crun
args=()
prev=
for a in "$@"; do
    case "$a" in
        --smoke) smoke=1 ;;
        --no-crun-hugetlb) move=0; prev=$a; continue ;;
    esac
    [ "$prev" = --runtimes ] && runtimes=$a
    args+=("$a")
    prev=$a
done

if [ "$(id -u)" != 0 ]; then
    say "the benchmark creates containers and needs root"
    exit 1
fi

need=""
command -v runc >/dev/null 2>&1 || [ -x /usr/sbin/runc ] || need="$need runc"
command -v crun >/dev/null 2>&1 || need="$need crun"
[ -x /bin/busybox ] || need="$need busybox-static"
if [ -n "$need" ]; then
    # shellcheck disable=SC2086 # a list of package names
    apt-get install -y $need || { apt-get update && apt-get install -y $need; }
fi

if [ "$smoke" = 1 ]; then
    cargo build -p runtime-cli -p benches
    bench=target/debug/quai-bench
else
    # quai as it ships: one static binary with its hot functions together.
    quai_bin=$(scripts/build-release.sh)
    cargo build --release -p benches
    bench=target/release/quai-bench
    case " ${args[*]-} " in
        *" --quai "*) ;;
        *) args=(--quai "$quai_bin" "${args[@]}") ;;
    esac
fi

# --- hugetlb for crun -------------------------------------------------------------

hugetlb_hierarchy() { awk '$1 == "hugetlb" { print $2 }' /proc/cgroups; }
hugetlb_on_unified() {
    [ "$(hugetlb_hierarchy)" = 0 ] && grep -qw hugetlb "$UNIFIED/cgroup.controllers" 2>/dev/null
}
# Cgroups under the unified tree that enable hugetlb for their children (the kernel
# would refuse the move, and they are not ours to change).
unified_users() {
    find "$UNIFIED" -name cgroup.subtree_control -exec grep -lw hugetlb {} + 2>/dev/null || true
}
# Cgroup directories (not files) below a hugetlb hierarchy mounted at $1.
child_cgroups() { find "$1" -mindepth 1 -maxdepth 1 -type d 2>/dev/null || true; }

moved=0
bench_pid=
cgroups_before=$(ls -d /sys/fs/cgroup/*/quai-bench 2>/dev/null || true)

move_hugetlb() {
    case ",$runtimes," in *,crun,*) ;; *) return 0 ;; esac
    if [ "$move" = 0 ]; then
        say "--no-crun-hugetlb: hugetlb stays where it is; crun 1.8.1 may refuse this hybrid host"
        return 0
    fi
    if ! hugetlb_on_unified; then
        say "hugetlb is not on the cgroup2 tree (hierarchy $(hugetlb_hierarchy)): nothing to move"
        return 0
    fi
    local users
    users=$(unified_users)
    if [ -n "$users" ]; then
        say "not moving hugetlb: cgroups under $UNIFIED enable it ($(echo "$users" | tr '\n' ' ')); crun will be reported not runnable"
        return 0
    fi
    if [ -e "$MNT" ]; then
        say "not moving hugetlb: $MNT already exists; crun will be reported not runnable"
        return 0
    fi
    mkdir "$MNT"
    if ! mount -t cgroup -o hugetlb cgroup "$MNT"; then
        rmdir "$MNT"
        say "could not bind hugetlb to a v1 hierarchy (mount failed); crun will be reported not runnable"
        return 0
    fi
    moved=1
    say "moved the hugetlb controller from the cgroup2 tree to a v1 hierarchy at $MNT so that crun 1.8.1 runs; it goes back when the run ends"
}

# Gives hugetlb back to the cgroup2 tree and checks that it is there. Once unmounted,
# the v1 hierarchy lives on while a removed child cgroup is still dying; mounting it
# again and unmounting it once no child is left ends it.
restore_hugetlb() {
    [ "$moved" = 1 ] || return 0
    moved=0
    # The benchmark removes its cgroups itself; if it was killed, remove its empty ones.
    if [ -n "$bench_pid" ] && [ -d "$MNT/quai-bench/$bench_pid" ]; then
        find "$MNT/quai-bench/$bench_pid" -depth -type d -exec rmdir {} \; 2>/dev/null || true
    fi
    rmdir "$MNT/quai-bench" 2>/dev/null || true
    if ! umount "$MNT"; then
        say "FAILED to unmount $MNT: hugetlb is still on a v1 hierarchy; run: umount $MNT && rmdir $MNT"
        return 1
    fi
    rmdir "$MNT" || say "could not remove $MNT (empty mount point)"
    local i tmp
    for i in $(seq 60); do
        if hugetlb_on_unified; then
            say "hugetlb is back on the cgroup2 tree ($UNIFIED/cgroup.controllers: $(cat "$UNIFIED/cgroup.controllers"))"
            return 0
        fi
        sleep 0.5
        [ "$(hugetlb_hierarchy)" = 0 ] && continue
        tmp=$(mktemp -d /tmp/quai-bench-hugetlb.XXXXXX)
        # Unmounting ends the hierarchy only once it has no child cgroup left.
        if mount -t cgroup -o hugetlb cgroup "$tmp" 2>/dev/null; then
            [ "$i" -lt 60 ] || [ -z "$(child_cgroups "$tmp")" ] ||
                say "cgroups still below the v1 hugetlb hierarchy: $(child_cgroups "$tmp" | tr '\n' ' ')"
            umount "$tmp" || say "could not unmount $tmp"
        fi
        rmdir "$tmp" 2>/dev/null || true
    done
    say "FAILED to give hugetlb back to the cgroup2 tree after 30 s: /proc/cgroups hierarchy $(hugetlb_hierarchy), $UNIFIED/cgroup.controllers: '$(cat "$UNIFIED/cgroup.controllers")'"
    return 1
}

cleanup() {
    local status=$?
    trap - EXIT INT TERM
    if [ -n "$bench_pid" ] && kill -0 "$bench_pid" 2>/dev/null; then
        # quai-bench stops at SIGTERM after deleting its containers and cgroups.
        kill -TERM "$bench_pid" 2>/dev/null || true
        wait "$bench_pid" 2>/dev/null || true
    fi
    restore_hugetlb || status=1
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

move_hugetlb

# In the background so that a signal reaches the trap at once, not after the run.
"$bench" "${args[@]}" &
bench_pid=$!
status=0
wait "$bench_pid" || status=$?
bench_pid=

restore_hugetlb || status=1
left=$(ls -d /sys/fs/cgroup/*/quai-bench 2>/dev/null || true)
if [ "$left" != "$cgroups_before" ]; then
    say "FAILED: cgroups left behind: $(echo "$left" | tr '\n' ' ')"
    status=1
fi
exit "$status"
