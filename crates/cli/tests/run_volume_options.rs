//! `-v` and `--mount` options beyond ro/rw, with real containers: `U`
//! chowns the source to the container's user, `O` keeps writes off the
//! host and drops them with the container, `nocopy` leaves a new volume
//! empty, a propagation mode reaches the mount, `idmap` mounts; inspect's
//! `Mounts` and `Binds` show them as podman 4.3 does.

mod engine_env;

use berth_testkit::{is_root, require};
use engine_env::Env;
use std::os::unix::fs::MetadataExt;

#[test]
fn chown_u_gives_the_source_to_the_containers_user() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    let host = env.dir.path().join("owned");
    std::fs::create_dir_all(host.join("sub")).unwrap();
    std::fs::write(host.join("sub/f"), "x").unwrap();
    let outside = env.dir.path().join("outside");
    std::fs::write(&outside, "not mine").unwrap();
    std::os::unix::fs::symlink(&outside, host.join("link")).unwrap();
    let v = format!("{}:/u:U", host.display());
    let out = env.ok(&[
        "run",
        "--rm",
        "-u",
        "1000:10",
        "-v",
        &v,
        "busybox",
        "sh",
        "-c",
        "stat -c '%u:%g' /u /u/sub /u/sub/f; echo w > /u/sub/new && echo wrote",
    ]);
    assert_eq!(out, "1000:10\n1000:10\n1000:10\nwrote\n");
    for p in ["", "sub", "sub/f", "link"] {
        let m = std::fs::symlink_metadata(host.join(p)).unwrap();
        assert_eq!((m.uid(), m.gid()), (1000, 10), "{p}");
    }
    // The link was chowned itself, never followed.
    assert_eq!(std::fs::metadata(&outside).unwrap().uid(), 0);
    // --mount's U and a named volume's: the volume's directory is chowned.
    let out = env.ok(&[
        "run",
        "--rm",
        "-u",
        "1000:10",
        "--mount",
        "type=volume,src=uvol,dst=/data,U",
        "busybox",
        "stat",
        "-c",
        "%u:%g",
        "/data",
    ]);
    assert_eq!(out, "1000:10\n");
}

#[test]
fn overlay_o_keeps_writes_off_the_host() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    let host = env.dir.path().join("lower");
    std::fs::create_dir(&host).unwrap();
    std::fs::write(host.join("orig"), "from host\n").unwrap();
    let v = format!("{}:/o:O", host.display());
    env.ok(&[
        "run",
        "--name",
        "ov",
        "-v",
        &v,
        "busybox",
        "sh",
        "-c",
        "echo changed > /o/orig; echo new > /o/new; rm /o/orig; echo again > /o/orig",
    ]);
    // The host directory is untouched.
    let names: Vec<String> = std::fs::read_dir(&host)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["orig"]);
    assert_eq!(
        std::fs::read_to_string(host.join("orig")).unwrap(),
        "from host\n"
    );
    // inspect shows the overlay's directories, as podman does.
    let info = env.inspect("ov");
    let m = &info["Mounts"][0];
    assert_eq!(m["Type"], "bind");
    assert_eq!(m["Propagation"], "private");
    let opts: Vec<&str> = m["Options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o.as_str().unwrap())
        .collect();
    assert_eq!(opts[0], format!("lowerdir={}", host.display()));
    let upper = opts[1].strip_prefix("upperdir=").unwrap().to_string();
    assert!(opts[2].starts_with("workdir="), "{opts:?}");
    assert!(
        upper.starts_with(&env.root().display().to_string()),
        "{upper}"
    );
    assert_eq!(
        std::fs::read_to_string(format!("{upper}/new")).unwrap(),
        "new\n"
    );
    let bind = info["HostConfig"]["Binds"][0].as_str().unwrap();
    assert!(
        bind.ends_with(",private") && bind.contains(":/o:lowerdir="),
        "{bind}"
    );
    // Each run starts from the host directory: the last run's writes are
    // gone, as podman drops them.
    assert_eq!(env.ok(&["start", "-a", "ov"]), "");
    env.ok(&[
        "create",
        "--name",
        "ov2",
        "-v",
        &v,
        "busybox",
        "sh",
        "-c",
        "ls /o; echo x > /o/new",
    ]);
    assert_eq!(env.ok(&["start", "-a", "ov2"]), "orig\n");
    assert_eq!(env.ok(&["start", "-a", "ov2"]), "orig\n");
    env.ok(&["rm", "ov2"]);
    // The upper directory goes with the container.
    env.ok(&["rm", "ov"]);
    assert!(!std::path::Path::new(&upper).exists());
    assert_eq!(std::fs::read_dir(&host).unwrap().count(), 1);
    // O on a named volume is refused before anything is made.
    let out = env.berth(&["create", "-v", "vol:/o:O", "busybox", "true"]);
    assert_eq!(out.status.code(), Some(125));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("O (overlay) option is for host directories"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(env.ok(&["volume", "ls", "-q"]), "");
}

#[test]
fn overlay_o_is_emptied_when_a_detached_container_starts_again() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    let host = env.dir.path().join("lower");
    std::fs::create_dir(&host).unwrap();
    std::fs::write(host.join("orig"), "from host\n").unwrap();
    let v = format!("{}:/x:O", host.display());
    env.ok(&[
        "run", "-d", "--name", "ovd", "-v", &v, "busybox", "sleep", "1000",
    ]);
    env.ok(&["exec", "ovd", "sh", "-c", "echo w > /x/written"]);
    assert_eq!(env.ok(&["exec", "ovd", "ls", "/x"]), "orig\nwritten\n");
    env.ok(&["stop", "-t", "0", "ovd"]);
    // The start goes through the monitor, as run -d did: the last run's
    // writes are gone there too.
    env.ok(&["start", "ovd"]);
    assert_eq!(env.ok(&["exec", "ovd", "ls", "/x"]), "orig\n");
    let names: Vec<String> = std::fs::read_dir(&host)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["orig"]);
    env.ok(&["rm", "-f", "ovd"]);
}

#[test]
fn nocopy_leaves_a_new_volume_empty() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    // The image has files at /etc: a plain new volume is filled with
    // them, a nocopy one is not.
    let out = env.ok(&["run", "--rm", "-v", "filled:/etc", "busybox", "ls", "/etc"]);
    assert!(out.contains("passwd"), "{out}");
    let out = env.ok(&[
        "run",
        "--rm",
        "-v",
        "empty:/etc:nocopy",
        "busybox",
        "ls",
        "/etc",
    ]);
    assert!(!out.contains("passwd"), "{out}");
    let out = env.ok(&[
        "run",
        "--rm",
        "--mount",
        "type=volume,src=empty2,dst=/etc,volume-nocopy",
        "busybox",
        "ls",
        "/etc",
    ]);
    assert!(!out.contains("passwd"), "{out}");
    // inspect: podman's options for a nocopy volume.
    env.ok(&[
        "create",
        "--name",
        "nc",
        "-v",
        "empty:/etc:nocopy",
        "busybox",
        "true",
    ]);
    let info = env.inspect("nc");
    assert_eq!(
        info["Mounts"][0]["Options"],
        serde_json::json!(["nocopy", "nosuid", "nodev", "rbind"])
    );
    assert_eq!(
        info["HostConfig"]["Binds"][0],
        "empty:/etc:nocopy,rw,rprivate,nosuid,nodev,rbind"
    );
}

#[test]
fn propagation_reaches_the_mount_and_inspect() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    let host = env.dir.path().join("p");
    std::fs::create_dir(&host).unwrap();
    let v = format!("{}:/p:rshared,ro", host.display());
    let out = env.ok(&[
        "run",
        "--name",
        "pr",
        "-v",
        &v,
        "busybox",
        "grep",
        " /p ",
        "/proc/self/mountinfo",
    ]);
    assert!(out.contains(" shared:"), "{out}");
    let info = env.inspect("pr");
    assert_eq!(info["Mounts"][0]["Propagation"], "rshared");
    assert_eq!(info["Mounts"][0]["RW"], false);
    assert_eq!(info["Mounts"][0]["Options"], serde_json::json!(["rbind"]));
    assert_eq!(
        info["HostConfig"]["Binds"][0].as_str().unwrap(),
        format!("{}:/p:rshared,ro,rbind", host.display())
    );
    // --mount's bind-propagation; a private one has no peer group.
    let m = format!(
        "type=bind,src={},dst=/p,bind-propagation=private",
        host.display()
    );
    let out = env.ok(&[
        "run",
        "--rm",
        "--mount",
        &m,
        "busybox",
        "grep",
        " /p ",
        "/proc/self/mountinfo",
    ]);
    assert!(!out.contains("shared:"), "{out}");
    // Two modes, or a bad one, are podman's errors, exit 125.
    for bad in [
        format!("{}:/p:shared,slave", host.display()),
        format!("{}:/p:bogus", host.display()),
    ] {
        let out = env.berth(&["run", "--rm", "-v", &bad, "busybox", "true"]);
        assert_eq!(out.status.code(), Some(125), "{bad}");
    }
    let bad = format!(
        "type=bind,src={},dst=/p,bind-propagation=bogus",
        host.display()
    );
    let out = env.berth(&["run", "--rm", "--mount", &bad, "busybox", "true"]);
    assert_eq!(out.status.code(), Some(125));
}

#[test]
fn idmap_mounts_with_the_identity_mapping() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    let host = env.dir.path().join("i");
    std::fs::create_dir(&host).unwrap();
    std::fs::write(host.join("f"), "x").unwrap();
    std::os::unix::fs::chown(host.join("f"), Some(1234), Some(1234)).unwrap();
    let m = format!("type=bind,src={},dst=/i,idmap", host.display());
    let out = env.berth(&[
        "run", "--rm", "--mount", &m, "busybox", "stat", "-c", "%u", "/i/f",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // The kernel either makes the idmapped mount (the identity: the
    // container has no user namespace) or the runtime says why not.
    match out.status.code() {
        Some(0) => assert_eq!(String::from_utf8_lossy(&out.stdout), "1234\n"),
        _ => assert!(stderr.contains("idmap"), "{stderr}"),
    }
    // The runtime was asked for it: the mount carries the mappings.
    env.ok(&["create", "--name", "im", "--mount", &m, "busybox", "true"]);
    let bundle = env.inspect("im")["Bundle"].as_str().unwrap().to_string();
    let config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(format!("{bundle}/config.json")).unwrap()).unwrap();
    let mount = config["mounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["destination"] == "/i")
        .unwrap();
    let identity = serde_json::json!([{"containerID": 0, "hostID": 0, "size": 4294967295u32}]);
    assert_eq!(mount["uidMappings"], identity, "{mount}");
    assert_eq!(mount["gidMappings"], identity, "{mount}");
}
