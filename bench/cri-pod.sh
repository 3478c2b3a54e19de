#!/usr/bin/env bash
# A pod with one busybox container (`sleep 3600`) from RunPodSandbox to
# running ("up"), then the container stopped and removed and the pod
# stopped and removed ("down"): berthd against containerd's CRI plugin
# (runc), both release or Debian builds, driven by one client
# (crates/cri/examples/cri-bench.rs) in one run, runs interleaved.
# Prints medians and ratios (berthd/containerd; target <= 0.5), then
# berthd's RSS idle and with 20 pods (target idle <= 15 MB).
#
# Usage: bench/cri-pod.sh [RUNS]   (as root)
RUNS=${1:-20}
source "$(dirname "$0")/cri-env.sh"
"$CLIENT" rss-pods 20 "$berthd_pid" "$CG" "$work/logs" "$work/berthd.sock" "$IMAGE"
echo "containerd RSS: $(rss_kib "$containerd_pid") KiB (shims: one process per pod besides)"
"$CLIENT" pod "$RUNS" "$CG" "$work/logs" \
    "berthd=$work/berthd.sock=$IMAGE" "containerd=$C/containerd.sock=$IMAGE"
