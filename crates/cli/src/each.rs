//! Commands over several names (`rm`, `rmi`, `volume rm`) go on past a
//! failure, as podman's do: each error is printed, and the command fails at
//! the end naming the last one.

/// Apply `f` to every name, printing the line it returns.
pub fn each(
    names: &[String],
    what: &str,
    mut f: impl FnMut(&String) -> anyhow::Result<String>,
) -> anyhow::Result<()> {
    let mut failed = None;
    for name in names {
        match f(name) {
            Ok(line) => println!("{line}"),
            Err(e) => {
                eprintln!("Error: removing {name}: {e:#}");
                failed = Some(name);
            }
        }
    }
    match failed {
        Some(n) => anyhow::bail!("could not remove every {what} (last failure: {n})"),
        None => Ok(()),
    }
}
