//! The parser against cases from the Dockerfile reference
//! (docs.docker.com/reference/dockerfile): each instruction's forms, the
//! parser directives, heredocs, and the errors, which name file and line.

use std::path::Path;

use berth_build::containerfile::{
    CommandForm, Containerfile, Healthcheck, Instruction, MountType, ParseErrorKind,
};

fn parse(text: &str) -> Vec<Instruction> {
    Containerfile::parse(Path::new("Containerfile"), text)
        .unwrap_or_else(|e| panic!("{text:?}: {e}"))
        .steps
        .into_iter()
        .map(|s| s.instruction)
        .collect()
}

fn one(text: &str) -> Instruction {
    let mut all = parse(text);
    assert_eq!(all.len(), 1, "{text:?}");
    all.remove(0)
}

fn s(v: &str) -> String {
    v.to_string()
}

fn exec(v: &[&str]) -> CommandForm {
    CommandForm::Exec(v.iter().map(|x| x.to_string()).collect())
}

#[test]
fn from_forms() {
    let cases: &[(&str, &str, Option<&str>, Option<&str>)] = &[
        ("FROM busybox", "busybox", None, None),
        (
            "from busybox:1.36 AS Build",
            "busybox:1.36",
            Some("build"),
            None,
        ),
        (
            "FROM --platform=$BUILDPLATFORM scratch as x-1.y_z",
            "scratch",
            Some("x-1.y_z"),
            Some("$BUILDPLATFORM"),
        ),
        ("FROM ${BASE:-busybox}", "${BASE:-busybox}", None, None),
    ];
    for (text, image, name, platform) in cases {
        assert_eq!(
            one(text),
            Instruction::From {
                image: s(image),
                name: name.map(s),
                platform: platform.map(s),
            },
            "{text}"
        );
    }
}

#[test]
fn run_cmd_entrypoint_forms() {
    assert_eq!(
        one("RUN [\"/bin/bash\", \"-c\", \"echo hello\"]"),
        Instruction::Run {
            command: exec(&["/bin/bash", "-c", "echo hello"]),
            mounts: vec![],
            network: None,
            security: None,
            heredocs: vec![],
        }
    );
    // "RUN /bin/bash -c 'source $HOME/.bashrc && \
    //  echo $HOME'" from the reference: one shell command.
    let Instruction::Run { command, .. } =
        one("RUN /bin/bash -c 'source $HOME/.bashrc && \\\necho $HOME'")
    else {
        panic!()
    };
    assert_eq!(
        command,
        CommandForm::Shell(s("/bin/bash -c 'source $HOME/.bashrc && echo $HOME'"))
    );
    // Not valid JSON (single quotes): the shell form, as in Docker.
    assert_eq!(
        one("CMD ['a', 'b']"),
        Instruction::Cmd(CommandForm::Shell(s("['a', 'b']")))
    );
    // JSON escapes apply in the exec form.
    assert_eq!(
        one("ENTRYPOINT [\"c:\\\\windows\\\\x.exe\"]"),
        Instruction::Entrypoint(exec(&["c:\\windows\\x.exe"]))
    );
    assert_eq!(one("ENTRYPOINT []"), Instruction::Entrypoint(exec(&[])));
    assert_eq!(
        one("CMD echo $HOME"),
        Instruction::Cmd(CommandForm::Shell(s("echo $HOME")))
    );
    assert_eq!(
        one("SHELL [\"/bin/sh\", \"-ec\"]"),
        Instruction::Shell(vec![s("/bin/sh"), s("-ec")])
    );
}

#[test]
fn run_flags() {
    let Instruction::Run {
        mounts,
        network,
        security,
        ..
    } = one(
        "RUN --mount=type=cache,target=/var/cache/apt --mount=type=secret,id=tok,required \
         --network=none --security=sandbox make",
    )
    else {
        panic!()
    };
    assert_eq!(mounts.len(), 2);
    assert_eq!(mounts[0].kind, MountType::Cache);
    assert_eq!(mounts[1].kind, MountType::Secret);
    assert_eq!(mounts[1].target, "/run/secrets/tok");
    assert_eq!(network.as_deref(), Some("none"));
    assert_eq!(security.as_deref(), Some("sandbox"));
}

#[test]
fn heredocs() {
    let text = "FROM x\nRUN <<EOF\napt-get update\napt-get install -y vim\nEOF\nRUN echo after";
    let steps = parse(text);
    assert_eq!(steps.len(), 3);
    let Instruction::Run {
        heredocs, command, ..
    } = &steps[1]
    else {
        panic!()
    };
    assert_eq!(command, &CommandForm::Shell(s("<<EOF")));
    assert_eq!(
        heredocs[0].content,
        "apt-get update\napt-get install -y vim\n"
    );
    assert!(heredocs[0].expand);

    // Two heredocs on one line, read in order; a quoted name turns
    // expansion off; <<- strips leading tabs, also before the terminator.
    let text = "RUN <<FILE1 cat > file1 && <<-'FILE2' cat > file2\nI am\nfirst\nFILE1\n\tI am\n\tsecond\n\tFILE2\nCMD x";
    let steps = parse(text);
    assert_eq!(steps.len(), 2);
    let Instruction::Run { heredocs, .. } = &steps[0] else {
        panic!()
    };
    assert_eq!(heredocs.len(), 2);
    assert_eq!(
        (heredocs[0].name.as_str(), heredocs[0].content.as_str()),
        ("FILE1", "I am\nfirst\n")
    );
    assert_eq!(
        (heredocs[1].name.as_str(), heredocs[1].content.as_str()),
        ("FILE2", "I am\nsecond\n")
    );
    assert!(!heredocs[1].expand);

    // COPY <<EOF: the body is a source; lines in it that look like
    // instructions are not instructions.
    let text =
        "COPY --chmod=755 <<EOF /usr/local/bin/start\n#!/bin/sh\nFROM nothing\nEOF\nRUN start";
    let steps = parse(text);
    assert_eq!(steps.len(), 2);
    let Instruction::Copy(c) = &steps[0] else {
        panic!()
    };
    assert!(c.sources.is_empty());
    assert_eq!(c.dest, "/usr/local/bin/start");
    assert_eq!(c.chmod.as_deref(), Some("755"));
    assert_eq!(c.heredocs[0].content, "#!/bin/sh\nFROM nothing\n");
}

#[test]
fn copy_and_add() {
    let Instruction::Copy(c) = one(
        "COPY --from=build --chown=55:mygroup --link --exclude=*.md --exclude=x files* /mydir/",
    ) else {
        panic!()
    };
    assert_eq!(c.sources, vec![s("files*")]);
    assert_eq!(c.dest, "/mydir/");
    assert_eq!(c.from.as_deref(), Some("build"));
    assert_eq!(c.chown.as_deref(), Some("55:mygroup"));
    assert!(c.link);
    assert_eq!(c.exclude, vec![s("*.md"), s("x")]);
    let Instruction::Copy(c) = one("COPY [\"dir with space/a\", \"b c\", \"/dest/\"]") else {
        panic!()
    };
    assert_eq!(c.sources, vec![s("dir with space/a"), s("b c")]);
    let Instruction::Add(a) = one("ADD --checksum=sha256:abc https://example.com/a.tar /") else {
        panic!()
    };
    assert_eq!(a.checksum.as_deref(), Some("sha256:abc"));
    assert_eq!(a.sources, vec![s("https://example.com/a.tar")]);
}

#[test]
fn env_label_arg() {
    assert_eq!(
        one("ENV MY_NAME=\"John Doe\" MY_DOG=Rex\\ The\\ Dog \\\n    MY_CAT=fluffy"),
        Instruction::Env(vec![
            (s("MY_NAME"), s("\"John Doe\"")),
            (s("MY_DOG"), s("Rex\\ The\\ Dog")),
            (s("MY_CAT"), s("fluffy")),
        ])
    );
    // The old form: the rest of the line is the value.
    assert_eq!(
        one("ENV MY_VAR my-value with blanks"),
        Instruction::Env(vec![(s("MY_VAR"), s("my-value with blanks"))])
    );
    assert_eq!(
        one("LABEL \"com.example.vendor\"=\"ACME Inc\" version=1.0"),
        Instruction::Label(vec![
            (s("\"com.example.vendor\""), s("\"ACME Inc\"")),
            (s("version"), s("1.0"))
        ])
    );
    assert_eq!(
        one("ARG user1=someuser buildno"),
        Instruction::Arg(vec![
            (s("user1"), Some(s("someuser"))),
            (s("buildno"), None)
        ])
    );
}

#[test]
fn simple_instructions() {
    assert_eq!(
        one("EXPOSE 80/udp 8080-8082"),
        Instruction::Expose(vec![s("80/udp"), s("8080-8082")])
    );
    assert_eq!(
        one("VOLUME [\"/data\"]"),
        Instruction::Volume(vec![s("/data")])
    );
    assert_eq!(
        one("VOLUME /var/log /var/db"),
        Instruction::Volume(vec![s("/var/log"), s("/var/db")])
    );
    assert_eq!(
        one("USER patrick:staff"),
        Instruction::User(s("patrick:staff"))
    );
    assert_eq!(
        one("WORKDIR /path/$DIRNAME"),
        Instruction::Workdir(s("/path/$DIRNAME"))
    );
    assert_eq!(
        one("STOPSIGNAL SIGKILL"),
        Instruction::StopSignal(s("SIGKILL"))
    );
    assert_eq!(
        one("MAINTAINER someone"),
        Instruction::Maintainer(s("someone"))
    );
}

#[test]
fn healthcheck() {
    assert_eq!(
        one("HEALTHCHECK --interval=5m --timeout=3s --retries=2 CMD curl -f http://localhost/ || exit 1"),
        Instruction::Healthcheck(Healthcheck::Check {
            command: CommandForm::Shell(s("curl -f http://localhost/ || exit 1")),
            interval: Some(300_000_000_000),
            timeout: Some(3_000_000_000),
            start_period: None,
            start_interval: None,
            retries: Some(2),
        })
    );
    assert_eq!(
        one("HEALTHCHECK NONE"),
        Instruction::Healthcheck(Healthcheck::None)
    );
}

#[test]
fn onbuild() {
    let Instruction::Onbuild { text, trigger } = one("ONBUILD ADD . /app/src") else {
        panic!()
    };
    assert_eq!(text, "ADD . /app/src");
    assert!(matches!(*trigger, Instruction::Add(_)));
    let t = Containerfile::parse_trigger("RUN /usr/local/bin/python-build --dir /app/src", '\\')
        .unwrap();
    assert!(matches!(t, Instruction::Run { .. }));
}

#[test]
fn escape_directive() {
    // The reference's Windows example: with `# escape=``, backslashes are
    // plain characters and the backtick continues lines.
    let text =
        "# escape=`\n\nFROM microsoft/nanoserver\nCOPY testfile.txt c:\\\nRUN dir c:\\ `\n  /b";
    let steps = parse(text);
    let Instruction::Copy(c) = &steps[1] else {
        panic!()
    };
    assert_eq!(c.dest, "c:\\");
    assert_eq!(
        steps[2],
        Instruction::Run {
            command: CommandForm::Shell(s("dir c:\\   /b")),
            mounts: vec![],
            network: None,
            security: None,
            heredocs: vec![],
        }
    );
}

#[test]
fn step_lines_and_text() {
    let cf = Containerfile::parse(
        Path::new("f"),
        "# syntax=docker/dockerfile:1\nFROM x\n\nRUN a \\\n  b\n",
    )
    .unwrap();
    assert_eq!(cf.directives.syntax.as_deref(), Some("docker/dockerfile:1"));
    let lines: Vec<(usize, &str)> = cf.steps.iter().map(|s| (s.line, s.text.as_str())).collect();
    assert_eq!(lines, vec![(2, "FROM x"), (4, "RUN a   b")]);
}

#[test]
fn errors_name_file_and_line() {
    let cases: &[(&str, usize, &str)] = &[
        ("FROM x\nFOO bar", 2, "unknown instruction: FOO"),
        (
            "FROM x\n\nRUN <<EOF\necho\n",
            3,
            "unterminated heredoc <<EOF",
        ),
        (
            "FROM x\nCOPY --form=a b c",
            2,
            "COPY does not take the flag --form",
        ),
        (
            "COPY --from=a --from=b c d",
            1,
            "COPY: bad flag --from: given twice",
        ),
        (
            "COPY onlyone",
            1,
            "COPY: needs at least one source and a destination",
        ),
        (
            "FROM a b",
            1,
            "FROM: takes an image and an optional AS name",
        ),
        ("FROM a AS 1x", 1, "invalid stage name"),
        ("FROM\n", 1, "FROM: takes an image"),
        ("SHELL /bin/sh -c", 1, "SHELL: needs a JSON array"),
        ("ENV A=1 B", 1, "can't find = in \"B\""),
        ("ENV A", 1, "ENV: needs a value"),
        ("ARG =x", 1, "ARG: names cannot be blank"),
        (
            "RUN --mount=type=ssh,target=/x true",
            1,
            "unsupported mount type",
        ),
        ("RUN", 1, "RUN: needs a command"),
        ("HEALTHCHECK --interval=5 CMD true", 1, "not a duration"),
        ("HEALTHCHECK --retries=0 CMD true", 1, "retries"),
        ("HEALTHCHECK NONE x", 1, "NONE takes no flags"),
        ("HEALTHCHECK RUN x", 1, "unknown type"),
        ("ONBUILD ONBUILD RUN x", 1, "ONBUILD ONBUILD is not allowed"),
        ("ONBUILD FROM x", 1, "ONBUILD FROM is not allowed"),
        ("ONBUILD BOGUS x", 1, "unknown instruction: BOGUS"),
        ("# escape=x\nFROM a", 1, "escape character must be"),
        ("CMD --x=1 true", 1, "CMD does not take the flag --x"),
        ("FROM x\nUSER", 2, "USER: needs an argument"),
    ];
    for (text, line, want) in cases {
        let err = Containerfile::parse(Path::new("dir/Containerfile"), text).unwrap_err();
        assert_eq!(err.line, *line, "{text:?}: {err}");
        let shown = err.to_string();
        assert!(
            shown.starts_with(&format!("dir/Containerfile:{line}: ")),
            "{shown}"
        );
        assert!(shown.contains(want), "{text:?}: {shown} lacks {want:?}");
    }
    let err = Containerfile::parse(Path::new("f"), "FOO").unwrap_err();
    assert_eq!(err.kind, ParseErrorKind::UnknownInstruction(s("FOO")));
}
