//! `berth generate systemd`: a unit for an ordinary container, as podman
//! 4.3 writes it. Without `--new` the unit starts and stops the existing
//! container (`Type=forking`: `berth start` returns once the container's
//! monitor runs, and systemd takes the monitor, the one process left in
//! the unit's cgroup, as the main process). With `--new` it creates the
//! container afresh on every start from the command line that created it
//! (`berth run --rm -d --replace --name NAME …`) and removes it on stop.
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
        ["run", "--rm", "-d", "--replace"]
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
             Type=forking\n",
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
    let text = format!(
        "# {unit}.service\n\
         # autogenerated by berth\n\
         \n\
         [Unit]\n\
         Description=berth {unit}.service\n\
         Wants=network-online.target\n\
         After=network-online.target\n\
         \n\
         [Service]\n\
         Environment=BERTH_SYSTEMD_UNIT=%n\n\
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
            "--root /r run --rm -d --replace --name web -p 8080:80 busybox httpd -f"
        );
        let got = new_command(&argv("berth run -d busybox top"), "auto").unwrap();
        assert_eq!(
            got.join(" "),
            "run --rm -d --replace --name auto busybox top"
        );
    }

    #[test]
    fn words_are_escaped_for_systemd() {
        assert_eq!(word("a b"), "\"a b\"");
        assert_eq!(word("100%"), "100%%");
        assert_eq!(word("$HOME"), "$$HOME");
    }
}
