//! A private engine for Containerfile builds and working-container tests:
//! its own store (holding the busybox fixture as `busybox`), runroot and
//! cgroup parent under `/berth-test/`, berth-runtime of this build, and a
//! build context directory. On drop: working containers removed, the cgroup parent
//! removed, and the directory deleted only when nothing is mounted in it.
#![allow(dead_code)]

use berth_build::stages::{build, BuildError, BuildOptions};
use berth_build::Builder;
use berth_engine::{Engine, EngineOptions};
use std::path::{Path, PathBuf};

/// berth-runtime of this build (`cargo test -p berth-build` does not build
/// it), built once per process.
pub fn runtime() -> PathBuf {
    berth_testkit::build_workspace_bins(&["berth-runtime"]).join("berth-runtime")
}

pub struct Env {
    pub dir: tempfile::TempDir,
    pub cgroup_parent: String,
    pub engine: Engine,
    pub ctx: berth_image::Context,
}

impl Env {
    pub fn new() -> Env {
        let dir = tempfile::Builder::new()
            .prefix("berth-buildfile-")
            .tempdir_in("/dev/shm")
            .unwrap();
        let cgroup_parent = berth_testkit::test_cgroup_path(&berth_testkit::unique_name("build"));
        let layout = dir.path().join("layout");
        berth_testkit::write_oci_layout(&layout, "t").unwrap();
        let store =
            berth_storage::Store::open(berth_storage::StoreOptions::at(dir.path().join("store")))
                .unwrap();
        berth_image::copy(
            &berth_image::Context::default(),
            Some(&store),
            &berth_image::ImageRef::Oci {
                path: layout,
                reference: Some("t".into()),
            },
            &berth_image::ImageRef::Storage("busybox:latest".into()),
            &berth_image::CopyOptions::default(),
            &berth_image::progress::NoProgress,
        )
        .unwrap();
        std::fs::create_dir(dir.path().join("context")).unwrap();
        let engine = Engine::new(
            store,
            berth_image::Context::default(),
            EngineOptions {
                runroot: dir.path().join("run"),
                runtime: runtime(),
                cgroup_parent: cgroup_parent.clone(),
                monitor: vec!["/bin/false".into()],
            },
        );
        Env {
            dir,
            cgroup_parent,
            engine,
            ctx: berth_image::Context::default(),
        }
    }

    pub fn context(&self) -> PathBuf {
        self.dir.path().join("context")
    }

    /// Writes `text` at `rel` in the context, making directories.
    pub fn write(&self, rel: &str, text: &str) {
        let p = self.context().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    /// Options for a build of `containerfile` (written into the context).
    pub fn options(&self, containerfile: &str) -> BuildOptions {
        self.write("Containerfile", containerfile);
        BuildOptions {
            containerfile: self.context().join("Containerfile"),
            context: self.context(),
            layers: true,
            pull: berth_image::PullPolicy::Never,
            ..Default::default()
        }
    }

    /// Builds; returns the image id and what the build printed.
    pub fn build(&self, opts: &BuildOptions) -> Result<(String, String), BuildError> {
        let mut out = Vec::new();
        let id = build(&self.engine, &self.ctx, opts, &mut out)?;
        Ok((id, String::from_utf8_lossy(&out).into_owned()))
    }

    pub fn builder(&self) -> Builder<'_> {
        Builder::new(&self.engine, &self.ctx)
    }

    /// The entry names of a layer tar.
    pub fn names(tar: &[u8]) -> Vec<String> {
        let mut a = tar::Archive::new(tar);
        a.entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                e.path()
                    .unwrap()
                    .to_string_lossy()
                    .trim_end_matches('/')
                    .to_string()
            })
            .collect()
    }

    pub fn store(&self) -> &berth_storage::Store {
        self.engine.store()
    }

    /// The image's config as JSON.
    pub fn config(&self, id: &str) -> serde_json::Value {
        serde_json::from_slice(&self.store().image_config(id).unwrap()).unwrap()
    }

    /// Every layer tar of image `id`, bottom first.
    pub fn layer_tars(&self, id: &str) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let mut next = self.store().image(id).unwrap().top_layer;
        while let Some(l) = next {
            let mut tar = Vec::new();
            self.store().diff(&l, &mut tar).unwrap();
            out.push(tar);
            next = self.store().layer(&l).unwrap().parent;
        }
        out.reverse();
        out
    }

    /// The file at `path` (no leading `/`) as the image's top-most layer
    /// holding it has it, or None.
    pub fn file(&self, id: &str, path: &str) -> Option<(String, u32, u64, u64)> {
        let mut found = None;
        for tar in self.layer_tars(id) {
            let mut a = tar::Archive::new(tar.as_slice());
            for e in a.entries().unwrap() {
                let mut e = e.unwrap();
                let name = e
                    .path()
                    .unwrap()
                    .to_string_lossy()
                    .trim_start_matches("./")
                    .to_string();
                if name.trim_end_matches('/') == path {
                    let mut s = String::new();
                    let h = e.header().clone();
                    let _ = std::io::Read::read_to_string(&mut e, &mut s);
                    found = Some((s, h.mode().unwrap(), h.uid().unwrap(), h.gid().unwrap()));
                }
            }
        }
        found
    }

    pub fn working_containers(&self) -> usize {
        self.engine.working_containers().unwrap().len()
    }

    /// Mounts under this test's directory.
    pub fn mounts(&self) -> Vec<String> {
        let here = self.dir.path().to_string_lossy().into_owned();
        std::fs::read_to_string("/proc/mounts")
            .unwrap()
            .lines()
            .filter(|l| l.contains(&here))
            .map(String::from)
            .collect()
    }
}

/// Builds in one test process run one at a time: the engine's foreground
/// run reaps any child (it is a subreaper for the container's orphans), so
/// two concurrent RUNs in one process can take each other's exit status.
pub fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

pub fn can_build() -> bool {
    berth_testkit::is_root() && Path::new("/proc/self/ns/user").exists()
}

impl Drop for Env {
    fn drop(&mut self) {
        if let Ok(list) = self.engine.working_containers() {
            for c in list {
                let _ = self.engine.remove_working(&c.id);
            }
        }
        berth_testkit::remove_test_cgroup(&self.cgroup_parent);
        if !self.mounts().is_empty() {
            // Never delete a tree with something mounted in it.
            let keep = std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap());
            let _ = keep.keep();
        }
    }
}
