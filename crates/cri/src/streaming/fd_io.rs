//! A pipe or pty descriptor read and written from the async thread: made
//! non-blocking and polled through tokio's reactor, so a slow process never
//! stalls the one async thread.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

/// One descriptor under the reactor.
pub struct FdIo {
    fd: AsyncFd<File>,
}

impl FdIo {
    /// Take `fd`, made non-blocking.
    pub fn new(fd: OwnedFd) -> io::Result<FdIo> {
        let raw = fd.as_raw_fd();
        // SAFETY: fcntl on a descriptor we own, flags only.
        let flags = unsafe { libc::fcntl(raw, libc::F_GETFL) };
        // SAFETY: as above; adds O_NONBLOCK.
        if flags < 0 || unsafe { libc::fcntl(raw, libc::F_SETFL, flags | libc::O_NONBLOCK) } < 0 {
            return Err(io::Error::last_os_error());
        }
        let interest = Interest::READABLE | Interest::WRITABLE;
        // SAFETY: the File owns the descriptor and is never replaced or
        // closed while the AsyncFd holds it.
        let fd = unsafe { AsyncFd::register_with_interest(File::from(fd), interest) }?;
        Ok(FdIo { fd })
    }

    /// Read some bytes; 0 at the end. A pty's master reads EIO once the
    /// last slave closed: that is its end too.
    pub async fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let mut guard = self.fd.readable().await?;
            match guard.try_io(|f| f.get_ref().read(buf)) {
                Ok(Err(e)) if e.raw_os_error() == Some(libc::EIO) => return Ok(0),
                Ok(r) => return r,
                Err(_would_block) => continue,
            }
        }
    }

    /// Write all of `data`.
    pub async fn write_all(&self, mut data: &[u8]) -> io::Result<()> {
        while !data.is_empty() {
            let mut guard = self.fd.writable().await?;
            match guard.try_io(|f| f.get_ref().write(data)) {
                Ok(Ok(n)) => data = &data[n..],
                Ok(Err(e)) => return Err(e),
                Err(_would_block) => continue,
            }
        }
        Ok(())
    }

    /// The descriptor (for a terminal's resize).
    pub fn raw(&self) -> std::os::fd::BorrowedFd<'_> {
        use std::os::fd::AsFd;
        self.fd.get_ref().as_fd()
    }
}
