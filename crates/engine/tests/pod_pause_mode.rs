//! The pause-image mode: an infra container (busybox running `sleep`, as
//! a pause image runs `/pause`) owns the pod's namespaces; the pod's
//! containers share its localhost, hostname and resolv.conf, a hostPort
//! reaches them; stop takes the infra down with its network, remove
//! removes it, and nothing is left.

mod pod_env;

use berth_engine::{PodState, PortMapping, Status};
use berth_testkit::require;
use pod_env::*;
use std::io::{Read, Write};

#[test]
fn an_infra_container_holds_the_pods_namespaces() {
    require!(can_run_pods(), "root, CNI plugins and iptables");
    let env = Env::new();
    let e = env.engine();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut o = pod_options("pause");
    o.hostname = Some("paused-pod".into());
    o.pause_image = Some("busybox".into());
    o.pause_command = vec!["sleep".into(), "100000".into()];
    o.port_mappings = vec![PortMapping::parse(&format!("127.0.0.1:{port}:7000")).unwrap()];
    o.sysctls
        .insert("net.ipv4.ip_unprivileged_port_start".into(), "321".into());
    let pod = e.create_pod(&o).unwrap();
    let info = e.pod(&pod).unwrap();
    assert_eq!(info.state, PodState::Ready);
    let infra = e
        .list()
        .unwrap()
        .into_iter()
        .find(|c| c.name == format!("{}-infra", &pod[..12]))
        .expect("an infra container");
    assert_eq!(infra.state.status, Status::Running);
    assert_eq!(
        info.netns_path.as_deref(),
        Some(env.runroot().join("netns").join(&infra.id).as_path())
    );

    run(
        &e,
        &in_pod(&pod, "echo -n via-infra | nc -l -p 7000; sleep 1000"),
    );
    let client = run(
        &e,
        &in_pod(
            &pod,
            "for i in $(seq 100); do nc 127.0.0.1 7000 </dev/null 2>/dev/null && break; sleep 0.1; done; echo; \
             hostname; cat /proc/sys/net/ipv4/ip_unprivileged_port_start",
        ),
    );
    let (code, out) = finish(&e, &client);
    assert_eq!(code, Some(0), "{out}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines, ["via-infra", "paused-pod", "321"], "{out}");
    // The listener is gone now (it served the client); a new one for the
    // host's connection through the hostPort.
    run(
        &e,
        &in_pod(&pod, "echo -n from-host | nc -l -p 7000; sleep 1000"),
    );
    let mut got = String::new();
    assert!(
        eventually(|| {
            got.clear();
            std::net::TcpStream::connect(("127.0.0.1", port))
                .and_then(|mut s| {
                    s.set_read_timeout(Some(std::time::Duration::from_secs(2)))?;
                    let _ = s.write_all(b"x");
                    s.read_to_string(&mut got)
                })
                .is_ok()
                && got == "from-host"
        }),
        "hostPort: {got:?}"
    );

    e.stop_pod(&pod).unwrap();
    assert_eq!(e.inspect(&infra.id).unwrap().state.status, Status::Exited);
    assert!(!env.netns(&infra.id).exists());
    assert_eq!(e.pod(&pod).unwrap().state, PodState::NotReady);
    e.remove_pod(&pod).unwrap();
    assert!(e.list().unwrap().is_empty(), "containers left");
    for id in [&pod, &infra.id] {
        let left = leftovers(&env, id, None);
        assert!(left.is_empty(), "{left:#?}");
    }
    assert!(std::net::TcpListener::bind(("127.0.0.1", port)).is_ok());
}
