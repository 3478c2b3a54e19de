//! Many real processes on one store: a stress test of concurrent
//! create/mount/unmount/delete, and SIGKILL in the middle of a layer apply
//! and of an image delete. Children are this test binary run again with
//! `BERTH_STORAGE_CHILD` set, which makes `child_process` do the work.

mod common;

use berth_storage::{DriverKind, NewImage, Store, StoreOptions};
use common::*;
use std::collections::BTreeSet;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const CHILD: &str = "BERTH_STORAGE_CHILD";

fn spawn(role: &str, args: &[String]) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "child_process",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, role)
        .env("BERTH_STORAGE_ARGS", args.join("\u{1}"))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap()
}

fn open(root: &Path, kind: DriverKind) -> Store {
    Store::open(StoreOptions {
        root: root.to_path_buf(),
        driver: Some(kind),
        sync_layers: false,
    })
    .unwrap()
}

fn kind_of(s: &str) -> DriverKind {
    if s == "overlay" {
        DriverKind::Overlay
    } else {
        DriverKind::Vfs
    }
}

/// The layer tars the stress workers share: the same name gives the same
/// bytes in every process, so the same layer.
fn layer_tar(name: &str, files: usize) -> Vec<u8> {
    let mut b = TarBuilder::new().dir(name, 0o755);
    for i in 0..files {
        b = b.file(&format!("{name}/f{i}"), format!("{name}:{i}").as_bytes());
    }
    b.build()
}

fn chain_for(worker: usize, n: usize) -> Vec<(String, Vec<u8>)> {
    let mid = format!("mid{}", (worker + n) % 3);
    let top = format!("top-w{worker}-n{n}");
    vec![
        ("base".to_string(), layer_tar("base", 50)),
        (mid.clone(), layer_tar(&mid, 20)),
        (top.clone(), layer_tar(&top, 5)),
    ]
}

/// A tiny deterministic PRNG (xorshift) so each worker's choices vary.
struct Rng(u64);
impl Rng {
    fn next(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

fn stress_worker(root: &Path, kind: DriverKind, worker: usize, iterations: usize) {
    let store = open(root, kind);
    let mut rng = Rng(0x9e3779b97f4a7c15 ^ (worker as u64 + 1).wrapping_mul(0x2545f4914f6cdd1d));
    let mut mine: Vec<(String, usize)> = Vec::new();
    for n in 0..iterations {
        match rng.next(4) {
            0 | 1 => {
                let name = format!("w{worker}-n{n}");
                let lease = store.lease().unwrap();
                let mut parent: Option<String> = None;
                for (_, tar) in chain_for(worker, n) {
                    let l = store
                        .apply_layer(&lease, parent.as_deref(), &tar[..], &Default::default())
                        .unwrap();
                    parent = Some(l.id);
                }
                store
                    .create_image(NewImage {
                        top_layer: parent,
                        names: vec![name.clone()],
                        manifest: name.as_bytes().to_vec(),
                        config: name.as_bytes().to_vec(),
                    })
                    .unwrap();
                drop(lease);
                mine.push((name, n));
            }
            2 if !mine.is_empty() => {
                let (name, n) = mine[rng.next(mine.len())].clone();
                let root = store.mount_image(&name).unwrap();
                let top = format!("top-w{worker}-n{n}");
                assert_eq!(
                    fs::read(root.join(format!("{top}/f0"))).unwrap(),
                    format!("{top}:0").as_bytes()
                );
                assert!(root.join("base/f49").exists());
                store.unmount_image(&name, false).unwrap();
            }
            3 if !mine.is_empty() => {
                let (name, _) = mine.remove(rng.next(mine.len()));
                store.remove_image(&name, false).unwrap();
            }
            _ => {}
        }
    }
    let names: Vec<&str> = mine.iter().map(|(n, _)| n.as_str()).collect();
    println!("SURVIVORS {}", names.join(" "));
}

/// Apply a layer whose stream trickles in, so a kill lands mid-apply.
fn slow_apply(root: &Path, kind: DriverKind) {
    struct Slow(std::io::Cursor<Vec<u8>>);
    impl Read for Slow {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            std::thread::sleep(Duration::from_millis(2));
            let n = buf.len().min(4096);
            self.0.read(&mut buf[..n])
        }
    }
    let store = open(root, kind);
    let tar = layer_tar("slow", 3000);
    let lease = store.lease().unwrap();
    store
        .apply_layer(
            &lease,
            None,
            Slow(std::io::Cursor::new(tar)),
            &Default::default(),
        )
        .unwrap();
    println!("APPLIED");
}

#[test]
fn child_process() {
    let Ok(role) = std::env::var(CHILD) else {
        return;
    };
    let args: Vec<String> = std::env::var("BERTH_STORAGE_ARGS")
        .unwrap()
        .split('\u{1}')
        .map(str::to_string)
        .collect();
    let root = PathBuf::from(&args[0]);
    let kind = kind_of(&args[1]);
    match role.as_str() {
        "stress" => stress_worker(
            &root,
            kind,
            args[2].parse().unwrap(),
            args[3].parse().unwrap(),
        ),
        "apply" => slow_apply(&root, kind),
        "mount" => {
            let path = open(&root, kind).mount_image(&args[2]).unwrap();
            println!("MOUNTED {}", path.display());
        }
        "delete" => {
            let store = open(&root, kind);
            println!("READY");
            std::io::Write::flush(&mut std::io::stdout()).unwrap();
            store.remove_image(&args[2], false).unwrap();
            println!("DELETED");
        }
        "writer" => {
            let store = open(&root, kind);
            store.add_image_name(&args[2], "localhost/held:1").unwrap();
            println!("WROTE");
            std::io::Write::flush(&mut std::io::stdout()).unwrap();
            std::thread::sleep(Duration::from_secs(600));
        }
        other => panic!("unknown role {other}"),
    }
}

fn kinds() -> Vec<DriverKind> {
    vec![DriverKind::Overlay, DriverKind::Vfs]
}

/// ≥8 processes create, mount, unmount and delete images sharing layers;
/// afterwards the store holds exactly the images the workers kept, every
/// one complete, and no layer that nothing uses.
#[test]
fn stress_eight_processes_share_a_store() {
    for kind in kinds() {
        let Some(s) = store(kind) else { continue };
        let root = s.root();
        let workers: Vec<Child> = (0..8)
            .map(|w| {
                spawn(
                    "stress",
                    &[
                        root.display().to_string(),
                        kind.name().into(),
                        w.to_string(),
                        "12".into(),
                    ],
                )
            })
            .collect();
        let mut expected = BTreeSet::new();
        for child in workers {
            let out = child.wait_with_output().unwrap();
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert!(out.status.success(), "worker failed: {stdout}");
            let line = stdout
                .lines()
                .find_map(|l| l.split_once("SURVIVORS").map(|(_, rest)| rest))
                .unwrap_or_else(|| panic!("no survivors line in {stdout}"));
            expected.extend(line.split_whitespace().map(str::to_string));
        }
        let store = s.reopen();
        let images = store.images().unwrap();
        let actual: BTreeSet<String> = images.iter().flat_map(|i| i.names.clone()).collect();
        assert_eq!(
            actual,
            expected,
            "{}: images match the surviving operations",
            kind.name()
        );
        let mut used = BTreeSet::new();
        let layers = store.layers().unwrap();
        for image in &images {
            let mut next = image.top_layer.clone();
            while let Some(id) = next {
                let l = layers.iter().find(|l| l.id == id).expect("chain complete");
                used.insert(id.clone());
                next = l.parent.clone();
            }
            let name = &image.names[0];
            let root = store.mount_image(name).unwrap();
            let (w, n) = name[1..].split_once("-n").unwrap();
            let top = format!("top-w{w}-n{n}");
            assert!(root.join(format!("{top}/f4")).exists(), "{name} complete");
            store.unmount_image(name, false).unwrap();
        }
        let all: BTreeSet<String> = layers.iter().map(|l| l.id.clone()).collect();
        assert_eq!(
            all,
            used,
            "{}: no layer left that no image uses",
            kind.name()
        );
        assert!(store.gc().unwrap().is_empty());
        assert!(
            fs::read_dir(root.join("leases")).unwrap().next().is_none(),
            "leases released"
        );
    }
}

fn wait_for(mut cond: impl FnMut() -> bool, what: &str) {
    let start = Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn kill(child: &mut Child) {
    rustix::process::kill_process(
        rustix::process::Pid::from_child(child),
        rustix::process::Signal::KILL,
    )
    .unwrap();
    child.wait().unwrap();
}

/// SIGKILL while a layer is being applied: the next open removes the
/// partial layer; a complete image made before is untouched.
#[test]
fn sigkill_during_layer_apply_is_repaired() {
    for kind in kinds() {
        let Some(s) = store(kind) else { continue };
        image(&s, "survivor", &[layer_tar("keep", 10)]);
        let root = s.root();
        let mut child = spawn("apply", &[root.display().to_string(), kind.name().into()]);
        let staging = root.join("staging");
        // Wait until the child has written part of the layer.
        wait_for(
            || {
                fs::read_dir(&staging)
                    .unwrap()
                    .flatten()
                    .filter(|e| e.path().is_dir())
                    .any(|e| count_files(&e.path()) > 200)
            },
            "a partly applied layer",
        );
        kill(&mut child);
        assert!(
            fs::read_dir(&staging).unwrap().next().is_some(),
            "the kill left a partial layer"
        );
        let store = s.reopen();
        assert!(
            fs::read_dir(&staging).unwrap().next().is_none(),
            "{}: partial layer removed",
            kind.name()
        );
        assert_eq!(store.layers().unwrap().len(), 1, "only the complete layer");
        let mnt = store.mount_image("survivor").unwrap();
        assert!(mnt.join("keep/f9").exists());
        store.unmount_image("survivor", false).unwrap();
        let content: Vec<_> = fs::read_dir(root.join(kind.name()))
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n != "l" && n != "empty")
            .collect();
        assert_eq!(content.len(), 1, "no orphan layer content: {content:?}");
    }
}

fn count_files(dir: &Path) -> usize {
    let mut n = 0;
    if let Ok(rd) = fs::read_dir(dir) {
        for e in rd.flatten() {
            n += 1;
            if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                n += count_files(&e.path());
            }
        }
    }
    n
}

const FILES: usize = 1000;

/// SIGKILL at various points of an image delete: after the next open the
/// image is either whole or gone, nothing half-deleted is visible, and
/// collection leaves no orphan layer.
#[test]
fn sigkill_during_image_delete_is_repaired() {
    for kind in kinds() {
        let Some(s) = store(kind) else { continue };
        let root = s.root();
        let mut outcomes = BTreeSet::new();
        for (i, delay_us) in [0u64, 300, 1000, 3000, 10000, 30000]
            .into_iter()
            .enumerate()
        {
            let name = format!("doomed{i}");
            let store = s.reopen();
            let chain = [
                layer_tar(&format!("a{i}"), FILES),
                layer_tar(&format!("b{i}"), FILES),
            ];
            image(&store, &name, &chain);
            let mut child = spawn(
                "delete",
                &[root.display().to_string(), kind.name().into(), name.clone()],
            );
            // Kill at a point of the delete itself, not of process start-up.
            let mut line = String::new();
            let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
            while !line.contains("READY") {
                line.clear();
                assert!(
                    std::io::BufRead::read_line(&mut out, &mut line).unwrap() > 0,
                    "child died"
                );
            }
            std::thread::sleep(Duration::from_micros(delay_us));
            kill(&mut child);
            let store = s.reopen();
            assert!(
                fs::read_dir(root.join("trash")).unwrap().next().is_none(),
                "trash emptied by the next open"
            );
            for dir in ["images", "layers"] {
                for e in fs::read_dir(root.join(dir)).unwrap().flatten() {
                    let n = e.file_name().to_string_lossy().into_owned();
                    assert!(
                        !n.starts_with(".del-") && !n.starts_with(".tmp-"),
                        "leftover {n}"
                    );
                }
            }
            match store.image(&name) {
                Ok(img) => {
                    outcomes.insert("image intact");
                    let mnt = store.mount_image(&img.id).unwrap();

                    assert_eq!(
                        count_files(&mnt),
                        2 * (FILES + 1),
                        "image complete after the kill"
                    );
                    store.unmount_image(&img.id, false).unwrap();
                    store.remove_image(&img.id, false).unwrap();
                }
                Err(_) => {
                    outcomes.insert("image gone");
                    store.gc().unwrap();
                }
            }
            assert!(
                store.layers().unwrap().is_empty(),
                "no layer left after delete/gc"
            );
            let content: Vec<_> = fs::read_dir(root.join(kind.name()))
                .unwrap()
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n != "l" && n != "empty")
                .collect();
            assert!(content.is_empty(), "no orphan layer content: {content:?}");
        }
        eprintln!("{}: outcomes of killed deletes: {outcomes:?}", kind.name());
    }
}

/// Readers do not wait for a writer, and writers wait only for what they
/// touch: while another process is in the middle of applying a big layer,
/// this one lists, mounts, unmounts and even creates another image at once.
#[test]
fn apply_in_another_process_blocks_nobody() {
    for kind in kinds() {
        let Some(s) = store(kind) else { continue };
        image(&s, "ready", &[layer_tar("r", 5)]);
        let root = s.root();
        let mut child = spawn("apply", &[root.display().to_string(), kind.name().into()]);
        let staging = root.join("staging");
        wait_for(
            || {
                fs::read_dir(&staging)
                    .unwrap()
                    .flatten()
                    .filter(|e| e.path().is_dir())
                    .any(|e| count_files(&e.path()) > 100)
            },
            "the other process to be applying",
        );
        let start = Instant::now();
        for _ in 0..10 {
            assert_eq!(s.images().unwrap().len(), 1);
            let mnt = s.mount_image("ready").unwrap();
            assert!(mnt.join("r/f4").exists());
            s.unmount_image("ready", false).unwrap();
        }
        image(&s, "other", &[layer_tar("o", 5)]);
        let took = start.elapsed();
        assert!(
            child.try_wait().unwrap().is_none(),
            "the apply was still running"
        );
        assert!(
            took < Duration::from_secs(2),
            "{}: readers waited {took:?}",
            kind.name()
        );
        kill(&mut child);
    }
}

/// Mount counts are shared by processes: one process mounts and exits, the
/// mount stays; this one mounts and unmounts twice; only the last unmount
/// of all really unmounts, and removal is refused until then.
#[test]
fn mount_counts_span_processes() {
    for kind in kinds() {
        let Some(s) = store(kind) else { continue };
        image(&s, "shared", &[layer_tar("s", 3)]);
        let root = s.root();
        let out = spawn(
            "mount",
            &[
                root.display().to_string(),
                kind.name().into(),
                "shared".into(),
            ],
        )
        .wait_with_output()
        .unwrap();
        assert!(out.status.success());
        let stdout = String::from_utf8_lossy(&out.stdout);
        let path = stdout
            .lines()
            .find_map(|l| l.split_once("MOUNTED ").map(|(_, p)| PathBuf::from(p)))
            .expect("child mounted");
        assert!(
            path.join("s/f2").exists(),
            "mount outlives the process that made it"
        );
        assert_eq!(s.image_mounts("shared").unwrap(), 1);
        assert_eq!(s.mount_image("shared").unwrap(), path);
        assert_eq!(s.unmount_image("shared", false).unwrap(), 1);
        assert!(
            path.join("s/f2").exists(),
            "still mounted for the other process"
        );
        let err = s.remove_image("shared", false).unwrap_err();
        assert!(err.to_string().contains("in use by 1 mount(s)"), "{err}");
        assert_eq!(s.unmount_image("shared", false).unwrap(), 0);
        assert!(!path.join("s/f2").exists(), "the last unmount unmounts");
        s.remove_image("shared", false).unwrap();
    }
}

/// A mount count that is not a number is an error naming the file, not 0
/// (which would mount again on top of the live mount); a forced unmount
/// still undoes it.
#[test]
fn a_corrupt_mount_count_is_an_error() {
    for kind in kinds() {
        let Some(s) = store(kind) else { continue };
        let img = image(&s, "counted", &[layer_tar("c", 2)]);
        let path = s.mount_image("counted").unwrap();
        let layer = img.top_layer.clone().unwrap();
        let count = s.root().join("mounts").join(&layer).join("count");
        fs::write(&count, "garbage").unwrap();
        let err = s.mount_image("counted").unwrap_err().to_string();
        assert!(
            err.contains("corrupt mount count") && err.contains("count"),
            "{err}"
        );
        assert!(path.join("c/f0").exists(), "the live mount was touched");
        assert_eq!(s.unmount_image("counted", true).unwrap(), 0);
        let mounts = fs::read_to_string("/proc/mounts").unwrap();
        assert!(!mounts.contains(path.to_str().unwrap()), "still mounted");
    }
}

/// Read the child's output up to a line holding `word` (the test
/// harness prints its own lines first).
fn wait_for_word(child: &mut Child, word: &str) {
    let out = child.stdout.as_mut().unwrap();
    let mut seen = Vec::new();
    let mut byte = [0u8];
    while !String::from_utf8_lossy(&seen).contains(word) {
        assert_eq!(out.read(&mut byte).unwrap(), 1, "the child ended early");
        seen.push(byte[0]);
    }
}

/// A writer's open files are its own while it lives, and the next open
/// after it died repairs what it may have left: a leftover temp file of a
/// record goes, but only once the writer is dead.
#[test]
fn open_repairs_only_after_a_writer_died() {
    for kind in kinds() {
        let Some(s) = store(kind) else { continue };
        image(&s, "base", &[layer_tar("base", 2)]);
        let root = s.root();
        let mut child = spawn(
            "writer",
            &[
                root.display().to_string(),
                kind.name().into(),
                "base".into(),
            ],
        );
        wait_for_word(&mut child, "WROTE");
        // What a write the writer is in the middle of looks like.
        let leftover = root.join("images/.tmp-in-progress");
        fs::create_dir(&leftover).unwrap();
        drop(s.reopen());
        assert!(
            leftover.exists(),
            "{}: a live writer's file kept",
            kind.name()
        );
        kill(&mut child);
        let store = s.reopen();
        assert!(
            !leftover.exists(),
            "{}: the dead writer's leftover removed",
            kind.name()
        );
        assert!(
            store
                .image("base")
                .unwrap()
                .names
                .iter()
                .any(|n| n == "localhost/held:1"),
            "its completed change kept"
        );
        let ours = format!("{}-", std::process::id());
        let markers: Vec<String> = fs::read_dir(root.join("writers"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(
            markers.iter().all(|m| m.starts_with(&ours)),
            "the dead writer's marker went with the repair: {markers:?}"
        );
    }
}

/// Opening a store never waits behind a writer: a reader's open takes no
/// lock, where it used to take all three exclusively for a repair scan.
#[test]
fn open_does_not_wait_for_a_writer() {
    let Some(s) = store(DriverKind::Vfs) else {
        return;
    };
    let lock = fs::File::open(s.root().join("containers.lock")).unwrap();
    rustix::fs::flock(&lock, rustix::fs::FlockOperation::LockExclusive).unwrap();
    let root = s.root();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let store = open(&root, DriverKind::Vfs);
        tx.send(store.driver_kind()).unwrap();
    });
    let opened = rx.recv_timeout(Duration::from_secs(10));
    drop(lock);
    assert_eq!(
        opened,
        Ok(DriverKind::Vfs),
        "open waited for the containers lock"
    );
}
