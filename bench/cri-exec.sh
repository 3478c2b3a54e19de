#!/usr/bin/env bash
# The time from the `Exec` request to the first byte of `echo hi` on the
# stdout channel (the streaming URL opened as a WebSocket with
# `v4.channel.k8s.io`, which kubelet's streaming server in containerd
# 1.6 and berthd's both speak), and `ExecSync` of `echo hi` as a second
# figure: berthd against containerd's CRI plugin, one client, one run,
# one running pod each. Prints medians and ratios (berthd/containerd;
# target <= 0.5), then berthd's RSS with 20 idle exec streams open.
#
# Usage: bench/cri-exec.sh [RUNS [STREAMS]]   (as root)
RUNS=${1:-30}
STREAMS=${2:-20}
source "$(dirname "$0")/cri-env.sh"
"$CLIENT" exec "$RUNS" "$CG" "$work/logs" \
    "berthd=$work/berthd.sock=$IMAGE" "containerd=$C/containerd.sock=$IMAGE"
"$CLIENT" rss-exec "$STREAMS" "$berthd_pid" "$CG" "$work/logs" "$work/berthd.sock" "$IMAGE"
