//! `berth generate systemd`: a unit for an ordinary container, as podman
//! 4.3 writes it. Without `--new` the unit starts and stops the existing
//! container (`Type=forking`: `berth start` returns once the container's
//! monitor runs, and systemd takes the monitor, the one process left in
//! the unit's cgroup, as the main process). With `--new` it creates the
//! container afresh on every start from the command line that created it
//! (`berth run --rm --sdnotify=conmon -d --replace --name NAME …`,
//! `Type=notify`: the monitor sends its pid and READY once the container
//! started) and removes it on stop.
//! podman's `--new` unit tracks the container through a `--cidfile`;
//! berth's `stop` has no `--cidfile`, so the unit uses the name.

use crate::error::{Error, Result};

/// The container the unit is for.
pub struct UnitContainer<'a> {
    /// Its id.
    pub id: &'a str,
    /// Its name.
    pub name: &'a str,
    /// The command line that created it (empty: unknown).
    pub create_command: &'a [String],
    /// Its `--stop-timeout` (podman's default 10).
    pub stop_timeout: u64,
}

/// `generate systemd`'s flags.
#[derive(Debug, Clone)]
pub struct GenerateOptions {
    /// The absolute path of the berth binary the unit runs.
    pub berth: String,
    /// Global flags every command of the unit gets (`--root …`).
    pub global_args: Vec<String>,
    /// `--new`.
    pub new: bool,
    /// `--name`: the container's name rather than its id, in the unit
    /// name and the commands.
    pub use_name: bool,
    /// `--restart-policy` (podman's default on-failure).
    pub restart_policy: String,
    /// `--time`: the stop timeout, else the container's.
    pub stop_timeout: Option<u64>,
    /// `--container-prefix` (default "container").
    pub prefix: String,
    /// `--separator` (default "-").
    pub separator: String,
    /// `--no-header`: no comment lines at the top.
    pub no_header: bool,
    /// `--wants`, `--after`, `--requires`: more `[Unit]` dependencies.
    pub wants: Vec<String>,
    /// See `wants`.
    pub after: Vec<String>,
    /// See `wants`.
    pub requires: Vec<String>,
    /// `--env KEY=VALUE`: `Environment=` lines of the unit.
    pub env: Vec<String>,
    /// `--restart-sec`: `RestartSec=`.
    pub restart_sec: Option<u64>,
    /// `--start-timeout`: `TimeoutStartSec=`.
    pub start_timeout: Option<u64>,
}

impl GenerateOptions {
    /// podman's defaults, running `berth`.
    pub fn new(berth: String) -> GenerateOptions {
        GenerateOptions {
            berth,
            global_args: Vec::new(),
            new: false,
            use_name: false,
            restart_policy: "on-failure".into(),
            stop_timeout: None,
            prefix: "container".into(),
            separator: "-".into(),
            no_header: false,
            wants: Vec::new(),
            after: Vec::new(),
            requires: Vec::new(),
            env: Vec::new(),
            restart_sec: None,
            start_timeout: None,
        }
    }
}

const RESTART_POLICIES: [&str; 7] = [
    "no",
    "on-success",
    "on-failure",
    "on-abnormal",
    "on-watchdog",
    "on-abort",
    "always",
];

/// One word of an Exec line: `%` and `$` escaped (systemd would expand
/// them), quoted when it holds blanks or quotes.
fn word(w: &str) -> String {
    crate::quadlet::quote(&w.replace('%', "%%").replace('$', "$$"))
}

fn line(words: impl IntoIterator<Item = String>) -> String {
    words
        .into_iter()
        .map(|w| word(&w))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Flags of the original command that `--new` sets itself (dropped, with
/// their value when they take one as the next word).
const DROPPED: [(&str, bool); 6] = [
    ("-d", false),
    ("--detach", false),
    ("--rm", false),
    ("--replace", false),
    ("--cidfile", true),
    ("--sdnotify", true),
];

/// The `--new` ExecStart words after the binary: the original command
/// with `create` made `run` and the unit's flags put right after it
/// (`--name NAME` too when the original gave none).
fn new_command(create_command: &[String], name: &str) -> Result<Vec<String>> {
    let args = create_command.get(1..).unwrap_or_default();
    let Some(at) = args.iter().position(|a| a == "run" || a == "create") else {
        return Err(Error::Invalid {
            what: "container",
            value: create_command.join(" "),
            reason:
                "--new needs the command line that created it (not recorded for this container)"
                    .into(),
        });
    };
    let mut out: Vec<String> = args[..at].to_vec();
    out.extend(
        ["run", "--rm", "--sdnotify=conmon", "-d", "--replace"]
            .iter()
            .map(|s| s.to_string()),
    );
    let named = args[at + 1..]
        .iter()
        .any(|a| a == "--name" || a.starts_with("--name="));
    if !named {
        out.extend(["--name".to_string(), name.to_string()]);
    }
    let mut rest = args[at + 1..].iter();
    while let Some(a) = rest.next() {
        let flag = a.split('=').next().unwrap_or(a);
        match DROPPED.iter().find(|(f, _)| *f == flag) {
            Some((_, takes_value)) => {
                if *takes_value && !a.contains('=') {
                    rest.next();
                }
            }
            None => out.push(a.clone()),
        }
    }
    Ok(out)
}

/// The unit's name (without `.service`) and text.
pub fn container_unit(c: &UnitContainer<'_>, o: &GenerateOptions) -> Result<(String, String)> {
    if !RESTART_POLICIES.contains(&o.restart_policy.as_str()) {
        return Err(Error::Invalid {
            what: "--restart-policy",
            value: o.restart_policy.clone(),
            reason: format!("must be one of {}", RESTART_POLICIES.join(", ")),
        });
    }
    let key = if o.use_name { c.name } else { c.id };
    let unit = format!("{}{}{}", o.prefix, o.separator, key);
    let timeout = o.stop_timeout.unwrap_or(c.stop_timeout);
    let berth = |args: &[&str]| {
        line(
            std::iter::once(o.berth.clone())
                .chain(o.global_args.iter().cloned())
                .chain(args.iter().map(|s| s.to_string())),
        )
    };
    let t = timeout.to_string();
    let service = if o.new {
        let mut words = vec![o.berth.clone()];
        words.extend(new_command(c.create_command, c.name)?);
        format!(
            "ExecStart={}\n\
             ExecStop=-{}\n\
             ExecStopPost={}\n\
             Type=notify\n\
             NotifyAccess=all\n",
            line(words),
            berth(&["stop", "-t", &t, c.name]),
            berth(&["rm", "-f", "--ignore", c.name]),
        )
    } else {
        format!(
            "ExecStart={}\n\
             ExecStop={}\n\
             ExecStopPost={}\n\
             Type=forking\n",
            berth(&["start", key]),
            berth(&["stop", "-t", &t, key]),
            berth(&["stop", "-t", &t, key]),
        )
    };
    let header = match o.no_header {
        true => String::new(),
        false => format!("# {unit}.service\n# autogenerated by berth\n\n"),
    };
    let mut deps = String::new();
    for (key, units) in [
        ("Wants", &o.wants),
        ("After", &o.after),
        ("Requires", &o.requires),
    ] {
        for u in units {
            deps.push_str(&format!("{key}={}\n", check_unit_name(u)?));
        }
    }
    let mut extra = String::new();
    for e in &o.env {
        extra.push_str(&format!("Environment={}\n", environment(e)?));
    }
    if let Some(s) = o.restart_sec {
        extra.push_str(&format!("RestartSec={s}\n"));
    }
    if let Some(s) = o.start_timeout {
        extra.push_str(&format!("TimeoutStartSec={s}\n"));
    }
    let text = format!(
        "{header}\
         [Unit]\n\
         Description=berth {unit}.service\n\
         Wants=network-online.target\n\
         After=network-online.target\n\
         {deps}\
         \n\
         [Service]\n\
         Environment=BERTH_SYSTEMD_UNIT=%n\n\
         {extra}\
         Restart={restart}\n\
         TimeoutStopSec={stop}\n\
         {service}\
         \n\
         [Install]\n\
         WantedBy=default.target\n",
        restart = o.restart_policy,
        stop = timeout + 60,
    );
    Ok((unit, text))
}

/// A `--wants/--after/--requires` value: one unit name, nothing that
/// would end the line or start another key.
fn check_unit_name(u: &str) -> Result<&str> {
    if u.is_empty() || u.contains(|c: char| c.is_whitespace() || c.is_control()) {
        return Err(Error::Invalid {
            what: "unit dependency",
            value: u.to_string(),
            reason: "must be one unit name".into(),
        });
    }
    Ok(u)
}

/// A `--env KEY=VALUE` as an `Environment=` value: quoted when it holds
/// blanks, `%` escaped (systemd expands specifiers there, not `$`).
fn environment(e: &str) -> Result<String> {
    let bad = |reason: &str| Error::Invalid {
        what: "--env",
        value: e.to_string(),
        reason: reason.into(),
    };
    let Some((key, _)) = e.split_once('=') else {
        return Err(bad("must be KEY=VALUE"));
    };
    if key.is_empty() || e.contains(|c: char| c.is_control()) {
        return Err(bad("must be KEY=VALUE on one line"));
    }
    Ok(crate::quadlet::quote(&e.replace('%', "%%")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(s: &str) -> Vec<String> {
        s.split(' ').map(str::to_string).collect()
    }

    #[test]
    fn new_rewrites_the_create_command() {
        let got = new_command(
            &argv("berth --root /r create -d --name web --cidfile /x --rm -p 8080:80 busybox httpd -f"),
            "web",
        )
        .unwrap();
        assert_eq!(
            got.join(" "),
            "--root /r run --rm --sdnotify=conmon -d --replace --name web -p 8080:80 busybox httpd -f"
        );
        let got = new_command(&argv("berth run -d busybox top"), "auto").unwrap();
        assert_eq!(
            got.join(" "),
            "run --rm --sdnotify=conmon -d --replace --name auto busybox top"
        );
    }

    #[test]
    fn words_are_escaped_for_systemd() {
        assert_eq!(word("a b"), "\"a b\"");
        assert_eq!(word("100%"), "100%%");
        assert_eq!(word("$HOME"), "$$HOME");
        assert_eq!(environment("A=b c").unwrap(), "\"A=b c\"");
        assert_eq!(environment("P=100%").unwrap(), "P=100%%");
        assert!(environment("nokey").is_err() && environment("A=b\nX=y").is_err());
        assert!(check_unit_name("a.service b").is_err());
    }
}
