//! `dir:PATH`: containers/image's directory transport — `manifest.json`,
//! each blob as a file named by its hex digest, and a `version` file.

use super::{Dest, ResolvedImage, Source};
use crate::error::{Error, IoContext, Result};
use crate::manifest::{self, Descriptor};
use crate::verify::{open_blob_file, write_blob_file};
use std::io::Read;
use std::path::{Path, PathBuf};

const VERSION: &str = "Directory Transport Version: 1.1\n";

/// An image in a `dir:` directory.
pub struct DirSource {
    root: PathBuf,
}

impl DirSource {
    /// Open the directory at `root`.
    pub fn open(root: &Path) -> Result<DirSource> {
        if !root.join("manifest.json").is_file() {
            return Err(Error::NotFound(format!(
                "dir:{} (no manifest.json)",
                root.display()
            )));
        }
        Ok(DirSource {
            root: root.to_path_buf(),
        })
    }
}

impl Source for DirSource {
    fn describe(&self) -> String {
        format!("dir:{}", self.root.display())
    }

    fn manifest(&self) -> Result<(Vec<u8>, String)> {
        let p = self.root.join("manifest.json");
        let bytes = std::fs::read(&p).ctx("read", &p)?;
        let mt = manifest::detect_media_type(&bytes, None);
        Ok((bytes, mt))
    }

    fn instance(&self, desc: &Descriptor) -> Result<Vec<u8>> {
        let p = self
            .root
            .join(format!("{}.manifest.json", desc.digest.hex()));
        std::fs::read(&p).ctx("read", &p)
    }

    fn blob<'a>(&'a self, desc: &Descriptor) -> Result<Box<dyn Read + Send + 'a>> {
        Ok(Box::new(open_blob_file(
            &self.root.join(desc.digest.hex()),
            desc,
        )?))
    }
}

/// Writing an image into a `dir:` directory.
pub struct DirDest {
    root: PathBuf,
}

impl DirDest {
    /// Create (or reuse) the directory at `root`.
    pub fn create(root: &Path) -> Result<DirDest> {
        std::fs::create_dir_all(root).ctx("create", root)?;
        Ok(DirDest {
            root: root.to_path_buf(),
        })
    }
}

impl Dest for DirDest {
    fn describe(&self) -> String {
        format!("dir:{}", self.root.display())
    }

    fn has_blob(&self, desc: &Descriptor) -> Result<bool> {
        Ok(
            std::fs::metadata(self.root.join(desc.digest.hex()))
                .is_ok_and(|m| m.len() == desc.size),
        )
    }

    fn put_blob(&self, desc: &Descriptor, content: &mut dyn Read) -> Result<()> {
        write_blob_file(&self.root.join(desc.digest.hex()), desc, content)
    }

    fn put_manifest(&mut self, bytes: &[u8], _: &str, _: &ResolvedImage) -> Result<()> {
        let p = self.root.join("manifest.json");
        std::fs::write(&p, bytes).ctx("write", &p)
    }

    fn commit(self: Box<Self>) -> Result<()> {
        let p = self.root.join("version");
        std::fs::write(&p, VERSION).ctx("write", &p)
    }
}
