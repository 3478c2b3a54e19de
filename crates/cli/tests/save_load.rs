//! `berth save` and `berth load` against the real peers: an image keeps its
//! id and diff ids through save (both formats, and the dir formats) as it
//! does through podman's; skopeo reads the same config and layers; podman
//! and berth load each other's archives under the same id and names; the
//! OCI ref name is the full name, as podman writes it; stdout and stdin,
//! `-m` and extra tags as podman has them.

mod common;
use berth_testkit::require;
use common::*;
use serde_json::{json, Value};
use sha2::Digest as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn prerequisites() -> Result<(), String> {
    if !berth_testkit::is_root() {
        return Err("needs root".into());
    }
    tools_present(&["skopeo", "podman", "tar"])
}

fn sha256(data: &[u8]) -> String {
    format!("sha256:{:x}", sha2::Sha256::digest(data))
}

/// A test image as an OCI layout: the busybox fixture (a gzip layer written
/// by the tar crate), then a layer GNU tar wrote the way image builders do
/// (PAX headers with times, a name over 100 bytes, a hard link, owners,
/// record padding), with `cmd` in its config.
struct TestImage {
    layout: PathBuf,
    config_digest: String,
    diff_ids: Vec<String>,
}

fn test_image(dir: &Path, cmd: &str) -> TestImage {
    let layout = dir.join(format!("layout-{cmd}"));
    berth_testkit::write_oci_layout(&layout, "t").unwrap();
    let tree = tempfile::tempdir().unwrap();
    let long = tree
        .path()
        .join("opt/".to_string() + &"long-directory-name/".repeat(6));
    std::fs::create_dir_all(&long).unwrap();
    std::fs::write(long.join("file.txt"), cmd.repeat(100)).unwrap();
    std::fs::write(tree.path().join("opt/data"), vec![b'd'; 5000]).unwrap();
    std::fs::hard_link(tree.path().join("opt/data"), tree.path().join("opt/link")).unwrap();
    std::os::unix::fs::chown(tree.path().join("opt/data"), Some(1000), Some(1000)).unwrap();
    let out = Command::new("tar")
        .args(["--format=posix", "-C"])
        .arg(tree.path())
        .args(["-cf", "-", "opt"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let layer = out.stdout;
    let blob = |d: &str| {
        layout
            .join("blobs/sha256")
            .join(d.trim_start_matches("sha256:"))
    };
    let read =
        |d: &str| -> Value { serde_json::from_slice(&std::fs::read(blob(d)).unwrap()).unwrap() };
    let index_path = layout.join("index.json");
    let mut index: Value = serde_json::from_slice(&std::fs::read(&index_path).unwrap()).unwrap();
    let mut manifest = read(index["manifests"][0]["digest"].as_str().unwrap());
    let mut config = read(manifest["config"]["digest"].as_str().unwrap());
    let layer_digest = sha256(&layer);
    std::fs::write(blob(&layer_digest), &layer).unwrap();
    config["config"]["Cmd"] = json!([cmd]);
    config["rootfs"]["diff_ids"]
        .as_array_mut()
        .unwrap()
        .push(layer_digest.clone().into());
    manifest["layers"].as_array_mut().unwrap().push(json!({
        "mediaType": "application/vnd.oci.image.layer.v1.tar",
        "digest": layer_digest, "size": layer.len()
    }));
    let config_bytes = serde_json::to_vec(&config).unwrap();
    let config_digest = sha256(&config_bytes);
    std::fs::write(blob(&config_digest), &config_bytes).unwrap();
    manifest["config"]["digest"] = config_digest.clone().into();
    manifest["config"]["size"] = config_bytes.len().into();
    let mbytes = serde_json::to_vec(&manifest).unwrap();
    let mdigest = sha256(&mbytes);
    std::fs::write(blob(&mdigest), &mbytes).unwrap();
    index["manifests"][0]["digest"] = mdigest.into();
    index["manifests"][0]["size"] = mbytes.len().into();
    std::fs::write(&index_path, serde_json::to_vec(&index).unwrap()).unwrap();
    let diff_ids = config["rootfs"]["diff_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap().to_string())
        .collect();
    TestImage {
        layout,
        config_digest,
        diff_ids,
    }
}

/// A berth store holding `img` as `name`.
fn berth_with(img: &TestImage, name: &str) -> Berth {
    let b = Berth::new();
    b.ok(&[
        "copy",
        "-q",
        &format!("oci:{}:t", img.layout.display()),
        &format!("berth:{name}"),
    ]);
    b
}

fn image_id(b: &Berth, name: &str) -> String {
    let v: Value = serde_json::from_str(&b.ok(&["inspect", name])).unwrap();
    format!("sha256:{}", v[0]["Id"].as_str().unwrap())
}

/// podman with its own store (vfs: nothing mounted) under a temp dir.
struct Podman {
    dir: tempfile::TempDir,
}

impl Podman {
    fn new() -> Podman {
        Podman {
            dir: tempfile::tempdir_in(scratch()).unwrap(),
        }
    }

    fn cmd(&self) -> Command {
        let d = self.dir.path();
        let mut c = Command::new("podman");
        c.arg("--root")
            .arg(d.join("root"))
            .arg("--runroot")
            .arg(d.join("run"))
            .arg("--tmpdir")
            .arg(d.join("tmp"))
            .args(["--storage-driver", "vfs", "--events-backend", "none"]);
        c
    }

    fn ok(&self, args: &[&str]) -> String {
        run_ok(self.cmd().args(args))
    }

    fn id(&self, name: &str) -> String {
        let id = self.ok(&["image", "inspect", "--format", "{{.Id}}", name]);
        format!("sha256:{}", id.trim().trim_start_matches("sha256:"))
    }
}

impl Drop for Podman {
    fn drop(&mut self) {
        let _ = self.cmd().args(["system", "reset", "-f"]).output();
    }
}

fn skopeo(args: &[&str], image: String) -> String {
    run_ok(Command::new("skopeo").args(args).arg(image))
}

fn index_ref_name(archive: &Path) -> Value {
    let index = run_ok(
        Command::new("tar")
            .arg("-xOf")
            .arg(archive)
            .arg("index.json"),
    );
    let index: Value = serde_json::from_str(&index).unwrap();
    index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"].clone()
}

#[test]
fn save_keeps_the_image_id_and_diff_ids() {
    let pre = prerequisites();
    require!(pre.is_ok(), pre.unwrap_err());
    let work = tempfile::tempdir_in(scratch()).unwrap();
    let img = test_image(work.path(), "one");
    let b = berth_with(&img, "localhost/saveme:1");
    assert_eq!(image_id(&b, "localhost/saveme:1"), img.config_digest);
    let docker = work.path().join("d.tar");
    let oci = work.path().join("o.tar");
    b.ok(&[
        "save",
        "-q",
        "-o",
        docker.to_str().unwrap(),
        "localhost/saveme:1",
    ]);
    b.ok(&[
        "save",
        "-q",
        "--format",
        "oci-archive",
        "-o",
        oci.to_str().unwrap(),
        "localhost/saveme:1",
    ]);
    for (transport, file) in [("docker-archive", &docker), ("oci-archive", &oci)] {
        let image = format!("{transport}:{}", file.display());
        let config = skopeo(&["inspect", "--raw", "--config"], image.clone());
        assert_eq!(
            sha256(config.as_bytes()),
            img.config_digest,
            "{transport}: config bytes"
        );
        let config: Value = serde_json::from_str(&config).unwrap();
        assert_eq!(
            config["rootfs"]["diff_ids"],
            json!(img.diff_ids),
            "{transport}"
        );
        // A docker-archive's layers are the uncompressed tars themselves.
        if transport == "docker-archive" {
            let inspect: Value = serde_json::from_str(&skopeo(&["inspect"], image)).unwrap();
            assert_eq!(inspect["Layers"], json!(img.diff_ids));
        }
        // Back into a fresh berth store, and into podman's.
        let b2 = Berth::new();
        let out = b2.ok(&["load", "-q", "-i", file.to_str().unwrap()]);
        assert_eq!(out, "Loaded image: localhost/saveme:1\n", "{transport}");
        assert_eq!(
            image_id(&b2, "localhost/saveme:1"),
            img.config_digest,
            "{transport}"
        );
        let p = Podman::new();
        p.ok(&["load", "-q", "-i", file.to_str().unwrap()]);
        assert_eq!(
            p.id("localhost/saveme:1"),
            img.config_digest,
            "podman, {transport}"
        );
    }
    // podman's save of the image berth saved gives the same layer tars
    // back to berth: same id again, and berth's archive of it the same.
    let p = Podman::new();
    p.ok(&["load", "-q", "-i", docker.to_str().unwrap()]);
    let pd = work.path().join("podman.tar");
    p.ok(&[
        "save",
        "-q",
        "-o",
        pd.to_str().unwrap(),
        "localhost/saveme:1",
    ]);
    let b3 = Berth::new();
    b3.ok(&["load", "-q", "-i", pd.to_str().unwrap()]);
    assert_eq!(image_id(&b3, "localhost/saveme:1"), img.config_digest);
    let again = work.path().join("again.tar");
    b3.ok(&[
        "save",
        "-q",
        "-o",
        again.to_str().unwrap(),
        "localhost/saveme:1",
    ]);
    for diff in &img.diff_ids {
        let member = format!("{}.tar", diff.trim_start_matches("sha256:"));
        let layer = Command::new("tar")
            .arg("-xOf")
            .arg(&again)
            .arg(&member)
            .output()
            .unwrap();
        assert!(layer.status.success(), "{member} in {}", again.display());
        assert_eq!(sha256(&layer.stdout), *diff);
    }
}

#[test]
fn oci_archive_ref_name_is_the_full_name_as_podman_writes_it() {
    let pre = prerequisites();
    require!(pre.is_ok(), pre.unwrap_err());
    let work = tempfile::tempdir_in(scratch()).unwrap();
    let img = test_image(work.path(), "two");
    let b = berth_with(&img, "docker.io/library/busybox:latest");
    let ours = work.path().join("berth-oci.tar");
    b.ok(&[
        "save",
        "-q",
        "--format",
        "oci-archive",
        "-o",
        ours.to_str().unwrap(),
        "busybox",
    ]);
    // podman 4.3 writes the name the image was saved by, resolved.
    let p = Podman::new();
    p.ok(&["load", "-q", "-i", ours.to_str().unwrap()]);
    let theirs = work.path().join("podman-oci.tar");
    p.ok(&[
        "save",
        "-q",
        "--format",
        "oci-archive",
        "-o",
        theirs.to_str().unwrap(),
        "busybox",
    ]);
    assert_eq!(index_ref_name(&theirs), "docker.io/library/busybox:latest");
    assert_eq!(index_ref_name(&ours), index_ref_name(&theirs));
    // Each loads the other's under that name, with the same output.
    for (archive, what) in [(&ours, "berth's"), (&theirs, "podman's")] {
        let b2 = Berth::new();
        let berth_out = b2.ok(&["load", "-i", archive.to_str().unwrap()]);
        let p2 = Podman::new();
        let podman_out = p2.ok(&["load", "-i", archive.to_str().unwrap()]);
        assert_eq!(
            berth_out, "Loaded image: docker.io/library/busybox:latest\n",
            "{what}"
        );
        assert_eq!(berth_out, podman_out, "{what}");
        assert_eq!(image_id(&b2, "busybox"), img.config_digest, "{what}");
    }
    // An image saved by id has no ref name; one whose ref name is only a
    // tag (skopeo's oci-archive:FILE:TAG) names no repository: loaded by
    // id, not as podman's localhost/v9:latest.
    let byid = work.path().join("byid.tar");
    let id = img.config_digest.trim_start_matches("sha256:");
    b.ok(&[
        "save",
        "-q",
        "--format",
        "oci-archive",
        "-o",
        byid.to_str().unwrap(),
        id,
    ]);
    assert_eq!(index_ref_name(&byid), Value::Null);
    let tagged = work.path().join("tag-only.tar");
    skopeo(
        &["copy", "-q", &format!("oci:{}:t", img.layout.display())],
        format!("oci-archive:{}:v9", tagged.display()),
    );
    assert_eq!(index_ref_name(&tagged), "v9");
    for archive in [&byid, &tagged] {
        let b2 = Berth::new();
        let out = b2.ok(&["load", "-i", archive.to_str().unwrap()]);
        assert_eq!(out, format!("Loaded image: {}\n", img.config_digest));
        let list: Value = serde_json::from_str(&b2.ok(&["images", "--format", "json"])).unwrap();
        assert_eq!(list.as_array().unwrap().len(), 1);
        assert_eq!(image_id(&b2, id), img.config_digest);
    }
}

#[test]
fn save_to_stdout_load_from_stdin_multi_image_and_dirs() {
    let pre = prerequisites();
    require!(pre.is_ok(), pre.unwrap_err());
    let work = tempfile::tempdir_in(scratch()).unwrap();
    let one = test_image(work.path(), "one");
    let two = test_image(work.path(), "two");
    let b = berth_with(&one, "localhost/one:1");
    b.ok(&[
        "copy",
        "-q",
        &format!("oci:{}:t", two.layout.display()),
        "berth:localhost/two:2",
    ]);
    // stdout, when redirected; a terminal is refused, as podman does.
    let piped = work.path().join("piped.tar");
    let status = b
        .cmd()
        .args(["save", "-q", "localhost/one:1"])
        .stdout(std::fs::File::create(&piped).unwrap())
        .status()
        .unwrap();
    assert!(status.success());
    let config = skopeo(
        &["inspect", "--raw", "--config"],
        format!("docker-archive:{}", piped.display()),
    );
    assert_eq!(sha256(config.as_bytes()), one.config_digest);
    if have("script") {
        // Under script(1), stdout is a terminal.
        let line = format!(
            "{} --root {} --runroot {} --registries-conf {} save localhost/one:1",
            berth_bin(),
            b.root.display(),
            b.dir.path().join("run").display(),
            b.conf.display()
        );
        let out = Command::new("script")
            .args(["-qec", &line, "/dev/null"])
            .env("BERTH_CONFIG_ROOT", b.dir.path().join("sysconf"))
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(125), "{text}");
        assert!(
            text.contains("refusing to save to terminal. Use -o flag or redirect"),
            "{text}"
        );
    }
    // stdin.
    let b2 = Berth::new();
    let out = b2
        .cmd()
        .args(["load", "-q"])
        .stdin(std::fs::File::open(&piped).unwrap())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "Loaded image: localhost/one:1\n"
    );
    // -m: two images in one archive, their shared busybox layer once.
    let multi = work.path().join("multi.tar");
    b.ok(&[
        "save",
        "-q",
        "-m",
        "-o",
        multi.to_str().unwrap(),
        "localhost/one:1",
        "localhost/two:2",
    ]);
    let manifest = run_ok(
        Command::new("tar")
            .arg("-xOf")
            .arg(&multi)
            .arg("manifest.json"),
    );
    let manifest: Value = serde_json::from_str(&manifest).unwrap();
    assert_eq!(manifest.as_array().unwrap().len(), 2);
    let members = run_ok(Command::new("tar").arg("-tf").arg(&multi));
    let shared = format!("{}.tar", one.diff_ids[0].trim_start_matches("sha256:"));
    assert_eq!(
        members.lines().filter(|l| *l == shared).count(),
        1,
        "{members}"
    );
    let b3 = Berth::new();
    let p = Podman::new();
    let berth_out = b3.ok(&["load", "-i", multi.to_str().unwrap()]);
    let podman_out = p.ok(&["load", "-i", multi.to_str().unwrap()]);
    assert_eq!(
        berth_out,
        "Loaded image: localhost/one:1\nLoaded image: localhost/two:2\n"
    );
    assert_eq!(berth_out, podman_out);
    for (name, img) in [("localhost/one:1", &one), ("localhost/two:2", &two)] {
        assert_eq!(image_id(&b3, name), img.config_digest);
        assert_eq!(p.id(name), img.config_digest);
    }
    // Without -m further arguments are tags, before the image's own name.
    let tagged = work.path().join("tagged.tar");
    b.ok(&[
        "save",
        "-q",
        "-o",
        tagged.to_str().unwrap(),
        "localhost/one:1",
        "example.com/x:1",
        "y",
    ]);
    let manifest = run_ok(
        Command::new("tar")
            .arg("-xOf")
            .arg(&tagged)
            .arg("manifest.json"),
    );
    let manifest: Value = serde_json::from_str(&manifest).unwrap();
    assert_eq!(
        manifest[0]["RepoTags"],
        json!(["example.com/x:1", "localhost/y:latest", "localhost/one:1"])
    );
    // -m is for docker-archive only; podman's message and code.
    let out = b.run(&[
        "save",
        "-m",
        "--format",
        "oci-archive",
        "-o",
        "/dev/null",
        "localhost/one:1",
        "localhost/two:2",
    ]);
    assert_eq!(out.status.code(), Some(125));
    assert!(String::from_utf8_lossy(&out.stderr).contains(
        "unsupported format \"oci-archive\" for saving multiple images (only docker-archive)"
    ));
    // The directory formats: skopeo reads them with the same config.
    let od = work.path().join("oci-dir");
    let dd = work.path().join("docker-dir");
    b.ok(&[
        "save",
        "-q",
        "--format",
        "oci-dir",
        "-o",
        od.to_str().unwrap(),
        "localhost/one:1",
    ]);
    b.ok(&[
        "save",
        "-q",
        "--format",
        "docker-dir",
        "-o",
        dd.to_str().unwrap(),
        "localhost/one:1",
    ]);
    for image in [
        format!("oci:{}:localhost/one:1", od.display()),
        format!("dir:{}", dd.display()),
    ] {
        let config = skopeo(&["inspect", "--raw", "--config"], image.clone());
        assert_eq!(sha256(config.as_bytes()), one.config_digest, "{image}");
    }
    let raw = skopeo(&["inspect", "--raw"], format!("dir:{}", dd.display()));
    assert!(
        raw.contains("application/vnd.docker.distribution.manifest.v2+json"),
        "{raw}"
    );
    let err = b.fails(&["save", "--format", "oci-dir", "localhost/one:1"]);
    assert!(err.contains("-o"), "{err}");
}
