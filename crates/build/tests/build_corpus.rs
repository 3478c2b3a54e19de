//! The Containerfile corpus built for real (root, offline, from the
//! busybox fixture): every instruction's effect on the config and files,
//! ONBUILD triggered by a child build, multi-stage COPY --from.

mod build_env;

use berth_testkit::require;
use build_env::*;
use std::path::Path;

fn corpus(name: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/containerfiles")
            .join(name),
    )
    .unwrap()
}

fn write_tar(path: &Path, name: &str, body: &str) {
    let mut b = tar::Builder::new(std::fs::File::create(path).unwrap());
    let mut h = tar::Header::new_gnu();
    h.set_size(body.len() as u64);
    h.set_mode(0o644);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(0);
    h.set_cksum();
    b.append_data(&mut h, name, body.as_bytes()).unwrap();
    b.finish().unwrap();
}

#[test]
fn every_instruction() {
    require!(can_build(), "root with namespaces");
    let _serial = serial();
    let env = Env::new();
    env.write("greeting.txt", "hi there\n");
    write_tar(
        &env.context().join("archive.tar"),
        "inside.txt",
        "from the tar\n",
    );
    let mut opts = env.options(&corpus("every_instruction.Containerfile"));
    opts.tags = vec!["every:latest".into()];
    opts.build_args.insert("WHO".into(), "tester".into());
    opts.target = Some("base".into());
    let (id, out) = env.build(&opts).unwrap_or_else(|e| panic!("{e}"));
    assert!(out.contains("STEP 1/21: FROM ${BASE} AS base"), "{out}");
    let cfg = env.config(&id);
    let c = &cfg["config"];
    let envs: Vec<&str> = c["Env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(envs.contains(&"GREETING=hello world"), "{envs:?}");
    assert!(envs.contains(&"EMPTY="), "{envs:?}");
    assert!(
        !envs.iter().any(|e| e.starts_with("WHO=")),
        "ARG leaked into Env: {envs:?}"
    );
    assert_eq!(c["Labels"]["org.example.title"], "every instruction");
    assert_eq!(c["Labels"]["version"], "1");
    assert!(
        c["ExposedPorts"].get("8080/tcp").is_some() && c["ExposedPorts"].get("53/udp").is_some(),
        "{c}"
    );
    assert!(c["Volumes"].get("/data").is_some(), "{c}");
    assert_eq!(c["User"], "1000:1000");
    assert_eq!(c["WorkingDir"], "/work");
    assert_eq!(c["StopSignal"], "SIGTERM");
    assert_eq!(c["Entrypoint"], serde_json::json!(["/bin/sh", "-c"]));
    assert_eq!(c["Cmd"], serde_json::json!(["cat /work/said.txt"]));
    // Docker-format extras.
    let hc = &c["Healthcheck"];
    assert_eq!(hc["Test"], serde_json::json!(["CMD", "true"]), "{cfg}");
    assert_eq!(hc["Interval"], 30_000_000_000i64);
    assert_eq!(hc["Retries"], 3);
    assert_eq!(
        c["OnBuild"],
        serde_json::json!(["USER root", "RUN echo triggered > /onbuild.txt"]),
        "{cfg}"
    );
    assert_eq!(c["Shell"], serde_json::json!(["/bin/sh", "-ec"]), "{cfg}");

    let said = env.file(&id, "work/said.txt").expect("said.txt in a layer");
    assert_eq!(said.0, "hello world from tester\n");
    assert_eq!(env.file(&id, "work/exec.txt").unwrap().0, "exec form\n");
    assert_eq!(env.file(&id, "work/heredoc.txt").unwrap().0, "heredoc\n");
    let script = env.file(&id, "work/script.sh").unwrap();
    assert_eq!(script.0, "#!/bin/sh\necho $NOT_EXPANDED\n");
    let greeting = env.file(&id, "work/greeting.txt").unwrap();
    assert_eq!(
        (greeting.0.as_str(), greeting.1 & 0o7777),
        ("hi there\n", 0o644)
    );
    assert_eq!(
        env.file(&id, "unpacked/inside.txt").unwrap().0,
        "from the tar\n"
    );
    assert_eq!(env.working_containers(), 0);

    // A child build runs the ONBUILD trigger and does not inherit it.
    let mut child = env.options("FROM every:latest\nRUN test -f /onbuild.txt\n");
    child.tags = vec!["child".into()];
    let (child_id, _) = env.build(&child).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(env.file(&child_id, "onbuild.txt").unwrap().0, "triggered\n");
    assert!(
        env.config(&child_id)["config"]["OnBuild"].is_null()
            || env.config(&child_id)["config"]["OnBuild"] == serde_json::json!([])
    );
}

#[test]
fn multi_stage_copy_from_and_scratch() {
    require!(can_build(), "root with namespaces");
    let _serial = serial();
    let env = Env::new();
    let text = "FROM busybox AS build\nRUN echo built > /out.txt\n\
                FROM busybox AS unused\nRUN exit 1\n\
                FROM scratch\nCOPY --from=build /out.txt /copied.txt\nCOPY --from=busybox /bin/busybox /busybox\n";
    let mut opts = env.options(text);
    opts.tags = vec!["multi".into(), "multi:second".into()];
    let (id, out) = env.build(&opts).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        out.contains("[1/2] STEP 1/2: FROM busybox AS build"),
        "{out}"
    );
    assert!(!out.contains("exit 1"), "the unused stage ran: {out}");
    assert_eq!(env.file(&id, "copied.txt").unwrap().0, "built\n");
    assert!(env.file(&id, "busybox").is_some());
    // The image has one layer: the scratch stage's.
    assert_eq!(env.layer_tars(&id).len(), 1);
    let img = env.store().image(&id).unwrap();
    assert!(
        img.names.iter().any(|n| n.ends_with("multi:second")),
        "{:?}",
        img.names
    );
    assert_eq!(env.working_containers(), 0);
}

#[test]
fn squash_labels_and_docker_format() {
    require!(can_build(), "root with namespaces");
    let _serial = serial();
    let env = Env::new();
    env.write("f.txt", "f\n");
    let mut opts = env.options("FROM busybox\nCOPY f.txt /f.txt\nRUN echo r > /r\n");
    opts.squash = true;
    opts.labels = vec![("from.cli".into(), "yes".into())];
    opts.format = berth_engine::ImageFormat::Docker;
    opts.tags = vec!["squashed".into()];
    let (id, _) = env.build(&opts).unwrap_or_else(|e| panic!("{e}"));
    // One layer holding the whole root: busybox and both steps' files.
    assert_eq!(env.layer_tars(&id).len(), 1);
    assert!(env.file(&id, "f.txt").is_some() && env.file(&id, "r").is_some());
    assert!(env.file(&id, "bin/busybox").is_some());
    let cfg = env.config(&id);
    assert_eq!(cfg["config"]["Labels"]["from.cli"], "yes", "{cfg}");
    let manifest: serde_json::Value =
        serde_json::from_slice(&env.store().image_manifest(&id).unwrap()).unwrap();
    assert_eq!(
        manifest["mediaType"],
        "application/vnd.docker.distribution.manifest.v2+json"
    );
    assert_eq!(env.working_containers(), 0);
}

#[test]
fn a_heredoc_with_a_shebang_runs_as_a_program() {
    require!(can_build(), "root with namespaces");
    let _serial = serial();
    let env = Env::new();
    // busybox's `cat` as the interpreter: it prints the script itself.
    let text = "FROM busybox\nRUN <<EOF\n#!/bin/cat\nline two\nEOF\nRUN <<EOF\n#!/bin/sh\necho \"$0\" > /ran-as\nEOF\n";
    let (id, _) = env
        .build(&env.options(text))
        .unwrap_or_else(|e| panic!("{e}"));
    let ran = env.file(&id, "ran-as").unwrap().0;
    assert!(ran.starts_with("/run/berth-heredoc-"), "{ran}");
    // The program was bound in, never written to the root.
    for tar in env.layer_tars(&id).iter().skip(1) {
        let mut a = tar::Archive::new(tar.as_slice());
        for e in a.entries().unwrap() {
            let e = e.unwrap();
            let p = e.path().unwrap().to_string_lossy().into_owned();
            assert!(!p.contains("berth-heredoc"), "{p} in a layer");
        }
    }
}
