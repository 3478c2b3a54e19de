//! Inventory an unpacked tree and print it as JSON (bench/scan.sh times
//! this against `dpkg-query -W` plus `find`): `scan_tree DIR [--quiet]`.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = args.next().ok_or("usage: scan_tree DIR [--quiet]")?;
    let quiet = args.next().as_deref() == Some("--quiet");
    let scan = berth_scan::scan_tree(std::path::Path::new(&dir))?;
    if quiet {
        let inv = &scan.inventory;
        println!(
            "{} packages, {} warnings",
            inv.packages.len(),
            inv.warnings.len()
        );
    } else {
        println!("{}", serde_json::to_string_pretty(&scan.inventory)?);
    }
    Ok(())
}
