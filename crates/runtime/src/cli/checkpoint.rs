//! `checkpoint` and `restore`: runc's flags over `berth_runtime::checkpoint`.

use berth_runtime::checkpoint::{self, CheckpointOptions, CriuFlags, RestoreOptions};
use berth_runtime::state::StateRoot;
use clap::Args;
use std::path::{Path, PathBuf};

/// Flags both verbs take.
#[derive(Args)]
pub struct SharedArgs {
    /// Where the images are (default: ./checkpoint).
    #[arg(long)]
    image_path: Option<PathBuf>,
    /// Where CRIU writes its logs (default: the image path).
    #[arg(long)]
    work_path: Option<PathBuf>,
    /// Allow open TCP connections.
    #[arg(long)]
    tcp_established: bool,
    /// Allow external unix sockets.
    #[arg(long)]
    ext_unix_sk: bool,
    /// Allow shell jobs (a controlling terminal).
    #[arg(long)]
    shell_job: bool,
    /// Handle file locks.
    #[arg(long)]
    file_locks: bool,
    /// CRIU's cgroup mode: soft, full, strict or ignore.
    #[arg(long)]
    manage_cgroups_mode: Option<String>,
}

impl SharedArgs {
    fn flags(self, criu: Option<&Path>) -> CriuFlags {
        CriuFlags {
            criu: criu.map(Path::to_path_buf),
            image_path: self
                .image_path
                .unwrap_or_else(|| PathBuf::from("checkpoint")),
            work_path: self.work_path,
            tcp_established: self.tcp_established,
            ext_unix_sk: self.ext_unix_sk,
            shell_job: self.shell_job,
            file_locks: self.file_locks,
            manage_cgroups_mode: self.manage_cgroups_mode,
        }
    }
}

/// `checkpoint`'s flags.
#[derive(Args)]
pub struct CheckpointArgs {
    #[command(flatten)]
    shared: SharedArgs,
    /// Keep the container running after the checkpoint.
    #[arg(long)]
    leave_running: bool,
    /// Dump memory only, for a later dump with --parent-path.
    #[arg(long)]
    pre_dump: bool,
    /// A pre-dump's images, relative to the image path.
    #[arg(long)]
    parent_path: Option<PathBuf>,
    /// The container id.
    id: String,
}

/// `restore`'s flags.
#[derive(Args)]
pub struct RestoreArgs {
    #[command(flatten)]
    shared: SharedArgs,
    /// Path to the bundle directory.
    #[arg(short, long, default_value = ".")]
    bundle: PathBuf,
    /// Return once restored.
    #[arg(short, long)]
    detach: bool,
    /// File to write the restored init's pid to.
    #[arg(long)]
    pid_file: Option<PathBuf>,
    /// Accepted for runc compatibility (CRIU sets up the root itself).
    #[arg(long)]
    no_pivot: bool,
    /// The container id.
    id: String,
}

/// `checkpoint ID`.
pub fn run_checkpoint(
    root: &StateRoot,
    a: CheckpointArgs,
    criu: Option<&Path>,
) -> anyhow::Result<()> {
    let opts = CheckpointOptions {
        criu: a.shared.flags(criu),
        leave_running: a.leave_running,
        pre_dump: a.pre_dump,
        parent_path: a.parent_path,
    };
    Ok(checkpoint::checkpoint(root, &a.id, &opts)?)
}

/// `restore ID`; returns the exit code.
pub fn run_restore(root: &StateRoot, a: RestoreArgs, criu: Option<&Path>) -> anyhow::Result<i32> {
    let opts = RestoreOptions {
        criu: a.shared.flags(criu),
        id: a.id,
        bundle: a.bundle,
        detach: a.detach,
        pid_file: a.pid_file,
    };
    Ok(checkpoint::restore(root, &opts)?)
}
