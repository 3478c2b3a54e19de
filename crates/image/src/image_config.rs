//! An image's config blob as the OCI image spec types it (oci-spec's
//! `ImageConfiguration`): the one reading of it that the image library
//! (pull's layer ids), the engine (a container's command, user, ports,
//! volumes), and later build and scan share.

use crate::error::{Error, Result};
use oci_spec::image::ImageConfiguration;

/// Parse image `image`'s config blob. Docker's configs parse too: the
/// fields the OCI spec lacks (Healthcheck, OnBuild, ArgsEscaped…) are
/// ignored and `null` lists are absent.
pub fn parse(image: &str, bytes: &[u8]) -> Result<ImageConfiguration> {
    serde_json::from_slice(bytes).map_err(|e| Error::Malformed {
        image: image.into(),
        what: "config",
        reason: e.to_string(),
    })
}

/// The config's `rootfs.diff_ids`, as digests.
pub fn diff_ids(image: &str, config: &ImageConfiguration) -> Result<Vec<berth_storage::Digest>> {
    config
        .rootfs()
        .diff_ids()
        .iter()
        .map(|d| {
            d.parse().map_err(|_| Error::Malformed {
                image: image.into(),
                what: "config",
                reason: format!("bad diff id {d:?}"),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_ids_and_errors_name_the_image() {
        let id = format!("sha256:{}", "a".repeat(64));
        let blob = format!(
            r#"{{"architecture":"amd64","os":"linux","config":{{"Env":null}},
                "rootfs":{{"type":"layers","diff_ids":["{id}"]}},"Healthcheck":{{}}}}"#
        );
        let c = parse("img", blob.as_bytes()).unwrap();
        assert_eq!(diff_ids("img", &c).unwrap()[0].to_string(), id);
        let bad = blob.replace(&id, "sha256:zz");
        let e = diff_ids("img", &parse("img", bad.as_bytes()).unwrap()).unwrap_err();
        assert!(
            e.to_string().contains("img") && e.to_string().contains("zz"),
            "{e}"
        );
        let e = parse("img", b"{\"rootfs\": 3}").unwrap_err();
        assert!(e.to_string().contains("img"), "{e}");
    }
}
