//! podman's default seccomp profile, generated per container from its
//! capabilities and the machine's architecture, as containers/common does.
//!
//! The source (`seccomp.json`, a copy of containers/common 0.50's
//! `/usr/share/containers/seccomp.json` that podman 4.3 ships) lists rules
//! with `includes`/`excludes` conditions: `caps` (a rule applies only when
//! the container has all of `includes.caps` and none of `excludes.caps`;
//! CAP_SYS_ADMIN opens bpf, perf_event_open, quotactl, setns…,
//! CAP_SYS_PTRACE kcmp and process_madvise, CAP_SYS_MODULE, CAP_SYS_BOOT,
//! CAP_SYS_TIME, CAP_SYS_PACCT, CAP_SYS_RAWIO, CAP_SYS_NICE, CAP_SYSLOG,
//! CAP_BPF, CAP_PERFMON their calls), `arches` (Go's names, `amd64`…) and
//! `minKernel`. The OCI form keeps the rules that apply, without their
//! conditions, and the architecture with its sub-architectures from
//! `archMap`.

use oci_spec::runtime::{Arch, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompArg, LinuxSyscall};
use serde::Deserialize;
use std::sync::OnceLock;

const PROFILE: &str = include_str!("seccomp.json");

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Profile {
    default_action: LinuxSeccompAction,
    default_errno_ret: Option<u32>,
    #[serde(default)]
    arch_map: Vec<ArchMap>,
    #[serde(default)]
    syscalls: Vec<Rule>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ArchMap {
    architecture: Arch,
    #[serde(default)]
    sub_architectures: Vec<Arch>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Rule {
    names: Vec<String>,
    action: LinuxSeccompAction,
    args: Option<Vec<LinuxSeccompArg>>,
    errno_ret: Option<u32>,
    #[serde(default)]
    includes: Filter,
    #[serde(default)]
    excludes: Filter,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Filter {
    caps: Vec<String>,
    arches: Vec<String>,
    min_kernel: Option<String>,
}

/// The profile, parsed once. It is a constant of this crate that the
/// unit tests parse, so a failure here is a build defect, not input.
fn profile() -> &'static Profile {
    static PARSED: OnceLock<Profile> = OnceLock::new();
    PARSED.get_or_init(|| {
        serde_json::from_str(PROFILE).expect("seccomp.json is checked by the unit tests")
    })
}

/// Go's GOARCH and libseccomp's name of the architecture we run on.
fn native_arch() -> (&'static str, Arch) {
    match std::env::consts::ARCH {
        "x86_64" => ("amd64", Arch::ScmpArchX86_64),
        "x86" => ("386", Arch::ScmpArchX86),
        "aarch64" => ("arm64", Arch::ScmpArchAarch64),
        "arm" => ("arm", Arch::ScmpArchArm),
        "powerpc64" => ("ppc64le", Arch::ScmpArchPpc64le),
        "s390x" => ("s390x", Arch::ScmpArchS390x),
        "riscv64" => ("riscv64", Arch::ScmpArchRiscv64),
        "mips64" => ("mips64", Arch::ScmpArchMips64),
        other => (other, Arch::ScmpArchNative),
    }
}

/// `major.minor` of the running kernel.
fn kernel_version() -> (u32, u32) {
    let release = nix::sys::utsname::uname()
        .map(|u| u.release().to_string_lossy().into_owned())
        .unwrap_or_default();
    parse_version(&release)
}

fn parse_version(s: &str) -> (u32, u32) {
    let mut it = s
        .split(|c: char| !c.is_ascii_digit())
        .map(|n| n.parse().unwrap_or(0));
    (it.next().unwrap_or(0), it.next().unwrap_or(0))
}

fn applies(rule: &Rule, caps: &[String], arch: &str, kernel: (u32, u32)) -> bool {
    let has = |c: &String| caps.contains(c);
    if !rule.includes.caps.iter().all(has) || rule.excludes.caps.iter().any(has) {
        return false;
    }
    let arch_listed = |l: &[String]| l.iter().any(|a| a == arch);
    if !rule.includes.arches.is_empty() && !arch_listed(&rule.includes.arches) {
        return false;
    }
    if arch_listed(&rule.excludes.arches) {
        return false;
    }
    match &rule.includes.min_kernel {
        Some(min) => kernel >= parse_version(min),
        None => true,
    }
}

/// The OCI `linux.seccomp` for a container holding `caps` on this machine.
pub fn for_capabilities(caps: &[String]) -> LinuxSeccomp {
    let (go_arch, scmp_arch) = native_arch();
    generate(caps, go_arch, scmp_arch, kernel_version())
}

/// The OCI `linux.seccomp` of a user's profile (`--security-opt
/// seccomp=FILE`, docker's format with its conditions, or the OCI form)
/// for a container holding `caps` on this machine.
pub(crate) fn from_json(text: &str, caps: &[String]) -> Result<LinuxSeccomp, serde_json::Error> {
    let profile: Profile = serde_json::from_str(text)?;
    let (go_arch, scmp_arch) = native_arch();
    Ok(generate_from(
        &profile,
        caps,
        go_arch,
        scmp_arch,
        kernel_version(),
    ))
}

fn generate(caps: &[String], go_arch: &str, scmp_arch: Arch, kernel: (u32, u32)) -> LinuxSeccomp {
    generate_from(profile(), caps, go_arch, scmp_arch, kernel)
}

fn generate_from(
    profile: &Profile,
    caps: &[String],
    go_arch: &str,
    scmp_arch: Arch,
    kernel: (u32, u32),
) -> LinuxSeccomp {
    let mut arches = vec![scmp_arch];
    if let Some(m) = profile
        .arch_map
        .iter()
        .find(|m| m.architecture == scmp_arch)
    {
        arches.extend(m.sub_architectures.iter().copied());
    }
    let syscalls: Vec<LinuxSyscall> = profile
        .syscalls
        .iter()
        .filter(|r| applies(r, caps, go_arch, kernel))
        .map(|r| {
            let mut s = LinuxSyscall::default();
            s.set_names(r.names.clone());
            s.set_action(r.action);
            s.set_errno_ret(r.errno_ret);
            s.set_args(r.args.clone().filter(|a| !a.is_empty()));
            s
        })
        .collect();
    let mut out = LinuxSeccomp::default();
    out.set_default_action(profile.default_action);
    out.set_default_errno_ret(profile.default_errno_ret);
    out.set_architectures(Some(arches));
    out.set_syscalls(Some(syscalls));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::confinement::DEFAULT_CAPABILITIES;
    use serde_json::{json, Value};
    use std::collections::BTreeSet;

    fn generate_json(caps: &[String], go_arch: &str, arch: Arch, kernel: (u32, u32)) -> Value {
        serde_json::to_value(generate(caps, go_arch, arch, kernel)).unwrap()
    }

    #[test]
    fn typed_profile_is_what_the_json_one_was() {
        // Written by the string-keyed generator before the profile was typed.
        let before: Value =
            serde_json::from_str(include_str!("../tests/fixtures/seccomp-before-typed.json"))
                .unwrap();
        let ours = generate_json(&default_caps(), "amd64", Arch::ScmpArchX86_64, (6, 18));
        assert_eq!(ours, before);
    }

    /// (action, errnoRet, args without zero valueTwo) → syscall names.
    fn rules(v: &Value) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        for r in v["syscalls"].as_array().unwrap() {
            let mut args = r["args"].clone();
            for a in args.as_array_mut().into_iter().flatten() {
                if a["valueTwo"] == 0 {
                    a.as_object_mut().unwrap().remove("valueTwo");
                }
            }
            for n in r["names"].as_array().unwrap() {
                out.insert(format!("{n} {} {} {args}", r["action"], r["errnoRet"]));
            }
        }
        out
    }

    fn default_caps() -> Vec<String> {
        DEFAULT_CAPABILITIES.iter().map(|c| c.to_string()).collect()
    }

    #[test]
    fn default_caps_give_what_podman_wrote() {
        let podman: Value = serde_json::from_str(include_str!(
            "../../runtime/tests/fixtures/podman-seccomp-oci.json"
        ))
        .unwrap();
        let ours = generate_json(&default_caps(), "amd64", Arch::ScmpArchX86_64, (6, 18));
        assert_eq!(ours["defaultAction"], podman["defaultAction"]);
        assert_eq!(ours["defaultErrnoRet"], podman["defaultErrnoRet"]);
        assert_eq!(ours["architectures"], podman["architectures"]);
        assert_eq!(rules(&ours), rules(&podman));
        assert_eq!(
            ours["syscalls"].as_array().unwrap().len(),
            podman["syscalls"].as_array().unwrap().len()
        );
    }

    #[test]
    fn added_capabilities_give_what_podman_wrote() {
        let podman: Value = serde_json::from_str(include_str!(
            "../tests/fixtures/podman-seccomp-sys-admin-sys-ptrace.json"
        ))
        .unwrap();
        let mut caps = default_caps();
        caps.extend(["CAP_SYS_ADMIN".to_string(), "CAP_SYS_PTRACE".to_string()]);
        let ours = generate_json(&caps, "amd64", Arch::ScmpArchX86_64, (6, 18));
        assert_eq!(rules(&ours), rules(&podman));
        let base = generate_json(&default_caps(), "amd64", Arch::ScmpArchX86_64, (6, 18));
        assert_ne!(rules(&ours), rules(&base));
    }

    fn action_of(v: &Value, name: &str) -> Vec<String> {
        v["syscalls"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["names"].as_array().unwrap().iter().any(|n| n == name))
            .map(|r| r["action"].as_str().unwrap().to_string())
            .collect()
    }

    #[test]
    fn capabilities_open_their_calls() {
        let base = generate_json(&default_caps(), "amd64", Arch::ScmpArchX86_64, (6, 18));
        for (cap, call) in [
            ("CAP_SYS_ADMIN", "bpf"),
            ("CAP_SYS_ADMIN", "perf_event_open"),
            ("CAP_SYS_PTRACE", "kcmp"),
            ("CAP_SYS_MODULE", "init_module"),
            ("CAP_SYS_TIME", "settimeofday"),
            ("CAP_SYS_PACCT", "acct"),
            ("CAP_SYS_RAWIO", "iopl"),
        ] {
            assert_eq!(action_of(&base, call), ["SCMP_ACT_ERRNO"], "{call}");
            let mut caps = default_caps();
            caps.push(cap.into());
            let more = generate_json(&caps, "amd64", Arch::ScmpArchX86_64, (6, 18));
            assert_eq!(action_of(&more, call), ["SCMP_ACT_ALLOW"], "{cap} {call}");
        }
        // Without CAP_SYS_CHROOT, chroot is no longer allowed.
        let caps: Vec<String> = default_caps()
            .into_iter()
            .filter(|c| c != "CAP_SYS_CHROOT")
            .collect();
        let fewer = generate_json(&caps, "amd64", Arch::ScmpArchX86_64, (6, 18));
        assert_eq!(action_of(&fewer, "chroot"), ["SCMP_ACT_ERRNO"]);
    }

    #[test]
    fn arches_pick_their_rules() {
        let arm = generate_json(&default_caps(), "arm64", Arch::ScmpArchAarch64, (6, 18));
        assert_eq!(
            arm["architectures"],
            json!([Arch::ScmpArchAarch64, "SCMP_ARCH_ARM"])
        );
        assert!(action_of(&arm, "arch_prctl").is_empty());
        assert_eq!(action_of(&arm, "breakpoint"), ["SCMP_ACT_ALLOW"]);
        assert_eq!(parse_version("6.18.0-1-amd64"), (6, 18));
    }
}
