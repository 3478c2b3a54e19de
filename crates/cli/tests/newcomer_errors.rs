//! The errors a newcomer meets first: each is one line that says what to
//! do, not a chain of library errors, and nothing is left behind.

mod engine_env;

use berth_testkit::{is_root, require};
use engine_env::Env;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;

/// The last line berth printed on stderr, and the number of lines other
/// than the pull's `Resolving …`/`Trying to pull …` (podman prints those
/// before its error too).
fn error_line(out: &std::process::Output) -> (String, usize) {
    let text = String::from_utf8_lossy(&out.stderr).into_owned();
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .filter(|l| !l.starts_with("Resolving \"") && !l.starts_with("Trying to pull "))
        .collect();
    (lines.last().unwrap_or(&"").to_string(), lines.len())
}

#[test]
fn a_typo_in_an_image_name_suggests_the_local_image() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    let out = env.berth(&["run", "--rm", "--network", "none", "busybx", "true"]);
    assert!(!out.status.success());
    let (line, n) = error_line(&out);
    assert_eq!(n, 1, "{line}");
    assert!(
        line.contains("busybx not found locally: did you mean busybox?"),
        "{line}"
    );
    // Nothing near: create pulls it (--pull=missing), and the one line is
    // that pull's error, naming what it tried (no network here).
    let out = env.berth(&["create", "--network", "none", "nginx"]);
    let (line, n) = error_line(&out);
    assert_eq!(n, 1, "{line}");
    assert!(line.contains("docker.io/library/nginx"), "{line}");
    assert!(env.ps().is_empty(), "a container was made");
}

/// A web server where a registry should be: it answers every request with
/// a 200 HTML page. Serves until the test process ends.
fn html_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for conn in listener.incoming().take(16) {
            let Ok(mut conn) = conn else { continue };
            let mut reader = BufReader::new(conn.try_clone().unwrap());
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                line.clear();
            }
            let body = "<html><body>Welcome to the hotel wifi</body></html>";
            let _ = write!(
                conn,
                "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    addr
}

#[test]
fn a_registry_that_answers_with_html_is_named_as_such() {
    require!(is_root(), "the store lives under root");
    let env = Env::new();
    let addr = html_server();
    let out = env.berth(&["pull", "--tls-verify=false", &format!("{addr}/app:latest")]);
    assert!(!out.status.success());
    let (line, _) = error_line(&out);
    assert!(
        line.contains(&format!("{addr} answered"))
            && line.contains("with an HTML page, not the registry API"),
        "{line}"
    );
    let images: serde_json::Value =
        serde_json::from_str(&env.ok(&["images", "--format", "json"])).unwrap();
    assert_eq!(
        images.as_array().unwrap().len(),
        1,
        "only the busybox fixture"
    );
}

#[test]
fn missing_cni_plugins_are_named_with_the_package() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    let empty = tempfile::tempdir().unwrap();
    let out = env
        .command(&["run", "--rm", "busybox", "true"])
        .env("BERTH_CNI_PLUGIN_DIR", empty.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let (line, _) = error_line(&out);
    assert!(
        line.contains("CNI plugins not found in")
            && line.contains("apt install containernetworking-plugins")
            && line.contains("--network none"),
        "{line}"
    );
    assert!(env.ps().is_empty(), "a container was left");
    assert!(env.cgroups_left().is_empty());
}

#[test]
fn missing_iptables_is_named_with_the_package() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    // A PATH with the usual tools but no iptables (Debian keeps it in sbin).
    let bin = tempfile::tempdir().unwrap();
    for tool in ["sh", "ip", "mount", "umount"] {
        if let Some(p) = ["/usr/bin", "/bin", "/usr/sbin", "/sbin"]
            .iter()
            .map(|d| std::path::Path::new(d).join(tool))
            .find(|p| p.exists())
        {
            std::os::unix::fs::symlink(p, bin.path().join(tool)).unwrap();
        }
    }
    let out = env
        .command(&["run", "--rm", "busybox", "true"])
        .env("PATH", bin.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let (line, _) = error_line(&out);
    assert!(
        line.contains("iptables not found in PATH") && line.contains("apt install iptables"),
        "{line}"
    );
    assert!(env.ps().is_empty(), "a container was left");
}

#[test]
fn a_user_without_subordinate_ids_is_told_what_to_do() {
    require!(is_root(), "switching to another user needs root");
    use std::os::unix::process::CommandExt;
    // nobody has no /etc/subuid entry on a stock Debian machine.
    let subuid = std::fs::read_to_string("/etc/subuid").unwrap_or_default();
    require!(
        !subuid
            .lines()
            .any(|l| l.starts_with("nobody:") || l.starts_with("65534:")),
        "nobody has subordinate ids here"
    );
    // A copy nobody can reach: the build directory may sit under a home
    // directory other users cannot enter.
    use std::os::unix::fs::PermissionsExt;
    let bin_dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(bin_dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let berth = bin_dir.path().join("berth");
    std::fs::copy(engine_env::BERTH, &berth).unwrap();
    // nobody's own home and run directory.
    let home = tempfile::tempdir().unwrap();
    let run = tempfile::tempdir().unwrap();
    for d in [home.path(), run.path()] {
        std::os::unix::fs::chown(d, Some(65534), Some(65534)).unwrap();
    }
    let out = std::process::Command::new(&berth)
        .arg("images")
        .env_clear()
        .env("HOME", home.path())
        .env("XDG_RUNTIME_DIR", run.path())
        .current_dir("/")
        .uid(65534)
        .gid(65534)
        .output()
        .unwrap();
    // The pause process holding nobody's namespace, ended by its pid.
    if let Ok(pid) = std::fs::read_to_string(run.path().join("berth/pause.pid")) {
        if let Ok(pid) = pid.trim().parse::<i32>() {
            // SAFETY: kill(2) on the pid berth just recorded.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    // berth works, with only nobody's own id mapped, and says so once.
    assert!(out.status.success(), "{stderr}");
    assert_eq!(stderr.matches("WARN").count(), 1, "{stderr}");
    assert!(
        stderr.contains("no subordinate ids in /etc/subuid")
            && stderr.contains("usermod --add-subuids"),
        "{stderr}"
    );
    assert!(home.path().join(".local/share/berth/storage").is_dir());
}

/// Unmounts the overlay a test made, even when the test fails.
struct Unmount(std::path::PathBuf);

impl Drop for Unmount {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_store_where_overlay_cannot_work_is_explained() {
    require!(is_root(), "mounting needs root");
    let dir = tempfile::tempdir().unwrap();
    for d in ["lower", "upper", "work", "merged"] {
        std::fs::create_dir(dir.path().join(d)).unwrap();
    }
    let merged = dir.path().join("merged");
    let opts = format!(
        "lowerdir={},upperdir={},workdir={}",
        dir.path().join("lower").display(),
        dir.path().join("upper").display(),
        dir.path().join("work").display()
    );
    let st = std::process::Command::new("mount")
        .args(["-t", "overlay", "overlay", "-o", &opts])
        .arg(&merged)
        .status()
        .unwrap();
    require!(st.success(), "overlayfs mounts");
    let _unmount = Unmount(merged.clone());
    // An overlay store inside an overlay mount: overlay cannot use it as
    // its upper layer.
    let env = Env::new();
    let root = merged.join("store");
    let out = env
        .command(&["images"])
        .args([
            "--root",
            root.to_str().unwrap(),
            "--storage-driver",
            "overlay",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let (line, n) = error_line(&out);
    assert_eq!(n, 1, "{line}");
    assert!(
        line.contains("cannot hold an overlay store") && line.contains("--storage-driver vfs"),
        "{line}"
    );
}
