//! Time mounting (and unmounting) an image of 10 layers: median and 90th
//! percentile over many runs. Used by `bench/storage/`.
//!
//! `mount_bench <scratch-dir> [runs] [overlay|vfs]`

use berth_storage::{DriverKind, NewImage, Store, StoreOptions};
use std::error::Error;
use std::time::{Duration, Instant};

fn layer(i: usize) -> Result<Vec<u8>, Box<dyn Error>> {
    let mut b = tar::Builder::new(Vec::new());
    for f in 0..20 {
        let data = format!("layer {i} file {f}");
        let mut h = tar::Header::new_gnu();
        h.set_mode(0o644);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(0);
        h.set_size(data.len() as u64);
        h.set_entry_type(tar::EntryType::Regular);
        b.append_data(&mut h, format!("l{i}/f{f}"), data.as_bytes())?;
    }
    Ok(b.into_inner()?)
}

fn stats(name: &str, mut v: Vec<Duration>) {
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{name}: median {:.3} ms, p90 {:.3} ms, min {:.3} ms ({} runs)",
        ms(v[v.len() / 2]),
        ms(v[v.len() * 9 / 10]),
        ms(v[0]),
        v.len()
    );
}

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().collect();
    let scratch = args
        .get(1)
        .ok_or("usage: mount_bench <scratch-dir> [runs] [overlay|vfs]")?;
    let runs: usize = args.get(2).map(|r| r.parse()).transpose()?.unwrap_or(200);
    let driver = match args.get(3).map(String::as_str) {
        Some("vfs") => DriverKind::Vfs,
        _ => DriverKind::Overlay,
    };
    let opts = StoreOptions {
        root: format!("{scratch}/store").into(),
        driver: Some(driver),
        sync_layers: false,
    };
    let store = Store::open(opts.clone())?;
    let lease = store.lease()?;
    let mut parent: Option<String> = None;
    for i in 0..10 {
        let l = store.apply_layer(
            &lease,
            parent.as_deref(),
            &layer(i)?[..],
            &Default::default(),
        )?;
        parent = Some(l.id);
    }
    store.create_image(NewImage {
        top_layer: parent,
        names: vec!["ten".into()],
        manifest: b"{}".to_vec(),
        config: b"{\"ten\":1}".to_vec(),
    })?;
    let (mut mount, mut unmount, mut open_mount) = (Vec::new(), Vec::new(), Vec::new());
    let gap = Duration::from_millis(
        std::env::var("GAP_MS")
            .ok()
            .and_then(|g| g.parse().ok())
            .unwrap_or(0),
    );
    for _ in 0..runs {
        std::thread::sleep(gap);
        let t = Instant::now();
        let root = store.mount_image("ten")?;
        mount.push(t.elapsed());
        if !root.join("l0/f0").exists() || !root.join("l9/f19").exists() {
            return Err("mount does not show all ten layers".into());
        }
        let t = Instant::now();
        store.unmount_image("ten", false)?;
        unmount.push(t.elapsed());
        // What a CLI invocation pays: open the store, then mount.
        std::thread::sleep(gap);
        let t = Instant::now();
        let fresh = Store::open(opts.clone())?;
        fresh.mount_image("ten")?;
        open_mount.push(t.elapsed());
        fresh.unmount_image("ten", false)?;
    }
    stats("mount 10-layer image", mount);
    stats("unmount (last, real)", unmount);
    stats("open store + mount", open_mount);
    store.remove_image("ten", true)?;
    Ok(())
}
