//! The containers ecosystem's registry-side files, as berth reads them
//! against a real registry on 127.0.0.1: policy.json (reject,
//! insecureAcceptAnything by scope, signedBy refused), registries.conf with
//! its drop-ins and berth's own file on top, and the auth.json look-up
//! order. Every path is under a temporary directory: system paths through
//! `$BERTH_CONFIG_ROOT`, the user's through `$HOME`.

mod common;
use berth_testkit::require;
use common::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn prerequisites() -> Result<(), String> {
    if !berth_testkit::is_root() {
        return Err("needs root".into());
    }
    tools_present(&[REGISTRY_BIN, "skopeo", "openssl", "htpasswd"])
}

/// A berth with its own store, system config root and home.
struct Sandbox {
    dir: tempfile::TempDir,
}

impl Sandbox {
    fn new() -> Sandbox {
        Sandbox {
            dir: tempfile::tempdir_in(scratch()).unwrap(),
        }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Write `text` at `rel` (`sys/etc/...` for system files, `home/...`).
    fn write(&self, rel: &str, text: &str) -> PathBuf {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
        p
    }

    fn root(&self) -> PathBuf {
        self.path("root")
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(berth_bin());
        for var in [
            "CONTAINERS_CONF",
            "CONTAINERS_CONF_OVERRIDE",
            "CONTAINERS_REGISTRIES_CONF",
            "CONTAINERS_STORAGE_CONF",
            "BERTH_CONTAINERS_CONF",
            "BERTH_STORAGE_CONF",
            "BERTH_SIGNATURE_POLICY",
            "BERTH_STORAGE_DRIVER",
            "BERTH_REGISTRIES_CONF",
            "BERTH_AUTH_FILE",
            "REGISTRY_AUTH_FILE",
            "XDG_CONFIG_HOME",
            "DOCKER_CONFIG",
            "BERTH_ROOT",
            "BERTH_RUNROOT",
        ] {
            c.env_remove(var);
        }
        // The session auth file is under XDG_RUNTIME_DIR, else /run/containers.
        c.env("BERTH_CONFIG_ROOT", self.path("sys"))
            .env("HOME", self.path("home"))
            .env("XDG_RUNTIME_DIR", self.path("session"))
            .arg("--root")
            .arg(self.root())
            .arg("--runroot")
            .arg(self.path("run"))
            .args(args);
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "berth {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            !out.status.success(),
            "berth {args:?} unexpectedly succeeded: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8(out.stderr).unwrap()
    }

    /// Entries in a store directory (`images`, `layers`), lock files and
    /// hidden files aside.
    fn stored(&self, what: &str) -> usize {
        std::fs::read_dir(self.root().join(what))
            .map(|d| {
                d.flatten()
                    .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
                    .count()
            })
            .unwrap_or(0)
    }
}

/// A registry whose `[[registry]]` entry (insecure: plain HTTP) comes from
/// a drop-in under the sandbox's /etc/containers/registries.conf.d.
fn plain_registry(s: &Sandbox) -> Registry {
    let reg = Registry::plain();
    s.write(
        "sys/etc/containers/registries.conf",
        "unqualified-search-registries = []\n",
    );
    s.write(
        "sys/etc/containers/registries.conf.d/50-local.conf",
        &format!(
            "[[registry]]\nlocation = \"{}\"\ninsecure = true\n",
            reg.addr
        ),
    );
    reg
}

const REJECT: &str = r#"{"default": [{"type": "reject"}]}"#;

#[test]
fn reject_refuses_pull_and_copy_and_writes_nothing() {
    let pre = prerequisites();
    require!(pre.is_ok(), pre.unwrap_err());
    let s = Sandbox::new();
    let reg = plain_registry(&s);
    seed_busybox(&reg, "lib/busybox", "1.0");
    let policy = s.write("sys/etc/containers/policy.json", REJECT);
    let image = format!("{}/lib/busybox:1.0", reg.addr);
    let err = s.fails(&["pull", "-q", &image]);
    assert!(
        err.contains("rejected by the signature policy")
            && err.contains(&format!("docker://{image}"))
            && err.contains(&policy.display().to_string()),
        "{err}"
    );
    assert_eq!(s.stored("images"), 0, "a rejected pull stored an image");
    assert_eq!(s.stored("layers"), 0, "a rejected pull stored a layer");
    // copy: the destination is never created.
    let out = s.path("out");
    let err = s.fails(&[
        "copy",
        &format!("docker://{image}"),
        &format!("oci:{}:x", out.display()),
    ]);
    assert!(err.contains("rejected by the signature policy"), "{err}");
    assert!(!out.exists(), "a rejected copy wrote its destination");
    // Into storage through copy: nothing either.
    let err = s.fails(&["copy", &format!("docker://{image}"), "berth:mine:1"]);
    assert!(err.contains("rejected"), "{err}");
    assert_eq!(s.stored("images"), 0);
    // A local source is checked too: oci: layouts under a rejected scope.
    let layout = s.path("layouts/app");
    berth_testkit::write_oci_layout(&layout, "t").unwrap();
    s.write(
        "sys/etc/containers/policy.json",
        &format!(
            r#"{{"default": [{{"type": "insecureAcceptAnything"}}],
                "transports": {{"oci": {{"{}": [{{"type": "reject"}}]}}}}}}"#,
            s.path("layouts").display()
        ),
    );
    let err = s.fails(&[
        "copy",
        &format!("oci:{}:t", layout.display()),
        "berth:app:1",
    ]);
    assert!(err.contains("oci:") && err.contains("scope"), "{err}");
    assert_eq!(s.stored("layers"), 0);
}

#[test]
fn a_scope_accepting_anything_overrides_a_default_reject() {
    let pre = prerequisites();
    require!(pre.is_ok(), pre.unwrap_err());
    let s = Sandbox::new();
    let reg = plain_registry(&s);
    seed_busybox(&reg, "lib/busybox", "1.0");
    seed_busybox(&reg, "other/busybox", "1.0");
    s.write(
        "sys/etc/containers/policy.json",
        &format!(
            r#"{{"default": [{{"type": "reject"}}],
                "transports": {{"docker": {{
                    "": [{{"type": "reject"}}],
                    "{0}/lib": [{{"type": "insecureAcceptAnything"}}],
                    "{0}/lib/busybox:2.0": [{{"type": "reject"}}]
                }}}}}}"#,
            reg.addr
        ),
    );
    s.ok(&["pull", "-q", &format!("{}/lib/busybox:1.0", reg.addr)]);
    assert_eq!(s.stored("images"), 1);
    // Another namespace of the same registry: still the default.
    let err = s.fails(&["pull", "-q", &format!("{}/other/busybox:1.0", reg.addr)]);
    assert!(err.contains("rejected"), "{err}");
    // A more specific scope (the tag) beats the namespace.
    let err = s.fails(&["pull", "-q", &format!("{}/lib/busybox:2.0", reg.addr)]);
    assert!(
        err.contains(&format!("scope \"{}/lib/busybox:2.0\"", reg.addr)),
        "{err}"
    );
    // Short names: each candidate is checked; the refused ones are skipped,
    // and when all are refused the refusal is the error.
    s.write(
        "sys/etc/containers/registries.conf",
        &format!(
            "unqualified-search-registries = [\"registry.invalid\", \"{}\"]\n",
            reg.addr
        ),
    );
    s.ok(&["pull", "-q", "lib/busybox:1.0"]);
    let err = s.fails(&["pull", "-q", "other/busybox:1.0"]);
    assert!(
        err.contains("rejected by the signature policy") && !err.contains("not found"),
        "{err}"
    );
    // The user's policy.json comes before the system's.
    s.write(
        "home/.config/containers/policy.json",
        r#"{"default": [{"type": "insecureAcceptAnything"}]}"#,
    );
    s.ok(&["pull", "-q", &format!("{}/other/busybox:1.0", reg.addr)]);
    // --signature-policy comes before both.
    let flag = s.write("flag-policy.json", REJECT);
    let err = s.fails(&[
        "pull",
        "-q",
        "--signature-policy",
        flag.to_str().unwrap(),
        &format!("{}/other/busybox:1.0", reg.addr),
    ]);
    assert!(err.contains("flag-policy.json"), "{err}");
}

#[test]
fn signed_by_is_refused_with_a_clear_message() {
    let pre = prerequisites();
    require!(pre.is_ok(), pre.unwrap_err());
    let s = Sandbox::new();
    let reg = plain_registry(&s);
    seed_busybox(&reg, "lib/busybox", "1.0");
    let policy = s.write(
        "signed.json",
        &format!(
            r#"{{"default": [{{"type": "insecureAcceptAnything"}}],
                "transports": {{"docker": {{"{}": [
                    {{"type": "signedBy", "keyType": "GPGKeys", "keyPath": "/nonexistent/key.gpg"}}
                ]}}}}}}"#,
            reg.addr
        ),
    );
    let err = s.fails(&[
        "pull",
        "-q",
        "--signature-policy",
        policy.to_str().unwrap(),
        &format!("{}/lib/busybox:1.0", reg.addr),
    ]);
    assert!(
        err.contains("signedBy") && err.contains("cannot verify image signatures"),
        "{err}"
    );
    assert_eq!(s.stored("images"), 0);
    assert_eq!(s.stored("layers"), 0);
    // A malformed policy is one error naming the file.
    let bad = s.write("bad.json", r#"{"default": [{"type": "acceptAll"}]}"#);
    let err = s.fails(&[
        "pull",
        "-q",
        "--signature-policy",
        bad.to_str().unwrap(),
        &format!("{}/lib/busybox:1.0", reg.addr),
    ]);
    assert!(
        err.contains(&bad.display().to_string()) && err.contains("acceptAll"),
        "{err}"
    );
    // ... and only pulls and copies read it.
    s.ok(&["images"]);
}

#[test]
fn registries_conf_drop_ins_and_berths_own_file() {
    let pre = prerequisites();
    require!(pre.is_ok(), pre.unwrap_err());
    let s = Sandbox::new();
    let reg = Registry::plain();
    seed_busybox(&reg, "lib/busybox", "1.0");
    // The main file searches a registry that does not exist; a drop-in
    // replaces the list and marks ours insecure; berth's own adds an alias.
    s.write(
        "sys/etc/containers/registries.conf",
        "unqualified-search-registries = [\"registry.invalid\"]\n",
    );
    s.write(
        "sys/etc/containers/registries.conf.d/50-local.conf",
        &format!(
            "unqualified-search-registries = [\"{0}\"]\n[[registry]]\nlocation = \"{0}\"\ninsecure = true\n",
            reg.addr
        ),
    );
    s.write(
        "sys/etc/berth/registries.conf",
        &format!("[aliases]\n\"mybox\" = \"{}/lib/busybox\"\n", reg.addr),
    );
    s.ok(&["pull", "-q", "lib/busybox:1.0"]);
    s.ok(&["pull", "-q", "mybox:1.0"]);
    let list: serde_json::Value =
        serde_json::from_str(&s.ok(&["images", "--format", "json"])).unwrap();
    assert_eq!(
        list[0]["Names"][0],
        format!("{}/lib/busybox:1.0", reg.addr).as_str()
    );
    // A user's registries.conf stands for the system's and its drop-ins:
    // the insecure entry is gone, so plain HTTP is refused.
    s.write(
        "home/.config/containers/registries.conf",
        &format!("unqualified-search-registries = [\"{}\"]\n", reg.addr),
    );
    let err = s.fails(&["pull", "-q", "lib/busybox:1.0"]);
    assert!(!err.is_empty());
    // --registries-conf is the only file read.
    let only = s.write(
        "only.conf",
        &format!(
            "unqualified-search-registries = []\n[[registry]]\nlocation = \"{}\"\ninsecure = true\n",
            reg.addr
        ),
    );
    s.ok(&[
        "pull",
        "-q",
        "--registries-conf",
        only.to_str().unwrap(),
        &format!("{}/lib/busybox:1.0", reg.addr),
    ]);
    let err = s.fails(&[
        "pull",
        "-q",
        "--registries-conf",
        only.to_str().unwrap(),
        "mybox:1.0",
    ]);
    assert!(err.contains("mybox"), "{err}");
}

fn auth_json(user: &str, password: &str, addr: &str) -> String {
    let token = Command::new("sh")
        .args(["-c", &format!("printf %s '{user}:{password}' | base64 -w0")])
        .output()
        .unwrap()
        .stdout;
    format!(
        r#"{{"auths": {{"{addr}": {{"auth": "{}"}}}}}}"#,
        String::from_utf8(token).unwrap()
    )
}

#[test]
fn auth_files_are_read_in_podmans_order() {
    let pre = prerequisites();
    require!(pre.is_ok(), pre.unwrap_err());
    let reg = Registry::start(RegistryOpts {
        tls: true,
        htpasswd: Some(("alice", "s3cret")),
    });
    let certs = reg.certs_dir.clone().unwrap();
    let layout = tempfile::tempdir().unwrap();
    berth_testkit::write_oci_layout(layout.path(), "v1").unwrap();
    run_ok(
        Command::new("skopeo")
            .args([
                "copy",
                "-q",
                "--dest-creds",
                "alice:s3cret",
                "--dest-cert-dir",
            ])
            .arg(certs.join(&reg.addr))
            .arg(format!("oci:{}:v1", layout.path().display()))
            .arg(format!("docker://{}/secure/busybox:v1", reg.addr)),
    );
    let s = Sandbox::new();
    let image = format!("{}/secure/busybox:v1", reg.addr);
    let certs = certs.to_str().unwrap();
    let inspect = |s: &Sandbox, extra: &[(&str, &Path)]| {
        let mut c = s.cmd(&["inspect", "--cert-dir", certs, &format!("docker://{image}")]);
        for (k, v) in extra {
            c.env(k, v);
        }
        c.output().unwrap()
    };
    let good = auth_json("alice", "s3cret", &reg.addr);
    let wrong = auth_json("alice", "wrong", &reg.addr);
    // docker's file alone.
    s.write("home/.docker/config.json", &good);
    assert!(inspect(&s, &[]).status.success());
    // podman's per-user file comes before docker's.
    s.write("home/.config/containers/auth.json", &wrong);
    assert!(!inspect(&s, &[]).status.success());
    s.write("home/.config/containers/auth.json", &good);
    assert!(inspect(&s, &[]).status.success());
    // The session file ($XDG_RUNTIME_DIR) comes first of all.
    let xdg = s.path("xdg");
    s.write("xdg/containers/auth.json", &wrong);
    assert!(!inspect(&s, &[("XDG_RUNTIME_DIR", &xdg)]).status.success());
    s.write("xdg/containers/auth.json", &good);
    assert!(inspect(&s, &[("XDG_RUNTIME_DIR", &xdg)]).status.success());
    // A file the user names is the only one read.
    let named = s.write("named.json", r#"{"auths": {}}"#);
    let out = inspect(&s, &[("REGISTRY_AUTH_FILE", &named)]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("authentication") || err.contains("401"),
        "{err}"
    );
    let out = s
        .cmd(&[
            "--authfile",
            named.to_str().unwrap(),
            "inspect",
            "--cert-dir",
            certs,
            &format!("docker://{image}"),
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    s.write("named.json", &good);
    assert!(inspect(&s, &[("REGISTRY_AUTH_FILE", &named)])
        .status
        .success());
}
