//! `commit` keeps the container's run options in the new image as podman
//! 4.3 does (Env, Entrypoint, Cmd, WorkingDir, User, ExposedPorts, Labels,
//! the anonymous Volumes; not the stop signal), `--include-volumes` adds
//! every volume, and `--squash` makes the filesystem one layer.

mod engine_env;

use berth_testkit::{is_root, require};
use engine_env::Env;
use serde_json::{json, Value};

fn image_config(env: &Env, image: &str) -> Value {
    let v: Value = serde_json::from_str(&env.ok(&["image", "inspect", image])).unwrap();
    v[0].clone()
}

/// A created container with every option podman carries into the image.
fn configured(env: &Env, name: &str, bind: &str) {
    env.ok(&[
        "create",
        "--name",
        name,
        "--network",
        "bridge",
        "-e",
        "A=1",
        "--entrypoint",
        r#"["/bin/sh","-c"]"#,
        "-w",
        "/tmp",
        "-u",
        "1:1",
        "--label",
        "lk=lv",
        "-p",
        "80",
        "--expose",
        "90",
        "-v",
        "/data",
        "-v",
        &format!("{bind}:/bound"),
        "--stop-signal",
        "SIGINT",
        "busybox",
        "echo hi > /tmp/x",
    ]);
}

#[test]
fn commit_keeps_the_run_options_podman_keeps() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    let bind = tempfile::tempdir().unwrap();
    configured(&env, "c", bind.path().to_str().unwrap());
    env.ok(&["commit", "-q", "c", "kept"]);
    let img = image_config(&env, "kept");
    let c = &img["Config"];
    let envs: Vec<&str> = c["Env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect();
    assert!(envs.contains(&"A=1"), "{envs:?}");
    assert!(envs.iter().any(|e| e.starts_with("PATH=")), "{envs:?}");
    assert!(!envs.iter().any(|e| e.starts_with("HOSTNAME=")), "{envs:?}");
    assert_eq!(c["Entrypoint"], json!(["/bin/sh", "-c"]));
    assert_eq!(c["Cmd"], json!(["echo hi > /tmp/x"]));
    assert_eq!(c["WorkingDir"], "/tmp");
    assert_eq!(c["User"], "1:1");
    assert_eq!(c["ExposedPorts"], json!({"80/tcp": {}, "90/tcp": {}}));
    assert_eq!(c["Labels"]["lk"], "lv");
    assert_eq!(img["Labels"]["lk"], "lv");
    // Only the anonymous volume; podman keeps no stop signal either.
    assert_eq!(c["Volumes"], json!({"/data": {}}));
    assert!(c.get("StopSignal").is_none_or(|s| s.is_null()), "{c}");
    // Two layers: the base's and the container's.
    assert_eq!(img["RootFS"]["Layers"].as_array().unwrap().len(), 2);

    // --change still wins over what the container had.
    env.ok(&["commit", "-q", "-c", "WORKDIR /srv", "c", "changed"]);
    assert_eq!(
        image_config(&env, "changed")["Config"]["WorkingDir"],
        "/srv"
    );

    // The image runs as the container did: its entrypoint, cmd, user, dir.
    let out = env.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--entrypoint",
        "",
        "kept",
        "sh",
        "-c",
        "echo $A; id -u; pwd",
    ]);
    assert_eq!(out, "1\n1\n/tmp\n");
    env.ok(&["rm", "-f", "-v", "c"]);
}

#[test]
fn include_volumes_keeps_every_volume_destination() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    let bind = tempfile::tempdir().unwrap();
    configured(&env, "c", bind.path().to_str().unwrap());
    env.ok(&["commit", "-q", "--include-volumes", "c", "withvols"]);
    assert_eq!(
        image_config(&env, "withvols")["Config"]["Volumes"],
        json!({"/data": {}, "/bound": {}})
    );
    env.ok(&["rm", "-f", "-v", "c"]);
}

#[test]
fn squash_makes_one_layer_with_the_whole_filesystem() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    env.ok(&[
        "run",
        "--name",
        "s",
        "--network",
        "none",
        "busybox",
        "sh",
        "-c",
        "echo new > /new && rm /etc/group",
    ]);
    let images_before = env.ok(&["images", "-q"]);
    let id = env.ok(&["commit", "-q", "--squash", "s", "squashed"]);
    let img = image_config(&env, "squashed");
    assert_eq!(
        img["RootFS"]["Layers"].as_array().unwrap().len(),
        1,
        "{img}"
    );
    assert_eq!(img["History"].as_array().unwrap().len(), 1, "{img}");
    let out = env.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "squashed",
        "sh",
        "-c",
        "cat /new; test -e /etc/group || echo gone; test -x /bin/busybox && echo base",
    ]);
    assert_eq!(out, "new\ngone\nbase\n");
    // The base image keeps its own layers.
    let base = image_config(&env, "busybox");
    assert!(!base["RootFS"]["Layers"].as_array().unwrap().is_empty());
    assert!(env.ok(&["images", "-q"]).contains(&id.trim()[..12]));

    // A missing container: a clear error, no image made.
    let out = env.berth(&["commit", "--squash", "nosuch", "x"]);
    assert_eq!(out.status.code(), Some(125));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("nosuch"), "{err}");
    let images_after = env.ok(&["images", "-q"]);
    assert_eq!(
        images_after.lines().count(),
        images_before.lines().count() + 1,
        "{images_after}"
    );
    env.ok(&["rm", "s"]);
}
