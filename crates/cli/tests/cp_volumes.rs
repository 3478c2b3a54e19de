//! `berth cp` to and from paths inside a container's volumes and bind
//! mounts: the files are the volume's, as podman's `cp` sees them, in a
//! running container and in one never started; links inside a volume
//! resolve inside the volume, never on the host.

mod engine_env;

use berth_testkit::{is_root, require};
use engine_env::Env;

#[test]
fn cp_reaches_the_volumes_of_a_running_container() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    let bind = env.dir.path().join("bound");
    std::fs::create_dir(&bind).unwrap();
    let b = format!("{}:/b", bind.display());
    env.ok(&[
        "run",
        "-d",
        "--name",
        "c",
        "-v",
        "vol:/data",
        "-v",
        &b,
        "busybox",
        "sleep",
        "1000",
    ]);
    let src = env.dir.path().join("hello.txt");
    std::fs::write(&src, "hello\n").unwrap();
    // Into the named volume and the bind: the container sees them there.
    env.ok(&["cp", src.to_str().unwrap(), "c:/data/"]);
    env.ok(&["cp", src.to_str().unwrap(), "c:/b/renamed.txt"]);
    assert_eq!(
        env.ok(&["exec", "c", "cat", "/data/hello.txt", "/b/renamed.txt"]),
        "hello\nhello\n"
    );
    assert_eq!(
        std::fs::read_to_string(bind.join("renamed.txt")).unwrap(),
        "hello\n"
    );
    let mountpoint = env.ok(&["volume", "inspect", "--format", "{{.Mountpoint}}", "vol"]);
    let data = std::path::PathBuf::from(mountpoint.trim());
    assert_eq!(
        std::fs::read_to_string(data.join("hello.txt")).unwrap(),
        "hello\n"
    );
    // Out of the volume: a file the container wrote, and the mount point
    // itself as a directory of the name asked.
    env.ok(&[
        "exec",
        "c",
        "sh",
        "-c",
        "mkdir -p /data/sub && echo inner > /data/sub/f",
    ]);
    let out = env.dir.path().join("out.txt");
    env.ok(&["cp", "c:/data/sub/f", out.to_str().unwrap()]);
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "inner\n");
    let copy = env.dir.path().join("copy");
    env.ok(&["cp", "c:/data", copy.to_str().unwrap()]);
    assert_eq!(
        std::fs::read_to_string(copy.join("sub/f")).unwrap(),
        "inner\n"
    );
    assert_eq!(
        std::fs::read_to_string(copy.join("hello.txt")).unwrap(),
        "hello\n"
    );
    let into = env.dir.path().join("into");
    std::fs::create_dir(&into).unwrap();
    env.ok(&["cp", "c:/data", into.to_str().unwrap()]);
    assert_eq!(
        std::fs::read_to_string(into.join("data/sub/f")).unwrap(),
        "inner\n"
    );
}

#[test]
fn cp_into_a_created_containers_volume() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    env.ok(&[
        "create",
        "--name",
        "c",
        "-v",
        "vol:/data",
        "busybox",
        "cat",
        "/data/f",
    ]);
    let src = env.dir.path().join("f");
    std::fs::write(&src, "before the start\n").unwrap();
    env.ok(&["cp", src.to_str().unwrap(), "c:/data/f"]);
    assert_eq!(env.ok(&["start", "-a", "c"]), "before the start\n");
    // Another container with the same volume sees the file too.
    assert_eq!(
        env.ok(&["run", "--rm", "-v", "vol:/v", "busybox", "cat", "/v/f"]),
        "before the start\n"
    );
}

#[test]
fn links_in_a_volume_resolve_inside_it() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    let target = env.dir.path().join("host-target");
    std::fs::create_dir(&target).unwrap();
    env.ok(&[
        "run",
        "-d",
        "--name",
        "c",
        "-v",
        "vol:/data",
        "busybox",
        "sleep",
        "1000",
    ]);
    // The container plants a link to a host path in the volume.
    let link = format!(
        "ln -s {} /data/esc && mkdir /data/d && ln -s / /data/d/up",
        target.display()
    );
    env.ok(&["exec", "c", "sh", "-c", &link]);
    let src = env.dir.path().join("payload");
    std::fs::write(&src, "x").unwrap();
    // Through the link the path is the volume's, where it does not exist.
    let out = env.berth(&["cp", src.to_str().unwrap(), "c:/data/esc/"]);
    assert_eq!(
        out.status.code(),
        Some(125),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(std::fs::read_dir(&target).unwrap().count(), 0);
    // A link to / inside the volume leads to the volume's root.
    env.ok(&["cp", src.to_str().unwrap(), "c:/data/d/up/"]);
    assert_eq!(env.ok(&["exec", "c", "cat", "/data/payload"]), "x");
    assert!(!std::path::Path::new("/payload").exists());
}
