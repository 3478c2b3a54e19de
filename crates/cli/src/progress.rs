//! Progress bars per blob on a terminal; nothing with `--quiet` or when
//! stderr is not a terminal. Pulls (`pull`, `run`, `create`) print
//! podman's plain status lines when stderr is not a terminal, as podman
//! 4.3 does.

use berth_image::progress::{NoProgress, Progress};
use berth_image::Descriptor;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::HashMap;
use std::io::IsTerminal as _;
use std::sync::Mutex;

/// Bars for each blob, keyed by digest.
pub struct Bars {
    multi: MultiProgress,
    bars: Mutex<HashMap<String, ProgressBar>>,
    style: ProgressStyle,
}

impl Bars {
    fn bar(&self, desc: &Descriptor) -> ProgressBar {
        let mut bars = self.bars.lock().unwrap_or_else(|p| p.into_inner());
        bars.entry(desc.digest.to_string())
            .or_insert_with(|| {
                let b = self.multi.add(ProgressBar::new(desc.size));
                b.set_style(self.style.clone());
                b.set_prefix(format!("Copying blob {}", &desc.digest.hex()[..12]));
                b
            })
            .clone()
    }
}

impl Progress for Bars {
    fn start(&self, desc: &Descriptor) {
        self.bar(desc);
    }
    fn advance(&self, desc: &Descriptor, bytes: u64) {
        self.bar(desc).inc(bytes);
    }
    fn finish(&self, desc: &Descriptor, skipped: bool) {
        let b = self.bar(desc);
        if skipped {
            b.finish_with_message("skipped: already exists");
        } else {
            b.finish_with_message("done");
        }
    }
    fn message(&self, msg: &str) {
        let _ = self.multi.println(msg);
    }
}

/// podman's lines on stderr when it is not a terminal: a line per blob as
/// it starts (or is found already there), and the status lines.
pub struct Lines;

impl Progress for Lines {
    fn start(&self, desc: &Descriptor) {
        eprintln!("Copying blob {}", desc.digest);
    }
    fn finish(&self, desc: &Descriptor, skipped: bool) {
        if skipped {
            eprintln!("Copying blob {}", desc.digest);
        }
    }
    fn message(&self, msg: &str) {
        eprintln!("{msg}");
    }
}

/// For a pull: bars on a terminal, podman's lines elsewhere, nothing when
/// `quiet`.
pub fn for_pull(quiet: bool) -> Box<dyn Progress> {
    if !quiet && !std::io::stderr().is_terminal() {
        return Box::new(Lines);
    }
    for_terminal(quiet)
}

/// Bars on a terminal unless `quiet`.
pub fn for_terminal(quiet: bool) -> Box<dyn Progress> {
    if quiet || !std::io::stderr().is_terminal() {
        return Box::new(NoProgress);
    }
    let style = ProgressStyle::with_template(
        "{prefix} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} {msg}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .progress_chars("=> ");
    Box::new(Bars {
        multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
        bars: Mutex::new(HashMap::new()),
        style,
    })
}
