//! berthd's own Prometheus metrics, on `metrics_address` (off when empty):
//! each CRI call's count, errors and summed latency, and image pulls'
//! count, bytes and time, under CRI-O's names with `berthd_` for `crio_`.
//! The endpoint is a tiny HTTP/1.0 handler on a TCP listener: one GET,
//! one text answer, the connection closed.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[derive(Default, Clone, Copy)]
struct Op {
    count: u64,
    errors: u64,
    seconds: f64,
}

#[derive(Default, Clone, Copy)]
struct Pulls {
    count: u64,
    bytes: u64,
    seconds: f64,
}

/// The counters, shared by every call.
#[derive(Default)]
pub struct Metrics {
    ops: Mutex<BTreeMap<&'static str, Op>>,
    pulls: Mutex<Pulls>,
}

impl Metrics {
    /// One CRI call `op` that took `took`, failed or not.
    pub fn operation(&self, op: &'static str, took: Duration, ok: bool) {
        if let Ok(mut ops) = self.ops.lock() {
            let o = ops.entry(op).or_default();
            o.count += 1;
            o.errors += u64::from(!ok);
            o.seconds += took.as_secs_f64();
        }
    }

    /// One image pull of `bytes` (the image's layers) that took `took`.
    pub fn pull(&self, bytes: u64, took: Duration) {
        if let Ok(mut p) = self.pulls.lock() {
            p.count += 1;
            p.bytes += bytes;
            p.seconds += took.as_secs_f64();
        }
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let ops = self.ops.lock().map(|o| o.clone()).unwrap_or_default();
        let pulls = self.pulls.lock().map(|p| *p).unwrap_or_default();
        let mut out = String::new();
        let family = |out: &mut String, name: &str, help: &str, value: &dyn Fn(&Op) -> String| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
            for (op, o) in &ops {
                let _ = writeln!(out, "{name}{{operation=\"{op}\"}} {}", value(o));
            }
        };
        family(
            &mut out,
            "berthd_operations_total",
            "Cumulative number of CRI operations by operation type.",
            &|o| o.count.to_string(),
        );
        family(
            &mut out,
            "berthd_operations_errors_total",
            "Cumulative number of CRI operations that failed, by operation type.",
            &|o| o.errors.to_string(),
        );
        family(
            &mut out,
            "berthd_operations_latency_seconds_total",
            "Cumulative seconds spent in CRI operations, by operation type.",
            &|o| o.seconds.to_string(),
        );
        for (name, help, value) in [
            (
                "berthd_image_pulls_total",
                "Cumulative number of image pulls.",
                pulls.count.to_string(),
            ),
            (
                "berthd_image_pulls_bytes_total",
                "Cumulative bytes of the layers of pulled images.",
                pulls.bytes.to_string(),
            ),
            (
                "berthd_image_pulls_seconds_total",
                "Cumulative seconds spent pulling images.",
                pulls.seconds.to_string(),
            ),
        ] {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}"
            );
        }
        out
    }
}

/// Answer `GET /metrics` on `listener` until berthd ends.
pub async fn serve(
    listener: tokio::net::TcpListener,
    metrics: std::sync::Arc<crate::daemon::Daemon>,
) {
    loop {
        let Ok((mut conn, _)) = listener.accept().await else {
            continue;
        };
        let d = std::sync::Arc::clone(&metrics);
        tokio::spawn(async move {
            let mut buf = vec![0u8; 4096];
            let mut got = 0;
            // The request line and headers, to the blank line (small).
            let read = async {
                while got < buf.len() {
                    match conn.read(&mut buf[got..]).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => got += n,
                    }
                    if buf[..got].windows(4).any(|w| w == b"\r\n\r\n") {
                        break;
                    }
                }
            };
            if tokio::time::timeout(Duration::from_secs(5), read)
                .await
                .is_err()
            {
                return;
            }
            let line = String::from_utf8_lossy(&buf[..got]);
            let mut words = line.split_whitespace();
            let answer = match (words.next(), words.next()) {
                (Some("GET"), Some("/metrics")) => {
                    let body = d.metrics.render();
                    format!(
                        "HTTP/1.0 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\n\r\n{body}",
                        body.len()
                    )
                }
                _ => "HTTP/1.0 404 Not Found\r\nContent-Length: 10\r\n\r\nnot found\n".to_string(),
            };
            let _ = conn.write_all(answer.as_bytes()).await;
            let _ = conn.shutdown().await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_errors_and_pulls_render() {
        let m = Metrics::default();
        m.operation("version", Duration::from_millis(500), true);
        m.operation("version", Duration::from_millis(500), false);
        m.pull(100, Duration::from_secs(2));
        let t = m.render();
        assert!(
            t.contains("berthd_operations_total{operation=\"version\"} 2\n"),
            "{t}"
        );
        assert!(t.contains("berthd_operations_errors_total{operation=\"version\"} 1\n"));
        assert!(t.contains("berthd_operations_latency_seconds_total{operation=\"version\"} 1\n"));
        assert!(t.contains("berthd_image_pulls_bytes_total 100\n"));
    }
}
