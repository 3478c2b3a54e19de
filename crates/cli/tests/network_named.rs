//! User-defined networks (as root): `network create|ls|inspect|exists|rm|
//! prune` with podman's output and exit codes, bad input refused with
//! nothing made, and containers on one named network reaching each other
//! by address while a container on another network or the default one
//! does not; `rm` refused while a container is on the network, `rm -f`
//! removing it, its bridge, its isolation rule and its config.
//!
//! Each test has its own config root (so its own networks directory);
//! bridges and subnets are host-wide, claimed under /run/berth-network
//! and given back by `network rm`, which a guard runs on every exit.

mod engine_env;

use berth_testkit::{is_root, require};
use engine_env::Env;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn bridge_available() -> bool {
    Path::new("/usr/lib/cni/bridge").exists() && Path::new("/usr/lib/cni/host-local").exists()
}

fn conflist(env: &Env, name: &str) -> PathBuf {
    env.dir
        .path()
        .join("sysconf/etc/berth/networks")
        .join(format!("{name}.conflist"))
}

/// Removes the test's networks (and their containers) however it ends.
struct Nets<'a>(&'a Env, Vec<String>);

impl Drop for Nets<'_> {
    fn drop(&mut self) {
        for n in &self.1 {
            let _ = self.0.berth(&["network", "rm", "-f", n]);
        }
    }
}

fn unique(prefix: &str) -> String {
    berth_testkit::unique_name(prefix)
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect()
}

fn forward_rules() -> String {
    let out = Command::new("iptables")
        .args(["-S", "FORWARD"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn network_commands_as_podman() {
    require!(is_root(), "networks need root");
    let env = Env::new();
    let (a, b) = (unique("neta"), unique("netb"));
    let _guard = Nets(&env, vec![a.clone(), b.clone()]);
    assert_eq!(env.ok(&["network", "create", &a]), format!("{a}\n"));
    assert_eq!(
        env.ok(&[
            "network",
            "create",
            "--internal",
            "--label",
            "tier=db",
            "--subnet",
            "10.201.7.0/24",
            "--gateway",
            "10.201.7.1",
            "--ip-range",
            "10.201.7.128/25",
            &b,
        ]),
        format!("{b}\n")
    );
    // inspect: podman's shape, field for field.
    let v: Value = serde_json::from_str(&env.ok(&["network", "inspect", &b])).unwrap();
    let n = &v[0];
    let mut keys: Vec<&str> = n.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "created",
            "dns_enabled",
            "driver",
            "id",
            "internal",
            "ipam_options",
            "ipv6_enabled",
            "labels",
            "name",
            "network_interface",
            "subnets"
        ]
    );
    assert_eq!(n["name"], b.as_str());
    assert_eq!(n["id"].as_str().unwrap().len(), 64);
    assert_eq!(n["internal"], true);
    assert_eq!(n["labels"]["tier"], "db");
    assert_eq!(
        n["subnets"][0],
        serde_json::json!({"subnet": "10.201.7.0/24", "gateway": "10.201.7.1",
            "lease_range": {"start_ip": "10.201.7.129", "end_ip": "10.201.7.255"}})
    );
    assert_eq!(n["ipam_options"]["driver"], "host-local");
    // The conflist is podman's: labels under args, no gateway role.
    let list: Value = serde_json::from_slice(&std::fs::read(conflist(&env, &b)).unwrap()).unwrap();
    assert_eq!(list["args"]["podman_labels"]["tier"], "db");
    assert_eq!(list["plugins"][0]["isGateway"], false);
    // A network made without --subnet gets a free 10.89.N.0/24.
    let auto: Value = serde_json::from_str(&env.ok(&["network", "inspect", &a])).unwrap();
    let subnet = auto[0]["subnets"][0]["subnet"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        subnet.starts_with("10.89.") && subnet.ends_with(".0/24"),
        "{auto}"
    );
    assert_eq!(
        env.ok(&[
            "network",
            "inspect",
            "--format",
            "{{.Name}} {{.Driver}}",
            &a
        ]),
        format!("{a} bridge\n")
    );
    // ls: the default network and both, podman's columns.
    let ls = env.ok(&["network", "ls"]);
    assert!(ls.starts_with("NETWORK ID    NAME"), "{ls}");
    assert!(
        ls.contains(&format!("  {a}  ")) && ls.contains("  berth  "),
        "{ls}"
    );
    let q = env.ok(&["network", "ls", "-q", "--filter", "label=tier=db"]);
    assert_eq!(q, format!("{b}\n"));
    let q = env.ok(&[
        "network",
        "ls",
        "--format",
        "{{.Name}}",
        "--filter",
        &format!("name=^{a}$"),
    ]);
    assert_eq!(q, format!("{a}\n"));
    // exists: 0 or 1, nothing printed.
    assert_eq!(env.berth(&["network", "exists", &a]).status.code(), Some(0));
    assert_eq!(
        env.berth(&["network", "exists", "nosuchnet"]).status.code(),
        Some(1)
    );
    // Twice: podman's error; --ignore makes it a no-op.
    let out = env.berth(&["network", "create", &a]);
    assert_eq!(out.status.code(), Some(125));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(&format!(
            "network name {a} already used: network already exists"
        )),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        env.ok(&["network", "create", "--ignore", &a]),
        format!("{a}\n")
    );
    // Bad input: one error, nothing made.
    for (args, says) in [
        (vec!["--subnet", "10.201.7.0/25"], "overlaps network"),
        (vec!["--subnet", "bogus"], "invalid --subnet"),
        (
            vec!["--subnet", "10.202.0.0/24", "--gateway", "10.203.0.1"],
            "invalid --gateway",
        ),
        (vec!["-d", "macvlan"], "only the bridge driver"),
    ] {
        let mut full = vec!["network", "create"];
        full.extend(&args);
        full.push("badnet");
        let out = env.berth(&full);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(125), "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
        assert!(!conflist(&env, "badnet").exists());
    }
    assert_eq!(
        env.berth(&["network", "create", "-bad"]).status.code(),
        Some(125)
    );
    // rm of a missing network: 1; of the default: refused.
    let out = env.berth(&["network", "rm", "nosuchnet"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("unable to find network with name or ID nosuchnet: network not found"));
    assert!(!env.berth(&["network", "rm", "berth"]).status.success());
    // prune removes both (no container on them), never the default.
    let mut pruned: Vec<String> = env
        .ok(&["network", "prune", "-f"])
        .lines()
        .map(str::to_string)
        .collect();
    pruned.sort();
    let mut want = vec![a.clone(), b.clone()];
    want.sort();
    assert_eq!(pruned, want);
    assert_eq!(env.ok(&["network", "ls", "-q"]), "berth\n");
    assert!(!conflist(&env, &a).exists());
}

/// Fetch `url` from a container on `net`, retrying while httpd starts
/// (busybox's `wget -T` crashes in Debian's build: `timeout` bounds it).
fn wget(env: &Env, net: &str, url: &str) -> std::process::Output {
    env.berth(&[
        "run", "--rm", "--network", net, "busybox", "sh", "-c",
        &format!("for i in 1 2 3 4 5 6 7 8 9 10; do timeout 3 wget -q -O - {url} && exit 0; sleep 0.2; done; exit 1"),
    ])
}

#[test]
fn containers_on_a_named_network_reach_each_other_and_no_one_else() {
    require!(is_root(), "bridge networking needs root");
    require!(
        bridge_available(),
        "containernetworking-plugins not installed"
    );
    let env = Env::new();
    let (a, b) = (unique("neta"), unique("netb"));
    let _guard = Nets(&env, vec![a.clone(), b.clone()]);
    env.ok(&["network", "create", &a]);
    env.ok(&["network", "create", &b]);
    let info: Value = serde_json::from_str(&env.ok(&["network", "inspect", &a])).unwrap();
    let bridge = info[0]["network_interface"].as_str().unwrap().to_string();
    let subnet = info[0]["subnets"][0]["subnet"]
        .as_str()
        .unwrap()
        .to_string();
    let prefix = subnet.trim_end_matches("0/24").to_string();
    let id = env
        .ok(&[
            "run",
            "-d",
            "--name",
            "web",
            "--network",
            &a,
            "busybox",
            "httpd",
            "-f",
            "-p",
            "80",
            "-h",
            "/etc",
        ])
        .trim()
        .to_string();
    let ns = &env.inspect("web")["NetworkSettings"];
    let ip = ns["Networks"][&a]["IPAddress"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(ip.starts_with(&prefix), "{ip} not in {subnet}: {ns}");
    assert_eq!(ns["IPAddress"], ip.as_str());
    let ps = env.ok(&["ps", "--format", "{{.Networks}}"]);
    assert!(ps.contains(&a), "{ps}");
    let url = format!("http://{ip}/hostname");
    // Same network: reached by address.
    let out = wget(&env, &a, &url);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), &id[..12]);
    // Another named network, and the default one: not reached.
    // (Under sh, not exec'd by it: `timeout` cannot end a PID 1.)
    for other in [b.as_str(), "bridge"] {
        let fetch = format!("timeout 3 wget -q -O - {url}; exit $?");
        let out = env.berth(&[
            "run",
            "--rm",
            "--network",
            other,
            "busybox",
            "sh",
            "-c",
            &fetch,
        ]);
        assert!(!out.status.success(), "{other} reached {url}");
    }
    // An unknown network: one error at create, nothing made.
    let out = env.berth(&[
        "create",
        "--name",
        "lost",
        "--network",
        "nosuchnet",
        "busybox",
    ]);
    assert_eq!(out.status.code(), Some(125));
    assert!(String::from_utf8_lossy(&out.stderr).contains("network not found"));
    assert_eq!(
        env.berth(&["container", "exists", "lost"]).status.code(),
        Some(1)
    );
    // rm while web is on it: podman's error, exit 2, nothing removed.
    let out = env.berth(&["network", "rm", &a]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(&format!(
            "{a:?} has associated containers with it. Use -f to forcibly delete containers and pods: network is being used"
        )),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(conflist(&env, &a).exists());
    assert!(forward_rules().contains(&format!("berth network {a} isolation")));
    // rm -f: web goes, then the network with its bridge and rule.
    assert_eq!(env.ok(&["network", "rm", "-f", &a]), format!("{a}\n"));
    assert_eq!(
        env.berth(&["container", "exists", "web"]).status.code(),
        Some(1)
    );
    assert!(!conflist(&env, &a).exists());
    assert!(
        !Path::new("/sys/class/net").join(&bridge).exists(),
        "{bridge} left"
    );
    assert!(!forward_rules().contains(&format!("berth network {a} isolation")));
    assert!(!Path::new("/run/berth-network/bridges")
        .join(&bridge)
        .exists());
    env.ok(&["network", "rm", &b]);
    assert!(std::fs::read_dir(env.runroot().join("netns"))
        .map(|d| d.count() == 0)
        .unwrap_or(true));
}
