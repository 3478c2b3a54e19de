//! Working containers through the build crate's API, with real
//! containers (root): scratch + a static busybox, host tools writing
//! through a mount, mounts whose contents never reach a layer or the
//! config, reproducible commits, the docker-format extras, and bad input
//! that leaves nothing behind or outside.

mod build_env;

use berth_build::{CommitOptions, CopyOptions, Error, FromOptions, RunMount, RunOptions};
use berth_engine::ImageFormat;
use berth_testkit::{is_root, require};
use build_env::Env;

fn from(env: &Env, image: &str) -> String {
    env.builder()
        .from(&FromOptions {
            image: image.into(),
            ..Default::default()
        })
        .unwrap()
        .id
}

fn sh(script: &str) -> RunOptions {
    RunOptions {
        command: vec!["/bin/sh".into(), "-c".into(), script.into()],
        ..Default::default()
    }
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[test]
fn scratch_with_a_static_busybox_runs_and_keeps_no_mountpoints() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    let b = env.builder();
    let wc = b
        .from(&FromOptions {
            image: "scratch".into(),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(wc.name, "working-container");
    b.copy(
        &wc.id,
        &CopyOptions {
            sources: vec![berth_testkit::busybox_path().display().to_string()],
            dest: "/bin/busybox".into(),
            chmod: Some(0o755),
            ..Default::default()
        },
    )
    .unwrap();
    b.run(
        &wc.id,
        &RunOptions {
            command: vec![
                "/bin/busybox".into(),
                "sh".into(),
                "-c".into(),
                "echo ok > /ok".into(),
            ],
            ..Default::default()
        },
    )
    .unwrap();
    // A working container is not a container to run: ps never shows it.
    assert!(env.engine.list().unwrap().is_empty());
    let id = b
        .commit(
            &wc.id,
            &CommitOptions {
                name: Some("scratchy".into()),
                rm: true,
                ..Default::default()
            },
        )
        .unwrap();
    let tars = env.layer_tars(&id);
    assert_eq!(tars.len(), 1);
    let mut names = Env::names(&tars[0]);
    names.sort();
    assert_eq!(
        names,
        ["bin", "bin/busybox", "ok"],
        "mountpoints left in the layer"
    );
    assert!(env.engine.working_containers().unwrap().is_empty());
    assert!(env.mounts().is_empty(), "{:?}", env.mounts());
}

#[test]
fn host_tools_write_through_a_mount() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    let b = env.builder();
    let id = from(&env, "busybox");
    let root = b.mount(&id).unwrap();
    std::fs::write(root.join("from-host.txt"), "host\n").unwrap();
    assert_eq!(b.unmount(&id).unwrap(), 0);
    assert!(env.mounts().is_empty(), "{:?}", env.mounts());
    let image = b.commit(&id, &CommitOptions::default()).unwrap();
    let tars = env.layer_tars(&image);
    assert_eq!(Env::names(tars.last().unwrap()), ["from-host.txt"]);
    // The container stays after a commit without rm, its steps afresh.
    assert_eq!(b.containers().unwrap().len(), 1);
}

#[test]
fn secret_cache_tmpfs_and_volume_contents_never_reach_the_image() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    let b = env.builder();
    let id = from(&env, "busybox");
    let secret = env.dir.path().join("secret");
    std::fs::write(&secret, "SECRET-4f1c9e").unwrap();
    let vol = env.dir.path().join("vol");
    std::fs::create_dir(&vol).unwrap();
    std::fs::write(vol.join("v"), "VOLUME-8d2a").unwrap();
    let mounts = vec![
        RunMount::Secret {
            source: secret.clone(),
            target: "/run/secrets/s".into(),
        },
        RunMount::Cache {
            id: "c1".into(),
            target: "/cache".into(),
        },
        RunMount::Tmpfs {
            target: "/scratch".into(),
            size: None,
        },
        RunMount::Bind {
            source: vol.clone(),
            target: "/vol".into(),
            readonly: true,
        },
    ];
    let script = "cat /run/secrets/s > /scratch/copy && echo CACHE-$((70+7))b1 > /cache/f \
                  && cat /vol/v /etc/hosts /etc/resolv.conf > /dev/null \
                  && test -s /scratch/copy && echo made > /made";
    b.run(
        &id,
        &RunOptions {
            mounts: mounts.clone(),
            ..sh(script)
        },
    )
    .unwrap();
    // The cache persists between runs; the secret mount is read-only.
    // (The commands are the history's: planted strings are not in them.)
    b.run(
        &id,
        &RunOptions {
            mounts: mounts.clone(),
            ..sh("grep -q CACHE-$((70+7))b1 /cache/f && ! echo x 2>/dev/null > /run/secrets/s")
        },
    )
    .unwrap();
    assert_eq!(std::fs::read_to_string(&secret).unwrap(), "SECRET-4f1c9e");
    let image = b
        .commit(
            &id,
            &CommitOptions {
                rm: true,
                ..Default::default()
            },
        )
        .unwrap();
    let config = env.store().image_config(&image).unwrap();
    for tar in env.layer_tars(&image).iter().chain([&config]) {
        for planted in ["SECRET-4f1c9e", "VOLUME-8d2a", "CACHE-77b1"] {
            assert!(!contains(tar, planted), "{planted} reached the image");
        }
    }
    let tars = env.layer_tars(&image);
    let names = Env::names(tars.last().unwrap());
    assert_eq!(names, ["made"], "the run's mounts or etc files leaked");
    assert!(env.mounts().is_empty(), "{:?}", env.mounts());
}

#[test]
fn the_etc_files_a_command_writes_are_kept() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    let b = env.builder();
    let id = from(&env, "busybox");
    b.run(&id, &sh("echo '10.1.2.3 db' >> /etc/hosts")).unwrap();
    let image = b.commit(&id, &CommitOptions::default()).unwrap();
    let tars = env.layer_tars(&image);
    let top = tars.last().unwrap();
    assert_eq!(Env::names(top), ["etc", "etc/hosts"]);
    assert!(contains(top, "10.1.2.3 db"));
    assert!(!Env::names(top).contains(&"etc/resolv.conf".to_string()));
}

/// One build: a RUN and a COPY, committed at `ts`.
fn build_once(env: &Env, ctx: &std::path::Path, ts: i64, squash: bool) -> String {
    let b = env.builder();
    let id = from(env, "busybox");
    b.run(&id, &sh("mkdir -p /d && echo x > /d/f")).unwrap();
    b.copy(
        &id,
        &CopyOptions {
            sources: vec!["src".into()],
            dest: "/app/".into(),
            context: Some(ctx.to_path_buf()),
            ..Default::default()
        },
    )
    .unwrap();
    b.configure(&id, |c| {
        c.set_label("a", "1");
        c.set_label("b", "2");
        c.set_env("E", "v");
        Ok(())
    })
    .unwrap();
    b.commit(
        &id,
        &CommitOptions {
            timestamp: Some(ts),
            squash,
            rm: true,
            ..Default::default()
        },
    )
    .unwrap()
}

#[test]
fn the_same_timestamp_gives_identical_digests() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    let ctx = env.dir.path().join("ctx");
    std::fs::create_dir_all(ctx.join("src/sub")).unwrap();
    std::fs::write(ctx.join("src/sub/file"), "data").unwrap();
    let first = build_once(&env, &ctx, 1_700_000_000, false);
    let (m1, l1) = (
        env.store().image(&first).unwrap().manifest_digest,
        env.layer_tars(&first),
    );
    // A second later: every new file's mtime differs on disk.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let second = build_once(&env, &ctx, 1_700_000_000, false);
    assert_eq!(first, second, "config digests differ");
    assert_eq!(env.store().image(&second).unwrap().manifest_digest, m1);
    assert_eq!(env.layer_tars(&second), l1);
    let config: serde_json::Value =
        serde_json::from_slice(&env.store().image_config(&first).unwrap()).unwrap();
    assert_eq!(config["created"], "2023-11-14T22:13:20Z");
    // Another time, another image.
    let other = build_once(&env, &ctx, 1_700_000_001, false);
    assert_ne!(other, first);
    // Squashed: one layer with the whole root.
    let squashed = build_once(&env, &ctx, 1_700_000_000, true);
    let tars = env.layer_tars(&squashed);
    assert_eq!(tars.len(), 1);
    let names = Env::names(&tars[0]);
    assert!(names.contains(&"bin/busybox".to_string()) && names.contains(&"d/f".to_string()));
    assert!(names.contains(&"app/sub/file".to_string()), "{names:?}");
}

#[test]
fn docker_format_keeps_healthcheck_onbuild_and_shell() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    let b = env.builder();
    let id = from(&env, "busybox");
    b.configure(&id, |c| {
        c.healthcheck = Some(berth_build::Healthcheck {
            test: vec!["CMD-SHELL".into(), "true".into()],
            interval: 30_000_000_000,
            retries: 3,
            ..Default::default()
        });
        c.onbuild.push("RUN echo child".into());
        c.shell = Some(vec!["/bin/sh".into(), "-ec".into()]);
        c.set_stop_signal("SIGINT");
        c.set_entrypoint(vec!["/bin/sh".into(), "-c".into()]);
        c.add_volume("/data")?;
        c.add_history("ENV a=b", true);
        Ok(())
    })
    .unwrap();
    let image = b
        .commit(
            &id,
            &CommitOptions {
                format: ImageFormat::Docker,
                created_by: Some("test layer".into()),
                ..Default::default()
            },
        )
        .unwrap();
    let config: serde_json::Value =
        serde_json::from_slice(&env.store().image_config(&image).unwrap()).unwrap();
    let c = &config["config"];
    assert_eq!(c["Healthcheck"]["Test"][1], "true", "{config}");
    assert_eq!(c["Healthcheck"]["Interval"], 30_000_000_000i64);
    assert_eq!(c["OnBuild"][0], "RUN echo child");
    assert_eq!(c["Shell"][1], "-ec");
    assert_eq!(c["StopSignal"], "SIGINT");
    assert!(c["Volumes"].get("/data").is_some(), "{config}");
    let history = config["history"].as_array().unwrap();
    let n = history.len();
    assert_eq!(history[n - 2]["created_by"], "ENV a=b");
    assert_eq!(history[n - 2]["empty_layer"], true);
    assert_eq!(history[n - 1]["created_by"], "test layer");
    let manifest: serde_json::Value =
        serde_json::from_slice(&env.store().image_manifest(&image).unwrap()).unwrap();
    assert_eq!(
        manifest["mediaType"],
        "application/vnd.docker.distribution.manifest.v2+json"
    );
    // A working container from that image starts with its config.
    let again = b
        .from(&FromOptions {
            image: image.clone(),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(again.config.onbuild, ["RUN echo child"]);
    assert_eq!(again.config.healthcheck.unwrap().retries, 3);
}

#[test]
fn bad_input_is_refused_and_nothing_escapes() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    let b = env.builder();
    let images = env.store().images().unwrap().len();
    let e = b
        .from(&FromOptions {
            image: "no-such-image".into(),
            pull: berth_image::PullPolicy::Never,
            ..Default::default()
        })
        .unwrap_err();
    assert!(matches!(e, Error::Image(_)), "{e}");
    assert!(env.store().containers().unwrap().is_empty());

    let id = from(&env, "busybox");
    // A source leaving the context, lexically or through a symlink.
    let ctx = env.dir.path().join("ctx");
    let outside = env.dir.path().join("outside");
    std::fs::create_dir_all(&ctx).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("host-secret"), "nope").unwrap();
    std::os::unix::fs::symlink(&outside, ctx.join("link")).unwrap();
    for src in ["../outside/host-secret", "link/host-secret", "link"] {
        let e = b
            .copy(
                &id,
                &CopyOptions {
                    sources: vec![src.into()],
                    dest: "/x/".into(),
                    context: Some(ctx.clone()),
                    ..Default::default()
                },
            )
            .unwrap_err();
        assert!(matches!(e, Error::BadSource { .. }), "{src}: {e}");
        assert!(e.to_string().contains("outside the build context"), "{e}");
    }
    // A destination through a symlink the image planted to a host path
    // lands inside the root, never on the host.
    let host_dir = env.dir.path().join("host-target");
    std::fs::create_dir_all(&host_dir).unwrap();
    b.run(&id, &sh(&format!("ln -s {} /esc", host_dir.display())))
        .unwrap();
    std::fs::write(ctx.join("f"), "in").unwrap();
    b.copy(
        &id,
        &CopyOptions {
            sources: vec!["f".into()],
            dest: "/esc/".into(),
            context: Some(ctx.clone()),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(
        std::fs::read_dir(&host_dir).unwrap().count(),
        0,
        "wrote on the host"
    );
    let root = b.mount(&id).unwrap();
    let inside = root.join(host_dir.strip_prefix("/").unwrap()).join("f");
    assert_eq!(std::fs::read_to_string(inside).unwrap(), "in");
    b.unmount(&id).unwrap();
    // A missing command, a failing one: the code in the error.
    let e = b
        .run(
            &id,
            &RunOptions {
                command: vec!["/no/such".into()],
                ..Default::default()
            },
        )
        .unwrap_err();
    assert!(matches!(e, Error::RunFailed { code: 127, .. }), "{e}");
    let e = b.run(&id, &sh("exit 7")).unwrap_err();
    assert!(matches!(e, Error::RunFailed { code: 7, .. }), "{e}");
    assert!(e.to_string().contains("exit code 7"), "{e}");
    // Bad options change nothing.
    let e = b
        .run(
            &id,
            &RunOptions {
                mounts: vec![RunMount::Cache {
                    id: "../up".into(),
                    target: "/c".into(),
                }],
                ..sh("true")
            },
        )
        .unwrap_err();
    assert!(matches!(e, Error::InvalidOption { .. }), "{e}");
    assert!(!env.store().root().join("up").exists());
    b.remove(&id).unwrap();
    assert!(matches!(
        b.commit(&id, &CommitOptions::default()),
        Err(Error::NotFound(_))
    ));
    assert_eq!(
        env.store().images().unwrap().len(),
        images,
        "an image was made"
    );
    assert!(env.store().containers().unwrap().is_empty());
    assert!(env.mounts().is_empty(), "{:?}", env.mounts());
}

/// Serve `body` once per connection on 127.0.0.1 (HTTP/1.0, then close);
/// the port. The thread ends with the test process.
fn serve(body: &'static [u8]) -> u16 {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let mut conn = conn;
            let mut req = [0u8; 4096];
            let _ = conn.read(&mut req);
            let head = format!(
                "HTTP/1.0 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = conn.write_all(head.as_bytes());
            let _ = conn.write_all(body);
        }
    });
    port
}

#[test]
fn add_unpacks_local_tars_fetches_urls_and_copy_sets_owner_and_mode() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    let b = env.builder();
    let id = from(&env, "busybox");
    let ctx = env.dir.path().join("ctx");
    std::fs::create_dir_all(&ctx).unwrap();
    // A gzip tar: ADD unpacks it; COPY would copy the file.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    {
        let mut t = tar::Builder::new(&mut gz);
        let mut h = tar::Header::new_gnu();
        h.set_mode(0o644);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(1);
        h.set_size(6);
        t.append_data(&mut h, "inner/packed.txt", &b"packed"[..])
            .unwrap();
        t.finish().unwrap();
    }
    std::fs::write(ctx.join("a.tar.gz"), gz.finish().unwrap()).unwrap();
    std::fs::write(ctx.join("plain"), "p").unwrap();
    let add = |sources: Vec<String>, dest: &str, add: bool| {
        b.copy(
            &id,
            &CopyOptions {
                sources,
                dest: dest.into(),
                context: Some(ctx.clone()),
                add,
                ..Default::default()
            },
        )
    };
    add(vec!["a.tar.gz".into()], "/unpacked/", true).unwrap();
    add(vec!["a.tar.gz".into()], "/copied/", false).unwrap();
    let port = serve(b"fetched-body");
    add(
        vec![format!("http://127.0.0.1:{port}/dir/got.txt")],
        "/web/",
        true,
    )
    .unwrap();
    let e = add(vec![format!("http://127.0.0.1:{port}/x")], "/web/", false).unwrap_err();
    assert!(matches!(e, Error::BadSource { .. }), "{e}");
    b.copy(
        &id,
        &CopyOptions {
            sources: vec!["plain".into()],
            dest: "/owned".into(),
            context: Some(ctx.clone()),
            chown: Some("1234:4321".into()),
            chmod: Some(0o640),
            ..Default::default()
        },
    )
    .unwrap();
    let e = b
        .copy(
            &id,
            &CopyOptions {
                sources: vec!["plain".into()],
                dest: "/x".into(),
                context: Some(ctx.clone()),
                chown: Some("nosuchuser".into()),
                ..Default::default()
            },
        )
        .unwrap_err();
    assert!(e.to_string().contains("nosuchuser"), "{e}");
    use std::os::unix::fs::MetadataExt;
    let root = b.mount(&id).unwrap();
    assert_eq!(
        std::fs::read_to_string(root.join("unpacked/inner/packed.txt")).unwrap(),
        "packed"
    );
    assert!(root.join("copied/a.tar.gz").is_file());
    let web = root.join("web/got.txt");
    assert_eq!(std::fs::read_to_string(&web).unwrap(), "fetched-body");
    assert_eq!(std::fs::metadata(&web).unwrap().mode() & 0o7777, 0o600);
    let m = std::fs::metadata(root.join("owned")).unwrap();
    assert_eq!((m.uid(), m.gid(), m.mode() & 0o7777), (1234, 4321, 0o640));
    assert!(!root.join("x").exists());
    b.unmount(&id).unwrap();
}

#[test]
fn a_run_on_the_bridge_has_its_interface_and_leaves_no_namespace() {
    require!(is_root(), "containers need root");
    let plugins = ["bridge", "host-local"]
        .iter()
        .all(|p| std::path::Path::new("/usr/lib/cni").join(p).is_file());
    require!(plugins, "CNI's bridge and host-local plugins");
    let env = Env::new();
    let b = env.builder();
    let id = from(&env, "busybox");
    b.run(
        &id,
        &RunOptions {
            network: berth_engine::NetworkMode::Bridge,
            ..sh("test -e /sys/class/net/eth0")
        },
    )
    .unwrap();
    // Without the bridge, no eth0.
    let e = b.run(&id, &sh("test -e /sys/class/net/eth0")).unwrap_err();
    assert!(matches!(e, Error::RunFailed { code: 1, .. }), "{e}");
    let pins: Vec<_> = std::fs::read_dir(env.dir.path().join("run/netns"))
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(pins.is_empty(), "{pins:?}");
}
