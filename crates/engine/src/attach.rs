//! Attaching to a container through its monitor's attach socket
//! ([`crate::attach_socket`]): `attach` to a running one, and a foreground
//! `run -it`/`run -i`/`start -ai` of a terminal or interactive container,
//! which podman also runs under its monitor and attaches to from the first
//! byte — so typing the detach keys leaves a terminal container running
//! with nobody in the foreground, and an interactive one outlives a client
//! that was killed (its output still logged, its exit still recorded).
//!
//! Without a terminal podman 4.3 honours no detach keys (the bytes reach
//! the container) and passes the end of our stdin on: the container's
//! stdin is closed. So does berth.

use crate::attach_socket::{self, MAX_PACKET, RESIZE, STDERR, STDIN, STDIN_EOF, STDOUT};
use crate::detach_keys::DetachMatcher;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::exit_codes::ExitCodes;
use crate::meta::Meta;
use crate::pty_relay::{write_all, RawMode, WinchPipe};
use crate::signal_forwarding::{forward_to, set_forwarding, stop_forwarding};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

/// What an attached session takes and gives.
#[derive(Debug, Clone)]
pub struct AttachOptions {
    /// Our stdin goes to the container's (when it has one: `-i`/`-t`).
    pub stdin: bool,
    /// The container's stdout comes to ours.
    pub stdout: bool,
    /// The container's stderr comes to ours.
    pub stderr: bool,
    /// The detach sequence (see [`crate::detach_keys::parse`]); None: off.
    pub detach_keys: Option<Vec<u8>>,
    /// Signals sent to us go to the container's process (without a
    /// terminal; with one, the terminal's keys reach it as input).
    pub sig_proxy: bool,
}

impl Default for AttachOptions {
    fn default() -> Self {
        AttachOptions {
            stdin: true,
            stdout: true,
            stderr: true,
            detach_keys: Some(vec![16, 17]),
            sig_proxy: true,
        }
    }
}

/// How an attached session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttachEnd {
    /// The container exited with this code.
    Exited(i32),
    /// The detach keys were typed; the container runs on.
    Detached,
}

impl Engine {
    /// Attach to running container `key` until it exits or the detach
    /// keys are typed. Output it wrote before is not replayed (podman's).
    pub fn attach(&self, key: &str, opts: &AttachOptions) -> Result<AttachEnd> {
        let (c, state) = self.in_state(key, true, "you can only attach to running containers")?;
        let options = Meta::of(&c)?.options;
        let socket = attach_socket::connect_in(self.record(&c.id).path())?;
        self.event(&c, "attach", None);
        let pid = state.process.map(|p| p.pid);
        let opts = for_container(opts, options.interactive, options.tty);
        self.session(&c.id, socket, options.tty, pid, &opts)
    }

    /// Start container `key` under its monitor, attached before its first
    /// byte of output, until it exits or the detach keys are typed.
    pub fn start_attached(&self, key: &str, opts: &AttachOptions) -> Result<AttachEnd> {
        let c = self.container(key)?;
        let options = Meta::of(&c)?.options;
        let (ours, theirs) = attach_socket::pair()?;
        self.start_monitored(&c.id, Some(theirs))?;
        self.event(&c, "attach", None);
        let pid = self.record(&c.id).load()?.process.map(|p| p.pid);
        let opts = for_container(opts, options.interactive, options.tty);
        self.session(&c.id, ours, options.tty, pid, &opts)
    }

    fn session(
        &self,
        id: &str,
        socket: OwnedFd,
        tty: bool,
        pid: Option<i32>,
        opts: &AttachOptions,
    ) -> Result<AttachEnd> {
        // A closed reader of ours ends our copying, not our life.
        // SAFETY: SIG_IGN is a valid disposition for SIGPIPE.
        unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
        let proxy = opts.sig_proxy && !tty;
        if let (true, Some(pid)) = (proxy, pid) {
            set_forwarding(true);
            forward_to(pid);
        }
        let relayed = relay(&socket, tty, opts);
        if proxy {
            stop_forwarding();
        }
        drop(socket);
        if relayed? {
            return Ok(AttachEnd::Detached);
        }
        // The monitor closes its clients once it recorded the exit.
        match self.wait(id) {
            Ok(code) => Ok(AttachEnd::Exited(code.unwrap_or(-1))),
            // Made with --rm: gone already, its code kept.
            Err(Error::NotFound(_)) => Ok(AttachEnd::Exited(
                ExitCodes::new(&self.opts.runroot).get(id).unwrap_or(-1),
            )),
            Err(e) => Err(e),
        }
    }
}

/// `opts` for a container: stdin only if it takes input (`-i`), and the
/// detach keys only with a terminal, as podman attaches it.
fn for_container(opts: &AttachOptions, interactive: bool, tty: bool) -> AttachOptions {
    AttachOptions {
        stdin: opts.stdin && interactive,
        detach_keys: opts.detach_keys.clone().filter(|_| tty),
        ..opts.clone()
    }
}

/// Copy between our stdio and the attach socket until the monitor closes
/// it (false) or the detach keys are typed (true).
fn relay(socket: &OwnedFd, tty: bool, opts: &AttachOptions) -> Result<bool> {
    let _raw = if tty && opts.stdin {
        RawMode::enter()
    } else {
        None
    };
    let winch = if tty {
        Some(WinchPipe::install()?)
    } else {
        None
    };
    if tty {
        send_size(socket.as_fd());
    }
    let mut keys = DetachMatcher::new(opts.detach_keys.clone());
    let mut reading = opts.stdin;
    let mut buf = vec![0u8; MAX_PACKET];
    let stdin = std::io::stdin();
    loop {
        let mut fds = vec![PollFd::new(socket.as_fd(), PollFlags::POLLIN)];
        if let Some(w) = &winch {
            fds.push(PollFd::new(w.fd(), PollFlags::POLLIN));
        }
        if reading {
            fds.push(PollFd::new(stdin.as_fd(), PollFlags::POLLIN));
        }
        match poll(&mut fds, PollTimeout::NONE) {
            Ok(_) => {}
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(crate::error::sys("poll")(e)),
        }
        let ready: Vec<bool> = fds
            .iter()
            .map(|f| f.revents().is_some_and(|r| !r.is_empty()))
            .collect();
        drop(fds);
        if ready[0] {
            match attach_socket::recv_packet(socket.as_fd(), &mut buf) {
                None => return Ok(false),
                Some((STDOUT, n)) if opts.stdout => {
                    write_all(1, &buf[1..1 + n]);
                }
                Some((STDERR, n)) if opts.stderr => {
                    write_all(2, &buf[1..1 + n]);
                }
                Some(_) => {}
            }
        }
        let mut at = 1;
        if let Some(w) = &winch {
            if ready[at] {
                w.drain();
                send_size(socket.as_fd());
            }
            at += 1;
        }
        if reading && ready[at] {
            let mut input = [0u8; 32 * 1024];
            match nix::unistd::read(stdin.as_raw_fd(), &mut input) {
                Err(nix::errno::Errno::EINTR | nix::errno::Errno::EAGAIN) => {}
                Ok(0) | Err(_) => {
                    reading = false;
                    if !tty {
                        attach_socket::send_packet(socket.as_fd(), STDIN_EOF, &[]);
                    }
                }
                Ok(n) => {
                    let (pass, detached) = keys.feed(&input[..n]);
                    if !pass.is_empty() {
                        attach_socket::send_packet(socket.as_fd(), STDIN, &pass);
                    }
                    if detached {
                        return Ok(true);
                    }
                }
            }
        }
    }
}

/// Tell the monitor our terminal's size.
fn send_size(socket: BorrowedFd<'_>) {
    if let Some(ws) = crate::pty_relay::window_size() {
        let mut size = [0u8; 4];
        size[..2].copy_from_slice(&ws.ws_row.to_le_bytes());
        size[2..].copy_from_slice(&ws.ws_col.to_le_bytes());
        attach_socket::send_packet(socket, RESIZE, &size);
    }
}
