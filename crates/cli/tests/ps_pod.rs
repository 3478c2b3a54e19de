//! `berth ps` marks a container with its pod (made through the engine's
//! pod API, as berthd makes them): `--pod` adds podman's POD ID and
//! PODNAME columns, `{{.Pod}}`/`{{.PodName}}` and the JSON's `Pod` and
//! `PodName` carry them, `--filter pod=` keeps a pod's containers.

mod engine_env;

use berth_testkit::{is_root, require};
use engine_env::{runtime, Env, BERTH};
use std::path::Path;

fn engine(env: &Env) -> berth_engine::Engine {
    let monitor = Path::new(BERTH).with_file_name("berth-monitor");
    let mut args: Vec<std::ffi::OsString> = vec![monitor.into()];
    for (flag, value) in [
        ("--root", env.root().into_os_string()),
        ("--runroot", env.runroot().into_os_string()),
        ("--runtime", runtime().into_os_string()),
        ("--cgroup-parent", env.cgroup_parent.clone().into()),
    ] {
        args.push(flag.into());
        args.push(value);
    }
    let store = berth_storage::Store::open(berth_storage::StoreOptions::at(env.root())).unwrap();
    berth_engine::Engine::new(
        store,
        berth_image::Context::default(),
        berth_engine::EngineOptions {
            runroot: env.runroot(),
            runtime: runtime(),
            cgroup_parent: env.cgroup_parent.clone(),
            monitor: args,
        },
    )
}

#[test]
fn ps_shows_the_pod() {
    require!(
        is_root() && Path::new("/usr/lib/cni/bridge").exists(),
        "root and CNI plugins"
    );
    let env = Env::new();
    let e = engine(&env);
    let pod = e
        .create_pod(&berth_engine::PodOptions {
            name: "web-pod".into(),
            uid: berth_testkit::unique_name("uid"),
            namespace: "default".into(),
            ..Default::default()
        })
        .unwrap();
    let mut o = berth_engine::CreateOptions {
        image: "busybox".into(),
        name: Some("in-pod".into()),
        command: vec!["sleep".into(), "1000".into()],
        pod: Some(pod.clone()),
        ..Default::default()
    };
    o.spec.stop_timeout = Some(1);
    let id = e.create(&o).unwrap();
    e.start_detached(&id).unwrap();
    env.ok(&["run", "-d", "--name", "alone", "busybox", "sleep", "1000"]);

    let table = env.ok(&["ps", "--pod"]);
    let mut lines = table.lines();
    let header = lines.next().unwrap();
    assert!(header.ends_with("POD ID        PODNAME"), "{table}");
    let row = table.lines().find(|l| l.contains("in-pod")).unwrap();
    assert!(
        row.contains(&pod[..12]) && row.ends_with("web-pod"),
        "{table}"
    );
    let alone = table.lines().find(|l| l.contains("alone")).unwrap();
    assert!(!alone.contains("web-pod"), "{table}");

    let f = env.ok(&["ps", "--format", "{{.Names}} {{.Pod}} {{.PodName}}"]);
    assert!(
        f.lines()
            .any(|l| l == format!("in-pod {} web-pod", &pod[..12])),
        "{f}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&env.ok(&["ps", "--format", "json"])).unwrap();
    let mine = json
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["Names"][0] == "in-pod")
        .unwrap();
    assert_eq!(
        (mine["Pod"].as_str(), mine["PodName"].as_str()),
        (Some(pod.as_str()), Some("web-pod"))
    );
    let filtered = env.ok(&["ps", "-q", "--filter", "pod=web-pod"]);
    assert_eq!(filtered.trim(), &id[..12]);

    e.remove_pod(&pod).unwrap();
    assert!(!env.ok(&["ps", "-a"]).contains("in-pod"));
}
