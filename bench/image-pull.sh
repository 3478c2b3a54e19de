#!/usr/bin/env bash
# berth pull vs podman pull vs skopeo copy + umoci unpack, and berth
# inspect docker:// vs skopeo inspect, side by side against one local
# registry (Debian's docker-registry on 127.0.0.1, plain HTTP). Scratch
# lives on tmpfs (/dev/shm): ext4 here is slow to refill after deletes.
# Reports medians and ratios (peer / berth).
#
#   bench/image-pull.sh [RUNS]        (default 5; needs root)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
berth=${BERTH:-${CARGO_TARGET_DIR:-target}/x86_64-unknown-linux-gnu/release/berth}
[[ -x $berth ]] || cargo build --release -p berth-cli
layout=/var/tmp/berth-bench-layout
bash bench/storage/make-layout.sh "$layout"

scratch=$(mktemp -d /dev/shm/berth-bench-image.XXXXXX)
regpid=
cleanup() {
    if [[ -n $regpid ]]; then kill "$regpid" 2>/dev/null || true; wait "$regpid" 2>/dev/null || true; fi
    for m in $(awk -v s="$scratch" '$2 ~ "^"s {print $2}' /proc/mounts | sort -r); do umount -l "$m" || true; done
    rm -rf "$scratch"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
addr=127.0.0.1:$port
cat > "$scratch/registry.yml" <<YML
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $scratch/registry
http:
  addr: $addr
YML
docker-registry serve "$scratch/registry.yml" >/dev/null 2>&1 &
regpid=$!
for _ in $(seq 100); do (echo > /dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.05; done
skopeo copy -q --dest-tls-verify=false "oci:$layout:bench" "docker://$addr/bench/big:1"
image=$addr/bench/big:1
echo "image: $image ($(du -sh "$layout/blobs" | cut -f1) compressed)" >&2

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
now() { date +%s.%N; }
declare -A times
time_it() { # name, command...
    local name=$1; shift
    local t0 t1
    t0=$(now); "$@" >/dev/null 2>"$scratch/err" || { cat "$scratch/err" >&2; exit 1; }; t1=$(now)
    times[$name]+="$(echo "$t1 - $t0" | bc) "
}

for i in $(seq "$runs"); do
    d=$scratch/run$i; mkdir -p "$d"
    time_it berth "$berth" --root "$d/berth" --runroot "$d/berth-run" pull -q --tls-verify=false "$image"
    time_it podman podman --root "$d/podman" --runroot "$d/podman-run" --storage-driver overlay pull -q --tls-verify=false "$image"
    time_it skopeo_umoci sh -c "skopeo copy -q --src-tls-verify=false docker://$image oci:$d/oci:x && umoci unpack --image $d/oci:x $d/bundle"
    # Free the run's space (tmpfs) before the next.
    "$berth" --root "$d/berth" rmi -f "$image" >/dev/null 2>&1 || true
    podman --root "$d/podman" --runroot "$d/podman-run" --storage-driver overlay rmi -af >/dev/null 2>&1 || true
    rm -rf "$d"
done
for i in $(seq $((runs * 4))); do
    time_it berth_inspect "$berth" inspect --tls-verify=false "docker://$image"
    time_it skopeo_inspect skopeo inspect --tls-verify=false "docker://$image"
done

report() { # name
    echo "${times[$1]}" | tr ' ' '\n' | grep . | median
}
b=$(report berth); p=$(report podman); s=$(report skopeo_umoci)
bi=$(report berth_inspect); si=$(report skopeo_inspect)
printf '%-32s %8.3f s\n' "berth pull" "$b" "podman pull" "$p" "skopeo copy + umoci unpack" "$s"
printf 'ratio podman/berth: %.2fx   skopeo+umoci/berth: %.2fx\n' "$(echo "$p / $b" | bc -l)" "$(echo "$s / $b" | bc -l)"
printf '%-32s %8.1f ms\n' "berth inspect docker://" "$(echo "$bi * 1000" | bc -l)" "skopeo inspect" "$(echo "$si * 1000" | bc -l)"
printf 'ratio skopeo/berth inspect: %.2fx\n' "$(echo "$si / $bi" | bc -l)"
