//! `memory_stat`: the counters of a container's memory cgroup that
//! cAdvisor reports and runc's `events --stats` leaves out of what the
//! engine reads (rss, page faults, the inactive file cache that the
//! working set excludes), from `memory.stat` of the cgroup v1 memory
//! hierarchy or of the unified one on v2.

use crate::engine::Engine;
use crate::error::{IoContext, Result};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The memory counters of one container's cgroup, bytes or counts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MemoryStat {
    /// Bytes charged to the cgroup (cache included).
    pub usage: u64,
    /// usage minus inactive file cache: what cAdvisor calls the working set.
    pub working_set: u64,
    /// Anonymous memory (v1 `total_rss`, v2 `anon`).
    pub rss: u64,
    /// Page faults (`pgfault`).
    pub page_faults: u64,
    /// Major page faults (`pgmajfault`).
    pub major_page_faults: u64,
}

impl Engine {
    /// [`MemoryStat`] of container `key`'s cgroup; an error when the
    /// cgroup is not there (the container is not running).
    pub fn memory_stat(&self, key: &str) -> Result<MemoryStat> {
        let c = self.container(key)?;
        let meta = crate::meta::Meta::of(&c)?;
        let rel = meta.cgroups_path.trim_start_matches('/');
        let v1 = Path::new("/sys/fs/cgroup/memory").join(rel);
        let (dir, v2) = if v1.is_dir() {
            (v1, false)
        } else {
            (PathBuf::from("/sys/fs/cgroup").join(rel), true)
        };
        let stat = dir.join("memory.stat");
        let text = std::fs::read_to_string(&stat).ctx("read", &stat)?;
        let usage_file = dir.join(if v2 {
            "memory.current"
        } else {
            "memory.usage_in_bytes"
        });
        let usage = std::fs::read_to_string(&usage_file)
            .ctx("read", &usage_file)?
            .trim()
            .parse()
            .unwrap_or(0);
        Ok(parse(&text, usage, v2))
    }
}

fn parse(text: &str, usage: u64, v2: bool) -> MemoryStat {
    let m: BTreeMap<&str, u64> = text
        .lines()
        .filter_map(|l| l.split_once(' '))
        .filter_map(|(k, v)| Some((k, v.trim().parse().ok()?)))
        .collect();
    let get = |k: &str| m.get(k).copied().unwrap_or(0);
    let (inactive, rss, faults, major) = if v2 {
        (
            get("inactive_file"),
            get("anon"),
            get("pgfault"),
            get("pgmajfault"),
        )
    } else {
        (
            get("total_inactive_file"),
            get("total_rss"),
            get("total_pgfault"),
            get("total_pgmajfault"),
        )
    };
    MemoryStat {
        usage,
        working_set: usage.saturating_sub(inactive),
        rss,
        page_faults: faults,
        major_page_faults: major,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v1_and_v2_files_read_alike() {
        let v1 = "rss 10\ntotal_rss 4096\ntotal_inactive_file 100\ntotal_pgfault 7\ntotal_pgmajfault 1\n";
        let s = parse(v1, 1000, false);
        assert_eq!(
            (s.working_set, s.rss, s.page_faults, s.major_page_faults),
            (900, 4096, 7, 1)
        );
        let v2 = "anon 8192\ninactive_file 2000\npgfault 9\npgmajfault 2\n";
        let s = parse(v2, 1000, true);
        assert_eq!((s.working_set, s.rss, s.page_faults), (0, 8192, 9));
    }
}
