//! `--ip ADDR` and `--network-alias NAME` on berth's bridge network: the
//! container gets exactly the address asked for, inspect shows it and the
//! aliases (podman's order: aliases, then the short id); an address taken,
//! outside the subnet or asked without a bridge is one clear error that
//! leaves no container and no lease. berth has no name resolution between
//! containers, so the aliases are recorded and shown only.

mod engine_env;

use berth_testkit::{is_root, require};
use engine_env::Env;
use serde_json::json;
use std::path::Path;

const LEASES: &str = "/run/berth-network/ipam/berth";

fn bridge_available() -> bool {
    Path::new("/usr/lib/cni/bridge").exists() && Path::new("/usr/lib/cni/host-local").exists()
}

/// An address in berth's subnet far from host-local's first picks, and
/// different per test process (tests of other files share the bridge).
fn test_ip() -> String {
    let n = std::process::id();
    format!("10.90.{}.{}", 200 + n % 50, 2 + (n / 50) % 250)
}

fn fails(env: &Env, args: &[&str]) -> String {
    let out = env.berth(args);
    assert_eq!(
        out.status.code(),
        Some(125),
        "berth {args:?}: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn ip_and_aliases_on_the_bridge() {
    require!(is_root(), "bridge networking needs root");
    require!(bridge_available(), "no CNI plugins in /usr/lib/cni");
    let env = Env::new();
    let ip = test_ip();
    let lease = Path::new(LEASES).join(&ip);
    assert!(!lease.exists(), "{ip} is leased before the test");

    // The address inside is the one asked for.
    let out = env.ok(&[
        "run",
        "--rm",
        "--network",
        "bridge",
        "--ip",
        &ip,
        "busybox",
        "ip",
        "-4",
        "-o",
        "addr",
        "show",
        "eth0",
    ]);
    assert!(out.contains(&format!("inet {ip}/16")), "{out}");
    assert!(!lease.exists(), "the lease outlived the --rm container");

    env.ok(&[
        "run",
        "-d",
        "--name",
        "a",
        "--network",
        "bridge",
        "--ip",
        &ip,
        "--network-alias",
        "web",
        "--network-alias",
        "www",
        "busybox",
        "sleep",
        "1000",
    ]);
    let v = env.inspect("a");
    let net = &v["NetworkSettings"]["Networks"]["berth"];
    assert_eq!(net["IPAddress"], ip.as_str(), "{net}");
    assert_eq!(v["NetworkSettings"]["IPAddress"], ip.as_str());
    let short = &v["Id"].as_str().unwrap()[..12];
    assert_eq!(net["Aliases"], json!(["web", "www", short]));
    assert!(lease.exists());

    // Taken: one error, no second container, the first keeps its lease.
    let before = env.ok(&["ps", "-a", "-q"]);
    let e = fails(
        &env,
        &["run", "--network", "bridge", "--ip", &ip, "busybox", "true"],
    );
    assert!(e.contains(&ip) && e.contains("already in use"), "{e}");
    assert_eq!(env.ok(&["ps", "-a", "-q"]), before);
    assert!(lease.exists());

    // Outside the subnet, the gateway, not an address, no bridge.
    let e = fails(
        &env,
        &[
            "create",
            "--network",
            "bridge",
            "--ip",
            "10.91.0.5",
            "busybox",
        ],
    );
    assert!(e.contains("10.91.0.5") && e.contains("10.90.0.0/16"), "{e}");
    let e = fails(
        &env,
        &[
            "create",
            "--network",
            "bridge",
            "--ip",
            "10.90.0.1",
            "busybox",
        ],
    );
    assert!(e.contains("gateway"), "{e}");
    let e = fails(
        &env,
        &["create", "--network", "bridge", "--ip", "bogus", "busybox"],
    );
    assert!(e.contains("bogus"), "{e}");
    let e = fails(
        &env,
        &[
            "create",
            "--network",
            "none",
            "--ip",
            "10.90.9.9",
            "busybox",
        ],
    );
    assert!(e.contains("--ip") && e.contains("bridge"), "{e}");
    let e = fails(
        &env,
        &[
            "create",
            "--network",
            "none",
            "--network-alias",
            "x",
            "busybox",
        ],
    );
    assert!(e.contains("--network-alias") && e.contains("bridge"), "{e}");
    assert_eq!(env.ok(&["ps", "-a", "-q"]), before);

    // Stopped, the address is free again and inspect still shows the
    // aliases.
    env.ok(&["stop", "-t", "0", "a"]);
    assert!(!lease.exists());
    let v = env.inspect("a");
    assert_eq!(
        v["NetworkSettings"]["Networks"]["berth"]["Aliases"],
        json!(["web", "www", short])
    );
    env.ok(&[
        "run",
        "--rm",
        "--network",
        "bridge",
        "--ip",
        &ip,
        "busybox",
        "true",
    ]);
    env.ok(&["rm", "-f", "a"]);
    assert!(!lease.exists());
}
