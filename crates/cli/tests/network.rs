//! Bridge networking (as root): containers on berth's bridge reach each
//! other by address, `-p 127.0.0.1:PORT:80` reaches a busybox httpd from
//! the host, `port` and `inspect` show the mappings, a port already taken
//! is one error that leaves nothing, and a killed monitor's container is
//! still taken off the network by `rm -f`.
//!
//! Every test has its own store and runroot (so its own netns pins) and
//! removes its containers; they share the host-wide bridge `berth0`, its
//! masquerade rule and host-local's leases (file-locked, so parallel tests
//! get distinct addresses), which stay like podman's `cni-podman0`.

mod engine_env;

use berth_testkit::{is_root, require};
use engine_env::{eventually, Env};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;

const LEASES: &str = "/run/berth-network/ipam/berth";
const RESULTS: &str = "/run/berth-network/results";

fn bridge_available() -> bool {
    Path::new("/usr/lib/cni/bridge").exists() && Path::new("/usr/lib/cni/host-local").exists()
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `GET path` from `addr` over plain TCP; the body.
fn http_get(addr: &str, path: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    write!(s, "GET {path} HTTP/1.0\r\nHost: x\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out.split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or(out)
}

/// The nat table as iptables-nft shows it.
fn nat_rules() -> String {
    let out = Command::new("iptables-save")
        .args(["-t", "nat"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn rules_for_port(port: u16) -> usize {
    nat_rules()
        .lines()
        .filter(|l| {
            l.contains(&format!("--dport {port} ")) || l.ends_with(&format!("--dport {port}"))
        })
        .count()
}

fn netns_pins(env: &Env) -> Vec<PathBuf> {
    std::fs::read_dir(env.runroot().join("netns"))
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default()
}

/// A busybox httpd serving /etc (so `/hostname` names the container).
fn httpd(env: &Env, extra: &[&str]) -> String {
    let mut args = vec!["run", "-d"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["busybox", "httpd", "-f", "-p", "80", "-h", "/etc"]);
    env.ok(&args).trim().to_string()
}

#[test]
fn two_containers_on_the_bridge_reach_each_other_by_address() {
    require!(is_root(), "bridge networking needs root");
    require!(
        bridge_available(),
        "containernetworking-plugins not installed"
    );
    let env = Env::new();
    let id = httpd(&env, &["--name", "web"]);
    let info = env.inspect("web");
    let ns = &info["NetworkSettings"];
    assert_eq!(ns["Mode"], "bridge");
    let ip = ns["IPAddress"].as_str().unwrap().to_string();
    assert!(ip.starts_with("10.90."), "{ns}");
    assert_eq!(ns["Gateway"], "10.90.0.1");
    assert_eq!(ns["IPPrefixLen"], 16);
    assert_eq!(ns["Networks"]["berth"]["IPAddress"], ip.as_str());
    assert_eq!(ns["MacAddress"].as_str().unwrap().len(), 17, "{ns}");
    // Its /etc/hosts names it by its address.
    let hosts = env.ok(&["exec", "web", "cat", "/etc/hosts"]);
    assert!(hosts.contains(&format!("{ip}\t{}", &id[..12])), "{hosts}");
    // Another container fetches from it by address; retry while httpd starts.
    let url = format!("http://{ip}/hostname");
    let fetched = env.ok(&[
        "run", "--rm", "busybox", "sh", "-c",
        &format!("for i in 1 2 3 4 5 6 7 8 9 10; do wget -q -O - {url} && exit 0; sleep 0.2; done; exit 1"),
    ]);
    assert_eq!(fetched.trim(), &id[..12]);
    env.ok(&["rm", "-f", "web"]);
    assert!(netns_pins(&env).is_empty(), "{:?}", netns_pins(&env));
    assert!(!Path::new(LEASES).join(&ip).exists(), "lease of {ip} left");
}

#[test]
fn published_port_reaches_httpd_from_the_host() {
    require!(is_root(), "bridge networking needs root");
    require!(
        bridge_available(),
        "containernetworking-plugins not installed"
    );
    let env = Env::new();
    let port = free_port();
    let publish = format!("127.0.0.1:{port}:80");
    let id = httpd(&env, &["--name", "web", "-p", &publish]);
    let addr = format!("127.0.0.1:{port}");
    let mut body = String::new();
    eventually("httpd behind the published port", || {
        body = std::panic::catch_unwind(|| http_get(&addr, "/hostname")).unwrap_or_default();
        !body.is_empty()
    });
    assert_eq!(body.trim(), &id[..12]);
    assert_eq!(
        env.ok(&["port", "web"]),
        format!("80/tcp -> 127.0.0.1:{port}\n")
    );
    assert_eq!(
        env.ok(&["port", "web", "80/tcp"]),
        format!("127.0.0.1:{port}\n")
    );
    // ps as podman prints it: the age of the run and the published ports.
    let ps = env.ok(&["ps"]);
    let row = ps.lines().find(|l| l.ends_with(" web")).unwrap_or_default();
    assert!(
        row.contains(&format!("127.0.0.1:{port}->80/tcp")) && row.contains(" ago  "),
        "{ps}"
    );
    assert!(
        ps.starts_with("CONTAINER ID") && ps.contains("PORTS"),
        "{ps}"
    );
    let out = env.berth(&["port", "web", "81"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("failed to find published port"));
    let ports = &env.inspect("web")["NetworkSettings"]["Ports"];
    assert_eq!(ports["80/tcp"][0]["HostIp"], "127.0.0.1");
    assert_eq!(ports["80/tcp"][0]["HostPort"], port.to_string());
    // berth holds the host port: nobody else can bind it meanwhile.
    assert!(TcpListener::bind(("127.0.0.1", port)).is_err());
    assert!(rules_for_port(port) > 0, "{}", nat_rules());
    env.ok(&["rm", "-f", "web"]);
    assert_eq!(rules_for_port(port), 0, "{}", nat_rules());
    assert!(!Path::new(RESULTS).join(format!("{id}.json")).exists());
    // Within a second: a sibling test's child, between fork and exec, may
    // briefly hold a copy of the monitor's socket.
    assert!(
        (0..100).any(|_| TcpListener::bind(("127.0.0.1", port)).is_ok() || {
            std::thread::sleep(std::time::Duration::from_millis(10));
            false
        }),
        "port still held"
    );
}

#[test]
fn random_ports_and_publish_all_of_exposed_ports() {
    require!(is_root(), "bridge networking needs root");
    require!(
        bridge_available(),
        "containernetworking-plugins not installed"
    );
    let env = Env::new();
    env.load_image(
        "exposing",
        &serde_json::json!({"ExposedPorts": {"80/tcp": {}, "53/udp": {}}}),
    );
    env.ok(&[
        "run", "-d", "--name", "all", "-P", "exposing", "sleep", "100",
    ]);
    let info = env.inspect("all");
    assert_eq!(
        info["Config"]["ExposedPorts"],
        serde_json::json!({"80/tcp": {}, "53/udp": {}})
    );
    let lines = env.ok(&["port", "all"]);
    let mut seen: Vec<&str> = lines.lines().collect();
    seen.sort();
    assert_eq!(seen.len(), 2, "{lines}");
    for (line, want) in seen
        .iter()
        .zip(["53/udp -> 0.0.0.0:", "80/tcp -> 0.0.0.0:"])
    {
        let host_port: u16 = line
            .strip_prefix(want)
            .unwrap_or_else(|| panic!("{line}"))
            .parse()
            .unwrap();
        assert_ne!(host_port, 0, "{line}");
    }
    // Exposed but not published: listed without bindings.
    env.ok(&[
        "run",
        "-d",
        "--name",
        "one",
        "-p",
        "127.0.0.1::8080",
        "exposing",
        "sleep",
        "100",
    ]);
    let ports = &env.inspect("one")["NetworkSettings"]["Ports"];
    assert!(ports["80/tcp"].is_null(), "{ports}");
    let host: u16 = ports["8080/tcp"][0]["HostPort"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_ne!(host, 0);
    env.ok(&["rm", "-f", "all", "one"]);
    assert_eq!(rules_for_port(host), 0);
}

#[test]
fn port_already_taken_is_one_error_and_leaves_nothing() {
    require!(is_root(), "bridge networking needs root");
    require!(
        bridge_available(),
        "containernetworking-plugins not installed"
    );
    let env = Env::new();
    let layers = env.layers();
    // Taken by another program.
    let holder = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = holder.local_addr().unwrap().port();
    let publish = format!("127.0.0.1:{port}:80");
    for verb in [&["run", "--rm"][..], &["run", "-d"], &["create"]] {
        let mut args = verb.to_vec();
        args.extend_from_slice(&["-p", &publish, "busybox", "true"]);
        let out = env.berth(&args);
        assert_eq!(out.status.code(), Some(125), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(&format!("cannot publish 127.0.0.1:{port}/tcp")) && err.contains("in use"),
            "{err}"
        );
        assert_eq!(err.lines().count(), 1, "{err}");
    }
    assert!(env.ps().is_empty());
    assert_eq!(env.stored_containers(), 0);
    assert_eq!(env.layers(), layers, "a rw layer was left");
    assert!(netns_pins(&env).is_empty());
    assert_eq!(rules_for_port(port), 0, "{}", nat_rules());
    drop(holder);
    // Taken by another container: berth itself holds its ports.
    let port = free_port();
    let publish = format!("127.0.0.1:{port}:80");
    env.ok(&[
        "run", "-d", "--name", "first", "-p", &publish, "busybox", "sleep", "100",
    ]);
    let rules = rules_for_port(port);
    let err = String::from_utf8(
        env.berth(&[
            "run", "-d", "--name", "second", "-p", &publish, "busybox", "true",
        ])
        .stderr,
    )
    .unwrap();
    assert!(err.contains("in use"), "{err}");
    assert_eq!(env.ps().len(), 1);
    assert_eq!(netns_pins(&env).len(), 1);
    assert_eq!(rules_for_port(port), rules);
    // -p needs the bridge.
    let err = String::from_utf8(
        env.berth(&[
            "run",
            "--rm",
            "--network",
            "none",
            "-p",
            "80",
            "busybox",
            "true",
        ])
        .stderr,
    )
    .unwrap();
    assert!(err.contains("--network bridge"), "{err}");
    env.ok(&["rm", "-f", "first"]);
    assert!(netns_pins(&env).is_empty());
}

#[test]
fn killed_monitor_then_rm_force_takes_the_container_off_the_network() {
    require!(is_root(), "bridge networking needs root");
    require!(
        bridge_available(),
        "containernetworking-plugins not installed"
    );
    let env = Env::new();
    let port = free_port();
    let id = httpd(
        &env,
        &["--name", "orphan", "-p", &format!("127.0.0.1:{port}:80")],
    );
    let state = env.state(&id);
    let monitor = state["monitor"]["pid"].as_i64().unwrap();
    let ip = state["network"]["ip"].as_str().unwrap().to_string();
    let host_veth = state["network"]["interfaces"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["sandbox"].is_null() && i["name"] != "berth0")
        .map(|i| i["name"].as_str().unwrap().to_string())
        .unwrap();
    let pin = env.runroot().join("netns").join(&id);
    assert!(pin.exists());
    assert!(Path::new(LEASES).join(&ip).exists());
    assert!(Path::new("/sys/class/net").join(&host_veth).exists());
    assert!(rules_for_port(port) > 0);
    let st = Command::new("kill")
        .args(["-9", &monitor.to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    eventually("the monitor to go", || {
        !std::fs::read_to_string(format!("/proc/{monitor}/stat")).is_ok_and(|s| !s.contains(") Z"))
    });
    env.ok(&["rm", "-f", "orphan"]);
    assert!(!pin.exists(), "netns pin left");
    assert!(!Path::new(LEASES).join(&ip).exists(), "lease of {ip} left");
    assert_eq!(rules_for_port(port), 0, "{}", nat_rules());
    assert!(!Path::new(RESULTS).join(format!("{id}.json")).exists());
    eventually("the host end of the veth to go", || {
        !Path::new("/sys/class/net").join(&host_veth).exists()
    });
}
