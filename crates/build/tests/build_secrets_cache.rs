//! What must never reach an image (secrets, build volumes, cache mounts),
//! the layer cache (hits, and a changed file rebuilding from the COPY that
//! uses it), and bit-identical rebuilds with a timestamp.

mod build_env;

use berth_testkit::require;
use build_env::*;

const SECRET: &str = "s3cr3t-planted-7f1c9a";

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[test]
fn secrets_volumes_and_caches_never_reach_the_image() {
    require!(can_build(), "root with namespaces");
    let _serial = serial();
    let env = Env::new();
    let host = env.dir.path().join("host");
    std::fs::create_dir_all(host.join("vol")).unwrap();
    std::fs::write(host.join("secret.txt"), SECRET).unwrap();
    std::fs::write(host.join("vol/v.txt"), SECRET).unwrap();
    let text = "FROM busybox\n\
        RUN --mount=type=secret,id=tok,required cat /run/secrets/tok > /dev/null && test -s /run/secrets/tok\n\
        RUN --mount=type=secret,id=tok,target=/etc/tok wc -c /etc/tok\n\
        RUN --mount=type=cache,target=/cache cp /run/secrets/nothing /x 2>/dev/null; echo $(cat /vol/v.txt) > /cache/c; test -s /cache/c\n\
        RUN --mount=type=tmpfs,target=/scratch echo kept-out > /scratch/t\n\
        RUN echo done > /done.txt\n";
    let mut opts = env.options(text);
    opts.secrets.insert("tok".into(), host.join("secret.txt"));
    opts.volumes.push((host.join("vol"), "/vol".into(), true));
    opts.tags = vec!["secretive".into()];
    let (id, _) = env.build(&opts).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(env.file(&id, "done.txt").unwrap().0, "done\n");
    let tars = env.layer_tars(&id);
    assert!(!tars.is_empty());
    for (i, tar) in tars.iter().enumerate() {
        assert!(!contains(tar, SECRET), "layer {i} holds the secret");
    }
    let config = env.store().image_config(&id).unwrap();
    assert!(!contains(&config, SECRET), "the config holds the secret");
    assert!(!contains(&env.store().image_manifest(&id).unwrap(), SECRET));
    // The cache mount kept its content outside the image, for next time.
    assert!(env.file(&id, "cache/c").is_none());
    assert!(env.file(&id, "scratch/t").is_none());

    // A required secret not given: one error naming the line, nothing left.
    let mut missing = env.options(text);
    missing.tags = vec!["never".into()];
    let err = env.build(&missing).unwrap_err().to_string();
    assert!(
        err.contains("Containerfile:2:") && err.contains("secret \"tok\" is required"),
        "{err}"
    );
    assert_eq!(env.working_containers(), 0);
    assert!(env.store().image("never").is_err());
}

#[test]
fn cache_hits_and_a_changed_file_rebuilds_from_its_copy() {
    require!(can_build(), "root with namespaces");
    let _serial = serial();
    let env = Env::new();
    env.write("a.txt", "a1\n");
    env.write("b.txt", "b1\n");
    let text = "FROM busybox\nCOPY a.txt /a.txt\nRUN cat /a.txt > /ra\nCOPY b.txt /b.txt\nRUN cat /b.txt > /rb\nENV DONE=1\n";
    let opts = env.options(text);
    let (first, out) = env.build(&opts).unwrap_or_else(|e| panic!("{e}"));
    assert!(!out.contains("Using cache"), "{out}");
    let (again, out) = env.build(&opts).unwrap_or_else(|e| panic!("{e}"));
    // Four layer steps and the end state.
    assert_eq!(out.matches("Using cache").count(), 5, "{out}");
    assert_eq!(again, first, "a fully cached rebuild gives the same image");
    assert_eq!(env.file(&again, "rb").unwrap().0, "b1\n");
    // Only b.txt changes: the first COPY and RUN come from the cache.
    env.write("b.txt", "b2\n");
    let (changed, out) = env.build(&opts).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.matches("Using cache").count(), 2, "{out}");
    let lines: Vec<&str> = out.lines().collect();
    let copy_b = lines.iter().position(|l| l.contains("COPY b.txt")).unwrap();
    assert!(
        lines[copy_b + 1].starts_with("--> ") && !lines[copy_b + 1].contains("cache"),
        "{out}"
    );
    assert_eq!(env.file(&changed, "rb").unwrap().0, "b2\n");
    assert_eq!(env.file(&changed, "ra").unwrap().0, "a1\n");
    // A build arg in scope is part of the key; --no-cache reuses nothing.
    let text2 = "FROM busybox\nARG V\nRUN echo $V > /v\n";
    let mut o = env.options(text2);
    o.build_args.insert("V".into(), "one".into());
    env.build(&o).unwrap();
    o.build_args.insert("V".into(), "two".into());
    let (two, out) = env.build(&o).unwrap();
    assert!(!out.contains("Using cache"), "{out}");
    assert_eq!(env.file(&two, "v").unwrap().0, "two\n");
    o.no_cache = true;
    let (_, out) = env.build(&o).unwrap();
    assert!(!out.contains("Using cache"), "{out}");
    assert_eq!(env.working_containers(), 0);
}

#[test]
fn a_timestamp_makes_rebuilds_bit_identical() {
    require!(can_build(), "root with namespaces");
    let _serial = serial();
    let env = Env::new();
    env.write("f.txt", "same\n");
    let text = "FROM busybox\nCOPY f.txt /f.txt\nRUN echo ran > /r\nLABEL l=v\n";
    let mut opts = env.options(text);
    opts.timestamp = Some(1_700_000_000);
    opts.no_cache = true;
    let (one, _) = env.build(&opts).unwrap_or_else(|e| panic!("{e}"));
    let (two, _) = env.build(&opts).unwrap_or_else(|e| panic!("{e}"));
    // The image id is the config digest; the layers and manifest match too.
    assert_eq!(one, two);
    let (m1, m2) = (
        env.store().image_manifest(&one).unwrap(),
        env.store().image_manifest(&two).unwrap(),
    );
    assert_eq!(m1, m2);
    assert_eq!(
        env.store().image(&one).unwrap().manifest_digest,
        env.store().image(&two).unwrap().manifest_digest
    );
    assert_eq!(env.layer_tars(&one), env.layer_tars(&two));
    assert_eq!(env.config(&one)["created"], "2023-11-14T22:13:20Z");
}

#[test]
fn a_cached_copy_from_leaves_no_working_container_and_no_mount() {
    require!(can_build(), "root with namespaces");
    let _serial = serial();
    let env = Env::new();
    let text = "FROM busybox AS build\nRUN echo made > /out.txt\n\
                FROM busybox\nCOPY --from=build /out.txt /copied.txt\n\
                COPY --from=busybox /bin/busybox /bb\n";
    let opts = env.options(text);
    let (first, out) = env.build(&opts).unwrap_or_else(|e| panic!("{e}"));
    assert!(!out.contains("Using cache"), "{out}");
    assert_eq!(env.working_containers(), 0);
    assert_eq!(env.mounts(), Vec::<String>::new());
    let (again, out) = env.build(&opts).unwrap_or_else(|e| panic!("{e}"));
    // Both COPY --from steps are cache hits: neither may leave its
    // source mounted or a container behind.
    assert!(
        out.lines()
            .skip_while(|l| !l.contains("COPY --from=busybox"))
            .nth(1)
            .is_some_and(|l| l.contains("Using cache")),
        "{out}"
    );
    assert_eq!(again, first);
    assert_eq!(env.file(&again, "copied.txt").unwrap().0, "made\n");
    assert_eq!(env.working_containers(), 0);
    assert_eq!(env.mounts(), Vec::<String>::new());
}
