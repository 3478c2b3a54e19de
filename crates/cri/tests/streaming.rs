//! berthd's streaming server as kubectl reaches it through kubelet:
//! Exec, Attach and PortForward answer a URL; a WebSocket client speaking
//! the Kubernetes channel protocol as apimachinery's wsstream and
//! client-go's remotecommand describe it (subprotocol offer, one channel
//! byte per message, Status JSON on channel 3, `{"Width","Height"}` on 4,
//! port-forward's little-endian port prefix) drives it.

mod common;

use berth_cri::proto::runtime_service_client::RuntimeServiceClient;
use berth_cri::proto::*;
use common::*;
use futures_util::{SinkExt, StreamExt};
use std::time::Duration;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;
use tonic::transport::Channel;

type Client = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

/// Connect to `url` offering `protocols`; the socket and the protocol
/// the server chose, or the HTTP status it refused with.
async fn connect(url: &str, protocols: &str) -> Result<(Client, Option<String>), u16> {
    let mut req = url.into_client_request().unwrap();
    if !protocols.is_empty() {
        req.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            HeaderValue::from_str(protocols).unwrap(),
        );
    }
    let host = req.uri().authority().unwrap().as_str().to_string();
    let tcp = tokio::net::TcpStream::connect(host).await.unwrap();
    match tokio_tungstenite::client_async(req, tcp).await {
        Ok((ws, resp)) => {
            let chosen = resp
                .headers()
                .get("Sec-WebSocket-Protocol")
                .map(|v| v.to_str().unwrap().to_string());
            Ok((ws, chosen))
        }
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => Err(resp.status().as_u16()),
        Err(e) => panic!("websocket handshake: {e}"),
    }
}

async fn send(ws: &mut Client, channel: u8, data: &[u8]) {
    let mut m = vec![channel];
    m.extend_from_slice(data);
    ws.send(Message::binary(m)).await.unwrap();
}

/// Every message until the server closes, by channel (bytes concatenated).
async fn collect(ws: &mut Client, secs: u64) -> std::collections::BTreeMap<u8, Vec<u8>> {
    let mut got = std::collections::BTreeMap::<u8, Vec<u8>>::new();
    let all = async {
        while let Some(Ok(m)) = ws.next().await {
            match m {
                Message::Binary(b) if !b.is_empty() => {
                    got.entry(b[0]).or_default().extend_from_slice(&b[1..])
                }
                Message::Close(_) => break,
                _ => {}
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(secs), all)
        .await
        .expect("the server did not close the stream");
    got
}

/// Read messages until channel `ch` has shown `needle`.
async fn read_until(ws: &mut Client, ch: u8, needle: &str, secs: u64) -> String {
    let mut seen = Vec::new();
    let found = async {
        while let Some(Ok(m)) = ws.next().await {
            if let Message::Binary(b) = m {
                if b.first() == Some(&ch) {
                    seen.extend_from_slice(&b[1..]);
                    if String::from_utf8_lossy(&seen).contains(needle) {
                        return true;
                    }
                }
            }
        }
        false
    };
    let ok = tokio::time::timeout(Duration::from_secs(secs), found).await;
    let text = String::from_utf8_lossy(&seen).to_string();
    assert!(
        matches!(ok, Ok(true)),
        "{needle:?} not seen on channel {ch}: {text:?}"
    );
    text
}

/// client-go's reading of the error channel: Success, or the exit code of
/// a NonZeroExitCode failure.
fn exit_code(status: &[u8]) -> i32 {
    let s: serde_json::Value = serde_json::from_slice(status).unwrap();
    if s["status"] == "Success" {
        return 0;
    }
    assert_eq!(s["reason"], "NonZeroExitCode", "{s}");
    let cause = &s["details"]["causes"][0];
    assert_eq!(cause["reason"], "ExitCode", "{s}");
    cause["message"].as_str().unwrap().parse().unwrap()
}

async fn exec_url(rt: &mut RuntimeServiceClient<Channel>, ctr: &str) -> String {
    rt.exec(ExecRequest {
        container_id: ctr.into(),
        cmd: vec!["sh".into()],
        tty: true,
        stdin: true,
        stdout: true,
        stderr: false,
    })
    .await
    .unwrap()
    .into_inner()
    .url
}

#[tokio::test]
async fn exec_it_sh_over_websocket() {
    berth_testkit::require!(berth_testkit::is_root(), "berthd needs root");
    let reg = Registry::with_busybox();
    let b = Berthd::start();
    let image = pull(&b, &reg).await;
    let mut rt = b.runtime().await;
    let (_pod, ctr) = pod_with(&mut rt, &image, "shell", "exec sleep 300").await;

    let url = exec_url(&mut rt, &ctr).await;
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let ws_url = url.replacen("http://", "ws://", 1);
    let (mut ws, chosen) = connect(&ws_url, "v5.channel.k8s.io, v4.channel.k8s.io")
        .await
        .unwrap();
    assert_eq!(chosen.as_deref(), Some("v5.channel.k8s.io"));
    send(&mut ws, 4, br#"{"Width":100,"Height":40}"#).await;
    send(&mut ws, 0, b"stty size; echo mark-$((40+2))\n").await;
    let out = read_until(&mut ws, 1, "mark-42", 20).await;
    assert!(out.contains("40 100"), "stty size after resize: {out:?}");
    send(&mut ws, 4, br#"{"Width":77,"Height":21}"#).await;
    send(&mut ws, 0, b"stty size; exit 3\n").await;
    let rest = collect(&mut ws, 20).await;
    let out = String::from_utf8_lossy(rest.get(&1).map(Vec::as_slice).unwrap_or_default());
    assert!(out.contains("21 77"), "second resize: {out:?}");
    assert_eq!(exit_code(&rest[&3]), 3);

    // The token was used: a second connection is refused before upgrade.
    assert_eq!(connect(&ws_url, "v5.channel.k8s.io").await.err(), Some(404));
    // A plain request (no upgrade) gets a clear HTTP answer.
    let url = exec_url(&mut rt, &ctr).await;
    let rest = url.trim_start_matches("http://");
    let (host, path) = rest.split_at(rest.find('/').unwrap());
    let mut tcp = tokio::net::TcpStream::connect(host).await.unwrap();
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let head = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n");
    tcp.write_all(head.as_bytes()).await.unwrap();
    let mut answer = String::new();
    tcp.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("SPDY/3.1 upgrades"), "{answer}");

    // A fresh token with no protocol we speak is refused and not burnt.
    let url = exec_url(&mut rt, &ctr)
        .await
        .replacen("http://", "ws://", 1);
    assert_eq!(connect(&url, "channel.k8s.io").await.err(), Some(400));
    // v4: stdin, output, exit 0 as Success; the container keeps running.
    let (mut ws, chosen) = connect(&url, "v4.channel.k8s.io").await.unwrap();
    assert_eq!(chosen.as_deref(), Some("v4.channel.k8s.io"));
    send(&mut ws, 0, b"echo v4-$((2*3)); exit\n").await;
    let got = collect(&mut ws, 20).await;
    assert!(String::from_utf8_lossy(&got[&1]).contains("v4-6"));
    assert_eq!(exit_code(&got[&3]), 0);
    let st = rt
        .container_status(ContainerStatusRequest {
            container_id: ctr.clone(),
            verbose: false,
        })
        .await
        .unwrap()
        .into_inner()
        .status
        .unwrap();
    assert_eq!(st.state, ContainerState::ContainerRunning as i32);

    // Bad input: an unknown container gets a clear error, no URL.
    let e = rt
        .exec(ExecRequest {
            container_id: "no-such-container".into(),
            cmd: vec!["sh".into()],
            stdout: true,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), tonic::Code::NotFound, "{e:?}");
}

#[tokio::test]
async fn port_forward_to_httpd_in_a_pod() {
    berth_testkit::require!(berth_testkit::is_root(), "berthd needs root");
    let reg = Registry::with_busybox();
    let b = Berthd::start();
    let image = pull(&b, &reg).await;
    let mut rt = b.runtime().await;
    let script = "mkdir -p /www && echo hello-through-the-stream > /www/index.html && \
                  exec httpd -f -p 8080 -h /www";
    let (pod, ctr) = pod_with(&mut rt, &image, "web", script).await;
    // httpd is up once the pod itself can fetch the page.
    let mut up = false;
    for _ in 0..100 {
        let r = rt
            .exec_sync(ExecSyncRequest {
                container_id: ctr.clone(),
                cmd: vec![
                    "wget".into(),
                    "-q".into(),
                    "-O-".into(),
                    "http://127.0.0.1:8080/".into(),
                ],
                timeout: 5,
            })
            .await
            .unwrap()
            .into_inner();
        if r.exit_code == 0 {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(up, "httpd did not come up: {}", b.log());

    let forward = |port: i32| {
        let mut rt = rt.clone();
        let pod = pod.clone();
        async move {
            rt.port_forward(PortForwardRequest {
                pod_sandbox_id: pod,
                port: vec![port],
            })
            .await
            .unwrap()
            .into_inner()
            .url
            .replacen("http://", "ws://", 1)
        }
    };
    let (mut ws, chosen) = connect(&forward(8080).await, "v4.channel.k8s.io")
        .await
        .unwrap();
    assert_eq!(chosen.as_deref(), Some("v4.channel.k8s.io"));
    // Each channel opens with the port, little-endian.
    for ch in [0u8, 1] {
        match ws.next().await {
            Some(Ok(Message::Binary(b))) => assert_eq!(&b[..], &[ch, 0x90, 0x1f]),
            other => panic!("port prefix on channel {ch}: {other:?}"),
        }
    }
    send(&mut ws, 0, b"GET / HTTP/1.0\r\nHost: pod\r\n\r\n").await;
    let got = collect(&mut ws, 20).await;
    let body = String::from_utf8_lossy(&got[&0]);
    assert!(body.starts_with("HTTP/1."), "{body}");
    assert!(body.contains("hello-through-the-stream"), "{body}");
    assert!(!got.contains_key(&1), "no error: {got:?}");

    // A closed port: the error channel says so after its port prefix.
    let (mut ws, _) = connect(&forward(9).await, "v4.channel.k8s.io")
        .await
        .unwrap();
    let got = collect(&mut ws, 20).await;
    let err = String::from_utf8_lossy(&got[&1][2..]).to_string();
    assert!(err.contains("error forwarding port 9"), "{err}");
    // A port out of range is refused at the RPC.
    let e = rt
        .port_forward(PortForwardRequest {
            pod_sandbox_id: pod.clone(),
            port: vec![70000],
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), tonic::Code::InvalidArgument);
}

#[tokio::test]
async fn attach_to_a_running_containers_stdout() {
    berth_testkit::require!(berth_testkit::is_root(), "berthd needs root");
    let reg = Registry::with_busybox();
    let b = Berthd::start();
    let image = pull(&b, &reg).await;
    let mut rt = b.runtime().await;
    let script = "i=0; while true; do i=$((i+1)); echo tick-$i; sleep 0.1; done";
    let (_pod, ctr) = pod_with(&mut rt, &image, "ticker", script).await;
    let url = rt
        .attach(AttachRequest {
            container_id: ctr.clone(),
            stdin: false,
            tty: false,
            stdout: true,
            stderr: true,
        })
        .await
        .unwrap()
        .into_inner()
        .url
        .replacen("http://", "ws://", 1);
    let (mut ws, _) = connect(&url, "v5.channel.k8s.io").await.unwrap();
    read_until(&mut ws, 1, "tick-", 20).await;
    // The client leaves; the container runs on.
    drop(ws);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let st = rt
        .container_status(ContainerStatusRequest {
            container_id: ctr,
            verbose: false,
        })
        .await
        .unwrap()
        .into_inner()
        .status
        .unwrap();
    assert_eq!(st.state, ContainerState::ContainerRunning as i32);
}

#[tokio::test]
async fn a_client_leaving_mid_exec_leaks_nothing() {
    berth_testkit::require!(berth_testkit::is_root(), "berthd needs root");
    let reg = Registry::with_busybox();
    let b = Berthd::start();
    let image = pull(&b, &reg).await;
    let mut rt = b.runtime().await;
    let (_pod, ctr) = pod_with(&mut rt, &image, "leaver", "exec sleep 300").await;
    let fds = || {
        std::fs::read_dir(format!("/proc/{}/fd", b.pid()))
            .unwrap()
            .count()
    };
    let before = fds();
    let url = exec_url(&mut rt, &ctr)
        .await
        .replacen("http://", "ws://", 1);
    let (mut ws, _) = connect(&url, "v5.channel.k8s.io").await.unwrap();
    send(&mut ws, 0, b"echo started-$((1+1)); sleep 600\n").await;
    read_until(&mut ws, 1, "started-2", 20).await;
    drop(ws);
    // The terminal closes under the shell: it and its sleep end, and
    // berthd holds no descriptor more than before.
    let sleeps = |rt: &mut RuntimeServiceClient<Channel>| {
        let mut rt = rt.clone();
        let ctr = ctr.clone();
        async move {
            let r = rt
                .exec_sync(ExecSyncRequest {
                    container_id: ctr,
                    cmd: vec!["ps".into(), "-o".into(), "args".into()],
                    timeout: 5,
                })
                .await
                .unwrap()
                .into_inner();
            String::from_utf8_lossy(&r.stdout).to_string()
        }
    };
    let mut ps = String::new();
    for _ in 0..100 {
        ps = sleeps(&mut rt).await;
        if !ps.contains("sleep 600") && fds() <= before {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(!ps.contains("sleep 600"), "left in the container: {ps}");
    assert!(
        fds() <= before,
        "berthd's descriptors: {} before, {} after",
        before,
        fds()
    );
}
