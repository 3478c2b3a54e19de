#!/usr/bin/env bash
# Inventory speed of berth-scan, side by side with its floor in one run:
# the floor is `dpkg-query -W` over the tree's dpkg database plus one
# `find` over the whole tree (what any inventory must at least do: read
# the package database and visit every file). Two trees: the `large` test
# image (bench/storage/make-layout.sh, six layers, tens of thousands of
# files) imported into a scratch store and mounted by berth, and a
# debootstrap bookworm tree (the scanners' test tree). Warm: medians over
# RUNS interleaved rounds; cold: COLD_RUNS rounds, the page cache dropped
# before each run. Target: warm scan at most 1.5x the floor.
#
#   bench/scan.sh   # env: RUNS=7 COLD_RUNS=3 LAYOUT=/var/tmp/berth-bench-layout
#                   #      DEBIAN_TREE=/var/tmp/berth-scan-cache/bookworm
#                   #      SCRATCH=/dev/shm/berth-bench-scan
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
runs=${RUNS:-7}
cold_runs=${COLD_RUNS:-3}
layout=${LAYOUT:-/var/tmp/berth-bench-layout}
debian=${DEBIAN_TREE:-/var/tmp/berth-scan-cache/bookworm}
scratch=${SCRATCH:-/dev/shm/berth-bench-scan}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$repo/target}

for tool in dpkg-query find python3; do
    command -v "$tool" >/dev/null || { echo "missing $tool" >&2; exit 1; }
done
[[ $(id -u) == 0 ]] || { echo "needs root (mounts, drop_caches)" >&2; exit 1; }
"$here/storage/make-layout.sh" "$layout"
if [[ ! -f $debian/var/lib/dpkg/status ]]; then
    # The scanners' test builds and caches it (debootstrap, Debian's mirror).
    (cd "$repo" && cargo test -q -p berth-scan --test dpkg_debootstrap >/dev/null)
fi
bins=$(cd "$repo" && cargo build -q --release -p berth-scan --example scan_tree -p berth-cli --bin berth \
    --message-format=json | python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] in ("scan_tree", "berth") and m.get("executable"):
        print(m["executable"])
')
scan_tree=$(grep '/scan_tree$' <<<"$bins")
berth=$(grep '/berth$' <<<"$bins")

b() { "$berth" --root "$scratch/store" --runroot "$scratch/run" "$@"; }
cleanup() {
    b umount --force large >/dev/null 2>&1 || true
    if grep -q " $scratch/" /proc/mounts; then
        echo "mounts left under $scratch: not removing it" >&2
        return
    fi
    rm -rf "$scratch"
}
trap cleanup EXIT
cleanup
mkdir -p "$scratch"
b copy "oci:$layout:bench" berth:large >/dev/null
large=$(b mount large)

ms() { python3 -c 'import sys; print(f"{(int(sys.argv[2]) - int(sys.argv[1])) / 1e6:.1f}")' "$1" "$2"; }
timed() {
    local t0 t1
    t0=$(date +%s%N)
    "$@" >/dev/null 2>&1 || true
    t1=$(date +%s%N)
    ms "$t0" "$t1"
}
floor() {
    dpkg-query --admindir "$1/var/lib/dpkg" -W >/dev/null 2>&1 || true
    find "$1" >/dev/null
}
drop() { sync; echo 3 > /proc/sys/vm/drop_caches; }
median() { python3 -c 'import statistics, sys; print(f"{statistics.median(map(float, sys.argv[1:])):.1f}")' "$@"; }
ratio() { python3 -c 'import sys; print(f"{float(sys.argv[1]) / float(sys.argv[2]):.2f}")' "$1" "$2"; }

report() {
    local name=$1 tree=$2 s f e
    local -a scan=() flo=() end=() cscan=() cflo=()
    echo "$name: $tree: $(find "$tree" | wc -l) files and directories, $("$scan_tree" "$tree" --quiet)"
    floor "$tree"; "$scan_tree" "$tree" --quiet >/dev/null
    for _ in $(seq "$runs"); do
        scan+=("$(timed "$scan_tree" "$tree" --quiet)")
        flo+=("$(timed floor "$tree")")
        [[ $name == large ]] && end+=("$(timed b scan large)")
    done
    for _ in $(seq "$cold_runs"); do
        drop; cscan+=("$(timed "$scan_tree" "$tree" --quiet)")
        drop; cflo+=("$(timed floor "$tree")")
    done
    s=$(median "${scan[@]}"); f=$(median "${flo[@]}")
    echo "  warm: scan $s ms, floor $f ms, ratio $(ratio "$s" "$f") (target <= 1.5)"
    if [[ $name == large ]]; then
        e=$(median "${end[@]}")
        echo "  warm: berth scan large (mount, scan, image info, layers) $e ms, ratio $(ratio "$e" "$f")"
    fi
    s=$(median "${cscan[@]}"); f=$(median "${cflo[@]}")
    echo "  cold: scan $s ms, floor $f ms, ratio $(ratio "$s" "$f")"
}

report large "$large"
report debootstrap "$debian"
