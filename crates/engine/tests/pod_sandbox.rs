//! Pods as CRI sandboxes, for real (root, CNI, berth-runtime): two
//! containers of a pod share localhost and the pod's pinned namespaces,
//! hostname, resolv.conf and cgroup parent; a hostPort reaches a pod from
//! 127.0.0.1; two pods reach each other by address; a new engine on the
//! same store finds a pod and stops it; stop and remove leave no netns
//! pin, mount, iptables rule, CNI result or cgroup behind.

mod pod_env;

use berth_engine::{PodDns, PodState, PortMapping};
use berth_testkit::require;
use pod_env::*;
use std::io::{Read, Write};
use std::os::unix::fs::MetadataExt;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `GET /` from `addr`; the response, or None when nothing answers.
fn http_get(addr: &str) -> Option<String> {
    let mut s = std::net::TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .ok()?;
    s.write_all(b"GET / HTTP/1.0\r\n\r\n").ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out)
}

const HTTPD: &str = "mkdir -p /www && echo \"served-by-$HOSTNAME\" > /www/index.html && exec httpd -f -p 80 -h /www";

#[test]
fn containers_of_a_pod_share_its_namespaces_and_files() {
    require!(can_run_pods(), "root, CNI plugins and iptables");
    let env = Env::new();
    let e = env.engine();
    let cgroup = env.pod_cgroup("pod-a");
    let mut o = pod_options("share");
    o.hostname = Some("pod-host".into());
    o.dns = Some(PodDns {
        servers: vec!["10.9.8.7".into()],
        searches: vec!["pods.example".into()],
        options: vec!["ndots:3".into()],
    });
    o.cgroup_parent = Some(cgroup.clone());
    o.sysctls
        .insert("net.ipv4.ip_unprivileged_port_start".into(), "123".into());
    o.sysctls.insert("kernel.shmmni".into(), "2048".into());
    let pod = e.create_pod(&o).unwrap();
    let info = e.pod(&pod[..8]).unwrap();
    assert_eq!(info.state, PodState::Ready);
    assert_eq!(info.options, o);
    assert!(info.ip.is_some(), "no address on the bridge");
    assert_eq!(info.netns_path.as_deref(), Some(env.netns(&pod).as_path()));

    let server = run(
        &e,
        &in_pod(
            &pod,
            "echo pod-shm > /dev/shm/token; echo -n pod-local | nc -l -p 7777; sleep 1000",
        ),
    );
    let client = run(
        &e,
        &in_pod(
            &pod,
            "for i in $(seq 100); do nc 127.0.0.1 7777 </dev/null && break; sleep 0.1; done; echo; \
             hostname; cat /etc/resolv.conf; \
             cat /proc/sys/net/ipv4/ip_unprivileged_port_start /proc/sys/kernel/shmmni; \
             stat -L -c %i /proc/self/ns/ipc /proc/self/ns/uts /proc/self/ns/net; \
             cat /dev/shm/token; cat /proc/self/cgroup",
        ),
    );
    let (code, out) = finish(&e, &client);
    assert_eq!(code, Some(0), "{out}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "pod-local", "localhost not shared: {out}");
    assert_eq!(lines[1], "pod-host", "{out}");
    assert!(lines.contains(&"pod-shm"), "/dev/shm not shared: {out}");
    assert!(out.contains("nameserver 10.9.8.7"), "{out}");
    assert!(out.contains("search pods.example"), "{out}");
    assert!(out.contains("options ndots:3"), "{out}");
    assert!(
        lines.contains(&"123") && lines.contains(&"2048"),
        "sysctls: {out}"
    );
    // The container's namespaces are the pinned ones.
    let ino = |p: std::path::PathBuf| std::fs::metadata(p).unwrap().ino().to_string();
    let pins = env.runroot().join("pods").join(&pod).join("ns");
    assert!(
        lines.contains(&ino(pins.join("ipc")).as_str()),
        "ipc: {out}"
    );
    assert!(
        lines.contains(&ino(pins.join("uts")).as_str()),
        "uts: {out}"
    );
    assert!(lines.contains(&ino(env.netns(&pod)).as_str()), "net: {out}");
    assert!(
        out.contains(&format!("{cgroup}/berth-{client}")),
        "cgroup: {out}"
    );
    // The host's namespaces are untouched.
    assert_ne!(
        std::fs::read_to_string("/proc/sys/kernel/shmmni")
            .unwrap()
            .trim(),
        "2048"
    );

    let listed: Vec<_> = e
        .list()
        .unwrap()
        .into_iter()
        .filter(|c| c.pod() == Some(pod.as_str()))
        .collect();
    assert_eq!(listed.len(), 2);

    e.stop_pod(&pod).unwrap();
    let info = e.pod(&pod).unwrap();
    assert_eq!(info.state, PodState::NotReady);
    assert_eq!((info.ip, info.netns_path), (None, None));
    assert!(!env.netns(&pod).exists());
    assert!(rules_with(&pod).is_empty(), "{:?}", rules_with(&pod));
    let s = e.inspect(&server).unwrap().state;
    assert_eq!(s.status, berth_engine::Status::Exited);
    // Idempotent; and a stopped pod takes no new container, and starts
    // none of its own again.
    e.stop_pod(&pod).unwrap();
    let err = e.start_detached(&server).unwrap_err();
    assert!(
        matches!(
            err,
            berth_engine::Error::Pod(berth_engine::PodError::NotReady { .. })
        ),
        "{err}"
    );
    let err = e.create(&in_pod(&pod, "true")).unwrap_err();
    assert!(
        matches!(
            err,
            berth_engine::Error::Pod(berth_engine::PodError::NotReady { .. })
        ),
        "{err}"
    );

    e.remove_pod(&pod).unwrap();
    assert!(e.list().unwrap().is_empty(), "containers left");
    assert!(e.pods().unwrap().is_empty());
    let left = leftovers(&env, &pod, Some(&cgroup));
    assert!(left.is_empty(), "{left:#?}");
    e.remove_pod(&pod).unwrap();
    e.stop_pod(&pod).unwrap();
}

#[test]
fn host_port_and_pod_to_pod() {
    require!(can_run_pods(), "root, CNI plugins and iptables");
    let env = Env::new();
    let e = env.engine();
    let port = free_port();
    let mut o = pod_options("web");
    o.hostname = Some("web".into());
    o.port_mappings = vec![
        PortMapping::parse(&format!("127.0.0.1:{port}:80")).unwrap(),
        // No host port: published nowhere, as in the CRI.
        PortMapping::parse("81").unwrap(),
    ];
    let web = e.create_pod(&o).unwrap();
    run(&e, &in_pod(&web, HTTPD));
    let addr = format!("127.0.0.1:{port}");
    let mut got = None;
    assert!(
        eventually(|| {
            got = http_get(&addr);
            got.as_deref().is_some_and(|r| r.contains("served-by-web"))
        }),
        "hostPort {addr}: {got:?}"
    );

    let other = e.create_pod(&pod_options("client")).unwrap();
    let ip = e.pod(&web).unwrap().ip.unwrap();
    let client = run(
        &e,
        &in_pod(
            &other,
            &format!("for i in $(seq 50); do wget -q -O - http://{ip}/ && exit 0; sleep 0.1; done; exit 1"),
        ),
    );
    let (code, out) = finish(&e, &client);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("served-by-web"), "{out}");

    for p in [&web, &other] {
        e.remove_pod(p).unwrap();
        let left = leftovers(&env, p, None);
        assert!(left.is_empty(), "{left:#?}");
    }
    assert!(
        std::net::TcpListener::bind(("127.0.0.1", port)).is_ok(),
        "port still held"
    );
    assert!(
        http_get(&addr).is_none(),
        "something still answers on {addr}"
    );
}

#[test]
fn a_new_engine_finds_the_pod() {
    require!(can_run_pods(), "root, CNI plugins and iptables");
    let env = Env::new();
    let (pod, ctr, ip) = {
        let e = env.engine();
        let pod = e.create_pod(&pod_options("restart")).unwrap();
        let ctr = run(&e, &in_pod(&pod, "sleep 1000"));
        let ip = e.pod(&pod).unwrap().ip;
        (pod, ctr, ip)
    };
    // The first engine is gone, as a killed or restarted server.
    let e = env.engine();
    let pods = e.pods().unwrap();
    assert_eq!(pods.len(), 1);
    assert_eq!(
        (pods[0].id.as_str(), pods[0].state, pods[0].ip),
        (pod.as_str(), PodState::Ready, ip)
    );
    let c = e.inspect(&ctr).unwrap();
    assert_eq!(c.pod(), Some(pod.as_str()));
    assert_eq!(c.state.status, berth_engine::Status::Running);
    e.stop_pod(&pod).unwrap();
    assert_eq!(
        e.inspect(&ctr).unwrap().state.status,
        berth_engine::Status::Exited
    );
    assert!(!env.netns(&pod).exists());
    e.remove_pod(&pod).unwrap();
    let left = leftovers(&env, &pod, None);
    assert!(left.is_empty(), "{left:#?}");
}

#[test]
fn host_namespaces() {
    require!(can_run_pods(), "root, CNI plugins and iptables");
    let env = Env::new();
    let e = env.engine();
    let mut o = pod_options("hostns");
    (o.host_network, o.host_pid, o.host_ipc) = (true, true, true);
    let pod = e.create_pod(&o).unwrap();
    let info = e.pod(&pod).unwrap();
    assert_eq!((info.ip, info.netns_path), (None, None));
    let c = run(
        &e,
        &in_pod(
            &pod,
            "hostname; stat -L -c %i /proc/self/ns/net /proc/self/ns/ipc /proc/self/ns/pid",
        ),
    );
    let (code, out) = finish(&e, &c);
    assert_eq!(code, Some(0), "{out}");
    let host = nix::unistd::gethostname().unwrap().into_string().unwrap();
    assert!(out.lines().next() == Some(host.as_str()), "{out}");
    for ns in ["net", "ipc", "pid"] {
        let ino = std::fs::metadata(format!("/proc/self/ns/{ns}"))
            .unwrap()
            .ino();
        assert!(out.lines().any(|l| l == ino.to_string()), "{ns}: {out}");
    }
    e.remove_pod(&pod).unwrap();
    assert!(leftovers(&env, &pod, None).is_empty());
}

#[test]
fn a_cgroup_parent_made_by_someone_else_stays() {
    require!(can_run_pods(), "root, CNI plugins and iptables");
    let env = Env::new();
    let e = env.engine();
    // As the kubelet makes /kubepods/.../pod<uid> before RunPodSandbox.
    let parent = env.pod_cgroup("kubepods/pod-uid");
    let rel = parent.trim_start_matches('/');
    let mut made = Vec::new();
    for h in std::fs::read_dir("/sys/fs/cgroup").unwrap().flatten() {
        let h = h.path();
        if h.is_symlink() || !h.join("cgroup.procs").exists() {
            continue;
        }
        // Level by level: v1's cpuset starts a new cgroup with no cpus or
        // mems, which its maker copies from the parent (as the kubelet).
        let mut d = h.clone();
        for part in rel.split('/') {
            let parent_dir = d.clone();
            d = d.join(part);
            if std::fs::create_dir(&d).is_ok() && d.join("cpuset.cpus").exists() {
                for f in ["cpuset.cpus", "cpuset.mems"] {
                    let v = std::fs::read_to_string(parent_dir.join(f)).unwrap();
                    std::fs::write(d.join(f), v.trim()).unwrap();
                }
            }
        }
        made.push(d);
    }
    let mut o = pod_options("kubelet-cgroup");
    o.cgroup_parent = Some(parent.clone());
    let pod = e.create_pod(&o).unwrap();
    let c = run(&e, &in_pod(&pod, "cat /proc/self/cgroup"));
    let (code, out) = finish(&e, &c);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains(&format!("{parent}/berth-{c}")), "{out}");
    e.remove_pod(&pod).unwrap();
    for d in &made {
        assert!(d.is_dir(), "{} was removed", d.display());
        assert!(
            !d.join(format!("berth-{c}")).exists(),
            "container cgroup left"
        );
    }
}
