//! Named and anonymous volumes with real containers (as root): the
//! `volume` commands, `-v NAME:/ctr` with podman's copy-up, the image's
//! `Volumes`, `rm -v`/`--rm`, refusals, and bad input leaving nothing.

mod engine_env;

use berth_testkit::{is_root, require};
use engine_env::Env;
use serde_json::{json, Value};

fn names(env: &Env) -> Vec<String> {
    let mut v: Vec<String> = env
        .ok(&["volume", "ls", "-q"])
        .lines()
        .map(str::to_string)
        .collect();
    v.sort();
    v
}

#[test]
fn volume_commands_and_named_volumes_in_containers() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    assert_eq!(env.ok(&["volume", "create", "data"]), "data\n");
    let random = env.ok(&["volume", "create"]).trim().to_string();
    assert_eq!(random.len(), 64, "{random}");
    assert_eq!(names(&env), {
        let mut n = vec!["data".to_string(), random.clone()];
        n.sort();
        n
    });
    let ls: Value = serde_json::from_str(&env.ok(&["volume", "ls", "--format", "json"])).unwrap();
    let data_dir = env.root().join("volumes/data/_data");
    assert!(ls
        .as_array()
        .unwrap()
        .iter()
        .any(|v| v["Name"] == "data" && v["Mountpoint"] == json!(data_dir)));
    let inspect: Value = serde_json::from_str(&env.ok(&["volume", "inspect", "data"])).unwrap();
    assert_eq!(inspect[0]["Driver"], "local");
    let table = env.ok(&["volume", "ls"]);
    assert!(
        table.starts_with("DRIVER") && table.contains("local       data"),
        "{table}"
    );
    // Bad input: one clear error each.
    let err = String::from_utf8(env.berth(&["volume", "create", "data"]).stderr).unwrap();
    assert!(err.contains("already exists"), "{err}");
    let err = String::from_utf8(env.berth(&["volume", "create", "../x"]).stderr).unwrap();
    assert!(err.contains("invalid volume name"), "{err}");
    let err = String::from_utf8(env.berth(&["volume", "inspect", "nope"]).stderr).unwrap();
    assert!(err.contains("no volume named \"nope\""), "{err}");

    // Written by one container, read by the next and on the host.
    env.ok(&[
        "run",
        "--rm",
        "-v",
        "data:/data",
        "busybox",
        "sh",
        "-c",
        "echo hi > /data/f",
    ]);
    assert_eq!(std::fs::read_to_string(data_dir.join("f")).unwrap(), "hi\n");
    let out = env.ok(&[
        "run",
        "--rm",
        "-v",
        "data:/data:ro",
        "busybox",
        "sh",
        "-c",
        "cat /data/f; touch /data/g 2>/dev/null || echo ro",
    ]);
    assert_eq!(out, "hi\nro\n");

    // A missing volume is made, and filled from the image (copy-up).
    let out = env.ok(&[
        "run",
        "--rm",
        "-v",
        "seeded:/usr/sbin",
        "busybox",
        "sh",
        "-c",
        "ls /usr/sbin | wc -l",
    ]);
    assert!(out.trim().parse::<u32>().unwrap() > 5, "{out}");
    let seeded = env.root().join("volumes/seeded/_data");
    assert!(std::fs::symlink_metadata(seeded.join("chroot"))
        .unwrap()
        .file_type()
        .is_symlink());
    // Copy-up happens once: what the volume holds now stays.
    std::fs::write(seeded.join("mine"), "x").unwrap();
    std::fs::remove_file(seeded.join("chroot")).unwrap();
    env.ok(&["run", "--rm", "-v", "seeded:/usr/sbin", "busybox", "true"]);
    assert!(!seeded.join("chroot").exists());

    // rm refused while a container uses it; -f removes that container.
    env.ok(&[
        "create", "--name", "user", "-v", "data:/d", "busybox", "true",
    ]);
    let err = String::from_utf8(env.berth(&["volume", "rm", "data"]).stderr).unwrap();
    assert!(err.contains("being used by container(s) user"), "{err}");
    assert!(data_dir.join("f").exists());
    let err = String::from_utf8(env.berth(&["volume", "prune"]).stderr).unwrap();
    assert!(err.is_empty(), "{err}");
    assert_eq!(names(&env), ["data"], "prune keeps the used volume only");
    env.ok(&["volume", "rm", "-f", "data"]);
    assert!(env.ps().is_empty(), "the user went with -f");
    assert!(names(&env).is_empty());
    assert!(!env.root().join("volumes/data").exists());
}

#[test]
fn image_volumes_are_anonymous_and_go_with_rm_v() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    env.load_image("withvol", &json!({"Volumes": {"/home/berth": {}}}));
    env.ok(&[
        "create",
        "--name",
        "a",
        "withvol",
        "sh",
        "-c",
        "echo x > /home/berth/f",
    ]);
    let vols = names(&env);
    assert_eq!(vols.len(), 1, "{vols:?}");
    let info: Value = serde_json::from_str(&env.ok(&["volume", "inspect", &vols[0]])).unwrap();
    assert_eq!(info[0]["Anonymous"], true);
    let ctr: Value = serde_json::from_str(&env.ok(&["inspect", "a"])).unwrap();
    assert_eq!(ctr[0]["Mounts"][0]["Name"], json!(vols[0]));
    assert_eq!(ctr[0]["Mounts"][0]["Destination"], "/home/berth");
    assert_eq!(ctr[0]["Mounts"][0]["Source"], info[0]["Mountpoint"]);
    env.ok(&["start", "-a", "a"]);
    let file = env.root().join("volumes").join(&vols[0]).join("_data/f");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "x\n");
    // Plain rm keeps it (podman), rm -v removes it.
    env.ok(&["rm", "a"]);
    assert_eq!(names(&env), vols);
    env.ok(&["volume", "prune"]);
    env.ok(&["create", "--name", "b", "withvol", "true"]);
    assert_eq!(names(&env).len(), 1);
    env.ok(&["rm", "-v", "b"]);
    assert!(names(&env).is_empty());
    // --rm removes its anonymous volume, foreground and detached.
    env.ok(&["run", "--rm", "withvol", "true"]);
    assert!(names(&env).is_empty());
    let id = env.ok(&["run", "-d", "--rm", "withvol", "true"]);
    // The container goes first, then its volumes (a volume in use can't
    // be removed): wait for both.
    engine_env::eventually("the --rm container and its volume to go", || {
        env.berth(&["inspect", id.trim()]).status.code() != Some(0) && names(&env).is_empty()
    });
    // A path the user mounts gets no anonymous volume.
    env.ok(&["run", "--rm", "-v", "mine:/home/berth", "withvol", "true"]);
    assert_eq!(names(&env), ["mine"]);
}

#[test]
fn bad_volumes_are_one_error_and_leave_nothing() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    let layers = env.layers();
    let missing = env.dir.path().join("no-such-dir");
    let v = format!("{}:/x", missing.display());
    let out = env.berth(&["run", "--rm", "-v", "fresh:/y", "-v", &v, "busybox", "true"]);
    assert_eq!(out.status.code(), Some(125));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("does not exist") && err.contains("no-such-dir"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(!missing.exists(), "the host path was created");
    // A failure after the volume was made takes it away again.
    let out = env.berth(&[
        "run",
        "--rm",
        "-v",
        "fresh:/y",
        "busybox",
        "no-such-command",
    ]);
    assert_eq!(out.status.code(), Some(127));
    let out = env.berth(&["create", "-v", "fresh:/y", "no-such-image"]);
    assert_eq!(out.status.code(), Some(125));
    assert!(names(&env).is_empty(), "{:?}", names(&env));
    assert_eq!(env.stored_containers(), 0);
    assert_eq!(env.layers(), layers);
    let out = env.berth(&["run", "--rm", "-v", ":/y", "busybox", "true"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("empty"));
}

#[test]
fn concurrent_creates_of_one_name_make_one_volume() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    let children: Vec<_> = (0..6)
        .map(|i| {
            let name = if i % 2 == 0 {
                "same".to_string()
            } else {
                format!("v{i}")
            };
            env.command(&["volume", "create", &name])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    let ok = children
        .into_iter()
        .map(|mut c| c.wait().unwrap().success())
        .filter(|s| *s)
        .count();
    assert_eq!(ok, 4, "one of the three `same` and the three others");
    assert_eq!(names(&env), ["same", "v1", "v3", "v5"]);
}
