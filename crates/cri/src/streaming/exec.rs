//! An exec session over the channel protocol: the process is started
//! through the engine ([`berth_engine::Engine::exec_streams`]), its
//! output (the pty, or stdout and stderr) goes out on channels 1 and 2,
//! stdin and resizes come in on 0 and 4, and when the process has ended
//! and its output is drained, its exit status goes on channel 3 and the
//! connection closes. A client that goes away takes the process's stdin
//! (or terminal) with it: the process gets EOF (or SIGHUP).

use super::channels::{self, frame, CLOSE, ERROR, RESIZE, STDERR, STDIN, STDOUT};
use super::fd_io::FdIo;
use super::server::Ws;
use crate::daemon::{blocking, Daemon};
use crate::proto::ExecRequest;
use crate::status_codes;
use berth_engine::ExecOptions;
use futures_util::{SinkExt, StreamExt};
use std::os::fd::OwnedFd;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc::{unbounded_channel, UnboundedSender};
use tokio_tungstenite::tungstenite::Message;

/// How long output may still come after the process ended (a background
/// child holding the terminal must not hold the session open for ever).
const DRAIN: Duration = Duration::from_secs(1);

/// Run `req` and relay it over `ws` (`v5`: the client may close stdin).
pub async fn run(daemon: Arc<Daemon>, ws: Ws, req: ExecRequest, v5: bool) {
    let opts = ExecOptions {
        command: req.cmd.clone(),
        interactive: req.stdin,
        tty: req.tty,
        ..Default::default()
    };
    let id = req.container_id.clone();
    let started = blocking(&daemon, move |d| {
        d.engine
            .exec_streams(&id, &opts)
            .map_err(status_codes::engine)
    })
    .await;
    let mut streams = match started {
        Ok(s) => s,
        Err(status) => return refuse(ws, status.message()).await,
    };
    let take = |p: Option<OwnedFd>| p.map(FdIo::new).transpose();
    let ends = (|| {
        Ok::<_, std::io::Error>((
            take(streams.terminal.take())?,
            take(streams.runtime.stdin.take().map(OwnedFd::from))?,
            take(streams.runtime.stdout.take().map(OwnedFd::from))?,
            take(streams.runtime.stderr.take().map(OwnedFd::from))?,
        ))
    })();
    let mut runtime = streams.runtime;
    // Reaped on the blocking pool whatever becomes of the session.
    let exit = tokio::task::spawn_blocking(move || runtime.wait());
    let (terminal, stdin, stdout, stderr) = match ends {
        Ok(e) => e,
        Err(e) => return refuse(ws, &format!("relaying the exec: {e}")).await,
    };

    let (mut sink, source) = ws.split();
    let (tx, mut rx) = unbounded_channel::<Vec<u8>>();
    // The first message tells the client the streams are up (kubelet sends
    // an empty one on the lowest channel it writes).
    let first = if req.stdout {
        STDOUT
    } else if req.stderr {
        STDERR
    } else {
        ERROR
    };
    let _ = tx.send(frame(first, &[]));
    let writer = async move {
        while let Some(m) = rx.recv().await {
            if sink.send(Message::binary(m)).await.is_err() {
                return;
            }
        }
        let _ = sink.send(Message::Close(None)).await;
        let _ = sink.close().await;
    };
    let session = async move {
        let out_fd = terminal.as_ref().or(stdout.as_ref());
        let outputs = futures_util::future::join(
            pump(out_fd, STDOUT, req.stdout, tx.clone()),
            pump(stderr.as_ref(), STDERR, req.stderr, tx.clone()),
        );
        let input = input(source, req.stdin, stdin, terminal.as_ref(), v5);
        let ended = async {
            let mut outputs = std::pin::pin!(outputs);
            let mut exit = std::pin::pin!(exit);
            let mut drained = false;
            let status = tokio::select! {
                s = &mut exit => s,
                _ = &mut outputs => { drained = true; (&mut exit).await }
            };
            if !drained {
                let _ = tokio::time::timeout(DRAIN, &mut outputs).await;
            }
            status
        };
        tokio::select! {
            status = ended => {
                let code = match status {
                    Ok(Ok(st)) => {
                        use std::os::unix::process::ExitStatusExt;
                        st.code().unwrap_or_else(|| 128 + st.signal().unwrap_or(0))
                    }
                    _ => {
                        let _ = tx.send(frame(ERROR, &channels::failure_status("waiting for the exec failed")));
                        return;
                    }
                };
                let _ = tx.send(frame(ERROR, &channels::exit_status(code)));
            }
            // The client went away: dropping our ends here closes the
            // process's stdin or terminal.
            _ = input => {}
        }
    };
    futures_util::future::join(writer, session).await;
}

/// Relay `fd` to `channel` until its end (`wanted` false: read and drop,
/// so the process never blocks on a full pipe).
async fn pump(fd: Option<&FdIo>, channel: u8, wanted: bool, tx: UnboundedSender<Vec<u8>>) {
    let Some(fd) = fd else { return };
    let mut buf = vec![0u8; 32 * 1024];
    loop {
        match fd.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) if wanted => {
                if tx.send(frame(channel, &buf[..n])).is_err() {
                    return;
                }
            }
            Ok(_) => {}
        }
    }
}

/// The client's messages until it closes the connection: stdin (when
/// `wanted`) to the pipe or the terminal, sizes to the terminal; with v5 a
/// `[255, 0]` ends stdin: the pipe is closed, so the process reads EOF (a
/// terminal has no half-close: input just stops).
async fn input(
    mut source: futures_util::stream::SplitStream<Ws>,
    wanted: bool,
    mut pipe: Option<FdIo>,
    terminal: Option<&FdIo>,
    v5: bool,
) {
    let mut open = wanted;
    while let Some(Ok(msg)) = source.next().await {
        let data = match msg {
            Message::Binary(b) => b,
            Message::Close(_) => return,
            _ => continue,
        };
        let Some((&channel, rest)) = data.split_first() else {
            continue;
        };
        match channel {
            STDIN if open => {
                let Some(fd) = pipe.as_ref().or(terminal) else {
                    continue;
                };
                if fd.write_all(rest).await.is_err() {
                    open = false;
                    pipe = None;
                }
            }
            RESIZE => {
                if let (Some(t), Some((w, h))) = (terminal, channels::parse_resize(rest)) {
                    berth_engine::resize_terminal(t.raw(), w, h);
                }
            }
            CLOSE if v5 && rest.first() == Some(&STDIN) => {
                open = false;
                pipe = None;
            }
            _ => {}
        }
    }
}

/// Answer `why` on the error channel and close.
pub async fn refuse(mut ws: Ws, why: &str) {
    let _ = ws
        .send(Message::binary(frame(
            ERROR,
            &channels::failure_status(why),
        )))
        .await;
    let _ = ws.send(Message::Close(None)).await;
    let _ = ws.close(None).await;
}
