//! The pod's `hosts`, `hostname` and `resolv.conf`, in its directory;
//! every container of the pod binds these same files in.

use super::options::PodOptions;
use crate::error::{IoContext, Result};
use crate::life_options::LifeOptions;
use std::path::Path;

/// Write the files into `dir` for a pod with `hostname` and, on the
/// bridge, address `ip`.
pub(crate) fn write(dir: &Path, opts: &PodOptions, hostname: &str, ip: Option<&str>) -> Result<()> {
    let hosts = if opts.host_network {
        std::fs::read_to_string("/etc/hosts").unwrap_or_default()
    } else {
        let mut h =
            String::from("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n");
        h.push_str(&format!("{}\t{hostname}\n", ip.unwrap_or("127.0.1.1")));
        h
    };
    // LifeOptions' --dns rules: each kind given replaces the host's lines.
    let dns = opts.dns.clone().unwrap_or_default();
    let life = LifeOptions {
        dns: dns.servers,
        dns_search: dns.searches,
        dns_options: dns.options,
        ..Default::default()
    };
    let host = crate::etc_files::host_resolv_conf(!opts.host_network);
    let files = [
        ("hosts", hosts),
        ("hostname", format!("{hostname}\n")),
        ("resolv.conf", life.resolv_conf(&host)),
    ];
    for (file, text) in files {
        let p = dir.join(file);
        std::fs::write(&p, text).ctx("write", &p)?;
    }
    Ok(())
}
