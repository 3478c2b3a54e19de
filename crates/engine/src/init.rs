//! `--init`: berth-init (a binary of this crate) bound read-only into the
//! container at [`INIT_PATH`] and put before the command, so pid 1 is a
//! process that forwards signals, reaps orphans and passes the command's
//! exit code on (podman's catatonit at /run/podman-init).

use crate::error::{Error, Result};
use crate::options::CreateOptions;
use oci_spec::runtime::{MountBuilder, Spec};
use std::path::{Path, PathBuf};

/// Where the init is inside the container.
pub const INIT_PATH: &str = "/run/berth-init";

/// berth-init next to the running binary (berth, berth-monitor), as the
/// CLI finds berth-monitor next to berth.
fn locate() -> Result<PathBuf> {
    let exe = std::env::current_exe().map_err(|e| Error::InvalidOption {
        option: "--init",
        value: String::new(),
        reason: format!("cannot find the running binary: {e}"),
    })?;
    let init = exe.with_file_name("berth-init");
    if init.is_file() {
        return Ok(init);
    }
    Err(Error::InvalidOption {
        option: "--init",
        value: String::new(),
        reason: format!("{} is missing", init.display()),
    })
}

/// With `--init`, bind the init in and make it the process's argv[0].
pub(crate) fn apply(config: &mut Spec, opts: &CreateOptions) -> Result<()> {
    if !opts.init {
        return Ok(());
    }
    put_first(config, &locate()?)
}

/// Put the init at `source` before the command and bind it in read-only.
fn put_first(config: &mut Spec, source: &Path) -> Result<()> {
    if let Some(process) = config.process_mut() {
        let mut args = process.args().clone().unwrap_or_default();
        args.insert(0, INIT_PATH.to_string());
        process.set_args(Some(args));
    }
    let mount = MountBuilder::default()
        .destination(INIT_PATH)
        .typ("bind")
        .source(source)
        .options(vec!["bind".into(), "ro".into(), "rprivate".into()])
        .build()
        .map_err(|source| Error::Spec {
            what: "mounts (--init)",
            source,
        })?;
    config.mounts_mut().get_or_insert_with(Vec::new).push(mount);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_runs_first_from_a_read_only_bind() {
        let mut spec: Spec = serde_json::from_str(
            r#"{"ociVersion":"1.0.2","process":{"user":{"uid":0,"gid":0},"cwd":"/",
                "args":["sh","-c","true"]},"mounts":[]}"#,
        )
        .unwrap();
        put_first(&mut spec, Path::new("/usr/libexec/berth-init")).unwrap();
        let args = spec.process().as_ref().unwrap().args().clone().unwrap();
        assert_eq!(args, [INIT_PATH, "sh", "-c", "true"]);
        let v = serde_json::to_value(&spec).unwrap();
        assert_eq!(
            v["mounts"],
            serde_json::json!([{
                "destination": INIT_PATH, "type": "bind",
                "source": "/usr/libexec/berth-init", "options": ["bind", "ro", "rprivate"],
            }])
        );
    }
}
