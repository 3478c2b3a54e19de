#!/usr/bin/env bash
# Whole lifecycle of a container running `true` (create, start, wait,
# delete: `run`) for berth-runtime, crun and runc side by side in one
# hyperfine run; prints medians, ratios (berth/peer) and peak RSS.
#
# A second run does the same with the seccomp profile podman generates by
# default (crates/runtime/tests/fixtures/podman-seccomp-oci.json, 437
# syscall names) for berth-runtime and crun, beside berth-runtime without
# it, and a third times berth-runtime with an empty program cache (every
# start compiles the profile with libseccomp).
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
    for cg in /sys/fs/cgroup/*/berth-test/bench-{lifecycle,seccomp}; do rmdir "$cg" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT
"$BIN/berth-testkit" bundle "$work/bench-lifecycle" true
"$BIN/berth-testkit" bundle "$work/bench-seccomp" true
python3 - "$work/bench-seccomp/config.json" crates/runtime/tests/fixtures/podman-seccomp-oci.json <<'PY'
import json, sys
config = json.load(open(sys.argv[1]))
config["linux"]["seccomp"] = json.load(open(sys.argv[2]))
json.dump(config, open(sys.argv[1], "w"))
PY
export BERTH work RUNS
# The inner script is a file, not bash's stdin: the runtimes under test
# inherit stdin and could eat the rest of it.
cat > "$work/inner.sh" <<'INNER'
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
cd "$work/bench-seccomp"
hyperfine -N --warmup 20 --runs "$RUNS" --export-json "$work/result-seccomp.json" \
    -n berth-runtime "$BERTH --root $work/s-berth run -b $work/bench-lifecycle bench" \
    -n berth-runtime+seccomp "$BERTH --root $work/s-berth run bench" \
    -n crun+seccomp "crun --root $work/s-crun run bench" >/dev/null
# The cache lives in /run/berth-runtime/seccomp-cache; move it aside (not
# delete: other users' entries stay) and time starts that must compile.
cache=/run/berth-runtime/seccomp-cache
[ -d "$cache" ] && mv "$cache" "$cache.bench-$$"
hyperfine -N --warmup 5 --runs $(( RUNS / 4 + 1 )) --export-json "$work/result-nocache.json" \
    --prepare "rm -rf $cache" \
    -n berth-runtime+seccomp-uncached "$BERTH --root $work/s-berth run bench" >/dev/null
rm -rf "$cache"
[ -d "$cache.bench-$$" ] && mv "$cache.bench-$$" "$cache"
echo "peak RSS with seccomp (KiB, median of 21): berth-runtime $(rss "$BERTH" --root "$work/s-berth" run bench)" \
     "crun $(rss crun --root "$work/s-crun" run bench)"
INNER
unshare -m --propagation private bash "$work/inner.sh" </dev/null
python3 - "$work/result.json" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
med = {k: v["median"] * 1000 for k, v in r.items()}
for k, v in med.items():
    print(f"{k:14s} median {v:7.2f} ms  (mean {r[k]['mean']*1000:.2f} ± {r[k]['stddev']*1000:.2f})")
b = med["berth-runtime"]
print(f"ratio berth/crun {b/med['crun']:.2f}   berth/runc {b/med['runc']:.2f}")
PY
python3 - "$work/result-seccomp.json" "$work/result-nocache.json" <<'PY'
import json, sys
r = {x["command"]: x for f in sys.argv[1:] for x in json.load(open(f))["results"]}
med = {k: v["median"] * 1000 for k, v in r.items()}
print("with podman's default seccomp profile:")
for k, v in med.items():
    print(f"{k:32s} median {v:7.2f} ms  (mean {r[k]['mean']*1000:.2f} ± {r[k]['stddev']*1000:.2f})")
s = med["berth-runtime+seccomp"]
print(f"ratio berth+seccomp/berth {s/med['berth-runtime']:.2f} (target <= 1.10)   "
      f"berth+seccomp/crun+seccomp {s/med['crun+seccomp']:.2f} (target <= 0.80)")
# CPU time (user + system, means) shows the same on a busy machine, where
# wall-clock medians mostly measure the other load.
cpu = {k: (v["user"] + v["system"]) * 1000 for k, v in r.items()}
c = cpu["berth-runtime+seccomp"]
print(f"cpu ms: " + "  ".join(f"{k} {v:.2f}" for k, v in cpu.items()))
print(f"cpu ratio berth+seccomp/berth {c/cpu['berth-runtime']:.2f}   "
      f"berth+seccomp/crun+seccomp {c/cpu['crun+seccomp']:.2f}")
PY
