//! `--init`: berth-init (a binary of this crate) bound read-only into the
//! container at [`INIT_PATH`] and put before the command, so pid 1 is a
//! process that forwards signals, reaps orphans and passes the command's
//! exit code on (podman's catatonit at /run/podman-init).

use crate::error::{Error, Result};
use crate::options::CreateOptions;
use serde_json::{json, Value};
use std::path::PathBuf;

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
pub(crate) fn apply(config: &mut Value, opts: &CreateOptions) -> Result<()> {
    if !opts.init {
        return Ok(());
    }
    let source = locate()?;
    if let Some(args) = config["process"]["args"].as_array_mut() {
        args.insert(0, json!(INIT_PATH));
    }
    if let Some(mounts) = config["mounts"].as_array_mut() {
        mounts.push(json!({
            "destination": INIT_PATH,
            "type": "bind",
            "source": source,
            "options": ["bind", "ro", "rprivate"],
        }));
    }
    Ok(())
}
