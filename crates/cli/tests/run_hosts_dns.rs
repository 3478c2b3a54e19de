//! `--add-host`, `--dns`, `--dns-search`, `--dns-option`, `--no-hosts`,
//! `--cidfile` and `--replace` with real containers: what the container
//! sees in /etc/hosts and /etc/resolv.conf, and podman 4.3's errors.

mod engine_env;

use berth_testkit::{is_root, require};
use engine_env::Env;

#[test]
fn add_host_and_dns_reach_the_containers_files() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    let out = env.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--hostname",
        "hh",
        "--add-host",
        "foo:1.2.3.4",
        "--add-host",
        "bar:::1",
        "--dns",
        "9.9.9.9,1.1.1.1",
        "--dns-search",
        ".",
        "--dns-option",
        "ndots:2",
        "busybox",
        "sh",
        "-c",
        "cat /etc/hosts; echo ---; cat /etc/resolv.conf",
    ]);
    let (hosts, resolv) = out.split_once("---\n").unwrap();
    // podman puts --add-host entries first, the container's own line last.
    let lines: Vec<&str> = hosts.lines().collect();
    assert_eq!(lines[..2], ["1.2.3.4\tfoo", "::1\tbar"], "{hosts}");
    assert!(
        lines.last().unwrap().starts_with("127.0.1.1\thh "),
        "{hosts}"
    );
    let keys: Vec<&str> = resolv
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .collect();
    assert_eq!(
        keys,
        [
            "nameserver 9.9.9.9",
            "nameserver 1.1.1.1",
            "options ndots:2"
        ],
        "{resolv}"
    );

    // --dns-search alone replaces only the search line.
    let resolv = env.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--dns-search",
        "a.example,b.example",
        "busybox",
        "cat",
        "/etc/resolv.conf",
    ]);
    assert_eq!(
        resolv.lines().next(),
        Some("search a.example b.example"),
        "{resolv}"
    );
    assert_eq!(resolv.matches("search").count(), 1, "{resolv}");
}

#[test]
fn no_hosts_leaves_the_images_file() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    let mounted = "grep -c ' /etc/hosts ' /proc/mounts || true";
    let with = env.ok(&["run", "--rm", "busybox", "sh", "-c", mounted]);
    assert_eq!(with.trim(), "1");
    let without = env.ok(&["run", "--rm", "--no-hosts", "busybox", "sh", "-c", mounted]);
    assert_eq!(without.trim(), "0");
    // resolv.conf and hostname are still berth's.
    let others = "grep -c -e ' /etc/resolv.conf ' -e ' /etc/hostname ' /proc/mounts";
    assert_eq!(
        env.ok(&["run", "--rm", "--no-hosts", "busybox", "sh", "-c", others])
            .trim(),
        "2"
    );
}

#[test]
fn bad_hosts_and_dns_are_podmans_errors() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    let cases: [(&[&str], &str); 5] = [
        (&["--add-host", "foo"], "bad format for add-host: \"foo\""),
        (
            &["--add-host", ":1.2.3.4"],
            "bad format for add-host: \":1.2.3.4\"",
        ),
        (
            &["--add-host", "foo:bar"],
            "invalid IP address in add-host: \"bar\"",
        ),
        (&["--dns", "bogus"], "bogus is not an ip address"),
        (
            &["--no-hosts", "--add-host", "a:1.2.3.4"],
            "--no-hosts and --add-host cannot be set together",
        ),
    ];
    for (flags, msg) in cases {
        let mut args = vec!["run", "--rm"];
        args.extend_from_slice(flags);
        args.extend(["busybox", "true"]);
        let out = env.berth(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(125), "{flags:?}: {err}");
        assert_eq!(err.trim(), format!("Error: {msg}"), "{flags:?}");
    }
    assert_eq!(env.stored_containers(), 0);
}

#[test]
fn cidfile_is_written_once_and_refused_when_present() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    let cid = env.dir.path().join("cid");
    let cid_arg = cid.to_str().unwrap();
    let id = env.ok(&["create", "--cidfile", cid_arg, "busybox", "true"]);
    // The id alone, without a newline, as podman writes it.
    assert_eq!(std::fs::read_to_string(&cid).unwrap(), id.trim());
    let out = env.berth(&["run", "--rm", "--cidfile", cid_arg, "busybox", "true"]);
    assert_eq!(out.status.code(), Some(125));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        format!(
            "Error: container id file exists. Ensure another container is not using it or delete {cid_arg}"
        )
    );
    assert_eq!(env.stored_containers(), 1);
}

#[test]
fn replace_removes_the_container_of_that_name() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    let first = env.ok(&["run", "-d", "--name", "svc", "busybox", "sleep", "100"]);
    // Without --replace the name is taken.
    let out = env.berth(&["create", "--name", "svc", "busybox", "true"]);
    assert_eq!(out.status.code(), Some(125));
    let second = env.ok(&[
        "run",
        "-d",
        "--replace",
        "--name",
        "svc",
        "busybox",
        "sleep",
        "100",
    ]);
    assert_ne!(first, second);
    let ps = env.ps();
    assert_eq!(ps.len(), 1, "{ps:?}");
    assert_eq!(ps[0]["Id"].as_str().unwrap(), second.trim());
    // A name nobody holds is fine; no name is podman's error.
    env.ok(&["create", "--replace", "--name", "fresh", "busybox", "true"]);
    let out = env.berth(&["create", "--replace", "busybox", "true"]);
    assert_eq!(out.status.code(), Some(125));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "Error: cannot replace container without --name being set"
    );
    env.ok(&["rm", "-f", "svc"]);
    assert!(env.cgroups_left().is_empty(), "{:?}", env.cgroups_left());
}
