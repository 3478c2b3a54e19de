//! `run`/`create` pull a missing image from a real registry (Debian's
//! docker-registry on 127.0.0.1) as podman 4.3 does: `--pull` policies,
//! short names through registries.conf, `--tls-verify`, `--quiet`, and
//! podman's error for `--pull=never`.

mod common;
mod engine_env;

use berth_testkit::{is_root, require};
use common::{seed_busybox, tools_present, Registry, REGISTRY_BIN};
use engine_env::Env;
use std::process::Output;

fn prerequisites() -> Result<(), String> {
    if !is_root() {
        return Err("needs root".into());
    }
    tools_present(&[REGISTRY_BIN, "skopeo"])
}

/// `env` with a registries.conf searching `reg` (an insecure registry
/// when `insecure`), returned as the global flags to pass first.
fn search_conf(env: &Env, reg: &Registry, insecure: bool) -> String {
    let conf = env.dir.path().join("registries.conf");
    let mut text = format!("unqualified-search-registries = [\"{}\"]\n", reg.addr);
    if insecure {
        text.push_str(&format!(
            "[[registry]]\nlocation = \"{}\"\ninsecure = true\n",
            reg.addr
        ));
    }
    std::fs::write(&conf, text).unwrap();
    conf.display().to_string()
}

fn berth(env: &Env, conf: &str, args: &[&str]) -> Output {
    let mut all = vec!["--registries-conf", conf];
    all.extend_from_slice(args);
    env.berth(&all)
}

fn ok(env: &Env, conf: &str, args: &[&str]) -> (String, String) {
    let out = berth(env, conf, args);
    assert!(
        out.status.success(),
        "berth {args:?}: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn image_id(env: &Env, conf: &str, name: &str) -> String {
    let (out, _) = ok(env, conf, &["inspect", name]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    v[0]["Id"].as_str().unwrap().to_string()
}

#[test]
fn run_pulls_a_missing_short_name_with_podmans_lines() {
    let pre = prerequisites();
    require!(pre.is_ok(), pre.unwrap_err());
    let reg = Registry::plain();
    let layout = seed_busybox(&reg, "lib/box", "1.0");
    let env = Env::new();
    let conf = search_conf(&env, &reg, true);
    // Not in storage: pulled through the search registry, then run. Not on
    // a terminal, podman prints its plain status lines on stderr.
    let (out, err) = ok(&env, &conf, &["run", "--rm", "lib/box:1.0", "echo", "hi"]);
    assert_eq!(out, "hi\n");
    let want = [
        format!("Resolving \"lib/box:1.0\" using unqualified-search registries ({conf})"),
        format!("Trying to pull {}/lib/box:1.0...", reg.addr),
        "Getting image source signatures".to_string(),
        format!("Copying blob {}", layout.layer_digest),
        format!("Copying config {}", layout.config_digest),
        "Writing manifest to image destination".to_string(),
        "Storing signatures".to_string(),
    ];
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines, want, "{err}");
    let name = format!("{}/lib/box:1.0", reg.addr);
    assert_eq!(
        format!("sha256:{}", image_id(&env, &conf, &name)),
        layout.config_digest
    );
    // There now: no pull, nothing on stderr.
    let (out, err) = ok(
        &env,
        &conf,
        &["run", "--rm", "lib/box:1.0", "echo", "again"],
    );
    assert_eq!((out.as_str(), err.as_str()), ("again\n", ""));
    // `create` pulls too; -q keeps it quiet.
    let (out, err) = ok(
        &env,
        &conf,
        &[
            "create",
            "-q",
            "--pull=always",
            "--name",
            "c1",
            "lib/box:1.0",
        ],
    );
    assert_eq!(err, "");
    assert_eq!(out.trim().len(), 64, "{out}");
    ok(&env, &conf, &["rm", "c1"]);
}

#[test]
fn pull_never_and_bad_policy_are_podmans_errors() {
    let pre = prerequisites();
    require!(pre.is_ok(), pre.unwrap_err());
    let reg = Registry::plain();
    seed_busybox(&reg, "lib/box", "1.0");
    let env = Env::new();
    let conf = search_conf(&env, &reg, true);
    for (args, want) in [
        (
            vec!["run", "--rm", "--pull=never", "lib/box:1.0", "true"],
            "Error: lib/box:1.0: image not known\n",
        ),
        (
            vec!["create", "--pull", "never", "nothere"],
            "Error: nothere: image not known\n",
        ),
        (
            vec!["run", "--rm", "--pull=bogus", "busybox", "true"],
            "Error: unsupported pull policy \"bogus\"\n",
        ),
    ] {
        let out = berth(&env, &conf, &args);
        assert_eq!(out.status.code(), Some(125), "{args:?}");
        assert_eq!(String::from_utf8_lossy(&out.stderr), want, "{args:?}");
    }
    // Nothing was pulled or created.
    assert_eq!(env.ps().len(), 0);
    let (images, _) = ok(&env, &conf, &["images", "-q"]);
    assert_eq!(images.lines().count(), 1, "{images}");
    // The local image runs with --pull=never.
    let (out, _) = ok(
        &env,
        &conf,
        &["run", "--rm", "--pull=never", "busybox", "echo", "x"],
    );
    assert_eq!(out, "x\n");
}

#[test]
fn pull_always_and_newer_follow_the_registry() {
    let pre = prerequisites();
    require!(pre.is_ok(), pre.unwrap_err());
    let reg = Registry::plain();
    seed_busybox(&reg, "lib/box", "1.0");
    let env = Env::new();
    let conf = search_conf(&env, &reg, true);
    let name = format!("{}/lib/box:1.0", reg.addr);
    let echo_x = ["sh", "-c", "echo ${X:-none}"];
    let run = |policy: &str| {
        let mut args = vec!["run", "--rm", "-q", policy, "lib/box:1.0"];
        args.extend_from_slice(&echo_x);
        ok(&env, &conf, &args).0
    };
    assert_eq!(run("--pull=missing"), "none\n");
    let first = image_id(&env, &conf, &name);
    // The registry's tag moves to another image (X=changed).
    env.load_image(
        "changed",
        &serde_json::json!({"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "X=changed"]}),
    );
    ok(
        &env,
        &conf,
        &[
            "push",
            "-q",
            "--tls-verify=false",
            "changed",
            &format!("docker://{name}"),
        ],
    );
    // missing keeps the local one; newer sees the other digest and pulls.
    assert_eq!(run("--pull=missing"), "none\n");
    assert_eq!(image_id(&env, &conf, &name), first);
    assert_eq!(run("--pull=newer"), "changed\n");
    let second = image_id(&env, &conf, &name);
    assert_ne!(second, first);
    // Same digest: newer pulls nothing (no progress lines without -q).
    let (out, err) = ok(
        &env,
        &conf,
        &["run", "--rm", "--pull=newer", "lib/box:1.0", "true"],
    );
    assert_eq!((out.as_str(), err.as_str()), ("", ""));
    // The tag moves back: always pulls it.
    ok(
        &env,
        &conf,
        &[
            "push",
            "-q",
            "--tls-verify=false",
            "busybox",
            &format!("docker://{name}"),
        ],
    );
    assert_eq!(run("--pull=always"), "none\n");
    assert_ne!(image_id(&env, &conf, &name), second);
    // The registry gone: newer keeps the local image (podman suppresses
    // pull errors then), always fails and creates nothing.
    drop(reg);
    assert_eq!(run("--pull=newer"), "none\n");
    let out = berth(
        &env,
        &conf,
        &["run", "--rm", "-q", "--pull=always", "lib/box:1.0", "true"],
    );
    assert_eq!(out.status.code(), Some(125));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("connection refused"), "{err}");
    assert_eq!(env.ps().len(), 0);
}

#[test]
fn tls_verify_on_run_reaches_a_plain_http_registry() {
    let pre = prerequisites();
    require!(pre.is_ok(), pre.unwrap_err());
    let reg = Registry::plain();
    seed_busybox(&reg, "lib/box", "1.0");
    let env = Env::new();
    // Searched, but not marked insecure.
    let conf = search_conf(&env, &reg, false);
    let out = berth(&env, &conf, &["run", "--rm", "lib/box:1.0", "true"]);
    assert_eq!(out.status.code(), Some(125));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("server gave HTTP response to HTTPS client (use --tls-verify=false or registries.conf insecure)"),
        "{err}"
    );
    // podman's Resolving and Trying lines, then one error line.
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 3, "{err}");
    assert!(lines[1].starts_with("Trying to pull "), "{err}");
    assert!(lines[2].starts_with("Error: "), "{err}");
    assert_eq!(env.ps().len(), 0);
    let (out, err) = ok(
        &env,
        &conf,
        &[
            "run",
            "--rm",
            "--tls-verify=false",
            "--quiet",
            "lib/box:1.0",
            "echo",
            "ok",
        ],
    );
    assert_eq!((out.as_str(), err.as_str()), ("ok\n", ""));
}
