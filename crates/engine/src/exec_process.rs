//! The process object of an `exec`: the container's own process from its
//! config.json (capabilities, rlimits, confinement, environment), changed
//! as `berth exec` asked.

use crate::error::{Error, IoContext, Result};
use crate::image_config::ResolvedUser;
use oci_spec::runtime::{Box as ConsoleSize, Process, Spec, UserBuilder};
use std::path::{Path, PathBuf};

/// What `berth exec` asks for.
#[derive(Debug, Clone, Default)]
pub struct ExecOptions {
    /// The command and its arguments.
    pub command: Vec<String>,
    /// Extra `NAME=VALUE` entries (later names win).
    pub env: Vec<String>,
    /// `user[:group]`, resolved in the container's files.
    pub user: Option<String>,
    /// The working directory.
    pub workdir: Option<String>,
    /// Pass our stdin on (`-i`); otherwise the process gets /dev/null.
    pub interactive: bool,
    /// `-t`: a terminal (a pty relayed to ours).
    pub tty: bool,
    /// `--privileged`: every capability, whatever the container has.
    pub privileged: bool,
}

/// A container's config.json, read and parsed; malformed is an error
/// naming the file.
pub(crate) fn read_config(path: &Path) -> Result<Spec> {
    let bytes = std::fs::read(path).ctx("read", path)?;
    serde_json::from_slice(&bytes).map_err(|source| Error::Record {
        path: path.to_path_buf(),
        source,
    })
}

/// The container's process and rootfs from its config.json at `path`.
pub(crate) fn container_process(config: &Spec, path: &Path) -> Result<(Process, PathBuf)> {
    let missing = |what| Error::BundleConfig {
        path: path.to_path_buf(),
        what,
    };
    let process = config.process().clone().ok_or(missing("no process"))?;
    let root = config.root().as_ref().ok_or(missing("no root"))?;
    Ok((process, root.path().clone()))
}

/// `base` with `extra`'s `NAME=VALUE` entries over it (later names win).
pub(crate) fn merged_env(base: &[String], extra: &[String]) -> Vec<String> {
    let mut env = base.to_vec();
    for e in extra {
        let name = e.split('=').next().unwrap_or(e);
        env.retain(|x| x.split('=').next() != Some(name));
        env.push(e.clone());
    }
    env
}

/// The exec's process: `container`'s with the command, environment,
/// user, working directory and terminal asked for. `window` is the size
/// of our terminal, when there is one.
pub(crate) fn exec_process(
    mut process: Process,
    opts: &ExecOptions,
    env: Vec<String>,
    user: Option<&ResolvedUser>,
    window: Option<ConsoleSize>,
) -> Result<Process> {
    if let Some(u) = user {
        let user = UserBuilder::default()
            .uid(u.uid)
            .gid(u.gid)
            .additional_gids(u.additional_gids.clone())
            .build()
            .map_err(|source| Error::Spec {
                what: "exec process.user",
                source,
            })?;
        process.set_user(user);
    }
    if let Some(w) = &opts.workdir {
        process.set_cwd(w.into());
    }
    process.set_args(Some(opts.command.clone()));
    process.set_terminal(Some(opts.tty));
    process.set_env(Some(env));
    if opts.tty {
        terminal_process(&mut process, window);
    }
    if opts.privileged {
        process.set_capabilities(Some(crate::exec_detached::all_capabilities()?));
    }
    Ok(process)
}

/// Make an exec's process ask for a terminal the size of ours, with
/// `TERM` set when neither the container nor the user set it.
fn terminal_process(process: &mut Process, window: Option<ConsoleSize>) {
    if window.is_some() {
        process.set_console_size(window);
    }
    let mut env = process.env().clone().unwrap_or_default();
    if !env.iter().any(|e| e.starts_with("TERM=")) {
        env.push("TERM=xterm".into());
        process.set_env(Some(env));
    }
}

/// The size of our terminal as a console size, when we have one.
pub(crate) fn window() -> Result<Option<ConsoleSize>> {
    crate::pty_relay::window_size()
        .map(|ws| crate::spec::console_size(ws.ws_row.into(), ws.ws_col.into()))
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn container() -> Spec {
        serde_json::from_str(
            r#"{"ociVersion":"1.0.2","root":{"path":"/r"},
                "process":{"terminal":false,"user":{"uid":0,"gid":0},"cwd":"/w",
                "args":["sleep","9"],"env":["PATH=/bin","A=1"],
                "capabilities":{"bounding":["CAP_CHOWN"]},"noNewPrivileges":false}}"#,
        )
        .unwrap()
    }

    #[test]
    fn exec_keeps_the_container_process_and_changes_what_was_asked() {
        let spec = container();
        let (process, root) = container_process(&spec, Path::new("/c/config.json")).unwrap();
        assert_eq!(root, Path::new("/r"));
        let opts = ExecOptions {
            command: vec!["sh".into()],
            env: vec!["A=2".into()],
            workdir: Some("/tmp".into()),
            tty: true,
            ..Default::default()
        };
        let env = merged_env(process.env().as_deref().unwrap(), &opts.env);
        let user = ResolvedUser {
            uid: 33,
            gid: 34,
            additional_gids: vec![50],
            home: None,
        };
        let size = crate::spec::console_size(40, 100).unwrap();
        let p = exec_process(process.clone(), &opts, env, Some(&user), Some(size)).unwrap();
        assert_eq!(p.args().as_deref(), Some(&["sh".to_string()][..]));
        assert_eq!(
            p.env().as_deref(),
            Some(&["PATH=/bin".into(), "A=2".into(), "TERM=xterm".into()][..])
        );
        assert_eq!((p.user().uid(), p.user().gid()), (33, 34));
        assert_eq!(p.user().additional_gids().as_deref(), Some(&[50][..]));
        assert_eq!(p.cwd(), Path::new("/tmp"));
        assert_eq!(p.terminal(), Some(true));
        assert_eq!(p.console_size(), Some(size));
        assert_eq!(p.capabilities(), process.capabilities());
        // Without a terminal, nothing of one is added.
        let opts = ExecOptions {
            command: vec!["true".into()],
            ..Default::default()
        };
        let p = exec_process(process.clone(), &opts, vec![], None, None).unwrap();
        assert_eq!(p.terminal(), Some(false));
        assert_eq!(p.console_size(), None);
        assert_eq!(p.cwd(), Path::new("/w"));
    }

    #[test]
    fn a_config_without_root_is_a_clear_error() {
        let spec: Spec = serde_json::from_str(r#"{"ociVersion":"1.0.2"}"#).unwrap();
        let e = container_process(&spec, Path::new("/c/config.json")).unwrap_err();
        assert_eq!(e.to_string(), "/c/config.json: no process");
    }

    #[test]
    fn a_malformed_config_names_the_file() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("config.json");
        std::fs::write(&path, r#"{"process": {"args": 7}}"#).unwrap();
        let e = read_config(&path).unwrap_err();
        assert!(e.to_string().contains(&path.display().to_string()), "{e}");
    }
}
