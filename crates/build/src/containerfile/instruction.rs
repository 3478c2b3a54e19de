//! What a parsed Containerfile holds. Arguments stay as written (raw words,
//! quotes included) wherever Docker expands variables when the instruction
//! runs: the executor expands them with the ARG and ENV values in scope.

use super::run_mount::RunMount;

/// A command as RUN, CMD, ENTRYPOINT and HEALTHCHECK take it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandForm {
    /// `["prog", "arg"]`: run as is, no shell.
    Exec(Vec<String>),
    /// `prog arg`: run by the stage's SHELL (default `/bin/sh -c`).
    Shell(String),
}

/// A here-document opened by `<<NAME` on a RUN, COPY or ADD line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heredoc {
    /// The terminator word, quotes removed.
    pub name: String,
    /// The body, one `\n` after each line; leading tabs gone with `<<-`.
    pub content: String,
    /// Variables are expanded in the body (the name was not quoted).
    pub expand: bool,
    /// The file descriptor before `<<` (`3<<EOF`), 0 when none was given.
    pub fd: u32,
}

/// COPY's and ADD's arguments.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CopyArgs {
    /// Sources (raw words), or heredoc names when `heredocs` is not empty.
    pub sources: Vec<String>,
    /// The destination (raw word).
    pub dest: String,
    /// `--from=stage|image` (raw).
    pub from: Option<String>,
    /// `--chown=user[:group]` (raw).
    pub chown: Option<String>,
    /// `--chmod=mode` (raw).
    pub chmod: Option<String>,
    /// `--link`.
    pub link: bool,
    /// `--parents` (COPY only).
    pub parents: bool,
    /// `--exclude=pattern`, any number.
    pub exclude: Vec<String>,
    /// `--checksum=sha256:...` (ADD only).
    pub checksum: Option<String>,
    /// `--keep-git-dir` (ADD only).
    pub keep_git_dir: bool,
    /// Here-documents used as sources.
    pub heredocs: Vec<Heredoc>,
}

/// HEALTHCHECK's arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Healthcheck {
    /// `HEALTHCHECK NONE`: turn off a check inherited from the base.
    None,
    /// `HEALTHCHECK [flags] CMD ...`.
    Check {
        /// The test command.
        command: CommandForm,
        /// `--interval` in nanoseconds.
        interval: Option<u64>,
        /// `--timeout` in nanoseconds.
        timeout: Option<u64>,
        /// `--start-period` in nanoseconds.
        start_period: Option<u64>,
        /// `--start-interval` in nanoseconds.
        start_interval: Option<u64>,
        /// `--retries`.
        retries: Option<u32>,
    },
}

/// One Containerfile instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Instruction {
    /// `FROM [--platform=P] IMAGE [AS NAME]`.
    From {
        /// The image, a stage name or `scratch` (raw word).
        image: String,
        /// The stage's name, lower-cased.
        name: Option<String>,
        /// `--platform` (raw).
        platform: Option<String>,
    },
    /// `RUN [--mount=...] [--network=...] [--security=...] COMMAND`.
    Run {
        /// The command.
        command: CommandForm,
        /// `--mount` specs.
        mounts: Vec<RunMount>,
        /// `--network=default|none|host`.
        network: Option<String>,
        /// `--security=sandbox|insecure`.
        security: Option<String>,
        /// Heredocs opened on the line.
        heredocs: Vec<Heredoc>,
    },
    /// `CMD`.
    Cmd(CommandForm),
    /// `ENTRYPOINT`.
    Entrypoint(CommandForm),
    /// `SHELL ["exe", "flag"]`.
    Shell(Vec<String>),
    /// `COPY`.
    Copy(CopyArgs),
    /// `ADD`.
    Add(CopyArgs),
    /// `ENV k=v ...` or `ENV k v` (raw words).
    Env(Vec<(String, String)>),
    /// `ARG name[=default] ...` (raw defaults).
    Arg(Vec<(String, Option<String>)>),
    /// `LABEL k=v ...` (raw words).
    Label(Vec<(String, String)>),
    /// `EXPOSE port[/proto] ...` (raw words).
    Expose(Vec<String>),
    /// `VOLUME` paths (raw words).
    Volume(Vec<String>),
    /// `USER user[:group]` (raw).
    User(String),
    /// `WORKDIR path` (raw).
    Workdir(String),
    /// `STOPSIGNAL sig` (raw).
    StopSignal(String),
    /// `HEALTHCHECK`.
    Healthcheck(Healthcheck),
    /// `ONBUILD INSTRUCTION`: the trigger's text, as stored in the image
    /// config, and the trigger parsed (checked now, run by a child build).
    Onbuild {
        /// The trigger as written.
        text: String,
        /// The trigger parsed.
        trigger: Box<Instruction>,
    },
    /// `MAINTAINER name` (deprecated; sets the author).
    Maintainer(String),
}

impl Instruction {
    /// The keyword, upper-cased, as podman prints it in `STEP n/m: ...`.
    pub fn keyword(&self) -> &'static str {
        match self {
            Instruction::From { .. } => "FROM",
            Instruction::Run { .. } => "RUN",
            Instruction::Cmd(_) => "CMD",
            Instruction::Entrypoint(_) => "ENTRYPOINT",
            Instruction::Shell(_) => "SHELL",
            Instruction::Copy(_) => "COPY",
            Instruction::Add(_) => "ADD",
            Instruction::Env(_) => "ENV",
            Instruction::Arg(_) => "ARG",
            Instruction::Label(_) => "LABEL",
            Instruction::Expose(_) => "EXPOSE",
            Instruction::Volume(_) => "VOLUME",
            Instruction::User(_) => "USER",
            Instruction::Workdir(_) => "WORKDIR",
            Instruction::StopSignal(_) => "STOPSIGNAL",
            Instruction::Healthcheck(_) => "HEALTHCHECK",
            Instruction::Onbuild { .. } => "ONBUILD",
            Instruction::Maintainer(_) => "MAINTAINER",
        }
    }
}
