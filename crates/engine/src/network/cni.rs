//! The CNI exec protocol (spec 1.0): a plugin binary from `CNI_PATH` run
//! with the network config on stdin and `CNI_COMMAND`, `CNI_CONTAINERID`,
//! `CNI_NETNS`, `CNI_IFNAME`, `CNI_PATH` in its environment; success is a
//! result JSON on stdout, failure an error JSON `{code, msg, details}`.
//! A list runs its plugins in order for ADD, each given the previous one's
//! result as `prevResult`, and in reverse for DEL, given the cached result.

use super::NetError;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The CNI version berth speaks (Debian's plugins 1.1 support it).
pub const VERSION: &str = "1.0.0";

/// An interface of a result.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Interface {
    /// Its name (in its namespace).
    pub name: String,
    /// Its MAC address.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub mac: String,
    /// The netns path when it is inside the container; empty on the host.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub sandbox: String,
}

/// An address of a result.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IpConfig {
    /// Index into the interfaces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interface: Option<usize>,
    /// CIDR, e.g. `10.90.0.2/16`.
    pub address: String,
    /// The gateway.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<String>,
}

/// A CNI result (`interfaces`, `ips`, `routes`, `dns`), kept whole.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CniResult {
    /// The spec version of the result.
    #[serde(default)]
    pub cni_version: String,
    /// Interfaces made or used.
    #[serde(default)]
    pub interfaces: Vec<Interface>,
    /// Addresses assigned.
    #[serde(default)]
    pub ips: Vec<IpConfig>,
    /// Routes set in the container.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub routes: Vec<Value>,
    /// DNS settings.
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub dns: Value,
}

#[derive(Deserialize)]
struct CniError {
    #[serde(default)]
    code: u32,
    #[serde(default)]
    msg: String,
    #[serde(default)]
    details: String,
}

/// Where and for whom plugins run.
pub struct Invocation<'a> {
    /// The directory of plugin binaries (`CNI_PATH`).
    pub plugin_dir: &'a Path,
    /// `CNI_CONTAINERID`.
    pub id: &'a str,
    /// `CNI_NETNS`.
    pub netns: &'a Path,
    /// `CNI_IFNAME`.
    pub ifname: &'a str,
}

/// The network config one plugin of `list` gets: its own object plus the
/// list's name and version, `runtimeConfig` for the capabilities it
/// declares, and the previous result.
pub fn plugin_config(list: &Value, plugin: &Value, runtime: &Value, prev: Option<&Value>) -> Value {
    let mut conf = plugin.clone();
    conf["name"] = list["name"].clone();
    conf["cniVersion"] = list["cniVersion"].clone();
    if let Some(caps) = plugin["capabilities"].as_object() {
        let mut rc = serde_json::Map::new();
        for (cap, on) in caps {
            if on.as_bool() == Some(true) && !runtime[cap].is_null() {
                rc.insert(cap.clone(), runtime[cap].clone());
            }
        }
        if !rc.is_empty() {
            conf["runtimeConfig"] = Value::Object(rc);
        }
    }
    if let Some(p) = prev {
        conf["prevResult"] = p.clone();
    }
    conf
}

/// Run one plugin: `command` is ADD, DEL or CHECK. The result JSON for ADD
/// (Null for the others).
pub fn exec(inv: &Invocation<'_>, command: &str, conf: &Value) -> Result<Value, NetError> {
    let typ = conf["type"].as_str().unwrap_or_default();
    let bin: PathBuf = inv.plugin_dir.join(typ);
    let fail = |message: String| NetError::Plugin {
        plugin: typ.to_string(),
        command: command.to_string(),
        message,
    };
    let mut child = Command::new(&bin)
        .env("CNI_COMMAND", command)
        .env("CNI_CONTAINERID", inv.id)
        .env("CNI_NETNS", inv.netns)
        .env("CNI_IFNAME", inv.ifname)
        .env("CNI_PATH", inv.plugin_dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| fail(format!("running {}: {e}", bin.display())))?;
    let input = serde_json::to_vec(conf).unwrap_or_default();
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(&input);
    }
    let out = child
        .wait_with_output()
        .map_err(|e| fail(format!("waiting for {}: {e}", bin.display())))?;
    if !out.status.success() {
        let msg = match serde_json::from_slice::<CniError>(&out.stdout) {
            Ok(e) if e.details.is_empty() => format!("{} (code {})", e.msg, e.code),
            Ok(e) => format!("{}: {} (code {})", e.msg, e.details, e.code),
            Err(_) => format!(
                "{}: {}{}",
                out.status,
                String::from_utf8_lossy(&out.stdout).trim(),
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        };
        return Err(fail(msg));
    }
    if command != "ADD" {
        return Ok(Value::Null);
    }
    serde_json::from_slice(&out.stdout).map_err(|e| fail(format!("unreadable result: {e}")))
}

/// ADD every plugin of `list` in order. On a failure the plugins already
/// added are deleted again, so nothing is left.
pub fn add_list(inv: &Invocation<'_>, list: &Value, runtime: &Value) -> Result<Value, NetError> {
    let plugins = list["plugins"].as_array().map_or(&[][..], Vec::as_slice);
    let mut prev: Option<Value> = None;
    for (i, plugin) in plugins.iter().enumerate() {
        let conf = plugin_config(list, plugin, runtime, prev.as_ref());
        match exec(inv, "ADD", &conf) {
            Ok(r) => prev = Some(r),
            Err(e) => {
                let done = json!({"name": list["name"], "cniVersion": list["cniVersion"],
                                  "plugins": plugins[..=i]});
                let _ = del_list(inv, &done, runtime, prev.as_ref());
                return Err(e);
            }
        }
    }
    Ok(prev.unwrap_or_else(|| json!({"cniVersion": list["cniVersion"]})))
}

/// DEL every plugin of `list` in reverse order, each given `cached` (the
/// ADD result) as `prevResult`. Every plugin is tried; the first error is
/// returned.
pub fn del_list(
    inv: &Invocation<'_>,
    list: &Value,
    runtime: &Value,
    cached: Option<&Value>,
) -> Result<(), NetError> {
    let plugins = list["plugins"].as_array().map_or(&[][..], Vec::as_slice);
    let mut first = None;
    for plugin in plugins.iter().rev() {
        let conf = plugin_config(list, plugin, runtime, cached);
        if let Err(e) = exec(inv, "DEL", &conf) {
            first.get_or_insert(e);
        }
    }
    first.map_or(Ok(()), Err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plugin_config_merges_list_and_capabilities() {
        let list = json!({"name": "n", "cniVersion": "1.0.0", "plugins": []});
        let pm = json!({"type": "portmap", "capabilities": {"portMappings": true}});
        let rt = json!({"portMappings": [{"hostPort": 1, "containerPort": 2, "protocol": "tcp"}]});
        let prev = json!({"ips": []});
        let c = plugin_config(&list, &pm, &rt, Some(&prev));
        assert_eq!(c["name"], "n");
        assert_eq!(c["cniVersion"], "1.0.0");
        assert_eq!(c["runtimeConfig"]["portMappings"][0]["hostPort"], 1);
        assert_eq!(c["prevResult"], prev);
        let br = json!({"type": "bridge"});
        let c = plugin_config(&list, &br, &rt, None);
        assert!(c.get("runtimeConfig").is_none() && c.get("prevResult").is_none());
    }

    #[test]
    fn plugin_error_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let inv = Invocation {
            plugin_dir: dir.path(),
            id: "x",
            netns: Path::new("/nonexistent"),
            ifname: "eth0",
        };
        let e = exec(&inv, "ADD", &json!({"type": "nosuchplugin"})).unwrap_err();
        assert!(e.to_string().contains("nosuchplugin"), "{e}");
    }
}
