//! containers.conf picks `run`'s default network as podman 4.3 reads it:
//! `[containers] netns` = host, none, bridge or private; `--network` on
//! the command line still wins; a value berth cannot do is one error
//! naming the file, and nothing is created.

mod engine_env;

use berth_testkit::{is_root, require};
use engine_env::Env;

fn conf(env: &Env, text: &str) {
    let p = env
        .dir
        .path()
        .join("sysconf/etc/containers/containers.conf");
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

fn netns_inside(env: &Env, extra: &[&str]) -> String {
    let mut args = vec!["run", "--rm"];
    args.extend_from_slice(extra);
    args.extend(["busybox", "readlink", "/proc/self/ns/net"]);
    env.ok(&args).trim().to_string()
}

#[test]
fn netns_in_containers_conf_is_the_default_network() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    let host = std::fs::read_link("/proc/self/ns/net")
        .unwrap()
        .display()
        .to_string();
    conf(
        &env,
        "[containers]\nnetns = \"host\"\n[network]\ndefault_network = \"podman\"\n",
    );
    assert_eq!(netns_inside(&env, &[]), host);
    // The command line beats the file.
    assert_ne!(netns_inside(&env, &["--network", "none"]), host);
    conf(&env, "[containers]\nnetns = \"none\"\n");
    assert_ne!(netns_inside(&env, &[]), host);
    let ifaces = env.ok(&["run", "--rm", "busybox", "cat", "/proc/net/dev"]);
    let names: Vec<&str> = ifaces
        .lines()
        .skip(2)
        .filter_map(|l| l.split(':').next())
        .map(str::trim)
        .collect();
    assert_eq!(names, ["lo"], "{ifaces}");
    assert_eq!(netns_inside(&env, &["--network", "host"]), host);
    conf(&env, "[containers]\nnetns = \"slirp4netns\"\n");
    let out = env.berth(&["run", "--rm", "busybox", "true"]);
    assert_eq!(out.status.code(), Some(125));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("containers.conf") && err.contains("slirp4netns"),
        "{err}"
    );
    assert_eq!(env.stored_containers(), 0);
}
