//! Make fixtures from the command line, for the README demo and benchmarks:
//! `berth-testkit bundle DIR [ARGS…]` and `berth-testkit oci-layout DIR [TAG]`.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("bundle") if args.len() >= 2 => make_bundle(&args[1], &args[2..]),
        Some("oci-layout") if args.len() >= 2 => {
            let tag = args.get(2).map(String::as_str).unwrap_or("latest");
            berth_testkit::write_oci_layout(&PathBuf::from(&args[1]), tag).map(|l| {
                println!("{}", l.manifest_digest);
            })
        }
        _ => {
            eprintln!("usage: berth-testkit bundle DIR [ARGS...] | oci-layout DIR [TAG]");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("berth-testkit: {e}");
            ExitCode::FAILURE
        }
    }
}

/// A bundle at DIR (which must not exist yet) whose cgroup lives under the
/// test parent, running ARGS (default `sh`).
fn make_bundle(dir: &str, args: &[String]) -> std::io::Result<()> {
    let dir = PathBuf::from(dir);
    std::fs::create_dir_all(&dir)?;
    berth_testkit::populate_busybox_rootfs(&dir.join("rootfs"))?;
    let argv: Vec<&str> = if args.is_empty() {
        vec!["sh"]
    } else {
        args.iter().map(String::as_str).collect()
    };
    let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or("bundle");
    let config = berth_testkit::default_config(&argv, &berth_testkit::test_cgroup_path(name));
    std::fs::write(
        dir.join("config.json"),
        serde_json::to_vec_pretty(&config).map_err(std::io::Error::other)?,
    )
}
