//! The real kubectl (client-go) against berthd's streaming server: a stub
//! API server on 127.0.0.1 answers kubectl's discovery and pod lookups,
//! and, as kubelet's proxy does, turns each exec or port-forward request
//! into a CRI Exec or PortForward call and splices the connection onto
//! the URL berthd answered (only the request line's path changes). With
//! `KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false` and
//! `KUBECTL_PORT_FORWARD_WEBSOCKETS=false` kubectl speaks SPDY/3.1;
//! by default, WebSocket (v5 for exec, SPDY tunnelled for port-forward).
//! Skipped where no kubectl is installed.

mod common;

use berth_cri::proto::runtime_service_client::RuntimeServiceClient;
use berth_cri::proto::*;
use common::*;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tonic::transport::Channel;

fn kubectl() -> Option<String> {
    std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join("kubectl"))
            .find(|k| k.is_file())
            .map(|k| k.display().to_string())
    })
}

fn pod_json() -> String {
    serde_json::json!({
        "kind": "Pod", "apiVersion": "v1",
        "metadata": {"name": "p", "namespace": "default", "uid": "u1"},
        "spec": {"containers": [{"name": "c", "image": "busybox"}]},
        "status": {"phase": "Running"}
    })
    .to_string()
}

fn resources_json() -> String {
    let r = |name: &str, kind: &str| serde_json::json!({"name": name, "singularName": "", "namespaced": true, "kind": kind, "verbs": ["create", "get"]});
    serde_json::json!({
        "kind": "APIResourceList", "groupVersion": "v1",
        "resources": [
            {"name": "pods", "singularName": "pod", "namespaced": true, "kind": "Pod", "verbs": ["get", "list"], "shortNames": ["po"]},
            r("pods/exec", "PodExecOptions"), r("pods/attach", "PodAttachOptions"),
            r("pods/portforward", "PodPortForwardOptions"),
        ]
    })
    .to_string()
}

/// The heads of the streaming requests the stub passed on.
type Passed = Arc<Mutex<Vec<String>>>;

/// The stub API server: its address.
async fn apiserver(
    rt: RuntimeServiceClient<Channel>,
    ctr: String,
    pod: String,
    passed: Passed,
) -> String {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        loop {
            let Ok((conn, _)) = l.accept().await else {
                return;
            };
            let passed = Arc::clone(&passed);
            tokio::spawn(serve(conn, rt.clone(), ctr.clone(), pod.clone(), passed));
        }
    });
    addr
}

async fn read_head(conn: &mut TcpStream) -> Option<String> {
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut b = [0u8; 1];
        if conn.read(&mut b).await.ok()? == 0 {
            return None;
        }
        head.push(b[0]);
    }
    Some(String::from_utf8_lossy(&head).to_string())
}

async fn serve(
    mut conn: TcpStream,
    mut rt: RuntimeServiceClient<Channel>,
    ctr: String,
    pod: String,
    passed: Passed,
) {
    // Keep-alive: one request after another until an upgrade.
    while let Some(head) = read_head(&mut conn).await {
        let target = head.split_whitespace().nth(1).unwrap_or("").to_string();
        let (path, query) = target.split_once('?').unwrap_or((&target, ""));
        let params: Vec<(String, String)> = query
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_string(), urldecode(v)))
            .collect();
        let flag = |k: &str| {
            params
                .iter()
                .any(|(n, v)| n == k && (v == "true" || v == "1"))
        };
        let upstream = if path.ends_with("/exec") {
            let req = ExecRequest {
                container_id: ctr.clone(),
                cmd: params
                    .iter()
                    .filter(|(k, _)| k == "command")
                    .map(|(_, v)| v.clone())
                    .collect(),
                tty: flag("tty"),
                stdin: flag("stdin"),
                stdout: flag("stdout"),
                stderr: flag("stderr"),
            };
            Some(rt.exec(req).await.unwrap().into_inner().url)
        } else if path.ends_with("/portforward") {
            let req = PortForwardRequest {
                pod_sandbox_id: pod.clone(),
                port: vec![],
            };
            Some(rt.port_forward(req).await.unwrap().into_inner().url)
        } else {
            None
        };
        if let Some(url) = upstream {
            // kubelet's proxy: the same request, on berthd's URL.
            let rest = url.trim_start_matches("http://");
            let (host, token_path) = rest.split_at(rest.find('/').unwrap());
            passed.lock().unwrap().push(head.to_lowercase());
            let head = head.replacen(&target, token_path, 1);
            let mut up = TcpStream::connect(host).await.unwrap();
            up.write_all(head.as_bytes()).await.unwrap();
            let _ = tokio::io::copy_bidirectional(&mut conn, &mut up).await;
            return;
        }
        let (code, body) = match path {
            "/api" => (200, serde_json::json!({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []}).to_string()),
            "/apis" => (200, serde_json::json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": []}).to_string()),
            "/api/v1" => (200, resources_json()),
            "/version" => (200, serde_json::json!({"major": "1", "minor": "32", "gitVersion": "v1.32.0"}).to_string()),
            "/api/v1/namespaces/default/pods/p" => (200, pod_json()),
            _ => (404, serde_json::json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound", "code": 404}).to_string()),
        };
        let answer = format!(
            "HTTP/1.1 {code} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        if conn.write_all(answer.as_bytes()).await.is_err() {
            return;
        }
    }
}

fn urldecode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("00");
                out.push(u8::from_str_radix(hex, 16).unwrap_or(b'?'));
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).to_string()
}

fn kubectl_cmd(
    k: &str,
    server: &str,
    cache: &std::path::Path,
    websockets: bool,
) -> tokio::process::Command {
    let mut c = tokio::process::Command::new(k);
    c.arg(format!("--server=http://{server}"))
        .arg(format!("--cache-dir={}", cache.display()))
        .env("KUBECONFIG", cache.join("none"))
        .env("HOME", cache)
        .env("KUBECTL_REMOTE_COMMAND_WEBSOCKETS", websockets.to_string())
        .env("KUBECTL_PORT_FORWARD_WEBSOCKETS", websockets.to_string())
        .kill_on_drop(true);
    c
}

#[tokio::test]
async fn kubectl_exec_and_port_forward() {
    berth_testkit::require!(berth_testkit::is_root(), "berthd needs root");
    let Some(k) = kubectl() else {
        // Not among scripts/install-deps' packages (Debian's is 1.20):
        // a machine without one skips, saying so.
        eprintln!("SKIP streaming_kubectl: no kubectl in PATH");
        return;
    };
    let reg = Registry::with_busybox();
    let b = Berthd::start();
    let image = pull(&b, &reg).await;
    let mut rt = b.runtime().await;
    let script = "mkdir -p /www && echo hello-kubectl > /www/index.html && \
                  exec httpd -f -p 8080 -h /www";
    let (pod, ctr) = pod_with(&mut rt, &image, "kube", script).await;
    let passed = Passed::default();
    let server = apiserver(rt.clone(), ctr.clone(), pod.clone(), Arc::clone(&passed)).await;
    let cache = tempfile::tempdir().unwrap();

    for websockets in [false, true] {
        let how = if websockets { "websocket" } else { "spdy" };
        // Output, stderr and the exit code.
        let out = kubectl_cmd(&k, &server, cache.path(), websockets)
            .args([
                "exec",
                "p",
                "--",
                "sh",
                "-c",
                "echo out-$((1+1)); echo err >&2; exit 3",
            ])
            .stdin(Stdio::null())
            .output()
            .await
            .unwrap();
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        assert_eq!(out.status.code(), Some(3), "{how}: {stdout} / {stderr}");
        assert_eq!(stdout, "out-2\n", "{how}: {stderr}");
        assert!(stderr.contains("err"), "{how}: {stderr}");
        // stdin to its end: cat sees EOF and ends.
        let mut child = kubectl_cmd(&k, &server, cache.path(), websockets)
            .args(["exec", "-i", "p", "--", "sh", "-c", "cat; echo after-eof"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(b"piped-in\n").await.unwrap();
        drop(stdin);
        let out = tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
            .await
            .expect("kubectl exec -i did not end after stdin closed")
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            stdout,
            "piped-in\nafter-eof\n",
            "{how}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.status.code(), Some(0));

        // Port-forward: kubectl listens, we fetch through it.
        let mut pf = kubectl_cmd(&k, &server, cache.path(), websockets)
            .args(["port-forward", "pod/p", ":8080"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = tokio::io::BufReader::new(pf.stdout.take().unwrap()).lines();
        let line = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
            .await
            .expect("kubectl port-forward did not start")
            .unwrap()
            .unwrap_or_default();
        // "Forwarding from 127.0.0.1:PORT -> 8080"
        let local = line
            .split_whitespace()
            .find(|w| w.starts_with("127.0.0.1:"))
            .unwrap_or_else(|| panic!("{how}: {line}"))
            .to_string();
        for _ in 0..2 {
            let mut c = TcpStream::connect(&local).await.unwrap();
            c.write_all(b"GET / HTTP/1.0\r\nHost: pod\r\n\r\n")
                .await
                .unwrap();
            let mut page = String::new();
            tokio::time::timeout(Duration::from_secs(20), c.read_to_string(&mut page))
                .await
                .expect("no answer through kubectl port-forward")
                .unwrap();
            assert!(page.contains("hello-kubectl"), "{how}: {page}");
        }
        let _ = pf.kill().await;
        // What kubectl asked berthd for: SPDY, or WebSocket with SPDY
        // tunnelled for port-forward.
        let heads = std::mem::take(&mut *passed.lock().unwrap());
        let forward = heads.iter().find(|h| h.contains("/portforward")).unwrap();
        let exec = heads.iter().find(|h| h.contains("/exec")).unwrap();
        if websockets {
            assert!(exec.contains("upgrade: websocket"), "{exec}");
            assert!(exec.contains("v5.channel.k8s.io"), "{exec}");
            assert!(forward.contains("upgrade: websocket"), "{forward}");
            assert!(forward.contains("spdy/3.1+portforward.k8s.io"), "{forward}");
        } else {
            assert!(exec.contains("upgrade: spdy/3.1"), "{exec}");
            assert!(forward.contains("upgrade: spdy/3.1"), "{forward}");
        }
    }
}
