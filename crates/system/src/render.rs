//! The three files of a deployment rendered from the image's templates
//! (or the defaults) before anything is written, so a template naming an
//! unknown variable leaves nothing behind.

use crate::error::{Error, Result};
use crate::layout::SystemLayout;
use crate::template::substitute;
use crate::units;
use std::collections::BTreeMap;
use std::path::Path;

/// The image paths of the templates atomic's system containers define.
pub(crate) const CONFIG_TEMPLATE: &str = "/exports/config.json.template";
pub(crate) const SERVICE_TEMPLATE: &str = "/exports/service.template";
pub(crate) const TMPFILES_TEMPLATE: &str = "/exports/tmpfiles.template";

/// A template larger than this is refused (they are a few lines).
const TEMPLATE_CAP: u64 = 1 << 20;

/// The rendered files.
pub(crate) struct Rendered {
    /// `config.json` from the image's template; None: the engine builds it.
    pub config: Option<oci_spec::runtime::Spec>,
    /// The systemd unit.
    pub service: String,
    /// The tmpfiles.d snippet.
    pub tmpfiles: String,
    /// The image templates used.
    pub templates: Vec<String>,
}

/// The variables templates see: the built-in ones, then every `--set`.
pub(crate) fn variables(
    layout: &SystemLayout,
    name: &str,
    values: &BTreeMap<String, String>,
    service_type: &str,
) -> BTreeMap<String, String> {
    let dest = layout.link(name).to_string_lossy().into_owned();
    let runtime = layout.runtime.to_string_lossy();
    let root = layout.runtime_root.to_string_lossy();
    let pidfile = layout
        .runtime_root
        .join(format!("{name}.pid"))
        .to_string_lossy()
        .into_owned();
    let mut vars = BTreeMap::from([
        ("NAME".to_string(), name.to_string()),
        ("DESTDIR".to_string(), dest.clone()),
        (
            "EXEC_START".to_string(),
            format!("{runtime} --root {root} run --bundle {dest} --pid-file {pidfile} {name}"),
        ),
        (
            "EXEC_STOP".to_string(),
            format!("{runtime} --root {root} kill {name} SIGTERM"),
        ),
        (
            "RUN_DIRECTORY".to_string(),
            layout.run_dir.to_string_lossy().into_owned(),
        ),
        (
            "STATE_DIRECTORY".to_string(),
            layout.state_dir.to_string_lossy().into_owned(),
        ),
        ("PIDFILE".to_string(), pidfile),
        ("SERVICE_TYPE".to_string(), service_type.to_string()),
    ]);
    vars.extend(values.iter().map(|(k, v)| (k.clone(), v.clone())));
    vars
}

/// Render the templates of the image mounted at `image_root`.
pub(crate) fn render(
    image: &str,
    image_root: &Path,
    vars: &BTreeMap<String, String>,
    requires: &[String],
    after: &[String],
) -> Result<Rendered> {
    let mut templates = Vec::new();
    let mut one = |path: &str, default: Option<&str>| -> Result<Option<String>> {
        let text = match berth_engine::system_spec::read_in_rootfs(image_root, path, TEMPLATE_CAP)?
        {
            Some(bytes) => {
                templates.push(path.to_string());
                String::from_utf8_lossy(&bytes).into_owned()
            }
            None => match default {
                Some(d) => d.to_string(),
                None => return Ok(None),
            },
        };
        substitute(&text, vars)
            .map(Some)
            .map_err(|variable| Error::UnknownVariable {
                image: image.to_string(),
                template: match default.is_some() && !templates.iter().any(|t| t == path) {
                    true => format!("(berth's default for {path})"),
                    false => path.to_string(),
                },
                variable,
            })
    };
    let config = one(CONFIG_TEMPLATE, None)?;
    let service = one(SERVICE_TEMPLATE, Some(units::DEFAULT_SERVICE))?.unwrap_or_default();
    let tmpfiles = one(TMPFILES_TEMPLATE, Some(units::DEFAULT_TMPFILES))?.unwrap_or_default();
    let config = match config {
        Some(text) => {
            Some(
                serde_json::from_str(&text).map_err(|source| Error::BadConfigTemplate {
                    image: image.to_string(),
                    source,
                })?,
            )
        }
        None => None,
    };
    Ok(Rendered {
        config,
        service: units::with_ordering(&service, requires, after),
        tmpfiles,
        templates,
    })
}
