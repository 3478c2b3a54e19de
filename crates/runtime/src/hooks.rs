//! Running the config's hooks with the container state on stdin.

use crate::error::{Error, Result};
use crate::state::ContainerState;
use oci_spec::runtime::Hook;
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The state JSON a hook reads on stdin (runtime spec "State").
pub fn state_json(state: &ContainerState, status: &str) -> Vec<u8> {
    serde_json::json!({
        "ociVersion": state.oci_version,
        "id": state.id,
        "status": status,
        "pid": state.pid,
        "bundle": state.bundle,
        "annotations": state.annotations,
    })
    .to_string()
    .into_bytes()
}

/// The state JSON of a container being created (for `prestart`,
/// `createRuntime` and, passed on to the init, `createContainer` and
/// `startContainer`).
pub fn creating_state_json(
    spec: &oci_spec::runtime::Spec,
    id: &str,
    pid: i32,
    bundle: &std::path::Path,
) -> String {
    serde_json::json!({
        "ociVersion": spec.version(),
        "id": id,
        "status": "creating",
        "pid": pid,
        "bundle": bundle,
        "annotations": spec.annotations().clone().unwrap_or_default(),
    })
    .to_string()
}

/// Run one hook: `path` with `args` (args[0] is argv[0]) and `env`, the
/// state on stdin; fail if it exits non-zero or outlives its `timeout`.
pub fn run_hook(kind: &'static str, hook: &Hook, stdin: &[u8]) -> Result<()> {
    let path = hook.path();
    let fail = |reason: String| Error::Hook {
        kind,
        path: path.clone(),
        reason,
    };
    let mut cmd = Command::new(path);
    if let Some(args) = hook.args() {
        if let Some((argv0, rest)) = args.split_first() {
            std::os::unix::process::CommandExt::arg0(&mut cmd, argv0);
            cmd.args(rest);
        }
    }
    cmd.env_clear();
    for kv in hook.env().iter().flatten() {
        if let Some((k, v)) = kv.split_once('=') {
            cmd.env(k, v);
        }
    }
    let mut child = cmd
        .stdin(Stdio::piped())
        .spawn()
        .map_err(|e| fail(format!("cannot start: {e}")))?;
    if let Some(mut input) = child.stdin.take() {
        // A hook that does not read its stdin is fine.
        let _ = input.write_all(stdin);
    }
    // A timeout too large for the clock is no timeout at all.
    let deadline = hook
        .timeout()
        .and_then(|t| Instant::now().checked_add(Duration::from_secs(t.max(1) as u64)));
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return Ok(()),
            Ok(Some(status)) => return Err(fail(format!("exited with {status}"))),
            Ok(None) => {}
            Err(e) => return Err(fail(format!("wait: {e}"))),
        }
        if deadline.is_some_and(|d| Instant::now() > d) {
            let _ = child.kill();
            let _ = child.wait();
            return Err(fail(format!(
                "timed out after {}s",
                hook.timeout().unwrap_or(0)
            )));
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Run each hook of a list in order, stopping at the first failure (the
/// spec's rule for the hooks of `create`: a failure fails the operation).
pub fn run_list(kind: &'static str, hooks: Option<&Vec<Hook>>, stdin: &[u8]) -> Result<()> {
    let stdin = state_for(kind, stdin);
    for hook in hooks.into_iter().flatten() {
        run_hook(kind, hook, &stdin)?;
    }
    Ok(())
}

/// The state a hook of `kind` reads. `prestart`, the legacy hook, reads the
/// container as `created`, as crun passes it and runtime-tools checks it
/// (the spec has it run once the environment exists); the other hooks of
/// `create` read `creating`, as from runc.
fn state_for<'a>(kind: &str, stdin: &'a [u8]) -> std::borrow::Cow<'a, [u8]> {
    if kind != "prestart" {
        return stdin.into();
    }
    match serde_json::from_slice::<serde_json::Value>(stdin) {
        Ok(mut state) if state.get("status").is_some() => {
            state["status"] = "created".into();
            state.to_string().into_bytes().into()
        }
        _ => stdin.into(),
    }
}

/// Run every hook of a list, logging each failure as a warning: the spec
/// says a failing `poststart` or `poststop` hook MUST NOT change the flow
/// ("the remaining hooks and lifecycle continue as if the hook had
/// succeeded").
fn run_list_warning(kind: &'static str, hooks: Option<&Vec<Hook>>, stdin: &[u8]) {
    for hook in hooks.into_iter().flatten() {
        if let Err(e) = run_hook(kind, hook, stdin) {
            crate::warning::warn(&crate::error_chain(&e));
        }
    }
}

/// `poststart` hooks, after the user process started. A failure is a
/// warning, never an error, so this always returns `Ok`.
pub fn run_poststart(state: &ContainerState) -> Result<()> {
    if let Some(hooks) = &state.hooks {
        let json = state_json(state, "running");
        run_list_warning("poststart", hooks.poststart().as_ref(), &json);
    }
    Ok(())
}

/// `poststop` hooks, after the container is deleted. A failure is a
/// warning and the deletion stands, so this always returns `Ok`.
pub fn run_poststop(state: &ContainerState) -> Result<()> {
    if let Some(hooks) = &state.hooks {
        let json = state_json(state, "stopped");
        run_list_warning("poststop", hooks.poststop().as_ref(), &json);
    }
    Ok(())
}
