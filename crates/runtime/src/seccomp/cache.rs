//! Compiled filters kept on disk, so the ~400-rule profiles engines pass
//! are compiled by libseccomp once per host boot, not once per container.
//!
//! An entry is `<dir>/<key>.bpf`, where the key is the sha256 of everything
//! the program depends on: the profile's rules, the libseccomp version and
//! options, the native arch. A file is
//!
//! ```text
//! magic "BERTHBPF" | format u32 LE | instructions u32 LE | key [32] | sha256(program) [32] | program
//! ```
//!
//! A filter is a security boundary, so a read trusts nothing: the file must
//! be a regular file owned by us and writable by nobody else, of exactly the
//! size its header says, for this key, with a program matching its digest.
//! Anything else is a miss, and the caller compiles again. Entries are
//! written to a temporary name and renamed, so readers see whole files.

use super::compile::{INSN_SIZE, MAX_INSNS};
use sha2::{Digest, Sha256};
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

const MAGIC: &[u8; 8] = b"BERTHBPF";
const FORMAT: u32 = 1;
const HEADER: usize = 8 + 4 + 4 + 32 + 32;

/// The sha256 naming a compiled program.
pub(crate) type Key = [u8; 32];

/// The key of a program built from `rules` (the profile's JSON, without
/// the fields that do not change the program) by `generator` (the
/// libseccomp version and how it was driven).
pub(crate) fn key(rules: &[u8], generator: &str) -> Key {
    let mut h = Sha256::new();
    h.update(b"berth-seccomp-bpf\0");
    h.update(FORMAT.to_le_bytes());
    h.update(generator.as_bytes());
    h.update(b"\0");
    h.update(std::env::consts::ARCH.as_bytes());
    h.update(b"\0");
    h.update(rules);
    h.finalize().into()
}

fn entry_path(dir: &Path, key: &Key) -> PathBuf {
    let mut name = String::with_capacity(68);
    for b in key {
        name.push_str(&format!("{b:02x}"));
    }
    name.push_str(".bpf");
    dir.join(name)
}

/// The cached program for `key`, or `None` if there is no sound entry.
pub(crate) fn read(dir: &Path, key: &Key) -> Option<Vec<u8>> {
    let path = entry_path(dir, key);
    let mut file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
        .ok()?;
    let meta = file.metadata().ok()?;
    let size = usize::try_from(meta.len()).ok()?;
    let trusted_owner = meta.uid() == nix::unistd::geteuid().as_raw();
    if !meta.is_file() || !trusted_owner || meta.mode() & 0o022 != 0 {
        return None;
    }
    if size <= HEADER || size > HEADER + MAX_INSNS * INSN_SIZE {
        return None;
    }
    let mut buf = vec![0u8; size];
    file.read_exact(&mut buf).ok()?;
    parse(&buf, key).map(<[u8]>::to_vec)
}

/// The program in `buf` if it is a well-formed entry for `key`.
fn parse<'a>(buf: &'a [u8], key: &Key) -> Option<&'a [u8]> {
    let (header, program) = buf.split_at_checked(HEADER)?;
    let u32_at = |at: usize| -> Option<u32> {
        Some(u32::from_le_bytes(header.get(at..at + 4)?.try_into().ok()?))
    };
    if &header[..8] != MAGIC || u32_at(8)? != FORMAT {
        return None;
    }
    let insns = u32_at(12)? as usize;
    if insns == 0 || insns > MAX_INSNS || program.len() != insns * INSN_SIZE {
        return None;
    }
    if &header[16..48] != key || header[48..80] != Sha256::digest(program)[..] {
        return None;
    }
    Some(program)
}

/// Store `program` under `key`. Best effort: a cache that cannot be written
/// (read-only /run, a full disk) only costs the next container a compile.
pub(crate) fn write(dir: &Path, key: &Key, program: &[u8]) {
    let _ = try_write(dir, key, program);
}

fn try_write(dir: &Path, key: &Key, program: &[u8]) -> std::io::Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    let mut buf = Vec::with_capacity(HEADER + program.len());
    buf.extend_from_slice(MAGIC);
    buf.extend_from_slice(&FORMAT.to_le_bytes());
    buf.extend_from_slice(&((program.len() / INSN_SIZE) as u32).to_le_bytes());
    buf.extend_from_slice(key);
    buf.extend_from_slice(&Sha256::digest(program));
    buf.extend_from_slice(program);
    let path = entry_path(dir, key);
    let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
    let result = File::options()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(&tmp)
        .and_then(|mut f| f.write_all(&buf))
        .and_then(|_| std::fs::rename(&tmp, &path));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn program(insns: usize) -> Vec<u8> {
        (0..insns * INSN_SIZE).map(|i| i as u8).collect()
    }

    #[test]
    fn round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let k = key(b"rules", "2.5.4");
        assert_eq!(read(dir.path(), &k), None);
        write(dir.path(), &k, &program(3));
        assert_eq!(read(dir.path(), &k), Some(program(3)));
        // Nothing but the entry is left.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn key_depends_on_rules_and_version() {
        let k = key(b"rules", "2.5.4");
        assert_ne!(k, key(b"rules2", "2.5.4"));
        assert_ne!(k, key(b"rules", "2.5.5"));
        assert_eq!(k, key(b"rules", "2.5.4"));
    }

    #[test]
    fn damaged_entries_are_misses() {
        let dir = tempfile::tempdir().unwrap();
        let k = key(b"rules", "v");
        write(dir.path(), &k, &program(4));
        let path = entry_path(dir.path(), &k);
        let good = std::fs::read(&path).unwrap();
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("truncated", good[..good.len() - 1].to_vec()),
            ("header only", good[..HEADER].to_vec()),
            ("empty", vec![]),
            ("flipped program bit", {
                let mut b = good.clone();
                let last = b.len() - 1;
                b[last] ^= 1;
                b
            }),
            ("bad magic", {
                let mut b = good.clone();
                b[0] = b'X';
                b
            }),
            ("other key", {
                let mut b = good.clone();
                b[20] ^= 0xff;
                b
            }),
            ("count too large", {
                let mut b = good.clone();
                b[12..16].copy_from_slice(&5u32.to_le_bytes());
                b
            }),
            ("extra bytes", {
                let mut b = good.clone();
                b.extend_from_slice(&[0; 8]);
                b
            }),
        ];
        for (what, bytes) in cases {
            std::fs::write(&path, &bytes).unwrap();
            assert_eq!(read(dir.path(), &k), None, "{what} was accepted");
        }
        // A rewrite repairs it.
        write(dir.path(), &k, &program(4));
        assert_eq!(read(dir.path(), &k), Some(program(4)));
    }

    #[test]
    fn entries_others_could_write_are_misses() {
        let dir = tempfile::tempdir().unwrap();
        let k = key(b"rules", "v");
        write(dir.path(), &k, &program(2));
        let path = entry_path(dir.path(), &k);
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o622)).unwrap();
        assert_eq!(read(dir.path(), &k), None);
        std::fs::remove_file(&path).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", &path).unwrap();
        assert_eq!(read(dir.path(), &k), None);
    }
}
