//! `berth pull` as a podman user sees it: progress lines (bars on a
//! terminal, podman's plain lines otherwise, nothing with -q), errors that
//! say what to do in one line, and a registry whose self-signed
//! certificate is trusted through certs.d, as with skopeo and podman.

mod common;
use berth_testkit::require;
use common::*;
use std::process::{Command, Stdio};

fn prerequisites() -> Result<(), String> {
    if !berth_testkit::is_root() {
        return Err("needs root".into());
    }
    tools_present(&[REGISTRY_BIN, "skopeo", "openssl"])
}

/// The error of a failed `berth args`, which must exit 125 with one
/// error line (after podman's `Trying to pull REF...`, as podman).
fn one_line_error(b: &Berth, args: &[&str]) -> String {
    let out = b.run(args);
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(125), "{args:?}: {err}");
    let lines: Vec<&str> = err
        .lines()
        .filter(|l| !l.starts_with("Trying to pull "))
        .collect();
    assert_eq!(lines.len(), 1, "{args:?}: {err}");
    assert!(lines[0].starts_with("Error: "), "{err}");
    err
}

#[test]
fn plain_http_registry_without_tls_verify_says_what_to_do() {
    let pre = prerequisites();
    require!(pre.is_ok(), pre.unwrap_err());
    let reg = Registry::plain();
    seed_busybox(&reg, "lib/box", "1.0");
    let b = Berth::new();
    let image = format!("{}/lib/box:1.0", reg.addr);
    let err = one_line_error(&b, &["pull", &image]);
    assert!(
        err.contains(&format!("registry {}: server gave HTTP response to HTTPS client (use --tls-verify=false or registries.conf insecure)", reg.addr)),
        "{err}"
    );
    let err = one_line_error(&b, &["inspect", &format!("docker://{image}")]);
    assert!(
        err.contains("server gave HTTP response to HTTPS client"),
        "{err}"
    );
    b.ok(&["pull", "-q", "--tls-verify=false", &image]);
}

#[test]
fn unknown_tag_is_manifest_unknown() {
    let pre = prerequisites();
    require!(pre.is_ok(), pre.unwrap_err());
    let reg = Registry::plain();
    seed_busybox(&reg, "lib/box", "1.0");
    let b = Berth::new();
    let err = one_line_error(
        &b,
        &[
            "pull",
            "--tls-verify=false",
            &format!("{}/lib/box:nope", reg.addr),
        ],
    );
    // podman: "reading manifest nope in 127.0.0.1:PORT/lib/box: manifest unknown"
    assert!(
        err.contains(&format!(
            "reading manifest nope in {}/lib/box: manifest unknown",
            reg.addr
        )),
        "{err}"
    );
}

#[test]
fn refused_connection_names_the_address() {
    let pre = prerequisites();
    require!(pre.is_ok(), pre.unwrap_err());
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    drop(l);
    let b = Berth::new();
    let err = one_line_error(
        &b,
        &["pull", "--tls-verify=false", &format!("{addr}/lib/box:1")],
    );
    assert!(
        err.contains(&format!("registry {addr}: connection refused")),
        "{err}"
    );
}

#[test]
fn pull_progress_lines_bars_and_quiet() {
    let pre = prerequisites();
    require!(pre.is_ok(), pre.unwrap_err());
    require!(
        std::path::Path::new("/usr/bin/script").exists(),
        "script(1) not installed"
    );
    let reg = Registry::plain();
    let layout = seed_busybox(&reg, "lib/box", "1.0");
    let b = Berth::new();
    let image = format!("{}/lib/box:1.0", reg.addr);
    let id = layout
        .config_digest
        .trim_start_matches("sha256:")
        .to_string();
    // Not a terminal: podman 4.3's plain lines on stderr, the id on stdout.
    let out = b.run(&["pull", "--tls-verify=false", &image]);
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout), format!("{id}\n"));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!(
            "Trying to pull {image}...\nGetting image source signatures\nCopying blob {}\nCopying config {}\nWriting manifest to image destination\nStoring signatures\n",
            layout.layer_digest, layout.config_digest
        )
    );
    // -q: the id only.
    b.ok(&["rmi", &image]);
    let out = b.run(&["pull", "-q", "--tls-verify=false", &image]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), format!("{id}\n"));
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
    // On a terminal: bars named as podman names them, and the status lines.
    b.ok(&["rmi", &image]);
    let tty = under_script(&b, &["pull", "--tls-verify=false", &image]);
    let short = &layout.layer_digest.trim_start_matches("sha256:")[..12];
    for want in [
        format!("Trying to pull {image}..."),
        "Getting image source signatures".to_string(),
        format!("Copying blob {short}"),
        "done".to_string(),
        "Writing manifest to image destination".to_string(),
        "Storing signatures".to_string(),
        id.clone(),
    ] {
        assert!(tty.contains(&want), "no {want:?} in {tty:?}");
    }
    b.ok(&["rmi", &image]);
    let tty = under_script(&b, &["pull", "-q", "--tls-verify=false", &image]);
    assert_eq!(tty.trim(), id, "{tty:?}");
}

/// stdout+stderr of `berth args` on a pty of its own (script(1)).
fn under_script(b: &Berth, args: &[&str]) -> String {
    let cmd = b.cmd();
    let line = std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|a| format!("'{}'", a.to_string_lossy()))
        .chain(args.iter().map(|a| format!("'{a}'")))
        .collect::<Vec<_>>()
        .join(" ");
    let mut c = Command::new("script");
    c.args(["-qec", &line, "/dev/null"])
        .stdin(Stdio::null())
        .envs(cmd.get_envs().filter_map(|(k, v)| v.map(|v| (k, v))));
    for (k, v) in cmd.get_envs() {
        if v.is_none() {
            c.env_remove(k);
        }
    }
    let out = c.output().unwrap();
    assert!(out.status.success(), "{args:?} on a pty failed");
    String::from_utf8_lossy(&out.stdout).replace('\r', "")
}

fn self_signed_cert(dir: &std::path::Path, name: &str) {
    let st = Command::new("openssl")
        .args([
            "req", "-newkey", "rsa:2048", "-nodes", "-x509", "-days", "1",
        ])
        .args([
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ])
        .arg("-keyout")
        .arg(dir.join(format!("{name}.key")))
        .arg("-out")
        .arg(dir.join(format!("{name}.crt")))
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(st.success(), "openssl failed");
}

/// A registry over TLS with a certificate that is its own CA, made as
/// Docker's documentation shows; certs.d/ADDR/ca.crt holds it.
fn start_self_signed() -> PinnedTlsRegistry {
    let dir = tempfile::tempdir().unwrap();
    self_signed_cert(dir.path(), "domain");
    PinnedTlsRegistry::serve(dir)
}

#[test]
fn self_signed_certificate_in_certs_d_is_trusted_as_by_skopeo() {
    let pre = prerequisites();
    require!(pre.is_ok(), pre.unwrap_err());
    let reg = start_self_signed();
    let certs = reg.dir.path().join("certs.d");
    let certs_s = certs.to_str().unwrap();
    let image = format!("{}/lib/box:1.0", reg.addr);
    // skopeo pushes and reads it with the same certs.d.
    let layout = tempfile::tempdir().unwrap();
    let fixture = berth_testkit::write_oci_layout(layout.path(), "v1").unwrap();
    run_ok(
        Command::new("skopeo")
            .args(["copy", "-q", "--dest-cert-dir"])
            .arg(certs.join(&reg.addr))
            .arg(format!("oci:{}:v1", layout.path().display()))
            .arg(format!("docker://{image}")),
    );
    let sk = run_ok(
        Command::new("skopeo")
            .args(["inspect", "--cert-dir"])
            .arg(certs.join(&reg.addr))
            .arg(format!("docker://{image}")),
    );
    let sk: serde_json::Value = serde_json::from_str(&sk).unwrap();
    let b = Berth::new();
    let v: serde_json::Value = serde_json::from_str(&b.ok(&[
        "inspect",
        "--cert-dir",
        certs_s,
        &format!("docker://{image}"),
    ]))
    .unwrap();
    assert_eq!(v["Digest"], sk["Digest"]);
    let id = b.ok(&["pull", "-q", "--cert-dir", certs_s, &image]);
    assert_eq!(format!("sha256:{}", id.trim()), fixture.config_digest);
    // Without it, or with another self-signed certificate of the same
    // subject in its place, the certificate is refused.
    let err = b.fails(&["inspect", &format!("docker://{image}")]);
    assert!(err.to_lowercase().contains("certificate"), "{err}");
    let other = tempfile::tempdir().unwrap();
    self_signed_cert(other.path(), "other");
    let other_certs = other.path().join("certs.d");
    std::fs::create_dir_all(other_certs.join(&reg.addr)).unwrap();
    std::fs::copy(
        other.path().join("other.crt"),
        other_certs.join(&reg.addr).join("ca.crt"),
    )
    .unwrap();
    let err = b.fails(&[
        "inspect",
        "--cert-dir",
        other_certs.to_str().unwrap(),
        &format!("docker://{image}"),
    ]);
    assert!(err.to_lowercase().contains("certificate"), "{err}");
    let sk = Command::new("skopeo")
        .args(["inspect", "--cert-dir"])
        .arg(other_certs.join(&reg.addr))
        .arg(format!("docker://{image}"))
        .output()
        .unwrap();
    assert!(!sk.status.success(), "skopeo accepted another certificate");
}
