//! `diff`, `export`, `import`, `commit`, `history` and `image prune` with
//! real containers: what the user sees (podman's lines and JSON), and the
//! artefacts read by others: export's tar by `tar`, committed and imported
//! images run by berth and inspected by skopeo through `save`.

mod engine_env;

use berth_testkit::{is_root, require};
use engine_env::Env;
use serde_json::Value;
use std::io::Write;
use std::process::{Command, Stdio};

fn fail(env: &Env, args: &[&str]) -> String {
    let out = env.berth(args);
    assert_eq!(
        out.status.code(),
        Some(125),
        "berth {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A stopped container `c` that added /added/f, changed /etc/passwd and
/// deleted /etc/group.
fn changed(env: &Env) {
    env.ok(&[
        "run",
        "--name",
        "c",
        "--network",
        "none",
        "busybox",
        "sh",
        "-c",
        "mkdir /added && echo f > /added/f && echo x >> /etc/passwd && rm /etc/group",
    ]);
}

#[test]
fn diff_lists_added_changed_and_deleted_as_podman() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    changed(&env);
    let out = env.ok(&["diff", "c"]);
    let lines: Vec<&str> = out.lines().collect();
    for want in [
        "A /added",
        "A /added/f",
        "C /etc",
        "C /etc/passwd",
        "D /etc/group",
    ] {
        assert!(lines.contains(&want), "{want} missing from\n{out}");
    }
    let mut sorted = lines.clone();
    sorted.sort_by_key(|l| &l[2..]);
    assert_eq!(lines, sorted, "paths in order");
    // JSON: podman's keys, indented by five spaces.
    let json = env.ok(&["diff", "--format", "json", "c"]);
    assert!(
        json.contains("\n     \"changed\": [\n          \"/etc\""),
        "{json}"
    );
    let v: Value = serde_json::from_str(&json).unwrap();
    assert!(v["added"].as_array().unwrap().contains(&"/added/f".into()));
    assert_eq!(v["deleted"], serde_json::json!(["/etc/group"]));
    // The container group's alias; an image's top layer, all added.
    assert_eq!(env.ok(&["container", "diff", "c"]), out);
    let img = env.ok(&["diff", "busybox"]);
    assert!(img.lines().all(|l| l.starts_with("A /")), "{img}");
    assert!(img.contains("A /bin/busybox"), "{img}");
    let e = fail(&env, &["diff", "nosuch"]);
    assert!(e.contains("nosuch not found"), "{e}");
    let e = fail(&env, &["diff", "--format", "yaml", "c"]);
    assert!(e.contains("yaml"), "{e}");
    env.ok(&["rm", "c"]);
}

#[test]
fn export_is_a_tar_of_the_whole_filesystem_and_import_makes_it_an_image() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    changed(&env);
    let dir = tempfile::tempdir().unwrap();
    let tarball = dir.path().join("c.tar");
    env.ok(&["export", "-o", tarball.to_str().unwrap(), "c"]);
    // GNU tar reads it: the container's view, changes included.
    let list = Command::new("tar")
        .arg("-tvf")
        .arg(&tarball)
        .output()
        .unwrap();
    assert!(list.status.success());
    let list = String::from_utf8_lossy(&list.stdout);
    assert!(list.lines().any(|l| l.ends_with(" added/f")), "{list}");
    assert!(list.lines().any(|l| l.ends_with(" bin/busybox")), "{list}");
    assert!(
        !list.lines().any(|l| l.ends_with(" etc/group")),
        "deleted file exported"
    );
    // To stdout, the same entries.
    let out = env.berth(&["export", "c"]);
    assert!(out.status.success());
    let mut a = tar::Archive::new(&out.stdout[..]);
    let names: Vec<String> = a
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().display().to_string())
        .collect();
    assert!(names.iter().any(|n| n == "added/f"), "{names:?}");

    // import: a file, then stdin, with --change and -m.
    let id = env.ok(&[
        "import",
        "--change",
        "CMD [\"cat\", \"/added/f\"]",
        "-c",
        "ENV=FOO=bar",
        "-m",
        "from export",
        tarball.to_str().unwrap(),
        "imported",
    ]);
    assert!(
        id.trim().starts_with("sha256:") && id.trim().len() == 71,
        "{id}"
    );
    assert_eq!(
        env.ok(&["run", "--rm", "--network", "none", "imported"]),
        "f\n"
    );
    assert_eq!(
        env.ok(&[
            "run",
            "--rm",
            "--network",
            "none",
            "imported",
            "sh",
            "-c",
            "echo $FOO"
        ]),
        "bar\n"
    );
    let hist = env.ok(&["history", "--format", "{{.Comment}}", "imported"]);
    assert_eq!(hist, "from export\n");
    let mut child = env
        .command(&["import", "-", "localhost/fromstdin:1"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(&std::fs::read(&tarball).unwrap())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert!(env
        .ok(&["images", "--format", "{{.Repository}}:{{.Tag}}"])
        .contains("localhost/fromstdin:1"));
    // podman's error for a missing file; a bad --change changes nothing.
    let images = env.ok(&["images", "-q"]);
    let e = fail(&env, &["import", "/nonexistent.tar"]);
    assert!(e.contains("error opening \"/nonexistent.tar\""), "{e}");
    let e = fail(
        &env,
        &["import", "-c", "RUN rm -rf /", tarball.to_str().unwrap()],
    );
    assert!(e.contains("valid instructions are"), "{e}");
    assert_eq!(env.ok(&["images", "-q"]), images);
    let e = fail(&env, &["export", "nosuch"]);
    assert!(
        e.contains("no container with name or ID \"nosuch\" found"),
        "{e}"
    );
    env.ok(&["rm", "c"]);
}

#[test]
fn commit_makes_an_image_that_runs_with_the_change_and_skopeo_reads() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    changed(&env);
    let id = env.ok(&[
        "commit",
        "-q",
        "-a",
        "Ann Author",
        "-m",
        "my change",
        "--change",
        "ENV=COMMITTED=yes",
        "--change",
        "LABEL made=commit",
        "c",
        "committed",
    ]);
    let id = id.trim();
    assert_eq!(id.len(), 64, "{id}");
    // The change is in the new image; the base is untouched.
    let out = env.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "committed",
        "sh",
        "-c",
        "cat /added/f; tail -1 /etc/passwd; test -e /etc/group || echo gone; echo $COMMITTED",
    ]);
    assert_eq!(out, "f\nx\ngone\nyes\n");
    assert_eq!(
        env.ok(&[
            "run",
            "--rm",
            "--network",
            "none",
            "busybox",
            "sh",
            "-c",
            "test -e /added || echo clean"
        ]),
        "clean\n"
    );
    let inspect: Value = serde_json::from_str(&env.ok(&["image", "inspect", "committed"])).unwrap();
    assert_eq!(
        inspect[0]["Id"]
            .as_str()
            .unwrap()
            .trim_start_matches("sha256:"),
        id
    );
    // history: the new entry on top, with the image's id and the comment.
    let hist = env.ok(&["history", "committed"]);
    let mut lines = hist.lines();
    let head = lines.next().unwrap();
    for col in ["ID", "CREATED", "CREATED BY", "SIZE", "COMMENT"] {
        assert!(head.contains(col), "{head}");
    }
    let top = lines.next().unwrap();
    assert!(
        top.starts_with(&id[..12]) && top.ends_with("my change"),
        "{hist}"
    );
    assert_eq!(
        env.ok(&["history", "-q", "committed"])
            .lines()
            .next()
            .unwrap(),
        &id[..12]
    );
    assert!(env
        .ok(&["history", "-q", "--no-trunc", "committed"])
        .starts_with(id));
    let json: Value =
        serde_json::from_str(&env.ok(&["history", "--format", "json", "committed"])).unwrap();
    assert_eq!(json[0]["id"], id);
    assert_eq!(json[0]["comment"], "my change");
    assert!(json[0]["size"].as_u64().unwrap() > 0);
    assert!(json[0]["CreatedBy"]
        .as_str()
        .unwrap()
        .contains("rm /etc/group"));

    // save as oci-archive and docker format: skopeo reads both, and the
    // config carries the author, the label and the history entry.
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("c.tar");
    env.ok(&[
        "save",
        "-q",
        "--format",
        "oci-archive",
        "-o",
        archive.to_str().unwrap(),
        "committed",
    ]);
    let sk = Command::new("skopeo")
        .args(["inspect", "--config"])
        .arg(format!("oci-archive:{}", archive.display()))
        .output()
        .unwrap();
    assert!(
        sk.status.success(),
        "{}",
        String::from_utf8_lossy(&sk.stderr)
    );
    let config: Value = serde_json::from_slice(&sk.stdout).unwrap();
    assert_eq!(config["author"], "Ann Author");
    assert_eq!(config["config"]["Labels"]["made"], "commit");
    assert_eq!(config["rootfs"]["diff_ids"].as_array().unwrap().len(), 2);
    assert_eq!(
        config["history"].as_array().unwrap().last().unwrap()["comment"],
        "my change"
    );
    env.ok(&["commit", "-q", "-f", "docker", "c", "committed-docker"]);
    let docker = dir.path().join("d.tar");
    env.ok(&[
        "save",
        "-q",
        "-o",
        docker.to_str().unwrap(),
        "committed-docker",
    ]);
    let sk = Command::new("skopeo")
        .args(["inspect"])
        .arg(format!("docker-archive:{}", docker.display()))
        .output()
        .unwrap();
    assert!(
        sk.status.success(),
        "{}",
        String::from_utf8_lossy(&sk.stderr)
    );

    // A running container commits too; errors are podman's, exit 125.
    env.ok(&[
        "run",
        "-d",
        "--name",
        "r",
        "--network",
        "none",
        "busybox",
        "sh",
        "-c",
        "echo live > /live; sleep 300",
    ]);
    engine_env::eventually("the file is written", || {
        env.berth(&["exec", "r", "cat", "/live"]).status.success()
    });
    env.ok(&["commit", "-q", "r", "fromrunning"]);
    assert_eq!(
        env.ok(&[
            "run",
            "--rm",
            "--network",
            "none",
            "fromrunning",
            "cat",
            "/live"
        ]),
        "live\n"
    );
    // --pause freezes it for the commit and thaws it after (the journal
    // says so), and it runs on.
    env.ok(&["commit", "-q", "--pause", "r", "paused-commit"]);
    let events = env.ok(&[
        "events",
        "--stream=false",
        "--filter",
        "container=r",
        "--format",
        "{{.Status}}",
    ]);
    let order: Vec<&str> = events
        .lines()
        .filter(|l| *l == "pause" || *l == "unpause")
        .collect();
    assert_eq!(order, ["pause", "unpause"], "{events}");
    let state = env.ok(&["inspect", "-f", "{{.State.Status}} {{.State.Paused}}", "r"]);
    assert_eq!(state.trim(), "running false");
    env.ok(&["rm", "-f", "r"]);
    let e = fail(&env, &["commit", "nosuch", "x"]);
    assert!(
        e.contains("no container with name or ID \"nosuch\" found"),
        "{e}"
    );
    let e = fail(&env, &["commit", "-f", "tgz", "c", "x"]);
    assert!(e.contains("tgz"), "{e}");
    let e = fail(&env, &["commit", "--change", "BOGUS x", "c", "x"]);
    assert!(e.contains("valid instructions are"), "{e}");
    env.ok(&["rm", "c"]);
    assert!(env.cgroups_left().is_empty(), "{:?}", env.cgroups_left());
}

#[test]
fn image_prune_removes_dangling_and_with_all_the_unused() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    changed(&env);
    let dangling = env.ok(&["commit", "-q", "c"]);
    let dangling = dangling.trim().to_string();
    let named = env.ok(&["commit", "-q", "--change", "LABEL keep=1", "c", "named"]);
    let named = named.trim().to_string();
    // Without -f it asks, and a no keeps everything.
    let mut child = env
        .command(&["image", "prune"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"n\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("Are you sure you want to continue? [y/N]")
    );
    assert!(env.berth(&["image", "exists", &dangling]).status.success());
    // -f: the dangling one goes; named ones and busybox (in use) stay.
    assert_eq!(env.ok(&["image", "prune", "-f"]), format!("{dangling}\n"));
    assert!(!env.berth(&["image", "exists", &dangling]).status.success());
    assert!(env.berth(&["image", "exists", "named"]).status.success());
    // -a with a label filter that does not match keeps it; then it goes.
    assert_eq!(
        env.ok(&["image", "prune", "-a", "-f", "--filter", "label=keep=2"]),
        ""
    );
    assert_eq!(
        env.ok(&["image", "prune", "-a", "-f", "--filter", "label=keep"]),
        format!("{named}\n")
    );
    // busybox is used by c; once c is gone -a removes it too.
    assert!(env.berth(&["image", "exists", "busybox"]).status.success());
    env.ok(&["rm", "c"]);
    let out = env.ok(&["image", "prune", "-a", "-f"]);
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(!env.berth(&["image", "exists", "busybox"]).status.success());
    let e = fail(&env, &["image", "prune", "-f", "--filter", "bogus=1"]);
    assert!(e.contains("bogus"), "{e}");
}
