//! Finding the command to run in an image's `$PATH`, before anything
//! starts, so a typo is a clear error. Paths are resolved in-root
//! ([`RootfsReader`]): an entrypoint symlinked to a host binary is not found.

use crate::error::{Error, Result};
use crate::rootfs_reader::RootfsReader;
use std::os::unix::fs::PermissionsExt;

/// Where a shell looks when the environment has no PATH.
const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Whether `path` ends, symlinks followed in the root, at an executable
/// regular file. A loop or a dangling link is "no".
fn executable(root: &RootfsReader, path: &str) -> bool {
    root.metadata(path)
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Check that `cmd` can be executed in the root with this environment's
/// PATH. A relative path with a `/` is left to the runtime (it depends on
/// the working directory).
pub(crate) fn check_command(root: &RootfsReader, cmd: &str, env: &[String]) -> Result<()> {
    let found = if cmd.starts_with('/') {
        executable(root, cmd)
    } else if cmd.contains('/') {
        true
    } else {
        let path = env
            .iter()
            .rev()
            .find_map(|e| e.strip_prefix("PATH="))
            .unwrap_or(DEFAULT_PATH);
        path.split(':')
            .filter(|d| d.starts_with('/'))
            .any(|dir| executable(root, &format!("{dir}/{cmd}")))
    };
    match found {
        true => Ok(()),
        false => Err(Error::CommandNotFound(cmd.into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn image() -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        let bin = d.path().join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        std::fs::create_dir_all(d.path().join("etc")).unwrap();
        std::fs::write(d.path().join("etc/passwd"), "").unwrap();
        std::fs::write(bin.join("busybox"), "x").unwrap();
        std::fs::set_permissions(bin.join("busybox"), std::fs::Permissions::from_mode(0o755))
            .unwrap();
        symlink("/bin/busybox", bin.join("sh")).unwrap();
        symlink("busybox", bin.join("ls")).unwrap();
        symlink("../../../../bin/busybox", bin.join("up")).unwrap();
        d
    }

    #[test]
    fn commands() {
        let d = image();
        let r = RootfsReader::open(d.path()).unwrap();
        let env = vec!["PATH=/bin".to_string()];
        for ok in [
            "sh",
            "ls",
            "up",
            "/bin/sh",
            "/bin/../bin/ls",
            "./relative/x",
        ] {
            check_command(&r, ok, &env).unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
        assert!(check_command(&r, "nope", &env).is_err());
        assert!(check_command(&r, "/etc/passwd", &env).is_err());
        assert!(check_command(&r, "/bin", &env).is_err());
    }

    #[test]
    fn links_to_host_binaries_are_not_found() {
        // A host binary the image lacks, reached by an absolute link, a `..`
        // chain and a loop: none of them is found.
        let d = image();
        let host = tempfile::tempdir().unwrap();
        let tool = host.path().join("host-tool");
        std::fs::write(&tool, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).unwrap();
        let bin = d.path().join("bin");
        symlink(&tool, bin.join("abs")).unwrap();
        symlink(
            format!("../../../../../..{}", tool.display()),
            bin.join("dots"),
        )
        .unwrap();
        symlink("loop", bin.join("loop")).unwrap();
        let r = RootfsReader::open(d.path()).unwrap();
        let env = vec!["PATH=/bin".to_string()];
        for bad in ["abs", "dots", "loop", "/bin/abs", "/bin/dots"] {
            assert!(
                matches!(check_command(&r, bad, &env), Err(Error::CommandNotFound(_))),
                "{bad} found"
            );
        }
        let outside = tool.display().to_string();
        assert!(check_command(&r, &outside, &env).is_err());
    }
}
