//! Image configs as registries and `docker save` hand them out parse into
//! oci-spec's `ImageConfiguration`: Docker's extra fields are ignored and
//! its `null` lists read as absent.

use crate::error::Error;
use crate::image_config::{execution, exposed_ports, parse, volumes};

#[test]
fn a_docker_archive_config_parses() {
    let blob = include_bytes!("../tests/fixtures/docker-archive-config.json");
    let config = execution(&parse("nginx", blob).unwrap());
    assert_eq!(
        config.entrypoint().as_deref(),
        Some(&["/docker-entrypoint.sh".to_string()][..])
    );
    assert_eq!(config.cmd().as_ref().unwrap()[0], "nginx");
    assert_eq!(config.env().as_ref().unwrap().len(), 2);
    assert_eq!(config.user().as_deref(), Some(""));
    assert_eq!(config.working_dir().as_deref(), Some(""));
    assert_eq!(config.stop_signal().as_deref(), Some("SIGQUIT"));
    assert_eq!(exposed_ports(&config), ["80/tcp"]);
    assert_eq!(volumes(&config), ["/var/cache/nginx"]);
}

#[test]
fn docker_nulls_are_absent() {
    let blob = br#"{"architecture":"arm64","os":"linux","variant":"v8",
        "rootfs":{"type":"layers","diff_ids":[]},"history":null,
        "config":{"Env":null,"ExposedPorts":null,"Volumes":null,"Labels":null,
                  "Entrypoint":null,"Cmd":null,"OnBuild":null,"Healthcheck":null,
                  "ArgsEscaped":false,"User":null,"WorkingDir":null}}"#;
    let config = execution(&parse("t", blob).unwrap());
    assert!(config.env().is_none());
    assert!(config.entrypoint().is_none() && config.cmd().is_none());
    assert!(exposed_ports(&config).is_empty());
    assert!(volumes(&config).is_empty());
    // No config at all: nothing to start from, which is no error.
    let bare = br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#;
    assert_eq!(execution(&parse("t", bare).unwrap()), Default::default());
}

#[test]
fn ports_and_volumes_come_sorted() {
    let blob = br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]},
        "config":{"ExposedPorts":{"9000/udp":{},"443/tcp":{},"80/tcp":{}},
                  "Volumes":{"/z":{},"/a":{},"/m":{}}}}"#;
    let config = execution(&parse("t", blob).unwrap());
    assert_eq!(exposed_ports(&config), ["443/tcp", "80/tcp", "9000/udp"]);
    assert_eq!(volumes(&config), ["/a", "/m", "/z"]);
}

#[test]
fn a_malformed_config_names_the_image() {
    for blob in [&b"not json"[..], br#"{"config":{"Env":"A=1"}}"#] {
        match parse("sha256:abc", blob) {
            Err(e @ Error::Image(_)) => assert!(e.to_string().contains("sha256:abc")),
            other => panic!("{other:?}"),
        }
    }
}
