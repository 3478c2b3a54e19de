//! Bad Containerfiles and contexts: one clear error naming the file and
//! line, and no working container or image left behind.

mod build_env;

use berth_testkit::require;
use build_env::*;

#[test]
fn bad_input_gives_one_error_and_leaves_nothing() {
    require!(can_build(), "root with namespaces");
    let _serial = serial();
    let env = Env::new();
    env.write("ok.txt", "ok\n");
    let outside = env.dir.path().join("outside.txt");
    std::fs::write(&outside, "outside\n").unwrap();
    std::os::unix::fs::symlink(&outside, env.context().join("link-out")).unwrap();
    let images_before = env.store().images().unwrap().len();
    let cases: &[(&str, &str)] = &[
        ("FROM busybox\nFROBNICATE x\n", "Containerfile:2: unknown instruction: FROBNICATE"),
        ("FROM busybox\nCOPY ../outside.txt /x\n", "Containerfile:2: COPY ../outside.txt /x: \"../outside.txt\" is outside the build context"),
        ("FROM busybox\nRUN true\nCOPY link-out /x\n", "Containerfile:3: COPY link-out /x: \"link-out\" is outside the build context"),
        ("FROM busybox\nCOPY missing.txt /x\n", "Containerfile:2: COPY missing.txt /x: \"missing.txt\": no such file"),
        ("FROM busybox\nRUN --mount=type=secret,id=nope,required true\n", "Containerfile:2: RUN --mount=type=secret,id=nope,required true: secret \"nope\" is required"),
        ("FROM busybox AS a\nCOPY --from=nosuchstage /x /y\n", "Containerfile:2: COPY --from=nosuchstage /x /y:"),
        ("FROM nosuchstage\nRUN true\n", "Containerfile:1: FROM nosuchstage:"),
        ("FROM busybox\nCOPY ok.txt /ok\nRUN echo partial > /p; exit 3\n", "Containerfile:3: RUN echo partial > /p; exit 3: running"),
        ("FROM busybox\nCOPY --exclude=*.md ok.txt /x\n", "Containerfile:2: COPY --exclude=*.md ok.txt /x: --exclude is not supported yet"),
        ("FROM busybox\nRUN true\n", "--target \"nosuch\" names no stage"),
    ];
    for (i, (text, want)) in cases.iter().enumerate() {
        let mut opts = env.options(text);
        opts.tags = vec![format!("bad{i}")];
        if i == cases.len() - 1 {
            opts.target = Some("nosuch".into());
        }
        let err = env.build(&opts).expect_err(text).to_string();
        assert!(err.contains(want), "{text:?}:\n got  {err}\n want {want}");
        assert_eq!(
            env.working_containers(),
            0,
            "{text:?} left a working container"
        );
        assert!(
            env.store().image(&format!("bad{i}")).is_err(),
            "{text:?} left an image"
        );
    }
    // The failing RUN says its exit code.
    let opts = env.options("FROM busybox\nRUN exit 3\n");
    let err = env.build(&opts).unwrap_err().to_string();
    assert!(err.contains("exit code 3"), "{err}");
    // Only the cache images of steps that succeeded (`RUN true`, `COPY
    // ok.txt`) remain, unnamed.
    let images = env.store().images().unwrap();
    assert_eq!(images.len(), images_before + 2, "{images:?}");
    assert_eq!(images.iter().filter(|i| !i.names.is_empty()).count(), 1);
    assert!(env.mounts().is_empty(), "{:?}", env.mounts());
}
