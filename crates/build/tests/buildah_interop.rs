//! An image built by `buildah bud` is a valid base for berth's FROM:
//! buildah (its own vfs store in the test's directory, RUN under runc)
//! builds from the busybox fixture and writes an oci-archive; berth takes
//! it into its store and builds on it, seeing buildah's file and config.

mod build_env;

use berth_testkit::require;
use build_env::*;
use std::path::Path;
use std::process::Command;

/// `buildah` with a store of its own under `dir`.
fn buildah(dir: &Path) -> Command {
    let mut c = Command::new("buildah");
    c.arg("--root")
        .arg(dir.join("root"))
        .arg("--runroot")
        .arg(dir.join("run"))
        .args(["--storage-driver", "vfs"]);
    c
}

fn ok(c: &mut Command) -> String {
    let out = c.output().expect("running buildah");
    assert!(
        out.status.success(),
        "{c:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn have_buildah() -> bool {
    Command::new("buildah")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn an_image_built_by_buildah_is_a_base_for_from() {
    require!(can_build(), "root with namespaces");
    require!(have_buildah(), "buildah (scripts/install-deps installs it)");
    let _serial = serial();
    let env = Env::new();
    let bud = env.dir.path().join("buildah");
    let ctx = env.dir.path().join("buildah-context");
    std::fs::create_dir_all(&ctx).unwrap();
    std::fs::write(
        ctx.join("Containerfile"),
        "FROM localhost/base\nRUN echo made-by-buildah > /buildah.txt\n\
         ENV FROM_BUILDAH=yes\nLABEL by=buildah\nWORKDIR /srv\n",
    )
    .unwrap();
    // buildah names what it pulls from oci: after the path, which must be
    // lowercase (the temporary directory's name is not).
    let lower = Path::new("/dev/shm").join(berth_testkit::unique_name("berth-buildah-base"));
    berth_testkit::write_oci_layout(&lower, "t").unwrap();
    let layout = format!("oci:{}:t", lower.display());
    let archive = env.dir.path().join("from-buildah.tar");
    let built = || {
        let id = ok(buildah(&bud).args(["pull", "-q", &layout]));
        ok(buildah(&bud).args(["tag", id.trim(), "localhost/base"]));
        ok(buildah(&bud)
            .args(["bud", "-q", "--runtime", "runc", "--isolation", "oci"])
            .args(["--network", "none", "--cgroup-parent", &env.cgroup_parent])
            .args(["-t", "from-buildah"])
            .arg(&ctx));
        ok(buildah(&bud)
            .args(["push", "-q", "localhost/from-buildah"])
            .arg(format!("oci-archive:{}:from-buildah", archive.display())));
    };
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(built));
    // buildah's store is vfs: plain directories, nothing mounted; its
    // images go with the test's directory.
    let _ = buildah(&bud).args(["rmi", "-a", "-f"]).output();
    let _ = std::fs::remove_dir_all(&lower);
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }

    berth_image::copy(
        &env.ctx,
        Some(env.store()),
        &berth_image::ImageRef::OciArchive {
            path: archive,
            reference: Some("from-buildah".into()),
        },
        &berth_image::ImageRef::Storage("from-buildah:latest".into()),
        &berth_image::CopyOptions::default(),
        &berth_image::progress::NoProgress,
    )
    .unwrap();
    let mut opts = env.options(
        "FROM from-buildah\nRUN cat /buildah.txt > seen && echo \"$FROM_BUILDAH\" >> seen && pwd >> seen\n",
    );
    opts.tags = vec!["on-buildah".into()];
    let (id, _) = env.build(&opts).unwrap_or_else(|e| panic!("{e}"));
    // RUN ran in buildah's WORKDIR with its ENV, over its file.
    assert_eq!(
        env.file(&id, "srv/seen").unwrap().0,
        "made-by-buildah\nyes\n/srv\n"
    );
    let cfg = env.config(&id);
    assert_eq!(cfg["config"]["Labels"]["by"], "buildah", "{cfg}");
    assert_eq!(cfg["config"]["WorkingDir"], "/srv", "{cfg}");
    // buildah's layers stay below berth's: busybox, buildah's RUN, ours.
    assert_eq!(env.layer_tars(&id).len(), 3);
    assert_eq!(env.working_containers(), 0);
    assert!(env.mounts().is_empty(), "{:?}", env.mounts());
}
