//! `attach`, and the attach flags of `run` and `start`
//! (`--detach-keys`, `--sig-proxy`, run's `-a`), as podman 4.3 has them.
//! The engine does the attaching; detaching exits 0 with nothing printed.

use crate::exit_code::Reported;
use crate::Cli;
use berth_engine::{AttachEnd, AttachOptions};
use clap::Args;

/// `--detach-keys` and `--sig-proxy`, shared by attach, run and start.
#[derive(Args, Clone)]
pub struct AttachFlags {
    /// The key sequence that detaches: a character, or `ctrl-<value>`s
    /// joined by commas ("": none).
    #[arg(long, default_value = berth_engine::detach_keys::DEFAULT)]
    pub detach_keys: String,
    /// Pass the signals we get on to the container's process (without a
    /// terminal).
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true,
          default_value = "true", default_missing_value = "true")]
    pub sig_proxy: bool,
}

impl AttachFlags {
    /// The engine's options: every stream, stdin if `stdin`.
    pub fn options(&self, stdin: bool) -> anyhow::Result<AttachOptions> {
        Ok(AttachOptions {
            stdin,
            stdout: true,
            stderr: true,
            detach_keys: berth_engine::detach_keys::parse(&self.detach_keys)?,
            sig_proxy: self.sig_proxy,
        })
    }
}

/// `run -a`: which streams to attach (none named: all of them).
pub fn streams(opts: &mut AttachOptions, names: &[String]) -> anyhow::Result<()> {
    if names.is_empty() {
        return Ok(());
    }
    (opts.stdin, opts.stdout, opts.stderr) = (false, false, false);
    for n in names {
        match n.to_ascii_lowercase().as_str() {
            "stdin" => opts.stdin = true,
            "stdout" => opts.stdout = true,
            "stderr" => opts.stderr = true,
            _ => anyhow::bail!(
                "invalid stream \"{n}\" for --attach - must be STDIN, STDOUT, or STDERR"
            ),
        }
    }
    Ok(())
}

#[derive(Args)]
pub struct AttachArgs {
    /// Do not attach stdin.
    #[arg(long)]
    pub no_stdin: bool,
    #[command(flatten)]
    pub flags: AttachFlags,
    /// The container made last (of every state).
    #[arg(short, long)]
    pub latest: bool,
    /// The container.
    pub container: Option<String>,
}

pub fn attach(cli: &Cli, a: &AttachArgs) -> anyhow::Result<()> {
    let opts = a.flags.options(!a.no_stdin)?;
    // podman's words for a missing or doubled choice.
    match (&a.container, a.latest) {
        (Some(_), true) => anyhow::bail!("--latest and containers cannot be used together"),
        (None, false) => {
            anyhow::bail!("\"berth attach\" requires a name, id, or the \"--latest\" flag")
        }
        _ => {}
    }
    let engine = cli.engine()?;
    let key = match &a.container {
        Some(c) => c.clone(),
        // The list is newest first.
        None => match engine.list()?.into_iter().next() {
            Some(c) => c.id,
            None => anyhow::bail!("no such container"),
        },
    };
    ended(engine.attach(&key, &opts)?)
}

/// The exit of an attached command: the container's code, or 0 detached.
pub fn ended(end: AttachEnd) -> anyhow::Result<()> {
    match end {
        AttachEnd::Detached => Ok(()),
        AttachEnd::Exited(code) => Err(Reported(code).into()),
    }
}
