#!/usr/bin/env bash
# Layer apply and mount benchmark for berth-storage, side by side with its
# peers in one run: berth (apply_layout example, overlay driver), `umoci
# unpack` of the same OCI layout, and `tar -xzf` of each layer in sequence
# (the floor). Medians over RUNS interleaved rounds, ratios berth/peer.
# Scratch space is tmpfs: ext4 here is slow to create files right after
# deleting many, which would measure the disk, not the tools.
#
#   bench/storage/run.sh   # env: RUNS=5 LAYOUT=/var/tmp/berth-bench-layout SCRATCH=/dev/shm/berth-bench
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
layout=${LAYOUT:-/var/tmp/berth-bench-layout}
scratch=${SCRATCH:-/dev/shm/berth-bench}
runs=${RUNS:-5}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$repo/target}

for tool in umoci tar python3 bc; do
    command -v "$tool" >/dev/null || { echo "missing $tool" >&2; exit 1; }
done
"$here/make-layout.sh" "$layout"
# Ask cargo where the examples are: a configured build target moves them.
bin=$(cd "$repo" && cargo build -q --release -p berth-storage --examples --message-format=json |
    python3 -c '
import json, os, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "apply_layout" and m.get("executable"):
        print(os.path.dirname(m["executable"]))
')
[[ -x $bin/apply_layout && -x $bin/mount_bench ]] || { echo "examples not built" >&2; exit 1; }

rm -rf "${scratch:?}"
mkdir -p "$scratch"
blobs=$(python3 - "$layout" <<'PY'
import json, sys
layout = sys.argv[1]
index = json.load(open(f"{layout}/index.json"))
digest = index["manifests"][0]["digest"].split(":")[1]
manifest = json.load(open(f"{layout}/blobs/sha256/{digest}"))
print(" ".join(f"{layout}/blobs/sha256/" + l["digest"].split(":")[1] for l in manifest["layers"]))
PY
)
{
    echo 'set -e'
    echo 'mkdir -p "$1/rootfs"'
    echo "for blob in $blobs; do tar -xzf \"\$blob\" -C \"\$1/rootfs\"; done"
} > "$scratch/tar-layers.sh"

count=$(echo "$blobs" | wc -w)
echo "layout: $layout ($count gzip layers, $(du -sh --apparent-size "$layout" | cut -f1) compressed)"

# A first berth run warms the page cache and measures the result's size.
"$bin/apply_layout" "$layout" "$scratch/probe" overlay >/dev/null
echo "unpacked: $(du -sh --apparent-size "$scratch/probe/overlay" | cut -f1), $(find "$scratch/probe/overlay" | wc -l) files and directories"
rm -rf "$scratch/probe"

# Interleaved rounds (berth, umoci, tar, berth, …) rather than one tool's
# runs after the other's: on a shared machine, load that comes and goes
# then hits every tool alike. Output is deleted outside the timing.
declare -A times
for ((round = 1; round <= runs; round++)); do
    for tool in berth umoci tar; do
        rm -rf "$scratch/out" && mkdir -p "$scratch/out"
        case $tool in
            berth) cmd=("$bin/apply_layout" "$layout" "$scratch/out/store" overlay) ;;
            umoci) cmd=(umoci unpack --image "$layout:bench" "$scratch/out/bundle") ;;
            tar) cmd=(bash "$scratch/tar-layers.sh" "$scratch/out") ;;
        esac
        start=$(date +%s.%N)
        "${cmd[@]}" >/dev/null
        end=$(date +%s.%N)
        times[$tool]+="$(echo "$end - $start" | bc) "
    done
    last() { awk '{print $NF}' <<<"$1"; }
    echo "round $round: berth $(last "${times[berth]}") s, umoci $(last "${times[umoci]}") s, tar $(last "${times[tar]}") s"
done
rm -rf "$scratch/out"

python3 - "${times[berth]}" "${times[umoci]}" "${times[tar]}" <<'PY'
import statistics, sys
t = {k: [float(x) for x in v.split()] for k, v in zip(("berth", "umoci", "tar"), sys.argv[1:])}
med = {k: statistics.median(v) for k, v in t.items()}
print()
print(f"apply all layers, {len(t['berth'])} interleaved rounds, median seconds:")
for k in ("berth", "umoci", "tar"):
    print(f"  {k:6} {med[k]:7.3f}  (min {min(t[k]):.3f}, max {max(t[k]):.3f})")
print(f"  berth/umoci = {med['berth'] / med['umoci']:.2f}  (target <= 0.50)")
print(f"  berth/tar   = {med['berth'] / med['tar']:.2f}  (target <= 1.20)")
PY

echo
mkdir -p "$scratch/mount"
"$bin/mount_bench" "$scratch/mount" 300 overlay
rm -rf "${scratch:?}"
