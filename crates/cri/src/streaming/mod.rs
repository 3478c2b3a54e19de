//! berthd's streaming server, the CRI's model (kubelet's, CRI-O's,
//! containerd's): `Exec`, `Attach` and `PortForward` answer a URL on this
//! server with a single-use token ([`tokens`]); kubelet (or a client it
//! redirects) connects there and the session runs over WebSocket with
//! the Kubernetes channel protocol ([`channels`]) or over SPDY/3.1 with
//! one stream per channel ([`spdy`]). The server listens on
//! TCP, by default 127.0.0.1 on an ephemeral port (`streaming_address`).

mod attach;
mod channels;
mod exec;
mod fd_io;
mod portforward;
mod server;
mod spdy;
pub mod tokens;
mod ws_relay;

use crate::daemon::Daemon;
use crate::proto;
use crate::status_codes::{self, invalid};
use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex};
use tokens::{Pending, Tokens};
use tonic::Status;

/// The bound server and the tokens it accepts.
#[derive(Debug)]
pub struct Streaming {
    addr: SocketAddr,
    /// Taken by [`serve`] when the async runtime starts.
    listener: Mutex<Option<TcpListener>>,
    tokens: Tokens,
}

impl Streaming {
    /// Bind `address` (`host:port`; port 0 picks one).
    pub fn bind(address: &str) -> std::io::Result<Streaming> {
        let listener = TcpListener::bind(address)?;
        listener.set_nonblocking(true)?;
        Ok(Streaming {
            addr: listener.local_addr()?,
            listener: Mutex::new(Some(listener)),
            tokens: Tokens::default(),
        })
    }

    fn url(&self, kind: &str, what: Pending) -> Result<String, Status> {
        let token = self
            .tokens
            .issue(what)
            .map_err(|e| Status::internal(format!("making a streaming token: {e}")))?;
        Ok(format!("http://{}/{kind}/{token}", self.addr))
    }
}

/// Serve the streaming server until berthd stops (spawned by the gRPC
/// server's start).
pub async fn serve(daemon: Arc<Daemon>) {
    let taken = daemon
        .streaming
        .listener
        .lock()
        .ok()
        .and_then(|mut l| l.take());
    let Some(listener) = taken else { return };
    match tokio::net::TcpListener::from_std(listener) {
        Ok(l) => server::accept_loop(daemon, l).await,
        Err(e) => tracing::error!("streaming server: {e}"),
    }
}

fn running_container(d: &Daemon, id: &str) -> Result<String, Status> {
    let id = match id.trim() {
        "" => return Err(invalid("container_id is required")),
        id => id,
    };
    let info = d.engine.inspect(id).map_err(status_codes::engine)?;
    if info.state.status != berth_engine::Status::Running {
        return Err(Status::failed_precondition(format!(
            "container {id} is not running"
        )));
    }
    Ok(info.id)
}

/// `Exec`: the URL of an exec of `cmd` in a running container.
pub fn exec(d: &Daemon, req: proto::ExecRequest) -> Result<proto::ExecResponse, Status> {
    if req.cmd.is_empty() {
        return Err(invalid("cmd is required"));
    }
    if !(req.stdin || req.stdout || req.stderr) {
        return Err(invalid("one of stdin, stdout and stderr must be set"));
    }
    if req.tty && req.stderr {
        return Err(invalid("tty and stderr cannot both be set"));
    }
    let id = running_container(d, &req.container_id)?;
    let url = d.streaming.url(
        "exec",
        Pending::Exec(proto::ExecRequest {
            container_id: id,
            ..req
        }),
    )?;
    Ok(proto::ExecResponse { url })
}

/// `Attach`: the URL of an attach to a running container.
pub fn attach(d: &Daemon, req: proto::AttachRequest) -> Result<proto::AttachResponse, Status> {
    if !(req.stdin || req.stdout || req.stderr) {
        return Err(invalid("one of stdin, stdout and stderr must be set"));
    }
    let id = running_container(d, &req.container_id)?;
    let url = d.streaming.url(
        "attach",
        Pending::Attach(proto::AttachRequest {
            container_id: id,
            ..req
        }),
    )?;
    Ok(proto::AttachResponse { url })
}

/// `PortForward`: the URL of a forward into a ready pod's network.
pub fn port_forward(
    d: &Daemon,
    req: proto::PortForwardRequest,
) -> Result<proto::PortForwardResponse, Status> {
    let id = match req.pod_sandbox_id.trim() {
        "" => return Err(invalid("pod_sandbox_id is required")),
        id => id,
    };
    let pod = d.engine.pod(id).map_err(status_codes::engine)?;
    let Some(netns) = pod.netns_path.clone() else {
        return Err(Status::failed_precondition(format!(
            "pod {id} has no network namespace of its own"
        )));
    };
    let ports = req
        .port
        .iter()
        .map(|&p| u16::try_from(p).ok().filter(|p| *p > 0))
        .collect::<Option<Vec<u16>>>()
        .ok_or_else(|| invalid(format!("ports must be 1-65535: {:?}", req.port)))?;
    let url = d
        .streaming
        .url("portforward", Pending::PortForward { netns, ports })?;
    Ok(proto::PortForwardResponse { url })
}
