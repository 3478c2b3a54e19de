//! `linux.seccomp`: the system-call filter of the container's process.
//!
//! A profile becomes a classic-BPF program through libseccomp
//! (`compile.rs`), is kept on disk keyed by the sha256 of its rules
//! (`cache.rs`), and is installed with `seccomp(2)` directly (`load.rs`).
//! Engines pass the same ~400-rule profile to every container, so after the
//! first container a start costs a hash and a small file read instead of a
//! libseccomp compile.
//!
//! The runtime's side, in order:
//!
//! 1. [`validate`] with the rest of the config, before anything is created
//!    ([`explain_parse_error`] names the field when `config.json` did not
//!    even parse, e.g. an unknown action);
//! 2. [`Program::prepare`] in the runtime, before the clone: compile or read
//!    the cache; the init inherits the program in its copy of memory;
//! 3. [`Program::load`] in the init: without `noNewPrivileges` while it
//!    still has CAP_SYS_ADMIN (before the user and capabilities change),
//!    with it as late as possible, right before exec;
//! 4. with `SCMP_ACT_NOTIFY`, the notify descriptor goes to the runtime and
//!    on to `listenerPath` ([`notify`]).

mod cache;
mod compile;
mod error;
mod load;
pub mod notify;

pub use error::{Error, Result};

use oci_spec::runtime::{LinuxSeccomp, LinuxSeccompAction, LinuxSeccompFilterFlag};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// Where compiled programs are kept when the runtime runs as root. `/run` is
/// a tmpfs: entries go away with the boot, as the libseccomp and kernel
/// they were made for may.
pub const ROOT_CACHE_DIR: &str = "/run/berth-runtime/seccomp-cache";

/// The cache directory for this user: [`ROOT_CACHE_DIR`] for root,
/// `$XDG_RUNTIME_DIR/berth-runtime/seccomp-cache` for others, `None` (no
/// cache: compile every time) when there is neither.
pub fn default_cache_dir() -> Option<PathBuf> {
    if crate::namespaces::host_root() {
        return Some(PathBuf::from(ROOT_CACHE_DIR));
    }
    std::env::var_os("XDG_RUNTIME_DIR")
        .filter(|d| Path::new(d).is_absolute())
        .map(|d| Path::new(&d).join("berth-runtime/seccomp-cache"))
}

/// Where a [`Program`] came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Compiled by libseccomp now.
    Compiled,
    /// Read from the cache.
    Cached,
}

/// A profile compiled to a BPF program, with the flags to load it with.
#[derive(Debug, Clone)]
pub struct Program {
    bpf: Vec<u8>,
    flags: libc::c_ulong,
    listener: bool,
    origin: Origin,
}

impl Program {
    /// Validate `profile` and compile it, or take its program from
    /// `cache_dir` (see [`default_cache_dir`]) when an entry is there and
    /// sound; a compiled program is stored there for the next container.
    /// Call it in the runtime before anything is created: every error of
    /// the profile (an architecture this libseccomp lacks included) comes
    /// out here.
    pub fn prepare(profile: &LinuxSeccomp, cache_dir: Option<&Path>) -> Result<Program> {
        validate(profile)?;
        let listener = uses_notify(profile);
        let flags = load::kernel_flags(profile.flags().as_deref().unwrap_or_default(), listener);
        let key = match cache_dir {
            Some(dir) => {
                let key = cache::key(&rules_json(profile)?, &generator());
                if let Some(bpf) = cache::read(dir, &key) {
                    return Ok(Program {
                        bpf,
                        flags,
                        listener,
                        origin: Origin::Cached,
                    });
                }
                Some((dir, key))
            }
            None => None,
        };
        let bpf = compile::compile(profile)?;
        if let Some((dir, key)) = key {
            cache::write(dir, &key, &bpf);
        }
        Ok(Program {
            bpf,
            flags,
            listener,
            origin: Origin::Compiled,
        })
    }

    /// Install the filter on the calling process (the init, or an exec'd
    /// process before its exec). Returns the notify descriptor when the
    /// profile uses `SCMP_ACT_NOTIFY`; hand it on with
    /// [`notify::NotifySender::send`] and close it.
    ///
    /// Needs `no_new_privs` or CAP_SYS_ADMIN. Every syscall after it is
    /// filtered, so do nothing after it that the profile may refuse.
    pub fn load(&self) -> Result<Option<OwnedFd>> {
        load::install(&self.bpf, self.flags)
    }

    /// Whether the profile uses `SCMP_ACT_NOTIFY`, so [`Program::load`]
    /// returns a descriptor for `listenerPath`.
    pub fn needs_listener(&self) -> bool {
        self.listener
    }

    /// Compiled now or read from the cache.
    pub fn origin(&self) -> Origin {
        self.origin
    }

    /// Length of the program in BPF instructions.
    pub fn instructions(&self) -> usize {
        self.bpf.len() / compile::INSN_SIZE
    }
}

/// What the init installs: the program and, when it uses
/// `SCMP_ACT_NOTIFY`, the channel its notify descriptor goes back on.
#[derive(Clone, Copy)]
pub struct Filter<'a> {
    /// The compiled program (made by the runtime before the clone).
    pub program: &'a Program,
    /// The init's end of [`notify::channel`], when
    /// [`Program::needs_listener`].
    pub notify: Option<&'a notify::NotifySender>,
}

impl Filter<'_> {
    /// Load the program and hand the notify descriptor (if any) to the
    /// runtime, closing our copy: the container's process must not hold
    /// the descriptor that answers for its own syscalls.
    pub fn install(&self) -> Result<()> {
        let Some(fd) = self.program.load()? else {
            return Ok(());
        };
        let sender = self.notify.ok_or_else(|| {
            Error::invalid(
                "linux.seccomp.listenerPath",
                "the filter has a listener but the runtime made no channel for it",
            )
        })?;
        sender.send(std::os::fd::AsFd::as_fd(&fd))
    }
}

/// What made the program besides the rules: libseccomp and how we drive it.
fn generator() -> String {
    format!("libseccomp {} {}", compile::version(), compile::CODEGEN)
}

/// The profile fields that make the program (not `flags` or the listener,
/// which only change how it is loaded), as JSON: the cache key's input.
fn rules_json(profile: &LinuxSeccomp) -> Result<Vec<u8>> {
    serde_json::to_vec(&(
        profile.default_action(),
        profile.default_errno_ret(),
        profile.architectures(),
        profile.syscalls(),
    ))
    .map_err(|e| Error::invalid("linux.seccomp", format!("cannot encode the profile: {e}")))
}

fn uses_notify(profile: &LinuxSeccomp) -> bool {
    profile.default_action() == LinuxSeccompAction::ScmpActNotify
        || profile
            .syscalls()
            .iter()
            .flatten()
            .any(|s| s.action() == LinuxSeccompAction::ScmpActNotify)
}

/// Syscalls the runtime makes between loading the filter and handing the
/// notify descriptor on: sending them to a listener that has no descriptor
/// yet would hang the container's start.
const NOTIFY_REFUSED: &[&str] = &["sendmsg"];

/// Check what a profile asks for without touching the system, as runc
/// does: `SCMP_ACT_NOTIFY` needs `listenerPath` and cannot be the default
/// action, errno values fit the kernel's 16 bits, arguments are 0..=5,
/// every entry names a syscall. Unknown syscall names are not errors: they
/// are skipped when compiling.
pub fn validate(profile: &LinuxSeccomp) -> Result<()> {
    if profile.default_action() == LinuxSeccompAction::ScmpActNotify {
        return Err(Error::invalid(
            "linux.seccomp.defaultAction",
            "SCMP_ACT_NOTIFY cannot be the default action",
        ));
    }
    compile::action(profile.default_action(), profile.default_errno_ret()).map_err(|_| {
        Error::invalid(
            "linux.seccomp.defaultErrnoRet",
            format!(
                "{} does not fit the 16 bits the kernel returns",
                profile.default_errno_ret().unwrap_or_default()
            ),
        )
    })?;
    for (i, rule) in profile.syscalls().iter().flatten().enumerate() {
        if rule.names().is_empty() || rule.names().iter().any(String::is_empty) {
            return Err(Error::invalid(
                "linux.seccomp.syscalls.names",
                format!("syscalls[{i}] names no syscall"),
            ));
        }
        compile::action(rule.action(), rule.errno_ret()).map_err(|_| {
            Error::invalid(
                "linux.seccomp.syscalls.errnoRet",
                format!(
                    "syscalls[{i}] ({}): {} does not fit the 16 bits the kernel returns",
                    rule.names().join(","),
                    rule.errno_ret().unwrap_or_default()
                ),
            )
        })?;
        for (j, arg) in rule.args().iter().flatten().enumerate() {
            compile::condition(arg).map_err(|_| {
                Error::invalid(
                    "linux.seccomp.syscalls.args.index",
                    format!(
                        "syscalls[{i}].args[{j}] ({}): index {} is past the last argument (5)",
                        rule.names().join(","),
                        arg.index()
                    ),
                )
            })?;
        }
        if rule.action() == LinuxSeccompAction::ScmpActNotify {
            if let Some(name) = rule
                .names()
                .iter()
                .find(|n| NOTIFY_REFUSED.contains(&n.as_str()))
            {
                return Err(Error::invalid(
                    "linux.seccomp.syscalls.action",
                    format!("syscalls[{i}]: SCMP_ACT_NOTIFY cannot be used for {name}: the runtime needs it to pass the notify fd on"),
                ));
            }
        }
    }
    if uses_notify(profile) {
        match profile.listener_path() {
            Some(p) if !p.as_os_str().is_empty() => {}
            _ => {
                return Err(Error::invalid(
                    "linux.seccomp.listenerPath",
                    "SCMP_ACT_NOTIFY is used but no listenerPath is set",
                ))
            }
        }
    }
    Ok(())
}

/// When `config.json` failed to parse, the seccomp field to blame, if one
/// holds a value the spec does not define (an unknown action, architecture,
/// flag or operator): oci-spec refuses those while parsing, with only a
/// line and column to show. Call it on the parse error path only.
pub fn explain_parse_error(config: &[u8]) -> Option<Error> {
    let value: serde_json::Value = serde_json::from_slice(config).ok()?;
    let seccomp = value.get("linux")?.get("seccomp")?;
    let bad = |v: &serde_json::Value, ok: &dyn Fn(&str) -> bool| match v.as_str() {
        Some(s) if ok(s) => None,
        _ => Some(v.to_string()),
    };
    let is_action = |s: &str| LinuxSeccompAction::from_str(s).is_ok();
    if let Some(v) = seccomp
        .get("defaultAction")
        .and_then(|v| bad(v, &is_action))
    {
        return Some(Error::invalid(
            "linux.seccomp.defaultAction",
            format!("unknown action {v}"),
        ));
    }
    let archs = seccomp.get("architectures").and_then(|a| a.as_array());
    for v in archs.into_iter().flatten() {
        if let Some(v) = bad(v, &|s| oci_spec::runtime::Arch::from_str(s).is_ok()) {
            return Some(Error::invalid(
                "linux.seccomp.architectures",
                format!("unknown architecture {v}"),
            ));
        }
    }
    for v in seccomp
        .get("flags")
        .and_then(|f| f.as_array())
        .into_iter()
        .flatten()
    {
        if let Some(v) = bad(v, &|s| LinuxSeccompFilterFlag::from_str(s).is_ok()) {
            return Some(Error::invalid(
                "linux.seccomp.flags",
                format!("unknown or unsupported flag {v}"),
            ));
        }
    }
    let syscalls = seccomp.get("syscalls").and_then(|s| s.as_array());
    for (i, rule) in syscalls.into_iter().flatten().enumerate() {
        if let Some(v) = rule.get("action").and_then(|v| bad(v, &is_action)) {
            return Some(Error::invalid(
                "linux.seccomp.syscalls.action",
                format!("syscalls[{i}]: unknown action {v}"),
            ));
        }
        let args = rule.get("args").and_then(|a| a.as_array());
        for (j, arg) in args.into_iter().flatten().enumerate() {
            let is_op = |s: &str| oci_spec::runtime::LinuxSeccompOperator::from_str(s).is_ok();
            if let Some(v) = arg.get("op").and_then(|v| bad(v, &is_op)) {
                return Some(Error::invalid(
                    "linux.seccomp.syscalls.args.op",
                    format!("syscalls[{i}].args[{j}]: unknown operator {v}"),
                ));
            }
        }
    }
    None
}

/// What `features` reports under `linux.seccomp`, in runc's shape:
/// whether seccomp is built in, the actions, operators and architectures
/// it knows, and the flags the running kernel knows.
pub fn features() -> serde_json::Value {
    let flags: Vec<&str> = load::FLAGS
        .iter()
        .filter(|(_, _, bit)| load::kernel_knows_flag(*bit))
        .map(|(_, name, _)| *name)
        .collect();
    serde_json::json!({
        "enabled": true,
        "actions": [
            "SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS",
            "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY", "SCMP_ACT_TRACE",
            "SCMP_ACT_TRAP"
        ],
        "operators": [
            "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE", "SCMP_CMP_LT",
            "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE"
        ],
        "archs": [
            "SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM", "SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64",
            "SCMP_ARCH_MIPS64N32", "SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64",
            "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PARISC", "SCMP_ARCH_PARISC64", "SCMP_ARCH_PPC",
            "SCMP_ARCH_PPC64", "SCMP_ARCH_PPC64LE", "SCMP_ARCH_RISCV64", "SCMP_ARCH_S390",
            "SCMP_ARCH_S390X", "SCMP_ARCH_X32", "SCMP_ARCH_X86", "SCMP_ARCH_X86_64"
        ],
        "knownFlags": load::FLAGS.iter().map(|(_, name, _)| *name).collect::<Vec<_>>(),
        "supportedFlags": flags
    })
}

/// The version of the libseccomp linked in (`features` reports it as the
/// annotation `io.github.seccomp.libseccomp.version`, as runc does).
pub fn libseccomp_version() -> String {
    compile::version()
}

#[cfg(test)]
mod tests;

/// What `create` and `exec` need for a container's filter: the program
/// (compiled or from the cache) and, with `SCMP_ACT_NOTIFY`, the channel
/// that carries the notify descriptor from the init to the runtime.
pub type Prepared = (
    Option<Program>,
    Option<notify::NotifyReceiver>,
    Option<notify::NotifySender>,
);

/// Prepare the filter for `profile` (if any) before anything is created,
/// so a bad profile leaves nothing behind.
pub fn prepare_for_container(profile: Option<&LinuxSeccomp>) -> crate::error::Result<Prepared> {
    let Some(profile) = profile else {
        return Ok((None, None, None));
    };
    let program = Program::prepare(profile, default_cache_dir().as_deref())?;
    if program.needs_listener() {
        let (rx, tx) = notify::channel()?;
        return Ok((Some(program), Some(rx), Some(tx)));
    }
    Ok((Some(program), None, None))
}
