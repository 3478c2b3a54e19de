//! Bad pod input: each is one error and leaves nothing — a duplicate pod
//! (name, namespace, uid, attempt), a container in an unknown pod, a
//! sysctl of no namespace (or of the host's), a hostPort someone holds,
//! ports on a container of a pod, a pause image that is not there.

mod pod_env;

use berth_engine::{Error, PodError, PortMapping};
use berth_testkit::require;
use pod_env::*;

/// Nothing of any pod is left under the runroot, mounted or in netfilter.
fn nothing_left(env: &Env) {
    let pods = env.runroot().join("pods");
    let dirs: Vec<_> = std::fs::read_dir(&pods)
        .map(|d| {
            d.flatten()
                .filter(|e| e.path().is_dir())
                .map(|e| e.path())
                .collect()
        })
        .unwrap_or_default();
    assert!(dirs.is_empty(), "pod directories left: {dirs:?}");
    let netns: Vec<_> = std::fs::read_dir(env.runroot().join("netns"))
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(netns.is_empty(), "netns pins left: {netns:?}");
    let here = env.dir.path().to_string_lossy().into_owned();
    let m: Vec<_> = mounts_with(&here)
        .into_iter()
        .filter(|l| l.contains("/run/"))
        .collect();
    assert!(m.is_empty(), "mounts left: {m:?}");
}

#[test]
fn bad_pods_leave_nothing() {
    require!(can_run_pods(), "root, CNI plugins and iptables");
    let env = Env::new();
    let e = env.engine();
    let o = pod_options("dup");
    let pod = e.create_pod(&o).unwrap();
    let err = e.create_pod(&o).unwrap_err();
    assert!(
        matches!(&err, Error::Pod(PodError::Exists { id, .. }) if *id == pod),
        "{err}"
    );
    // Another attempt of the same pod is a new pod.
    let again = e
        .create_pod(&berth_engine::PodOptions {
            attempt: 1,
            ..o.clone()
        })
        .unwrap();
    assert_eq!(e.pods().unwrap().len(), 2);
    e.remove_pod(&again).unwrap();
    e.remove_pod(&pod).unwrap();
    nothing_left(&env);

    let mut bad = pod_options("sysctl");
    bad.sysctls.insert("vm.swappiness".into(), "1".into());
    let err = e.create_pod(&bad).unwrap_err();
    assert!(matches!(err, Error::InvalidOption { .. }), "{err}");
    assert!(err.to_string().contains("vm.swappiness"), "{err}");
    let mut bad = pod_options("hostnet-sysctl");
    bad.host_network = true;
    bad.sysctls.insert("net.ipv4.ip_forward".into(), "1".into());
    assert!(e.create_pod(&bad).is_err());
    // A sysctl the kernel refuses fails after the namespaces were made:
    // they go again.
    let mut bad = pod_options("bad-value");
    bad.sysctls
        .insert("net.ipv4.no_such_knob".into(), "1".into());
    let err = e.create_pod(&bad).unwrap_err();
    assert!(err.to_string().contains("no_such_knob"), "{err}");

    let held = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = held.local_addr().unwrap().port();
    let mut bad = pod_options("port");
    bad.port_mappings = vec![PortMapping::parse(&format!("127.0.0.1:{port}:80")).unwrap()];
    let err = e.create_pod(&bad).unwrap_err();
    assert!(err.to_string().contains("in use"), "{err}");

    // A pause image that is not there: no infra container is left.
    let mut bad = pod_options("pause");
    bad.pause_image = Some("no-such-pause-image".into());
    assert!(e.create_pod(&bad).is_err());
    assert!(e.list().unwrap().is_empty(), "an infra container was left");
    assert!(e.pods().unwrap().is_empty());
    nothing_left(&env);
}

#[test]
fn bad_containers_in_pods_leave_nothing() {
    require!(can_run_pods(), "root, CNI plugins and iptables");
    let env = Env::new();
    let e = env.engine();
    let err = e.create(&in_pod("0123456789abcdef", "true")).unwrap_err();
    assert!(matches!(err, Error::Pod(PodError::NotFound(_))), "{err}");
    let pod = e.create_pod(&pod_options("ports")).unwrap();
    let mut o = in_pod(&pod, "true");
    o.ports = vec![PortMapping::parse("8080:80").unwrap()];
    let err = e.create(&o).unwrap_err();
    assert!(err.to_string().contains("pod"), "{err}");
    assert!(e.list().unwrap().is_empty(), "a container was left");
    e.remove_pod(&pod).unwrap();
    nothing_left(&env);
}

#[test]
fn racing_creators_and_removers() {
    require!(can_run_pods(), "root, CNI plugins and iptables");
    let env = Env::new();
    let o = pod_options("race");
    // Six engines (as six servers or CLIs) make the same pod at once.
    let results: Vec<_> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..6)
            .map(|_| s.spawn(|| env.engine().create_pod(&o)))
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let made: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(made.len(), 1, "{results:?}");
    for r in &results {
        if let Err(e) = r {
            assert!(matches!(e, Error::Pod(PodError::Exists { .. })), "{e}");
        }
    }
    let pod = made[0].clone();
    let e = env.engine();
    run(&e, &in_pod(&pod, "sleep 1000"));
    // Three remove it at once: all succeed, nothing is left.
    let removed: Vec<_> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..3)
            .map(|_| s.spawn(|| env.engine().remove_pod(&pod)))
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(removed.iter().all(|r| r.is_ok()), "{removed:?}");
    assert!(e.list().unwrap().is_empty());
    assert!(e.pods().unwrap().is_empty());
    let left = leftovers(&env, &pod, None);
    assert!(left.is_empty(), "{left:#?}");
    nothing_left(&env);
}
