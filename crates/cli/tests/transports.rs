//! Interop both ways: what berth writes as oci:, oci-archive:,
//! docker-archive: and dir: is read by skopeo, umoci and podman; what
//! skopeo writes, berth reads; conversions when asked.

mod common;
use berth_testkit::require;
use common::*;
use std::process::Command;

fn prerequisites() -> Result<(), String> {
    if !berth_testkit::is_root() {
        return Err("needs root".into());
    }
    tools_present(&["skopeo", "umoci"])
}

#[test]
fn oci_layout_round_trip_keeps_digests_and_umoci_reads_it() {
    let pre = prerequisites();
    require!(pre.is_ok(), pre.unwrap_err());
    let src = tempfile::tempdir().unwrap();
    let layout = berth_testkit::write_oci_layout(src.path(), "v1").unwrap();
    let b = Berth::new();
    let out = b.dir.path().join("copy");
    let digest = b.ok(&[
        "copy",
        "-q",
        &format!("oci:{}:v1", src.path().display()),
        &format!("oci:{}:v2", out.display()),
    ]);
    assert_eq!(digest.trim(), layout.manifest_digest);
    let sk: serde_json::Value = serde_json::from_str(&run_ok(
        Command::new("skopeo")
            .args(["inspect"])
            .arg(format!("oci:{}:v2", out.display())),
    ))
    .unwrap();
    assert_eq!(sk["Digest"], layout.manifest_digest.as_str());
    let bundle = b.dir.path().join("bundle");
    run_ok(
        Command::new("umoci")
            .args(["unpack", "--image"])
            .arg(format!("{}:v2", out.display()))
            .arg(&bundle),
    );
    assert!(bundle.join("rootfs/bin/busybox").exists());
    // dir: there and back.
    let d = b.dir.path().join("dir");
    b.ok(&[
        "copy",
        "-q",
        &format!("oci:{}:v2", out.display()),
        &format!("dir:{}", d.display()),
    ]);
    run_ok(
        Command::new("skopeo")
            .args(["inspect"])
            .arg(format!("dir:{}", d.display())),
    );
    let back = b.ok(&[
        "copy",
        "-q",
        &format!("dir:{}", d.display()),
        &format!("oci:{}:v3", out.display()),
    ]);
    assert_eq!(back.trim(), layout.manifest_digest);
}

#[test]
fn archives_interoperate_with_skopeo_and_storage() {
    let pre = prerequisites();
    require!(pre.is_ok(), pre.unwrap_err());
    let src = tempfile::tempdir().unwrap();
    let layout = berth_testkit::write_oci_layout(src.path(), "v1").unwrap();
    let b = Berth::new();
    // skopeo writes a docker-archive; berth loads it.
    let skd = b.dir.path().join("sk-docker.tar");
    run_ok(
        Command::new("skopeo")
            .args(["copy", "-q"])
            .arg(format!("oci:{}:v1", src.path().display()))
            .arg(format!("docker-archive:{}:example.com/bb:1", skd.display())),
    );
    let out = b.ok(&["load", "-q", "-i", skd.to_str().unwrap()]);
    assert!(out.contains("example.com/bb:1"), "{out}");
    let img: serde_json::Value =
        serde_json::from_str(&b.ok(&["inspect", "example.com/bb:1"])).unwrap();
    assert_eq!(
        format!("sha256:{}", img[0]["Id"].as_str().unwrap()),
        layout.config_digest
    );
    // skopeo writes an oci-archive; berth loads it.
    let sko = b.dir.path().join("sk-oci.tar");
    run_ok(
        Command::new("skopeo")
            .args(["copy", "-q"])
            .arg(format!("oci:{}:v1", src.path().display()))
            .arg(format!("oci-archive:{}:v9", sko.display())),
    );
    b.ok(&[
        "copy",
        "-q",
        &format!("oci-archive:{}:v9", sko.display()),
        "berth:fromoci:9",
    ]);
    b.ok(&["inspect", "fromoci:9"]);
    // berth saves both formats; skopeo and umoci read them.
    let bd = b.dir.path().join("berth-docker.tar");
    b.ok(&["save", "-q", "-o", bd.to_str().unwrap(), "example.com/bb:1"]);
    let sk: serde_json::Value = serde_json::from_str(&run_ok(
        Command::new("skopeo")
            .args(["inspect"])
            .arg(format!("docker-archive:{}", bd.display())),
    ))
    .unwrap();
    assert_eq!(sk["Layers"].as_array().unwrap().len(), 1);
    let bo = b.dir.path().join("berth-oci.tar");
    b.ok(&[
        "save",
        "-q",
        "--format",
        "oci-archive",
        "-o",
        bo.to_str().unwrap(),
        "example.com/bb:1",
    ]);
    let unpacked = b.dir.path().join("umoci-layout");
    run_ok(
        Command::new("skopeo")
            .args(["copy", "-q"])
            .arg(format!("oci-archive:{}", bo.display()))
            .arg(format!("oci:{}:x", unpacked.display())),
    );
    run_ok(
        Command::new("umoci")
            .args(["unpack", "--image"])
            .arg(format!("{}:x", unpacked.display()))
            .arg(b.dir.path().join("bundle2")),
    );
    assert!(b.dir.path().join("bundle2/rootfs/bin/busybox").exists());
    // A second store loads berth's own archive.
    let b2 = Berth::new();
    let out = b2.ok(&["load", "-q", "-i", bd.to_str().unwrap()]);
    assert!(out.contains("example.com/bb:1"), "{out}");
    let mnt = b2.ok(&["mount", "example.com/bb:1"]);
    assert!(std::path::Path::new(mnt.trim())
        .join("bin/busybox")
        .exists());
    b2.ok(&["umount", "example.com/bb:1"]);
}

#[test]
fn podman_loads_berth_docker_archive() {
    let pre = prerequisites().and_then(|_| tools_present(&["podman"]));
    require!(pre.is_ok(), pre.unwrap_err());
    let src = tempfile::tempdir().unwrap();
    berth_testkit::write_oci_layout(src.path(), "v1").unwrap();
    let b = Berth::new();
    let tar = b.dir.path().join("out.tar");
    b.ok(&[
        "copy",
        "-q",
        &format!("oci:{}:v1", src.path().display()),
        &format!("docker-archive:{}:localhost/bbtest:1", tar.display()),
    ]);
    let proot = b.dir.path().join("podman-root");
    let prun = b.dir.path().join("podman-run");
    let out = run_ok(
        Command::new("podman")
            .arg("--root")
            .arg(&proot)
            .arg("--runroot")
            .arg(&prun)
            .args(["--storage-driver", "vfs", "load", "-i"])
            .arg(&tar),
    );
    assert!(out.contains("localhost/bbtest:1"), "{out}");
    let _ = Command::new("podman")
        .arg("--root")
        .arg(&proot)
        .arg("--runroot")
        .arg(&prun)
        .args(["--storage-driver", "vfs", "rmi", "-a", "-f"])
        .output();
}

#[test]
fn conversions_docker_oci_and_zstd() {
    let pre = prerequisites();
    require!(pre.is_ok(), pre.unwrap_err());
    let src = tempfile::tempdir().unwrap();
    let layout = berth_testkit::write_oci_layout(src.path(), "v1").unwrap();
    let b = Berth::new();
    let out = b.dir.path().join("conv");
    // skopeo reads only OCI manifests from an OCI layout: use dir: here.
    let dd = b.dir.path().join("docker-dir");
    let d = b.ok(&[
        "copy",
        "-q",
        "--format",
        "v2s2",
        &format!("oci:{}:v1", src.path().display()),
        &format!("dir:{}", dd.display()),
    ]);
    assert_ne!(d.trim(), layout.manifest_digest);
    let raw = run_ok(
        Command::new("skopeo")
            .args(["inspect", "--raw"])
            .arg(format!("dir:{}", dd.display())),
    );
    assert!(
        raw.contains("application/vnd.docker.distribution.manifest.v2+json"),
        "{raw}"
    );
    b.ok(&[
        "copy",
        "-q",
        "--dest-compress-format",
        "zstd",
        &format!("oci:{}:v1", src.path().display()),
        &format!("oci:{}:zstd", out.display()),
    ]);
    let raw = run_ok(
        Command::new("skopeo")
            .args(["inspect", "--raw"])
            .arg(format!("oci:{}:zstd", out.display())),
    );
    assert!(raw.contains("tar+zstd"), "{raw}");
    // The zstd image goes into storage with the same diff ids (same config).
    let id = b.ok(&[
        "copy",
        "-q",
        &format!("oci:{}:zstd", out.display()),
        "berth:z:1",
    ]);
    assert_eq!(format!("sha256:{}", id.trim()), layout.config_digest);
    // zstd into a docker manifest is refused clearly.
    let err = b.fails(&[
        "copy",
        "-q",
        "--format",
        "v2s2",
        &format!("oci:{}:zstd", out.display()),
        &format!("oci:{}:bad", out.display()),
    ]);
    assert!(err.contains("zstd"), "{err}");
}

#[test]
fn corrupt_archive_is_refused_and_nothing_stored() {
    let pre = prerequisites();
    require!(pre.is_ok(), pre.unwrap_err());
    let b = Berth::new();
    let f = b.dir.path().join("garbage.tar");
    std::fs::write(&f, vec![7u8; 4096]).unwrap();
    let err = b.fails(&["load", "-q", "-i", f.to_str().unwrap()]);
    assert!(err.contains("garbage.tar"), "{err}");
    // A docker archive whose layer was altered: digest mismatch names it.
    let src = tempfile::tempdir().unwrap();
    let layout = berth_testkit::write_oci_layout(src.path(), "v1").unwrap();
    let hex = layout.layer_digest.trim_start_matches("sha256:");
    let blob = src.path().join("blobs/sha256").join(hex);
    let mut bytes = std::fs::read(&blob).unwrap();
    let n = bytes.len();
    bytes[n / 2] ^= 0xff;
    std::fs::write(&blob, bytes).unwrap();
    let err = b.fails(&[
        "copy",
        "-q",
        &format!("oci:{}:v1", src.path().display()),
        "berth:broken:1",
    ]);
    assert!(err.contains(hex) && err.contains("digest"), "{err}");
    let list: serde_json::Value =
        serde_json::from_str(&b.ok(&["images", "--format", "json"])).unwrap();
    assert_eq!(list, serde_json::json!([]));
    let layers: Vec<_> = std::fs::read_dir(b.root.join("layers"))
        .map(|d| d.flatten().collect())
        .unwrap_or_default();
    assert!(layers.is_empty(), "layer left behind: {layers:?}");
}
