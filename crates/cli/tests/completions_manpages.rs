//! `berth completion SHELL` and `berth generate-manpages DIR` as a user and
//! the packaging script run them: the scripts complete real subcommands
//! (bash is driven for real), and there is one man page per command of the
//! tree that `berth --help` shows, at every depth.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Output};

const BERTH: &str = env!("CARGO_BIN_EXE_berth");

fn berth(args: &[&str]) -> Output {
    let out = Command::new(BERTH)
        // A file named by a variable must exist: the generated docs must
        // not read it at all.
        .env("BERTH_STORAGE_CONF", "/nonexistent/berth-storage.conf")
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "berth {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool} >/dev/null")])
        .status()
        .is_ok_and(|s| s.success())
}

/// The subcommands `berth PATH --help` lists under "Commands:" (clap's
/// `help` left out).
fn listed_subcommands(path: &[String]) -> Vec<String> {
    let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
    args.push("--help");
    let help = String::from_utf8(berth(&args).stdout).unwrap();
    help.lines()
        .skip_while(|l| l.trim_end() != "Commands:")
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_string)
        .collect()
}

/// Every command path of the visible tree, by walking `--help`.
fn help_tree(path: Vec<String>, out: &mut Vec<Vec<String>>) {
    for sub in listed_subcommands(&path) {
        let mut p = path.clone();
        p.push(sub);
        help_tree(p, out);
    }
    out.push(path);
}

/// Run the bash completion function as bash would for the words typed so
/// far (the last is the one being completed); returns COMPREPLY.
fn bash_complete(script: &Path, words: &[&str]) -> Vec<String> {
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let prog = format!(
        "source '{}'\nCOMP_WORDS=({})\nCOMP_CWORD={}\nCOMP_LINE='{}'\nCOMP_POINT=${{#COMP_LINE}}\n\
         _berth berth '{}' '{}'\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"\n",
        script.display(),
        quoted.join(" "),
        words.len() - 1,
        words.join(" "),
        words[words.len() - 1],
        words[words.len().saturating_sub(2)],
    );
    let out = Command::new("bash").args(["-c", &prog]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

#[test]
fn bash_completion_completes_subcommands_at_every_depth() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("berth");
    berth(&["completion", "bash", "--file", script.to_str().unwrap()]);
    let st = Command::new("bash")
        .arg("-n")
        .arg(&script)
        .status()
        .unwrap();
    assert!(st.success(), "the bash script does not parse");

    let top = bash_complete(&script, &["berth", ""]);
    for sub in listed_subcommands(&[]) {
        assert!(top.contains(&sub), "{sub} not offered: {top:?}");
    }
    // berth's own hidden commands are not offered.
    for hidden in ["monitor", "generate-manpages"] {
        assert!(!top.iter().any(|w| w == hidden), "{hidden} offered");
    }
    assert_eq!(bash_complete(&script, &["berth", "vol"]), ["volume"]);
    let mo = bash_complete(&script, &["berth", "mo"]);
    assert_eq!(mo, ["mount"], "{mo:?}");
    let vol = bash_complete(&script, &["berth", "volume", "cr"]);
    assert_eq!(vol, ["create"]);
    let sys = bash_complete(&script, &["berth", "system", ""]);
    for sub in ["df", "prune"] {
        assert!(sys.contains(&sub.to_string()), "{sys:?}");
    }
    let run = bash_complete(&script, &["berth", "run", "--networ"]);
    assert_eq!(run, ["--network", "--network-alias"]);
}

#[test]
fn zsh_and_fish_scripts_name_every_subcommand() {
    let subs = listed_subcommands(&[]);
    assert!(subs.len() > 20, "{subs:?}");
    for (shell, head) in [("zsh", "#compdef berth"), ("fish", "complete -c berth")] {
        let script = String::from_utf8(berth(&["completion", shell]).stdout).unwrap();
        assert!(script.contains(head), "{shell}: {:.200}", script);
        for sub in &subs {
            assert!(script.contains(sub.as_str()), "{shell}: no {sub}");
        }
        assert!(!script.contains("generate-manpages"), "{shell}");
        if have(shell) {
            let dir = tempfile::tempdir().unwrap();
            let file = dir.path().join("script");
            std::fs::write(&file, &script).unwrap();
            let st = Command::new(shell).arg("-n").arg(&file).status().unwrap();
            assert!(st.success(), "{shell} -n fails on its script");
        }
    }
}

#[test]
fn completion_of_an_unknown_shell_is_a_usage_error() {
    let out = Command::new(BERTH)
        .args(["completion", "tcsh"])
        .output()
        .unwrap();
    // podman's code for a command line it refuses.
    assert_eq!(out.status.code(), Some(125));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bash") && err.contains("fish"), "{err}");
}

#[test]
fn one_man_page_per_command_of_the_tree() {
    let dir = tempfile::tempdir().unwrap();
    let pages = dir.path().join("man1");
    let out = berth(&["generate-manpages", pages.to_str().unwrap()]);
    assert!(out.stdout.is_empty());

    let mut tree = Vec::new();
    help_tree(Vec::new(), &mut tree);
    let want: BTreeSet<String> = tree
        .iter()
        .map(|p| {
            let mut name = vec!["berth".to_string()];
            name.extend(p.iter().cloned());
            format!("{}.1", name.join("-"))
        })
        .collect();
    let got: BTreeSet<String> = std::fs::read_dir(&pages)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(got, want);
    for page in [
        "berth.1",
        "berth-run.1",
        "berth-pull.1",
        "berth-volume-create.1",
        "berth-system-df.1",
    ] {
        assert!(got.contains(page), "{page} missing");
    }

    let run = std::fs::read_to_string(pages.join("berth-run.1")).unwrap();
    let th = run.lines().find(|l| l.starts_with(".TH ")).unwrap();
    // name, section, date (YYYY-MM-DD), source, manual
    assert!(th.starts_with(".TH berth-run 1 "), "{th}");
    let date = th.split_whitespace().nth(3).unwrap_or_default();
    let digits = date.replace('-', "");
    assert!(
        date.len() == 10 && digits.len() == 8 && digits.bytes().all(|b| b.is_ascii_digit()),
        "no date: {th}"
    );
    assert!(th.contains("\"berth manual\""), "{th}");
    assert!(
        run.contains("\\-\\-network"),
        "berth-run(1) lacks --network"
    );
    let top = std::fs::read_to_string(pages.join("berth.1")).unwrap();
    assert!(
        top.contains("berth\\-volume(1)"),
        "berth(1) does not list berth-volume(1)"
    );

    // Every page renders without a warning (preconv for the UTF-8 in the
    // help texts, as man does).
    if have("groff") {
        for page in &got {
            let out = Command::new("groff")
                .args(["-k", "-man", "-Tutf8", "-ww", "-z"])
                .arg(pages.join(page))
                .env("LC_ALL", "C.UTF-8")
                .output()
                .unwrap();
            assert!(
                out.status.success() && out.stderr.is_empty(),
                "{page}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}
