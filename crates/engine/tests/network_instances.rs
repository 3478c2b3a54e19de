//! The network layer as a library owned per instance: two [`Networks`] in
//! one process keep their host-port reservations apart, and the on-disk
//! reservation record tells any instance which ports an id holds.
//!
//! The attaching tests run real CNI (bridge, host-local, portmap) on the
//! host-wide state directory, so their addresses come from the same leases
//! as every other berth's, and each detaches what it made.

use berth_engine::network::ports::PortMapping;
use berth_engine::network::{NetError, Networks, NetworksConfig};
use berth_engine::records::ProcessRef;
use std::path::Path;
use std::process::Command;

/// Root, the plugins and iptables: what an attach needs. Skipped with a
/// note without them, except in CI.
fn can_attach() -> bool {
    let config = NetworksConfig::with_netns_dir("/nonexistent".into());
    let ok = nix::unistd::geteuid().is_root()
        && ["bridge", "host-local", "portmap"]
            .iter()
            .all(|p| config.plugin_dir.join(p).is_file())
        && Command::new("iptables").arg("--version").output().is_ok();
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must run the network tests: root, CNI plugins and iptables needed"
        );
        eprintln!("skipped: needs root, CNI plugins in /usr/lib/cni and iptables");
    }
    ok
}

/// An id for this test run (CNI and the records are host-wide).
fn id(name: &str) -> String {
    format!("berth-nettest-{}-{name}", std::process::id())
}

/// Networks on the host's state directory, pinning namespaces in `dir`.
fn networks(dir: &Path) -> Networks {
    Networks::new(NetworksConfig::with_netns_dir(dir.into()))
}

fn port(spec: &str) -> PortMapping {
    PortMapping::parse(spec).unwrap()
}

/// A port nobody holds right now.
fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

fn bindable(port: u16) -> bool {
    std::net::TcpListener::bind(("127.0.0.1", port)).is_ok()
}

/// Whether `port` is free within a second: a sibling test's child, between
/// its fork and exec, may hold a copy of a socket just closed here.
fn freed(port: u16) -> bool {
    (0..100).any(|_| {
        bindable(port) || {
            std::thread::sleep(std::time::Duration::from_millis(10));
            false
        }
    })
}

/// Mount points under `dir` (pinned namespaces).
fn pins_under(dir: &Path) -> Vec<String> {
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap();
    let dir = dir.to_string_lossy().into_owned();
    mounts
        .lines()
        .filter_map(|l| l.split(' ').nth(1))
        .filter(|m| m.starts_with(&dir))
        .map(str::to_string)
        .collect()
}

/// NAT rules naming `port` (portmap's DNAT and SNAT chains).
fn rules_for_port(port: u16) -> usize {
    let out = Command::new("iptables-save")
        .args(["-t", "nat"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| {
            l.contains(&format!("--dport {port} ")) || l.ends_with(&format!("--dport {port}"))
        })
        .count()
}

/// Detaches `ids` (namespace pins in `dir`) when a test ends, passed or
/// not, before its temporary directories go: nothing is left pinned,
/// leased or in netfilter.
struct Detach<'a>(&'a Path, Vec<String>);

impl Drop for Detach<'_> {
    fn drop(&mut self) {
        let net = networks(self.0);
        for id in &self.1 {
            let _ = net.detach(id);
        }
    }
}

fn cni_cache(id: &str) -> std::path::PathBuf {
    Path::new(berth_engine::network::STATE_DIR)
        .join("results")
        .join(format!("{id}.json"))
}

#[test]
fn a_fixed_port_held_by_one_instance_is_refused_to_another() {
    if !can_attach() {
        return;
    }
    let (dir1, dir2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (one, two) = (networks(dir1.path()), networks(dir2.path()));
    let (a, b) = (id("fixed-a"), id("fixed-b"));
    let _undo_a = Detach(dir1.path(), vec![a.clone()]);
    let _undo_b = Detach(dir2.path(), vec![b.clone()]);
    let p = free_port();
    let fixed = port(&format!("127.0.0.1:{p}:80"));

    let att = one.attach(&a, std::slice::from_ref(&fixed)).unwrap();
    assert_eq!(att.ports, vec![fixed.clone()]);
    assert!(!att.ip.is_empty(), "{att:?}");
    assert!(one.netns_path(&a).starts_with(dir1.path()));
    assert!(one.is_attached(&a));

    // The pre-check and the attach of the other instance both refuse it,
    // and the refused attach leaves nothing.
    let e = two.check_ports(std::slice::from_ref(&fixed)).unwrap_err();
    assert!(matches!(e, NetError::PortInUse { .. }), "{e}");
    let e = two.attach(&b, std::slice::from_ref(&fixed)).unwrap_err();
    assert!(matches!(e, NetError::PortInUse { .. }), "{e}");
    assert!(!two.is_attached(&b));
    assert!(pins_under(dir2.path()).is_empty());
    assert!(!cni_cache(&b).exists());

    // Detaching in the first frees it for the second.
    one.detach(&a).unwrap();
    assert!(!one.is_attached(&a));
    let att = two.attach(&b, std::slice::from_ref(&fixed)).unwrap();
    assert_eq!(att.ports[0].host_port, p);
    assert!(!bindable(p));
    assert!(rules_for_port(p) > 0);

    // Dropping an instance closes its sockets too (its attachment stays,
    // for whoever detaches it later).
    drop(two);
    assert!(freed(p));
    let again = networks(dir2.path());
    assert!(
        again.ports_held(&b).unwrap().is_none(),
        "a dropped owner's record stays"
    );
    again.detach(&b).unwrap();
    drop(one);

    assert!(pins_under(dir1.path()).is_empty() && pins_under(dir2.path()).is_empty());
    assert_eq!(rules_for_port(p), 0, "portmap rules left for {p}");
    assert!(!cni_cache(&a).exists() && !cni_cache(&b).exists());
    assert!(again.ports_held(&a).unwrap().is_none() && again.ports_held(&b).unwrap().is_none());
    assert!(freed(p));
}

#[test]
fn a_random_port_is_held_and_recorded_until_any_instance_detaches() {
    if !can_attach() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (holder, other) = (networks(dir.path()), networks(dir.path()));
    let c = id("random-c");
    let _undo = Detach(dir.path(), vec![c.clone()]);

    let att = holder.attach(&c, &[port("127.0.0.1::80")]).unwrap();
    let p = att.ports[0].host_port;
    assert_ne!(p, 0);
    assert!(!bindable(p), "the random port {p} is not held");

    // Any instance (any process) reads who holds which ports.
    let record = other
        .ports_held(&c)
        .unwrap()
        .expect("a record while attached");
    assert_eq!(record.ports, att.ports);
    assert_eq!(record.holder, ProcessRef::current().unwrap());
    assert!(record.held());
    assert_eq!(pins_under(dir.path()).len(), 1);

    // Detached by another instance, as `rm -f` does while the monitor
    // holds the sockets: the namespace, CNI state and record are gone;
    // the sockets stay the holder's until it lets go.
    other.detach(&c).unwrap();
    assert!(holder.ports_held(&c).unwrap().is_none());
    assert!(pins_under(dir.path()).is_empty());
    assert!(!cni_cache(&c).exists());
    assert_eq!(rules_for_port(p), 0, "portmap rules left for {p}");
    assert!(!holder.is_attached(&c));
    assert!(!bindable(p));
    holder.detach(&c).unwrap();
    assert!(freed(p), "detach did not free {p}");
}

#[test]
fn a_corrupt_port_record_is_an_error_naming_it() {
    let state = tempfile::tempdir().unwrap();
    let config = NetworksConfig {
        state_dir: state.path().into(),
        ..NetworksConfig::with_netns_dir(state.path().join("netns"))
    };
    let net = Networks::new(config);
    let path = state.path().join("ports").join("x.json");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, b"{\"holder\": ").unwrap();
    let e = net.ports_held("x").unwrap_err();
    assert!(matches!(e, NetError::PortRecord { .. }), "{e}");
    assert!(e.to_string().contains(&path.display().to_string()), "{e}");
    assert!(net.ports_held("y").unwrap().is_none());
}

/// House rule: reservations are per instance. No `static` in the network
/// layer or its engine glue may hold state.
#[test]
fn no_static_state_in_the_network_layer() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = vec![src.join("container_network.rs")];
    for e in std::fs::read_dir(src.join("network")).unwrap() {
        files.push(e.unwrap().path());
    }
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        for line in text.lines() {
            let l = line.trim_start();
            let stateful = l.starts_with("static ")
                || l.starts_with("pub static ")
                || l.contains("thread_local!");
            assert!(!stateful, "{}: {line}", f.display());
        }
    }
}
