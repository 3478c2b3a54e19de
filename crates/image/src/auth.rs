//! Registry credentials in the `auth.json` format docker and podman share:
//! `{"auths": {"host[/path]": {"auth": base64("user:password")}}}`.
//!
//! Looked up as podman does: a file the user names (`--authfile`,
//! `$REGISTRY_AUTH_FILE`, or berth's `$BERTH_AUTH_FILE`) is the only one
//! read. Otherwise the per-session file (`$XDG_RUNTIME_DIR/containers/auth.json`,
//! else `/run/containers/<uid>/auth.json`), which `berth login` writes,
//! then `$XDG_CONFIG_HOME/containers/auth.json` (default
//! `~/.config/containers/auth.json`), then docker's
//! `$DOCKER_CONFIG/config.json` (default `~/.docker/config.json`).

use crate::error::{Error, IoContext, Result};
use base64::Engine as _;
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};

/// A user name and password (or identity token) for one registry.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// User name.
    pub username: String,
    /// Password or token.
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credentials({}, <redacted>)", self.username)
    }
}

/// The auth file the user named through the environment:
/// `$BERTH_AUTH_FILE`, else `$REGISTRY_AUTH_FILE`.
pub fn auth_file_from_env() -> Option<PathBuf> {
    ["BERTH_AUTH_FILE", "REGISTRY_AUTH_FILE"]
        .into_iter()
        .find_map(crate::config_paths::env_path)
}

/// The auth file berth writes: the one named in the environment, else
/// `$XDG_RUNTIME_DIR/containers/auth.json`, else
/// `/run/containers/<uid>/auth.json` (podman's path, so both see a login).
pub fn default_auth_file() -> PathBuf {
    if let Some(p) = auth_file_from_env() {
        return p;
    }
    if let Some(dir) = crate::config_paths::env_path("XDG_RUNTIME_DIR") {
        return dir.join("containers/auth.json");
    }
    PathBuf::from(format!("/run/containers/{}/auth.json", current_uid()))
}

fn current_uid() -> u32 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).and_then(|u| u.parse().ok()))
        })
        .unwrap_or(0)
}

/// The files searched for credentials, most specific first: `primary`
/// alone when the user named it (podman reads nothing else then).
pub fn auth_files(primary: &Path, named: bool) -> Vec<PathBuf> {
    let mut out = vec![primary.to_path_buf()];
    if named {
        return out;
    }
    if let Some(p) = crate::config_paths::xdg_config("containers/auth.json") {
        out.push(p);
    }
    match crate::config_paths::env_path("DOCKER_CONFIG") {
        Some(d) => out.push(d.join("config.json")),
        None => {
            if let Some(home) = crate::config_paths::env_path("HOME") {
                out.push(home.join(".docker/config.json"));
            }
        }
    }
    out
}

fn read_auths(path: &Path) -> Result<Map<String, Value>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Map::new()),
        Err(e) => return Err(e).ctx("read", path),
    };
    let v: Value = serde_json::from_str(&text).map_err(|e| Error::Config {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    match v {
        Value::Object(m) => Ok(m),
        _ => Err(Error::Config {
            path: path.to_path_buf(),
            reason: "not a JSON object".into(),
        }),
    }
}

/// Keys under which docker writes Docker Hub credentials.
fn key_aliases(key: &str) -> Vec<String> {
    let mut keys = vec![key.to_string()];
    if key == "docker.io" {
        keys.push("https://index.docker.io/v1/".into());
        keys.push("index.docker.io".into());
        keys.push("registry-1.docker.io".into());
    }
    keys.push(format!("https://{key}"));
    keys.push(format!("http://{key}"));
    keys
}

fn decode_entry(entry: &Value, path: &Path) -> Result<Option<Credentials>> {
    if let Some(token) = entry.get("identitytoken").and_then(Value::as_str) {
        if !token.is_empty() {
            return Ok(Some(Credentials {
                username: "<token>".into(),
                password: token.into(),
            }));
        }
    }
    let Some(auth) = entry.get("auth").and_then(Value::as_str) else {
        return Ok(None);
    };
    let bad = |reason: &str| Error::Config {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    };
    let raw = base64::engine::general_purpose::STANDARD
        .decode(auth.trim())
        .map_err(|_| bad("an \"auth\" entry is not base64"))?;
    let text = String::from_utf8(raw).map_err(|_| bad("an \"auth\" entry is not UTF-8"))?;
    let (u, p) = text
        .split_once(':')
        .ok_or_else(|| bad("an \"auth\" entry is not user:password"))?;
    Ok(Some(Credentials {
        username: u.into(),
        password: p.into(),
    }))
}

/// The credentials for `registry/repository` from `files`, trying the most
/// specific key (`host/ns/repo`, then `host/ns`, then `host`) in each file.
pub fn lookup(files: &[PathBuf], registry: &str, repository: &str) -> Result<Option<Credentials>> {
    let mut keys = Vec::new();
    let mut path = format!("{registry}/{repository}");
    loop {
        keys.push(path.clone());
        match path.rfind('/') {
            Some(i) => path.truncate(i),
            None => break,
        }
    }
    for file in files {
        let root = read_auths(file)?;
        let Some(Value::Object(auths)) = root.get("auths") else {
            continue;
        };
        for k in &keys {
            for alias in key_aliases(k) {
                if let Some(entry) = auths.get(&alias) {
                    if let Some(c) = decode_entry(entry, file)? {
                        return Ok(Some(c));
                    }
                }
            }
        }
    }
    Ok(None)
}

/// Store `creds` for `key` (a registry host, optionally with a path) in `file`.
pub fn store(file: &Path, key: &str, creds: &Credentials) -> Result<()> {
    let mut root = read_auths(file)?;
    let auths = root
        .entry("auths")
        .or_insert_with(|| Value::Object(Map::new()));
    let Value::Object(auths) = auths else {
        return Err(Error::Config {
            path: file.to_path_buf(),
            reason: "\"auths\" is not an object".into(),
        });
    };
    let encoded = base64::engine::general_purpose::STANDARD
        .encode(format!("{}:{}", creds.username, creds.password));
    auths.insert(key.to_string(), serde_json::json!({ "auth": encoded }));
    write_auths(file, root)
}

/// Remove the credentials for `key` from `file`; false when there were none.
pub fn remove(file: &Path, key: &str) -> Result<bool> {
    let mut root = read_auths(file)?;
    let removed = match root.get_mut("auths") {
        Some(Value::Object(auths)) => {
            let mut any = false;
            for alias in key_aliases(key) {
                any |= auths.remove(&alias).is_some();
            }
            any
        }
        _ => false,
    };
    if removed {
        write_auths(file, root)?;
    }
    Ok(removed)
}

fn write_auths(file: &Path, root: Map<String, Value>) -> Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let dir = file.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).ctx("create", dir)?;
    let tmp = file.with_extension("json.tmp");
    let text = serde_json::to_vec_pretty(&Value::Object(root)).map_err(|e| Error::Config {
        path: file.to_path_buf(),
        reason: e.to_string(),
    })?;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .ctx("create", &tmp)?;
    f.write_all(&text).ctx("write", &tmp)?;
    std::fs::rename(&tmp, file).ctx("rename", file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_lookup_remove_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("auth.json");
        let c = Credentials {
            username: "u".into(),
            password: "p:w".into(),
        };
        store(&f, "reg.example:5000", &c).unwrap();
        let files = vec![f.clone()];
        assert_eq!(
            lookup(&files, "reg.example:5000", "a/b").unwrap(),
            Some(c.clone())
        );
        assert_eq!(lookup(&files, "other", "a").unwrap(), None);
        assert!(remove(&f, "reg.example:5000").unwrap());
        assert_eq!(lookup(&files, "reg.example:5000", "a/b").unwrap(), None);
    }

    #[test]
    fn a_named_file_is_the_only_one_read() {
        let files = auth_files(Path::new("/x/auth.json"), true);
        assert_eq!(files, [PathBuf::from("/x/auth.json")]);
    }

    #[test]
    fn reads_docker_config_hub_key() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("config.json");
        std::fs::write(
            &f,
            r#"{"auths":{"https://index.docker.io/v1/":{"auth":"YWxpY2U6c2VjcmV0"}}}"#,
        )
        .unwrap();
        let c = lookup(&[f], "docker.io", "library/busybox")
            .unwrap()
            .unwrap();
        assert_eq!(
            (c.username.as_str(), c.password.as_str()),
            ("alice", "secret")
        );
    }
}
