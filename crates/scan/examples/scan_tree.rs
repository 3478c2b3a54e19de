//! Inventory an unpacked tree and print it as JSON (bench/scan.sh times
//! this against `dpkg-query -W` plus `find`): `scan_tree DIR [--quiet]`.
//! The tree is taken as frozen (files mapped, as for an image's mount).

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = args.next().ok_or("usage: scan_tree DIR [--quiet]")?;
    let quiet = args.next().as_deref() == Some("--quiet");
    let opts = berth_scan::walk::WalkOptions { frozen: true };
    let scan = berth_scan::scan_tree_with(std::path::Path::new(&dir), opts)?;
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
