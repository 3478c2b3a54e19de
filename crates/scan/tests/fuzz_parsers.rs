//! Mutation fuzzing of every parser that reads bytes from an image or a
//! database: a few hundred mutated inputs per parser per run, from a fixed
//! seed so a failure reproduces. Each input must give a result or a clean
//! error naming the file; none may panic or hang.

use std::cmp::Ordering;
use std::io::Write;
use std::path::Path;

use berth_scan::lang::{read_binary, read_record, LangRecord};
use berth_scan::osv::Database;
use berth_scan::versions::compare;
use berth_scan::{Ecosystem, Inventory, OsRelease, Package};

const ROUNDS: usize = 300;

/// xorshift64*: small, seedable, good enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

/// Tokens that steer mutations towards the parsers' special cases.
const DICT: &[&[u8]] = &[
    b"\n",
    b":",
    b"\t",
    b"\"",
    b"{",
    b"}",
    b"[",
    b"]",
    b",",
    b"@",
    b"~",
    b"-",
    b"+",
    b"!",
    b"\xff",
    b"\x00",
    b"\x80",
    b"version",
    b"dep\t",
    b"=>\t",
    b"node_modules/",
    b"introduced",
    b"fixed",
    b"last_affected",
    b"0",
    b"99999999999999999999999",
    b"-r",
    b"_rc",
    b".post",
    b".dev",
];

fn mutate(rng: &mut Rng, seed: &[u8]) -> Vec<u8> {
    let mut out = seed.to_vec();
    for _ in 0..=rng.below(4) {
        let len = out.len();
        match rng.below(7) {
            0 if len > 0 => {
                let i = rng.below(len);
                out[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                out[i] = rng.next() as u8;
            }
            2 => {
                let i = rng.below(len + 1);
                let t = DICT[rng.below(DICT.len())];
                out.splice(i..i, t.iter().copied());
            }
            3 if len > 0 => {
                let a = rng.below(len);
                let b = (a + rng.below(64)).min(len);
                out.drain(a..b);
            }
            4 if len > 0 => {
                let a = rng.below(len);
                let b = (a + rng.below(64)).min(len);
                let chunk: Vec<u8> = out[a..b].to_vec();
                let at = rng.below(len + 1);
                out.splice(at..at, chunk);
            }
            5 => out.truncate(rng.below(len + 1)),
            _ => {}
        }
    }
    out
}

/// Runs `parse` over ROUNDS mutations of each seed; an `Err` must name `path`.
fn fuzz<T>(
    name: &str,
    seeds: &[&[u8]],
    path: &str,
    mut parse: impl FnMut(&[u8]) -> Result<T, berth_scan::ScanWarning>,
) {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ name.len() as u64);
    let (mut ok, mut err) = (0, 0);
    for seed in seeds {
        // The seeds themselves parse.
        assert!(parse(seed).is_ok(), "{name}: the seed does not parse");
        for _ in 0..ROUNDS {
            let input = mutate(&mut rng, seed);
            match parse(&input) {
                Ok(_) => ok += 1,
                Err(w) => {
                    assert!(
                        w.path.starts_with(path),
                        "{name}: warning names {:?}",
                        w.path
                    );
                    assert!(!w.message.is_empty(), "{name}: empty message");
                    err += 1;
                }
            }
        }
    }
    // Both outcomes occur, or the mutations are not reaching the parser.
    assert!(ok > 0 && err > 0, "{name}: {ok} parsed, {err} rejected");
}

const METADATA: &[u8] = b"Metadata-Version: 2.1\nName: requests\nVersion: 2.28.1\nLicense: Apache 2.0\nClassifier: License :: OSI Approved :: MIT License\n\nbody\n";
const PACKAGE_JSON: &[u8] =
    br#"{"name":"@babel/core","version":"7.22.5","license":"MIT","licenses":[{"type":"MIT"}]}"#;
const LOCK_V1: &[u8] = br#"{"lockfileVersion":1,"dependencies":{"debug":{"version":"4.3.4","dependencies":{"ms":{"version":"2.1.2"}}}}}"#;
const LOCK_V3: &[u8] = br#"{"lockfileVersion":3,"packages":{"":{"name":"app"},"node_modules/a":{"version":"1.0.0","license":"MIT"},"node_modules/a/node_modules/@s/b":{"version":"2.0.0"}}}"#;
const PNPM: &[u8] = b"lockfileVersion: '6.0'\npackages:\n  /@babel/core@7.22.5:\n    resolution: {integrity: x}\n  /react-dom@18.2.0(react@18.2.0):\n    dev: false\n";
const YARN: &[u8] = b"# yarn lockfile v1\n\n\"@babel/code-frame@^7.0.0\", \"@babel/code-frame@^7.22.5\":\n  version \"7.22.5\"\n  dependencies:\n    x \"^1\"\n\nlodash@^4:\n  version \"4.17.21\"\n";

#[test]
fn python_metadata() {
    let path = "/usr/lib/python3/dist-packages/requests-2.28.1.dist-info/METADATA";
    fuzz("METADATA", &[METADATA], path, |d| {
        read_record(LangRecord::PythonMetadata, path, d)
    });
}

#[test]
fn npm_package_json_and_lockfiles() {
    let path = "/app/node_modules/@babel/core/package.json";
    fuzz("package.json", &[PACKAGE_JSON], path, |d| {
        read_record(LangRecord::NpmPackageJson, path, d)
    });
    let path = "/app/package-lock.json";
    fuzz("package-lock", &[LOCK_V1, LOCK_V3], path, |d| {
        read_record(LangRecord::NpmLockfile, path, d)
    });
    let path = "/app/pnpm-lock.yaml";
    fuzz("pnpm-lock", &[PNPM], path, |d| {
        read_record(LangRecord::NpmLockfile, path, d)
    });
    let path = "/app/yarn.lock";
    fuzz("yarn.lock", &[YARN], path, |d| {
        read_record(LangRecord::NpmLockfile, path, d)
    });
}

fn go_blob() -> Vec<u8> {
    let modinfo = "path\tex.com/app\nmod\tex.com/app\tv1.0.0\th1:x=\ndep\tgolang.org/x/net\tv0.10.0\th1:y=\n=>\tgolang.org/x/net\tv0.23.0\th1:z=\n";
    let mut b = b"\xff Go buildinf:\x08\x02".to_vec();
    b.resize(32, 0);
    let mut m = vec![0x30u8; 16];
    m.extend_from_slice(modinfo.as_bytes());
    m.extend([0xf9u8; 16]);
    for s in [&b"go1.21.5"[..], &m[..]] {
        b.push(s.len() as u8 | if s.len() > 127 { 0x80 } else { 0 });
        if s.len() > 127 {
            b.push((s.len() >> 7) as u8);
        }
        b.extend_from_slice(s);
    }
    b
}

#[test]
fn go_build_info_bytes() {
    // /bin/true without its section table (as sstrip leaves a binary), so
    // the appended blob is searched for.
    let mut elf = std::fs::read("/bin/true").unwrap();
    elf[0x28..0x30].fill(0);
    elf[0x3c..0x40].fill(0);
    elf.resize(elf.len().next_multiple_of(16), 0);
    let base = elf.len();
    let blob = go_blob();
    let path = "/usr/bin/app";
    // Mutate only the build-info blob, appended where a stripped binary keeps it.
    fuzz("go buildinfo", &[&blob], path, |d| {
        let mut bin = elf[..base].to_vec();
        bin.extend_from_slice(d);
        let found = read_binary(path, &bin)?;
        // A mangled magic is "no build info", which is no error but not a parse either.
        if found.is_empty() {
            return Err(berth_scan::ScanWarning {
                path: path.into(),
                line: None,
                message: "none".into(),
            });
        }
        Ok(found)
    });
}

#[test]
fn elf_headers() {
    let elf = std::fs::read("/bin/true").unwrap();
    let path = "/usr/bin/true";
    let mut rng = Rng(7);
    for _ in 0..ROUNDS {
        // Mutations confined to the headers, where the section table is found.
        let mut bin = elf.clone();
        for _ in 0..=rng.below(8) {
            let i = rng.below(256.min(bin.len()));
            bin[i] = rng.next() as u8;
        }
        if let Err(w) = read_binary(path, &bin) {
            assert_eq!(w.path, path);
        }
    }
}

#[test]
fn cargo_auditable_json() {
    // The JSON is mutated before compression, so the mutations reach the
    // JSON reader rather than dying in zlib; objcopy puts each in a section.
    let json: &[u8] = br#"{"packages":[{"name":"app","version":"0.1.0","source":"local","dependencies":[1]},{"name":"serde","version":"1.0.188","source":"crates.io","kind":"runtime"}]}"#;
    let dir = tempfile::tempdir().unwrap();
    let (blob, out) = (dir.path().join("blob"), dir.path().join("out"));
    let path = "/usr/bin/app";
    fuzz("dep-v0", &[json], path, |d| {
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
        z.write_all(d).unwrap();
        std::fs::write(&blob, z.finish().unwrap()).unwrap();
        let st = std::process::Command::new("objcopy")
            .arg("--add-section")
            .arg(format!(".dep-v0={}", blob.display()))
            .arg("/bin/true")
            .arg(&out)
            .status()
            .unwrap();
        assert!(st.success());
        read_binary(path, &std::fs::read(&out).unwrap())
    });
}

#[test]
fn java_archives() {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    w.start_file(
        "META-INF/maven/g/a/pom.properties",
        zip::write::SimpleFileOptions::default(),
    )
    .unwrap();
    w.write_all(b"groupId=g\nartifactId=a\nversion=1.0\n")
        .unwrap();
    let jar = w.finish().unwrap().into_inner();
    let path = "/opt/app.jar";
    fuzz("jar", &[&jar], path, |d| {
        read_record(LangRecord::JavaArchive, path, d)
    });
}

#[test]
fn osv_records_and_matching() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/osv");
    let seeds: Vec<Vec<u8>> = [
        "npm/GHSA-35jh-r3h4-6jhm.json",
        "Debian/DSA-5514-1.json",
        "Go/GO-2024-2687.json",
    ]
    .iter()
    .map(|f| std::fs::read(dir.join(f)).unwrap())
    .collect();
    let inv = Inventory {
        os: Some(OsRelease {
            id: "debian".into(),
            version_id: Some("12".into()),
            ..Default::default()
        }),
        packages: vec![
            Package {
                name: "libc6".into(),
                version: "2.36-9".into(),
                ecosystem: Ecosystem::Debian,
                arch: None,
                source: Some("glibc".into()),
                source_version: None,
                licenses: vec![],
                files: vec![],
                location: "/var/lib/dpkg/status".into(),
                layer: None,
            },
            Package {
                name: "lodash".into(),
                version: "4.17.20".into(),
                ecosystem: Ecosystem::Npm,
                arch: None,
                source: None,
                source_version: None,
                licenses: vec![],
                files: vec![],
                location: "/x".into(),
                layer: None,
            },
        ],
        ..Default::default()
    };
    let mut rng = Rng(42);
    let mut db = Database::default();
    for (i, seed) in seeds.iter().enumerate() {
        for j in 0..ROUNDS {
            let name = format!("/db/{i}-{j}.json");
            db.add(Path::new(&name), &mutate(&mut rng, seed));
        }
    }
    assert!(db
        .errors()
        .iter()
        .all(|e| e.path.starts_with("/db") && !e.message.is_empty()));
    assert!(!db.errors().is_empty() && !db.is_empty());
    // Matching over whatever loaded must not panic either.
    let _ = db.matches(&inv);
}

#[test]
fn version_orderings_are_total_and_antisymmetric() {
    let seeds = [
        "1:2.36-9+deb12u3",
        "1.36.1-r1",
        "1.0_rc1_p2",
        "1!2.0rc1.post3.dev4+local.7",
        "v0.0.0-20230101-abc",
        "1.0.0-alpha.1+build",
        "1.0-SNAPSHOT",
        "3.0.7-24.el9~rc1^git",
    ];
    let ecos = [
        Ecosystem::Debian,
        Ecosystem::Alpine,
        Ecosystem::Rpm,
        Ecosystem::PyPI,
        Ecosystem::Npm,
        Ecosystem::CratesIo,
        Ecosystem::Go,
        Ecosystem::Maven,
    ];
    let mut rng = Rng(3);
    for _ in 0..ROUNDS {
        let (i, j) = (rng.below(seeds.len()), rng.below(seeds.len()));
        let a = String::from_utf8_lossy(&mutate(&mut rng, seeds[i].as_bytes())).into_owned();
        let b = String::from_utf8_lossy(&mutate(&mut rng, seeds[j].as_bytes())).into_owned();
        for eco in ecos {
            let ab = compare(eco, &a, &b);
            assert_eq!(
                ab,
                compare(eco, &b, &a).reverse(),
                "{eco:?}: {a:?} vs {b:?}"
            );
            assert_eq!(compare(eco, &a, &a), Ordering::Equal, "{eco:?}: {a:?}");
        }
    }
}
