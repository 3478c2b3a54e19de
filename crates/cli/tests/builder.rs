//! `berth builder` (buildah's working containers) with real containers:
//! from → run → copy → config → commit, then `berth run` of the new image
//! shows the file and the config; working containers stay out of `ps`;
//! a failing run passes its exit code on; bad input leaves nothing.

mod engine_env;
mod podman_env;

use berth_testkit::{is_root, require};
use engine_env::Env;

/// Remove every working container of `env` (its Drop only knows `ps`).
fn rm_all(env: &Env) {
    let _ = env.berth(&["builder", "rm", "--all"]);
}

#[test]
fn from_run_copy_config_commit_then_run_the_image() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    let ctr = env.ok(&["builder", "from", "busybox"]);
    let ctr = ctr.trim();
    assert_eq!(ctr, "busybox-working-container");
    // A second one gets buildah's -1.
    let second = env.ok(&["builder", "from", "busybox"]);
    assert_eq!(second.trim(), "busybox-working-container-1");
    env.ok(&["builder", "rm", second.trim()]);
    assert_eq!(
        env.ok(&["ps", "-a", "-q"]).trim(),
        "",
        "a working container in ps -a"
    );
    // podman's --external shows them, as it shows buildah's.
    let ext = env.ok(&[
        "ps",
        "--external",
        "--format",
        "{{.Names}} {{.Status}} {{.Command}}",
    ]);
    assert_eq!(ext.trim(), format!("{ctr} Storage storage"), "{ext}");
    let listed = env.ok(&["builder", "containers", "--noheading"]);
    assert!(
        listed.contains(ctr) && listed.contains("busybox"),
        "{listed}"
    );

    env.ok(&[
        "builder",
        "run",
        ctr,
        "--",
        "sh",
        "-c",
        "echo built > /built.txt",
    ]);
    let hello = env.dir.path().join("hello.txt");
    std::fs::write(&hello, "hello\n").unwrap();
    env.ok(&["builder", "copy", ctr, hello.to_str().unwrap(), "/app/"]);
    env.ok(&[
        "builder",
        "config",
        "--cmd",
        r#"["cat","/built.txt","/app/hello.txt"]"#,
        "--env",
        "GREETING=hi",
        "--label",
        "made.by=berth",
        "--workingdir",
        "/app",
        "--port",
        "8080",
        "--author",
        "tester",
        ctr,
    ]);
    let id = env.ok(&["builder", "commit", "--rm", ctr, "built:1"]);
    assert_eq!(id.trim().len(), 64, "{id}");
    assert_eq!(env.ok(&["builder", "containers", "-q"]).trim(), "");

    assert_eq!(env.ok(&["run", "--rm", "built:1"]), "built\nhello\n");
    let out = env.ok(&[
        "run",
        "--rm",
        "built:1",
        "sh",
        "-c",
        "echo $GREETING; pwd; ls -n /app/hello.txt",
    ]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(&lines[..2], ["hi", "/app"], "{out}");
    // COPY's files belong to root.
    assert!(lines[2].contains(" 0 ") && lines[2].contains("0 "), "{out}");
    let inspect: serde_json::Value =
        serde_json::from_str(&env.ok(&["image", "inspect", "built:1"])).unwrap();
    let c = &inspect[0]["Config"];
    assert_eq!(c["Labels"]["made.by"], "berth", "{inspect}");
    assert!(c["ExposedPorts"].get("8080/tcp").is_some(), "{inspect}");
    assert_eq!(inspect[0]["Author"], "tester", "{inspect}");
}

#[test]
fn a_failing_run_passes_its_code_and_bad_input_leaves_nothing() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    let before = env.stored_containers();
    let e = env.berth(&["builder", "from", "no-such-image"]);
    assert!(!e.status.success());
    assert_eq!(
        env.stored_containers(),
        before,
        "a failed from left a container"
    );
    assert_eq!(env.ok(&["builder", "containers", "-q"]).trim(), "");

    env.ok(&["builder", "from", "--name", "w", "busybox"]);
    let out = env.berth(&["builder", "run", "w", "--", "sh", "-c", "exit 3"]);
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("exit code 3"), "{err}");
    let out = env.berth(&["builder", "run", "w", "--", "/no/such/command"]);
    assert_eq!(out.status.code(), Some(127));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("exit code 127"), "{err}");
    // Nothing of the failed runs is left: no runtime state, no bundle.
    let runs = env.runroot().join("working-runs");
    let left: Vec<_> = std::fs::read_dir(&runs)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "{left:?}");
    assert!(env.cgroups_left().is_empty(), "{:?}", env.cgroups_left());
    let images_before = env.ok(&["images", "-q"]);
    let e = env.berth(&["builder", "commit", "nope", "x:1"]);
    assert!(!e.status.success());
    assert_eq!(env.ok(&["images", "-q"]), images_before);
    env.ok(&["builder", "rm", "w"]);
    assert_eq!(env.stored_containers(), before);
    rm_all(&env);
}

#[test]
fn a_built_image_runs_under_podman_through_an_oci_archive() {
    require!(is_root(), "containers need root");
    require!(podman_env::have_podman(), "podman");
    let env = Env::new();
    let ctr = env.ok(&["builder", "from", "--name", "for-podman", "busybox"]);
    let ctr = ctr.trim();
    env.ok(&[
        "builder",
        "run",
        ctr,
        "--",
        "sh",
        "-c",
        "echo from-berth > /made",
    ]);
    env.ok(&[
        "builder",
        "config",
        "--cmd",
        r#"["cat","/made"]"#,
        "--env",
        "MADE=yes",
        ctr,
    ]);
    // Reproducible from the environment, as buildah reads it.
    let id = env
        .command(&["builder", "commit", "--rm", "-q", "--iidfile"])
        .arg(env.dir.path().join("iid"))
        .args([ctr, "for-podman:1"])
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .output()
        .unwrap();
    assert!(
        id.status.success(),
        "{}",
        String::from_utf8_lossy(&id.stderr)
    );
    let iid = std::fs::read_to_string(env.dir.path().join("iid")).unwrap();
    assert!(iid.starts_with("sha256:"), "{iid}");
    let inspect: serde_json::Value =
        serde_json::from_str(&env.ok(&["image", "inspect", "for-podman:1"])).unwrap();
    assert_eq!(inspect[0]["Created"], "2023-11-14T22:13:20Z", "{inspect}");
    let archive = env.dir.path().join("built.oci.tar");
    env.ok(&[
        "save",
        "-q",
        "--format",
        "oci-archive",
        "-o",
        archive.to_str().unwrap(),
        "for-podman:1",
    ]);
    let podman = podman_env::Podman::new();
    podman.ok(&["load", "-q", "-i", archive.to_str().unwrap()]);
    let out = podman.ok(&["run", "--rm", "--network", "none", "localhost/for-podman:1"]);
    assert_eq!(out, "from-berth\n");
    let out = podman.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "localhost/for-podman:1",
        "sh",
        "-c",
        "echo $MADE",
    ]);
    assert_eq!(out, "yes\n");
}

/// `berth build`'s `RUN --mount=type=cache,target=T` and `builder run
/// --mount type=cache,target=T` name one cache: what one wrote, the other
/// reads (each had made its own id from the target).
#[test]
fn build_and_builder_run_share_a_cache_mount() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    let ctx = env.dir.path().join("ctx");
    std::fs::create_dir(&ctx).unwrap();
    std::fs::write(
        ctx.join("Containerfile"),
        "FROM busybox\nRUN --mount=type=cache,target=/var/cache/shared/x.d \
         echo from-build > /var/cache/shared/x.d/f\n",
    )
    .unwrap();
    env.ok(&["build", "-q", "-t", "cached", ctx.to_str().unwrap()]);
    let ctr = env.ok(&["builder", "from", "busybox"]);
    let ctr = ctr.trim();
    let out = env.berth(&[
        "builder",
        "run",
        "--mount",
        "type=cache,target=/var/cache/shared/x.d",
        ctr,
        "--",
        "cat",
        "/var/cache/shared/x.d/f",
    ]);
    rm_all(&env);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "from-build\n");
}
