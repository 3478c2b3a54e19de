#!/usr/bin/env bash
# Whole lifecycle of a container running `true` (create, start, wait,
# delete: `run`) for berth-runtime, crun and runc side by side in one
# hyperfine run; prints medians, ratios (berth/peer) and peak RSS.
#
# crun refuses hybrid cgroup hosts, so everything runs in a private mount
# namespace with an empty tmpfs over /sys/fs/cgroup/unified: the same
# (cgroup v1) conditions for all three.
#
# Usage: bench/runtime-lifecycle.sh [RUNS]   (as root; builds berth first)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-200}
bash scripts/install-deps >/dev/null
cargo build --release -q -p berth-runtime -p berth-testkit
BIN=${CARGO_TARGET_DIR:-$PWD/target}/x86_64-unknown-linux-gnu/release
BERTH=$BIN/berth-runtime
work=$(mktemp -d /dev/shm/berth-bench.XXXXXX)
cleanup() {
    for cg in /sys/fs/cgroup/*/berth-test/bench-lifecycle; do rmdir "$cg" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT
"$BIN/berth-testkit" bundle "$work/bench-lifecycle" true
export BERTH work RUNS
unshare -m --propagation private bash -s <<'INNER'
set -euo pipefail
mount -t tmpfs none /sys/fs/cgroup/unified
cd "$work/bench-lifecycle"
hyperfine -N --warmup 20 --runs "$RUNS" --export-json "$work/result.json" \
    -n berth-runtime "$BERTH --root $work/s-berth run bench" \
    -n crun "crun --root $work/s-crun run bench" \
    -n runc "runc --root $work/s-runc run bench" >/dev/null
rss() {  # median peak RSS in KiB over 21 runs
    for _ in $(seq 21); do /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1; done | sort -n | sed -n 11p
}
echo "peak RSS (KiB, median of 21): berth-runtime $(rss "$BERTH" --root "$work/s-berth" run bench)" \
     "crun $(rss crun --root "$work/s-crun" run bench)" "runc $(rss runc --root "$work/s-runc" run bench)"
INNER
python3 - "$work/result.json" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
med = {k: v["median"] * 1000 for k, v in r.items()}
for k, v in med.items():
    print(f"{k:14s} median {v:7.2f} ms  (mean {r[k]['mean']*1000:.2f} ± {r[k]['stddev']*1000:.2f})")
b = med["berth-runtime"]
print(f"ratio berth/crun {b/med['crun']:.2f}   berth/runc {b/med['runc']:.2f}")
PY
