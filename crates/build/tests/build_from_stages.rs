//! What a build takes from other stages and images, and what it writes
//! besides the config: `RUN --mount=type=bind,from=STAGE|IMAGE`, `COPY
//! --from=stage` with wildcards, `--annotation` in the manifest.

mod build_env;

use berth_testkit::require;
use build_env::*;

/// Names of every entry in every layer above busybox's.
fn new_entries(env: &Env, id: &str) -> Vec<String> {
    env.layer_tars(id)
        .iter()
        .skip(1)
        .flat_map(|t| Env::names(t))
        .collect()
}

#[test]
fn run_binds_a_stage_and_an_image_read_only() {
    require!(can_build(), "root with namespaces");
    let _serial = serial();
    let env = Env::new();
    let text = "FROM busybox AS tools\n\
                RUN mkdir -p /out && echo made-in-tools > /out/note && ln -s /etc/shadow-of-host /out/away\n\
                FROM busybox\n\
                RUN --mount=type=bind,from=tools,source=/out,target=/in cat /in/note > /seen && \
                    (echo x > /in/new 2>/dev/null && echo writable || echo read-only) > /ro\n\
                RUN --mount=type=bind,from=busybox,source=/bin,target=/other-bin /other-bin/busybox echo image > /from-image\n";
    let mut opts = env.options(text);
    opts.tags = vec!["bound".into()];
    let (id, _) = env.build(&opts).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(env.file(&id, "seen").unwrap().0, "made-in-tools\n");
    assert_eq!(env.file(&id, "ro").unwrap().0, "read-only\n");
    assert_eq!(env.file(&id, "from-image").unwrap().0, "image\n");
    // Mounts, never files: neither target nor its contents in a layer.
    for name in new_entries(&env, &id) {
        assert!(
            !name.starts_with("in") && !name.starts_with("other-bin"),
            "{name} in a layer"
        );
    }
    assert_eq!(env.working_containers(), 0);
    assert!(env.mounts().is_empty(), "{:?}", env.mounts());

    // Cached: the same build reuses every step and mounts nothing.
    let (again, out) = env.build(&opts).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(again, id);
    assert_eq!(out.matches("--> Using cache").count(), 3, "{out}");
    assert!(env.mounts().is_empty(), "{:?}", env.mounts());

    // A source that is a symlink out of the stage resolves inside it
    // (where nothing is): an error, and nothing left.
    let text2 = "FROM busybox AS tools\n\
                 RUN mkdir -p /out && ln -s /etc/shadow-of-host /out/away\n\
                 FROM busybox\n\
                 RUN --mount=type=bind,from=tools,source=/out/away,target=/x cat /x\n";
    let err = env.build(&env.options(text2)).unwrap_err().to_string();
    assert!(
        err.contains("Containerfile:4:") && err.contains("open /out/away in"),
        "{err}"
    );
    assert_eq!(env.working_containers(), 0);
    assert!(env.mounts().is_empty(), "{:?}", env.mounts());

    // rw is refused rather than silently read-only.
    let text3 = "FROM busybox\nRUN --mount=type=bind,from=busybox,target=/x,rw true\n";
    let err = env.build(&env.options(text3)).unwrap_err().to_string();
    assert!(err.contains("read-only here"), "{err}");
}

#[test]
fn copy_from_a_stage_with_wildcards() {
    require!(can_build(), "root with namespaces");
    let _serial = serial();
    let env = Env::new();
    let text = "FROM busybox AS gen\n\
                RUN mkdir -p /out/sub && echo a > /out/a.txt && echo b > /out/b.txt && echo c > /out/c.log \
                    && echo d > /out/sub/d.txt\n\
                FROM busybox\n\
                COPY --from=gen /out/*.txt /dst/\n\
                COPY --from=gen out/s?b /dst/sub/\n";
    let (id, _) = env
        .build(&env.options(text))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(env.file(&id, "dst/a.txt").unwrap().0, "a\n");
    assert_eq!(env.file(&id, "dst/b.txt").unwrap().0, "b\n");
    assert_eq!(env.file(&id, "dst/sub/d.txt").unwrap().0, "d\n");
    assert!(env.file(&id, "dst/c.log").is_none());
    assert!(env.mounts().is_empty(), "{:?}", env.mounts());

    // A wildcard matching nothing is an error naming it; nothing left.
    let text =
        "FROM busybox AS gen\nRUN mkdir /out\nFROM busybox\nCOPY --from=gen /out/*.none /dst/\n";
    let err = env.build(&env.options(text)).unwrap_err().to_string();
    assert!(
        err.contains("Containerfile:4:") && err.contains("*.none"),
        "{err}"
    );
    assert_eq!(env.working_containers(), 0);
    assert!(env.mounts().is_empty(), "{:?}", env.mounts());
}

#[test]
fn annotations_go_to_the_manifest() {
    require!(can_build(), "root with namespaces");
    let _serial = serial();
    let env = Env::new();
    let mut opts = env.options("FROM busybox\nLABEL l=1\n");
    opts.annotations = vec![
        ("org.opencontainers.image.title".into(), "titled".into()),
        ("empty".into(), String::new()),
    ];
    opts.tags = vec!["annotated".into()];
    let (id, _) = env.build(&opts).unwrap_or_else(|e| panic!("{e}"));
    let manifest: serde_json::Value =
        serde_json::from_slice(&env.store().image_manifest(&id).unwrap()).unwrap();
    assert_eq!(
        manifest["annotations"],
        serde_json::json!({"org.opencontainers.image.title": "titled", "empty": ""}),
        "{manifest}"
    );
    // Not in the config (podman's --annotation is the manifest's).
    let cfg = env.config(&id);
    assert!(cfg["config"]["Labels"].get("empty").is_none(), "{cfg}");

    // The same build without them is another image, without annotations;
    // with them again the cached one.
    let mut plain = opts.clone();
    plain.annotations.clear();
    plain.tags = vec!["plain".into()];
    let (other, _) = env.build(&plain).unwrap_or_else(|e| panic!("{e}"));
    assert_ne!(other, id);
    let manifest: serde_json::Value =
        serde_json::from_slice(&env.store().image_manifest(&other).unwrap()).unwrap();
    assert!(manifest.get("annotations").is_none(), "{manifest}");
    let (again, _) = env.build(&opts).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(again, id);
}
