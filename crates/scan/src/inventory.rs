//! A whole scan: the OS and its package databases (targeted reads,
//! in-root), then one walk for language packages; for an image or a
//! container, the image's identity and which layer added each package.

use crate::error::Error;
use crate::found::{Findings, Found};
use crate::model::{Inventory, ScanWarning};
use crate::tree::Tree;
use crate::{apk, dpkg, image_info, os_release, rpmdb, walk};
use std::path::Path;

/// What a scan of a tree found, with each package's own record file.
pub struct TreeScan {
    pub inventory: Inventory,
    /// Per package (same order): the file that records it alone.
    pub records: Vec<Option<String>>,
}

/// Scan the tree whose `/` is host path `root` (a mounted image, an
/// unpacked rootfs). Nothing in it is executed; every read stays inside.
pub fn scan_tree(root: &Path) -> Result<TreeScan, Error> {
    scan_tree_with(root, walk::WalkOptions::default())
}

/// [`scan_tree`] with walk options (`frozen` for a tree nothing changes
/// while it is scanned: an image's read-only mount).
pub fn scan_tree_with(root: &Path, opts: walk::WalkOptions) -> Result<TreeScan, Error> {
    let tree = Tree::open(root)?;
    let mut warnings: Vec<ScanWarning> = Vec::new();
    let os = os_release::read(&tree, &mut warnings);
    let mut findings = Findings::default();
    dpkg::read(&tree, &mut findings);
    apk::read(&tree, &mut findings);
    rpmdb::read(&tree, &mut findings);
    warnings.append(&mut findings.warnings);
    let mut records = Vec::new();
    let mut packages = Vec::new();
    for Found { package, record } in findings.found {
        records.push(record);
        packages.push(package);
    }
    let root_fd = tree.reader().open_dir("/").map_err(|e| Error::Open {
        path: root.to_path_buf(),
        source: Box::new(tree.reader().error("open", "/", e)),
    })?;
    let walked = walk::walk(&root_fd, opts);
    for p in walked.packages {
        records.push(Some(p.location.clone()));
        packages.push(p);
    }
    warnings.extend(walked.warnings);
    Ok(TreeScan {
        inventory: Inventory {
            image: None,
            os,
            packages,
            warnings,
        },
        records,
    })
}

/// Scan container `key`, else image `key`, mounted read-only for the scan
/// through the engine (storage counts the mount; it is undone after).
pub fn scan(engine: &berth_engine::Engine, key: &str) -> Result<Inventory, Error> {
    if engine.tree_kind(key)?.is_none() {
        return Err(Error::NotFound(key.to_string()));
    }
    let view = engine.view_tree(key)?;
    let TreeScan {
        mut inventory,
        records,
    } = scan_tree_with(
        view.path(),
        walk::WalkOptions {
            // An image's mount is its read-only layers; a container's
            // tree may change while it is read.
            frozen: matches!(view.kind(), berth_engine::TreeKind::Image(_)),
        },
    )?;
    if let (Some(img), Some(config)) = (&view.image, &view.config) {
        match image_info::from_config(key, &img.id, Some(img.manifest_digest.to_string()), config) {
            Ok(info) => inventory.image = Some(info),
            Err(e) => inventory.warnings.push(ScanWarning {
                path: format!("image config of {key}"),
                line: None,
                message: e.to_string(),
            }),
        }
    }
    let asked: Vec<(usize, &str)> = records
        .iter()
        .enumerate()
        .filter_map(|(i, r)| r.as_deref().map(|r| (i, r)))
        .collect();
    let paths: Vec<&str> = asked.iter().map(|(_, p)| *p).collect();
    let layers = view.added_by(&paths)?;
    for ((i, _), layer) in asked.iter().zip(layers) {
        inventory.packages[*i].layer = layer.and_then(|l| l.diff_id.clone());
    }
    Ok(inventory)
}
