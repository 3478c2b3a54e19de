//! Freezer: v1 freezer.state, v2 cgroup.freeze watched through
//! cgroup.events.

use std::fs::File;
use std::os::fd::AsFd;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::time::{Duration, Instant};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

use super::error::{Error, Result};
use super::fsutil;
use super::Cgroup;

/// How long v2 freezing may take before it is reported as stuck.
const V2_TIMEOUT: Duration = Duration::from_secs(5);

/// Freeze (`true`) or thaw the cgroup: the v1 freezer where one is
/// mounted, else the unified hierarchy's cgroup.freeze.
pub(crate) fn set(cg: &Cgroup, frozen: bool) -> Result<()> {
    if let Some(dir) = cg.v1_dir("freezer") {
        return if frozen { v1_freeze(dir) } else { v1_thaw(dir) };
    }
    if let Some(u) = &cg.unified {
        return v2_set(&u.dir, frozen);
    }
    Err(cg.missing("freezer", "freezer"))
}

/// Whether the cgroup is frozen (a v1 cgroup still FREEZING is not).
pub(crate) fn is_frozen(cg: &Cgroup) -> Result<bool> {
    if let Some(dir) = cg.v1_dir("freezer") {
        return Ok(fsutil::read(dir, "freezer.state")?.trim() == "FROZEN");
    }
    if let Some(u) = &cg.unified {
        let events = fsutil::read(&u.dir, "cgroup.events")?;
        return Ok(events.lines().any(|l| l == "frozen 1"));
    }
    Err(cg.missing("freezer", "freezer"))
}

/// runc's v1 loop: write FROZEN and read back until it says FROZEN. Tasks
/// that keep forking can hold the cgroup in FREEZING; an occasional thaw
/// and short sleep lets the freeze go through.
fn v1_freeze(dir: &Path) -> Result<()> {
    let path = dir.join("freezer.state");
    let mut last = String::new();
    for i in 0..1000 {
        if i % 50 == 49 {
            fsutil::write_path(&path, "THAWED")?;
            std::thread::sleep(Duration::from_millis(10));
        }
        fsutil::write_path(&path, "FROZEN")?;
        if i % 25 == 24 {
            std::thread::sleep(Duration::from_micros(10));
        }
        last = fsutil::read_path(&path)?;
        match last.trim() {
            "FROZEN" => return Ok(()),
            "FREEZING" => continue,
            _ => {
                return Err(Error::Parse {
                    path,
                    content: last,
                })
            }
        }
    }
    // Do not leave it half frozen.
    let _ = fsutil::write_path(&path, "THAWED");
    Err(Error::FreezeTimeout {
        path,
        state: "FROZEN",
        last: last.trim().to_owned(),
    })
}

fn v1_thaw(dir: &Path) -> Result<()> {
    let path = dir.join("freezer.state");
    let mut last = String::new();
    for i in 0..1000 {
        fsutil::write_path(&path, "THAWED")?;
        last = fsutil::read_path(&path)?;
        if last.trim() == "THAWED" {
            return Ok(());
        }
        if i % 25 == 24 {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    Err(Error::FreezeTimeout {
        path,
        state: "THAWED",
        last: last.trim().to_owned(),
    })
}

/// Write cgroup.freeze and wait for cgroup.events to report the state;
/// the kernel notifies cgroup.events changes with POLLPRI.
fn v2_set(dir: &Path, frozen: bool) -> Result<()> {
    fsutil::write(dir, "cgroup.freeze", if frozen { "1" } else { "0" })?;
    let path = dir.join("cgroup.events");
    let want = if frozen { "frozen 1" } else { "frozen 0" };
    let read_err = |source| Error::Read {
        path: path.clone(),
        source,
    };
    let file = File::open(&path).map_err(read_err)?;
    let deadline = Instant::now() + V2_TIMEOUT;
    let mut buf = [0u8; 256];
    loop {
        let n = file.read_at(&mut buf, 0).map_err(read_err)?;
        let text = String::from_utf8_lossy(&buf[..n]);
        if text.lines().any(|l| l == want) {
            return Ok(());
        }
        let now = Instant::now();
        if now >= deadline {
            return Err(Error::FreezeTimeout {
                path,
                state: if frozen { "frozen" } else { "thawed" },
                last: text.into_owned(),
            });
        }
        let left = (deadline - now).as_millis().min(100) as u16;
        let mut fds = [PollFd::new(file.as_fd(), PollFlags::POLLPRI)];
        // A notification or the 100 ms tick: read again either way.
        let _ = poll(&mut fds, PollTimeout::from(left));
    }
}
