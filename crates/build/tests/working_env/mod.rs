//! A private engine for working-container tests: its own store (holding
//! the busybox fixture as `busybox`), runroot and cgroup parent under
//! `/berth-test/`, and berth-runtime of this build. On drop: every working
//! container removed (unmounted), the cgroup parent removed, and the
//! directory deleted only when nothing is mounted under it.
#![allow(dead_code)]

use berth_build::Builder;
use berth_engine::{Engine, EngineOptions};
use std::path::{Path, PathBuf};
use std::process::Command;

/// berth-runtime of this build (`cargo test -p berth-build` does not build
/// it): built once per process, found next to the test's deps directory.
pub fn runtime() -> PathBuf {
    static BUILD: std::sync::Once = std::sync::Once::new();
    BUILD.call_once(|| {
        let st = Command::new(env!("CARGO"))
            .args(["build", "-q", "-p", "berth-runtime", "--bins"])
            .env_remove("CARGO_MANIFEST_DIR")
            .status()
            .expect("cargo build");
        assert!(st.success(), "building berth-runtime failed");
    });
    let exe = std::env::current_exe().unwrap();
    exe.parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("berth-runtime")
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
            .prefix("berth-working-")
            .tempdir_in("/dev/shm")
            .unwrap();
        let cgroup_parent = berth_testkit::test_cgroup_path(&berth_testkit::unique_name("working"));
        let layout = dir.path().join("layout");
        berth_testkit::write_oci_layout(&layout, "t").unwrap();
        let store = open_store(dir.path());
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
        let runroot = dir.path().join("run");
        let engine = Engine::new(
            store,
            berth_image::Context::default(),
            EngineOptions {
                runroot,
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

    pub fn builder(&self) -> Builder<'_> {
        Builder::new(&self.engine, &self.ctx)
    }

    pub fn store(&self) -> &berth_storage::Store {
        self.engine.store()
    }

    /// Every layer tar of image `id`, bottom first, as storage writes them
    /// for a push.
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

fn open_store(dir: &Path) -> berth_storage::Store {
    berth_storage::Store::open(berth_storage::StoreOptions::at(dir.join("store"))).unwrap()
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
