//! One logical line to one [`Instruction`], with each instruction's rules
//! for flags and argument forms taken from the Dockerfile reference.

use super::duration::parse_duration;
use super::error::ParseErrorKind;
use super::flags::Flags;
use super::heredoc::opener;
use super::instruction::{CommandForm, CopyArgs, Healthcheck, Heredoc, Instruction};
use super::lines::LineReader;
use super::run_mount::RunMount;
use super::words::{blank_words, extract_flags, json_array, quoted_words};

/// Splits a logical line into its keyword and the rest.
pub(crate) fn split_keyword(text: &str) -> (&str, &str) {
    let text = text.trim();
    match text.find(char::is_whitespace) {
        Some(i) => (&text[..i], text[i..].trim_start()),
        None => (text, ""),
    }
}

/// Parses one instruction. `reader` gives heredoc bodies; without it (an
/// ONBUILD trigger) no heredoc is looked for.
pub(crate) fn instruction(
    keyword: &str,
    rest: &str,
    escape: char,
    reader: Option<&mut LineReader<'_>>,
) -> Result<Instruction, ParseErrorKind> {
    let upper = keyword.to_ascii_uppercase();
    let (raw_flags, args) = extract_flags(rest);
    let args = args.trim();
    let no_flags = |name: &'static str| Flags::check(name, raw_flags.clone(), &[], &[]);
    Ok(match upper.as_str() {
        "FROM" => {
            let flags = Flags::check("FROM", raw_flags, &["platform"], &[])?;
            from(args, flags.value("platform")?)?
        }
        "RUN" => {
            let flags = Flags::check("RUN", raw_flags, &["network", "security"], &["mount"])?;
            let mounts = flags
                .values("mount")?
                .iter()
                .map(|m| RunMount::parse(m))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|reason| ParseErrorKind::BadFlag {
                    instruction: "RUN",
                    flag: "mount".into(),
                    reason,
                })?;
            let (command, heredocs) = command("RUN", args, escape, reader)?;
            Instruction::Run {
                command,
                mounts,
                network: flags.value("network")?,
                security: flags.value("security")?,
                heredocs,
            }
        }
        "CMD" => {
            no_flags("CMD")?;
            Instruction::Cmd(command("CMD", args, escape, None)?.0)
        }
        "ENTRYPOINT" => {
            no_flags("ENTRYPOINT")?;
            Instruction::Entrypoint(command("ENTRYPOINT", args, escape, None)?.0)
        }
        "SHELL" => {
            no_flags("SHELL")?;
            match json_array(args) {
                Some(v) if !v.is_empty() => Instruction::Shell(v),
                _ => {
                    return Err(ParseErrorKind::args(
                        "SHELL",
                        "needs a JSON array such as [\"/bin/sh\", \"-c\"]",
                    ))
                }
            }
        }
        "COPY" => {
            let flags = Flags::check(
                "COPY",
                raw_flags,
                &["from", "chown", "chmod", "link", "parents"],
                &["exclude"],
            )?;
            Instruction::Copy(copy_args("COPY", &flags, args, escape, reader)?)
        }
        "ADD" => {
            let flags = Flags::check(
                "ADD",
                raw_flags,
                &["chown", "chmod", "link", "checksum", "keep-git-dir"],
                &["exclude"],
            )?;
            Instruction::Add(copy_args("ADD", &flags, args, escape, reader)?)
        }
        "ENV" => {
            no_flags("ENV")?;
            Instruction::Env(name_values("ENV", args, escape)?)
        }
        "LABEL" => {
            no_flags("LABEL")?;
            Instruction::Label(name_values("LABEL", args, escape)?)
        }
        "ARG" => {
            no_flags("ARG")?;
            let words = quoted_words(args, escape);
            if words.is_empty() {
                return Err(ParseErrorKind::args("ARG", "needs a name"));
            }
            let mut out = Vec::new();
            for w in words {
                let (name, value) = match w.split_once('=') {
                    Some((n, v)) => (n.to_string(), Some(v.to_string())),
                    None => (w, None),
                };
                if name.is_empty() {
                    return Err(ParseErrorKind::args("ARG", "names cannot be blank"));
                }
                out.push((name, value));
            }
            Instruction::Arg(out)
        }
        "EXPOSE" => {
            no_flags("EXPOSE")?;
            Instruction::Expose(non_empty("EXPOSE", blank_words(args))?)
        }
        "VOLUME" => {
            no_flags("VOLUME")?;
            let paths = json_array(args).unwrap_or_else(|| blank_words(args));
            if paths.iter().any(|p| p.trim().is_empty()) {
                return Err(ParseErrorKind::args("VOLUME", "paths cannot be blank"));
            }
            Instruction::Volume(non_empty("VOLUME", paths)?)
        }
        "USER" => {
            no_flags("USER")?;
            Instruction::User(one_string("USER", args)?)
        }
        "WORKDIR" => {
            no_flags("WORKDIR")?;
            Instruction::Workdir(one_string("WORKDIR", args)?)
        }
        "STOPSIGNAL" => {
            no_flags("STOPSIGNAL")?;
            Instruction::StopSignal(one_string("STOPSIGNAL", args)?)
        }
        "MAINTAINER" => {
            no_flags("MAINTAINER")?;
            Instruction::Maintainer(one_string("MAINTAINER", args)?)
        }
        "HEALTHCHECK" => healthcheck(raw_flags, args, escape)?,
        "ONBUILD" => {
            no_flags("ONBUILD")?;
            let text = rest.trim();
            let (kw, trigger_rest) = split_keyword(text);
            if kw.is_empty() {
                return Err(ParseErrorKind::args("ONBUILD", "needs an instruction"));
            }
            let kw_upper = kw.to_ascii_uppercase();
            if matches!(kw_upper.as_str(), "ONBUILD" | "FROM" | "MAINTAINER") {
                return Err(ParseErrorKind::args(
                    "ONBUILD",
                    format!("ONBUILD {kw_upper} is not allowed"),
                ));
            }
            let trigger = instruction(kw, trigger_rest, escape, None)?;
            Instruction::Onbuild {
                text: text.to_string(),
                trigger: Box::new(trigger),
            }
        }
        _ => return Err(ParseErrorKind::UnknownInstruction(keyword.to_string())),
    })
}

fn from(args: &str, platform: Option<String>) -> Result<Instruction, ParseErrorKind> {
    let words = blank_words(args);
    let name = match words.as_slice() {
        [_] => None,
        [_, as_, name] if as_.eq_ignore_ascii_case("as") => {
            let name = name.to_ascii_lowercase();
            let mut chars = name.chars();
            let valid = chars.next().is_some_and(|c| c.is_ascii_lowercase())
                && chars.all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
            if !valid {
                return Err(ParseErrorKind::args(
                    "FROM",
                    format!("invalid stage name {name:?}: it must start with a letter and hold only letters, digits, -, _ and ."),
                ));
            }
            Some(name)
        }
        _ => {
            return Err(ParseErrorKind::args(
                "FROM",
                "takes an image and an optional AS name",
            ))
        }
    };
    Ok(Instruction::From {
        image: words[0].clone(),
        name,
        platform,
    })
}

/// The exec or shell form of a command; heredocs are looked for in the
/// shell form when `reader` is given.
fn command(
    instruction: &'static str,
    args: &str,
    escape: char,
    reader: Option<&mut LineReader<'_>>,
) -> Result<(CommandForm, Vec<Heredoc>), ParseErrorKind> {
    if let Some(v) = json_array(args) {
        return Ok((CommandForm::Exec(v), Vec::new()));
    }
    if args.is_empty() {
        return Err(ParseErrorKind::args(instruction, "needs a command"));
    }
    let heredocs = match reader {
        Some(r) => read_heredocs(args, escape, r)?.1,
        None => Vec::new(),
    };
    Ok((CommandForm::Shell(args.to_string()), heredocs))
}

/// Reads the bodies of the heredocs opened on `args`; returns the words of
/// `args` that are not openers, and the heredocs.
fn read_heredocs(
    args: &str,
    escape: char,
    reader: &mut LineReader<'_>,
) -> Result<(Vec<String>, Vec<Heredoc>), ParseErrorKind> {
    let mut others = Vec::new();
    let mut docs = Vec::new();
    for word in quoted_words(args, escape) {
        match opener(&word) {
            Some(o) => {
                let content = reader.heredoc_body(&o.name, o.chomp)?;
                docs.push(Heredoc {
                    name: o.name,
                    content,
                    expand: o.expand,
                    fd: o.fd,
                });
            }
            None => others.push(word),
        }
    }
    Ok((others, docs))
}

fn copy_args(
    instruction: &'static str,
    flags: &Flags,
    args: &str,
    escape: char,
    reader: Option<&mut LineReader<'_>>,
) -> Result<CopyArgs, ParseErrorKind> {
    let (mut words, heredocs) = match (json_array(args), reader) {
        (Some(v), _) => (v, Vec::new()),
        (None, Some(r)) if args.contains("<<") => read_heredocs(args, escape, r)?,
        (None, _) => (blank_words(args), Vec::new()),
    };
    if words.len() + heredocs.len() < 2 || words.is_empty() {
        return Err(ParseErrorKind::args(
            instruction,
            "needs at least one source and a destination",
        ));
    }
    let dest = words.pop().unwrap_or_default();
    Ok(CopyArgs {
        sources: words,
        dest,
        from: if instruction == "COPY" {
            flags.value("from")?
        } else {
            None
        },
        chown: flags.value("chown")?,
        chmod: flags.value("chmod")?,
        link: flags.boolean("link")?,
        parents: instruction == "COPY" && flags.boolean("parents")?,
        exclude: flags.values("exclude")?,
        checksum: if instruction == "ADD" {
            flags.value("checksum")?
        } else {
            None
        },
        keep_git_dir: instruction == "ADD" && flags.boolean("keep-git-dir")?,
        heredocs,
    })
}

/// ENV and LABEL: `k=v k2="v 2"`, or the old `k value with blanks`.
fn name_values(
    instruction: &'static str,
    args: &str,
    escape: char,
) -> Result<Vec<(String, String)>, ParseErrorKind> {
    let words = quoted_words(args, escape);
    let Some(first) = words.first() else {
        return Err(ParseErrorKind::args(instruction, "needs at least one name"));
    };
    if !first.contains('=') {
        let (name, value) = split_keyword(args);
        if value.is_empty() {
            return Err(ParseErrorKind::args(
                instruction,
                "needs a value: NAME=VALUE or NAME VALUE",
            ));
        }
        return Ok(vec![(name.to_string(), value.to_string())]);
    }
    let mut out = Vec::new();
    for w in words {
        let Some((name, value)) = w.split_once('=') else {
            return Err(ParseErrorKind::args(
                instruction,
                format!("can't find = in {w:?}: must be of the form name=value"),
            ));
        };
        if name.is_empty() {
            return Err(ParseErrorKind::args(instruction, "names cannot be blank"));
        }
        out.push((name.to_string(), value.to_string()));
    }
    Ok(out)
}

fn healthcheck(
    raw_flags: Vec<super::words::RawFlag>,
    args: &str,
    escape: char,
) -> Result<Instruction, ParseErrorKind> {
    let flags = Flags::check(
        "HEALTHCHECK",
        raw_flags,
        &[
            "interval",
            "timeout",
            "start-period",
            "start-interval",
            "retries",
        ],
        &[],
    )?;
    let (kind, rest) = split_keyword(args);
    match kind.to_ascii_uppercase().as_str() {
        "NONE" if rest.is_empty() && flags.is_empty() => {
            Ok(Instruction::Healthcheck(Healthcheck::None))
        }
        "NONE" => Err(ParseErrorKind::args(
            "HEALTHCHECK",
            "NONE takes no flags and no arguments",
        )),
        "CMD" => {
            let duration = |name: &str| -> Result<Option<u64>, ParseErrorKind> {
                flags
                    .value(name)?
                    .map(|v| {
                        parse_duration(&v).map_err(|reason| ParseErrorKind::BadFlag {
                            instruction: "HEALTHCHECK",
                            flag: name.to_string(),
                            reason,
                        })
                    })
                    .transpose()
            };
            let retries = flags
                .value("retries")?
                .map(|v| {
                    v.parse::<u32>().ok().filter(|n| *n > 0).ok_or_else(|| {
                        ParseErrorKind::BadFlag {
                            instruction: "HEALTHCHECK",
                            flag: "retries".into(),
                            reason: format!("{v:?} is not a number of at least 1"),
                        }
                    })
                })
                .transpose()?;
            Ok(Instruction::Healthcheck(Healthcheck::Check {
                command: command("HEALTHCHECK", rest, escape, None)?.0,
                interval: duration("interval")?,
                timeout: duration("timeout")?,
                start_period: duration("start-period")?,
                start_interval: duration("start-interval")?,
                retries,
            }))
        }
        other => Err(ParseErrorKind::args(
            "HEALTHCHECK",
            format!("unknown type {other:?} (try CMD or NONE)"),
        )),
    }
}

fn non_empty(instruction: &'static str, words: Vec<String>) -> Result<Vec<String>, ParseErrorKind> {
    if words.is_empty() {
        return Err(ParseErrorKind::args(
            instruction,
            "needs at least one argument",
        ));
    }
    Ok(words)
}

fn one_string(instruction: &'static str, args: &str) -> Result<String, ParseErrorKind> {
    if args.is_empty() {
        return Err(ParseErrorKind::args(instruction, "needs an argument"));
    }
    Ok(args.to_string())
}
