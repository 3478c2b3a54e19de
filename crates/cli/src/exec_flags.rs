//! `exec`'s `-d`, `--env-file`, `--privileged` and `--detach-keys`, as
//! podman 4.3 has them.

use anyhow::Context as _;
use clap::Args;
use std::path::PathBuf;

#[derive(Args)]
pub struct ExecFlags {
    /// Leave the process running in the background; print its session id.
    #[arg(short, long)]
    pub detach: bool,
    /// Read NAME=VALUE lines from a file (before any -e).
    #[arg(long)]
    pub env_file: Vec<PathBuf>,
    /// Every capability for the process.
    #[arg(long)]
    pub privileged: bool,
    /// The key sequence that detaches from an `exec -it` ("": none).
    #[arg(long, default_value = berth_engine::detach_keys::DEFAULT)]
    pub detach_keys: String,
}

impl ExecFlags {
    /// The environment the exec asks for: the files' entries, then `-e`'s
    /// (later names win).
    pub fn env_files(&self, env: &[String]) -> anyhow::Result<Vec<String>> {
        let mut out = Vec::new();
        for f in &self.env_file {
            let text = std::fs::read_to_string(f)
                .with_context(|| format!("reading --env-file {}", f.display()))?;
            out.extend(berth_engine::options::parse_env_file(&text));
        }
        out.extend(
            env.iter()
                .filter_map(|e| berth_engine::options::expand_env(e)),
        );
        Ok(out)
    }
}
