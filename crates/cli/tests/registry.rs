//! berth against a real registry: inspect without pulling, pull into
//! storage, images/tag/rmi/mount, push back, login over TLS with htpasswd.

mod common;
use berth_testkit::require;
use common::*;

fn prerequisites() -> Result<(), String> {
    if !berth_testkit::is_root() {
        return Err("needs root".into());
    }
    tools_present(&[REGISTRY_BIN, "skopeo", "openssl", "htpasswd"])
}

#[test]
fn inspect_remote_without_pulling() {
    let pre = prerequisites();
    require!(pre.is_ok(), pre.unwrap_err());
    let reg = Registry::plain();
    let layout = seed_busybox(&reg, "lib/busybox", "1.0");
    let b = Berth::new();
    let out = b.ok(&[
        "inspect",
        "--tls-verify=false",
        &format!("docker://{}/lib/busybox:1.0", reg.addr),
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["Digest"], layout.manifest_digest.as_str());
    assert_eq!(v["Name"], format!("{}/lib/busybox", reg.addr).as_str());
    assert_eq!(v["RepoTags"], serde_json::json!(["1.0"]));
    assert_eq!(v["Os"], "linux");
    assert_eq!(v["Layers"][0], layout.layer_digest.as_str());
    assert!(v["LayersData"][0]["Size"].as_u64().unwrap() > 100_000);
    assert_eq!(v["Cmd"], serde_json::json!(["sh"]));
    assert!(v["Env"][0].as_str().unwrap().starts_with("PATH="));
    // Nothing was pulled.
    assert!(
        !b.root.join("images").exists()
            || std::fs::read_dir(b.root.join("images"))
                .unwrap()
                .filter(|e| !e
                    .as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .starts_with('.'))
                .count()
                == 0
    );
    // The same as skopeo sees it.
    let sk = run_ok(
        std::process::Command::new("skopeo")
            .args(["inspect", "--tls-verify=false"])
            .arg(format!("docker://{}/lib/busybox:1.0", reg.addr)),
    );
    let sk: serde_json::Value = serde_json::from_str(&sk).unwrap();
    assert_eq!(sk["Digest"], v["Digest"]);
    assert_eq!(sk["Layers"], v["Layers"]);
}

#[test]
fn pull_images_tag_mount_rmi() {
    let pre = prerequisites();
    require!(pre.is_ok(), pre.unwrap_err());
    let reg = Registry::plain();
    let layout = seed_busybox(&reg, "busybox", "latest");
    let b = Berth::new();
    // A short name resolves through the search registries (insecure entry).
    std::fs::write(
        &b.conf,
        format!("unqualified-search-registries = [\"{0}\"]\n[[registry]]\nlocation = \"{0}\"\ninsecure = true\n", reg.addr),
    )
    .unwrap();
    let id = b.ok(&["pull", "-q", "busybox"]);
    assert_eq!(format!("sha256:{}", id.trim()), layout.config_digest);
    let list: serde_json::Value =
        serde_json::from_str(&b.ok(&["images", "--format", "json"])).unwrap();
    assert_eq!(
        list[0]["Names"][0],
        format!("{}/busybox:latest", reg.addr).as_str()
    );
    assert_eq!(list[0]["Digest"], layout.manifest_digest.as_str());
    // Pulling again is a no-op that still succeeds.
    b.ok(&["pull", "-q", "busybox"]);
    b.ok(&["tag", "busybox", "mine:1"]);
    let local: serde_json::Value = serde_json::from_str(&b.ok(&["inspect", "mine:1"])).unwrap();
    assert_eq!(local[0]["Id"], id.trim());
    assert!(local[0]["RepoTags"]
        .as_array()
        .unwrap()
        .iter()
        .any(|n| n == "localhost/mine:1"));
    let path = b.ok(&["mount", "busybox"]);
    let path = std::path::Path::new(path.trim());
    assert!(
        path.join("bin/busybox").exists(),
        "no busybox in {}",
        path.display()
    );
    // A name of an image with several names only goes itself, even while
    // the image is mounted (podman's untag).
    let out = b.ok(&["rmi", "mine:1"]);
    assert!(out.contains("Untagged"), "{out}");
    let local: serde_json::Value = serde_json::from_str(&b.ok(&["inspect", "busybox"])).unwrap();
    assert_eq!(local[0]["Id"], id.trim());
    assert_eq!(
        local[0]["RepoTags"],
        serde_json::json!([format!("{}/busybox:latest", reg.addr)])
    );
    let err = b.fails(&["inspect", "mine:1"]);
    assert!(err.contains("no such object: \"mine:1\""), "{err}");
    b.ok(&["tag", "busybox", "other:1", "third:1"]);
    b.ok(&["untag", "busybox", "other:1"]);
    let local: serde_json::Value = serde_json::from_str(&b.ok(&["inspect", "busybox"])).unwrap();
    assert_eq!(local[0]["RepoTags"].as_array().unwrap().len(), 2);
    b.ok(&["rmi", "third:1"]);
    // The last name removes the image: refused while mounted.
    let err = b.fails(&["rmi", "busybox"]);
    assert!(err.contains("in use"), "{err}");
    b.ok(&["umount", "busybox"]);
    let out = b.ok(&["rmi", "busybox"]);
    assert!(out.contains("Deleted"), "{out}");
    let list: serde_json::Value =
        serde_json::from_str(&b.ok(&["images", "--format", "json"])).unwrap();
    assert_eq!(list, serde_json::json!([]));
    let err = b.fails(&["inspect", "busybox"]);
    assert!(err.contains("no such object: \"busybox\""), "{err}");
}

#[test]
fn push_to_registry_is_pulled_by_skopeo_with_same_digests() {
    let pre = prerequisites();
    require!(pre.is_ok(), pre.unwrap_err());
    let reg = Registry::plain();
    seed_busybox(&reg, "src/busybox", "1");
    let b = Berth::new();
    b.ok(&[
        "pull",
        "-q",
        "--tls-verify=false",
        &format!("{}/src/busybox:1", reg.addr),
    ]);
    let dest = format!("docker://{}/dst/busybox:2", reg.addr);
    let digest = b.ok(&[
        "push",
        "-q",
        "--tls-verify=false",
        &format!("{}/src/busybox:1", reg.addr),
        &dest,
    ]);
    let sk =
        run_ok(std::process::Command::new("skopeo").args(["inspect", "--tls-verify=false", &dest]));
    let sk: serde_json::Value = serde_json::from_str(&sk).unwrap();
    assert_eq!(sk["Digest"], digest.trim());
    // skopeo copies it out and verifies every blob on the way.
    let out = tempfile::tempdir().unwrap();
    run_ok(
        std::process::Command::new("skopeo")
            .args(["copy", "-q", "--src-tls-verify=false", &dest])
            .arg(format!("oci:{}:x", out.path().display())),
    );
    // Chunked uploads work too, and a second push skips existing blobs.
    let dest3 = format!("docker://{}/dst/busybox:3", reg.addr);
    let out = b
        .cmd()
        .env("BERTH_PUSH_CHUNKED", "1")
        .args([
            "push",
            "-q",
            "--tls-verify=false",
            &format!("{}/src/busybox:1", reg.addr),
            &dest3,
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    run_ok(std::process::Command::new("skopeo").args(["inspect", "--tls-verify=false", &dest3]));
}

fn raw_manifest_digest(image: &str) -> String {
    let out = std::process::Command::new("skopeo")
        .args(["inspect", "--raw", "--tls-verify=false", image])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "skopeo inspect {image}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    berth_storage::Digest::of(&out.stdout).to_string()
}

/// A push back to the registry the image came from (another repository,
/// or the same registry under another name) keeps the pulled manifest and
/// its digest: the layer blobs are there or mounted across repositories.
/// A push to another registry recreates the layers (new digests) and
/// skopeo pulls it.
#[test]
fn push_keeps_digests_where_the_blobs_are() {
    let pre = prerequisites();
    require!(pre.is_ok(), pre.unwrap_err());
    let reg = Registry::plain();
    let layout = seed_busybox(&reg, "a/busybox", "1");
    let b = Berth::new();
    let src = format!("{}/a/busybox:1", reg.addr);
    b.ok(&["pull", "-q", "--tls-verify=false", &src]);
    let port = reg.addr.rsplit_once(':').unwrap().1;
    for dest in [
        format!("docker://{}/b/busybox:2", reg.addr),
        format!("docker://localhost:{port}/other:tag"),
    ] {
        let digest = b.ok(&["push", "-q", "--tls-verify=false", &src, &dest]);
        assert_eq!(digest.trim(), layout.manifest_digest, "push to {dest}");
        assert_eq!(raw_manifest_digest(&dest), layout.manifest_digest, "{dest}");
    }
    // A second push of the same image is the same no-op.
    let again = format!("docker://{}/b/busybox:2", reg.addr);
    let digest = b.ok(&["push", "-q", "--tls-verify=false", &src, &again]);
    assert_eq!(digest.trim(), layout.manifest_digest);
    // Another registry has none of the blobs: the layers are recreated.
    let reg2 = Registry::plain();
    let dest = format!("docker://{}/c/busybox:3", reg2.addr);
    let digest = b.ok(&["push", "-q", "--tls-verify=false", &src, &dest]);
    assert_ne!(digest.trim(), layout.manifest_digest);
    assert_eq!(raw_manifest_digest(&dest), digest.trim());
    let out = tempfile::tempdir().unwrap();
    run_ok(
        std::process::Command::new("skopeo")
            .args(["copy", "-q", "--src-tls-verify=false", &dest])
            .arg(format!("oci:{}:x", out.path().display())),
    );
    // Tagged under the other registry's name, it pushes there by that name
    // with the same recreated layers.
    let recreated = digest;
    b.ok(&["tag", &src, &format!("{}/c/busybox:4", reg2.addr)]);
    let digest = b.ok(&[
        "push",
        "-q",
        "--tls-verify=false",
        &format!("{}/c/busybox:4", reg2.addr),
    ]);
    assert_eq!(
        raw_manifest_digest(&format!("docker://{}/c/busybox:4", reg2.addr)),
        digest.trim()
    );
    assert_eq!(digest, recreated);
}

#[test]
fn tls_and_basic_auth_login_logout() {
    let pre = prerequisites();
    require!(pre.is_ok(), pre.unwrap_err());
    let reg = Registry::start(RegistryOpts {
        tls: true,
        htpasswd: Some(("alice", "s3cret")),
    });
    let certs = reg.certs_dir.clone().unwrap();
    // Seed with skopeo using the credentials.
    let dir = tempfile::tempdir().unwrap();
    berth_testkit::write_oci_layout(dir.path(), "v1").unwrap();
    run_ok(
        std::process::Command::new("skopeo")
            .args([
                "copy",
                "-q",
                "--dest-creds",
                "alice:s3cret",
                "--dest-cert-dir",
            ])
            .arg(certs.join(&reg.addr))
            .arg(format!("oci:{}:v1", dir.path().display()))
            .arg(format!("docker://{}/secure/busybox:v1", reg.addr)),
    );
    let b = Berth::new();
    let image = format!("{}/secure/busybox:v1", reg.addr);
    let certs_s = certs.to_str().unwrap();
    // Without credentials: a clear auth error.
    let err = b.fails(&["pull", "-q", "--cert-dir", certs_s, &image]);
    assert!(
        err.contains("authentication") || err.contains("login"),
        "{err}"
    );
    // Without the CA: a TLS error.
    let err = b.fails(&["inspect", &format!("docker://{image}")]);
    assert!(
        err.to_lowercase().contains("certificate")
            || err.contains("tls")
            || err.contains("UnknownIssuer"),
        "{err}"
    );
    // Wrong password refused at login.
    let err = b.fails(&[
        "login",
        "--cert-dir",
        certs_s,
        "-u",
        "alice",
        "-p",
        "wrong",
        &reg.addr,
    ]);
    assert!(
        err.contains("401") || err.contains("authentication"),
        "{err}"
    );
    b.ok(&[
        "login",
        "--cert-dir",
        certs_s,
        "-u",
        "alice",
        "-p",
        "s3cret",
        &reg.addr,
    ]);
    let auth = std::fs::read_to_string(&b.auth).unwrap();
    assert!(auth.contains(&reg.addr));
    b.ok(&["pull", "-q", "--cert-dir", certs_s, &image]);
    // --tls-verify=false works without the CA.
    b.ok(&[
        "inspect",
        "--tls-verify=false",
        &format!("docker://{image}"),
    ]);
    b.ok(&["logout", &reg.addr]);
    let err = b.fails(&[
        "inspect",
        "--cert-dir",
        certs_s,
        &format!("docker://{image}"),
    ]);
    assert!(
        err.contains("authentication") || err.contains("login"),
        "{err}"
    );
}

#[test]
fn pull_killed_midway_then_pulled_again() {
    let pre = prerequisites();
    require!(pre.is_ok(), pre.unwrap_err());
    let reg = Registry::plain();
    seed_busybox(&reg, "kill/busybox", "1");
    let image = format!("{}/kill/busybox:1", reg.addr);
    let b = Berth::new();
    // SIGKILL at several points of the pull; each next pull must repair
    // what the killed one left and succeed.
    for delay_ms in [5u64, 15, 30, 60, 120] {
        let mut child = b
            .cmd()
            .args(["pull", "-q", "--tls-verify=false", &image])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let _ = child.kill();
        let _ = child.wait();
        b.ok(&["pull", "-q", "--tls-verify=false", &image]);
        let mnt = b.ok(&["mount", &image]);
        assert!(std::path::Path::new(mnt.trim())
            .join("bin/busybox")
            .exists());
        b.ok(&["umount", &image]);
        b.ok(&["rmi", &image]);
    }
}
