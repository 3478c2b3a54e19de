//! `exec -d` and `exec --privileged`: a process left running in the
//! container (the runtime's `exec --detach`, stdio on /dev/null, the exec
//! process reparented away from us once the runtime returns), and the
//! full capability set for a privileged exec.

use crate::engine::Engine;
use crate::error::{Error, IoContext, Result};
use crate::exec_process::ExecOptions;
use oci_spec::runtime::{Capabilities, Capability, LinuxCapabilities, LinuxCapabilitiesBuilder};
use std::io::Read;
use std::process::Stdio;
use std::str::FromStr;

impl Engine {
    /// Start `opts.command` in running container `key` and return once it
    /// runs; an exec session id (64 hex digits), as podman prints.
    pub fn exec_detached(&self, key: &str, opts: &ExecOptions) -> Result<String> {
        let (c, file) = self.exec_process_file(key, opts)?;
        // The runtime's errors go to a file, not a pipe: the process left
        // running inherits the runtime's stderr and would hold a pipe open.
        let errors = file.with_extension("err");
        let status = std::fs::File::create(&errors)
            .ctx("create", &errors)
            .and_then(|err| {
                self.runtime
                    .exec_detached_command(&c.id, &file)
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(err)
                    .status()
                    .ctx("run", &self.runtime.path)
            });
        let _ = std::fs::remove_file(&file);
        let message = std::fs::read_to_string(&errors).unwrap_or_default();
        let _ = std::fs::remove_file(&errors);
        if !status?.success() {
            return Err(Error::Runtime {
                runtime: self.runtime.path.clone(),
                verb: "exec",
                id: c.id,
                message: message.trim().to_string(),
            });
        }
        session_id()
    }
}

/// 32 random bytes in hex.
fn session_id() -> Result<String> {
    let mut bytes = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .ctx("read", "/dev/urandom")?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Every capability Linux knows, in each set a privileged process has.
pub(crate) fn all_capabilities() -> Result<LinuxCapabilities> {
    let names = crate::confinement::capabilities(true, &[], &[])?;
    let caps = names
        .iter()
        .filter_map(|n| Capability::from_str(n.trim_start_matches("CAP_")).ok())
        .collect::<Capabilities>();
    LinuxCapabilitiesBuilder::default()
        .bounding(caps.clone())
        .effective(caps.clone())
        .permitted(caps)
        .inheritable(Capabilities::new())
        .ambient(Capabilities::new())
        .build()
        .map_err(|source| Error::Spec {
            what: "exec process.capabilities",
            source,
        })
}
