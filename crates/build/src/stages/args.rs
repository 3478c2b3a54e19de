//! Build arguments in scope, with Docker's rules: ARGs before the first
//! FROM are global and only usable in FROM lines (and as defaults of a
//! stage's bare `ARG NAME`); inside a stage an ARG is visible from its
//! declaration on, `--build-arg` overriding its default; the platform args
//! are predefined globally; the proxy args need no declaration; and a
//! stage's ENV wins over an ARG of the same name when expanding.

use std::collections::BTreeMap;

/// Predefined args usable without an ARG line (passed to RUN, not kept
/// in the image), as Docker's.
pub const PROXY_ARGS: &[&str] = &[
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "FTP_PROXY",
    "ftp_proxy",
    "NO_PROXY",
    "no_proxy",
    "ALL_PROXY",
    "all_proxy",
];

/// The host's platform in OCI terms (`linux`, `amd64`, variant).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Platform {
    /// `linux`.
    pub os: String,
    /// `amd64`, `arm64`, ...
    pub arch: String,
    /// `v7` for 32-bit arm, empty elsewhere.
    pub variant: String,
}

impl Platform {
    /// The platform berth runs on; builds only target it.
    pub fn host() -> Platform {
        let (arch, variant) = match std::env::consts::ARCH {
            "x86_64" => ("amd64", ""),
            "aarch64" => ("arm64", ""),
            "arm" => ("arm", "v7"),
            "x86" => ("386", ""),
            "powerpc64" => ("ppc64le", ""),
            other => (other, ""),
        };
        Platform {
            os: "linux".into(),
            arch: arch.into(),
            variant: variant.into(),
        }
    }

    /// `os/arch[/variant]`.
    pub fn spec(&self) -> String {
        if self.variant.is_empty() {
            format!("{}/{}", self.os, self.arch)
        } else {
            format!("{}/{}/{}", self.os, self.arch, self.variant)
        }
    }

    /// Whether a `--platform` value names this platform (`linux/amd64`,
    /// `linux/amd64/v1`...; a missing os means linux).
    pub fn accepts(&self, value: &str) -> bool {
        let mut parts = value.split('/');
        let (os, arch) = match (parts.next(), parts.next()) {
            (Some(os), Some(arch)) => (os, arch),
            (Some(arch), None) => ("linux", arch),
            _ => return false,
        };
        let variant = parts.next().unwrap_or("");
        os == self.os
            && arch == self.arch
            && (variant.is_empty() || self.variant.is_empty() || variant == self.variant)
            && parts.next().is_none()
    }

    /// TARGETPLATFORM, TARGETOS, ... BUILDVARIANT: builds here are native,
    /// so target and build platform are the host's.
    pub fn predefined_args(&self) -> BTreeMap<String, String> {
        let mut args = BTreeMap::new();
        for prefix in ["TARGET", "BUILD"] {
            args.insert(format!("{prefix}PLATFORM"), self.spec());
            args.insert(format!("{prefix}OS"), self.os.clone());
            args.insert(format!("{prefix}ARCH"), self.arch.clone());
            args.insert(format!("{prefix}VARIANT"), self.variant.clone());
        }
        args
    }
}

/// The args one stage sees, as declared so far.
#[derive(Debug, Clone, Default)]
pub struct ArgScope {
    /// Declared names with their values (None: declared without a value).
    values: BTreeMap<String, Option<String>>,
}

impl ArgScope {
    /// Declares `name` with its default (already expanded); a build arg
    /// of that name wins, then the default, then a global arg's value
    /// for a bare `ARG NAME`.
    pub fn declare(
        &mut self,
        name: &str,
        default: Option<String>,
        build_args: &BTreeMap<String, String>,
        globals: &ArgScope,
    ) {
        let value = build_args
            .get(name)
            .cloned()
            .or(default)
            .or_else(|| globals.get(name).map(str::to_string));
        self.values.insert(name.to_string(), value);
    }

    /// The value of a declared arg (None when undeclared or valueless).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).and_then(|v| v.as_deref())
    }

    /// Whether `name` was declared.
    pub fn is_declared(&self, name: &str) -> bool {
        self.values.contains_key(name)
    }

    /// `NAME=VALUE` for every declared arg with a value, plus the proxy
    /// args given on the command line: the environment of a RUN.
    pub fn run_env(&self, build_args: &BTreeMap<String, String>) -> Vec<String> {
        let mut env: Vec<String> = self
            .values
            .iter()
            .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={v}")))
            .collect();
        for name in PROXY_ARGS {
            if let Some(v) = build_args.get(*name) {
                if !self.is_declared(name) {
                    env.push(format!("{name}={v}"));
                }
            }
        }
        env
    }

    /// Every declared `(name, value)`: part of a cache key.
    pub fn pairs(&self) -> impl Iterator<Item = (&String, &Option<String>)> {
        self.values.iter()
    }
}

/// Looks `name` up in an image env list (`NAME=VALUE`), the last wins.
pub fn env_lookup<'a>(env: &'a [String], name: &str) -> Option<&'a str> {
    env.iter().rev().find_map(|kv| {
        kv.split_once('=')
            .filter(|(k, _)| *k == name)
            .map(|(_, v)| v)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_arg_then_default_then_global() {
        let build_args: BTreeMap<String, String> = [("A".to_string(), "cli".to_string())].into();
        let mut globals = ArgScope::default();
        globals.declare(
            "G",
            Some("global".into()),
            &build_args,
            &ArgScope::default(),
        );
        let mut stage = ArgScope::default();
        stage.declare("A", Some("default".into()), &build_args, &globals);
        stage.declare("G", None, &build_args, &globals);
        stage.declare("B", Some("b".into()), &build_args, &globals);
        stage.declare("C", None, &build_args, &globals);
        assert_eq!(stage.get("A"), Some("cli"));
        assert_eq!(stage.get("G"), Some("global"));
        assert_eq!(stage.get("B"), Some("b"));
        assert_eq!(stage.get("C"), None);
        assert!(stage.is_declared("C"));
    }

    #[test]
    fn proxies_reach_run_without_declaration() {
        let build_args: BTreeMap<String, String> = [
            ("http_proxy".to_string(), "http://p:3128".to_string()),
            ("OTHER".to_string(), "x".to_string()),
        ]
        .into();
        let env = ArgScope::default().run_env(&build_args);
        assert_eq!(env, vec!["http_proxy=http://p:3128".to_string()]);
    }

    #[test]
    fn host_platform() {
        let p = Platform::host();
        assert!(p.accepts(&p.spec()));
        assert!(p.accepts(&p.arch));
        assert!(!p.accepts("windows/amd64"));
        assert!(!p.accepts("linux/s390x") || p.arch == "s390x");
        assert_eq!(p.predefined_args()["TARGETOS"], "linux");
    }
}
