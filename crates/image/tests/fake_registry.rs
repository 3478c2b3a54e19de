//! A registry that misbehaves, which no real one can be made to do: it
//! lies about a digest, truncates a blob, serves an unknown manifest type
//! or an index without our platform, drops a connection once mid-blob, and
//! wants a bearer token from its own token endpoint. Each failure must be
//! a clear error naming the blob, with nothing stored.

use berth_image::progress::NoProgress;
use berth_image::{Context, RegistriesConf};
use berth_storage::{Store, StoreOptions};
use berth_testkit::require;
use sha2::{Digest as _, Sha256};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

fn sha(d: &[u8]) -> String {
    format!("sha256:{:x}", Sha256::digest(d))
}

#[derive(Clone, Copy, PartialEq)]
enum Misbehave {
    None,
    LieAboutLayer,
    TruncateLayer,
    DropOnce,
    Bearer,
}

struct Fake {
    addr: String,
    hits: Arc<AtomicUsize>,
}

fn serve(mode: Misbehave, blobs: HashMap<String, Vec<u8>>, manifest: (Vec<u8>, String)) -> Fake {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    let hits = Arc::new(AtomicUsize::new(0));
    let dropped = Arc::new(Mutex::new(false));
    let h = hits.clone();
    std::thread::spawn(move || {
        for s in l.incoming().flatten() {
            let (blobs, manifest, h, dropped) =
                (blobs.clone(), manifest.clone(), h.clone(), dropped.clone());
            std::thread::spawn(move || handle(s, mode, &blobs, &manifest, &h, &dropped));
        }
    });
    Fake { addr, hits }
}

fn handle(
    mut s: TcpStream,
    mode: Misbehave,
    blobs: &HashMap<String, Vec<u8>>,
    manifest: &(Vec<u8>, String),
    hits: &AtomicUsize,
    dropped: &Mutex<bool>,
) {
    let mut r = BufReader::new(s.try_clone().unwrap());
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
        let mut headers = HashMap::new();
        loop {
            let mut h = String::new();
            if r.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            if h.trim().is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
            }
        }
        hits.fetch_add(1, Ordering::SeqCst);
        let reply = |s: &mut TcpStream, status: &str, extra: &str, body: &[u8]| {
            let _ = write!(
                s,
                "HTTP/1.1 {status}\r\nContent-Length: {}\r\n{extra}\r\n",
                body.len()
            );
            let _ = s.write_all(body);
        };
        if path.starts_with("/token") {
            reply(
                &mut s,
                "200 OK",
                "Content-Type: application/json\r\n",
                br#"{"token":"t0k3n"}"#,
            );
            continue;
        }
        if mode == Misbehave::Bearer
            && headers.get("authorization").map(String::as_str) != Some("Bearer t0k3n")
        {
            let addr = s.local_addr().unwrap();
            let ch = format!(
                "WWW-Authenticate: Bearer realm=\"http://{addr}/token\",service=\"fake\"\r\n"
            );
            reply(&mut s, "401 Unauthorized", &ch, b"");
            continue;
        }
        if path.contains("/manifests/") {
            reply(
                &mut s,
                "200 OK",
                &format!("Content-Type: {}\r\n", manifest.1),
                &manifest.0,
            );
            continue;
        }
        if path.contains("/tags/list") {
            reply(&mut s, "200 OK", "", br#"{"tags":["1"]}"#);
            continue;
        }
        let blob = path.split("/blobs/").nth(1).and_then(|d| blobs.get(d));
        let Some(blob) = blob else {
            reply(&mut s, "404 Not Found", "", b"");
            continue;
        };
        let is_layer = blob.len() > 1000;
        let mut body = blob.clone();
        if is_layer && mode == Misbehave::LieAboutLayer {
            let n = body.len();
            body[n - 10] ^= 0x55;
        }
        let offset: usize = headers
            .get("range")
            .and_then(|r| r.strip_prefix("bytes=")?.strip_suffix('-')?.parse().ok())
            .unwrap_or(0);
        let (status, part) = if offset > 0 {
            ("206 Partial Content", &body[offset..])
        } else {
            ("200 OK", &body[..])
        };
        let _ = write!(
            s,
            "HTTP/1.1 {status}\r\nContent-Length: {}\r\n\r\n",
            part.len()
        );
        let drop_now = mode == Misbehave::TruncateLayer
            || (mode == Misbehave::DropOnce
                && !std::mem::replace(&mut *dropped.lock().unwrap(), true));
        if is_layer && drop_now {
            let _ = s.write_all(&part[..part.len() / 2]);
            return; // connection closed mid-body
        }
        let _ = s.write_all(part);
    }
}

struct Fixture {
    blobs: HashMap<String, Vec<u8>>,
    manifest: Vec<u8>,
    layer_digest: String,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let l = berth_testkit::write_oci_layout(dir.path(), "1").unwrap();
    let mut blobs = HashMap::new();
    for e in std::fs::read_dir(dir.path().join("blobs/sha256"))
        .unwrap()
        .flatten()
    {
        let data = std::fs::read(e.path()).unwrap();
        blobs.insert(sha(&data), data);
    }
    Fixture {
        manifest: blobs[&l.manifest_digest].clone(),
        blobs,
        layer_digest: l.layer_digest,
    }
}

fn ctx_for(addr: &str) -> Context {
    let conf = RegistriesConf::parse(
        &format!(
            "unqualified-search-registries = []\n[[registry]]\nlocation = \"{addr}\"\ninsecure = true\n"
        ),
        std::path::Path::new("test"),
    )
    .unwrap();
    Context {
        conf,
        auth_file: "/nonexistent/auth.json".into(),
        auth_file_named: true,
        // Never the machine's policy.json.
        policy: berth_image::PolicySource::Given(berth_image::Policy::default()),
        ..Context::default()
    }
}

fn store() -> (tempfile::TempDir, Store) {
    let d = tempfile::tempdir_in("/dev/shm")
        .or_else(|_| tempfile::tempdir())
        .unwrap();
    let s = Store::open(StoreOptions::at(d.path().join("root"))).unwrap();
    (d, s)
}

fn assert_nothing_stored(s: &Store) {
    assert!(s.images().unwrap().is_empty(), "an image was stored");
    assert!(s.layers().unwrap().is_empty(), "a layer was stored");
}

type Pulled = (
    Result<(), berth_image::Error>,
    Store,
    tempfile::TempDir,
    Fixture,
    Fake,
);

fn pull(mode: Misbehave, manifest: Option<(Vec<u8>, String)>) -> Pulled {
    let f = fixture();
    let m = manifest.unwrap_or((
        f.manifest.clone(),
        "application/vnd.oci.image.manifest.v1+json".into(),
    ));
    let fake = serve(mode, f.blobs.clone(), m);
    let (d, s) = store();
    let r = berth_image::pull(
        &ctx_for(&fake.addr),
        &s,
        &format!("{}/x/busybox:1", fake.addr),
        &NoProgress,
    )
    .map(|_| ());
    (r, s, d, f, fake)
}

fn root_ok() -> bool {
    berth_testkit::is_root()
}

#[test]
fn lying_registry_digest_mismatch_names_blob() {
    require!(root_ok(), "needs root");
    let (r, s, _d, f, _) = pull(Misbehave::LieAboutLayer, None);
    let e = r.unwrap_err().to_string();
    assert!(
        e.contains(&f.layer_digest) && e.contains("digest mismatch"),
        "{e}"
    );
    assert_nothing_stored(&s);
}

#[test]
fn truncated_blob_fails_after_retries() {
    require!(root_ok(), "needs root");
    let (r, s, _d, f, _) = pull(Misbehave::TruncateLayer, None);
    let e = r.unwrap_err().to_string();
    assert!(
        e.contains(&f.layer_digest) && e.contains("truncated"),
        "{e}"
    );
    assert_nothing_stored(&s);
}

#[test]
fn dropped_connection_resumes_with_range() {
    require!(root_ok(), "needs root");
    let (r, s, _d, _f, _) = pull(Misbehave::DropOnce, None);
    r.unwrap();
    assert_eq!(s.images().unwrap().len(), 1);
}

#[test]
fn unknown_manifest_media_type() {
    require!(root_ok(), "needs root");
    let weird = br#"{"schemaVersion":1,"mediaType":"application/x-weird"}"#.to_vec();
    let (r, s, _d, _f, _) = pull(Misbehave::None, Some((weird, "application/x-weird".into())));
    let e = r.unwrap_err().to_string();
    assert!(
        e.contains("unsupported manifest media type") && e.contains("application/x-weird"),
        "{e}"
    );
    assert_nothing_stored(&s);
}

#[test]
fn index_without_matching_platform() {
    require!(root_ok(), "needs root");
    let f = fixture();
    let index = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": sha(&f.manifest), "size": f.manifest.len(),
            "platform": {"os": "linux", "architecture": "s390x"}}]
    });
    let (r, s, _d, _f, _) = pull(
        Misbehave::None,
        Some((
            serde_json::to_vec(&index).unwrap(),
            "application/vnd.oci.image.index.v1+json".into(),
        )),
    );
    let e = r.unwrap_err().to_string();
    assert!(
        e.contains("no image for platform") && e.contains("linux/s390x"),
        "{e}"
    );
    assert_nothing_stored(&s);
}

#[test]
fn bearer_token_from_challenge() {
    require!(root_ok(), "needs root");
    let (r, s, _d, _f, fake) = pull(Misbehave::Bearer, None);
    r.unwrap();
    assert_eq!(s.images().unwrap().len(), 1);
    let v = berth_image::inspect_remote(
        &ctx_for(&fake.addr),
        &format!("{}/x/busybox:1", fake.addr),
        true,
    )
    .unwrap();
    assert_eq!(v["RepoTags"], serde_json::json!(["1"]));
    assert!(fake.hits.load(Ordering::SeqCst) > 3);
}
