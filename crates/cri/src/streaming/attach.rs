//! An attach session over the channels (WebSocket or SPDY, see
//! [`super::channels::In`]): the container's monitor's
//! attach socket ([`berth_engine::Engine::attach_stream`]) relayed packet
//! by packet — its stdout and stderr packets out on channels 1 and 2,
//! stdin and resizes from the client in as stdin and resize packets. When
//! the monitor closes the socket (the container's run ended) a Success
//! status goes on channel 3 and the session ends; a client that goes
//! away leaves the container running.

use super::channels::{self, frame, In, Out, CLOSE, ERROR, RESIZE, STDERR, STDIN, STDOUT};
use super::exec::refuse;
use super::fd_io::FdIo;
use crate::daemon::{blocking, Daemon};
use crate::proto::AttachRequest;
use crate::status_codes;
use berth_engine::{ATTACH_RESIZE, ATTACH_STDERR, ATTACH_STDIN, ATTACH_STDOUT};
use std::sync::Arc;

/// Relay an attach to `req`'s container: client input from `input`,
/// output to `tx` (`can_close`: the client may close stdin).
pub async fn run(daemon: Arc<Daemon>, req: AttachRequest, mut input: In, tx: Out, can_close: bool) {
    let id = req.container_id.clone();
    let started = blocking(&daemon, move |d| {
        d.engine.attach_stream(&id).map_err(status_codes::engine)
    })
    .await;
    let stream = match started {
        Ok(s) => s,
        Err(status) => return refuse(&tx, status.message()),
    };
    let takes_input = req.stdin && stream.stdin;
    let socket = match FdIo::new(stream.socket) {
        Ok(s) => s,
        Err(e) => return refuse(&tx, &format!("relaying the attach: {e}")),
    };
    let first = if req.stdout {
        STDOUT
    } else if req.stderr {
        STDERR
    } else {
        ERROR
    };
    if tx.send((first, Vec::new())).is_err() {
        return;
    }
    let output = async {
        let mut buf = vec![0u8; 64 * 1024 + 1];
        loop {
            let n = match socket.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            let channel = match buf[0] {
                ATTACH_STDOUT if req.stdout => STDOUT,
                ATTACH_STDERR if req.stderr => STDERR,
                _ => continue,
            };
            if tx.send((channel, buf[1..n].to_vec())).is_err() {
                return;
            }
        }
        let _ = tx.send((ERROR, channels::exit_status(0)));
    };
    let input = async {
        let mut open = takes_input;
        while let Some((channel, data)) = input.recv().await {
            let rest = &data[..];
            let packet = match channel {
                STDIN if open => frame(ATTACH_STDIN, rest),
                RESIZE if stream.tty => match channels::parse_resize(rest) {
                    Some((w, h)) => {
                        let mut p = vec![ATTACH_RESIZE];
                        p.extend_from_slice(&h.to_le_bytes());
                        p.extend_from_slice(&w.to_le_bytes());
                        p
                    }
                    None => continue,
                },
                CLOSE if can_close && rest.first() == Some(&STDIN) => {
                    open = false;
                    continue;
                }
                _ => continue,
            };
            // One write, one packet (the socket is SOCK_SEQPACKET).
            if socket.write_all(&packet).await.is_err() {
                return;
            }
        }
    };
    tokio::select! {
        _ = output => {}
        _ = input => {}
    }
}
