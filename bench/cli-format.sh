#!/usr/bin/env bash
# The CLI's read paths scripts hit most: `ps -a --format '{{.Names}}'` over
# 100 containers and `inspect` of one, side by side in one hyperfine run
# with podman (own temp roots, overlay, cgroupfs, file events); prints
# medians and ratios (berth/podman). The target is at most 0.2x podman.
#
# As engine-run.sh: a private mount namespace with an empty tmpfs over
# /sys/fs/cgroup/unified, so both see the same cgroup v1 host.
#
# Usage: bench/cli-format.sh [RUNS]   (as root; builds berth first)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-30}
bash scripts/install-deps >/dev/null
cargo build --release -q -p berth-cli -p berth-runtime -p berth-testkit -p berth-engine --bins
BIN=${CARGO_TARGET_DIR:-$PWD/target}/x86_64-unknown-linux-gnu/release
work=/dev/shm/berth-bench-cli-$$
mkdir "$work"
cleanup() {
    podman --root "$work/podman/root" --runroot "$work/podman/run" rm -af -t 0 >/dev/null 2>&1 || true
    grep " $work" /proc/self/mountinfo | awk '{print $5}' | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
"$BIN/berth-testkit" oci-layout "$work/layout" bench >/dev/null
export BIN work RUNS
cat > "$work/inner.sh" <<'INNER'
set -euo pipefail
mount -t tmpfs none /sys/fs/cgroup/unified
berth="$BIN/berth --root $work/berth --runroot $work/berth-run --runtime $BIN/berth-runtime"
pod="podman --root $work/podman/root --runroot $work/podman/run --storage-driver overlay --cgroup-manager cgroupfs --events-backend file"
$berth copy "oci:$work/layout:bench" berth:busybox:latest >/dev/null
img=$($pod pull -q "oci:$work/layout:bench")
for i in $(seq 1 100); do
    $berth create --name "c$i" --network none busybox true >/dev/null
    $pod create --name "c$i" --network none "$img" true >/dev/null
done
hyperfine -N --warmup 3 --runs "$RUNS" --export-json "$work/result.json" \
    -n berth-ps "$berth ps -a --format {{.Names}}" \
    -n podman-ps "$pod ps -a --format {{.Names}}" \
    -n berth-inspect "$berth inspect c50" \
    -n podman-inspect "$pod inspect c50" >/dev/null
INNER
unshare -m --propagation private bash "$work/inner.sh" </dev/null
python3 - "$work/result.json" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
med = {k: v["median"] * 1000 for k, v in r.items()}
for k, v in med.items():
    print(f"{k:15s} median {v:7.2f} ms")
for what in ("ps", "inspect"):
    print(f"ratio berth/podman {what}: {med['berth-' + what] / med['podman-' + what]:.2f}")
PY
