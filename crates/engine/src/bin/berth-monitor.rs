//! `berth-monitor --root DIR --runroot DIR --runtime PATH --cgroup-parent
//! CG ID`: the monitor of one detached container (see the engine's
//! `monitor` module). A binary of its own, with no argument parser and no
//! log subscriber, so the pages it touches — its resident size for the
//! container's whole life — stay few.

use berth_engine::{monitor, Engine, EngineOptions};
use std::path::PathBuf;

struct Args {
    root: PathBuf,
    runroot: PathBuf,
    runtime: PathBuf,
    cgroup_parent: String,
    id: String,
}

fn parse() -> Result<Args, String> {
    let mut root = None;
    let mut runroot = None;
    let mut runtime = None;
    let mut cgroup_parent = None;
    let mut id = None;
    let mut args = std::env::args_os().skip(1);
    while let Some(a) = args.next() {
        let mut value = || {
            args.next()
                .ok_or(format!("{} needs a value", a.to_string_lossy()))
        };
        match a.to_str() {
            Some("--root") => root = Some(PathBuf::from(value()?)),
            Some("--runroot") => runroot = Some(PathBuf::from(value()?)),
            Some("--runtime") => runtime = Some(PathBuf::from(value()?)),
            Some("--cgroup-parent") => {
                cgroup_parent = Some(value()?.to_string_lossy().into_owned())
            }
            Some(s) if !s.starts_with('-') && id.is_none() => id = Some(s.to_string()),
            _ => return Err(format!("unexpected argument {:?}", a)),
        }
    }
    Ok(Args {
        root: root.ok_or("--root is required")?,
        runroot: runroot.ok_or("--runroot is required")?,
        runtime: runtime.ok_or("--runtime is required")?,
        cgroup_parent: cgroup_parent.unwrap_or_else(|| "/berth".into()),
        id: id.ok_or("the container id is required")?,
    })
}

fn main() {
    // The CLI reads our stdout until EOF: one line, "ok" or the error.
    let args = match parse() {
        Ok(a) => a,
        Err(e) => {
            println!("error: berth-monitor: {e}");
            std::process::exit(2);
        }
    };
    if let Err(e) = monitor::detach() {
        println!("error: {e}");
        std::process::exit(1);
    }
    let store = match berth_storage::Store::open(berth_storage::StoreOptions::at(&args.root)) {
        Ok(s) => s,
        Err(e) => {
            println!("error: opening storage at {}: {e}", args.root.display());
            std::process::exit(1);
        }
    };
    let engine = Engine::new(
        store,
        berth_image::Context::default(),
        EngineOptions {
            runroot: args.runroot,
            runtime: args.runtime,
            cgroup_parent: args.cgroup_parent,
            monitor: Vec::new(),
        },
    );
    let code = monitor::run(&engine, &args.id);
    // Dropped first: the store's writer marker goes with it.
    drop(engine);
    std::process::exit(code);
}
