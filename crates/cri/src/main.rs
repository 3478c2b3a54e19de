//! `berthd`: see the crate's documentation (lib.rs) and docs/berthd.md.

fn main() {
    if let Err(e) = berth_cri::cli::run() {
        eprintln!("berthd: {e:#}");
        std::process::exit(1);
    }
}
