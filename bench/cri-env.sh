# Sourced by bench/cri-pod.sh and bench/cri-exec.sh: berthd and Debian's
# containerd (its CRI plugin, runc through containerd-shim-runc-v2), each
# with its own temporary root, state, socket and configuration, side by
# side; one CNI conf dir (a bridge + portmap conflist, the shape of
# containerd's own 10-containerd-net example) and Debian's plugin dir for
# both. berthd reads the dir for Status and networks pods with the
# engine's built-in bridge network (docs/berthd.md); containerd networks
# pods with the conflist.
#
# Both get one image, offline: the testkit busybox with Cmd `sleep inf`,
# copied into berthd's store with the berth CLI and imported into
# containerd's `k8s.io` namespace with ctr, so it is containerd's
# sandbox_image (the pause container) and every pod's workload image.
#
# Everything started is stopped by its PID; on exit the pods left are
# removed through each CRI, then mounts under the work dir are undone,
# the cgroups under /berth-test/cri-bench-PID removed, and the CNI
# bridge and iptables chains of the bench network checked.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_PROFILE_DEV_DEBUG=0 CARGO_PROFILE_TEST_DEBUG=0
# BENCH_NO_BUILD=1 runs the release binaries already built.
if [ -z "${BENCH_NO_BUILD:-}" ]; then
    cargo build --release -q -p berth-cri --bins --example cri-bench
    cargo build --release -q -p berth-cli -p berth-runtime -p berth-testkit -p berth-engine --bins
fi
BIN=${CARGO_TARGET_DIR:-$PWD/target}/x86_64-unknown-linux-gnu/release
CLIENT=$BIN/examples/cri-bench
work=/dev/shm/berth-bench-cri-$$
CG=/berth-test/cri-bench-$$
IMAGE=localhost/bench/pause:1
NET=bench-cri-$$
BRIDGE=cribench$(($$ % 100000))
mkdir -p "$work"/{cni,ipam,logs,containerd}
berthd_pid= containerd_pid=

cri_cleanup() {
    set +e
    [ -n "$berthd_pid" ] && "$CLIENT" clean "$work/berthd.sock"
    [ -n "$containerd_pid" ] && "$CLIENT" clean "$work/containerd/containerd.sock"
    for pid in $berthd_pid $containerd_pid; do
        kill -TERM "$pid" 2>/dev/null
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null
    done
    # Shims of pods that could not be removed: ours name our socket.
    for p in $(pgrep -f "containerd-shim-runc-v2 .*$work" || true); do
        kill -KILL "$p" 2>/dev/null
    done
    # Monitors of containers that could not be removed name our root.
    for p in $(pgrep -f "berth-monitor .*$work" || true); do
        kill -KILL "$p" 2>/dev/null
    done
    # Containers whose pods could not be removed: their processes, by PID.
    for f in $(find /sys/fs/cgroup/pids$CG /sys/fs/cgroup/unified$CG -name cgroup.procs 2>/dev/null); do
        for p in $(cat "$f"); do kill -KILL "$p" 2>/dev/null; done
    done
    sleep 0.2
    grep " $work" /proc/self/mountinfo | awk '{print $5}' | sort -r | xargs -r -n1 umount -l 2>/dev/null
    for d in /sys/fs/cgroup/*$CG /sys/fs/cgroup/unified$CG; do
        [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
    done
    ip link del "$BRIDGE" 2>/dev/null
    local left
    left=$(iptables-save -t nat | grep -c -- "$NET" || true)
    [ "$left" != 0 ] && echo "warning: $left iptables rules of $NET left" >&2
    if grep -q " $work" /proc/self/mountinfo; then
        echo "warning: mounts left under $work; not deleting it" >&2
    else
        rm -rf "$work"
    fi
}
trap cri_cleanup EXIT

# The image: testkit busybox, Cmd `sleep inf` (a pause that needs no pause binary).
"$BIN/berth-testkit" oci-layout "$work/layout" bench >/dev/null
umoci config --image "$work/layout:bench" --tag pause --config.cmd sleep --config.cmd inf
skopeo copy -q "oci:$work/layout:pause" "docker-archive:$work/pause.tar:$IMAGE"

cat > "$work/cni/10-bench.conflist" <<EOF
{"cniVersion": "0.4.0", "name": "$NET", "plugins": [
  {"type": "bridge", "bridge": "$BRIDGE", "isGateway": true, "ipMasq": true,
   "ipam": {"type": "host-local", "dataDir": "$work/ipam",
            "ranges": [[{"subnet": "10.97.0.0/24"}]], "routes": [{"dst": "0.0.0.0/0"}]}},
  {"type": "portmap", "capabilities": {"portMappings": true}}]}
EOF

# berthd, release build, its own root/runroot/socket.
printf 'unqualified-search-registries = []\n' > "$work/registries.conf"
cat > "$work/berthd.toml" <<EOF
listen = "$work/berthd.sock"
root = "$work/berthd/root"
runroot = "$work/berthd/run"
cgroup_parent = "$CG/berthd"
cni_config_dir = "$work/cni"
cni_plugin_dir = "/usr/lib/cni"
registries_conf = "$work/registries.conf"
log_dir = "$work/logs"
log_level = "warn"
EOF
"$BIN/berth" --root "$work/berthd/root" --runroot "$work/berthd/run" \
    copy "oci:$work/layout:pause" "berth:$IMAGE" >/dev/null
"$BIN/berthd" --config "$work/berthd.toml" 2>"$work/berthd.log" &
berthd_pid=$!

# containerd, its own root/state/socket; restrict_oom_score_adj because
# root here lacks CAP_SYS_RESOURCE (the sandbox's -998 would fail).
C=$work/containerd
cat > "$C/config.toml" <<EOF
version = 2
root = "$C/root"
state = "$C/state"
disabled_plugins = ["io.containerd.internal.v1.opt", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.aufs", "io.containerd.tracing.processor.v1.otlp"]
[grpc]
  address = "$C/containerd.sock"
[ttrpc]
  address = "$C/containerd.sock.ttrpc"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$IMAGE"
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$work/cni"
EOF
containerd --config "$C/config.toml" --log-level warn 2>"$C/containerd.log" &
containerd_pid=$!

wait_socket() {
    for _ in $(seq 200); do [ -S "$1" ] && return 0; sleep 0.05; done
    echo "no socket $1; logs in $work" >&2
    return 1
}
wait_socket "$work/berthd.sock"
wait_socket "$C/containerd.sock"
ctr --address "$C/containerd.sock" -n k8s.io images import "$work/pause.tar" >/dev/null

rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
