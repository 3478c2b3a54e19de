//! Issue 12: an image is hostile ground. Its `/etc/passwd`, `/etc/group`,
//! entrypoint, WORKDIR and VOLUME paths are symlinks aimed at a host
//! canary directory; berth must resolve every one inside the image's root
//! (never reading or copying the host's files), and an unparsable uid in
//! the image's passwd must be an error, never root.

mod engine_env;

use berth_testkit::{is_root, require};
use engine_env::Env;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::Path;
use std::process::Command;

/// Load as `name` the busybox fixture with one more layer, the tree
/// `staging` (its top-level `entries`), and `config` merged into the image
/// config's `config`.
fn load_with_layer(env: &Env, name: &str, staging: &Path, entries: &[&str], config: Value) {
    let tar = env.dir.path().join(format!("layer-{name}.tar"));
    // GNU tar keeps symlinks as symlinks.
    let st = Command::new("tar")
        .arg("-C")
        .arg(staging)
        .arg("-cf")
        .arg(&tar)
        .args(entries)
        .status()
        .unwrap();
    assert!(st.success(), "tar failed");
    env.load_image_with_layer(name, &config, Some(&std::fs::read(&tar).unwrap()));
}

/// Every file under `dir` with its content (directories as "<dir>").
fn snapshot(dir: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        let key = p.display().to_string();
        if e.file_type().unwrap().is_dir() {
            out.insert(key, "<dir>".into());
            out.extend(snapshot(&p));
        } else {
            out.insert(key, std::fs::read_to_string(&p).unwrap_or_default());
        }
    }
    out
}

fn fails_with(env: &Env, args: &[&str], needle: &str) {
    let out = env.berth(args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "berth {args:?} succeeded: {}{err}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(err.contains(needle), "berth {args:?}: {err}");
}

#[test]
fn symlinks_in_an_image_never_reach_the_host() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    // The host canary: a passwd and group naming a user the image lacks,
    // an executable the image lacks, a file a volume must not receive.
    let host = tempfile::tempdir().unwrap();
    let h = host.path();
    std::fs::write(h.join("passwd"), "canaryuser:x:4242:4242::/:/bin/sh\n").unwrap();
    std::fs::write(h.join("group"), "canaryuser:x:4242:\n").unwrap();
    std::fs::write(h.join("canary-file"), "host secret\n").unwrap();
    std::fs::write(h.join("tool"), "#!/bin/sh\necho ESCAPED\n").unwrap();
    std::fs::set_permissions(h.join("tool"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let before = snapshot(h);

    let staging = tempfile::tempdir().unwrap();
    let s = staging.path();
    std::fs::create_dir_all(s.join("etc")).unwrap();
    std::fs::create_dir_all(s.join("bin")).unwrap();
    let hs = h.display().to_string();
    symlink(h.join("passwd"), s.join("etc/passwd")).unwrap();
    symlink(h.join("group"), s.join("etc/group")).unwrap();
    symlink(h.join("tool"), s.join("bin/evil-abs")).unwrap();
    symlink(
        format!("../../../../../../..{hs}/tool"),
        s.join("bin/evil-dots"),
    )
    .unwrap();
    symlink(h, s.join("work")).unwrap();
    symlink(h, s.join("data")).unwrap();
    let entries = ["etc", "bin", "work", "data"];
    let config = json!({
        "Entrypoint": ["/bin/evil-abs"],
        "WorkingDir": "/work",
        "Volumes": {"/data": {}},
    });
    load_with_layer(&env, "escape", s, &entries, config.clone());
    // The same without the VOLUME, to run: berth-runtime refuses to mount
    // on /data, a link that dangles inside the root.
    let mut live = config;
    live["Volumes"] = Value::Null;
    load_with_layer(&env, "escape-live", s, &entries, live);

    // Users and groups: the host's passwd is never read.
    let unknown = "unable to find user \"canaryuser\"";
    // (Were the host's passwd read, this would run `id` as uid 4242.)
    fails_with(
        &env,
        &[
            "run",
            "--rm",
            "-u",
            "canaryuser",
            "-w",
            "/",
            "--entrypoint",
            "id",
            "escape-live",
        ],
        unknown,
    );
    fails_with(
        &env,
        &["run", "--rm", "-u", "0:canaryuser", "escape"],
        "unable to find group \"canaryuser\"",
    );
    // The entrypoint, absolute and through `..`, is not in the image.
    fails_with(
        &env,
        &["run", "--rm", "escape"],
        "/bin/evil-abs: executable file not found",
    );
    for ep in ["/bin/evil-dots", "evil-dots", "evil-abs"] {
        fails_with(
            &env,
            &["run", "--rm", "--entrypoint", ep, "escape"],
            "executable file not found",
        );
    }

    // The anonymous volume at /data is filled from the image when the
    // container is created, where /data leads nowhere: the host's canary
    // file is not in it.
    let id = env
        .ok(&["create", "--entrypoint", "", "escape", "true"])
        .trim()
        .to_string();
    let inspect: Value = serde_json::from_str(&env.ok(&["inspect", &id])).unwrap();
    assert_eq!(inspect[0]["Mounts"][0]["Destination"], "/data");
    let source = inspect[0]["Mounts"][0]["Source"]
        .as_str()
        .unwrap()
        .to_string();
    let files: Vec<_> = std::fs::read_dir(&source).unwrap().flatten().collect();
    assert!(files.is_empty(), "volume {source} holds {files:?}");
    env.ok(&["rm", "-v", &id]);

    // A running container: exec resolves in its root too.
    env.ok(&[
        "run",
        "-d",
        "--name",
        "live",
        "--entrypoint",
        "sleep",
        "-w",
        "/",
        "escape-live",
        "1000",
    ]);
    fails_with(&env, &["exec", "-u", "canaryuser", "live", "true"], unknown);
    fails_with(
        &env,
        &["exec", "live", "/bin/evil-dots"],
        "executable file not found",
    );
    assert_eq!(
        env.ok(&["exec", "-u", "1000", "live", "id", "-u"]),
        "1000\n"
    );

    // WORKDIR /work -> host dir: the runtime changes directory after
    // pivot_root, so /work resolves inside the root, where it dangles.
    let out = env.berth(&[
        "run",
        "--rm",
        "--entrypoint",
        "sh",
        "escape-live",
        "-c",
        "pwd; ls -A",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stdout.contains("canary-file"), "{stdout}");
    assert!(
        !out.status.success() && stderr.contains("chdir to cwd /work: ENOENT"),
        "{stdout}{stderr}"
    );

    env.ok(&["rm", "-f", "-v", "live"]);
    assert_eq!(snapshot(h), before, "the host canary changed");
}

#[test]
fn an_unparsable_uid_is_an_error_not_root() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    let staging = tempfile::tempdir().unwrap();
    let s = staging.path();
    std::fs::create_dir_all(s.join("etc")).unwrap();
    std::fs::write(
        s.join("etc/passwd"),
        "root:x:0:0:root:/root:/bin/sh\nbad:x:12ab:0::/:/bin/sh\n",
    )
    .unwrap();
    load_with_layer(&env, "baduid", s, &["etc"], json!({}));
    fails_with(
        &env,
        &["run", "--rm", "-u", "bad", "baduid", "id", "-u"],
        "the image's /etc/passwd, line 2: uid \"12ab\" is not a valid id",
    );
    // The well-formed entries still resolve.
    assert_eq!(
        env.ok(&["run", "--rm", "-u", "root", "baduid", "id", "-u"]),
        "0\n"
    );
}
