//! cgroup v2 device filter: a BPF_PROG_TYPE_CGROUP_DEVICE program built by
//! hand from the reduced device state (see `devices`) and attached to the
//! container's cgroup, replacing the one attached before (on `update`).
//!
//! The program is the one runc generates (libcontainer/cgroups/devices/
//! devicefilter.go): load type, access, major and minor from the context,
//! then one block per exception that returns the exception's verdict when
//! everything matches, and finally the default verdict.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;

use super::devices::{DeviceState, Exception, Kind, ACC_MKNOD, ACC_READ, ACC_WRITE};
use super::error::{Error, Result};

/// One eBPF instruction (struct bpf_insn).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Insn {
    code: u8,
    /// dst_reg in the low nibble, src_reg in the high one.
    regs: u8,
    off: i16,
    imm: i32,
}

const fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
    Insn {
        code,
        regs: (src << 4) | dst,
        off,
        imm,
    }
}

// Opcodes (linux/bpf_common.h, linux/bpf.h).
const LDX_MEM_W: u8 = 0x61; // BPF_LDX | BPF_MEM | BPF_W
const ALU32_AND_K: u8 = 0x54; // BPF_ALU | BPF_AND | BPF_K
const ALU32_RSH_K: u8 = 0x74; // BPF_ALU | BPF_RSH | BPF_K
const ALU32_MOV_K: u8 = 0xb4; // BPF_ALU | BPF_MOV | BPF_K
const ALU32_MOV_X: u8 = 0xbc; // BPF_ALU | BPF_MOV | BPF_X
const JMP_JNE_K: u8 = 0x55; // BPF_JMP | BPF_JNE | BPF_K
const JMP_JNE_X: u8 = 0x5d; // BPF_JMP | BPF_JNE | BPF_X
const JMP_EXIT: u8 = 0x95; // BPF_JMP | BPF_EXIT

// struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; }
// access_type = (access << 16) | type.
const DEVCG_DEV_BLOCK: i32 = 1;
const DEVCG_DEV_CHAR: i32 = 2;

const R0: u8 = 0;
const R1: u8 = 1;
const R2: u8 = 2;
const R3: u8 = 3;
const R4: u8 = 4;
const R5: u8 = 5;

/// Build the filter program for `state`.
pub(crate) fn program(state: &DeviceState) -> Vec<Insn> {
    let mut p = Vec::with_capacity(8 + state.exceptions.len() * 8);
    // r2 = type, r3 = access, r4 = major, r5 = minor
    p.push(insn(LDX_MEM_W, R2, R1, 0, 0));
    p.push(insn(ALU32_AND_K, R2, 0, 0, 0xffff));
    p.push(insn(LDX_MEM_W, R3, R1, 0, 0));
    p.push(insn(ALU32_RSH_K, R3, 0, 0, 16));
    p.push(insn(LDX_MEM_W, R4, R1, 4, 0));
    p.push(insn(LDX_MEM_W, R5, R1, 8, 0));
    let verdict = i32::from(!state.default_allow);
    // Every exception has the verdict opposite to the default, so their
    // order does not matter; runc emits them last to first.
    for e in state.exceptions.iter().rev() {
        block(&mut p, e, verdict);
    }
    p.push(insn(ALU32_MOV_K, R0, 0, 0, i32::from(state.default_allow)));
    p.push(insn(JMP_EXIT, 0, 0, 0, 0));
    p
}

fn block(p: &mut Vec<Insn>, e: &Exception, verdict: i32) {
    let ty = match e.kind {
        Kind::Char => DEVCG_DEV_CHAR,
        Kind::Block => DEVCG_DEV_BLOCK,
    };
    let full = ACC_MKNOD | ACC_READ | ACC_WRITE;
    let start = p.len();
    // Jumps are patched to the first instruction after the block.
    p.push(insn(JMP_JNE_K, R2, 0, 0, ty));
    if e.access != full {
        // if (access & rule_access) != access: skip (access must be a subset)
        p.push(insn(ALU32_MOV_X, R1, R3, 0, 0));
        p.push(insn(ALU32_AND_K, R1, 0, 0, i32::from(e.access)));
        p.push(insn(JMP_JNE_X, R1, R3, 0, 0));
    }
    if let Some(major) = e.major {
        p.push(insn(JMP_JNE_K, R4, 0, 0, major as i32));
    }
    if let Some(minor) = e.minor {
        p.push(insn(JMP_JNE_K, R5, 0, 0, minor as i32));
    }
    p.push(insn(ALU32_MOV_K, R0, 0, 0, verdict));
    p.push(insn(JMP_EXIT, 0, 0, 0, 0));
    let end = p.len();
    for (i, ins) in p[start..end].iter_mut().enumerate() {
        if ins.code == JMP_JNE_K || ins.code == JMP_JNE_X {
            ins.off = (end - (start + i) - 1) as i16;
        }
    }
}

// bpf(2) commands and constants (linux/bpf.h).
const BPF_PROG_LOAD: libc::c_long = 5;
const BPF_PROG_ATTACH: libc::c_long = 8;
const BPF_PROG_DETACH: libc::c_long = 9;
const BPF_PROG_GET_FD_BY_ID: libc::c_long = 13;
const BPF_PROG_QUERY: libc::c_long = 16;
const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
const BPF_CGROUP_DEVICE: u32 = 6;
const BPF_F_ALLOW_MULTI: u32 = 2;
const BPF_F_REPLACE: u32 = 4;

#[repr(C)]
#[derive(Default)]
struct ProgLoadAttr {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
    prog_ifindex: u32,
    expected_attach_type: u32,
}

#[repr(C)]
#[derive(Default)]
struct AttachAttr {
    target_fd: u32,
    attach_bpf_fd: u32,
    attach_type: u32,
    attach_flags: u32,
    replace_bpf_fd: u32,
}

#[repr(C)]
#[derive(Default)]
struct QueryAttr {
    target_fd: u32,
    attach_type: u32,
    query_flags: u32,
    attach_flags: u32,
    prog_ids: u64,
    prog_cnt: u32,
    _pad: u32,
}

#[repr(C)]
#[derive(Default)]
struct GetFdAttr {
    prog_id: u32,
    next_id: u32,
    open_flags: u32,
}

/// bpf(2) with `attr`; returns the non-negative result.
fn bpf<T>(cmd: libc::c_long, attr: &mut T) -> io::Result<libc::c_long> {
    // SAFETY: `attr` is a live, initialised #[repr(C)] bpf_attr prefix of
    // the size passed; the kernel reads (and for QUERY writes) only that.
    let r = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd,
            attr as *mut T as *mut libc::c_void,
            std::mem::size_of::<T>() as libc::c_uint,
        )
    };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

fn fd_from(r: libc::c_long) -> OwnedFd {
    // SAFETY: bpf(2) returned a new file descriptor that nothing else owns.
    unsafe { OwnedFd::from_raw_fd(r as i32) }
}

/// Load the program for `state` and attach it to the cgroup directory
/// `dir`, replacing the device programs attached there before.
///
/// The new program is attached before the old ones are detached, so there
/// is no moment without a filter (while both are attached, both must
/// allow). Where the kernel has BPF_F_REPLACE and exactly one program was
/// attached, the swap is atomic.
pub(crate) fn attach(dir: &Path, state: &DeviceState) -> Result<()> {
    let insns = program(state);
    let err = |op, source| Error::Bpf {
        op,
        path: dir.to_path_buf(),
        source,
    };
    let prog = load(&insns).map_err(|e| match e {
        LoadError::Io(source) => err("BPF_PROG_LOAD", source),
        LoadError::Verifier(log) => Error::BpfVerifier {
            path: dir.to_path_buf(),
            log,
        },
    })?;
    let cgroup = std::fs::File::open(dir).map_err(|source| Error::Read {
        path: dir.to_path_buf(),
        source,
    })?;
    let old = query(&cgroup).map_err(|e| err("BPF_PROG_QUERY", e))?;
    let mut old_fds = Vec::with_capacity(old.len());
    for id in old {
        let mut a = GetFdAttr {
            prog_id: id,
            ..Default::default()
        };
        match bpf(BPF_PROG_GET_FD_BY_ID, &mut a) {
            Ok(fd) => old_fds.push(fd_from(fd)),
            // Detached meanwhile by someone else.
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
            Err(e) => return Err(err("BPF_PROG_GET_FD_BY_ID", e)),
        }
    }
    let mut a = AttachAttr {
        target_fd: cgroup.as_raw_fd() as u32,
        attach_bpf_fd: prog.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        attach_flags: BPF_F_ALLOW_MULTI,
        replace_bpf_fd: 0,
    };
    if let [only] = old_fds.as_slice() {
        a.attach_flags |= BPF_F_REPLACE;
        a.replace_bpf_fd = only.as_raw_fd() as u32;
        match bpf(BPF_PROG_ATTACH, &mut a) {
            Ok(_) => return Ok(()),
            // Kernels before 5.6 lack BPF_F_REPLACE: attach, then detach.
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
                a.attach_flags = BPF_F_ALLOW_MULTI;
                a.replace_bpf_fd = 0;
            }
            Err(e) => return Err(err("BPF_PROG_ATTACH", e)),
        }
    }
    bpf(BPF_PROG_ATTACH, &mut a).map_err(|e| err("BPF_PROG_ATTACH", e))?;
    for old in &old_fds {
        let mut d = AttachAttr {
            target_fd: cgroup.as_raw_fd() as u32,
            attach_bpf_fd: old.as_raw_fd() as u32,
            attach_type: BPF_CGROUP_DEVICE,
            ..Default::default()
        };
        match bpf(BPF_PROG_DETACH, &mut d) {
            Ok(_) => {}
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
            Err(e) => return Err(err("BPF_PROG_DETACH", e)),
        }
    }
    Ok(())
}

/// The ids of the device programs attached directly to `cgroup`.
fn query(cgroup: &std::fs::File) -> io::Result<Vec<u32>> {
    let mut ids = [0u32; 64];
    let mut q = QueryAttr {
        target_fd: cgroup.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        prog_ids: ids.as_mut_ptr() as u64,
        prog_cnt: ids.len() as u32,
        ..Default::default()
    };
    bpf(BPF_PROG_QUERY, &mut q)?;
    Ok(ids[..(q.prog_cnt as usize).min(ids.len())].to_vec())
}

/// How many device programs are attached to the cgroup `dir`.
#[cfg(test)]
pub(crate) fn attached_count(dir: &Path) -> io::Result<usize> {
    let f = std::fs::File::open(dir)?;
    query(&f).map(|v| v.len())
}

enum LoadError {
    Io(io::Error),
    Verifier(String),
}

fn load(insns: &[Insn]) -> std::result::Result<OwnedFd, LoadError> {
    const LICENSE: &[u8] = b"Apache\0";
    let mut a = ProgLoadAttr {
        prog_type: BPF_PROG_TYPE_CGROUP_DEVICE,
        insn_cnt: insns.len() as u32,
        insns: insns.as_ptr() as u64,
        license: LICENSE.as_ptr() as u64,
        ..Default::default()
    };
    a.prog_name[..11].copy_from_slice(b"berth_devcg");
    match bpf(BPF_PROG_LOAD, &mut a) {
        Ok(fd) => Ok(fd_from(fd)),
        Err(e)
            if e.raw_os_error() == Some(libc::EACCES) || e.raw_os_error() == Some(libc::EINVAL) =>
        {
            // Load again with the verifier's log to say why.
            let mut log = vec![0u8; 64 * 1024];
            a.log_level = 1;
            a.log_size = log.len() as u32;
            a.log_buf = log.as_mut_ptr() as u64;
            match bpf(BPF_PROG_LOAD, &mut a) {
                Ok(fd) => Ok(fd_from(fd)),
                Err(_) => {
                    let end = log.iter().position(|&b| b == 0).unwrap_or(log.len());
                    let text = String::from_utf8_lossy(&log[..end]).trim().to_owned();
                    if text.is_empty() {
                        Err(LoadError::Io(e))
                    } else {
                        Err(LoadError::Verifier(text))
                    }
                }
            }
        }
        Err(e) => Err(LoadError::Io(e)),
    }
}
