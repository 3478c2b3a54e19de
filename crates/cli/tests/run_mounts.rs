//! `--mount` (with `bind-nonrecursive`), `--volumes-from`, anonymous
//! `-v /path`, `-v …:z` and `-v …:bind` with
//! real containers: what the container sees mounted, what is left after
//! `rm -v`, and podman 4.3's errors for bad `--mount` specs.

mod engine_env;

use berth_testkit::{is_root, require};
use engine_env::Env;

fn volumes(env: &Env) -> Vec<String> {
    env.ok(&["volume", "ls", "-q"])
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn mount_bind_volume_and_tmpfs() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    let host = env.dir.path().join("hostdir");
    std::fs::create_dir(&host).unwrap();
    std::fs::write(host.join("f"), "from host\n").unwrap();
    let bind = format!("type=bind,src={},target=/b,ro", host.display());
    let out = env.ok(&[
        "run",
        "--rm",
        "--mount",
        &bind,
        "--mount",
        "type=volume,source=named,dst=/v",
        "--mount",
        "type=tmpfs,destination=/t,tmpfs-size=1m,tmpfs-mode=700",
        "busybox",
        "sh",
        "-c",
        "cat /b/f; touch /b/x 2>/dev/null || echo ro; echo kept > /v/k; \
         grep ' /t ' /proc/mounts; stat -c %a /t",
    ]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[..2], ["from host", "ro"], "{out}");
    assert!(
        lines[2].starts_with("tmpfs /t tmpfs ") && lines[2].contains("size=1024k"),
        "{out}"
    );
    assert_eq!(lines[3], "700", "{out}");
    // The named volume was made and kept its file.
    assert_eq!(volumes(&env), ["named"]);
    let out = env.ok(&["run", "--rm", "-v", "named:/v", "busybox", "cat", "/v/k"]);
    assert_eq!(out, "kept\n");
}

#[test]
fn anonymous_volumes_and_volumes_from() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    env.ok(&[
        "create",
        "--name",
        "holder",
        "-v",
        "/data",
        "--mount",
        "type=volume,dst=/more",
        "-v",
        "shared:/s:z",
        "busybox",
        "true",
    ]);
    let made = volumes(&env);
    assert_eq!(made.len(), 3, "{made:?}");
    // Another container sees the same volumes, read-only with :ro.
    env.ok(&[
        "run",
        "--rm",
        "--volumes-from",
        "holder",
        "busybox",
        "sh",
        "-c",
        "echo hi > /data/f",
    ]);
    let out = env.ok(&[
        "run",
        "--rm",
        "--volumes-from",
        "holder:ro",
        "busybox",
        "sh",
        "-c",
        "cat /data/f; touch /data/g 2>/dev/null || echo ro",
    ]);
    assert_eq!(out, "hi\nro\n");
    // Those runs did not take the holder's anonymous volumes with them.
    assert_eq!(volumes(&env).len(), 3);
    // rm -v removes the holder's two anonymous volumes, not the named one.
    env.ok(&["rm", "-v", "holder"]);
    assert_eq!(volumes(&env), ["shared"]);
    let out = env.berth(&["run", "--rm", "--volumes-from", "nosuch", "busybox", "true"]);
    assert_eq!(out.status.code(), Some(125));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nosuch"));
}

#[test]
fn bad_mounts_are_podmans_errors_and_leave_nothing() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    let cases = [
        ("type=foo,dst=/x", "invalid filesystem type \"foo\""),
        ("type=bind,src=/tmp", "must set volume destination"),
        ("type=bind,src=/tmp,dst=x", "invalid container path \"x\", must be an absolute path"),
        ("type=bind,src=/tmp,dst=/x,bogus", "bogus: invalid mount option"),
        ("type=tmpfs,src=/a,dst=/x", "source is not supported with tmpfs mounts"),
        ("src=/tmp,dst=/x", "incorrect mount format: should be --mount type=<bind|tmpfs|volume>,[src=<host-dir|volume-name>,]target=<ctr-dir>[,options]"),
    ];
    for (spec, msg) in cases {
        let out = env.berth(&["run", "--rm", "--mount", spec, "busybox", "true"]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(125), "{spec}: {err}");
        assert_eq!(err.trim(), format!("Error: {msg}"), "{spec}");
    }
    assert_eq!(env.stored_containers(), 0);
    assert!(volumes(&env).is_empty());
}

/// A tmpfs mounted at a path for the test's life, unmounted on drop
/// (before the test's directory is removed).
struct TmpfsAt(std::path::PathBuf);

impl TmpfsAt {
    fn mount(path: &std::path::Path) -> TmpfsAt {
        std::fs::create_dir_all(path).unwrap();
        let st = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "tmpfs"])
            .arg(path)
            .status()
            .unwrap();
        assert!(st.success(), "mount tmpfs at {}", path.display());
        TmpfsAt(path.to_path_buf())
    }
}

impl Drop for TmpfsAt {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn bind_nonrecursive_and_the_bind_options_of_v() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    let host = env.dir.path().join("src");
    let _sub = TmpfsAt::mount(&host.join("sub"));
    std::fs::write(host.join("sub/f"), "inner\n").unwrap();
    let src = host.display().to_string();
    let look = "cat /x/sub/f 2>/dev/null || echo none";
    // (how it is asked, what the container sees, inspect's Options and Binds)
    let cases = [
        (
            vec![
                "--mount".to_string(),
                format!("type=bind,src={src},dst=/x,bind-nonrecursive"),
            ],
            "none",
            "bind",
            format!("{src}:/x:bind,rw,rprivate"),
        ),
        (
            vec!["-v".to_string(), format!("{src}:/x:bind")],
            "none",
            "bind",
            format!("{src}:/x:bind,rw,rprivate"),
        ),
        (
            vec!["-v".to_string(), format!("{src}:/x:rbind")],
            "inner",
            "rbind",
            format!("{src}:/x:rbind,rw,rprivate"),
        ),
        (
            vec!["-v".to_string(), format!("{src}:/x")],
            "inner",
            "rbind",
            format!("{src}:/x:rw,rprivate,rbind"),
        ),
    ];
    for (i, (flags, seen, option, bind)) in cases.iter().enumerate() {
        let name = format!("m{i}");
        let mut args = vec!["run", "--name", &name];
        args.extend(flags.iter().map(String::as_str));
        args.extend(["busybox", "sh", "-c", look]);
        assert_eq!(env.ok(&args).trim(), *seen, "{flags:?}");
        let c = env.inspect(&name);
        assert_eq!(
            c["Mounts"][0]["Options"],
            serde_json::json!([option]),
            "{flags:?}"
        );
        assert_eq!(
            c["HostConfig"]["Binds"],
            serde_json::json!([bind]),
            "{flags:?}"
        );
    }
    // podman's refusals; nothing made.
    for (flags, words) in [
        (
            vec!["-v".to_string(), format!("{src}:/x:bind,rbind")],
            "can only specify 1 '[r]bind' option",
        ),
        (
            vec![
                "--mount".to_string(),
                "type=volume,dst=/x,bind-nonrecursive".to_string(),
            ],
            "bind-nonrecursive: invalid mount option",
        ),
    ] {
        let mut args = vec!["create"];
        args.extend(flags.iter().map(String::as_str));
        args.extend(["busybox", "true"]);
        let out = env.berth(&args);
        assert_eq!(out.status.code(), Some(125), "{out:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(words),
            "{out:?}"
        );
    }
    assert_eq!(env.ps().len(), cases.len());
}
