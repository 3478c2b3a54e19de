//! `berth-runtime-docs`: berth-runtime's shell completion scripts and man
//! pages, generated from the clap definitions of its command line
//! (`src/cli/`, compiled in here as they are into the runtime):
//!
//!   cargo run -p berth-runtime --example berth-runtime-docs -- completion bash
//!   cargo run -p berth-runtime --example berth-runtime-docs -- manpages DIR
//!
//! scripts/package-deb runs it to put them in the Debian package. It is not
//! a verb of berth-runtime itself: runc has none, the engines that drive a
//! runtime never call one, and linking clap_complete and clap_mangen into
//! the runtime cost every container start 180 KiB of peak RSS (measured:
//! 3076 -> 3256 KiB for `run` of a `true` container, even with the verb
//! recognised before the command line was parsed). So it stays out.

// runc's command line, exactly as berth-runtime's main.rs has it; only its
// clap definitions are used here.
#[allow(dead_code)]
#[path = "../src/cli/mod.rs"]
mod cli;

use anyhow::Context as _;
use clap::{CommandFactory as _, Parser, Subcommand};
use clap_complete::Shell;
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// runc's pages are in section 8 (runc-run(8)...); berth-runtime's follow.
const SECTION: &str = "8";

/// Generate berth-runtime's completion scripts and man pages.
#[derive(Parser)]
#[command(name = "berth-runtime-docs")]
struct Args {
    #[command(subcommand)]
    what: What,
}

#[derive(Subcommand)]
enum What {
    /// Print the completion script of berth-runtime for a shell.
    Completion {
        /// The shell to complete for.
        #[arg(value_enum)]
        shell: Shell,
        /// Write the script to this file instead of standard output.
        #[arg(short, long)]
        file: Option<PathBuf>,
    },
    /// Write berth-runtime.8 and berth-runtime-VERB.8 into a directory
    /// (made when missing).
    Manpages { dir: PathBuf },
}

fn main() {
    if let Err(e) = run(Args::parse()) {
        eprintln!("berth-runtime-docs: {e:#}");
        std::process::exit(1);
    }
}

fn run(args: Args) -> anyhow::Result<()> {
    match args.what {
        What::Completion { shell, file } => {
            let script = completion(shell);
            match file {
                Some(path) => std::fs::write(&path, script)
                    .with_context(|| format!("writing {}", path.display())),
                None => std::io::stdout()
                    .lock()
                    .write_all(&script)
                    .context("writing to standard output"),
            }
        }
        What::Manpages { dir } => write_manpages(&dir).map(|_| ()),
    }
}

/// The completion script of berth-runtime for `shell`.
fn completion(shell: Shell) -> Vec<u8> {
    let mut script = Vec::new();
    clap_complete::generate(
        shell,
        &mut cli::Cli::command(),
        "berth-runtime",
        &mut script,
    );
    script
}

/// Write the pages of berth-runtime and its visible verbs, at every depth,
/// into `dir`: `berth-runtime.8`, `berth-runtime-run.8`... Returns the
/// files written, the top page first.
fn write_manpages(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    // `help` is clap's, not one of runc's verbs; `--help` stays.
    let mut cmd = cli::Cli::command().disable_help_subcommand(true);
    cmd.build();
    let source = format!("berth-runtime {}", env!("CARGO_PKG_VERSION"));
    let date = page_date();
    let mut written = Vec::new();
    write_pages(&cmd, dir, &source, &date, &mut written)?;
    Ok(written)
}

fn write_pages(
    cmd: &clap::Command,
    dir: &Path,
    source: &str,
    date: &str,
    written: &mut Vec<PathBuf>,
) -> anyhow::Result<()> {
    let page = clap_mangen::Man::new(cmd.clone())
        .section(SECTION)
        .source(source)
        .date(date)
        .manual("berth manual");
    let path = dir.join(page.get_filename());
    let mut text = Vec::new();
    page.render(&mut text)
        .with_context(|| format!("rendering {}", path.display()))?;
    std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    written.push(path);
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        write_pages(sub, dir, source, date, written)?;
    }
    Ok(())
}

/// The pages' date (YYYY-MM-DD): the day of `$SOURCE_DATE_EPOCH` when it
/// is set (reproducible builds; scripts/package-deb sets the last commit's),
/// else today's.
fn page_date() -> String {
    let when = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .map(|secs| std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs))
        .unwrap_or_else(std::time::SystemTime::now);
    let stamp = humantime::format_rfc3339_seconds(when).to_string();
    stamp.split('T').next().unwrap_or_default().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    /// runc's verbs as berth-runtime defines them.
    fn verbs() -> Vec<String> {
        cli::Cli::command()
            .get_subcommands()
            .filter(|s| !s.is_hide_set())
            .map(|s| s.get_name().to_string())
            .collect()
    }

    #[test]
    fn one_page_per_verb_in_section_8() {
        let dir = tempfile::tempdir().unwrap();
        let written = write_manpages(dir.path()).unwrap();
        let mut want = vec!["berth-runtime.8".to_string()];
        want.extend(verbs().iter().map(|v| format!("berth-runtime-{v}.8")));
        let got: Vec<String> = written
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(got, want);
        for p in ["berth-runtime-run.8", "berth-runtime-checkpoint.8"] {
            assert!(got.contains(&p.to_string()), "{p} missing");
        }
        assert!(!got.contains(&"berth-runtime-help.8".to_string()));
        // Every file on disk is one written, and none is empty.
        let on_disk = std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(on_disk, got.len());
        let top = std::fs::read_to_string(dir.path().join("berth-runtime.8")).unwrap();
        assert!(top.starts_with(".ie"), "{top:.200}");
        assert!(top.contains(".TH berth-runtime 8"), "{top:.400}");
        assert!(top.contains("berth\\-runtime\\-run(8)"), "{top}");
    }

    #[test]
    fn completions_name_every_verb() {
        let verbs = verbs();
        for runc in [
            "create", "start", "run", "state", "kill", "delete", "exec", "list",
        ] {
            assert!(verbs.iter().any(|v| v == runc), "{runc} not in {verbs:?}");
        }
        for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
            let script = String::from_utf8(completion(shell)).unwrap();
            for v in &verbs {
                assert!(script.contains(v.as_str()), "{shell}: no {v}");
            }
            assert!(
                !script.contains("completion"),
                "{shell}: names a completion verb"
            );
        }
        // The bash script parses.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("berth-runtime.bash");
        std::fs::write(&path, completion(Shell::Bash)).unwrap();
        let st = Command::new("bash").arg("-n").arg(&path).status().unwrap();
        assert!(st.success());
    }
}
