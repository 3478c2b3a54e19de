//! `berth logs`: podman's flags over the CRI-format log each container's
//! waiter writes: `-f`, `--tail`, `-t`, `--since`, `--until`, `-n`, and
//! several containers at once (merged in time order).

use crate::Cli;
use anyhow::Context as _;
use berth_engine::logs::parse_line;
use berth_engine::Status;
use clap::Args;
use std::io::{Read as _, Seek as _, Write as _};
use std::time::{Duration, SystemTime};

#[derive(Args)]
pub struct LogsArgs {
    /// Keep printing as the container writes (one container).
    #[arg(short, long)]
    pub follow: bool,
    /// Only the last N lines.
    #[arg(long)]
    pub tail: Option<usize>,
    /// Each line with the time it was written.
    #[arg(short, long)]
    pub timestamps: bool,
    /// Only lines written since: an RFC 3339 time, Unix seconds, or a
    /// duration before now (`10m`).
    #[arg(long)]
    pub since: Option<String>,
    /// Only lines written before; as --since.
    #[arg(long)]
    pub until: Option<String>,
    /// Each line with its container's name.
    #[arg(short = 'n', long)]
    pub names: bool,
    /// The containers.
    #[arg(required = true)]
    pub containers: Vec<String>,
}

/// A time as `--since`/`--until` take it.
fn parse_time(s: &str) -> anyhow::Result<SystemTime> {
    if let Ok(t) = humantime::parse_rfc3339_weak(s) {
        return Ok(t);
    }
    if let Ok(secs) = s.parse::<f64>() {
        return Ok(SystemTime::UNIX_EPOCH + Duration::from_secs_f64(secs.max(0.0)));
    }
    let ago = humantime::parse_duration(s).with_context(|| {
        format!("invalid time {s:?}: an RFC 3339 time, Unix seconds or a duration")
    })?;
    Ok(SystemTime::now() - ago)
}

/// One line of output: when, which stream, the text (with its newline
/// when the record ended one), and whose.
struct Line {
    time: String,
    stream: String,
    text: Vec<u8>,
    name: String,
}

/// The lines of a log's whole records, pieces joined.
fn lines(data: &[u8], name: &str) -> Vec<Line> {
    let mut out: Vec<Line> = Vec::new();
    let mut open = false;
    for rec in data.split(|b| *b == b'\n').filter_map(parse_line) {
        match out.last_mut() {
            Some(l) if open && l.stream == rec.stream => l.text.extend_from_slice(&rec.text),
            _ => out.push(Line {
                time: rec.time,
                stream: rec.stream,
                text: rec.text,
                name: name.to_string(),
            }),
        }
        open = !rec.full;
        if rec.full {
            if let Some(l) = out.last_mut() {
                l.text.push(b'\n');
            }
        }
    }
    out
}

fn within(l: &Line, since: Option<SystemTime>, until: Option<SystemTime>) -> bool {
    let Ok(t) = humantime::parse_rfc3339_weak(&l.time) else {
        return true;
    };
    since.is_none_or(|s| t >= s) && until.is_none_or(|u| t <= u)
}

fn print(lines: &[Line], a: &LogsArgs) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    let mut err = std::io::stderr().lock();
    for l in lines {
        let sink: &mut dyn std::io::Write = if l.stream == "stderr" {
            &mut err
        } else {
            &mut out
        };
        if a.names {
            write!(sink, "{} ", l.name)?;
        }
        if a.timestamps {
            write!(sink, "{} ", l.time)?;
        }
        sink.write_all(&l.text)?;
    }
    out.flush()?;
    Ok(())
}

/// The log's whole records (a record being written is read next time).
fn read_whole(file: &mut std::fs::File, from: u64) -> anyhow::Result<(Vec<u8>, u64)> {
    file.seek(std::io::SeekFrom::Start(from))?;
    let mut data = Vec::new();
    file.read_to_end(&mut data)?;
    let cut = data.iter().rposition(|b| *b == b'\n').map_or(0, |p| p + 1);
    data.truncate(cut);
    Ok((data, from + cut as u64))
}

pub fn logs(cli: &Cli, a: &LogsArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        !a.follow || a.containers.len() == 1,
        "logs -f follows one container"
    );
    let since = a.since.as_deref().map(parse_time).transpose()?;
    let until = a.until.as_deref().map(parse_time).transpose()?;
    let engine = cli.engine()?;
    let mut all = Vec::new();
    let mut follow = None;
    for c in &a.containers {
        let info = engine.inspect(c)?;
        let mut file = match std::fs::File::open(&info.log_path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e).context(format!("reading {}", info.log_path.display())),
        };
        let (data, pos) = read_whole(&mut file, 0)?;
        let mut mine: Vec<Line> = lines(&data, &info.name)
            .into_iter()
            .filter(|l| within(l, since, until))
            .collect();
        if let Some(n) = a.tail {
            let skip = mine.len().saturating_sub(n);
            mine.drain(..skip);
        }
        all.extend(mine);
        follow = Some((info, file, pos));
    }
    // RFC 3339 times of one clock sort as text.
    all.sort_by(|x, y| x.time.cmp(&y.time));
    print(&all, a)?;
    let Some((info, mut file, mut pos)) = follow.filter(|_| a.follow) else {
        return Ok(());
    };
    loop {
        let running = engine.inspect(&info.id)?.state.status == Status::Running;
        let (more, next) = read_whole(&mut file, pos)?;
        pos = next;
        let fresh: Vec<Line> = lines(&more, &info.name)
            .into_iter()
            .filter(|l| within(l, since, until))
            .collect();
        print(&fresh, a)?;
        if !running {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
