//! Running one case on both engines and saying how berth differs: the
//! case table's types, a command runner with a timeout, and each side's
//! way to run commands and normalise what they print.

use super::normalise::normalise;
use super::shape::{compare_json, describe_shape, Rules};
use serde_json::Value;
use std::io::Read as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A command that has not finished by then is killed and the case fails.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Clone, Copy, Debug)]
pub enum Check {
    /// The exit code only.
    Exit,
    /// Exit code and normalised stdout.
    Text,
    /// As `Text`, with version numbers normalised too (shape only).
    Version,
    /// Exit code, and whether stdout and stderr are empty.
    Silent,
    /// Exit code and the JSON's keys and value types, recursively. The
    /// elements of a top-level array are paired by the value at this JSON
    /// pointer (`None`: first with first); nested arrays are compared by
    /// their first elements.
    Json(Option<&'static str>),
}

impl Check {
    pub fn label(self) -> &'static str {
        match self {
            Check::Exit => "exit code",
            Check::Text => "text",
            Check::Version => "text, versions normalised",
            Check::Silent => "exit code, silence",
            Check::Json(_) => "JSON shape",
        }
    }
}

/// One command, run on both sides and compared.
pub struct Case {
    /// The command after `podman`/`berth`, split as a shell would
    /// (single quotes). `{id:NAME}`/`{id12:NAME}` become that side's
    /// (short) ID of fixture container NAME.
    pub cmd: &'static str,
    pub check: Check,
    /// podman's exit code: anything else is a harness fault, not a
    /// difference.
    pub code: i32,
    /// Commands run on both sides first, not compared.
    pub setup: &'static [&'static str],
}

impl Case {
    pub const fn new(cmd: &'static str, check: Check) -> Case {
        Case {
            cmd,
            check,
            code: 0,
            setup: &[],
        }
    }
    pub const fn code(mut self, code: i32) -> Case {
        self.code = code;
        self
    }
    pub const fn after(mut self, setup: &'static [&'static str]) -> Case {
        self.setup = setup;
        self
    }
}

pub const fn text(cmd: &'static str) -> Case {
    Case::new(cmd, Check::Text)
}
pub const fn json(cmd: &'static str) -> Case {
    Case::new(cmd, Check::Json(None))
}
pub const fn json_by(cmd: &'static str, pointer: &'static str) -> Case {
    Case::new(cmd, Check::Json(Some(pointer)))
}
pub const fn exit(cmd: &'static str, code: i32) -> Case {
    Case::new(cmd, Check::Exit).code(code)
}
pub const fn silent(cmd: &'static str, code: i32) -> Case {
    Case::new(cmd, Check::Silent).code(code)
}
pub const fn version(cmd: &'static str) -> Case {
    Case::new(cmd, Check::Version)
}

/// What one command did.
pub struct Outcome {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Outcome {
    pub fn describe(&self) -> String {
        let code = self
            .code
            .map_or("killed/timed out".to_string(), |c| c.to_string());
        let err = first_lines(self.stderr.trim(), 2, 240);
        if err.is_empty() {
            format!("exit {code}")
        } else {
            format!("exit {code} ({err})")
        }
    }
}

/// Run `cmd` with a timeout; the child is killed (by its PID) after it.
pub fn run_with_timeout(mut cmd: Command) -> Outcome {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("spawning {cmd:?}: {e}"));
    let reader = |mut r: Box<dyn std::io::Read + Send>| {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut v = Vec::new();
            let _ = r.read_to_end(&mut v);
            let _ = tx.send(v);
        });
        rx
    };
    let out = reader(Box::new(child.stdout.take().unwrap()));
    let err = reader(Box::new(child.stderr.take().unwrap()));
    let deadline = Instant::now() + COMMAND_TIMEOUT;
    let code = loop {
        match child.try_wait() {
            Ok(Some(st)) => break st.code(),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
        }
    };
    // A descendant holding the pipes open must not hang the suite.
    let collect = |rx: std::sync::mpsc::Receiver<Vec<u8>>| {
        rx.recv_timeout(Duration::from_secs(5))
            .map(|v| String::from_utf8_lossy(&v).into_owned())
            .unwrap_or_else(|_| "<pipe held open by a descendant>".to_string())
    };
    Outcome {
        code,
        stdout: collect(out),
        stderr: collect(err),
    }
}

/// One engine: how to run it and what of its output is its own.
pub struct Side<'a> {
    pub name: &'static str,
    pub command: &'a dyn Fn(&[&str]) -> Command,
    pub port: u16,
    /// (literal, placeholder): store paths, the host port, fixture IDs.
    pub literals: Vec<(String, String)>,
    /// Fixture container name → full ID.
    pub ids: Vec<(String, String)>,
}

impl Side<'_> {
    pub fn id(&self, name: &str) -> &str {
        &self
            .ids
            .iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("no fixture container {name}"))
            .1
    }

    /// The command's arguments for this side.
    pub fn expand(&self, cmd: &str) -> Vec<String> {
        split_command(cmd)
            .into_iter()
            .map(|a| {
                let mut a = a.replace("{port}", &self.port.to_string());
                while let Some(start) = a.find("{id") {
                    let end = start + a[start..].find('}').expect("unclosed {id");
                    let (kind, name) = a[start + 1..end].split_once(':').expect("{id:NAME}");
                    let id = self.id(name);
                    let id = if kind == "id12" { &id[..12] } else { id }.to_string();
                    a.replace_range(start..=end, &id);
                }
                a
            })
            .collect()
    }

    pub fn run(&self, cmd: &str) -> Outcome {
        let args = self.expand(cmd);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run_with_timeout((self.command)(&args))
    }

    pub fn normalise(&self, text: &str, versions: bool) -> String {
        normalise(text, &self.literals, versions)
    }

    /// Learn the fixture containers' IDs (from `inspect`'s JSON, which
    /// both sides have).
    pub fn learn_ids(&mut self, names: &[&str]) {
        for name in names {
            let out = self.run(&format!("inspect {name}"));
            let v: Value = serde_json::from_str(&out.stdout)
                .unwrap_or_else(|e| panic!("{} inspect {name}: {e}: {}", self.name, out.stdout));
            let id = v[0]["Id"]
                .as_str()
                .unwrap_or_else(|| panic!("{} inspect {name}: no Id", self.name))
                .to_string();
            self.literals.push((id.clone(), format!("<id:{name}>")));
            self.literals
                .push((id[..12].to_string(), format!("<id12:{name}>")));
            self.ids.push((name.to_string(), id));
        }
        // Longest first: a full ID before its prefix, a path before its
        // parent.
        self.literals
            .sort_by_key(|(l, _)| std::cmp::Reverse(l.len()));
    }
}

/// Split as a shell would: whitespace, single quotes.
pub fn split_command(cmd: &str) -> Vec<String> {
    let mut args = Vec::new();
    let mut cur = String::new();
    let mut in_arg = false;
    let mut quoted = false;
    for ch in cmd.chars() {
        match ch {
            '\'' => {
                quoted = !quoted;
                in_arg = true;
            }
            c if c.is_whitespace() && !quoted => {
                if in_arg {
                    args.push(std::mem::take(&mut cur));
                    in_arg = false;
                }
            }
            c => {
                cur.push(c);
                in_arg = true;
            }
        }
    }
    assert!(!quoted, "unbalanced quote in {cmd}");
    if in_arg {
        args.push(cur);
    }
    args
}

/// The first `n` lines joined, cut at `max` bytes.
pub fn first_lines(s: &str, n: usize, max: usize) -> String {
    let s: String = s.lines().take(n).collect::<Vec<_>>().join(" / ");
    if s.len() > max {
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}…", &s[..end])
    } else {
        s
    }
}

/// Run one case on both sides; `Err` describes how berth differs.
pub fn run_case(case: &Case, podman: &Side, berth: &Side, rules: &Rules) -> Result<(), String> {
    let mut problems = Vec::new();
    // Each side runs its command right after its own setup (a setup may
    // start something short-lived, such as a `--rm` container to wait for).
    for setup in case.setup {
        let p = podman.run(setup);
        assert_eq!(
            p.code,
            Some(0),
            "harness: podman setup `{setup}`: {}",
            p.describe()
        );
    }
    let p = podman.run(case.cmd);
    assert_eq!(
        p.code,
        Some(case.code),
        "harness: podman `{}`: {}\n{}",
        case.cmd,
        p.describe(),
        p.stdout
    );
    for setup in case.setup {
        let b = berth.run(setup);
        if b.code != Some(0) {
            problems.push(format!("setup `{setup}`: berth {}", b.describe()));
        }
    }
    let b = berth.run(case.cmd);
    if p.code != b.code {
        problems.push(format!(
            "exit: podman {}, berth {}",
            p.describe(),
            b.describe()
        ));
    }
    match case.check {
        Check::Exit => {}
        Check::Silent => {
            let quiet = |o: &Outcome| (o.stdout.trim().is_empty(), o.stderr.trim().is_empty());
            if quiet(&p) != quiet(&b) {
                problems.push(format!(
                    "output: podman stdout {:?} stderr {:?}; berth stdout {:?} stderr {:?}",
                    first_lines(&p.stdout, 2, 120),
                    first_lines(&p.stderr, 2, 120),
                    first_lines(&b.stdout, 2, 120),
                    first_lines(&b.stderr, 2, 120)
                ));
            }
        }
        Check::Text | Check::Version => {
            let versions = matches!(case.check, Check::Version);
            let pn = podman.normalise(&p.stdout, versions);
            let bn = berth.normalise(&b.stdout, versions);
            if pn != bn {
                let show = |s: &str| {
                    if s.is_empty() {
                        "(nothing)".to_string()
                    } else {
                        s.lines().take(12).collect::<Vec<_>>().join("\n      | ")
                    }
                };
                problems.push(format!(
                    "stdout:\n      podman | {}\n      berth  | {}",
                    show(&pn),
                    show(&bn)
                ));
            }
        }
        Check::Json(pair_by) => {
            let pv: Value = serde_json::from_str(&p.stdout).unwrap_or_else(|e| {
                panic!(
                    "harness: podman `{}` is not JSON: {e}: {}",
                    case.cmd, p.stdout
                )
            });
            match serde_json::from_str::<Value>(&b.stdout) {
                Err(_) if b.stdout.trim().is_empty() => {
                    problems.push("berth printed no JSON".to_string())
                }
                Err(e) => problems.push(format!(
                    "berth's stdout is not JSON ({e}): {}",
                    first_lines(&b.stdout, 2, 160)
                )),
                Ok(bv) => {
                    let diffs = compare_json(&pv, &bv, pair_by, rules);
                    if !diffs.is_empty() {
                        problems.push(describe_shape(&diffs));
                    }
                }
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n    "))
    }
}

/// Two free ports on 127.0.0.1, one for each side to publish.
pub fn free_ports() -> (u16, u16) {
    let a = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let b = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    (
        a.local_addr().unwrap().port(),
        b.local_addr().unwrap().port(),
    )
}

#[test]
fn commands_split_as_a_shell_would() {
    assert_eq!(
        split_command("ps -a --format '{{.Names}} {{.Status}}'"),
        ["ps", "-a", "--format", "{{.Names}} {{.Status}}"]
    );
    assert_eq!(
        split_command("run x sh -c 'exit 3'  ''"),
        ["run", "x", "sh", "-c", "exit 3", ""]
    );
}
