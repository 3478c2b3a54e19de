//! Commands over several names (`rm`, `rmi`, `volume rm`) go on past a
//! failure, as podman's do: each error is printed as it happens, and the
//! command exits with the last one's code (1 missing, 2 in use).

use crate::exit_code::{self, Reported};

/// Apply `f` to every name, printing the line it returns. With
/// `ignore_missing` (`-f`, `--ignore`) a name that is not there is
/// skipped without a word.
pub fn each(
    names: &[String],
    ignore_missing: bool,
    mut f: impl FnMut(&String) -> anyhow::Result<String>,
) -> anyhow::Result<()> {
    let mut failed = None;
    for name in names {
        match f(name) {
            Ok(line) => println!("{line}"),
            Err(e) if ignore_missing && exit_code::is_missing(&e) => {}
            Err(e) => {
                eprintln!("Error: {e:#}");
                failed = Some(exit_code::of_removal(&e));
            }
        }
    }
    match failed {
        Some(code) => Err(Reported(code).into()),
        None => Ok(()),
    }
}
