//! Finding the command to run in an image's `$PATH`, before anything
//! starts, so a typo is a clear error. Paths are resolved in-root
//! ([`RootfsReader`]): an entrypoint symlinked to a host binary is not found.

use crate::error::{Error, Result};
use crate::rootfs_reader::RootfsReader;
use std::os::unix::fs::PermissionsExt;

/// Where a shell looks when the environment has no PATH.
const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// What is at a command's path, symlinks followed in the root.
enum Found {
    Executable,
    /// There, but exec would fail with EACCES: why.
    NotExecutable(&'static str),
    /// Nothing (a loop or a dangling link counts as nothing).
    Missing,
}

fn probe(root: &RootfsReader, path: &str) -> Found {
    match root.metadata(path) {
        Ok(m) if m.is_dir() => Found::NotExecutable("is a directory"),
        Ok(m) if m.is_file() && m.permissions().mode() & 0o111 != 0 => Found::Executable,
        Ok(_) => Found::NotExecutable("permission denied"),
        Err(_) => Found::Missing,
    }
}

/// Check that `cmd` can be executed in the root with this environment's
/// PATH. A relative path with a `/` is left to the runtime (it depends on
/// the working directory). A `$PATH` search skips what it can't run, as a
/// shell's does; a path named outright that can't run is
/// [`Error::NotExecutable`].
pub(crate) fn check_command(root: &RootfsReader, cmd: &str, env: &[String]) -> Result<()> {
    let found = if cmd.starts_with('/') {
        probe(root, cmd)
    } else if cmd.contains('/') {
        Found::Executable
    } else {
        let path = env
            .iter()
            .rev()
            .find_map(|e| e.strip_prefix("PATH="))
            .unwrap_or(DEFAULT_PATH);
        let any = path
            .split(':')
            .filter(|d| d.starts_with('/'))
            .any(|dir| matches!(probe(root, &format!("{dir}/{cmd}")), Found::Executable));
        if any {
            Found::Executable
        } else {
            Found::Missing
        }
    };
    match found {
        Found::Executable => Ok(()),
        Found::NotExecutable(why) => Err(Error::NotExecutable {
            command: cmd.into(),
            why,
        }),
        Found::Missing => Err(Error::CommandNotFound(cmd.into())),
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
        assert!(matches!(
            check_command(&r, "nope", &env),
            Err(Error::CommandNotFound(_))
        ));
        for (path, why) in [
            ("/etc/passwd", "permission denied"),
            ("/bin", "is a directory"),
        ] {
            match check_command(&r, path, &env) {
                Err(Error::NotExecutable { why: w, .. }) => assert_eq!(w, why, "{path}"),
                other => panic!("{path}: {other:?}"),
            }
        }
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
