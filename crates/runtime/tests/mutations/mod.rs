//! The mutations of `config_fuzz.rs`: each takes a config and makes one
//! hostile change to it, drawing choices from a seeded [`Rng`].

use serde_json::{json, Value};

/// xorshift64*: small, deterministic, good enough to pick mutations.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
    pub fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }
}

/// What a mutation may refer to.
pub struct Ctx {
    /// The container id (also the cgroup's name).
    pub id: String,
    /// Marks every name a mutation makes up, so escapes can be found.
    pub tag: String,
}

/// Values of every JSON type, for fields given the wrong one.
fn odd_value(rng: &mut Rng) -> Value {
    rng.pick(&[
        Value::Null,
        json!(true),
        json!(0),
        json!(-1),
        json!(1.5),
        json!(1e300),
        json!(u64::MAX),
        json!(i64::MIN),
        json!(""),
        json!("x"),
        json!("../../.."),
        json!([]),
        json!([1, "a"]),
        json!({}),
        json!({"a": {"b": []}}),
    ])
    .clone()
}

/// Every path into `v` (object keys and array indexes).
fn paths(v: &Value, prefix: &mut Vec<Value>, out: &mut Vec<Vec<Value>>) {
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                prefix.push(json!(k));
                out.push(prefix.clone());
                paths(child, prefix, out);
                prefix.pop();
            }
        }
        Value::Array(a) => {
            for (i, child) in a.iter().enumerate() {
                prefix.push(json!(i));
                out.push(prefix.clone());
                paths(child, prefix, out);
                prefix.pop();
            }
        }
        _ => {}
    }
}

fn at<'a>(v: &'a mut Value, path: &[Value]) -> Option<&'a mut Value> {
    path.iter().try_fold(v, |node, key| match key {
        Value::String(k) => node.get_mut(k.as_str()),
        Value::Number(i) => node.get_mut(i.as_u64()? as usize),
        _ => None,
    })
}

/// The value at `path` (object keys), made an object at each step that is
/// not one yet: a mutation may have turned any of them into a number.
pub fn slot<'a>(v: &'a mut Value, path: &[&str]) -> &'a mut Value {
    path.iter().fold(v, |node, key| {
        if !node.is_object() {
            *node = json!({});
        }
        &mut node[*key]
    })
}

/// Push `item` onto the array at `v[key]`, making it if it is not one.
fn push(v: &mut Value, key: &str, item: Value) {
    let list = slot(v, &[key]);
    if !list.is_array() {
        *list = json!([]);
    }
    if let Some(a) = list.as_array_mut() {
        a.push(item);
    }
}

fn wrong_type(rng: &mut Rng, c: &mut Value, _: &Ctx) {
    let mut all = Vec::new();
    paths(c, &mut Vec::new(), &mut all);
    let path = rng.pick(&all).clone();
    let value = odd_value(rng);
    if let Some(node) = at(c, &path) {
        *node = value;
    }
}

fn absurd_number(rng: &mut Rng, c: &mut Value, _: &Ctx) {
    let big = [
        json!(0),
        json!(1),
        json!(-1),
        json!(-2),
        json!(4294967295u64),
        json!(i64::MAX),
        json!(u64::MAX),
    ];
    let n = rng.pick(&big).clone();
    let field = |rng: &mut Rng, names: &[&str]| rng.pick(names).to_string();
    match rng.below(14) {
        0 => *slot(c, &["process", "user", "uid"]) = n,
        1 => *slot(c, &["process", "user", "additionalGids"]) = json!([n, 0]),
        2 => *slot(c, &["process", "user", "umask"]) = n,
        3 => {
            *slot(c, &["process", "oomScoreAdj"]) = rng
                .pick(&[json!(-1001), json!(1001), json!(i32::MAX)])
                .clone()
        }
        4 => {
            let k = field(
                rng,
                &["limit", "reservation", "swap", "kernelTCP", "swappiness"],
            );
            *slot(c, &["linux", "resources", "memory"]) = json!({k: n});
        }
        5 => {
            let k = field(
                rng,
                &[
                    "shares",
                    "quota",
                    "period",
                    "realtimeRuntime",
                    "realtimePeriod",
                ],
            );
            *slot(c, &["linux", "resources", "cpu"]) = json!({k: n});
        }
        6 => {
            let (cpus, mems) = (
                field(rng, &["0-99999", "abc", "", "0"]),
                field(rng, &["9", "0", "-"]),
            );
            *slot(c, &["linux", "resources", "cpu"]) = json!({"cpus": cpus, "mems": mems});
        }
        7 => *slot(c, &["linux", "resources", "pids"]) = json!({"limit": n}),
        8 => {
            let w = *rng.pick(&[0, 9, 1001, 65535]);
            *slot(c, &["linux", "resources", "blockIO"]) = json!({"weight": w,
                "throttleReadBpsDevice": [{"major": -1, "minor": n, "rate": u64::MAX}]});
        }
        9 => {
            let size = field(rng, &["2MB", "3MB", "MB", "1GB"]);
            *slot(c, &["linux", "resources", "hugepageLimits"]) =
                json!([{"pageSize": size, "limit": n}]);
        }
        10 => *slot(c, &["process", "consoleSize"]) = json!({"height": n, "width": 0}),
        11 => push(
            slot(c, &["linux"]),
            "devices",
            json!({"path": "/dev/odd", "type": "c", "major": n,
            "minor": -1, "fileMode": 0o177777, "uid": u64::MAX}),
        ),
        12 => {
            push(slot(c, &["linux"]), "namespaces", json!({"type": "time"}));
            let clock = field(rng, &["monotonic", "boottime", "realtime"]);
            *slot(c, &["linux", "timeOffsets"]) =
                json!({clock: {"secs": n, "nanosecs": 2_000_000_000u64}});
        }
        _ => {
            let (limit, swap) = (*rng.pick(&[4096, 1 << 20]), *rng.pick(&[-1, 0, 1]));
            *slot(c, &["linux", "resources", "memory"]) = json!({"limit": limit, "swap": swap});
        }
    }
}

fn dotdot_path(rng: &mut Rng, c: &mut Value, x: &Ctx) {
    let t = &x.tag;
    let escape = [
        format!("/../../../../tmp/{t}-esc"),
        format!("../{t}-rel"),
        format!("/proc/../../{t}"),
        format!("/dev/../../../{t}"),
        format!("//x//../{t}"),
    ];
    let dest = rng.pick(&escape).clone();
    match rng.below(10) {
        0 => {
            *slot(c, &["root", "path"]) = json!(rng.pick(&[
                "rootfs/../rootfs",
                "./rootfs/",
                "rootfs/..",
                "rootfs/bin/busybox",
                "../no-such-rootfs"
            ]))
        }
        1 | 2 => {
            let sources = [
                json!("tmpfs"),
                json!("rootfs/etc"),
                json!(format!("../../../../tmp/{t}-src")),
                json!("rootfs/../rootfs/tmp"),
            ];
            let source = rng.pick(&sources).clone();
            let options: Vec<&str> = (0..rng.below(4))
                .map(|_| {
                    *rng.pick(&[
                        "rbind", "ro", "rw", "nosuid", "rprivate", "rshared", "bogus=1", "size=1k",
                        "mode=777", "idmap", "rro",
                    ])
                })
                .collect();
            let typ = rng.pick(&["tmpfs", "bind", "proc", "bogus"]);
            push(
                c,
                "mounts",
                json!({"destination": dest, "type": typ, "source": source, "options": options}),
            );
        }
        3 => {
            *slot(c, &["process", "cwd"]) =
                json!(rng.pick(&["/../../..", "/no/such/dir", "relative", "/tmp/../../etc"]))
        }
        4 => push(slot(c, &["linux"]), "maskedPaths", json!(dest)),
        5 => push(slot(c, &["linux"]), "readonlyPaths", json!(dest)),
        6 => push(
            slot(c, &["linux"]),
            "devices",
            json!({"path": format!("/dev/../../../{t}-dev"), "type": "c", "major": 1, "minor": 3}),
        ),
        7 => {
            *slot(c, &["linux", "sysctl"]) = json!({rng.pick(&[format!("../../../{t}"), "net/ipv4/../../..".into(), "kernel.msgmax".into(), "net.ipv4.ip_forward".into()]).clone(): rng.pick(&["1", "abc", ""])})
        }
        8 => {
            *slot(c, &["process", "args"]) =
                json!([rng.pick(&["../../../../bin/true", "/bin/../bin/true", "./true"])])
        }
        _ => {
            *slot(c, &["linux", "cgroupsPath"]) = json!(rng.pick(&[
                format!("/berth-test/{0}/../{0}", x.id),
                format!("/berth-test/./{}//", x.id),
                format!("/berth-test/{}/a/b/../..", x.id),
                format!("/berth-test/{}/sub", x.id),
            ]))
        }
    }
}

fn bogus_namespace(rng: &mut Rng, c: &mut Value, x: &Ctx) {
    let types = [
        "pid", "network", "ipc", "uts", "mount", "cgroup", "user", "time",
    ];
    let files = ["pid", "net", "ipc", "uts", "mnt", "cgroup", "user", "time"];
    match rng.below(6) {
        0 => push(
            slot(c, &["linux"]),
            "namespaces",
            json!({"type": rng.pick(&["bogus", "", "PID", "mnt"])}),
        ),
        1 => push(
            slot(c, &["linux"]),
            "namespaces",
            json!({"type": rng.pick(&types)}),
        ),
        2 => {
            // A host namespace file of another type only: joining one of
            // the host's own namespaces is no test of the runtime.
            let (ti, fi) = (rng.below(types.len()), rng.below(files.len()));
            let fi = if ti == fi { (fi + 1) % files.len() } else { fi };
            push(
                slot(c, &["linux"]),
                "namespaces",
                json!({"type": types[ti], "path": format!("/proc/self/ns/{}", files[fi])}),
            );
        }
        3 => push(
            slot(c, &["linux"]),
            "namespaces",
            json!({"type": rng.pick(&types),
            "path": rng.pick(&[format!("/no/such/{}", x.tag), "/dev/null".into(), "relative/ns".into()])}),
        ),
        4 => {
            if let Some(ns) = slot(c, &["linux", "namespaces"]).as_array_mut() {
                if !ns.is_empty() {
                    let i = rng.below(ns.len());
                    ns.remove(i);
                }
            }
        }
        _ => *slot(c, &["linux", "namespaces"]) = json!([]),
    }
}

fn id_maps(rng: &mut Rng, c: &mut Value, _: &Ctx) {
    let maps = [
        json!([{"containerID": 0, "hostID": 100000, "size": 65536}]),
        json!([{"containerID": 0, "hostID": 100000, "size": 1000}, {"containerID": 500, "hostID": 300000, "size": 10}]),
        json!([{"containerID": 0, "hostID": 100000, "size": 0}]),
        json!([{"containerID": 0, "hostID": 4294967295u64, "size": 4294967295u64}]),
        json!([]),
        json!([{"containerID": -1, "hostID": 0, "size": 1}]),
    ];
    if rng.chance(2) {
        push(slot(c, &["linux"]), "namespaces", json!({"type": "user"}));
    }
    *slot(c, &["linux", "uidMappings"]) = rng.pick(&maps).clone();
    if rng.chance(3) {
        *slot(c, &["linux", "gidMappings"]) = rng.pick(&maps).clone();
    }
    if rng.chance(3) {
        let m = rng.pick(&maps).clone();
        push(
            c,
            "mounts",
            json!({"destination": "/idmapped", "type": "bind", "source": "rootfs/etc",
            "options": ["rbind"], "uidMappings": m, "gidMappings": m}),
        );
    }
}

fn rlimits(rng: &mut Rng, c: &mut Value, _: &Ctx) {
    let types = [
        "RLIMIT_NOFILE",
        "RLIMIT_NPROC",
        "RLIMIT_AS",
        "RLIMIT_CORE",
        "RLIMIT_CPU",
        "RLIMIT_STACK",
        "RLIMIT_FSIZE",
        "RLIMIT_MEMLOCK",
        "RLIMIT_BOGUS",
        "rlimit_nofile",
        "",
    ];
    let values = [
        json!(0),
        json!(1),
        json!(1024),
        json!(4096),
        json!(1u64 << 20),
        json!(u64::MAX),
        json!(-1),
    ];
    let list: Vec<Value> = (0..1 + rng.below(3))
        .map(|_| json!({"type": rng.pick(&types), "soft": rng.pick(&values), "hard": rng.pick(&values)}))
        .collect();
    *slot(c, &["process", "rlimits"]) = json!(list);
}

fn capabilities(rng: &mut Rng, c: &mut Value, _: &Ctx) {
    let names = [
        "CAP_SYS_ADMIN",
        "CAP_KILL",
        "CAP_NET_RAW",
        "CAP_BOGUS",
        "cap_kill",
        "",
        "CAP_BPF",
        "CAP_CHECKPOINT_RESTORE",
    ];
    for set in [
        "bounding",
        "effective",
        "permitted",
        "inheritable",
        "ambient",
    ] {
        if rng.chance(2) {
            let list: Vec<&str> = (0..rng.below(4)).map(|_| *rng.pick(&names)).collect();
            *slot(c, &["process", "capabilities", set]) = json!(list);
        }
    }
}

fn seccomp(rng: &mut Rng, c: &mut Value, x: &Ctx) {
    let actions = [
        "SCMP_ACT_ALLOW",
        "SCMP_ACT_ERRNO",
        "SCMP_ACT_KILL",
        "SCMP_ACT_KILL_PROCESS",
        "SCMP_ACT_TRAP",
        "SCMP_ACT_LOG",
        "SCMP_ACT_BOGUS",
        "SCMP_ACT_NOTIFY",
    ];
    let rules = [
        json!({"names": ["getcwd"], "action": "SCMP_ACT_ERRNO"}),
        json!({"names": [], "action": "SCMP_ACT_ERRNO"}),
        json!({"names": ["no_such_syscall"], "action": "SCMP_ACT_KILL"}),
        json!({"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}),
        json!({"names": ["read"], "action": "SCMP_ACT_ERRNO", "errnoRet": 70000}),
        json!({"names": ["write"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 9, "value": 1, "op": "SCMP_CMP_EQ"}]}),
        json!({"names": ["write"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_BOGUS"}]}),
    ];
    let mut profile = json!({
        "defaultAction": rng.pick(&actions),
        "architectures": rng.pick(&[json!(["SCMP_ARCH_X86_64"]), json!(["SCMP_ARCH_BOGUS"]), json!([])]),
        "syscalls": (0..rng.below(4)).map(|_| rng.pick(&rules).clone()).collect::<Vec<_>>(),
    });
    if rng.chance(3) {
        profile["flags"] =
            json!([rng.pick(&["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_BOGUS"])]);
    }
    if rng.chance(3) {
        profile["listenerPath"] = json!(format!("/no/such/{}.sock", x.tag));
    }
    if rng.chance(4) {
        profile["defaultErrnoRet"] = json!(rng.pick(&[1, 70000]));
    }
    *slot(c, &["linux", "seccomp"]) = profile;
}

fn hooks(rng: &mut Rng, c: &mut Value, x: &Ctx) {
    let kinds = [
        "prestart",
        "createRuntime",
        "createContainer",
        "startContainer",
        "poststart",
        "poststop",
    ];
    let pool = [
        json!({"path": "/bin/false"}),
        json!({"path": "/bin/true", "timeout": 0}),
        json!({"path": "/bin/true", "timeout": -1}),
        json!({"path": "/bin/true", "timeout": i64::MAX}),
        json!({"path": "/bin/sleep", "args": ["sleep", "5"], "timeout": 1}),
        json!({"path": "relative/hook"}),
        json!({"path": format!("/no/such/{}", x.tag)}),
        json!({"path": "/bin/true", "env": ["=", "NOEQ", ""]}),
        json!({"path": "/bin/true", "args": []}),
        json!({"path": "/bin/sh", "args": ["sh", "-c", "exit 7"]}),
    ];
    let kind = *rng.pick(&kinds);
    push(slot(c, &["hooks"]), kind, rng.pick(&pool).clone());
}

fn misc(rng: &mut Rng, c: &mut Value, _: &Ctx) {
    match rng.below(14) {
        0 => {
            *slot(c, &["hostname"]) =
                json!(rng.pick(&["h".repeat(300), String::new(), "bad\u{0}name".into()]))
        }
        1 => *slot(c, &["domainname"]) = json!(rng.pick(&["d".repeat(300), "x".into()])),
        2 => *slot(c, &["process", "env"]) = json!([rng.pick(&["", "=", "NOEQ", "A=\u{0}"])]),
        3 => {
            *slot(c, &["process", "args"]) = json!(rng.pick(&[
                json!([""]),
                json!(["/no/such/binary"]),
                json!(["true", "\u{0}"]),
                json!([])
            ]))
        }
        4 => *slot(c, &["process", "terminal"]) = json!(true),
        5 => *slot(c, &["process", "user", "username"]) = json!("nobody"),
        6 => {
            *slot(c, &["process", "apparmorProfile"]) =
                json!(rng.pick(&["unconfined", "bogus-profile"]))
        }
        7 => {
            *slot(c, &["process", "ioPriority"]) = json!({"class": rng.pick(&["IOPRIO_CLASS_RT", "IOPRIO_CLASS_BOGUS"]), "priority": rng.pick(&[0, 99])})
        }
        8 => {
            *slot(c, &["process", "scheduler"]) = json!({"policy": rng.pick(&["SCHED_FIFO", "SCHED_BOGUS"]), "priority": rng.pick(&[1, 200])})
        }
        9 => {
            *slot(c, &["linux", "personality"]) = json!({"domain": rng.pick(&["LINUX32", "BOGUS"])})
        }
        10 => *slot(c, &["ociVersion"]) = json!(rng.pick(&["invalid", "2.0.0", "", "1.2.0"])),
        11 => {
            *slot(c, &["annotations"]) =
                json!({rng.pick(&["", "org.example", "k"]).to_string(): "v"})
        }
        12 => {
            let i = rng.below(c["mounts"].as_array().map_or(1, Vec::len));
            if let Some(m) = c["mounts"].get_mut(i).filter(|m| m.is_object()) {
                m["type"] = json!(rng.pick(&["tmpfs", "bogus", "cgroup2", "sysfs"]));
            }
        }
        _ => *slot(c, &["linux", "intelRdt"]) = json!({"closID": "x"}),
    }
}

pub type Mutator = fn(&mut Rng, &mut Value, &Ctx);
pub const MUTATORS: [Mutator; 10] = [
    wrong_type,
    absurd_number,
    dotdot_path,
    bogus_namespace,
    id_maps,
    rlimits,
    capabilities,
    seccomp,
    hooks,
    misc,
];
