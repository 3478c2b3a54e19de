//! The CRI client behind `bench/cri-pod.sh` and `bench/cri-exec.sh`: one
//! client, several CRI servers (berthd, containerd's CRI plugin), each
//! driven the same way in one run, runs interleaved so drift hits all.
//!
//! ```text
//! cri-bench pod  RUNS CGROUP_PARENT LOG_DIR NAME=SOCKET=IMAGE...
//! cri-bench exec RUNS CGROUP_PARENT LOG_DIR NAME=SOCKET=IMAGE...
//! cri-bench rss-pods  COUNT PID CGROUP_PARENT LOG_DIR SOCKET IMAGE
//! cri-bench rss-exec  COUNT PID CGROUP_PARENT LOG_DIR SOCKET IMAGE
//! cri-bench clean SOCKET
//! ```
//!
//! `pod`: RunPodSandbox, CreateContainer (busybox `sleep 3600`),
//! StartContainer until ContainerStatus says RUNNING ("up"); then
//! StopContainer (timeout 0), RemoveContainer, StopPodSandbox,
//! RemovePodSandbox ("down"). `exec`: in one running pod per server, the
//! time from the `Exec` request to the first byte of `echo hi` on the
//! stdout channel (WebSocket, `v4.channel.k8s.io`, as kubelet's streaming
//! server speaks it), and `ExecSync` of `echo hi`. The `rss-*` commands
//! print the server's VmRSS before and with COUNT pods (each with one
//! running container) or COUNT idle exec streams (`cat`, stdin open).
//! `clean` removes every container and pod a server has (the scripts'
//! cleanup after a failed run).

use berth_cri::proto::runtime_service_client::RuntimeServiceClient;
use berth_cri::proto::*;
use futures_util::StreamExt;
use hyper_util::rt::TokioIo;
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;
use tonic::transport::{Channel, Endpoint, Uri};

type Rt = RuntimeServiceClient<Channel>;
type Ws = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;
type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// One server under test.
struct Target {
    name: String,
    rt: Rt,
    image: String,
}

/// What every pod of one run shares.
struct Ctx {
    cgroup_parent: String,
    log_dir: String,
}

async fn connect(socket: &str) -> Result<Rt> {
    let path = socket.to_string();
    let channel = Endpoint::try_from("http://[::]:50051")?
        .connect_with_connector(tower::service_fn(move |_: Uri| {
            let path = path.clone();
            async move {
                Ok::<_, std::io::Error>(TokioIo::new(tokio::net::UnixStream::connect(path).await?))
            }
        }))
        .await?;
    Ok(RuntimeServiceClient::new(channel))
}

fn pod_config(ctx: &Ctx, target: &str, name: &str) -> PodSandboxConfig {
    PodSandboxConfig {
        metadata: Some(PodSandboxMetadata {
            name: name.into(),
            uid: format!("uid-{name}"),
            namespace: "bench".into(),
            attempt: 0,
        }),
        hostname: name.into(),
        log_directory: format!("{}/{target}/{name}", ctx.log_dir),
        linux: Some(LinuxPodSandboxConfig {
            // As kubelet's cgroupfs driver names it: the pod's own parent.
            cgroup_parent: format!("{}/pod-{target}-{name}", ctx.cgroup_parent),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn container_config(image: &str, command: &[&str]) -> ContainerConfig {
    ContainerConfig {
        metadata: Some(ContainerMetadata {
            name: "c".into(),
            attempt: 0,
        }),
        image: Some(ImageSpec {
            image: image.into(),
            ..Default::default()
        }),
        command: command.iter().map(|s| s.to_string()).collect(),
        log_path: "c.log".into(),
        ..Default::default()
    }
}

/// A pod with one started container running `command`; (pod, container),
/// once ContainerStatus says RUNNING.
async fn pod_up(
    ctx: &Ctx,
    t: &mut Target,
    name: &str,
    command: &[&str],
) -> Result<(String, String)> {
    let config = pod_config(ctx, &t.name, name);
    let pod =
        t.rt.run_pod_sandbox(RunPodSandboxRequest {
            config: Some(config.clone()),
            runtime_handler: String::new(),
        })
        .await?
        .into_inner()
        .pod_sandbox_id;
    let ctr =
        t.rt.create_container(CreateContainerRequest {
            pod_sandbox_id: pod.clone(),
            config: Some(container_config(&t.image, command)),
            sandbox_config: Some(config),
        })
        .await?
        .into_inner()
        .container_id;
    t.rt.start_container(StartContainerRequest {
        container_id: ctr.clone(),
    })
    .await?;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let st =
            t.rt.container_status(ContainerStatusRequest {
                container_id: ctr.clone(),
                verbose: false,
            })
            .await?
            .into_inner()
            .status
            .map(|s| s.state);
        if st == Some(ContainerState::ContainerRunning as i32) {
            return Ok((pod, ctr));
        }
        if Instant::now() > deadline {
            return Err(format!("{}: container {ctr} not running: {st:?}", t.name).into());
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

async fn pod_down(t: &mut Target, pod: &str, ctr: &str) -> Result<()> {
    t.rt.stop_container(StopContainerRequest {
        container_id: ctr.into(),
        timeout: 0,
    })
    .await?;
    t.rt.remove_container(RemoveContainerRequest {
        container_id: ctr.into(),
    })
    .await?;
    t.rt.stop_pod_sandbox(StopPodSandboxRequest {
        pod_sandbox_id: pod.into(),
    })
    .await?;
    t.rt.remove_pod_sandbox(RemovePodSandboxRequest {
        pod_sandbox_id: pod.into(),
    })
    .await?;
    Ok(())
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Per target, per figure: the samples in ms.
type Samples = Vec<Vec<(&'static str, Vec<f64>)>>;

fn report(targets: &[Target], samples: &mut Samples) {
    for (t, figures) in targets.iter().zip(samples.iter_mut()) {
        for (figure, v) in figures.iter_mut() {
            let n = v.len();
            println!(
                "{:<11} {figure:<14} median {:8.2} ms  (n={n})",
                t.name,
                median(v)
            );
        }
    }
    if targets.len() >= 2 {
        for (i, (figure, _)) in samples[0].iter().enumerate() {
            let a = median(&mut samples[0][i].1.clone());
            for (t, figs) in targets.iter().zip(samples.iter()).skip(1) {
                let b = median(&mut figs[i].1.clone());
                println!(
                    "ratio {figure:<14} {}/{} {:.2}",
                    targets[0].name,
                    t.name,
                    a / b
                );
            }
        }
    }
}

const WARMUP: usize = 3;

async fn bench_pods(ctx: &Ctx, runs: usize, targets: &mut [Target]) -> Result<()> {
    let mut samples: Samples = targets
        .iter()
        .map(|_| vec![("up", vec![]), ("down", vec![]), ("total", vec![])])
        .collect();
    for i in 0..WARMUP + runs {
        for (t, s) in targets.iter_mut().zip(samples.iter_mut()) {
            let began = Instant::now();
            let (pod, ctr) = pod_up(ctx, t, &format!("p{i}"), &["sleep", "3600"]).await?;
            let up = began.elapsed();
            pod_down(t, &pod, &ctr).await?;
            let total = began.elapsed();
            if i >= WARMUP {
                s[0].1.push(ms(up));
                s[1].1.push(ms(total - up));
                s[2].1.push(ms(total));
            }
        }
    }
    report(targets, &mut samples);
    Ok(())
}

/// Open the WebSocket at `url` (http://) offering `v4.channel.k8s.io`.
async fn websocket(url: &str) -> Result<Ws> {
    let mut req = url.replacen("http://", "ws://", 1).into_client_request()?;
    req.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        HeaderValue::from_static("v4.channel.k8s.io"),
    );
    let host = req
        .uri()
        .authority()
        .ok_or("streaming URL without a host")?
        .as_str()
        .to_string();
    let tcp = tokio::net::TcpStream::connect(host).await?;
    tcp.set_nodelay(true)?;
    let (ws, _) = tokio_tungstenite::client_async(req, tcp).await?;
    Ok(ws)
}

async fn exec_url(t: &mut Target, ctr: &str, cmd: &[&str], stdin: bool) -> Result<String> {
    Ok(t.rt
        .exec(ExecRequest {
            container_id: ctr.into(),
            cmd: cmd.iter().map(|s| s.to_string()).collect(),
            tty: false,
            stdin,
            stdout: true,
            // As `kubectl exec` without -t asks.
            stderr: true,
        })
        .await?
        .into_inner()
        .url)
}

/// Exec `echo hi`; the time to its first stdout byte, then the stream
/// drained to its end.
async fn exec_first_byte(t: &mut Target, ctr: &str) -> Result<Duration> {
    let began = Instant::now();
    let url = exec_url(t, ctr, &["echo", "hi"], false).await?;
    let mut ws = websocket(&url).await?;
    let mut first = None;
    let mut out = Vec::new();
    let mut other = Vec::new();
    let drain = async {
        while let Some(m) = ws.next().await {
            match m? {
                Message::Binary(b) if b.len() > 1 && b[0] == 1 => {
                    first.get_or_insert_with(|| began.elapsed());
                    out.extend_from_slice(&b[1..]);
                }
                Message::Binary(b) if b.len() > 1 => other.extend_from_slice(&b),
                Message::Close(_) => break,
                _ => {}
            }
        }
        Ok::<_, Box<dyn std::error::Error>>(())
    };
    tokio::time::timeout(Duration::from_secs(10), drain).await??;
    if out != b"hi\n" {
        return Err(format!(
            "{}: exec printed {:?} (other channels: {:?})",
            t.name,
            String::from_utf8_lossy(&out),
            String::from_utf8_lossy(&other)
        )
        .into());
    }
    first.ok_or_else(|| format!("{}: no output", t.name).into())
}

async fn exec_sync(t: &mut Target, ctr: &str) -> Result<Duration> {
    let began = Instant::now();
    let r =
        t.rt.exec_sync(ExecSyncRequest {
            container_id: ctr.into(),
            cmd: vec!["echo".into(), "hi".into()],
            timeout: 10,
        })
        .await?
        .into_inner();
    let took = began.elapsed();
    if r.stdout != b"hi\n" || r.exit_code != 0 {
        return Err(format!("{}: ExecSync answered {r:?}", t.name).into());
    }
    Ok(took)
}

async fn bench_exec(ctx: &Ctx, runs: usize, targets: &mut [Target]) -> Result<()> {
    let mut pods = Vec::new();
    for t in targets.iter_mut() {
        pods.push(pod_up(ctx, t, "exec", &["sleep", "3600"]).await?);
    }
    let mut samples: Samples = targets
        .iter()
        .map(|_| vec![("first-byte", vec![]), ("exec-sync", vec![])])
        .collect();
    for i in 0..WARMUP + runs {
        for ((t, s), (_, ctr)) in targets.iter_mut().zip(samples.iter_mut()).zip(&pods) {
            let first = exec_first_byte(t, ctr).await?;
            let sync = exec_sync(t, ctr).await?;
            if i >= WARMUP {
                s[0].1.push(ms(first));
                s[1].1.push(ms(sync));
            }
        }
    }
    report(targets, &mut samples);
    for (t, (pod, ctr)) in targets.iter_mut().zip(&pods) {
        pod_down(t, pod, ctr).await?;
    }
    Ok(())
}

fn rss_kib(pid: &str) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| "no VmRSS".into())
}

async fn rss_pods(ctx: &Ctx, count: usize, pid: &str, t: &mut Target) -> Result<()> {
    t.rt.version(VersionRequest::default()).await?;
    let idle = rss_kib(pid)?;
    let mut pods = Vec::new();
    for i in 0..count {
        pods.push(pod_up(ctx, t, &format!("rss{i}"), &["sleep", "3600"]).await?);
    }
    let busy = rss_kib(pid)?;
    println!(
        "{} RSS: idle {idle} KiB, with {count} pods (one running container each) {busy} KiB",
        t.name
    );
    for (pod, ctr) in pods {
        pod_down(t, &pod, &ctr).await?;
    }
    Ok(())
}

async fn rss_exec(ctx: &Ctx, count: usize, pid: &str, t: &mut Target) -> Result<()> {
    let (pod, ctr) = pod_up(ctx, t, "rss-exec", &["sleep", "3600"]).await?;
    // Settle: one exec first, so what is measured is the streams.
    exec_first_byte(t, &ctr).await?;
    let before = rss_kib(pid)?;
    let mut streams = Vec::new();
    for _ in 0..count {
        let url = exec_url(t, &ctr, &["cat"], true).await?;
        streams.push(websocket(&url).await?);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let open = rss_kib(pid)?;
    println!(
        "{} RSS: {before} KiB before, {open} KiB with {count} idle exec streams (cat, stdin open)",
        t.name
    );
    // Leaving closes each exec's stdin: cat ends.
    drop(streams);
    tokio::time::sleep(Duration::from_millis(500)).await;
    pod_down(t, &pod, &ctr).await
}

/// Remove every container and pod `rt` lists.
async fn clean(mut rt: Rt) -> Result<()> {
    let containers = rt
        .list_containers(ListContainersRequest::default())
        .await?
        .into_inner()
        .containers;
    for c in containers {
        rt.remove_container(RemoveContainerRequest { container_id: c.id })
            .await?;
    }
    let pods = rt
        .list_pod_sandbox(ListPodSandboxRequest::default())
        .await?
        .into_inner()
        .items;
    for p in pods {
        rt.stop_pod_sandbox(StopPodSandboxRequest {
            pod_sandbox_id: p.id.clone(),
        })
        .await?;
        rt.remove_pod_sandbox(RemovePodSandboxRequest {
            pod_sandbox_id: p.id,
        })
        .await?;
    }
    Ok(())
}

async fn target(spec: &str) -> Result<Target> {
    let mut parts = spec.splitn(3, '=');
    let (Some(name), Some(socket), Some(image)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(format!("target {spec:?} is not NAME=SOCKET=IMAGE").into());
    };
    Ok(Target {
        name: name.into(),
        rt: connect(socket).await?,
        image: image.into(),
    })
}

const USAGE: &str = "usage: cri-bench pod|exec RUNS CGROUP_PARENT LOG_DIR NAME=SOCKET=IMAGE...\n       \
                     cri-bench rss-pods|rss-exec COUNT PID CGROUP_PARENT LOG_DIR SOCKET IMAGE\n       \
                     cri-bench clean SOCKET";

async fn run(args: &[String]) -> Result<()> {
    let n = |s: &str| {
        s.parse::<usize>()
            .map_err(|_| format!("{s:?} is not a count"))
    };
    match args {
        [cmd, runs, cg, logs, specs @ ..]
            if (cmd == "pod" || cmd == "exec") && !specs.is_empty() =>
        {
            let ctx = Ctx {
                cgroup_parent: cg.clone(),
                log_dir: logs.clone(),
            };
            let mut targets = Vec::new();
            for s in specs {
                targets.push(target(s).await?);
            }
            if cmd == "pod" {
                bench_pods(&ctx, n(runs)?, &mut targets).await
            } else {
                bench_exec(&ctx, n(runs)?, &mut targets).await
            }
        }
        [cmd, count, pid, cg, logs, socket, image] if cmd == "rss-pods" || cmd == "rss-exec" => {
            let ctx = Ctx {
                cgroup_parent: cg.clone(),
                log_dir: logs.clone(),
            };
            let mut t = target(&format!("berthd={socket}={image}")).await?;
            if cmd == "rss-pods" {
                rss_pods(&ctx, n(count)?, pid, &mut t).await
            } else {
                rss_exec(&ctx, n(count)?, pid, &mut t).await
            }
        }
        [cmd, socket] if cmd == "clean" => clean(connect(socket).await?).await,
        _ => Err(USAGE.into()),
    }
}

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cri-bench: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(&args)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cri-bench: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
