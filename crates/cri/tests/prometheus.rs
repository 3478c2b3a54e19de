//! The Prometheus endpoint on `metrics_address`: scraped after a Version,
//! a failed ContainerStatus and a pull, it counts each by operation and
//! the pull's bytes; other paths get 404.

mod common;

use berth_cri::proto::*;
use common::{Berthd, Registry};
use std::io::{Read, Write};

fn get(addr: &str, path: &str) -> String {
    let mut c = std::net::TcpStream::connect(addr).unwrap();
    write!(c, "GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut out = String::new();
    c.read_to_string(&mut out).unwrap();
    out
}

fn value(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[tokio::test]
async fn scrape_counts_operations_and_pull_bytes() {
    berth_testkit::require!(berth_testkit::is_root(), "berthd needs root");
    let reg = Registry::with_busybox();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let b = Berthd::start_with(&format!("metrics_address = \"{addr}\"\n"));
    let mut rt = b.runtime().await;
    rt.version(VersionRequest::default()).await.unwrap();
    rt.version(VersionRequest::default()).await.unwrap();
    let missing = rt
        .container_status(ContainerStatusRequest {
            container_id: "nosuch".into(),
            verbose: false,
        })
        .await;
    assert!(missing.is_err());
    b.images()
        .await
        .pull_image(PullImageRequest {
            image: Some(ImageSpec {
                image: reg.busybox(),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap();

    let text = get(&addr, "/metrics");
    assert!(text.starts_with("HTTP/1.0 200 OK\r\n"), "{text}");
    assert_eq!(
        value(&text, "berthd_operations_total{operation=\"version\"}"),
        Some(2.0),
        "{text}"
    );
    assert_eq!(
        value(
            &text,
            "berthd_operations_errors_total{operation=\"container_status\"}"
        ),
        Some(1.0)
    );
    assert!(
        value(
            &text,
            "berthd_operations_latency_seconds_total{operation=\"pull_image\"}"
        )
        .unwrap()
            > 0.0
    );
    assert_eq!(value(&text, "berthd_image_pulls_total"), Some(1.0));
    assert!(
        value(&text, "berthd_image_pulls_bytes_total").unwrap() > 100_000.0,
        "{text}"
    );
    assert!(get(&addr, "/other").starts_with("HTTP/1.0 404"));
}
