//! Translating a `linux.seccomp` profile into a libseccomp filter and
//! exporting it as a classic-BPF program, the way runc reads profiles:
//! unknown syscall names are skipped, a rule whose action is the default
//! one is dropped, several conditions on distinct arguments are ANDed into
//! one rule, and several conditions on the same argument become one rule
//! each (ORed), as runc has done since 2016.

use super::error::{Error, Result};
use libseccomp::{ScmpAction, ScmpArch, ScmpArgCompare, ScmpCompareOp, ScmpFilterContext};
use libseccomp::{ScmpSyscall, ScmpVersion};
use oci_spec::runtime::{
    Arch, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompArg, LinuxSeccompOperator,
};
use std::io::{Read, Seek, SeekFrom};

/// The kernel passes six syscall arguments.
const SYSCALL_ARGS: usize = 6;
/// `SECCOMP_RET_DATA` holds 16 bits: the errno or the tracer's message.
const MAX_RET_DATA: u32 = 0xffff;
/// The errno of `SCMP_ACT_ERRNO` and `SCMP_ACT_TRACE` without `errnoRet`.
const DEFAULT_ERRNO: u32 = libc::EPERM as u32;

/// A sock_filter instruction: u16 code, u8 jt, u8 jf, u32 k.
pub(crate) const INSN_SIZE: usize = 8;
/// The kernel's `BPF_MAXINSNS`.
pub(crate) const MAX_INSNS: usize = 4096;

/// Build the filter of `profile` and return its BPF program as the bytes of
/// a `struct sock_filter` array in host order. Run [`super::validate`]
/// first: this assumes its checks passed.
pub(crate) fn compile(profile: &LinuxSeccomp) -> Result<Vec<u8>> {
    let ctx = build_filter(profile)?;
    export(&ctx)
}

/// The libseccomp filter for `profile`.
pub(crate) fn build_filter(profile: &LinuxSeccomp) -> Result<ScmpFilterContext> {
    let default = action(profile.default_action(), profile.default_errno_ret())?;
    let mut ctx = ScmpFilterContext::new(default).map_err(|source| Error::Compile {
        what: "create filter".into(),
        source,
    })?;
    // A binary tree of syscall numbers instead of a linear list: the
    // kernel emulates the program once per syscall number when it loads it
    // (to find the always-allowed ones), so a ~400-rule profile loads
    // several times faster, and each filtered syscall takes fewer steps.
    ctx.set_ctl_optimize(2).map_err(|source| Error::Compile {
        what: "set binary-tree optimisation".into(),
        source,
    })?;
    for arch in profile.architectures().iter().flatten() {
        let scmp = scmp_arch(*arch);
        ctx.add_arch(scmp).map_err(|_| {
            Error::invalid(
                "linux.seccomp.architectures",
                format!("{arch} is not supported by libseccomp {}", version()),
            )
        })?;
    }
    for (i, rule) in profile.syscalls().iter().flatten().enumerate() {
        let act = action(rule.action(), rule.errno_ret())?;
        // libseccomp refuses rules that repeat the default action; they
        // change nothing, so runc drops them too.
        if act == default {
            continue;
        }
        let conditions = rule
            .args()
            .iter()
            .flatten()
            .map(condition)
            .collect::<Result<Vec<_>>>()?;
        let mut per_arg = [0usize; SYSCALL_ARGS];
        for arg in rule.args().iter().flatten() {
            per_arg[arg.index()] += 1;
        }
        let or_each = per_arg.iter().any(|n| *n > 1);
        for name in rule.names() {
            // A name this libseccomp does not know (a newer syscall, a typo,
            // another arch's call) is skipped, as runc does.
            let Ok(nr) = ScmpSyscall::from_name(name) else {
                continue;
            };
            let added = if conditions.is_empty() {
                ctx.add_rule(act, nr).map(|_| ())
            } else if or_each {
                conditions
                    .iter()
                    .try_for_each(|c| ctx.add_rule_conditional(act, nr, &[*c]).map(|_| ()))
            } else {
                ctx.add_rule_conditional(act, nr, &conditions).map(|_| ())
            };
            added.map_err(|source| Error::Compile {
                what: format!("linux.seccomp.syscalls[{i}]: add rule for {name}"),
                source,
            })?;
        }
    }
    Ok(ctx)
}

/// libseccomp writes the program to a descriptor: a memfd keeps it off disk.
fn export(ctx: &ScmpFilterContext) -> Result<Vec<u8>> {
    let memfd = nix::sys::memfd::memfd_create(
        c"berth-seccomp-bpf",
        nix::sys::memfd::MemFdCreateFlag::MFD_CLOEXEC,
    )
    .map_err(|e| Error::sys("memfd_create for the seccomp program", e))?;
    ctx.export_bpf(&memfd).map_err(|source| Error::Compile {
        what: "export BPF program".into(),
        source,
    })?;
    let mut file = std::fs::File::from(memfd);
    let mut bpf = Vec::new();
    file.seek(SeekFrom::Start(0))
        .and_then(|_| file.read_to_end(&mut bpf))
        .map_err(|source| Error::Io {
            op: "read exported seccomp program from",
            path: "memfd".into(),
            source,
        })?;
    if bpf.is_empty() || bpf.len() % INSN_SIZE != 0 || bpf.len() / INSN_SIZE > MAX_INSNS {
        return Err(Error::invalid(
            "linux.seccomp",
            format!(
                "the compiled filter has {} bytes, not 1 to {MAX_INSNS} instructions",
                bpf.len()
            ),
        ));
    }
    Ok(bpf)
}

/// How this module drives libseccomp (optimisation level, attributes):
/// part of the cache key, so a change here never loads programs built the
/// old way. Bump it with any change to [`build_filter`].
pub(crate) const CODEGEN: &str = "berth-1 optimize=2";

/// The version of the libseccomp linked in, e.g. `2.5.4`.
pub(crate) fn version() -> String {
    match ScmpVersion::current() {
        Ok(v) => format!("{}.{}.{}", v.major, v.minor, v.micro),
        Err(_) => "unknown".into(),
    }
}

/// The libseccomp action for a spec action and its `errnoRet`.
pub(crate) fn action(action: LinuxSeccompAction, errno_ret: Option<u32>) -> Result<ScmpAction> {
    let data = errno_ret.unwrap_or(DEFAULT_ERRNO);
    if data > MAX_RET_DATA {
        return Err(Error::invalid(
            "linux.seccomp.errnoRet",
            format!("{data} does not fit the 16 bits the kernel returns"),
        ));
    }
    Ok(match action {
        LinuxSeccompAction::ScmpActKill | LinuxSeccompAction::ScmpActKillThread => {
            ScmpAction::KillThread
        }
        LinuxSeccompAction::ScmpActKillProcess => ScmpAction::KillProcess,
        LinuxSeccompAction::ScmpActTrap => ScmpAction::Trap,
        LinuxSeccompAction::ScmpActErrno => ScmpAction::Errno(data as i32),
        // runc passes errnoRet (EPERM without one) as the tracer's message.
        LinuxSeccompAction::ScmpActTrace => ScmpAction::Trace(data as u16),
        LinuxSeccompAction::ScmpActNotify => ScmpAction::Notify,
        LinuxSeccompAction::ScmpActLog => ScmpAction::Log,
        LinuxSeccompAction::ScmpActAllow => ScmpAction::Allow,
    })
}

/// One argument condition. `value` is the mask of `SCMP_CMP_MASKED_EQ` and
/// `valueTwo` the value the masked argument must equal, as in libseccomp's
/// `SCMP_A0(SCMP_CMP_MASKED_EQ, mask, datum)`.
pub(crate) fn condition(arg: &LinuxSeccompArg) -> Result<ScmpArgCompare> {
    if arg.index() >= SYSCALL_ARGS {
        return Err(Error::invalid(
            "linux.seccomp.syscalls.args.index",
            format!("{} is past the last syscall argument (5)", arg.index()),
        ));
    }
    let index = arg.index() as u32;
    let (op, datum) = match arg.op() {
        LinuxSeccompOperator::ScmpCmpNe => (ScmpCompareOp::NotEqual, arg.value()),
        LinuxSeccompOperator::ScmpCmpLt => (ScmpCompareOp::Less, arg.value()),
        LinuxSeccompOperator::ScmpCmpLe => (ScmpCompareOp::LessOrEqual, arg.value()),
        LinuxSeccompOperator::ScmpCmpEq => (ScmpCompareOp::Equal, arg.value()),
        LinuxSeccompOperator::ScmpCmpGe => (ScmpCompareOp::GreaterEqual, arg.value()),
        LinuxSeccompOperator::ScmpCmpGt => (ScmpCompareOp::Greater, arg.value()),
        LinuxSeccompOperator::ScmpCmpMaskedEq => (
            ScmpCompareOp::MaskedEqual(arg.value()),
            arg.value_two().unwrap_or(0),
        ),
    };
    Ok(ScmpArgCompare::new(index, op, datum))
}

/// libseccomp's token for a spec architecture.
pub(crate) fn scmp_arch(arch: Arch) -> ScmpArch {
    match arch {
        Arch::ScmpArchNative => ScmpArch::Native,
        Arch::ScmpArchX86 => ScmpArch::X86,
        Arch::ScmpArchX86_64 => ScmpArch::X8664,
        Arch::ScmpArchX32 => ScmpArch::X32,
        Arch::ScmpArchArm => ScmpArch::Arm,
        Arch::ScmpArchAarch64 => ScmpArch::Aarch64,
        Arch::ScmpArchMips => ScmpArch::Mips,
        Arch::ScmpArchMips64 => ScmpArch::Mips64,
        Arch::ScmpArchMips64n32 => ScmpArch::Mips64N32,
        Arch::ScmpArchMipsel => ScmpArch::Mipsel,
        Arch::ScmpArchMipsel64 => ScmpArch::Mipsel64,
        Arch::ScmpArchMipsel64n32 => ScmpArch::Mipsel64N32,
        Arch::ScmpArchPpc => ScmpArch::Ppc,
        Arch::ScmpArchPpc64 => ScmpArch::Ppc64,
        Arch::ScmpArchPpc64le => ScmpArch::Ppc64Le,
        Arch::ScmpArchS390 => ScmpArch::S390,
        Arch::ScmpArchS390x => ScmpArch::S390X,
        Arch::ScmpArchParisc => ScmpArch::Parisc,
        Arch::ScmpArchParisc64 => ScmpArch::Parisc64,
        Arch::ScmpArchRiscv64 => ScmpArch::Riscv64,
        Arch::ScmpArchLoongarch64 => ScmpArch::Loongarch64,
        Arch::ScmpArchM68k => ScmpArch::M68k,
        Arch::ScmpArchSh => ScmpArch::Sh,
        Arch::ScmpArchSheb => ScmpArch::Sheb,
    }
}
