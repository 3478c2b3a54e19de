#!/usr/bin/env bash
# Rootless `berth run --rm IMAGE true` against rootless `podman run --rm`,
# as the same ordinary user, side by side in one hyperfine run: both with
# `--network none`, and both with their default network (berth: pasta;
# podman 4.3: slirp4netns). Own stores (overlay in the user namespace for
# both), podman with cgroupfs and file events. Prints medians and ratios
# (berth/podman); the target is at most 0.25x podman for each.
#
# A throw-away user with its own subordinate ids runs everything; the user,
# its home, its /etc/subuid and /etc/subgid lines and its processes go
# afterwards. pasta needs /dev/net/tun open to the user (udev's 0666; this
# VM has no udev): the mode is set for the run and put back.
# crun refuses hybrid cgroup hosts, so everything runs in a private mount
# namespace with an empty tmpfs over /sys/fs/cgroup/unified, as in
# engine-run.sh.
#
# Usage: bench/rootless-run.sh [RUNS]   (as root; builds berth first)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-30}
bash scripts/install-deps >/dev/null
cargo build --release -q -p berth-cli -p berth-runtime -p berth-testkit -p berth-engine --bins
BIN=${CARGO_TARGET_DIR:-$PWD/target}/x86_64-unknown-linux-gnu/release
user=brlbench$$
work=/dev/shm/berth-bench-rootless-$$
tun_mode=$(stat -c %a /dev/net/tun)
cleanup() {
    for pid in $(ps -u "$user" -o pid= 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
    sleep 0.2
    userdel -r -f "$user" >/dev/null 2>&1 || true
    for f in /etc/subuid /etc/subgid; do
        grep -v "^$user:" "$f" > "$f.bench-tmp" || true
        mv "$f.bench-tmp" "$f"
    done
    chmod "$tun_mode" /dev/net/tun
    rm -rf "$work"
}
trap cleanup EXIT
useradd -m -s /bin/sh "$user"
for f in /etc/subuid /etc/subgid; do
    grep -v "^$user:" "$f" > "$f.bench-tmp" || true
    end=$(awk -F: 'BEGIN{m=100000} {if ($2+$3>m) m=$2+$3} END{print m}' "$f.bench-tmp")
    echo "$user:$end:65536" >> "$f.bench-tmp"
    mv "$f.bench-tmp" "$f"
done
chmod 666 /dev/net/tun
mkdir -m 755 "$work"
mkdir -m 700 "$work/xdg"
chown "$user:" "$work/xdg"
"$BIN/berth-testkit" oci-layout "$work/layout" bench >/dev/null
chmod -R a+rX "$work/layout"
export BIN work RUNS user
cat > "$work/inner.sh" <<'INNER'
set -euo pipefail
mount -t tmpfs none /sys/fs/cgroup/unified
as_user() {
    setpriv --reuid "$user" --regid "$user" --init-groups \
        env -i HOME="/home/$user" USER="$user" PATH=/usr/sbin:/usr/bin:/sbin:/bin \
        XDG_RUNTIME_DIR="$work/xdg" "$@"
}
berth="$BIN/berth --runtime $BIN/berth-runtime"
pod="podman --root /home/$user/podman-root --runroot $work/xdg/podman-run --storage-driver overlay --cgroup-manager cgroupfs --events-backend file"
as_user $berth copy "oci:$work/layout:bench" berth:busybox:latest >/dev/null
img=$(as_user $pod pull -q "oci:$work/layout:bench")
# Once each before timing: the first run makes the user namespace.
as_user $berth run --rm --network none busybox true
as_user $pod run --rm --network none "$img" true
as_user hyperfine -N --warmup 3 --runs "$RUNS" --export-json "$work/xdg/result.json" \
    -n berth-none "$berth run --rm --network none busybox true" \
    -n podman-none "$pod run --rm --network none $img true" \
    -n berth-default "$berth run --rm busybox true" \
    -n podman-default "$pod run --rm $img true" >/dev/null
INNER
unshare -m --propagation private bash "$work/inner.sh" </dev/null
python3 - "$work/xdg/result.json" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
med = {k: v["median"] * 1000 for k, v in r.items()}
for k, v in med.items():
    print(f"{k:15s} median {v:7.2f} ms")
for what in ("none", "default"):
    print(f"ratio berth/podman --network {what}: {med['berth-' + what] / med['podman-' + what]:.2f}")
PY
