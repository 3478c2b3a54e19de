//! berthd's streaming server over SPDY/3.1, as kubectl and client-go
//! reach kubelet's: a SPDY client written from the protocol's
//! description ([`spdy_client`]) upgrades the URL that Exec, Attach or
//! PortForward answered, opens one stream per channel (`streamType`
//! error, stdin, stdout, stderr, resize; for port-forward error and data
//! pairs with `port` and `requestID`) and reads what a user would see.

mod common;
mod spdy_client;

use berth_cri::proto::runtime_service_client::RuntimeServiceClient;
use berth_cri::proto::*;
use common::*;
use spdy_client::connect;
use std::time::Duration;
use tonic::transport::Channel;

const EXEC_PROTOCOLS: [&str; 3] = [
    "v4.channel.k8s.io",
    "v3.channel.k8s.io",
    "v2.channel.k8s.io",
];

/// client-go's reading of the v4 error stream: Success, or the exit code
/// of a NonZeroExitCode failure.
fn exit_code(status: &str) -> i32 {
    let s: serde_json::Value = serde_json::from_str(status).unwrap();
    if s["status"] == "Success" {
        return 0;
    }
    assert_eq!(s["reason"], "NonZeroExitCode", "{s}");
    let cause = &s["details"]["causes"][0];
    assert_eq!(cause["reason"], "ExitCode", "{s}");
    cause["message"].as_str().unwrap().parse().unwrap()
}

async fn exec_url(rt: &mut RuntimeServiceClient<Channel>, req: ExecRequest) -> String {
    rt.exec(req).await.unwrap().into_inner().url
}

fn shell(ctr: &str) -> ExecRequest {
    ExecRequest {
        container_id: ctr.into(),
        cmd: vec!["sh".into()],
        tty: true,
        stdin: true,
        stdout: true,
        stderr: false,
    }
}

async fn running(rt: &mut RuntimeServiceClient<Channel>, ctr: &str) -> bool {
    let st = rt
        .container_status(ContainerStatusRequest {
            container_id: ctr.into(),
            verbose: false,
        })
        .await
        .unwrap()
        .into_inner()
        .status
        .unwrap();
    st.state == ContainerState::ContainerRunning as i32
}

#[tokio::test]
async fn exec_it_sh_over_spdy() {
    berth_testkit::require!(berth_testkit::is_root(), "berthd needs root");
    let reg = Registry::with_busybox();
    let b = Berthd::start();
    let image = pull(&b, &reg).await;
    let mut rt = b.runtime().await;
    let (_pod, ctr) = pod_with(&mut rt, &image, "shell", "exec sleep 300").await;
    let url = exec_url(&mut rt, shell(&ctr)).await;

    // No protocol in common: 403 naming ours, and the token is not burnt.
    let refused = connect(&url, &["channel.k8s.io"]).await.err().unwrap();
    assert_eq!(refused.status, 403, "{refused:?}");
    assert!(
        refused.body.contains("unable to negotiate protocol"),
        "{refused:?}"
    );
    assert!(refused.head.contains("v4.channel.k8s.io"), "{refused:?}");

    let mut c = connect(&url, &EXEC_PROTOCOLS).await.unwrap();
    assert_eq!(c.protocol, "v4.channel.k8s.io");
    // client-go's order: error, stdin, stdout, then resize for a terminal.
    let error = c.open(&[("streamType", "error")], false).await;
    let stdin = c.open(&[("streamType", "stdin")], false).await;
    let stdout = c.open(&[("streamType", "stdout")], false).await;
    let resize = c.open(&[("streamType", "resize")], false).await;
    c.send(resize, b"{\"Width\":100,\"Height\":40}\n").await;
    c.send(stdin, b"stty size; echo mark-$((40+2))\n").await;
    let out = c.wait_for_text(stdout, "mark-42", 20).await;
    assert!(out.contains("40 100"), "stty size after resize: {out:?}");
    // A size split across frames is still one size.
    c.send(resize, b"{\"Width\":77,").await;
    c.send(resize, b"\"Height\":21}\n").await;
    // 100000 bytes of output against a 16 KiB window: while we grant
    // nothing the server stops at the window; once we do, it goes on,
    // and never overruns what we granted.
    c.hold_grants();
    let before = c.received(stdout);
    c.send(
        stdin,
        b"head -c 100000 /dev/zero | tr '\\0' x; echo; stty size; exit 3\n",
    )
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let held = c.received(stdout) - before;
    assert!(
        held > 0 && held <= spdy_client::WINDOW as usize,
        "{held} bytes read on stdout while no window was granted"
    );
    c.release_grants().await;
    c.wait(30, |s| s.fin.contains(&error) && s.fin.contains(&stdout))
        .await;
    let out = c.text(stdout);
    assert!(
        out.contains(&"x".repeat(100_000)),
        "{} bytes of output",
        out.len()
    );
    assert!(
        out.contains("21 77"),
        "second resize: {:?}",
        &out[out.len().saturating_sub(200)..]
    );
    assert_eq!(exit_code(&c.text(error)), 3);
    c.wait(10, |s| s.goaway && s.eof).await;
    let overruns = c.seen.lock().unwrap().overruns.clone();
    assert!(overruns.is_empty(), "{overruns:?}");
    assert!(running(&mut rt, &ctr).await);

    // The token was used: a second upgrade is refused.
    let refused = connect(&url, &EXEC_PROTOCOLS).await.err().unwrap();
    assert_eq!(refused.status, 404, "{refused:?}");
    // A request that is not an upgrade.
    let url = exec_url(&mut rt, shell(&ctr)).await;
    let rest = url.trim_start_matches("http://");
    let (host, path) = rest.split_at(rest.find('/').unwrap());
    let mut tcp = tokio::net::TcpStream::connect(host).await.unwrap();
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let head = format!("POST {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: SPDY/3.1\r\n\r\n");
    tcp.write_all(head.as_bytes()).await.unwrap();
    let mut answer = String::new();
    tcp.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("missing upgrade headers"), "{answer}");
    // ... and left the token for a good one.
    let mut c = connect(&url, &["v4.channel.k8s.io"]).await.unwrap();
    let error = c.open(&[("streamType", "error")], false).await;
    let stdin = c.open(&[("streamType", "stdin")], false).await;
    let _stdout = c.open(&[("streamType", "stdout")], false).await;
    let _resize = c.open(&[("streamType", "resize")], false).await;
    c.send(stdin, b"exit\n").await;
    c.wait(20, |s| s.fin.contains(&error)).await;
    assert_eq!(exit_code(&c.text(error)), 0);
}

#[tokio::test]
async fn exec_stdin_close_and_stderr_over_spdy() {
    berth_testkit::require!(berth_testkit::is_root(), "berthd needs root");
    let reg = Registry::with_busybox();
    let b = Berthd::start();
    let image = pull(&b, &reg).await;
    let mut rt = b.runtime().await;
    let (_pod, ctr) = pod_with(&mut rt, &image, "pipes", "exec sleep 300").await;
    let req = ExecRequest {
        container_id: ctr.clone(),
        cmd: vec!["sh".into(), "-c".into(), "wc -c; echo to-stderr >&2".into()],
        tty: false,
        stdin: true,
        stdout: true,
        stderr: true,
    };
    let mut c = connect(&exec_url(&mut rt, req).await, &EXEC_PROTOCOLS)
        .await
        .unwrap();
    let error = c.open(&[("streamType", "error")], false).await;
    let stdin = c.open(&[("streamType", "stdin")], false).await;
    let stdout = c.open(&[("streamType", "stdout")], false).await;
    let stderr = c.open(&[("streamType", "stderr")], false).await;
    // More than the server's 64 KiB windows: it must grant them back.
    c.send(stdin, &vec![b'y'; 200_000]).await;
    // FIN on stdin: the process's stdin closes, wc counts and ends.
    c.finish(stdin).await;
    c.wait(30, |s| s.fin.contains(&error)).await;
    c.wait(5, |s| s.fin.contains(&stdout) && s.fin.contains(&stderr))
        .await;
    assert_eq!(c.text(stdout).trim(), "200000");
    assert_eq!(c.text(stderr), "to-stderr\n");
    assert_eq!(exit_code(&c.text(error)), 0);

    // v2 (no resize, text errors): a failure is its message, a non-JSON line.
    let req = ExecRequest {
        container_id: ctr.clone(),
        cmd: vec!["sh".into(), "-c".into(), "exit 5".into()],
        stdout: true,
        ..Default::default()
    };
    let mut c = connect(&exec_url(&mut rt, req).await, &["v2.channel.k8s.io"])
        .await
        .unwrap();
    assert_eq!(c.protocol, "v2.channel.k8s.io");
    let error = c.open(&[("streamType", "error")], false).await;
    let _stdout = c.open(&[("streamType", "stdout")], false).await;
    c.wait(20, |s| s.fin.contains(&error)).await;
    let text = c.text(error);
    assert!(
        text.contains("non-zero exit code") && text.contains('5'),
        "{text}"
    );
    assert!(
        serde_json::from_str::<serde_json::Value>(&text).is_err(),
        "{text}"
    );
}

#[tokio::test]
async fn attach_over_spdy() {
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
        .url;
    let mut c = connect(&url, &EXEC_PROTOCOLS).await.unwrap();
    let _error = c.open(&[("streamType", "error")], false).await;
    let stdout = c.open(&[("streamType", "stdout")], false).await;
    let _stderr = c.open(&[("streamType", "stderr")], false).await;
    c.wait_for_text(stdout, "tick-", 20).await;
    // The client leaves; the container runs on.
    drop(c);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(running(&mut rt, &ctr).await);
}

#[tokio::test]
async fn port_forward_over_spdy_to_httpd() {
    berth_testkit::require!(berth_testkit::is_root(), "berthd needs root");
    let reg = Registry::with_busybox();
    let b = Berthd::start();
    let image = pull(&b, &reg).await;
    let mut rt = b.runtime().await;
    let script = "mkdir -p /www && echo hello-through-spdy > /www/index.html && \
                  exec httpd -f -p 8080 -h /www";
    let (pod, ctr) = pod_with(&mut rt, &image, "web", script).await;
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
    // kubectl asks with no ports: they come in each stream's headers.
    let url = rt
        .port_forward(PortForwardRequest {
            pod_sandbox_id: pod.clone(),
            port: vec![],
        })
        .await
        .unwrap()
        .into_inner()
        .url;
    let refused = connect(&url, &["v4.channel.k8s.io"]).await.err().unwrap();
    assert_eq!(refused.status, 403, "{refused:?}");
    let mut c = connect(&url, &["portforward.k8s.io"]).await.unwrap();
    assert_eq!(c.protocol, "portforward.k8s.io");
    // Two requests, one after the other, on the one connection.
    for request in ["0", "1"] {
        let h = |kind| {
            [
                ("streamType", kind),
                ("port", "8080"),
                ("requestID", request),
            ]
        };
        // client-go: the error stream first, finished at once (only the
        // server writes there), then the data stream.
        let error = c.open(&h("error"), false).await;
        c.finish(error).await;
        let data = c.open(&h("data"), false).await;
        c.send(data, b"GET / HTTP/1.0\r\nHost: pod\r\n\r\n").await;
        c.wait(20, |s| s.fin.contains(&data) && s.fin.contains(&error))
            .await;
        let body = c.text(data);
        assert!(body.starts_with("HTTP/1."), "{body}");
        assert!(body.contains("hello-through-spdy"), "{body}");
        assert_eq!(c.text(error), "", "no error");
    }
    // A closed port: the error stream says so.
    let h = |kind| [("streamType", kind), ("port", "9"), ("requestID", "2")];
    let error = c.open(&h("error"), false).await;
    c.finish(error).await;
    let data = c.open(&h("data"), false).await;
    c.wait(20, |s| s.fin.contains(&error) && s.fin.contains(&data))
        .await;
    let err = c.text(error);
    assert!(err.contains("error forwarding port 9"), "{err}");
    // A stream without its headers is refused, the connection lives on.
    let bad = c.open_nowait(&[("streamType", "data")], false).await;
    c.wait(10, |s| s.reset.contains_key(&bad)).await;
    let overruns = c.seen.lock().unwrap().overruns.clone();
    assert!(overruns.is_empty(), "{overruns:?}");
}

#[tokio::test]
async fn a_spdy_client_leaving_mid_exec_leaks_nothing() {
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
    let url = exec_url(&mut rt, shell(&ctr)).await;
    let mut c = connect(&url, &EXEC_PROTOCOLS).await.unwrap();
    let _error = c.open(&[("streamType", "error")], false).await;
    let stdin = c.open(&[("streamType", "stdin")], false).await;
    let stdout = c.open(&[("streamType", "stdout")], false).await;
    let _resize = c.open(&[("streamType", "resize")], false).await;
    c.send(stdin, b"echo started-$((1+1))\n").await;
    c.wait_for_text(stdout, "started-2", 20).await;
    // Leave while berthd waits on our window, output piling up behind it.
    c.hold_grants();
    c.send(stdin, b"yes | head -c 10000000; sleep 600\n").await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    drop(c);
    // The terminal closes under the shell: it and its sleep end, and
    // berthd holds no descriptor more than before.
    // A live process shows its arguments; "[yes]" is a zombie the
    // container's init (a sleep) never reaps, not berthd's to end.
    let left = |ps: &str| {
        ps.lines()
            .any(|l| l.contains("sleep 600") || l.trim() == "yes")
    };
    let mut ps = String::new();
    for _ in 0..100 {
        let r = rt
            .exec_sync(ExecSyncRequest {
                container_id: ctr.clone(),
                cmd: vec!["ps".into(), "-o".into(), "args".into()],
                timeout: 5,
            })
            .await
            .unwrap()
            .into_inner();
        ps = String::from_utf8_lossy(&r.stdout).to_string();
        if !left(&ps) && fds() <= before {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(!left(&ps), "left in the container: {ps}");
    assert!(
        fds() <= before,
        "berthd's descriptors: {before} before, {} after",
        fds()
    );
    assert!(running(&mut rt, &ctr).await);
}
