//! `berth build` end to end: podman's step output, tags, --iidfile, -q,
//! and the built image running under `berth run`.

mod engine_env;

use engine_env::*;

#[test]
fn build_then_run() {
    if !berth_testkit::is_root() {
        eprintln!("SKIP build_then_run: needs root");
        return;
    }
    let env = Env::new();
    let ctx = env.dir.path().join("ctx");
    std::fs::create_dir(&ctx).unwrap();
    std::fs::write(ctx.join("msg.txt"), "built by berth\n").unwrap();
    std::fs::write(
        ctx.join("Containerfile"),
        "FROM busybox\nARG SUFFIX\nCOPY msg.txt /msg.txt\nRUN echo \"$SUFFIX\" >> /msg.txt\nCMD [\"cat\", \"/msg.txt\"]\n",
    )
    .unwrap();
    let iid = env.dir.path().join("iid");
    let ctx_s = ctx.to_str().unwrap();
    let out = env.ok(&[
        "build",
        "-t",
        "built:one",
        "-t",
        "built:two",
        "--build-arg",
        "SUFFIX=ok",
        "--iidfile",
        iid.to_str().unwrap(),
        ctx_s,
    ]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "STEP 1/5: FROM busybox", "{out}");
    assert!(out.contains("STEP 3/5: COPY msg.txt /msg.txt"), "{out}");
    assert!(out.contains("COMMIT built:one"), "{out}");
    assert!(
        out.contains("Successfully tagged localhost/built:two"),
        "{out}"
    );
    let id = lines.last().unwrap().to_string();
    assert_eq!(id.len(), 64, "{out}");
    assert_eq!(
        std::fs::read_to_string(&iid).unwrap(),
        format!("sha256:{id}")
    );
    let ran = env.ok(&["run", "--rm", "built:two"]);
    assert_eq!(ran, "built by berth\nok\n");
    // Fully cached and quiet: only the same id.
    let quiet = env.ok(&[
        "build",
        "-q",
        "-t",
        "built:one",
        "--build-arg",
        "SUFFIX=ok",
        ctx_s,
    ]);
    assert_eq!(quiet.trim(), id);
    // No working container is left to show up anywhere.
    assert!(env.ok(&["builder", "containers", "-q"]).trim().is_empty());
    assert!(!env.ok(&["ps", "-a"]).contains("working-container"));
    // Bad input: one error naming the file and line.
    std::fs::write(ctx.join("Containerfile"), "FROM busybox\nBOGUS x\n").unwrap();
    let out = env.berth(&["build", ctx_s]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("Containerfile:2: unknown instruction: BOGUS"),
        "{err}"
    );
    let out = env.berth(&["build", "--annotation", "a=b", ctx_s]);
    assert!(!out.status.success());
}

mod podman_env;

/// The same Containerfile through `berth build` and `podman build`: the
/// configs agree, and berth's image runs under podman.
#[test]
fn berth_and_podman_build_alike() {
    if !berth_testkit::is_root() || !podman_env::have_podman() {
        eprintln!("SKIP berth_and_podman_build_alike: needs root and podman");
        return;
    }
    let env = Env::new();
    let ctx = env.dir.path().join("ctx");
    std::fs::create_dir(&ctx).unwrap();
    std::fs::write(ctx.join("a.txt"), "alpha\n").unwrap();
    std::fs::write(
        ctx.join("Containerfile"),
        "FROM busybox\nARG WHO=podman\nENV GREETING=\"hello there\" PATH=/bin:/usr/bin\n\
         LABEL one=1 two=\"2 2\"\nWORKDIR /srv\nCOPY a.txt ./\nRUN echo \"$GREETING $WHO\" > said\n\
         EXPOSE 80 53/udp\nUSER 1:2\nSTOPSIGNAL SIGINT\nENTRYPOINT [\"/bin/sh\", \"-c\"]\nCMD [\"cat said a.txt\"]\n",
    )
    .unwrap();
    let ctx_s = ctx.to_str().unwrap();
    env.ok(&["build", "-q", "--format", "docker", "-t", "alike", ctx_s]);
    let archive = env.dir.path().join("alike.tar");
    env.ok(&[
        "save",
        "-q",
        "--format",
        "oci-archive",
        "-o",
        archive.to_str().unwrap(),
        "alike",
    ]);
    let podman = podman_env::Podman::new();
    podman.load_busybox("busybox");
    podman.ok(&["build", "-q", "--network", "none", "-t", "by-podman", ctx_s]);
    podman.ok(&["load", "-q", "-i", archive.to_str().unwrap()]);
    let out = podman.ok(&["run", "--rm", "--network", "none", "localhost/alike"]);
    assert_eq!(out, "hello there podman\nalpha\n");
    let config = |name: &str| -> serde_json::Value {
        let v: serde_json::Value =
            serde_json::from_str(&podman.ok(&["image", "inspect", name])).unwrap();
        v[0]["Config"].clone()
    };
    let (ours, theirs) = (config("localhost/alike"), config("localhost/by-podman"));
    for key in [
        "Env",
        "Entrypoint",
        "Cmd",
        "WorkingDir",
        "User",
        "ExposedPorts",
        "StopSignal",
    ] {
        assert_eq!(
            ours[key], theirs[key],
            "{key}: berth {ours} podman {theirs}"
        );
    }
    for label in ["one", "two"] {
        assert_eq!(
            ours["Labels"][label], theirs["Labels"][label],
            "{ours} {theirs}"
        );
    }
}
