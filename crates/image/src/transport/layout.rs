//! `oci:PATH[:REF]`: an OCI image layout directory (`oci-layout`,
//! `index.json`, `blobs/sha256/<hex>`). Entries are named by the
//! `org.opencontainers.image.ref.name` annotation.

use super::{Dest, Format, ResolvedImage, Source};
use crate::error::{Error, IoContext, Result};
use crate::manifest::{self, media, Descriptor, Index};
use crate::verify::{open_blob_file, write_blob_file};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

/// The annotation naming an entry of `index.json`.
pub const REF_NAME: &str = "org.opencontainers.image.ref.name";
/// The annotation containerd and BuildKit put the full image name in.
pub const CONTAINERD_NAME: &str = "io.containerd.image.name";

/// The image name an index entry's annotations give, read as podman reads
/// them: containerd's name first, then the ref name. A ref name that is
/// only a tag (`v1`, what `skopeo copy … oci-archive:FILE:v1` writes) names
/// no repository: `None`, and the image is stored without a name rather
/// than as podman's `localhost/v1:latest`. podman, and berth, write the full
/// name (`docker.io/library/busybox:latest`) in the ref name.
pub fn image_name(annotations: Option<&BTreeMap<String, String>>) -> Option<String> {
    let a = annotations?;
    if let Some(n) = a.get(CONTAINERD_NAME).filter(|n| !n.is_empty()) {
        return Some(n.clone());
    }
    let r = a.get(REF_NAME)?;
    r.contains(['/', ':', '@']).then(|| r.clone())
}

pub(crate) fn blob_path(root: &Path, desc: &Descriptor) -> PathBuf {
    root.join("blobs/sha256").join(desc.digest.hex())
}

fn read_index(root: &Path) -> Result<Index> {
    let path = root.join("index.json");
    let bytes = std::fs::read(&path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            Error::NotFound(format!("OCI layout {} (no index.json)", root.display()))
        } else {
            Error::Io {
                op: "read",
                path: path.clone(),
                source: e,
            }
        }
    })?;
    serde_json::from_slice(&bytes).map_err(|e| Error::Malformed {
        image: format!("oci:{}", root.display()),
        what: "index",
        reason: e.to_string(),
    })
}

/// An image in an OCI layout.
pub struct LayoutSource {
    root: PathBuf,
    entry: Descriptor,
    name: String,
    /// Keeps an unpacked archive alive while the source is used.
    pub(crate) _tmp: Option<tempfile::TempDir>,
}

impl LayoutSource {
    /// Open the entry `reference` of the layout at `root` (the only entry
    /// when `None`).
    pub fn open(root: &Path, reference: Option<&str>) -> Result<LayoutSource> {
        let index = read_index(root)?;
        let name = format!(
            "oci:{}{}",
            root.display(),
            reference.map(|r| format!(":{r}")).unwrap_or_default()
        );
        let ref_name = |d: &Descriptor| {
            d.annotations
                .as_ref()
                .and_then(|a| a.get(REF_NAME))
                .cloned()
        };
        let entry = match reference {
            Some(r) => index
                .manifests
                .iter()
                .find(|d| ref_name(d).as_deref() == Some(r) || d.digest.as_str() == r)
                .cloned()
                .ok_or_else(|| Error::NotFound(format!("image {r:?} in {name}")))?,
            None => match index.manifests.as_slice() {
                [one] => one.clone(),
                [] => return Err(Error::NotFound(format!("any image in {name}"))),
                _ => {
                    return Err(Error::InvalidTransport {
                        reference: name,
                        reason: "the layout holds several images; name one (oci:PATH:REF)".into(),
                    })
                }
            },
        };
        Ok(LayoutSource {
            root: root.to_path_buf(),
            entry,
            name,
            _tmp: None,
        })
    }

    fn read_small(&self, desc: &Descriptor) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        open_blob_file(&blob_path(&self.root, desc), desc)?
            .read_to_end(&mut out)
            .map_err(|e| crate::registry::blob_error(e, &desc.digest))?;
        Ok(out)
    }
}

impl Source for LayoutSource {
    fn describe(&self) -> String {
        self.name.clone()
    }

    fn manifest(&self) -> Result<(Vec<u8>, String)> {
        let bytes = self.read_small(&self.entry)?;
        let mt = manifest::detect_media_type(&bytes, Some(&self.entry.media_type));
        Ok((bytes, mt))
    }

    fn instance(&self, desc: &Descriptor) -> Result<Vec<u8>> {
        self.read_small(desc)
    }

    fn blob<'a>(&'a self, desc: &Descriptor) -> Result<Box<dyn Read + Send + 'a>> {
        Ok(Box::new(open_blob_file(
            &blob_path(&self.root, desc),
            desc,
        )?))
    }

    fn names(&self) -> Vec<String> {
        image_name(self.entry.annotations.as_ref())
            .into_iter()
            .collect()
    }
}

/// Writing one image into an OCI layout (created if missing), optionally
/// packed into an archive at commit.
pub struct LayoutDest {
    root: PathBuf,
    reference: Option<String>,
    manifest: Option<Descriptor>,
    archive: Option<(PathBuf, tempfile::TempDir)>,
}

impl LayoutDest {
    /// Write into the layout at `root`, naming the image `reference`.
    /// With `archive`, `root` is a temporary directory packed into that
    /// file at commit.
    pub fn create(
        root: &Path,
        reference: Option<String>,
        archive: Option<(PathBuf, tempfile::TempDir)>,
    ) -> Result<LayoutDest> {
        let blobs = root.join("blobs/sha256");
        std::fs::create_dir_all(&blobs).ctx("create", &blobs)?;
        let marker = root.join("oci-layout");
        if !marker.exists() {
            std::fs::write(&marker, br#"{"imageLayoutVersion":"1.0.0"}"#).ctx("write", &marker)?;
        }
        Ok(LayoutDest {
            root: root.to_path_buf(),
            reference,
            manifest: None,
            archive,
        })
    }
}

impl Dest for LayoutDest {
    fn describe(&self) -> String {
        match &self.archive {
            Some((f, _)) => format!("oci-archive:{}", f.display()),
            None => format!("oci:{}", self.root.display()),
        }
    }

    fn required_format(&self) -> Option<Format> {
        // containers/image writes only OCI manifests into a layout, and
        // reads only those from one.
        Some(Format::Oci)
    }

    fn compresses_plain_layers(&self) -> bool {
        true
    }

    fn has_blob(&self, desc: &Descriptor) -> Result<bool> {
        let p = blob_path(&self.root, desc);
        Ok(std::fs::metadata(p).is_ok_and(|m| m.len() == desc.size))
    }

    fn put_blob(&self, desc: &Descriptor, content: &mut dyn Read) -> Result<()> {
        write_blob_file(&blob_path(&self.root, desc), desc, content)
    }

    fn put_manifest(&mut self, bytes: &[u8], media_type: &str, _: &ResolvedImage) -> Result<()> {
        let mut desc = Descriptor::of(media_type, bytes);
        write_blob_file(&blob_path(&self.root, &desc), &desc, &mut &bytes[..])?;
        if let Some(r) = &self.reference {
            desc.annotations = Some(BTreeMap::from([(REF_NAME.to_string(), r.clone())]));
        }
        self.manifest = Some(desc);
        Ok(())
    }

    fn commit(self: Box<Self>) -> Result<()> {
        let Some(desc) = self.manifest else {
            return Ok(());
        };
        let mut index = match read_index(&self.root) {
            Ok(i) => i,
            Err(Error::NotFound(_)) => Index {
                schema_version: 2,
                media_type: Some(media::OCI_INDEX.into()),
                manifests: Vec::new(),
                annotations: None,
            },
            Err(e) => return Err(e),
        };
        let name = |d: &Descriptor| {
            d.annotations
                .as_ref()
                .and_then(|a| a.get(REF_NAME))
                .cloned()
        };
        let new_name = name(&desc);
        index.manifests.retain(|d| match &new_name {
            Some(n) => name(d).as_ref() != Some(n),
            None => d.digest != desc.digest,
        });
        index.manifests.push(desc);
        let bytes = serde_json::to_vec(&index).map_err(|e| Error::Malformed {
            image: format!("oci:{}", self.root.display()),
            what: "index",
            reason: e.to_string(),
        })?;
        let path = self.root.join("index.json");
        let tmp = self.root.join(".index.json.tmp");
        std::fs::write(&tmp, bytes).ctx("write", &tmp)?;
        std::fs::rename(&tmp, &path).ctx("rename", &path)?;
        if let Some((file, _tmpdir)) = &self.archive {
            super::archive::pack_dir(&self.root, file)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_names_from_annotations() {
        let name = |pairs: &[(&str, &str)]| {
            let a: BTreeMap<String, String> = pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            image_name(Some(&a))
        };
        let full = "docker.io/library/busybox:latest";
        assert_eq!(name(&[(REF_NAME, full)]).as_deref(), Some(full));
        assert_eq!(
            name(&[(REF_NAME, "localhost/foo:bar")]).as_deref(),
            Some("localhost/foo:bar")
        );
        assert_eq!(name(&[(REF_NAME, "foo:bar")]).as_deref(), Some("foo:bar"));
        // Only a tag: no repository to name.
        assert_eq!(name(&[(REF_NAME, "latest")]), None);
        assert_eq!(name(&[(REF_NAME, "v1.2")]), None);
        // containerd's annotation wins, as in podman.
        assert_eq!(
            name(&[(REF_NAME, "latest"), (CONTAINERD_NAME, full)]).as_deref(),
            Some(full)
        );
        assert_eq!(name(&[]), None);
        assert_eq!(image_name(None), None);
    }
}
