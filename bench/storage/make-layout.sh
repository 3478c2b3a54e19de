#!/usr/bin/env bash
# Build (once) an OCI image layout of six gzip layers made from host
# directories: a few hundred MB and tens of thousands of files, like a
# real distribution image. Cached at $1 (default /var/tmp/berth-bench-layout).
set -euo pipefail
out=${1:-/var/tmp/berth-bench-layout}
if [[ -f $out/index.json ]]; then
    echo "layout cached at $out" >&2
    exit 0
fi
layers=(
    "usr/include"
    "usr/share/man"
    "usr/share/doc"
    "usr/lib/python3 usr/lib/python3.11"
    "usr/lib/gcc"
    "usr/share/perl usr/share/i18n usr/share/vim etc"
)
tmp=$out.tmp
rm -rf "$tmp"
mkdir -p "$tmp/blobs/sha256"
diff_ids=()
digests=()
sizes=()
for paths in "${layers[@]}"; do
    existing=()
    for p in $paths; do [[ -e /$p ]] && existing+=("$p"); done
    # shellcheck disable=SC2086
    tar -C / --numeric-owner --xattrs -cf "$tmp/layer.tar" "${existing[@]}" 2>/dev/null || true
    diff_ids+=("sha256:$(sha256sum < "$tmp/layer.tar" | cut -d' ' -f1)")
    gzip -6 -n -c "$tmp/layer.tar" > "$tmp/layer.tar.gz"
    d=$(sha256sum < "$tmp/layer.tar.gz" | cut -d' ' -f1)
    digests+=("sha256:$d")
    sizes+=("$(stat -c %s "$tmp/layer.tar.gz")")
    mv "$tmp/layer.tar.gz" "$tmp/blobs/sha256/$d"
    rm -f "$tmp/layer.tar"
    echo "layer $paths: sha256:$d" >&2
done
python3 - "$tmp" "${diff_ids[*]}" "${digests[*]}" "${sizes[*]}" <<'PY'
import hashlib, json, os, sys
out, diff_ids, digests, sizes = sys.argv[1], sys.argv[2].split(), sys.argv[3].split(), sys.argv[4].split()
def blob(data):
    d = hashlib.sha256(data).hexdigest()
    open(os.path.join(out, "blobs/sha256", d), "wb").write(data)
    return "sha256:" + d, len(data)
config = json.dumps({"architecture": "amd64", "os": "linux",
    "config": {"Cmd": ["sh"]},
    "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()
cd, cs = blob(config)
manifest = json.dumps({"schemaVersion": 2,
    "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": cs},
    "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": d, "size": int(s)}
               for d, s in zip(digests, sizes)]}).encode()
md, ms = blob(manifest)
json.dump({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
    "digest": md, "size": ms, "annotations": {"org.opencontainers.image.ref.name": "bench"}}]},
    open(os.path.join(out, "index.json"), "w"))
open(os.path.join(out, "oci-layout"), "w").write('{"imageLayoutVersion":"1.0.0"}')
PY
mv "$tmp" "$out"
echo "layout written to $out" >&2
