//! containerd, a real engine from Debian, runs containers with berth-runtime
//! as the runc binary of its runc shim (`ctr run --runc-binary`): a
//! foreground run, a detached container with exec, kill and delete.
//!
//! Each test starts its own containerd with a private root, state dir and
//! socket under /dev/shm, and stops it by pid. The runtime binary the shim
//! calls is a wrapper script that logs its argv and execs berth-runtime, so
//! the tests can see which runtime commands containerd's shim issued.

mod common;

use berth_testkit::{
    is_root, remove_test_cgroup, require, test_cgroup_path, unique_name, write_oci_layout,
};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// The containerd namespace every test uses (each daemon has its own root).
const NS: &str = "berth-test";
/// The name `ctr images import --base-name` gives the busybox layout's tag.
const IMAGE: &str = "docker.io/berth/busybox:latest";
/// Where containerd 1.6's shims put their sockets, whatever the state dir.
const SHIM_SOCKET_DIR: &str = "/run/containerd/s";

/// One containerd at a time: the daemons share `/run/containerd/s` (which
/// the last one removes if no one else had it), and the 2 cores of this
/// machine kind gain nothing from two daemons at once. Hold the guard for
/// the whole test, declared before the daemon so it is released after it.
fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

fn on_path(name: &str) -> bool {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(name).is_file()))
        .unwrap_or(false)
}

fn have_containerd() -> bool {
    ["containerd", "ctr", "containerd-shim-runc-v2"]
        .iter()
        .all(|b| on_path(b))
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A containerd daemon of the test's own, its `ctr` client, and the
/// berth-runtime wrapper its shim runs.
struct Containerd {
    dir: tempfile::TempDir,
    daemon: Option<Child>,
    /// Whether `/run/containerd` existed before this daemon started.
    had_run_dir: bool,
    /// Cgroups given to containers, removed at the end as a safety net.
    cgroups: Vec<String>,
}

impl Containerd {
    fn start() -> Self {
        // The runc shim re-parents itself to the nearest subreaper when its
        // `start` command exits; be that subreaper so exited shims are
        // reaped here, not left as zombies under the machine's pid 1.
        common::become_subreaper();
        let dir = tempfile::Builder::new()
            .prefix("berth-containerd-")
            .tempdir_in("/dev/shm")
            .unwrap();
        let d = dir.path();
        for sub in ["root", "state", "runc", "fifo"] {
            std::fs::create_dir(d.join(sub)).unwrap();
        }
        // Plugins that need what this VM lacks or that write outside the
        // temp root (opt's /opt/containerd) stay off; so does CRI.
        let config = format!(
            r#"version = 2
root = "{root}"
state = "{state}"
disabled_plugins = [
  "io.containerd.grpc.v1.cri",
  "io.containerd.internal.v1.opt",
  "io.containerd.internal.v1.tracing",
  "io.containerd.tracing.processor.v1.otlp",
  "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.zfs",
]

[grpc]
  address = "{sock}"

[ttrpc]
  address = "{sock}.ttrpc"

[debug]
  level = "debug"
"#,
            root = d.join("root").display(),
            state = d.join("state").display(),
            sock = d.join("containerd.sock").display(),
        );
        std::fs::write(d.join("config.toml"), config).unwrap();
        // The shim calls this in runc's place; it logs one line per call.
        let wrapper = format!(
            "#!/bin/sh\necho \"$*\" >> '{}'\nexec '{}' \"$@\"\n",
            d.join("runtime-argv.log").display(),
            common::BIN
        );
        std::fs::write(d.join("berth-runtime-wrapper"), wrapper).unwrap();
        std::fs::set_permissions(
            d.join("berth-runtime-wrapper"),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .unwrap();

        let had_run_dir = Path::new("/run/containerd").exists();
        let log = std::fs::File::create(d.join("containerd.log")).unwrap();
        let daemon = Command::new("containerd")
            .arg("--config")
            .arg(d.join("config.toml"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("spawn containerd");
        let mut cd = Containerd {
            dir,
            daemon: Some(daemon),
            had_run_dir,
            cgroups: Vec::new(),
        };
        cd.wait_ready();
        cd
    }

    fn path(&self, sub: &str) -> PathBuf {
        self.dir.path().join(sub)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.path("containerd.log")).unwrap_or_default()
    }

    /// Wait until containerd answers on its socket.
    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.daemon.as_mut().unwrap().try_wait().unwrap() {
                panic!(
                    "containerd exited ({status}) before serving:\n{}",
                    self.log()
                );
            }
            if self.path("containerd.sock").exists() && self.ctr(&["version"]).status.success() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "containerd never served on its socket:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn ctr_cmd(&self) -> Command {
        let mut c = Command::new("ctr");
        c.arg("--address")
            .arg(self.path("containerd.sock"))
            .args(["--namespace", NS])
            .stdin(Stdio::null());
        c
    }

    fn ctr(&self, args: &[&str]) -> Output {
        self.ctr_cmd().args(args).output().expect("run ctr")
    }

    /// `ctr ARGS…`, asserting success; returns stdout.
    fn ctr_ok(&self, args: &[&str]) -> String {
        let out = self.ctr(args);
        self.assert_code(&format!("ctr {args:?}"), &out, 0);
        text(&out.stdout)
    }

    /// Assert that `what` exited with `code`, showing its stderr and the
    /// containerd log otherwise.
    fn assert_code(&self, what: &str, out: &Output, code: i32) {
        assert_eq!(
            out.status.code(),
            Some(code),
            "{what} ({}): {}\n--- containerd log ---\n{}",
            out.status,
            text(&out.stderr),
            self.log()
        );
    }

    /// `ctr task exec` of `cmd` in task `id` as exec `exec_id`.
    fn exec(&self, id: &str, exec_id: &str, cmd: &[&str]) -> Output {
        let fifo = self.path("fifo");
        let mut args = vec![
            "task",
            "exec",
            "--exec-id",
            exec_id,
            "--fifo-dir",
            fifo.to_str().unwrap(),
            id,
        ];
        args.extend_from_slice(cmd);
        self.ctr(&args)
    }

    /// Import the busybox fixture as [`IMAGE`] from an OCI archive.
    fn import_busybox(&self) {
        let layout = self.path("layout");
        write_oci_layout(&layout, "latest").unwrap();
        let archive = self.path("busybox-oci.tar");
        let tar = Command::new("tar")
            .arg("-C")
            .arg(&layout)
            .arg("-cf")
            .arg(&archive)
            .arg(".")
            .output()
            .unwrap();
        assert!(tar.status.success(), "tar: {}", text(&tar.stderr));
        // The layout's index.json names only the tag ("latest") in
        // org.opencontainers.image.ref.name; --base-name makes it a full ref.
        self.ctr_ok(&[
            "images",
            "import",
            "--base-name",
            "docker.io/berth/busybox",
            archive.to_str().unwrap(),
        ]);
        let images = self.ctr_ok(&["images", "ls", "-q"]);
        assert!(
            images.lines().any(|l| l == IMAGE),
            "{IMAGE} not imported: {images:?}"
        );
    }

    /// A fresh container id and a cgroup for it under the test parent.
    fn new_container(&mut self, prefix: &str) -> (String, String) {
        let id = unique_name(prefix);
        let cgroup = test_cgroup_path(&id);
        self.cgroups.push(cgroup.clone());
        (id, cgroup)
    }

    /// `ctr run` with berth-runtime (through the wrapper) as the runc
    /// binary, its own runtime root and fifo dir, and the given cgroup.
    fn run(&self, extra: &[&str], id: &str, cgroup: &str, cmd: &[&str]) -> Output {
        let wrapper = self.path("berth-runtime-wrapper");
        let runc_root = self.path("runc");
        let fifo = self.path("fifo");
        let mut args = vec![
            "run",
            "--runc-binary",
            wrapper.to_str().unwrap(),
            "--runc-root",
            runc_root.to_str().unwrap(),
            "--fifo-dir",
            fifo.to_str().unwrap(),
            "--cgroup",
            cgroup,
        ];
        args.extend_from_slice(extra);
        args.push(IMAGE);
        args.push(id);
        args.extend_from_slice(cmd);
        self.ctr(&args)
    }

    /// berth-runtime's own view of a container the shim created: its
    /// `state` from the runtime root the shim was given (`<root>/<ns>`).
    fn runtime_state(&self, id: &str) -> serde_json::Value {
        let out = Command::new(common::BIN)
            .arg("--root")
            .arg(self.path("runc").join(NS))
            .args(["state", id])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "berth-runtime state {id}: {}",
            text(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("state prints JSON")
    }

    /// The runtime subcommands the shim called for container `id`, in order.
    fn runtime_calls(&self, id: &str) -> Vec<String> {
        std::fs::read_to_string(self.path("runtime-argv.log"))
            .unwrap_or_default()
            .lines()
            // Every call names the bundle dir in `--log <bundle>/log.json`.
            .filter(|l| l.contains(&format!("/{id}/")))
            .filter_map(subcommand)
            .collect()
    }

    /// The task's pid and status in `ctr task ls` (RUNNING, STOPPED…).
    fn task_status(&self, id: &str) -> Option<(String, String)> {
        // Not ctr_ok: Drop calls this too, where a panic would abort.
        let out = text(&self.ctr(&["task", "ls"]).stdout);
        out.lines().skip(1).find_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.first() == Some(&id) && f.len() >= 3).then(|| (f[1].to_string(), f[2].to_string()))
        })
    }

    fn wait_task_status(&self, id: &str, want: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let st = self.task_status(id);
            if st.as_ref().map(|(_, s)| s.as_str()) == Some(want) {
                return;
            }
            assert!(Instant::now() < deadline, "task {id} never {want}: {st:?}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Best-effort removal of whatever a (possibly failed) test left in
    /// containerd: tasks, containers, images, then the namespace.
    fn remove_everything(&self) {
        let tasks = text(&self.ctr(&["task", "ls", "-q"]).stdout);
        for id in tasks.lines().filter(|l| !l.is_empty()) {
            let _ = self.ctr(&["task", "kill", "--all", "-s", "SIGKILL", id]);
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline
                && self.task_status(id).is_some_and(|(_, s)| s == "RUNNING")
            {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = self.ctr(&["task", "delete", "--force", id]);
        }
        let containers = text(&self.ctr(&["containers", "ls", "-q"]).stdout);
        for id in containers.lines().filter(|l| !l.is_empty()) {
            let _ = self.ctr(&["containers", "delete", id]);
        }
        let images = text(&self.ctr(&["images", "ls", "-q"]).stdout);
        let images: Vec<&str> = images.lines().filter(|l| !l.is_empty()).collect();
        if !images.is_empty() {
            let mut args = vec!["images", "rm", "--sync"];
            args.extend(images);
            let _ = self.ctr(&args);
        }
        let out = self.ctr(&["namespaces", "rm", NS]);
        if !out.status.success() && !text(&out.stderr).contains("not found") {
            eprintln!("ctr namespaces rm {NS}: {}", text(&out.stderr));
        }
    }

    /// SIGTERM containerd by its pid, SIGKILL after a timeout.
    fn stop_daemon(&mut self) {
        let Some(mut child) = self.daemon.take() else {
            return;
        };
        let _ = kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        eprintln!("containerd ignored SIGTERM for 10s; killing it");
        let _ = child.kill();
        let _ = child.wait();
    }

    /// Reap runc shims that re-parented to us and have exited; shims still
    /// alive after a grace period (a test failed mid-way) are killed by pid.
    fn reap_shims(&self) {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let shims = our_shim_children();
            if shims.is_empty() {
                return;
            }
            for &(pid, zombie) in &shims {
                if zombie || Instant::now() >= deadline {
                    if !zombie {
                        eprintln!("killing leftover shim {pid}");
                        let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
                    }
                    let _ = nix::sys::wait::waitpid(Pid::from_raw(pid), None);
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Unmount whatever the snapshotter or shim left under the temp root,
    /// deepest first, so removing the directory cannot reach into a mount.
    fn unmount_leftovers(&self) {
        let root = self.dir.path().to_string_lossy().into_owned();
        let mut points: Vec<String> = std::fs::read_to_string("/proc/self/mountinfo")
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.split(' ').nth(4).map(unescape_mount_path))
            .filter(|p| p == &root || p.starts_with(&format!("{root}/")))
            .collect();
        points.sort_by_key(|p| std::cmp::Reverse(p.len()));
        for p in points {
            eprintln!("unmounting leftover {p}");
            let _ = nix::mount::umount2(p.as_str(), nix::mount::MntFlags::MNT_DETACH);
        }
    }
}

impl Drop for Containerd {
    fn drop(&mut self) {
        if self.daemon.is_some() {
            self.remove_everything();
        }
        self.stop_daemon();
        self.reap_shims();
        self.unmount_leftovers();
        for cg in &self.cgroups {
            remove_test_cgroup(cg);
        }
        // Shim sockets are gone with their shims; drop the directories
        // containerd made for them if they were not there before (only
        // empty directories are removed).
        if !self.had_run_dir {
            let _ = std::fs::remove_dir(SHIM_SOCKET_DIR);
            let _ = std::fs::remove_dir("/run/containerd");
        }
    }
}

/// Our children named `containerd-shim*`, with whether each is a zombie.
fn our_shim_children() -> Vec<(i32, bool)> {
    let me = std::process::id().to_string();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(|pid| {
            let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
            let field = |k: &str| {
                status
                    .lines()
                    .find_map(|l| l.strip_prefix(k))
                    .map(|v| v.trim().to_string())
            };
            let name = field("Name:")?;
            let zombie = field("State:")?.starts_with('Z');
            (field("PPid:")? == me && name.starts_with("containerd-shim")).then_some((pid, zombie))
        })
        .collect()
}

/// mountinfo escapes space, tab, newline and backslash as `\ooo`.
fn unescape_mount_path(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let octal = (b[i] == b'\\')
            .then(|| s.get(i + 1..i + 4))
            .flatten()
            .and_then(|o| u8::from_str_radix(o, 8).ok());
        match octal {
            Some(v) => {
                out.push(v);
                i += 4;
            }
            None => {
                out.push(b[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The runc subcommand in one logged argv: the first word that is neither
/// a global option nor the value of one (`--root R --log F --log-format json`).
fn subcommand(line: &str) -> Option<String> {
    let mut words = line.split_whitespace();
    while let Some(w) = words.next() {
        match w {
            "--root" | "--log" | "--log-format" | "--criu" | "--rootless" => {
                words.next();
            }
            w if w.starts_with('-') => {}
            w => return Some(w.to_string()),
        }
    }
    None
}

/// Each line of the container's /proc/self/cgroup names its cgroup under
/// the test parent, never the shell's own cgroup.
fn assert_in_cgroup(cgroup_file: &str, cgroup: &str) {
    assert!(!cgroup_file.trim().is_empty(), "no /proc/self/cgroup lines");
    for line in cgroup_file.lines() {
        assert!(
            line.ends_with(&format!(":{cgroup}")),
            "container not in {cgroup}: {cgroup_file}"
        );
    }
}

#[test]
fn ctr_run_rm_uses_berth_runtime() {
    require!(is_root(), "needs root");
    require!(
        have_containerd(),
        "containerd, ctr or containerd-shim-runc-v2 not installed (Debian package containerd)"
    );
    let _serial = serial();
    let mut cd = Containerd::start();
    cd.import_busybox();

    let (id, cgroup) = cd.new_container("ctr-rm");
    let out = cd.run(
        &["--rm"],
        &id,
        &cgroup,
        &[
            "sh",
            "-c",
            "echo hello from containerd; echo \"$(cat /proc/1/cmdline | tr '\\0' ' ')\"; cat /proc/self/cgroup",
        ],
    );
    cd.assert_code("ctr run", &out, 0);
    let stdout = text(&out.stdout);
    let mut lines = stdout.lines();
    assert_eq!(lines.next(), Some("hello from containerd"), "{stdout}");
    assert_eq!(
        lines.next(),
        Some("sh -c echo hello from containerd; echo \"$(cat /proc/1/cmdline | tr '\\0' ' ')\"; cat /proc/self/cgroup "),
        "{stdout}"
    );
    assert_in_cgroup(&lines.collect::<Vec<_>>().join("\n"), &cgroup);

    // The shim drove berth-runtime through the whole life of the task.
    let calls = cd.runtime_calls(&id);
    for want in ["create", "start", "delete"] {
        assert!(
            calls.iter().any(|c| c == want),
            "berth-runtime never got {want:?}: {calls:?}"
        );
    }
    // --rm removed the container, its task and berth-runtime's state.
    assert!(!cd.ctr_ok(&["containers", "ls", "-q"]).contains(&id));
    assert!(!cd.path("runc").join(NS).join(&id).exists());
    assert!(
        !common::cgroup_exists(&cgroup),
        "berth-runtime left the cgroup {cgroup}"
    );

    // A failing command's exit code comes back through the shim and ctr.
    let (id, cgroup) = cd.new_container("ctr-exit");
    let out = cd.run(
        &["--rm"],
        &id,
        &cgroup,
        &["sh", "-c", "echo bye >&2; exit 3"],
    );
    cd.assert_code("ctr run", &out, 3);
    assert_eq!(text(&out.stderr), "bye\n");
    assert!(!common::cgroup_exists(&cgroup));
}

#[test]
fn ctr_detached_exec_kill_delete() {
    require!(is_root(), "needs root");
    require!(
        have_containerd(),
        "containerd, ctr or containerd-shim-runc-v2 not installed (Debian package containerd)"
    );
    let _serial = serial();
    let mut cd = Containerd::start();
    cd.import_busybox();

    let (id, cgroup) = cd.new_container("ctr-detached");
    // sh as pid 1 exits 7 on SIGTERM (a pid 1 without a handler ignores it).
    let out = cd.run(
        &["-d"],
        &id,
        &cgroup,
        &["sh", "-c", "trap 'exit 7' TERM; sleep 300 & wait"],
    );
    cd.assert_code("ctr run -d", &out, 0);
    cd.wait_task_status(&id, "RUNNING");
    let (pid, _) = cd.task_status(&id).unwrap();

    // berth-runtime's own state dir under the shim's runtime root holds the
    // container, running with the pid containerd reports.
    let state = cd.runtime_state(&id);
    assert_eq!(state["status"], "running", "{state}");
    assert_eq!(state["pid"].to_string(), pid, "{state}");
    assert!(common::cgroup_exists(&cgroup), "no cgroup {cgroup}");

    let exec = cd.exec(
        &id,
        "exec-ok",
        &[
            "sh",
            "-c",
            "echo exec-ok; cat /proc/1/comm; cat /proc/self/cgroup",
        ],
    );
    cd.assert_code("ctr task exec", &exec, 0);
    let stdout = text(&exec.stdout);
    let mut lines = stdout.lines();
    assert_eq!(lines.next(), Some("exec-ok"), "{stdout}");
    assert_eq!(lines.next(), Some("sh"), "{stdout}");
    assert_in_cgroup(&lines.collect::<Vec<_>>().join("\n"), &cgroup);

    let exec = cd.exec(&id, "exec-fail", &["sh", "-c", "exit 5"]);
    cd.assert_code("ctr task exec", &exec, 5);

    cd.ctr_ok(&["task", "kill", &id]);
    cd.wait_task_status(&id, "STOPPED");
    let del = cd.ctr(&["task", "delete", &id]);
    cd.assert_code("ctr task delete", &del, 0);
    assert!(
        text(&del.stderr).contains("exit code 7"),
        "exit status of the killed task: {}",
        text(&del.stderr)
    );
    cd.ctr_ok(&["containers", "delete", &id]);
    assert!(!cd.ctr_ok(&["containers", "ls", "-q"]).contains(&id));
    assert!(!cd.path("runc").join(NS).join(&id).exists());
    assert!(
        !common::cgroup_exists(&cgroup),
        "berth-runtime left the cgroup {cgroup}"
    );

    let calls = cd.runtime_calls(&id);
    for want in ["create", "start", "exec", "kill", "delete"] {
        assert!(
            calls.iter().any(|c| c == want),
            "berth-runtime never got {want:?}: {calls:?}"
        );
    }

    // Everything imported goes too, then the namespace itself.
    cd.ctr_ok(&["images", "rm", "--sync", IMAGE]);
    cd.ctr_ok(&["namespaces", "rm", NS]);
}
