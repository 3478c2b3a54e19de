//! The bytes of one file of the tree, read into memory or, for a tree
//! nothing can change while it is scanned (an image's read-only mount),
//! mapped: a reader that looks at an ELF binary's headers and one section
//! then touches a few pages, not the whole file.
//!
//! A mapping of a file that shrinks while mapped faults (SIGBUS) when the
//! lost pages are touched, so a live container's tree is always read.

use nix::sys::mman::{mmap, munmap, MapFlags, ProtFlags};
use std::ffi::c_void;
use std::fs::File;
use std::io::Read;
use std::num::NonZeroUsize;
use std::ops::Deref;
use std::ptr::NonNull;

/// Files larger than this are not read (a record or binary that big is
/// more likely a trap than a package).
pub const READ_CAP: u64 = 512 << 20;

/// A file's bytes.
pub enum FileBytes {
    Read(Vec<u8>),
    Mapped { ptr: NonNull<c_void>, len: usize },
}

impl FileBytes {
    /// All of `file` (opened for reading), mapped when `map` and the file
    /// is not empty; the error is the message for a warning.
    pub fn of(mut file: File, map: bool) -> Result<FileBytes, String> {
        let size = file.metadata().map_err(|e| format!("stat: {e}"))?.len();
        if size > READ_CAP {
            return Err(format!("not read: larger than {READ_CAP} bytes"));
        }
        if let (true, Some(len)) = (map, NonZeroUsize::new(size as usize)) {
            // SAFETY: a fresh private read-only mapping of a file we hold
            // open; the caller maps only files of a read-only tree, which
            // nothing truncates while it is mapped.
            let ptr = unsafe {
                mmap(
                    None,
                    len,
                    ProtFlags::PROT_READ,
                    MapFlags::MAP_PRIVATE,
                    &file,
                    0,
                )
            }
            .map_err(|e| format!("map: {e}"))?;
            return Ok(FileBytes::Mapped {
                ptr,
                len: len.get(),
            });
        }
        let mut data = Vec::with_capacity(size as usize);
        file.by_ref()
            .take(READ_CAP + 1)
            .read_to_end(&mut data)
            .map_err(|e| format!("read: {e}"))?;
        if data.len() as u64 > READ_CAP {
            return Err(format!("not read: larger than {READ_CAP} bytes"));
        }
        Ok(FileBytes::Read(data))
    }
}

impl Deref for FileBytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            FileBytes::Read(v) => v,
            // SAFETY: the mapping is `len` readable bytes and lives as
            // long as `self`.
            FileBytes::Mapped { ptr, len } => unsafe {
                std::slice::from_raw_parts(ptr.as_ptr() as *const u8, *len)
            },
        }
    }
}

impl Drop for FileBytes {
    fn drop(&mut self) {
        if let FileBytes::Mapped { ptr, len } = self {
            // SAFETY: unmapping the mapping this value made, once.
            let _ = unsafe { munmap(*ptr, *len) };
        }
    }
}
