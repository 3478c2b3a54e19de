//! `exec`: the process comes from `--process FILE`, or from the container's
//! own config with the command line's overrides, as runc builds it.

use anyhow::{bail, Context, Result};
use berth_runtime::container::exec::{exec, ExecOptions};
use berth_runtime::state::StateRoot;
use clap::Args;
use oci_spec::runtime::{Capability, Process};
use std::path::PathBuf;

#[derive(Args)]
pub struct ExecArgs {
    /// Unix socket to send the pty master to.
    #[arg(long)]
    console_socket: Option<PathBuf>,
    /// Working directory inside the container.
    #[arg(long)]
    cwd: Option<PathBuf>,
    /// Extra environment, KEY=VALUE (repeatable).
    #[arg(short, long)]
    env: Vec<String>,
    /// Allocate a terminal.
    #[arg(short, long)]
    tty: bool,
    /// uid[:gid] to run as.
    #[arg(short, long)]
    user: Option<String>,
    /// Extra groups (repeatable).
    #[arg(short = 'g', long)]
    additional_gids: Vec<u32>,
    /// A JSON file with the whole process object.
    #[arg(short, long)]
    process: Option<PathBuf>,
    /// Return once the process has started.
    #[arg(short, long)]
    detach: bool,
    /// File to write the process's pid to.
    #[arg(long)]
    pid_file: Option<PathBuf>,
    /// Accepted for runc compatibility.
    #[arg(long)]
    process_label: Option<String>,
    /// Accepted for runc compatibility.
    #[arg(long)]
    apparmor: Option<String>,
    /// Set no_new_privileges.
    #[arg(long)]
    no_new_privs: bool,
    /// Add a capability (repeatable).
    #[arg(short, long)]
    cap: Vec<String>,
    /// Pass this many extra descriptors (3..).
    #[arg(long, default_value_t = 0)]
    preserve_fds: u32,
    /// Accepted for runc compatibility.
    #[arg(long)]
    ignore_paused: bool,
    /// The container id.
    id: String,
    /// The command and its arguments.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    command: Vec<String>,
}

pub fn run(root: &StateRoot, a: ExecArgs) -> Result<i32> {
    let process = match &a.process {
        Some(path) => {
            let bytes = std::fs::read(path)
                .with_context(|| format!("read process file {}", path.display()))?;
            serde_json::from_slice::<Process>(&bytes)
                .with_context(|| format!("{} is not a valid OCI process", path.display()))?
        }
        None => from_flags(root, &a)?,
    };
    let console = match (&a.console_socket, process.terminal().unwrap_or(false)) {
        (Some(path), true) => Some(berth_runtime::console::connect(path)?),
        (None, true) => bail!("a terminal was asked for but no --console-socket given"),
        _ => None,
    };
    let opts = ExecOptions {
        console,
        id: a.id,
        process,
        detach: a.detach,
        pid_file: a.pid_file,
        preserve_fds: a.preserve_fds,
    };
    Ok(exec(root, &opts)?)
}

fn from_flags(root: &StateRoot, a: &ExecArgs) -> Result<Process> {
    if a.command.is_empty() {
        bail!("exec needs a command to run");
    }
    let state = root.load(&a.id)?;
    let spec = berth_runtime::spec::load_config(&state.bundle)?;
    let mut p = spec.process().clone().unwrap_or_default();
    p.set_args(Some(a.command.clone()));
    let mut env = p.env().clone().unwrap_or_default();
    env.extend(a.env.iter().cloned());
    p.set_env(Some(env));
    if let Some(cwd) = &a.cwd {
        p.set_cwd(cwd.clone());
    }
    p.set_terminal(Some(a.tty));
    if let Some(user) = &a.user {
        let (uid, gid) = user.split_once(':').unwrap_or((user, "0"));
        p.user_mut().set_uid(
            uid.parse()
                .with_context(|| format!("bad uid in --user {user}"))?,
        );
        p.user_mut().set_gid(
            gid.parse()
                .with_context(|| format!("bad gid in --user {user}"))?,
        );
    }
    if !a.additional_gids.is_empty() {
        p.user_mut()
            .set_additional_gids(Some(a.additional_gids.clone()));
    }
    if a.no_new_privs {
        p.set_no_new_privileges(Some(true));
    }
    if !a.cap.is_empty() {
        let mut caps = p.capabilities().clone().unwrap_or_default();
        for name in &a.cap {
            let cap: Capability = serde_json::from_value(serde_json::Value::String(name.clone()))
                .with_context(|| format!("unknown capability {name}"))?;
            let add = |s: &Option<oci_spec::runtime::Capabilities>| {
                let mut s = s.clone().unwrap_or_default();
                s.insert(cap);
                Some(s)
            };
            caps.set_bounding(add(caps.bounding()));
            caps.set_effective(add(caps.effective()));
            caps.set_permitted(add(caps.permitted()));
        }
        p.set_capabilities(Some(caps));
    }
    Ok(p)
}
