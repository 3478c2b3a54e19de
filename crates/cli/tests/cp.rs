//! `berth cp` with real containers, against podman 4.3's rules (checked by
//! hand beside podman on this machine): directories into directories or
//! new names, `SRC/.` for contents, `-` for tar streams, owners (the
//! container's user going in, the caller coming out), podman's errors with
//! exit code 125, and the container's symlinks resolved inside its root,
//! never on the host.

mod engine_env;

use berth_testkit::{is_root, require};
use engine_env::Env;
use serde_json::json;
use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Stdio;

/// A layer: `/data/sub/f` owned by 1000, `/link -> /etc/hello`,
/// `/etc/hello`, `/evil -> /etc`, and `/hostdir -> host` (a host path).
fn layer(host: &Path) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let dir = |b: &mut tar::Builder<Vec<u8>>, p: &str, uid: u64| {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Directory);
        h.set_mode(0o755);
        h.set_mtime(0);
        h.set_uid(uid);
        h.set_gid(uid);
        h.set_size(0);
        b.append_data(&mut h, p, std::io::empty()).unwrap();
    };
    let file = |b: &mut tar::Builder<Vec<u8>>, p: &str, uid: u64, data: &[u8]| {
        let mut h = tar::Header::new_gnu();
        h.set_mode(0o640);
        h.set_mtime(0);
        h.set_uid(uid);
        h.set_gid(uid);
        h.set_size(data.len() as u64);
        b.append_data(&mut h, p, data).unwrap();
    };
    let link = |b: &mut tar::Builder<Vec<u8>>, p: &str, target: &str| {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Symlink);
        h.set_mode(0o777);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(0);
        h.set_size(0);
        b.append_link(&mut h, p, target).unwrap();
    };
    dir(&mut b, "data", 1000);
    dir(&mut b, "data/sub", 1000);
    file(&mut b, "data/sub/f", 1000, b"f\n");
    file(&mut b, "etc/hello", 0, b"hello\n");
    link(&mut b, "link", "/etc/hello");
    link(&mut b, "evil", "/etc");
    link(&mut b, "hostdir", host.to_str().unwrap());
    link(&mut b, "hostfile", host.join("secret").to_str().unwrap());
    b.into_inner().unwrap()
}

/// An env with the image `files` (the layer above over busybox, run as
/// `berth`, uid 1000) and a host directory with a secret the image's
/// links aim at.
fn setup() -> (Env, tempfile::TempDir) {
    let env = Env::new();
    let host = tempfile::Builder::new()
        .prefix("berth-cp-host-")
        .tempdir()
        .unwrap();
    std::fs::write(host.path().join("secret"), "host secret\n").unwrap();
    env.load_image_with_layer(
        "files",
        &json!({"User": "berth", "Cmd": ["sleep", "300"]}),
        Some(&layer(host.path())),
    );
    (env, host)
}

fn fail(env: &Env, args: &[&str]) -> String {
    let out = env.berth(args);
    assert_eq!(
        out.status.code(),
        Some(125),
        "berth {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Entries of a tar as `type uid:gid path`.
fn listing(tar_bytes: &[u8]) -> Vec<String> {
    let mut a = tar::Archive::new(tar_bytes);
    a.entries()
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let h = e.header();
            format!(
                "{} {}:{} {}",
                if h.entry_type().is_dir() { 'd' } else { '-' },
                h.uid().unwrap(),
                h.gid().unwrap(),
                e.path().unwrap().display()
            )
        })
        .collect()
}

/// Run `f` with container `id`'s root mounted through `berth mount`.
fn with_mount<T>(env: &Env, id: &str, f: impl FnOnce(&Path) -> T) -> T {
    let root = env.ok(&["mount", id]);
    let t = f(Path::new(root.trim()));
    env.ok(&["umount", id]);
    t
}

#[test]
fn copies_out_files_directories_and_contents() {
    require!(is_root(), "containers need root");
    let (env, _host) = setup();
    let id = env.ok(&["create", "--name", "c", "files"]);
    let id = id.trim();
    let out = tempfile::tempdir().unwrap();
    let o = |p: &str| out.path().join(p);
    let os = |p: &str| o(p).to_str().unwrap().to_string();

    // A directory into an existing directory keeps its name; files come
    // out owned by the caller, as podman's.
    env.ok(&["cp", "c:/data", &os("")]);
    assert_eq!(std::fs::read_to_string(o("data/sub/f")).unwrap(), "f\n");
    let m = std::fs::metadata(o("data/sub/f")).unwrap();
    assert_eq!(
        (m.uid(), m.gid(), m.permissions().mode() & 0o777),
        (0, 0, 0o640)
    );
    // To a new name; `/.` copies what is inside.
    env.ok(&["cp", "c:/data", &os("renamed")]);
    assert!(o("renamed/sub/f").is_file());
    std::fs::create_dir(o("into")).unwrap();
    env.ok(&["cp", "c:/data/.", &os("into")]);
    assert!(o("into/sub/f").is_file() && !o("into/data").exists());
    // A symlink is followed inside the container; a file to a new name.
    env.ok(&["cp", "c:/link", &os("l1")]);
    assert_eq!(std::fs::read_to_string(o("l1")).unwrap(), "hello\n");
    env.ok(&["cp", &format!("{id}:/etc/hello"), &os("l1")]);
    // The same through the container's /evil -> /etc.
    env.ok(&["cp", "c:/evil/hello", &os("h2")]);
    assert_eq!(std::fs::read_to_string(o("h2")).unwrap(), "hello\n");

    // `-`: a tar on stdout named as podman's.
    let out1 = env.berth(&["cp", "c:/data", "-"]);
    assert!(out1.status.success());
    assert_eq!(
        listing(&out1.stdout),
        ["d 0:0 data", "d 0:0 data/sub", "- 0:0 data/sub/f"]
    );
    let out2 = env.berth(&["cp", "c:/data/.", "-"]);
    assert_eq!(listing(&out2.stdout), ["d 0:0 sub", "- 0:0 sub/f"]);

    // podman's errors, exit 125, nothing written.
    let e = fail(&env, &["cp", "c:/nope", &os("x")]);
    assert!(
        e.contains("\"/nope\" could not be found on container c: no such file or directory"),
        "{e}"
    );
    let e = fail(&env, &["cp", "c:/data", &os("l1")]);
    assert!(
        e.contains("destination must be a directory when copying a directory"),
        "{e}"
    );
    let e = fail(&env, &["cp", "c:/etc/hello", &os("nodir/x")]);
    assert!(e.contains("could not be found on the host"), "{e}");
    assert!(!o("x").exists() && !o("nodir").exists());
    let e = fail(&env, &["cp", "nosuch:/etc/hello", &os("y")]);
    assert!(
        e.contains("no container with name or ID \"nosuch\" found: no such container"),
        "{e}"
    );
    env.ok(&["rm", "c"]);
}

#[test]
fn copies_in_with_the_containers_owner_and_from_stdin() {
    require!(is_root(), "containers need root");
    let (env, _host) = setup();
    env.ok(&["create", "--name", "c", "files"]);
    let src = tempfile::tempdir().unwrap();
    let s = |p: &str| src.path().join(p);
    std::fs::write(s("hf"), "data\n").unwrap();
    std::fs::create_dir(s("hd")).unwrap();
    std::fs::write(s("hd/y"), "y\n").unwrap();
    for p in ["hf", "hd", "hd/y"] {
        std::os::unix::fs::chown(s(p), Some(1234), Some(1234)).unwrap();
    }
    let sp = |p: &str| s(p).to_str().unwrap().to_string();
    // --archive (the default): the container's user (berth, 1000).
    env.ok(&["cp", &sp("hf"), "c:/etc/"]);
    env.ok(&["cp", "-a=false", &sp("hf"), "c:/etc/hf2"]);
    env.ok(&["cp", &sp("hd"), "c:/"]);
    env.ok(&["cp", &sp("hd/."), "c:/hd2"]);
    env.ok(&["cp", &sp("hf"), "c:/data/sub/f"]);
    // A tar on stdin unpacks into an existing directory.
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_mode(0o600);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(0);
    h.set_size(2);
    b.append_data(&mut h, "fromtar", &b"t\n"[..]).unwrap();
    let tarball = b.into_inner().unwrap();
    let mut child = env
        .command(&["cp", "-", "c:/etc"])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&tarball).unwrap();
    assert!(child.wait().unwrap().success());

    with_mount(&env, "c", |root| {
        let owner = |p: &str| {
            let m = std::fs::symlink_metadata(root.join(p)).unwrap();
            (m.uid(), m.gid())
        };
        assert_eq!(
            std::fs::read_to_string(root.join("etc/hf")).unwrap(),
            "data\n"
        );
        assert_eq!(owner("etc/hf"), (1000, 1000));
        assert_eq!(owner("etc/hf2"), (1234, 1234));
        assert_eq!(owner("hd"), (1000, 1000));
        assert_eq!(owner("hd/y"), (1000, 1000));
        assert_eq!(std::fs::read_to_string(root.join("hd2/y")).unwrap(), "y\n");
        assert_eq!(
            std::fs::read_to_string(root.join("data/sub/f")).unwrap(),
            "data\n"
        );
        assert_eq!(
            std::fs::read_to_string(root.join("etc/fromtar")).unwrap(),
            "t\n"
        );
        assert_eq!(owner("etc/fromtar"), (1000, 1000));
    });

    // podman's errors, exit 125.
    let e = fail(&env, &["cp", &sp("hd"), "c:/etc/hello"]);
    assert!(
        e.contains("destination must be a directory when copying a directory"),
        "{e}"
    );
    let e = fail(&env, &["cp", &sp("hf"), "c:/nodir/x"]);
    assert!(
        e.contains("\"/nodir/x\" could not be found on container c"),
        "{e}"
    );
    let e = fail(&env, &["cp", &sp("missing"), "c:/etc"]);
    assert!(e.contains("could not be found on the host"), "{e}");
    let e = fail(&env, &["cp", "-", "c:/newdir"]);
    assert!(
        e.contains("destination must be a directory when copying from stdin"),
        "{e}"
    );
    env.ok(&["rm", "c"]);
}

#[test]
fn copies_both_ways_with_a_running_container() {
    require!(is_root(), "containers need root");
    let (env, _host) = setup();
    env.ok(&[
        "run",
        "-d",
        "-u",
        "0",
        "--name",
        "r",
        "--network",
        "none",
        "files",
    ]);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("in"), "into a running one\n").unwrap();
    env.ok(&["cp", dir.path().join("in").to_str().unwrap(), "r:/tmp/in"]);
    assert_eq!(
        env.ok(&["exec", "r", "cat", "/tmp/in"]),
        "into a running one\n"
    );
    env.ok(&["exec", "r", "sh", "-c", "echo made inside > /tmp/made"]);
    let back = dir.path().join("made");
    env.ok(&["cp", "r:/tmp/made", back.to_str().unwrap()]);
    assert_eq!(std::fs::read_to_string(&back).unwrap(), "made inside\n");
    env.ok(&["rm", "-f", "r"]);
    assert!(env.cgroups_left().is_empty(), "{:?}", env.cgroups_left());
}

#[test]
fn container_symlinks_never_reach_the_host() {
    require!(is_root(), "containers need root");
    let (env, host) = setup();
    env.ok(&["create", "--name", "c", "files"]);
    let src = tempfile::tempdir().unwrap();
    let name = format!("berth-cp-canary-{}", std::process::id());
    std::fs::write(src.path().join(&name), "pwned\n").unwrap();
    let file = src.path().join(&name);
    let file = file.to_str().unwrap();
    let host_etc = Path::new("/etc").join(&name);

    // /evil -> /etc is the container's /etc.
    env.ok(&["cp", file, "c:/evil/"]);
    env.ok(&["cp", file, "c:/evil/renamed"]);
    assert!(
        !host_etc.exists(),
        "cp wrote through a symlink to the host's /etc"
    );
    with_mount(&env, "c", |root| {
        assert!(root.join("etc").join(&name).is_file());
        assert!(root.join("etc/renamed").is_file());
    });
    // /hostdir -> a host directory: not there inside the container.
    let e = fail(&env, &["cp", file, "c:/hostdir/x"]);
    assert!(e.contains("could not be found on container c"), "{e}");
    let e = fail(&env, &["cp", file, "c:/hostdir/"]);
    assert!(e.contains("could not be found"), "{e}");
    assert_eq!(
        std::fs::read_dir(host.path()).unwrap().count(),
        1,
        "host dir was written"
    );
    // Reading: /hostfile -> the host's secret is not found in the root.
    let out = tempfile::tempdir().unwrap();
    let e = fail(
        &env,
        &["cp", "c:/hostfile", out.path().join("s").to_str().unwrap()],
    );
    assert!(
        e.contains("\"/hostfile\" could not be found on container c"),
        "{e}"
    );
    assert!(!out.path().join("s").exists());
    // A tar whose entry goes through the symlink /etc/../evil: refused,
    // and nothing on the host.
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_mode(0o644);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(0);
    h.set_size(6);
    b.append_data(&mut h, format!("evil/{name}-tar"), &b"pwned\n"[..])
        .unwrap();
    let tarball = b.into_inner().unwrap();
    let mut child = env
        .command(&["cp", "-", "c:/"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&tarball).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(125));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("symlink"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!Path::new("/etc").join(format!("{name}-tar")).exists());
    env.ok(&["rm", "c"]);
}
