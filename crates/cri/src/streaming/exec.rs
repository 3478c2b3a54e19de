//! An exec session over the channels, whatever carries them (WebSocket
//! messages or SPDY streams, see [`super::channels::In`]): the process is
//! started through the engine ([`berth_engine::Engine::exec_streams`]),
//! its output (the pty, or stdout and stderr) goes out on channels 1 and
//! 2, stdin and resizes come in on 0 and 4, and when the process has
//! ended and its output is drained, its exit status goes on channel 3 and
//! the session ends. A client that goes away (the input ends) takes the
//! process's stdin (or terminal) with it: the process gets EOF (or SIGHUP).

use super::channels::{self, In, Out, CLOSE, ERROR, RESIZE, STDERR, STDIN, STDOUT};
use super::fd_io::FdIo;
use crate::daemon::{blocking, Daemon};
use crate::proto::ExecRequest;
use crate::status_codes;
use berth_engine::ExecOptions;
use std::os::fd::OwnedFd;
use std::sync::Arc;
use std::time::Duration;

/// How long output may still come after the process ended (a background
/// child holding the terminal must not hold the session open for ever).
const DRAIN: Duration = Duration::from_secs(1);

/// Run `req`, its input from `input`, its output to `tx` (`can_close`:
/// the client may close stdin).
pub async fn run(daemon: Arc<Daemon>, req: ExecRequest, input: In, tx: Out, can_close: bool) {
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
        Err(status) => return refuse(&tx, status.message()),
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
    let process_file = streams.process_file;
    // Reaped on a thread of its own whatever becomes of the session (a
    // stream may idle for hours: parked on the bounded blocking pool, a
    // few idle streams would starve every other call); the process file
    // goes once the runtime is done with it.
    let (exit_tx, exit) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let status = runtime.wait();
        drop(process_file);
        let _ = exit_tx.send(status);
    });
    let (terminal, stdin, stdout, stderr) = match ends {
        Ok(e) => e,
        Err(e) => return refuse(&tx, &format!("relaying the exec: {e}")),
    };

    // The first message tells the client the streams are up (kubelet sends
    // an empty one on the lowest channel it writes).
    let first = if req.stdout {
        STDOUT
    } else if req.stderr {
        STDERR
    } else {
        ERROR
    };
    let _ = tx.send((first, Vec::new()));
    let session = async move {
        let out_fd = terminal.as_ref().or(stdout.as_ref());
        let outputs = futures_util::future::join(
            pump(out_fd, STDOUT, req.stdout, tx.clone()),
            pump(stderr.as_ref(), STDERR, req.stderr, tx.clone()),
        );
        let input = relay_input(input, req.stdin, stdin, terminal.as_ref(), can_close);
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
                        let _ = tx.send((ERROR, channels::failure_status("waiting for the exec failed")));
                        return;
                    }
                };
                let _ = tx.send((ERROR, channels::exit_status(code)));
            }
            // The client went away: dropping our ends here closes the
            // process's stdin or terminal.
            _ = input => {}
        }
    };
    session.await;
}

/// Relay `fd` to `channel` until its end (`wanted` false: read and drop,
/// so the process never blocks on a full pipe).
async fn pump(fd: Option<&FdIo>, channel: u8, wanted: bool, tx: Out) {
    let Some(fd) = fd else { return };
    let mut buf = vec![0u8; 32 * 1024];
    loop {
        match fd.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) if wanted => {
                if tx.send((channel, buf[..n].to_vec())).is_err() {
                    return;
                }
            }
            Ok(_) => {}
        }
    }
}

/// The client's messages until it goes away: stdin (when `wanted`) to the
/// pipe or the terminal, sizes to the terminal; with `can_close` a CLOSE
/// of stdin ends it: the pipe is closed, so the process reads EOF (a
/// terminal has no half-close: input just stops).
async fn relay_input(
    mut input: In,
    wanted: bool,
    mut pipe: Option<FdIo>,
    terminal: Option<&FdIo>,
    can_close: bool,
) {
    let mut open = wanted;
    while let Some((channel, data)) = input.recv().await {
        let rest = &data[..];
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
            CLOSE if can_close && rest.first() == Some(&STDIN) => {
                open = false;
                pipe = None;
            }
            _ => {}
        }
    }
}

/// Answer `why` on the error channel (the session then ends).
pub fn refuse(tx: &Out, why: &str) {
    let _ = tx.send((ERROR, channels::failure_status(why)));
}
