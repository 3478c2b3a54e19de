//! The network layer's errors: each says which port, plugin or path.

use std::path::PathBuf;

/// What went wrong in the network layer.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    /// A `-p` value is malformed.
    #[error("invalid --publish {0:?}: {1}")]
    BadPort(String, String),
    /// A host port is taken by someone else.
    #[error("cannot publish {addr}: {errno}")]
    PortInUse {
        /// `ip:port/proto`.
        addr: String,
        /// bind(2)'s errno (EADDRINUSE: the port is taken).
        errno: nix::errno::Errno,
    },
    /// A CNI plugin (or iptables) failed.
    #[error("CNI plugin {plugin} {command}: {message}")]
    Plugin {
        /// The plugin.
        plugin: String,
        /// ADD or DEL.
        command: String,
        /// What it said.
        message: String,
    },
    /// The plugin directory lacks the bridge network's plugins.
    #[error("CNI plugins not found in {} (no {plugin} plugin): install them (Debian: apt install containernetworking-plugins; or set BERTH_CNI_PLUGIN_DIR), or run with --network none or --network host", dir.display())]
    NoPlugins {
        /// The directory looked in.
        dir: PathBuf,
        /// The first plugin missing.
        plugin: String,
    },
    /// The bridge network needs iptables for NAT and published ports.
    #[error("iptables not found in PATH: the bridge network needs it for NAT and published ports; install it (Debian: apt install iptables), or run with --network none or --network host")]
    NoIptables,
    /// A system call failed.
    #[error("{op}: {source}")]
    Sys {
        /// What was being done.
        op: String,
        /// The errno.
        #[source]
        source: nix::errno::Errno,
    },
    /// A file operation failed.
    #[error("{op} {}: {source}", path.display())]
    Io {
        /// What was being done.
        op: &'static str,
        /// On which path.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The cached result is unreadable.
    #[error("network cache {}: {source}", path.display())]
    Cache {
        /// The file.
        path: PathBuf,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
    /// `--ip` asked for an address the network cannot give.
    #[error("invalid --ip {ip}: {reason}")]
    RequestedIp {
        /// The address asked for.
        ip: String,
        /// Why it cannot be had.
        reason: String,
    },
    /// A host-port reservation record is unreadable.
    #[error("port reservation record {}: {source}", path.display())]
    PortRecord {
        /// The file.
        path: PathBuf,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
    /// Writing a record atomically failed.
    #[error(transparent)]
    Write(#[from] berth_storage::Error),
    /// `network create` of a name that exists.
    #[error("network name {0} already used: network already exists")]
    NetworkExists(String),
    /// No network of that name.
    #[error("unable to find network with name or ID {0}: network not found")]
    NetworkNotFound(String),
    /// `network rm` of a network containers use (without `-f`).
    #[error("{0:?} has associated containers with it. Use -f to forcibly delete containers and pods: network is being used")]
    NetworkInUse(String),
    /// `network rm` of the default network.
    #[error("default network {0} cannot be removed")]
    DefaultNetwork(String),
    /// A `network create` option the network cannot have.
    #[error("invalid {option} {value:?}: {reason}")]
    InvalidNetwork {
        /// The option.
        option: &'static str,
        /// Its value.
        value: String,
        /// Why.
        reason: String,
    },
    /// A network's conflist is unreadable.
    #[error("network config {}: {reason}", path.display())]
    NetworkConfig {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
}
