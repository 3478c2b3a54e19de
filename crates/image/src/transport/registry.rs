//! `docker://`: a registry through the distribution API. Pulls try the
//! configured mirrors, then the location; pushes go to the location.

use super::{Dest, ResolvedImage, Source};
use crate::context::Context;
use crate::error::{Error, Result};
use crate::manifest::{self, Descriptor};
use crate::policy::{Policy, PolicyImage};
use crate::progress::{NoProgress, Progress};
use crate::reference::Reference;
use crate::registry::Client;
use std::io::Read;

/// An image in a registry, reached through one endpoint that answered.
pub struct RegistrySource {
    client: Client,
    /// The reference at the endpoint used (after rewrites and mirrors).
    pub endpoint: Reference,
    /// The reference the user asked for.
    pub reference: Reference,
    manifest: (Vec<u8>, String),
}

impl RegistrySource {
    /// Resolve `name` (short names through the search registries), and
    /// fetch its manifest from the first endpoint that has it. No policy
    /// check: for looking at an image, not copying it (skopeo inspect).
    pub fn open(ctx: &Context, name: &str) -> Result<RegistrySource> {
        RegistrySource::open_checked(ctx, name, None, &NoProgress)
    }

    /// [`open`](Self::open) for a pull or copy: each candidate name must
    /// satisfy `policy` before anything is fetched from it. A rejected
    /// candidate is skipped like one that is not found, as podman does; with
    /// a single candidate, the rejection is the error.
    pub fn open_admitted(ctx: &Context, name: &str, policy: &Policy) -> Result<RegistrySource> {
        RegistrySource::open_checked(ctx, name, Some(policy), &NoProgress)
    }

    /// [`open_admitted`](Self::open_admitted) for `pull` and `run`, which
    /// say what they try as podman does: `Resolving "NAME" using
    /// unqualified-search registries (FILE)` for a short name, then
    /// `Trying to pull REFERENCE...` for each candidate, as `progress`
    /// messages (none when quiet).
    pub fn open_for_pull(
        ctx: &Context,
        name: &str,
        policy: &Policy,
        progress: &dyn Progress,
    ) -> Result<RegistrySource> {
        if let Some(line) = ctx.conf.resolving_line(name) {
            progress.message(&line);
        }
        RegistrySource::open_checked(ctx, name, Some(policy), progress)
    }

    fn open_checked(
        ctx: &Context,
        name: &str,
        policy: Option<&Policy>,
        progress: &dyn Progress,
    ) -> Result<RegistrySource> {
        let candidates = ctx.conf.candidates(name)?;
        let mut errors = Vec::new();
        let mut rejections = Vec::new();
        for reference in &candidates {
            if let Some(policy) = policy {
                if let Err(e) = policy.check(&PolicyImage::docker(reference)) {
                    errors.push(format!("{reference}: {e}"));
                    rejections.push(e);
                    continue;
                }
            }
            progress.message(&format!("Trying to pull {reference}..."));
            for ep in ctx.endpoints(reference)? {
                let attempt = (|| {
                    let client = ctx.client(&ep)?;
                    let (bytes, reported) =
                        client.manifest(&ep.reference.repository, &ep.reference.manifest_ref())?;
                    if let Some(want) = &ep.reference.digest {
                        let actual = berth_storage::Digest::of(&bytes);
                        if &actual != want {
                            return Err(Error::DigestMismatch {
                                what: "manifest",
                                expected: want.to_string(),
                                actual: actual.to_string(),
                            });
                        }
                    }
                    let mt = manifest::detect_media_type(&bytes, reported.as_deref());
                    Ok((client, bytes, mt))
                })();
                match attempt {
                    Ok((client, bytes, mt)) => {
                        return Ok(RegistrySource {
                            client,
                            endpoint: ep.reference.clone(),
                            reference: reference.clone(),
                            manifest: (bytes, mt),
                        })
                    }
                    Err(e) if candidates.len() == 1 && !ep.mirror => return Err(e),
                    Err(e) => {
                        tracing::debug!(endpoint = %ep.reference, error = %e, "endpoint failed");
                        errors.push(format!("{}: {e}", ep.reference));
                    }
                }
            }
        }
        // Every candidate refused by the policy: that is the answer, not
        // "not found".
        if rejections.len() == candidates.len() {
            if let Some(first) = rejections.into_iter().next() {
                return Err(first);
            }
        }
        Err(Error::NotFound(format!(
            "image {name} (tried {})",
            errors.join("; ")
        )))
    }

    /// The client of the endpoint that answered.
    pub fn client(&self) -> &Client {
        &self.client
    }
}

impl Source for RegistrySource {
    fn describe(&self) -> String {
        format!("docker://{}", self.reference)
    }

    fn manifest(&self) -> Result<(Vec<u8>, String)> {
        Ok(self.manifest.clone())
    }

    fn instance(&self, desc: &Descriptor) -> Result<Vec<u8>> {
        let (bytes, _) = self
            .client
            .manifest(&self.endpoint.repository, desc.digest.as_str())?;
        Ok(bytes)
    }

    fn blob<'a>(&'a self, desc: &Descriptor) -> Result<Box<dyn Read + Send + 'a>> {
        Ok(Box::new(self.client.blob(&self.endpoint.repository, desc)))
    }
}

/// A registry repository to push to.
pub struct RegistryDest {
    client: Client,
    reference: Reference,
    /// Another repository of the same registry to mount blobs from.
    pub mount_from: Option<String>,
}

impl RegistryDest {
    /// Open the push endpoint of `reference`.
    pub fn open(ctx: &Context, reference: &Reference) -> Result<RegistryDest> {
        let ep = ctx.push_endpoint(reference)?;
        Ok(RegistryDest {
            client: ctx.client(&ep)?,
            reference: ep.reference,
            mount_from: None,
        })
    }

    /// The reference pushed to (after registries.conf rewrites).
    pub fn reference(&self) -> &Reference {
        &self.reference
    }

    /// Whether the destination has blob `desc` (HEAD) or mounted it from
    /// one of `from` (repositories of the same registry). A failed mount
    /// attempt counts as not available.
    pub fn has_or_mount(&self, desc: &Descriptor, from: &[String]) -> bool {
        match self.client.has_blob(&self.reference.repository, desc) {
            Ok(true) => return true,
            Ok(false) => {}
            Err(e) => tracing::debug!(blob = %desc.digest, error = %e, "HEAD failed"),
        }
        for repo in from {
            match self
                .client
                .mount_blob(&self.reference.repository, repo, desc)
            {
                Ok(true) => {
                    tracing::debug!(blob = %desc.digest, from = %repo, "mounted");
                    return true;
                }
                Ok(false) => {}
                Err(e) => {
                    tracing::debug!(blob = %desc.digest, from = %repo, error = %e, "mount failed")
                }
            }
        }
        false
    }
}

impl Dest for RegistryDest {
    fn describe(&self) -> String {
        format!("docker://{}", self.reference)
    }

    fn compresses_plain_layers(&self) -> bool {
        true
    }

    fn has_blob(&self, desc: &Descriptor) -> Result<bool> {
        if self.client.has_blob(&self.reference.repository, desc)? {
            return Ok(true);
        }
        if let Some(from) = &self.mount_from {
            if from != &self.reference.repository {
                return self
                    .client
                    .mount_blob(&self.reference.repository, from, desc);
            }
        }
        Ok(false)
    }

    fn put_blob(&self, desc: &Descriptor, content: &mut dyn Read) -> Result<()> {
        let chunked = std::env::var_os("BERTH_PUSH_CHUNKED").is_some();
        self.client
            .upload_blob(&self.reference.repository, desc, content, chunked)
    }

    fn put_manifest(&mut self, bytes: &[u8], media_type: &str, _: &ResolvedImage) -> Result<()> {
        let digest = berth_storage::Digest::of(bytes);
        let tag = self
            .reference
            .tag
            .clone()
            .unwrap_or_else(|| digest.to_string());
        self.client
            .put_manifest(&self.reference.repository, &tag, bytes, media_type)
    }

    fn commit(self: Box<Self>) -> Result<()> {
        Ok(())
    }
}
