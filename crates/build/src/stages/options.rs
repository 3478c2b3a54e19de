//! What `berth build` asks of a build.

use std::collections::BTreeMap;
use std::path::PathBuf;

use berth_engine::{ImageFormat, NetworkMode};
use berth_image::PullPolicy;

/// A build's options, as podman build's flags give them.
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// The Containerfile (`-f`).
    pub containerfile: PathBuf,
    /// The build context directory.
    pub context: PathBuf,
    /// Names for the image (`-t`), the first given at commit.
    pub tags: Vec<String>,
    /// `--build-arg NAME=VALUE`.
    pub build_args: BTreeMap<String, String>,
    /// `--target`: the stage whose result is the image.
    pub target: Option<String>,
    /// `--layers` (podman's default: on): keep a cache image after each
    /// RUN, COPY and ADD and reuse it.
    pub layers: bool,
    /// `--no-cache`: reuse nothing (cache images are still written when
    /// `layers`).
    pub no_cache: bool,
    /// `--pull`.
    pub pull: PullPolicy,
    /// `--secret id=ID,src=PATH`.
    pub secrets: BTreeMap<String, PathBuf>,
    /// `-v HOST:CTR[:ro]` for every RUN.
    pub volumes: Vec<(PathBuf, String, bool)>,
    /// `--network` for RUN.
    pub network: NetworkMode,
    /// `--format`.
    pub format: ImageFormat,
    /// `--squash`: the result has one layer over... nothing: the whole root.
    pub squash: bool,
    /// `--label`.
    pub labels: Vec<(String, String)>,
    /// `--annotation`: the target image's manifest annotations (OCI
    /// format only).
    pub annotations: Vec<(String, String)>,
    /// `--timestamp` / SOURCE_DATE_EPOCH.
    pub timestamp: Option<i64>,
    /// `--cap-add` for RUN.
    pub cap_add: Vec<String>,
    /// `--cap-drop` for RUN.
    pub cap_drop: Vec<String>,
    /// `-q`: no step output.
    pub quiet: bool,
}
