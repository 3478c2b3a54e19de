//! `--mount type=bind|volume|tmpfs,...` and `--volumes-from CTR[:ro|rw]`
//! of `run`/`create`, with podman 4.3's keys and errors. Both become the
//! engine's own mounts: a bind or volume is a [`Volume`] (no source: an
//! anonymous volume), a tmpfs is a `--tmpfs PATH:OPTIONS` entry.

use berth_engine::volume_options::{MountOptions, PROPAGATIONS};
use berth_engine::{CreateOptions, Engine, Volume};
use clap::Args;

/// The mount flags of `create` and `run`.
#[derive(Args, Default)]
pub struct MountFlags {
    /// Attach a filesystem mount: type=bind|volume|tmpfs,[src=…,]target=…[,ro][,tmpfs-size=…][,tmpfs-mode=…].
    #[arg(long)]
    pub mount: Vec<String>,
    /// Mount the volumes of another container: CTR[:ro|rw].
    #[arg(long)]
    pub volumes_from: Vec<String>,
}

const FORMAT: &str = "incorrect mount format: should be --mount type=<bind|tmpfs|volume>,[src=<host-dir|volume-name>,]target=<ctr-dir>[,options]";

/// `true`/`false` of a boolean key such as `volume-nocopy` or `U` (bare:
/// true).
fn flag_named(key: &str, value: Option<&str>) -> anyhow::Result<bool> {
    match value.map(str::to_ascii_lowercase).as_deref() {
        None | Some("true") => Ok(true),
        Some("false") => Ok(false),
        Some(v) => anyhow::bail!("invalid value {v:?} for {key}: must be true or false"),
    }
}

/// One `--mount` as the engine takes it.
#[derive(Debug, PartialEq)]
enum Parsed {
    Volume(Volume),
    Tmpfs(String),
}

/// `true`/`false` of a `ro=`/`readonly=`/`rw=` key (bare: true).
fn flag(value: Option<&str>) -> anyhow::Result<bool> {
    match value.map(str::to_ascii_lowercase).as_deref() {
        None | Some("true") => Ok(true),
        Some("false") => Ok(false),
        Some(_) => anyhow::bail!(
            "'readonly', 'ro', or 'rw' must be set to true or false, instead received {:?}: must provide an argument for option",
            value.unwrap_or_default()
        ),
    }
}

fn parse_mount(s: &str) -> anyhow::Result<Parsed> {
    let mut kind = None;
    let (mut src, mut dst) = (None, None);
    let mut readonly = false;
    let mut tmpfs_opts = Vec::new();
    let mut options = MountOptions::default();
    for field in s.split(',').filter(|f| !f.is_empty()) {
        let (key, value) = match field.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (field, None),
        };
        match key {
            "type" => kind = value,
            "src" | "source" => src = value.filter(|v| !v.is_empty()),
            "target" | "dst" | "destination" => dst = value,
            "ro" | "readonly" => readonly = flag(value)?,
            "rw" => readonly = !flag(value)?,
            // SELinux relabelling: nothing to do on a host without it.
            "z" | "Z" | "relabel" => {}
            "bind-propagation" => match value {
                Some(p) if PROPAGATIONS.contains(&p) => {
                    options.propagation = Some(p.to_string());
                    options.given.push(p.to_string());
                }
                _ => anyhow::bail!("invalid value {:?}: {key}", value.unwrap_or_default()),
            },
            "volume-nocopy" | "nocopy" => {
                options.nocopy = flag_named(key, value)?;
                if options.nocopy {
                    options.given.push("nocopy".into());
                }
            }
            "U" | "chown" => options.chown = flag_named(key, value)?,
            "idmap" => options.idmap = value.is_none_or(|v| v == "true"),
            "tmpfs-size" => tmpfs_opts.push(format!("size={}", value.unwrap_or_default())),
            "tmpfs-mode" => tmpfs_opts.push(format!("mode={}", value.unwrap_or_default())),
            // podman 4.3 takes `=false` as true too; berth reads the value.
            "bind-nonrecursive" => {
                options.nonrecursive = flag_named(key, value)?;
                if options.nonrecursive {
                    options.given.push("bind".into());
                }
            }
            _ => anyhow::bail!("{key}: invalid mount option"),
        }
    }
    let kind = kind.ok_or_else(|| anyhow::anyhow!(FORMAT))?;
    if !matches!(kind, "bind" | "volume" | "tmpfs") {
        anyhow::bail!("invalid filesystem type {kind:?}");
    }
    let dst = dst.ok_or_else(|| anyhow::anyhow!("must set volume destination"))?;
    if !dst.starts_with('/') {
        anyhow::bail!("invalid container path {dst:?}, must be an absolute path");
    }
    if kind != "bind" && options.propagation.is_some() {
        anyhow::bail!("bind-propagation: invalid mount option for {kind} mounts");
    }
    if kind != "bind" && options.nonrecursive {
        anyhow::bail!("bind-nonrecursive: invalid mount option");
    }
    if kind == "tmpfs" && options != MountOptions::default() {
        anyhow::bail!("{s}: U, idmap and volume-nocopy are not tmpfs options");
    }
    let volume = |source: String| -> anyhow::Result<Parsed> {
        options.check(&source).map_err(anyhow::Error::msg)?;
        Ok(Parsed::Volume(Volume {
            anonymous: source.is_empty(),
            source,
            destination: dst.to_string(),
            readonly,
            options: options.clone(),
        }))
    };
    match kind {
        "tmpfs" => {
            if src.is_some() {
                anyhow::bail!("source is not supported with tmpfs mounts");
            }
            if readonly {
                tmpfs_opts.push("ro".into());
            }
            Ok(Parsed::Tmpfs(if tmpfs_opts.is_empty() {
                dst.to_string()
            } else {
                format!("{dst}:{}", tmpfs_opts.join(","))
            }))
        }
        "bind" => {
            let src =
                src.ok_or_else(|| anyhow::anyhow!("bind mounts need a source (src=HOST-PATH)"))?;
            let path = std::path::absolute(src)?;
            volume(path.to_string_lossy().into_owned())
        }
        _ => match src {
            Some(name) if name.starts_with('/') => {
                anyhow::bail!("volume source {name:?} must be a volume name, not a path")
            }
            Some(name) => volume(name.to_string()),
            None => volume(String::new()),
        },
    }
}

impl MountFlags {
    /// Add the mounts to `opts`: `--volumes-from` first, then `--mount`.
    pub fn apply(&self, engine: &Engine, opts: &mut CreateOptions) -> anyhow::Result<()> {
        let mut volumes = Vec::new();
        for spec in &self.volumes_from {
            let (name, mode) = match spec.rsplit_once(':') {
                Some((n, m)) if matches!(m, "ro" | "rw" | "z" | "Z") => (n, Some(m)),
                Some((_, m)) => {
                    anyhow::bail!("invalid options {m:?}, can only specify 'ro', 'rw', and 'z'")
                }
                None => (spec.as_str(), None),
            };
            let info = engine.inspect(name)?;
            // Its anonymous volumes stay its own: removing this container
            // does not remove them.
            volumes.extend(info.meta.options.volumes.into_iter().map(|v| Volume {
                readonly: match mode {
                    Some("ro") => true,
                    Some("rw") => false,
                    _ => v.readonly,
                },
                anonymous: false,
                ..v
            }));
        }
        volumes.append(&mut opts.volumes);
        for m in &self.mount {
            match parse_mount(m)? {
                Parsed::Volume(v) => volumes.push(v),
                Parsed::Tmpfs(t) => opts.tmpfs.push(t),
            }
        }
        opts.volumes = volumes;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mounts_as_podman_reads_them() {
        let v = |src: &str, dst: &str, ro: bool| {
            Parsed::Volume(Volume {
                source: src.into(),
                destination: dst.into(),
                readonly: ro,
                anonymous: src.is_empty(),
                ..Default::default()
            })
        };
        assert_eq!(
            parse_mount("type=bind,src=/a,target=/b,ro").unwrap(),
            v("/a", "/b", true)
        );
        assert_eq!(
            parse_mount("type=volume,source=data,dst=/d,readonly=false").unwrap(),
            v("data", "/d", false)
        );
        assert_eq!(
            parse_mount("type=volume,dst=/d").unwrap(),
            v("", "/d", false)
        );
        assert_eq!(
            parse_mount("type=tmpfs,destination=/t,tmpfs-size=1m,tmpfs-mode=700").unwrap(),
            Parsed::Tmpfs("/t:size=1m,mode=700".into())
        );
        let Parsed::Volume(v) =
            parse_mount("type=bind,src=/a,dst=/b,bind-propagation=rslave,U,idmap").unwrap()
        else {
            panic!("not a volume")
        };
        assert_eq!(v.options.propagation.as_deref(), Some("rslave"));
        assert!(v.options.chown && v.options.idmap);
        let Parsed::Volume(v) = parse_mount("type=volume,src=v,dst=/b,volume-nocopy").unwrap()
        else {
            panic!("not a volume")
        };
        assert!(v.options.nocopy);
        for (spec, nonrecursive) in [
            ("type=bind,src=/a,dst=/b,bind-nonrecursive", true),
            ("bind-nonrecursive=true,type=bind,src=/a,dst=/b", true),
            ("type=bind,src=/a,dst=/b,bind-nonrecursive=false", false),
        ] {
            let Parsed::Volume(v) = parse_mount(spec).unwrap() else {
                panic!("not a volume")
            };
            assert_eq!(v.options.nonrecursive, nonrecursive, "{spec}");
        }
        let errors = [
            (
                "type=volume,dst=/x,bind-nonrecursive",
                "bind-nonrecursive: invalid mount option",
            ),
            ("src=/a,dst=/b", FORMAT),
            ("type=foo,dst=/x", "invalid filesystem type \"foo\""),
            ("type=bind,src=/a", "must set volume destination"),
            ("type=bind,src=/a,dst=x", "invalid container path \"x\", must be an absolute path"),
            ("type=bind,src=/a,dst=/x,bogus", "bogus: invalid mount option"),
            ("type=tmpfs,src=/a,dst=/x", "source is not supported with tmpfs mounts"),
            (
                "type=bind,src=/a,dst=/x,bind-propagation=bogus",
                "invalid value \"bogus\": bind-propagation",
            ),
            (
                "type=bind,src=/a,dst=/x,ro=maybe",
                "'readonly', 'ro', or 'rw' must be set to true or false, instead received \"maybe\": must provide an argument for option",
            ),
        ];
        for (s, msg) in errors {
            assert_eq!(parse_mount(s).unwrap_err().to_string(), msg, "{s}");
        }
    }
}
