//! The CLI's share of the configuration files (docs/config.md lists them
//! all): `storage.conf` for where the store is and its driver, and
//! `containers.conf` for the defaults of `berth run`/`create`. The image
//! library reads registries.conf, auth.json and policy.json itself.
//!
//! berth's own files under `/etc/berth` extend the containers ecosystem's,
//! never replace them; every system path moves under `$BERTH_CONFIG_ROOT`
//! (see `berth_image::config_paths`).

pub mod containers_conf;
pub mod network_default;
pub mod pull_policy_default;
pub mod storage_conf;

pub use containers_conf::{container_defaults, ContainersConf};
pub use storage_conf::{open_store, StorageSettings};

use anyhow::Context as _;
use clap::parser::ValueSource;
use std::path::Path;

/// Resolve `--root`, `--runroot` and the store's driver: what the command
/// line or its `BERTH_*` variables gave stays; the rest comes from the
/// storage.conf files (see [`storage_conf`]).
pub fn apply_storage_conf(cli: &mut crate::Cli, matches: &clap::ArgMatches) -> anyhow::Result<()> {
    // clap reports a global flag given after the subcommand on the top
    // level's matches too.
    let given = |id: &str| {
        matches
            .value_source(id)
            .is_some_and(|s| s != ValueSource::DefaultValue)
    };
    let given = storage_conf::Given {
        root: given("root").then(|| cli.root.clone()),
        runroot: given("runroot").then(|| cli.runroot.clone()),
        driver: cli.storage_driver.clone(),
    };
    let berth = storage_conf::StorageConf::berth()?;
    let containers = storage_conf::StorageConf::containers()?;
    let (mut root, mut runroot, settings) =
        storage_conf::resolve(&given, berth.as_ref(), containers.as_ref())?;
    // An unprivileged user's store is its own (podman's rootless paths);
    // berth's storage.conf places root's.
    if let Some(uid) = crate::rootless_setup::rootless_uid() {
        let (r, rr) = crate::rootless_setup::default_paths(uid)?;
        root = given.root.clone().unwrap_or(r);
        runroot = given.runroot.clone().unwrap_or(rr);
    }
    cli.root = root;
    cli.runroot = runroot;
    cli.storage = settings;
    Ok(())
}

/// Read `path` as TOML into `T`; `None` when it does not exist (an error
/// when `must_exist`: a file named by a variable or flag). Errors name the
/// file.
fn read_toml<T: serde::de::DeserializeOwned>(
    path: &Path,
    must_exist: bool,
) -> anyhow::Result<Option<T>> {
    match read_text(path, must_exist)? {
        Some(text) => parse_toml(&text, path).map(Some),
        None => Ok(None),
    }
}

/// The text of `path`; `None` when it does not exist (an error when
/// `must_exist`).
fn read_text(path: &Path, must_exist: bool) -> anyhow::Result<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(t) => Ok(Some(t)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !must_exist => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

/// Parse TOML text read from `path` (named in the error).
fn parse_toml<T: serde::de::DeserializeOwned>(text: &str, path: &Path) -> anyhow::Result<T> {
    toml::from_str(text)
        .map_err(|e| anyhow::anyhow!("{}: {}", path.display(), e.to_string().trim_end()))
}

/// The user this runs as is root: some user-level files are read only
/// without it, as podman reads them only rootless.
fn running_as_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}
