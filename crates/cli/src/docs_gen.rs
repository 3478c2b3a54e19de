//! Documentation generated from the clap definitions, so it never drifts
//! from the command line: shell completion scripts (`berth completion
//! SHELL`, as podman has) and man pages for berth and every subcommand at
//! every depth (`berth generate-manpages DIR`, hidden: packaging runs it).
//! Neither reads a config file or opens the store.

use anyhow::Context as _;
use clap::{Args, Command, CommandFactory as _};
use clap_complete::Shell;
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// The man pages' section: berth is a user command.
const SECTION: &str = "1";

#[derive(Args)]
#[command(after_long_help = "\
Install the script where the shell looks for completions, e.g.:
  berth completion bash > /usr/share/bash-completion/completions/berth
  berth completion zsh > /usr/share/zsh/vendor-completions/_berth
  berth completion fish > /usr/share/fish/vendor_completions.d/berth.fish
or for one session:  source <(berth completion bash)
The Debian package installs all three.")]
pub struct CompletionArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: Shell,
    /// Write the script to this file instead of standard output.
    #[arg(short, long)]
    pub file: Option<PathBuf>,
}

#[derive(Args)]
pub struct ManpagesArgs {
    /// Directory to write berth.1 and berth-SUBCOMMAND.1 pages into (made
    /// when missing).
    pub dir: PathBuf,
}

/// `berth completion SHELL [--file FILE]`.
pub fn completion(a: &CompletionArgs) -> anyhow::Result<()> {
    let mut cmd = without_hidden(&crate::Cli::command());
    let mut script = Vec::new();
    clap_complete::generate(a.shell, &mut cmd, "berth", &mut script);
    match &a.file {
        Some(path) => {
            std::fs::write(path, &script).with_context(|| format!("writing {}", path.display()))
        }
        None => std::io::stdout()
            .lock()
            .write_all(&script)
            .context("writing to standard output"),
    }
}

/// `berth generate-manpages DIR`: one page per visible command; prints
/// nothing, the pages are the output.
pub fn manpages(a: &ManpagesArgs) -> anyhow::Result<()> {
    write_manpages(crate::Cli::command(), &a.dir)?;
    Ok(())
}

/// Write the pages of `cmd` and its visible subcommands, at every depth,
/// into `dir`: `berth.1`, `berth-run.1`, `berth-volume-create.1`...
/// Returns the files written, the root's first.
pub fn write_manpages(cmd: Command, dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    // `berth help` is clap's, not a command of its own; `--help` stays.
    let mut cmd = cmd.disable_help_subcommand(true);
    cmd.build();
    let source = format!("berth {}", env!("CARGO_PKG_VERSION"));
    let date = page_date();
    let mut written = Vec::new();
    write_pages(&cmd, dir, &source, &date, &mut written)?;
    Ok(written)
}

fn write_pages(
    cmd: &Command,
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

/// A copy of berth's command without its hidden subcommands. clap_complete
/// offers hidden subcommands too (`berth monitor`, which berth starts
/// itself, and `generate-manpages`); a user should not meet them on a Tab.
/// The top level is rebuilt from what completion needs (help texts,
/// version, arguments and their groups); its visible subcommands are
/// kept whole. Only the top level has hidden subcommands (a test checks).
pub fn without_hidden(cmd: &Command) -> Command {
    let mut out = Command::new("berth")
        .version(env!("CARGO_PKG_VERSION"))
        .args(cmd.get_arguments().cloned())
        .groups(cmd.get_groups().cloned())
        .subcommand_required(cmd.is_subcommand_required_set())
        .subcommands(cmd.get_subcommands().filter(|s| !s.is_hide_set()).cloned());
    if let Some(about) = cmd.get_about() {
        out = out.about(about.clone());
    }
    if let Some(about) = cmd.get_long_about() {
        out = out.long_about(about.clone());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Visible command paths at every depth: `berth`, `berth volume`,
    /// `berth volume create`...
    fn visible_paths(cmd: &Command, prefix: &str, out: &mut Vec<String>) {
        let me = if prefix.is_empty() {
            cmd.get_name().to_string()
        } else {
            format!("{prefix}-{}", cmd.get_name())
        };
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
            visible_paths(sub, &me, out);
        }
        out.push(me);
    }

    #[test]
    fn one_page_per_visible_command_at_every_depth() {
        let dir = tempfile::tempdir().unwrap();
        let written = write_manpages(crate::Cli::command(), dir.path()).unwrap();
        let mut want = Vec::new();
        let mut cmd = crate::Cli::command().disable_help_subcommand(true);
        cmd.build();
        visible_paths(&cmd, "", &mut want);
        let mut want: Vec<String> = want.into_iter().map(|p| format!("{p}.1")).collect();
        let mut got: Vec<String> = written
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        want.sort();
        got.sort();
        assert_eq!(got, want);
        // Nested ones are there, hidden ones are not.
        for page in [
            "berth.1",
            "berth-run.1",
            "berth-volume-create.1",
            "berth-system-df.1",
        ] {
            assert!(got.iter().any(|g| g == page), "{page} missing from {got:?}");
        }
        for page in [
            "berth-monitor.1",
            "berth-generate-manpages.1",
            "berth-help.1",
        ] {
            assert!(!got.iter().any(|g| g == page), "{page} written");
        }
    }

    #[test]
    fn completion_copy_drops_hidden_subcommands_only() {
        let full = crate::Cli::command();
        let copy = without_hidden(&full);
        let names = |c: &Command| -> Vec<String> {
            c.get_subcommands()
                .map(|s| s.get_name().to_string())
                .collect()
        };
        let visible: Vec<String> = full
            .get_subcommands()
            .filter(|s| !s.is_hide_set())
            .map(|s| s.get_name().to_string())
            .collect();
        assert_eq!(names(&copy), visible);
        assert!(!names(&copy).iter().any(|n| n == "monitor"));
        fn no_hidden_below(c: &Command) {
            for s in c.get_subcommands() {
                assert!(
                    !s.is_hide_set(),
                    "{} is hidden below the top level: without_hidden() keeps it",
                    s.get_name()
                );
                no_hidden_below(s);
            }
        }
        copy.get_subcommands().for_each(no_hidden_below);
        let volume = copy.find_subcommand("volume").unwrap();
        assert!(volume.find_subcommand("create").is_some());
        // The arguments are all there (builds without clap's debug asserts
        // firing on dangling group or conflict ids).
        let mut built = copy.clone();
        built.build();
        let run = built.find_subcommand("run").unwrap();
        assert!(run.get_arguments().any(|a| a.get_long() == Some("network")));
        assert!(run.get_arguments().any(|a| a.get_long() == Some("root")));
    }
}
