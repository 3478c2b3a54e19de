//! `RUN --mount=type=...,target=...` as BuildKit reads it: comma-separated
//! `key=value` fields (bare `ro`/`rw`/`required` are booleans).

/// Which mount a RUN gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MountType {
    /// A directory of the context or of another stage (read-only unless rw).
    Bind,
    /// A directory kept between builds, never in a layer.
    Cache,
    /// An empty tmpfs.
    Tmpfs,
    /// A `--secret` file, never in a layer.
    Secret,
}

/// Cache sharing between concurrent builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheSharing {
    /// Many writers at once.
    Shared,
    /// A new cache directory if another build holds it.
    Private,
    /// One build at a time.
    Locked,
}

/// One `--mount` of a RUN; values are raw (variables not yet expanded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunMount {
    /// `type=` (default bind).
    pub kind: MountType,
    /// Where it appears in the container.
    pub target: String,
    /// `source=`: path in the context, the stage or the cache.
    pub source: Option<String>,
    /// `from=`: stage or image for bind and cache.
    pub from: Option<String>,
    /// `ro`/`rw`; None = the type's default (bind ro, cache rw).
    pub readonly: Option<bool>,
    /// `id=`: cache id or secret id.
    pub id: Option<String>,
    /// `sharing=` for caches.
    pub sharing: CacheSharing,
    /// `mode=` (octal) of a secret file or a new cache directory.
    pub mode: Option<u32>,
    /// `uid=`.
    pub uid: Option<u32>,
    /// `gid=`.
    pub gid: Option<u32>,
    /// `required`: fail when the secret is missing.
    pub required: bool,
    /// `size=` of a tmpfs, in bytes.
    pub size: Option<u64>,
}

impl RunMount {
    /// Parses one `--mount` value.
    pub fn parse(spec: &str) -> Result<RunMount, String> {
        let mut m = RunMount {
            kind: MountType::Bind,
            target: String::new(),
            source: None,
            from: None,
            readonly: None,
            id: None,
            sharing: CacheSharing::Shared,
            mode: None,
            uid: None,
            gid: None,
            required: false,
            size: None,
        };
        for field in spec.split(',').filter(|f| !f.is_empty()) {
            let (key, value) = match field.split_once('=') {
                Some((k, v)) => (k.trim().to_ascii_lowercase(), Some(v.trim())),
                None => (field.trim().to_ascii_lowercase(), None),
            };
            let need = || value.ok_or_else(|| format!("{key} needs a value"));
            match key.as_str() {
                "type" => {
                    m.kind = match need()? {
                        "bind" => MountType::Bind,
                        "cache" => MountType::Cache,
                        "tmpfs" => MountType::Tmpfs,
                        "secret" => MountType::Secret,
                        other => return Err(format!("unsupported mount type {other:?}")),
                    }
                }
                "target" | "dst" | "destination" => m.target = need()?.to_string(),
                "source" | "src" => m.source = Some(need()?.to_string()),
                "from" => m.from = Some(need()?.to_string()),
                "id" => m.id = Some(need()?.to_string()),
                "ro" | "readonly" => m.readonly = Some(boolean(&key, value)?),
                "rw" | "readwrite" => m.readonly = Some(!boolean(&key, value)?),
                "required" => m.required = boolean(&key, value)?,
                "sharing" => {
                    m.sharing = match need()? {
                        "shared" => CacheSharing::Shared,
                        "private" => CacheSharing::Private,
                        "locked" => CacheSharing::Locked,
                        other => return Err(format!("unknown sharing {other:?}")),
                    }
                }
                "mode" => {
                    let v = need()?;
                    m.mode = Some(
                        u32::from_str_radix(v, 8)
                            .map_err(|_| format!("mode {v:?} is not octal"))?,
                    )
                }
                "uid" => m.uid = Some(number(&key, need()?)?),
                "gid" => m.gid = Some(number(&key, need()?)?),
                "size" => {
                    let v = need()?;
                    m.size = Some(
                        v.parse()
                            .map_err(|_| format!("size {v:?} is not a number"))?,
                    )
                }
                _ => return Err(format!("unknown mount option {key:?}")),
            }
        }
        if m.kind == MountType::Secret {
            if m.id.is_none() && m.target.is_empty() {
                return Err("a secret mount needs id= or target=".into());
            }
            let id = match &m.id {
                Some(id) => id.clone(),
                None => m.target.rsplit('/').next().unwrap_or_default().to_string(),
            };
            if m.target.is_empty() {
                m.target = format!("/run/secrets/{id}");
            }
            m.id = Some(id);
        }
        if m.target.is_empty() {
            return Err("the mount needs target=".into());
        }
        Ok(m)
    }
}

impl RunMount {
    /// The cache id of a `type=cache` mount: its `id=`, else
    /// [`cache_id_of`] its target.
    pub fn cache_id(&self) -> String {
        self.id.clone().unwrap_or_else(|| cache_id_of(&self.target))
    }
}

/// The cache id of a cache mount without `id=`: its target in the
/// characters cache ids may hold. `berth build` and `berth builder run`
/// both use it, so one target finds one cache.
pub fn cache_id_of(target: &str) -> String {
    let id: String = target
        .trim_matches('/')
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let id = id.trim_start_matches('.').to_string();
    if id.is_empty() {
        "root".into()
    } else {
        id
    }
}

fn boolean(key: &str, value: Option<&str>) -> Result<bool, String> {
    match value {
        None | Some("true") => Ok(true),
        Some("false") => Ok(false),
        Some(v) => Err(format!("{key}={v:?} is not true or false")),
    }
}

fn number(key: &str, value: &str) -> Result<u32, String> {
    value
        .parse()
        .map_err(|_| format!("{key}={value:?} is not a number"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mounts() {
        let m = RunMount::parse("type=cache,target=/root/.cache,sharing=locked,id=pip").unwrap();
        assert_eq!(m.kind, MountType::Cache);
        assert_eq!(m.target, "/root/.cache");
        assert_eq!(m.sharing, CacheSharing::Locked);
        let m = RunMount::parse("type=secret,id=tok").unwrap();
        assert_eq!(m.target, "/run/secrets/tok");
        let m = RunMount::parse("type=secret,target=/etc/tok,required").unwrap();
        assert_eq!((m.id.as_deref(), m.required), (Some("tok"), true));
        let m = RunMount::parse("target=/src,from=build,source=/out,rw").unwrap();
        assert_eq!((m.kind, m.readonly), (MountType::Bind, Some(false)));
        let m = RunMount::parse("type=tmpfs,dst=/t,size=1024").unwrap();
        assert_eq!(m.size, Some(1024));
        let m = RunMount::parse("type=secret,id=a,mode=0400,uid=5").unwrap();
        assert_eq!((m.mode, m.uid), (Some(0o400), Some(5)));
    }

    #[test]
    fn bad_mounts() {
        for spec in [
            "type=ssh,target=/x",
            "type=bind",
            "type=cache,target=/x,sharing=sometimes",
            "type=secret",
            "target=/x,colour=red",
            "type=secret,id=a,mode=9",
            "type=bind,target=/x,ro=maybe",
            "type",
        ] {
            assert!(RunMount::parse(spec).is_err(), "{spec}");
        }
    }
}
