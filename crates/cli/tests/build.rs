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
