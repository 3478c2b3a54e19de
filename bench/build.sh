#!/usr/bin/env bash
# `berth build` side by side with `buildah bud` in one run, both stores on
# tmpfs, both with --layers (podman build's default) so both keep and reuse
# a cache image per step:
#   small     FROM busybox + COPY a file + RUN a command, --no-cache
#   cached    the same build again, every step from the cache
#   large     FROM busybox + COPY of the `large` image's tree (the host
#             directories bench/storage/make-layout.sh packs: ~47k files,
#             ~650 MB) into one layer, --no-cache
# Medians over RUNS (hyperfine), ratios berth/buildah, and the CPU time
# (user+system) each used: wall time on a loaded machine favours the
# tool that runs more threads. Images of the
# uncached builds are removed between runs (hyperfine --prepare, not
# timed), so tmpfs does not fill up.
#
# crun refuses hybrid cgroup hosts, so everything runs in a private mount
# namespace with an empty tmpfs over /sys/fs/cgroup/unified; buildah runs
# RUN with runc (as berth's RUN runs with berth-runtime). Cgroups go under
# /berth-test/bench-build.
#
# Usage: bench/build.sh [RUNS] [LARGE_RUNS]   (as root; builds berth first,
#        BIN=DIR to use binaries built already)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-10}
LARGE_RUNS=${2:-5}
bash scripts/install-deps >/dev/null
if [[ -z ${BIN:-} ]]; then
    cargo build --release -q -p berth-cli -p berth-runtime -p berth-testkit -p berth-engine --bins
    BIN=${CARGO_TARGET_DIR:-$PWD/target}/x86_64-unknown-linux-gnu/release
fi
work=/dev/shm/berth-bench-build-$$
mkdir "$work"
CG=/berth-test/bench-build
cleanup() {
    buildah --root "$work/buildah/root" --runroot "$work/buildah/run" --storage-driver overlay \
        rm -a >/dev/null 2>&1 || true
    grep " $work" /proc/self/mountinfo | awk '{print $5}' | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
    for d in /sys/fs/cgroup/*$CG; do
        [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null || true
    done
    rm -rf "$work"
}
trap cleanup EXIT
"$BIN/berth-testkit" oci-layout "$work/layout" bench >/dev/null

# Contexts: a small file; the large tree (copied to tmpfs once).
mkdir -p "$work/small" "$work/large/tree"
echo "hello from the context" > "$work/small/f.txt"
cat > "$work/small/Containerfile" <<'EOF'
FROM busybox
COPY f.txt /f.txt
RUN cat /f.txt > /g.txt
EOF
tree=()
for p in usr/include usr/share/man usr/share/doc usr/lib/python3 usr/lib/python3.11 usr/lib/gcc \
         usr/share/perl usr/share/i18n usr/share/vim etc; do
    [[ -e /$p ]] && tree+=("$p")
done
tar -C / -cf - "${tree[@]}" 2>/dev/null | tar -C "$work/large/tree" -xf -
cat > "$work/large/Containerfile" <<'EOF'
FROM busybox
COPY tree /tree
EOF
echo "large tree: $(find "$work/large/tree" | wc -l) files, $(du -sh "$work/large/tree" | cut -f1)"

export BIN work RUNS LARGE_RUNS CG
cat > "$work/inner.sh" <<'INNER'
set -euo pipefail
mount -t tmpfs none /sys/fs/cgroup/unified
berth="$BIN/berth --root $work/berth --runroot $work/berth-run --runtime $BIN/berth-runtime --cgroup-parent $CG"
buildah="buildah --root $work/buildah/root --runroot $work/buildah/run --storage-driver overlay"
$berth copy "oci:$work/layout:bench" berth:busybox:latest >/dev/null
$buildah pull -q "oci:$work/layout:bench" >"$work/buildah-id"
$buildah tag "$(cat "$work/buildah-id")" localhost/busybox:latest
bb="bud --layers --runtime runc --cgroup-parent $CG --isolation oci -q"
# Keep only the base image: what an uncached run made is gone before the next.
berth_clean="$berth images -q | xargs -r $berth rmi -f; $berth copy oci:$work/layout:bench berth:busybox:latest"
buildah_clean="$buildah rmi -a -f; $buildah pull -q oci:$work/layout:bench; $buildah tag \$($buildah images -q | head -1) localhost/busybox:latest"
hyperfine -N --warmup 2 --runs "$RUNS" --export-json "$work/small.json" \
    -n berth-small "$berth build -q --no-cache -t small $work/small" \
    -n buildah-small "$buildah $bb --no-cache -t small $work/small" >/dev/null
# Fill the caches, then rebuild from them.
$berth build -q -t small "$work/small" >/dev/null
$buildah $bb -t small "$work/small" >/dev/null
hyperfine -N --warmup 3 --runs "$RUNS" --export-json "$work/cached.json" \
    -n berth-cached "$berth build -q -t small $work/small" \
    -n buildah-cached "$buildah $bb -t small $work/small" >/dev/null
hyperfine --warmup 1 --runs "$LARGE_RUNS" --export-json "$work/large.json" \
    --prepare "$berth_clean >/dev/null 2>&1; $buildah_clean >/dev/null 2>&1" \
    -n berth-large "$berth build -q --no-cache -t large $work/large" \
    -n buildah-large "$buildah $bb --no-cache -t large $work/large" >/dev/null
$berth images -q | xargs -r $berth rmi -f >/dev/null 2>&1 || true
grep " $work/berth" /proc/self/mountinfo | awk '{print $5}' | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
$buildah rmi -a -f >/dev/null 2>&1 || true
INNER
unshare -m --propagation private bash "$work/inner.sh" </dev/null
python3 - "$work" <<'PY'
import json, sys
work = sys.argv[1]
targets = {"small": 0.5, "cached": 0.3, "large": 0.5}
for case, target in targets.items():
    r = {x["command"]: x for x in json.load(open(f"{work}/{case}.json"))["results"]}
    med = {k: v["median"] * 1000 for k, v in r.items()}
    for k, v in med.items():
        sd = (r[k]["stddev"] or 0) * 1000
        print(f"{k:16s} median {v:9.1f} ms  (mean {r[k]['mean']*1000:.1f} ± {sd:.1f}, {len(r[k]['times'])} runs)")
    # CPU (user+system, mean): on a shared machine wall time favours the
    # tool with more threads; the CPU each needs is the other half.
    cpu = {k: (v["user"] + v["system"]) * 1000 for k, v in r.items()}
    print(f"  cpu ms: berth {cpu[f'berth-{case}']:.0f}, buildah {cpu[f'buildah-{case}']:.0f}, "
          f"ratio {cpu[f'berth-{case}'] / cpu[f'buildah-{case}']:.2f}")
    ratio = med[f"berth-{case}"] / med[f"buildah-{case}"]
    extra = ""
    if case == "cached":
        extra = f", berth < 100 ms: {'yes' if med['berth-cached'] < 100 else 'NO'}"
    print(f"  {case}: berth/buildah {ratio:.2f} (target <= {target}: {'met' if ratio <= target else 'MISSED'}{extra})")
PY
