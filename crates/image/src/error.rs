//! The crate's error type: every variant names the image, blob, registry or
//! file it is about, so a user can act on it.

use std::path::PathBuf;

/// Errors returned by the image library.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An image reference does not parse.
    #[error("invalid image reference {reference:?}: {reason}")]
    InvalidReference {
        /// The text given.
        reference: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A transport name (`docker://`, `oci:`, …) is unknown or its argument malformed.
    #[error("invalid transport reference {reference:?}: {reason}")]
    InvalidTransport {
        /// The text given.
        reference: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A short name matched several search registries, or none is configured.
    #[error("short name {name:?} {reason}")]
    ShortName {
        /// The short name.
        name: String,
        /// Why it cannot be resolved.
        reason: String,
    },
    /// A configuration file (registries.conf, auth.json, policy.json) does
    /// not parse, or a file named explicitly is missing.
    #[error("config file {path}: {reason}")]
    Config {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        reason: String,
    },
    /// The registry is marked blocked in registries.conf.
    #[error("registry {0} is blocked in registries.conf")]
    Blocked(String),
    /// The signature policy (policy.json) rejects the image.
    #[error("{image} is rejected by the signature policy: {scope} in {policy} is \"reject\"")]
    PolicyRejected {
        /// The image, with its transport.
        image: String,
        /// Which scope's requirements rejected it.
        scope: String,
        /// The policy file.
        policy: String,
    },
    /// The signature policy asks for a signature berth cannot verify.
    #[error(
        "{image} must carry a verified signature ({requirement} for {scope} in {policy}), \
         and berth cannot verify image signatures yet: refusing the image rather than \
         accepting it unverified"
    )]
    SignatureUnverifiable {
        /// The image, with its transport.
        image: String,
        /// `signedBy`, `sigstoreSigned` or `signedBaseLayer`.
        requirement: String,
        /// Which scope's requirements ask for it.
        scope: String,
        /// The policy file.
        policy: String,
    },
    /// A file or directory operation failed.
    #[error("{op} {path}: {source}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// The path.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// Talking to a registry failed at the connection level (after retries).
    /// The client's error is in the message and not a `source`: ureq's
    /// errors repeat their own cause, and a chain printed whole would say
    /// it three times.
    #[error("registry {registry}: {what}: {cause}")]
    Http {
        /// The registry host.
        registry: String,
        /// What was asked (`reading manifest TAG in HOST/REPO`, …).
        what: String,
        /// The client's error.
        cause: Box<ureq::Error>,
    },
    /// HTTPS asked of a registry that speaks plain HTTP.
    #[error("registry {registry}: server gave HTTP response to HTTPS client (use --tls-verify=false or registries.conf insecure)")]
    PlainHttp {
        /// The registry host.
        registry: String,
    },
    /// Nothing accepts connections at the registry's address.
    #[error("registry {registry}: connection refused (is a registry listening at {registry}?)")]
    Refused {
        /// The registry host (and port).
        registry: String,
    },
    /// The registry answered 404 with its own error (`manifest unknown`).
    #[error("{what}: {message}")]
    RegistryNotFound {
        /// What was asked, as podman says it (`reading manifest TAG in REPO`).
        what: String,
        /// The registry's message.
        message: String,
    },
    /// The registry answered with an error status.
    #[error("registry {registry}: {what}: HTTP {status}{}", body_suffix(.body))]
    Status {
        /// The registry host.
        registry: String,
        /// What was asked.
        what: String,
        /// The status code.
        status: u16,
        /// The start of the error body, if any.
        body: String,
    },
    /// Authentication with a registry failed.
    #[error("registry {registry}: authentication failed: {reason}")]
    Auth {
        /// The registry host.
        registry: String,
        /// What went wrong.
        reason: String,
    },
    /// Content does not hash to the digest it was announced with.
    #[error("{what} {expected}: digest mismatch, got {actual}")]
    DigestMismatch {
        /// `"blob"`, `"manifest"`, `"config"`.
        what: &'static str,
        /// The announced digest.
        expected: String,
        /// The digest of what was read.
        actual: String,
    },
    /// A blob's stream ended early or ran long.
    #[error("blob {digest}: {reason}")]
    BlobStream {
        /// The blob.
        digest: String,
        /// What went wrong (truncated, oversized, connection lost).
        reason: String,
    },
    /// A manifest or index has a media type this library does not handle.
    #[error("{image}: unsupported manifest media type {media_type:?}")]
    UnsupportedMediaType {
        /// The image.
        image: String,
        /// The media type found.
        media_type: String,
    },
    /// A manifest, index or config is malformed.
    #[error("{image}: malformed {what}: {reason}")]
    Malformed {
        /// The image.
        image: String,
        /// `"manifest"`, `"index"`, `"config"`, `"archive"`.
        what: &'static str,
        /// The parser's message.
        reason: String,
    },
    /// No instance of an index matches the wanted platform.
    #[error("{image}: no image for platform {platform} (index has {available})")]
    NoPlatform {
        /// The image.
        image: String,
        /// The platform wanted.
        platform: String,
        /// The platforms the index lists.
        available: String,
    },
    /// An image or blob was not found in a source.
    #[error("{0} not found")]
    NotFound(String),
    /// Something answered at the registry's address, but with a web page:
    /// a web server, a proxy's or captive portal's page, a wrong port.
    #[error("{registry} answered {what} with an HTML page, not the registry API: check the registry's address and port (and any proxy in between)")]
    NotARegistry {
        /// The host it answered for.
        registry: String,
        /// The request.
        what: String,
    },
    /// No image of that name in local storage; the hint says what to do.
    #[error("image {name} not found locally: {hint}")]
    NoLocalImage {
        /// The name as given.
        name: String,
        /// "did you mean …?", or how to get it.
        hint: String,
    },
    /// No image of that name in local storage and pulling is not allowed
    /// (`--pull=never`): podman's words.
    #[error("{0}: image not known")]
    ImageNotKnown(String),
    /// A pull policy other than missing, always, never, newer.
    #[error("unsupported pull policy {0:?}")]
    PullPolicy(String),
    /// A copy needs something this transport cannot do.
    #[error("{transport}: {reason}")]
    Unsupported {
        /// The transport.
        transport: &'static str,
        /// What is not possible.
        reason: String,
    },
    /// Applying a layer blob to storage failed.
    #[error("layer {digest}: {source}")]
    Layer {
        /// The blob's digest.
        digest: String,
        /// The storage error.
        #[source]
        source: berth_storage::Error,
    },
    /// Another storage operation failed.
    #[error(transparent)]
    Storage(#[from] berth_storage::Error),
}

fn body_suffix(body: &str) -> String {
    if body.is_empty() {
        String::new()
    } else {
        format!(": {body}")
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Attach a path and an operation to an I/O error.
pub(crate) trait IoContext<T> {
    fn ctx(self, op: &'static str, path: impl Into<PathBuf>) -> Result<T>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn ctx(self, op: &'static str, path: impl Into<PathBuf>) -> Result<T> {
        self.map_err(|source| Error::Io {
            op,
            path: path.into(),
            source,
        })
    }
}
