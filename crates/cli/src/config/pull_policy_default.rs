//! The default `--pull` of `run`/`create` from containers.conf, as podman
//! 4.3 reads it: `[engine] pull_policy` (`missing`, `always`, `never`,
//! `newer` and podman's aliases), from the same files as the other
//! defaults ([`super::containers_conf::files`]), a later file's key
//! overriding an earlier one's. A value berth does not know is an error
//! naming the file.

use super::ContainersConf;
use berth_image::PullPolicy;
use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
struct FileFormat {
    #[serde(default)]
    engine: Engine,
}

#[derive(Debug, Default, Deserialize)]
struct Engine {
    pull_policy: Option<String>,
}

/// The pull policy for a container without `--pull`.
pub fn default_pull_policy(conf: &ContainersConf) -> anyhow::Result<PullPolicy> {
    let mut policy = None;
    for (f, path) in conf.each::<FileFormat>()? {
        if let Some(p) = f.engine.pull_policy {
            policy = Some((p, path));
        }
    }
    match policy {
        Some((p, path)) => p
            .parse()
            .map_err(|e| anyhow::anyhow!("{}: [engine] pull_policy: {e}", path.display())),
        None => Ok(PullPolicy::default()),
    }
}
