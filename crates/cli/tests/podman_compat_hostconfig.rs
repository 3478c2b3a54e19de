//! inspect's `HostConfig` beside podman 4.3's: one container made on both
//! sides with the resource, device, security, DNS and restart flags, then
//! its `HostConfig` compared key for key and type for type, and its
//! values through templates (normalised only for IDs, paths and times).
//! A case in [`KNOWN_DIFFERENCES`] must still fail, so a fix shows.

mod engine_env;
mod podman_env;

use berth_testkit::{is_root, require};
use engine_env::Env;
use podman_env::harness::{json, run_case, text, Case, Side};
use podman_env::shape::Rules;
use podman_env::{have_podman, Podman};

/// The same container on both sides (the ulimits stay within this
/// machine's hard limits, which podman's defaults exceed).
const FIXTURE: &str = "run -d --name h1 --memory 64m --memory-swap 128m --cpu-shares 512 \
     --cpuset-cpus 0 --cpus 0.5 --device /dev/zero:/dev/myzero:rw --cap-add NET_ADMIN \
     --cap-drop CHOWN --security-opt no-new-privileges --ulimit nofile=512:1024 \
     --ulimit nproc=1024:1024 --sysctl net.ipv4.ip_forward=1 --shm-size 32m \
     --pids-limit 100 --oom-score-adj 200 --group-add 100 --dns 1.1.1.1 \
     --dns-search example.com --dns-option ndots:2 --add-host foo:1.2.3.4 \
     --restart on-failure:3 --tmpfs /t:size=1m localhost/busybox:latest sleep 1000";

/// A container with none of them, for the defaults.
const PLAIN: &str = "create --name p1 --network none --ulimit nofile=1024:1024 \
     --ulimit nproc=1024:1024 localhost/busybox:latest true";

const CASES: &[Case] = &[
    json("inspect -f '{{json .HostConfig}}' h1"),
    json("inspect -f '{{json .HostConfig}}' p1"),
    text(
        "inspect -f '{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}} \
         {{.HostConfig.MemorySwappiness}} {{.HostConfig.CpuShares}} {{.HostConfig.CpusetCpus}} \
         {{.HostConfig.NanoCpus}} {{.HostConfig.CpuPeriod}} {{.HostConfig.CpuQuota}}' h1",
    ),
    text(
        "inspect -f '{{.HostConfig.ShmSize}} {{.HostConfig.PidsLimit}} \
         {{.HostConfig.OomScoreAdj}} {{.HostConfig.GroupAdd}}' h1",
    ),
    text(
        "inspect -f '{{.HostConfig.Dns}} {{.HostConfig.DnsSearch}} {{.HostConfig.DnsOptions}} \
         {{.HostConfig.ExtraHosts}}' h1",
    ),
    text("inspect -f '{{.HostConfig.CapAdd}} {{.HostConfig.CapDrop}} {{.HostConfig.SecurityOpt}}' h1"),
    text("inspect -f '{{range .HostConfig.Devices}}{{.PathOnHost}} {{.PathInContainer}}{{end}}' h1"),
    text("inspect -f '{{range .HostConfig.Ulimits}}{{.Name}}={{.Soft}}:{{.Hard}} {{end}}' h1"),
    text(
        "inspect -f '{{.HostConfig.IpcMode}} {{.HostConfig.PidMode}} {{.HostConfig.UTSMode}} \
         {{.HostConfig.CgroupMode}} {{.HostConfig.Cgroups}} {{.HostConfig.Runtime}}' h1",
    ),
    text(
        "inspect -f '{{.HostConfig.RestartPolicy.Name}} \
         {{.HostConfig.RestartPolicy.MaximumRetryCount}}' h1",
    ),
    text("inspect -f '{{json .HostConfig.Tmpfs}}' h1"),
    text(
        "inspect -f '{{.HostConfig.Memory}} {{.HostConfig.MemorySwappiness}} \
         {{.HostConfig.CpuPeriod}} {{.HostConfig.OomScoreAdj}} {{.HostConfig.Dns}} \
         {{.HostConfig.IpcMode}} {{.HostConfig.CgroupMode}}' p1",
    ),
];

/// Cases berth fails, each with why: they must still fail.
const KNOWN_DIFFERENCES: &[(&str, &str)] = &[(
    "inspect -f '{{json .HostConfig.Tmpfs}}' h1",
    "podman adds tmpcopyup, which berth's tmpfs mounts do not do",
)];

const RULES: Rules = Rules {
    podman_only_keys: &[],
    data_maps: &[],
};

#[test]
fn host_config_matches_podman_4_3() {
    require!(is_root(), "containers need root");
    require!(have_podman(), "podman is not installed");
    let podman = Podman::new();
    podman.load_busybox("localhost/busybox:latest");
    let berth = Env::new();
    let pcmd = |a: &[&str]| podman.command(a);
    let bcmd = |a: &[&str]| berth.command(a);
    let path = |p: std::path::PathBuf| p.display().to_string();
    let mut pside = Side {
        name: "podman",
        command: &pcmd,
        port: 0,
        literals: vec![
            (path(podman.root()), "<ROOT>".into()),
            (path(podman.runroot()), "<RUNROOT>".into()),
            (podman.cgroup_parent.clone(), "<CGROUP_PARENT>".into()),
        ],
        ids: Vec::new(),
    };
    let mut bside = Side {
        name: "berth",
        command: &bcmd,
        port: 0,
        literals: vec![
            (path(berth.root()), "<ROOT>".into()),
            (path(berth.runroot()), "<RUNROOT>".into()),
            (berth.cgroup_parent.clone(), "<CGROUP_PARENT>".into()),
        ],
        ids: Vec::new(),
    };
    for cmd in [FIXTURE, PLAIN] {
        let p = pside.run(cmd);
        assert_eq!(p.code, Some(0), "podman `{cmd}`: {}", p.describe());
        let b = bside.run(cmd);
        assert_eq!(b.code, Some(0), "berth `{cmd}`: {}", b.describe());
    }
    pside.learn_ids(&["h1", "p1"]);
    bside.learn_ids(&["h1", "p1"]);
    let mut report = String::new();
    let mut unexpected = Vec::new();
    let mut fixed = Vec::new();
    for case in CASES {
        let known = KNOWN_DIFFERENCES.iter().find(|(k, _)| *k == case.cmd);
        match (run_case(case, &pside, &bside, &RULES), known) {
            (Ok(()), None) => {}
            (Ok(()), Some(_)) => fixed.push(case.cmd),
            (Err(d), known) => {
                report.push_str(&format!("- `{}` ({known:?})\n    {d}\n", case.cmd));
                if known.is_none() {
                    unexpected.push(case.cmd);
                }
            }
        }
    }
    eprintln!("{report}");
    assert!(
        unexpected.is_empty() && fixed.is_empty(),
        "differ from podman: {unexpected:#?}\nlisted but now pass: {fixed:#?}\n{report}"
    );
}
