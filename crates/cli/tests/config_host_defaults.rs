//! storage.conf and containers.conf as berth reads them: the store's
//! driver and roots (berth's own file gives all three, the containers
//! ecosystem's only a driver preference, podman's graphroot is never
//! berth's), and containers.conf's default capabilities, ulimits and env
//! inside a `berth run` container, below the image and the command line.
//! System paths are under a temporary `$BERTH_CONFIG_ROOT`.

mod engine_env;

use berth_testkit::{is_root, require};
use engine_env::{hermetic_config, Env, BERTH};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// A berth with no `--root`/`--runroot`: storage.conf decides them.
struct Bare {
    dir: tempfile::TempDir,
    layout: PathBuf,
}

impl Bare {
    fn new() -> Bare {
        let dir = tempfile::tempdir_in("/dev/shm").unwrap();
        let layout = dir.path().join("layout");
        berth_testkit::write_oci_layout(&layout, "t").unwrap();
        Bare { dir, layout }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn sys(&self, rel: &str) -> PathBuf {
        self.path("sys").join(rel)
    }

    fn run(&self, args: &[&str], env: &[(&str, &Path)]) -> Output {
        let mut c = Command::new(BERTH);
        hermetic_config(&mut c, &self.path("sys"));
        c.env_remove("BERTH_ROOT").env_remove("BERTH_RUNROOT");
        for (k, v) in env {
            c.env(k, v);
        }
        c.args(args).stdin(Stdio::null()).output().unwrap()
    }

    /// Copy the busybox fixture into whatever store the settings pick.
    fn load(&self, extra: &[&str], env: &[(&str, &Path)]) -> Output {
        let mut args: Vec<&str> = extra.to_vec();
        let src = format!("oci:{}:t", self.layout.display());
        args.extend(["copy", &src, "berth:busybox:latest"]);
        self.run(&args, env)
    }
}

fn ok(out: Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn fails(out: Output) -> String {
    assert!(!out.status.success(), "unexpectedly succeeded");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn driver(root: &Path) -> String {
    std::fs::read_to_string(root.join("driver")).unwrap()
}

#[test]
fn storage_conf_gives_driver_and_roots() {
    require!(is_root(), "storage needs root");
    let b = Bare::new();
    let graphroot = b.path("graph");
    let podman = b.path("podman-graphroot");
    // berth's own file gives everything; podman's only a driver.
    write(
        &b.sys("etc/berth/storage.conf"),
        &format!(
            "[storage]\ndriver = \"vfs\"\ngraphroot = \"{}\"\nrunroot = \"{}\"\n",
            graphroot.display(),
            b.path("run").display()
        ),
    );
    write(
        &b.sys("etc/containers/storage.conf"),
        &format!(
            "[storage]\ndriver = \"overlay\"\ngraphroot = \"{}\"\n",
            podman.display()
        ),
    );
    ok(b.load(&[], &[]));
    assert_eq!(driver(&graphroot), "vfs");
    assert!(graphroot.join("vfs").is_dir());
    assert!(!podman.exists(), "berth wrote into podman's graphroot");
    assert!(ok(b.run(&["images", "--format", "json"], &[])).is_empty());
    // $BERTH_STORAGE_CONF names berth's file elsewhere.
    let moved = b.path("moved.conf");
    let moved_root = b.path("moved-root");
    write(
        &moved,
        &format!("[storage]\ngraphroot = \"{}\"\n", moved_root.display()),
    );
    ok(b.load(&[], &[("BERTH_STORAGE_CONF", &moved)]));
    // No driver in berth's file: podman's preference applies.
    assert_eq!(driver(&moved_root), "overlay");
    // The command line beats berth's file.
    let flag_root = b.path("flag-root");
    ok(b.load(
        &[
            "--root",
            flag_root.to_str().unwrap(),
            "--storage-driver",
            "overlay",
        ],
        &[],
    ));
    assert_eq!(driver(&flag_root), "overlay");
    // ... and so does $BERTH_ROOT.
    let env_root = b.path("env-root");
    ok(b.load(&[], &[("BERTH_ROOT", &env_root)]));
    assert_eq!(driver(&env_root), "vfs");
    assert!(!podman.exists());
}

#[test]
fn containers_storage_conf_is_only_a_driver_preference() {
    require!(is_root(), "storage needs root");
    let b = Bare::new();
    let podman = b.path("podman-graphroot");
    let theirs = b.path("containers-storage.conf");
    write(
        &theirs,
        &format!(
            "[storage]\ndriver = \"vfs\"\ngraphroot = \"{}\"\nrunroot = \"{}\"\n",
            podman.display(),
            b.path("podman-run").display()
        ),
    );
    let via = [("CONTAINERS_STORAGE_CONF", theirs.as_path())];
    let root = b.path("root");
    let root_s = root.to_str().unwrap();
    ok(b.load(&["--root", root_s], &via));
    assert_eq!(driver(&root), "vfs");
    assert!(!podman.exists(), "berth took podman's graphroot");
    assert!(!b.path("podman-run").exists());
    // A store that exists keeps its driver when podman's file changes.
    write(&theirs, "[storage]\ndriver = \"overlay\"\n");
    ok(b.run(&["--root", root_s, "images"], &via));
    assert_eq!(driver(&root), "vfs");
    // A driver berth lacks: a warning, and berth chooses.
    write(&theirs, "[storage]\ndriver = \"btrfs\"\n");
    let err = ok(b.load(&["--root", b.path("r2").to_str().unwrap()], &via));
    assert!(err.contains("btrfs"), "{err}");
    // In berth's own file it is an error naming the file.
    write(
        &b.sys("etc/berth/storage.conf"),
        "[storage]\ndriver = \"btrfs\"\n",
    );
    let err = fails(b.load(&["--root", b.path("r3").to_str().unwrap()], &[]));
    assert!(
        err.contains("etc/berth/storage.conf") && err.contains("btrfs"),
        "{err}"
    );
    assert!(!b.path("r3").exists());
    // So is malformed TOML.
    write(&b.sys("etc/berth/storage.conf"), "[storage\n");
    let err = fails(b.run(&["--root", root_s, "images"], &[]));
    assert!(err.contains("etc/berth/storage.conf"), "{err}");
    std::fs::remove_file(b.sys("etc/berth/storage.conf")).unwrap();
    // podman's own store is refused outright, and left untouched.
    let default_podman = Path::new("/var/lib/containers/storage");
    let existed = default_podman.exists();
    let err = fails(b.run(&["images"], &[("BERTH_ROOT", default_podman)]));
    assert!(err.contains("podman"), "{err}");
    assert_eq!(default_podman.exists(), existed);
}

#[test]
fn containers_conf_defaults_reach_the_container() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    env.load_image(
        "configured",
        &json!({"Env": ["PATH=/bin:/usr/bin", "FROM_IMAGE=image", "OVERRIDE=image"]}),
    );
    // engine_env's commands read system files under this root only.
    let sys = env.dir.path().join("sysconf");
    write(
        &sys.join("usr/share/containers/containers.conf"),
        "[containers]\n\
         default_capabilities = [\"CHOWN\", \"KILL\", \"NET_RAW\"]\n\
         default_ulimits = [\"nofile=512:1024\"]\n\
         env = [\"FROM_CONF=share\", \"FROM_IMAGE=conf\", \"OVERRIDE=conf\"]\n",
    );
    // A drop-in overrides the capabilities only.
    write(
        &sys.join("etc/containers/containers.conf.d/50-caps.conf"),
        "[containers]\ndefault_capabilities = [\"CHOWN\", \"NET_RAW\"]\n",
    );
    // berth's own file overrides the ulimits.
    write(
        &sys.join("etc/berth/containers.conf"),
        "[containers]\ndefault_ulimits = [\"nofile=256:768\", \"nproc=4000:5000\"]\n",
    );
    let script = "grep CapBnd /proc/self/status; echo $FROM_CONF $FROM_IMAGE $OVERRIDE; \
                  ulimit -Sn; ulimit -Hn; ulimit -Su; ulimit -Hu";
    let base = ["run", "--rm", "--network", "none"];
    let run = |extra: &[&str]| {
        let mut args: Vec<&str> = base.to_vec();
        args.extend(extra);
        args.extend(["configured", "sh", "-c", script]);
        env.ok(&args)
    };
    // CAP_CHOWN (bit 0) and CAP_NET_RAW (bit 13).
    assert_eq!(
        run(&[]),
        "CapBnd:\t0000000000002001\nshare image image\n256\n768\n4000\n5000\n"
    );
    // The command line beats them: --env, --ulimit (by name), --cap-add.
    assert_eq!(
        run(&[
            "-e",
            "OVERRIDE=cli",
            "--ulimit",
            "nofile=100:200",
            "--cap-add",
            "SETUID"
        ]),
        "CapBnd:\t0000000000002081\nshare image cli\n100\n200\n4000\n5000\n"
    );
    // $CONTAINERS_CONF replaces the containers files; berth's own still
    // applies on top.
    let only = env.dir.path().join("only.conf");
    write(&only, "[containers]\nenv = [\"FROM_CONF=only\"]\n");
    let mut c = env.command(&[]);
    c.env("CONTAINERS_CONF", &only)
        .args(base)
        .args(["configured", "sh", "-c", script]);
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = String::from_utf8_lossy(&out.stdout);
    // podman's 11 capabilities again: 0x00000000800405fb.
    assert_eq!(
        out,
        "CapBnd:\t00000000800405fb\nonly image image\n256\n768\n4000\n5000\n"
    );
    // A malformed file is one error naming it, and no container is made.
    write(
        &sys.join("etc/containers/containers.conf.d/60-bad.conf"),
        "[containers]\ndefault_ulimits = [\"nofile=lots\"]\n",
    );
    let out = env.berth(&["run", "--rm", "--network", "none", "configured", "true"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("containers.conf.d/60-bad.conf") && err.contains("nofile=lots"),
        "{err}"
    );
    assert_eq!(env.stored_containers(), 0);
}
