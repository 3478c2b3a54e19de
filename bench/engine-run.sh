#!/usr/bin/env bash
# `berth run --rm IMAGE true` end to end from a stored busybox image, side
# by side in one hyperfine run with `podman run --rm` under crun and under
# runc (own temp roots, overlay, cgroupfs, each on its default bridge
# network: berth's CNI `berth0`, podman's netavark `podman0`);
# prints medians and ratios (berth/peer). Then the RSS of berth's monitor
# of a detached container against conmon's.
#
# crun refuses hybrid cgroup hosts, so everything runs in a private mount
# namespace with an empty tmpfs over /sys/fs/cgroup/unified: the same
# (cgroup v1) conditions for all. Cgroups go under /berth-test/bench-engine.
#
# Usage: bench/engine-run.sh [RUNS]   (as root; builds berth first)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-50}
bash scripts/install-deps >/dev/null
cargo build --release -q -p berth-cli -p berth-runtime -p berth-testkit -p berth-engine --bins
BIN=${CARGO_TARGET_DIR:-$PWD/target}/x86_64-unknown-linux-gnu/release
# podman names an oci: pull after its path, which must be lowercase.
work=/dev/shm/berth-bench-engine-$$
mkdir "$work"
CG=/berth-test/bench-engine
cleanup() {
    for r in "$work"/podman-*; do
        [ -d "$r" ] && podman --root "$r/root" --runroot "$r/run" rm -af -t 0 >/dev/null 2>&1 || true
    done
    "$BIN/berth" --root "$work/berth" --runroot "$work/berth-run" rm -f bench-detached >/dev/null 2>&1 || true
    grep " $work" /proc/self/mountinfo | awk '{print $5}' | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
    for d in /sys/fs/cgroup/*$CG; do
        [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null || true
    done
    rm -rf "$work"
}
trap cleanup EXIT
"$BIN/berth-testkit" oci-layout "$work/layout" bench >/dev/null
export BIN work RUNS CG
cat > "$work/inner.sh" <<'INNER'
set -euo pipefail
mount -t tmpfs none /sys/fs/cgroup/unified
berth="$BIN/berth --root $work/berth --runroot $work/berth-run --runtime $BIN/berth-runtime --cgroup-parent $CG"
$berth copy "oci:$work/layout:bench" berth:busybox:latest >/dev/null
pod() {  # pod NAME RUNTIME: a podman command line with its own roots
    echo "podman --root $work/podman-$1/root --runroot $work/podman-$1/run --storage-driver overlay" \
         "--cgroup-manager cgroupfs --events-backend file --runtime $2"
}
for rt in crun runc; do
    img=$($(pod $rt $rt) pull -q "oci:$work/layout:bench")
done
podrun="run --rm --cgroup-parent $CG --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 $img true"
hyperfine -N --warmup 5 --runs "$RUNS" --export-json "$work/result.json" \
    -n berth "$berth run --rm busybox true" \
    -n podman-crun "$(pod crun crun) $podrun" \
    -n podman-runc "$(pod runc runc) $podrun" >/dev/null
# Monitor RSS against conmon's, each watching a sleeping container.
$berth run -d --name bench-detached busybox sleep 60 >/dev/null
id=$($berth inspect bench-detached | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Id"])')
mon=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["monitor"]["pid"])' "$work/berth-run/containers/$id/state.json")
cid=$($(pod crun crun) run -d --cgroup-parent $CG --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 "$img" sleep 60)
conmon=$($(pod crun crun) inspect --format '{{.State.ConmonPid}}' "$cid")
rss() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
echo "RSS (KiB): berth monitor $(rss "$mon")  conmon $(rss "$conmon")"
$berth rm -f bench-detached >/dev/null
$(pod crun crun) rm -f -t 0 "$cid" >/dev/null
INNER
unshare -m --propagation private bash "$work/inner.sh" </dev/null
python3 - "$work/result.json" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
med = {k: v["median"] * 1000 for k, v in r.items()}
for k, v in med.items():
    print(f"{k:12s} median {v:7.2f} ms  (mean {r[k]['mean']*1000:.2f} ± {r[k]['stddev']*1000:.2f})")
b = med["berth"]
print(f"ratio berth/podman-crun {b/med['podman-crun']:.2f}   berth/podman-runc {b/med['podman-runc']:.2f}")
PY
