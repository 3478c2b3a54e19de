//! What `commit` keeps of the container's run options in the new image's
//! config, as podman 4.3 does (libpod's `container_commit.go`): the
//! merged Env (without what only a run adds: HOSTNAME, a default HOME),
//! Entrypoint and Cmd as the container ran them, User when `-u` was
//! given, WorkingDir, ExposedPorts (the image's, `--expose` and `-p`'s
//! container ports), Labels (`--label` over the image's), and Volumes:
//! the anonymous volumes `-v /path` asked for, or with
//! `--include-volumes` every volume and bind's destination. The stop
//! signal is not kept (podman neither). `--change` is applied after.

use crate::image_config::ImageConfig;
use crate::options::CreateOptions;
use serde_json::{json, Map, Value};

/// Lay the container's run options (`opts`, the image config it ran
/// `image`, its exposed `port/proto` keys `exposed`) over `config`, the
/// base image's `config` object.
pub(crate) fn keep_run_options(
    config: &mut Map<String, Value>,
    opts: &CreateOptions,
    image: &ImageConfig,
    exposed: &[String],
    include_volumes: bool,
) {
    config.insert(
        "Env".into(),
        json!(crate::spec::merged_environment(opts, image, None)),
    );
    let (entrypoint, cmd) = crate::spec::entrypoint_and_cmd(opts, image);
    set_list(config, "Entrypoint", entrypoint);
    set_list(config, "Cmd", cmd);
    if let Some(user) = &opts.user {
        config.insert("User".into(), json!(user));
    }
    let workdir = opts
        .workdir
        .clone()
        .or_else(|| image.working_dir().clone().filter(|w| !w.is_empty()))
        .unwrap_or_else(|| "/".into());
    config.insert("WorkingDir".into(), json!(workdir));
    let ports = exposed.iter().cloned().chain(
        opts.ports
            .iter()
            .map(|p| format!("{}/{}", p.container_port, p.protocol)),
    );
    add_keys(config, "ExposedPorts", ports);
    if !opts.labels.is_empty() {
        with_object(config, "Labels", |labels| {
            for (k, v) in &opts.labels {
                labels.insert(k.clone(), json!(v));
            }
        });
    }
    let volumes = opts
        .volumes
        .iter()
        .filter(|v| include_volumes || v.anonymous)
        .map(|v| v.destination.clone());
    add_keys(config, "Volumes", volumes);
}

/// `key` as the list, or gone when the list is empty (podman's null).
fn set_list(config: &mut Map<String, Value>, key: &str, list: Vec<String>) {
    if list.is_empty() {
        config.remove(key);
    } else {
        config.insert(key.into(), json!(list));
    }
}

/// Change the object at `key` with `f` (made when missing or not one).
fn with_object(
    config: &mut Map<String, Value>,
    key: &str,
    f: impl FnOnce(&mut Map<String, Value>),
) {
    let mut map = match config.remove(key) {
        Some(Value::Object(m)) => m,
        _ => Map::new(),
    };
    f(&mut map);
    config.insert(key.into(), Value::Object(map));
}

/// Add each of `keys` to the set-like object at `key` (`{"k": {}}`).
fn add_keys(config: &mut Map<String, Value>, key: &str, keys: impl Iterator<Item = String>) {
    let mut keys = keys.peekable();
    if keys.peek().is_none() {
        return;
    }
    with_object(config, key, |set| {
        for k in keys {
            set.insert(k, json!({}));
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::Volume;

    #[test]
    fn run_options_land_in_podmans_fields() {
        let image: ImageConfig = serde_json::from_value(json!({
            "Env": ["PATH=/bin", "I=1"], "Cmd": ["sh"], "ExposedPorts": {"22/tcp": {}},
            "Labels": {"from": "image"}, "WorkingDir": "/img"
        }))
        .unwrap();
        let mut opts = CreateOptions {
            env: vec!["A=1".into()],
            entrypoint: Some(r#"["/bin/sh","-c"]"#.into()),
            command: vec!["echo hi".into()],
            user: Some("1:1".into()),
            ports: vec![crate::network::ports::PortMapping::parse("8080:80").unwrap()],
            volumes: vec![
                Volume::parse("/data").unwrap(),
                Volume::parse("/tmp:/bound").unwrap(),
            ],
            ..Default::default()
        };
        opts.labels.insert("lk".into(), "lv".into());
        let mut config = serde_json::from_value::<Value>(json!({
            "Env": ["PATH=/bin", "I=1"], "Cmd": ["sh"], "ExposedPorts": {"22/tcp": {}},
            "Labels": {"from": "image"}, "WorkingDir": "/img", "StopSignal": "SIGTERM"
        }))
        .unwrap();
        let map = config.as_object_mut().unwrap();
        keep_run_options(
            map,
            &opts,
            &image,
            &["22/tcp".into(), "90/tcp".into()],
            false,
        );
        assert_eq!(
            config["Env"],
            json!(["container=berth", "PATH=/bin", "I=1", "A=1"])
        );
        assert_eq!(config["Entrypoint"], json!(["/bin/sh", "-c"]));
        assert_eq!(config["Cmd"], json!(["echo hi"]));
        assert_eq!(config["User"], json!("1:1"));
        assert_eq!(config["WorkingDir"], json!("/img"));
        assert_eq!(
            config["ExposedPorts"],
            json!({"22/tcp": {}, "80/tcp": {}, "90/tcp": {}})
        );
        assert_eq!(config["Labels"], json!({"from": "image", "lk": "lv"}));
        assert_eq!(config["Volumes"], json!({"/data": {}}));
        assert_eq!(config["StopSignal"], json!("SIGTERM"));
        let map = config.as_object_mut().unwrap();
        keep_run_options(map, &opts, &image, &[], true);
        assert_eq!(config["Volumes"], json!({"/data": {}, "/bound": {}}));
    }

    #[test]
    fn an_empty_entrypoint_is_dropped() {
        let image: ImageConfig =
            serde_json::from_value(json!({"Entrypoint": ["/e"], "Cmd": ["c"]})).unwrap();
        let opts = CreateOptions {
            entrypoint: Some(String::new()),
            command: vec!["ls".into()],
            ..Default::default()
        };
        let mut config = json!({"Entrypoint": ["/e"], "Cmd": ["c"]});
        keep_run_options(config.as_object_mut().unwrap(), &opts, &image, &[], false);
        assert!(config.get("Entrypoint").is_none());
        assert_eq!(config["Cmd"], json!(["ls"]));
        assert_eq!(config["WorkingDir"], json!("/"));
    }
}
