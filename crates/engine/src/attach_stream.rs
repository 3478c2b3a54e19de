//! Attaching for a server that relays the session itself (the CRI's
//! streaming Attach): the caller gets the connected attach socket of the
//! container's monitor and speaks its packets ([`crate::attach_socket`]:
//! one kind byte, then the bytes) instead of joining it to our stdio.

use crate::attach_socket;
use crate::engine::Engine;
use crate::error::Result;
use crate::meta::Meta;
use std::os::fd::OwnedFd;

/// Packet kind: stdin bytes, client to monitor.
pub const ATTACH_STDIN: u8 = attach_socket::STDIN;
/// Packet kind: the container's stdout (or its pty's output).
pub const ATTACH_STDOUT: u8 = attach_socket::STDOUT;
/// Packet kind: the container's stderr.
pub const ATTACH_STDERR: u8 = attach_socket::STDERR;
/// Packet kind: a terminal size, rows then columns, u16 little-endian.
pub const ATTACH_RESIZE: u8 = attach_socket::RESIZE;

/// A connected attach socket (`SOCK_SEQPACKET`: one packet per read or
/// write) and what the container takes.
#[derive(Debug)]
pub struct AttachStream {
    /// The socket; end of file means the container's run ended.
    pub socket: OwnedFd,
    /// The container has a terminal (its output is all stdout).
    pub tty: bool,
    /// The container takes input (`-i`): stdin packets reach it.
    pub stdin: bool,
}

impl Engine {
    /// Connect to running container `key`'s attach socket.
    pub fn attach_stream(&self, key: &str) -> Result<AttachStream> {
        let (c, _) = self.in_state(key, true, "you can only attach to running containers")?;
        let options = Meta::of(&c)?.options;
        let socket = attach_socket::connect_in(self.record(&c.id).path())?;
        Ok(AttachStream {
            socket,
            tty: options.tty,
            stdin: options.interactive,
        })
    }
}
