//! Pulls say what podman 4.3 says, against a real registry on 127.0.0.1:
//! `Resolving "NAME" using unqualified-search registries (FILE)` for a
//! short name, `Trying to pull REF...` for each candidate, nothing with
//! `-q`; containers.conf's `[engine] pull_policy` is run's default
//! `--pull`; and a certificate trusted by its exact bytes from certs.d is
//! refused once it has expired, as Go's TLS does.

mod common;
mod engine_env;

use berth_testkit::{is_root, require};
use common::{seed_busybox, tools_present, Berth, PinnedTlsRegistry, Registry, REGISTRY_BIN};
use engine_env::Env;
use std::process::{Command, Stdio};

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn short_and_full_names_print_podmans_lines() {
    let pre = tools_present(&[REGISTRY_BIN, "skopeo"]);
    require!(pre.is_ok(), pre.unwrap_err());
    let empty = Registry::plain();
    let reg = Registry::plain();
    seed_busybox(&reg, "lib/box", "1.0");
    let b = Berth::new();
    // Two search registries: the first lacks the image, so both are tried.
    std::fs::write(
        &b.conf,
        format!(
            "unqualified-search-registries = [\"{0}\", \"{1}\"]\n\
             [[registry]]\nlocation = \"{0}\"\ninsecure = true\n\
             [[registry]]\nlocation = \"{1}\"\ninsecure = true\n",
            empty.addr, reg.addr
        ),
    )
    .unwrap();
    let out = b.run(&["pull", "lib/box:1.0"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(
        lines[..3],
        [
            format!(
                "Resolving \"lib/box:1.0\" using unqualified-search registries ({})",
                b.conf.display()
            ),
            format!("Trying to pull {}/lib/box:1.0...", empty.addr),
            format!("Trying to pull {}/lib/box:1.0...", reg.addr),
        ],
        "{err}"
    );
    assert_eq!(lines[3], "Getting image source signatures", "{err}");

    // A full name: no Resolving line, one Trying line.
    let full = format!("{}/lib/box:1.0", reg.addr);
    b.ok(&["rmi", &full]);
    let out = b.run(&["pull", &full]);
    assert!(out.status.success());
    let err = stderr(&out);
    assert_eq!(
        err.lines().next(),
        Some(format!("Trying to pull {full}...").as_str()),
        "{err}"
    );
    assert!(!err.contains("Resolving"), "{err}");

    // -q: nothing but the id.
    b.ok(&["rmi", &full]);
    let out = b.run(&["pull", "-q", "lib/box:1.0"]);
    assert!(out.status.success());
    assert_eq!(stderr(&out), "");

    // A failed pull still says what it tried before the error.
    let out = b.run(&["pull", &format!("{}/lib/nosuch:1", reg.addr)]);
    assert_eq!(out.status.code(), Some(125));
    let err = stderr(&out);
    assert!(
        err.starts_with(&format!("Trying to pull {}/lib/nosuch:1...\n", reg.addr)),
        "{err}"
    );
}

/// `env`'s containers.conf (under its BERTH_CONFIG_ROOT) set to `text`.
fn containers_conf(env: &Env, text: &str) -> std::path::PathBuf {
    let dir = env.dir.path().join("sysconf/etc/containers");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("containers.conf");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn containers_conf_pull_policy_is_runs_default() {
    require!(is_root(), "containers need root");
    let pre = tools_present(&[REGISTRY_BIN, "skopeo"]);
    require!(pre.is_ok(), pre.unwrap_err());
    let reg = Registry::plain();
    seed_busybox(&reg, "lib/box", "1.0");
    let env = Env::new();
    let image = format!("{}/lib/box:1.0", reg.addr);
    let tls = "--tls-verify=false";
    // never: a missing image is not pulled.
    containers_conf(&env, "[engine]\npull_policy = \"never\"\n");
    let out = env.berth(&["run", "--rm", tls, "--network", "none", &image, "true"]);
    assert_eq!(out.status.code(), Some(125), "{}", stderr(&out));
    assert!(stderr(&out).contains("image not known"), "{}", stderr(&out));
    assert!(!stderr(&out).contains("Trying to pull"), "{}", stderr(&out));
    assert_eq!(env.ok(&["images", "-q"]).lines().count(), 1);
    // --pull on the command line wins.
    let out = env.berth(&[
        "run",
        "--rm",
        tls,
        "--pull",
        "missing",
        "--network",
        "none",
        &image,
        "true",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    // always: pulled again though it is there.
    containers_conf(&env, "[engine]\npull_policy = \"always\"\n");
    let out = env.berth(&["run", "--rm", tls, "--network", "none", &image, "true"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).starts_with(&format!("Trying to pull {image}...")),
        "{}",
        stderr(&out)
    );
    // A value berth does not know: an error naming the file, nothing made.
    let path = containers_conf(&env, "[engine]\npull_policy = \"sometimes\"\n");
    let out = env.berth(&["create", "--network", "none", &image, "true"]);
    assert_eq!(out.status.code(), Some(125));
    let err = stderr(&out);
    assert!(
        err.contains(&path.display().to_string()) && err.contains("sometimes"),
        "{err}"
    );
    assert_eq!(env.ok(&["ps", "-a", "-q"]), "");
}

fn start_expired() -> PinnedTlsRegistry {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // openssl req cannot back-date; `openssl ca -selfsign` can.
    std::fs::write(
        d.join("ca.cnf"),
        "[ ca ]\ndefault_ca = expired\n[ expired ]\ndatabase = index.txt\n\
         new_certs_dir = .\nserial = serial\ndefault_md = sha256\npolicy = any\n\
         x509_extensions = leaf\n[ any ]\ncommonName = supplied\n\
         [ leaf ]\nbasicConstraints = critical,CA:TRUE\nsubjectAltName = IP:127.0.0.1\n",
    )
    .unwrap();
    let script = "set -e; touch index.txt; echo 01 > serial; \
        openssl req -new -newkey rsa:2048 -nodes -subj /CN=localhost -keyout domain.key -out domain.csr; \
        openssl ca -batch -config ca.cnf -selfsign -keyfile domain.key -in domain.csr -out domain.crt \
          -startdate 20200101000000Z -enddate 20200102000000Z -notext";
    let st = Command::new("sh")
        .args(["-c", script])
        .current_dir(d)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(st.success(), "openssl failed");
    PinnedTlsRegistry::serve(dir)
}

#[test]
fn an_expired_pinned_certificate_is_refused() {
    let pre = tools_present(&[REGISTRY_BIN, "openssl"]);
    require!(pre.is_ok(), pre.unwrap_err());
    let reg = start_expired();
    let certs = reg.dir.path().join("certs.d");
    let b = Berth::new();
    let image = format!("{}/lib/box:1.0", reg.addr);
    let out = b.run(&["pull", "--cert-dir", certs.to_str().unwrap(), &image]);
    assert_eq!(out.status.code(), Some(125));
    let err = stderr(&out);
    assert!(err.contains("certificate expired"), "{err}");
    assert!(err.contains(&reg.addr), "{err}");
    // Nothing was stored.
    assert_eq!(b.ok(&["images", "-q"]), "");
}
