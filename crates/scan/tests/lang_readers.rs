//! The language readers on planted bytes: Python metadata, npm manifests
//! and lockfiles, Java archives built here, Go build info of a real
//! binary of this host and of binaries given sections with objcopy.

use std::io::Write;
use std::process::Command;

use berth_scan::lang::{classify, read_binary, read_record, required_file, LangRecord};
use berth_scan::{Ecosystem, Package};

fn names(pkgs: &[Package]) -> Vec<(String, String)> {
    let mut v: Vec<_> = pkgs
        .iter()
        .map(|p| (p.name.clone(), p.version.clone()))
        .collect();
    v.sort();
    v
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut v: Vec<_> = list
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    v.sort();
    v
}

#[test]
fn classify_by_path() {
    use LangRecord::*;
    for (path, want) in [
        (
            "/usr/lib/python3/dist-packages/requests-2.28.1.dist-info/METADATA",
            Some(PythonMetadata),
        ),
        (
            "/usr/lib/python3/dist-packages/six-1.16.0.egg-info/PKG-INFO",
            Some(PythonPkgInfo),
        ),
        (
            "/usr/lib/python3/dist-packages/distro_info-1.5.egg-info",
            Some(PythonPkgInfo),
        ),
        (
            "/app/node_modules/lodash/package.json",
            Some(NpmPackageJson),
        ),
        (
            "/app/node_modules/@babel/core/package.json",
            Some(NpmPackageJson),
        ),
        (
            "/app/node_modules/a/node_modules/b/package.json",
            Some(NpmPackageJson),
        ),
        ("/app/package.json", None),
        ("/app/node_modules/lodash/fp/package.json", None),
        ("/app/package-lock.json", Some(NpmLockfile)),
        ("/app/yarn.lock", Some(NpmLockfile)),
        ("/app/node_modules/.package-lock.json", Some(NpmLockfile)),
        ("/app/pnpm-lock.yaml", Some(NpmLockfile)),
        ("/app/node_modules/x/package-lock.json", None),
        ("/opt/app/lib/log4j-core-2.17.1.jar", Some(JavaArchive)),
        ("/srv/app.war", Some(JavaArchive)),
        (
            "/usr/lib/python3/dist-packages/requests-2.28.1.dist-info/RECORD",
            None,
        ),
        ("/usr/bin/runc", None),
    ] {
        assert_eq!(classify(path), want, "{path}");
    }
    assert_eq!(
        required_file("/usr/lib/python3/site-packages/x-1.0.dist-info"),
        Some("METADATA")
    );
    assert_eq!(
        required_file("/usr/lib/python3/site-packages/x-1.0.dist-info/"),
        Some("METADATA")
    );
    assert_eq!(
        required_file("/usr/lib/python3/site-packages/x-1.0.egg-info"),
        Some("PKG-INFO")
    );
    assert_eq!(required_file("/usr/lib/python3/site-packages/x"), None);
}

const METADATA: &str = "Metadata-Version: 2.1
Name: requests
Version: 2.28.1
Summary: Python HTTP for Humans.
License: Apache 2.0
Classifier: License :: OSI Approved :: Apache Software License
Requires-Dist: idna (<4,>=2.5)
Description-Content-Type: text/markdown

# Requests
License: not a header, this is the body
";

#[test]
fn python_dist_info_and_egg_info() {
    let path = "/usr/lib/python3/dist-packages/requests-2.28.1.dist-info/METADATA";
    let pkgs = read_record(LangRecord::PythonMetadata, path, METADATA.as_bytes()).unwrap();
    assert_eq!(pkgs.len(), 1);
    let p = &pkgs[0];
    assert_eq!(
        (p.name.as_str(), p.version.as_str(), p.ecosystem),
        ("requests", "2.28.1", Ecosystem::PyPI)
    );
    assert_eq!(p.licenses, ["Apache 2.0"]);
    assert_eq!(p.location, path);

    // PEP 639's License-Expression wins over the classifiers.
    let pep639 = "Metadata-Version: 2.4\nName: attrs\nVersion: 23.1.0\nLicense-Expression: MIT\nClassifier: License :: OSI Approved :: MIT License\n";
    let p = &read_record(
        LangRecord::PythonMetadata,
        "/x.dist-info/METADATA",
        pep639.as_bytes(),
    )
    .unwrap()[0];
    assert_eq!(p.licenses, ["MIT"]);

    // Classifiers when the License header is the whole licence text.
    let long = "Metadata-Version: 1.2\nName: six\nVersion: 1.16.0\nLicense: Copyright (c) 2010-2020 Benjamin Peterson\n        Permission is hereby granted, free of charge\nClassifier: License :: OSI Approved :: MIT License\nClassifier: Programming Language :: Python :: 3\n";
    let p = &read_record(
        LangRecord::PythonPkgInfo,
        "/six-1.16.0.egg-info",
        long.as_bytes(),
    )
    .unwrap()[0];
    assert_eq!((p.name.as_str(), p.version.as_str()), ("six", "1.16.0"));
    assert_eq!(p.licenses, ["MIT"]);
}

#[test]
fn python_bad_metadata_names_file_and_line() {
    let path = "/usr/lib/python3/dist-packages/bad-1.0.dist-info/METADATA";
    let err = read_record(
        LangRecord::PythonMetadata,
        path,
        b"Metadata-Version: 2.1\nVersion: 1.0\n",
    )
    .unwrap_err();
    assert_eq!(err.path, path);
    assert!(err.message.contains("no Name"), "{}", err.message);

    let err = read_record(
        LangRecord::PythonMetadata,
        path,
        b"Name: x\nVersion: 1\nthis is no header\n",
    )
    .unwrap_err();
    assert_eq!((err.path.as_str(), err.line), (path, Some(3)));

    let err = read_record(
        LangRecord::PythonMetadata,
        path,
        b"Name: x\nVersion: \xff\n",
    )
    .unwrap_err();
    assert_eq!(err.line, Some(2));
}

#[test]
fn npm_package_json() {
    let path = "/app/node_modules/@babel/core/package.json";
    let data = br#"{"name":"@babel/core","version":"7.22.5","license":"MIT","dependencies":{"debug":"^4.1.0"}}"#;
    let p = &read_record(LangRecord::NpmPackageJson, path, data).unwrap()[0];
    assert_eq!(
        (p.name.as_str(), p.version.as_str(), p.ecosystem),
        ("@babel/core", "7.22.5", Ecosystem::Npm)
    );
    assert_eq!(p.licenses, ["MIT"]);

    let legacy =
        br#"{"name":"old","version":"0.1.0","licenses":[{"type":"MIT"},{"type":"Apache-2.0"}]}"#;
    let p = &read_record(LangRecord::NpmPackageJson, path, legacy).unwrap()[0];
    assert_eq!(p.licenses, ["MIT", "Apache-2.0"]);

    let err = read_record(
        LangRecord::NpmPackageJson,
        path,
        b"{\"name\": \"x\",\n \"version\": }",
    )
    .unwrap_err();
    assert_eq!((err.path.as_str(), err.line), (path, Some(2)));
    let err = read_record(LangRecord::NpmPackageJson, path, br#"{"name":"x"}"#).unwrap_err();
    assert!(err.message.contains("no version"), "{}", err.message);
}

#[test]
fn npm_lockfiles_v1_v2_v3() {
    let v1 = br#"{
      "name": "app", "version": "1.0.0", "lockfileVersion": 1,
      "dependencies": {
        "lodash": {"version": "4.17.20", "resolved": "https://registry.npmjs.org/lodash/-/lodash-4.17.20.tgz"},
        "debug": {"version": "4.3.4", "dependencies": {"ms": {"version": "2.1.2"}}},
        "local": {"version": "file:../local"}
      }
    }"#;
    let pkgs = read_record(LangRecord::NpmLockfile, "/app/package-lock.json", v1).unwrap();
    assert_eq!(
        names(&pkgs),
        pairs(&[("debug", "4.3.4"), ("lodash", "4.17.20"), ("ms", "2.1.2")])
    );

    // v2 keeps both layouts; `packages` is read. v3 has only `packages`.
    let v3 = br#"{
      "name": "app", "version": "1.0.0", "lockfileVersion": 3,
      "packages": {
        "": {"name": "app", "version": "1.0.0"},
        "node_modules/@types/node": {"version": "20.4.2", "license": "MIT"},
        "node_modules/debug": {"version": "4.3.4"},
        "node_modules/debug/node_modules/ms": {"version": "2.1.2"},
        "node_modules/ws": {"resolved": "packages/ws", "link": true},
        "packages/ws": {"name": "ws", "version": "8.13.0"}
      },
      "dependencies": {"ignored": {"version": "9.9.9"}}
    }"#;
    let pkgs = read_record(LangRecord::NpmLockfile, "/app/package-lock.json", v3).unwrap();
    assert_eq!(
        names(&pkgs),
        pairs(&[
            ("@types/node", "20.4.2"),
            ("debug", "4.3.4"),
            ("ms", "2.1.2"),
            ("ws", "8.13.0")
        ])
    );
    assert_eq!(
        pkgs.iter()
            .find(|p| p.name == "@types/node")
            .unwrap()
            .licenses,
        ["MIT"]
    );

    let err = read_record(
        LangRecord::NpmLockfile,
        "/app/package-lock.json",
        br#"{"packages":{"node_modules/x":{}}}"#,
    )
    .unwrap_err();
    assert!(
        err.message.contains("\"node_modules/x\" has no version"),
        "{}",
        err.message
    );
}

#[test]
fn yarn_lock_v1() {
    let lock = br#"# THIS IS AN AUTOGENERATED FILE. DO NOT EDIT THIS FILE DIRECTLY.
# yarn lockfile v1


"@babel/code-frame@^7.0.0", "@babel/code-frame@^7.22.5":
  version "7.22.5"
  resolved "https://registry.yarnpkg.com/@babel/code-frame/-/code-frame-7.22.5.tgz#234d98e1551960604f1246e6475891a570ad5658"
  integrity sha512-Xmwn266vad+6DAqEB2A6V/CcZVp62BbwVmcOJc2RPuwih1kw02TjQvWVWlcKGbBPd+8/0V5DEkOcizRGYsspYQ==
  dependencies:
    "@babel/highlight" "^7.22.5"

lodash@^4.17.20:
  version "4.17.21"
  resolved "https://registry.yarnpkg.com/lodash/-/lodash-4.17.21.tgz"
"#;
    let pkgs = read_record(LangRecord::NpmLockfile, "/app/yarn.lock", lock).unwrap();
    assert_eq!(
        names(&pkgs),
        pairs(&[("@babel/code-frame", "7.22.5"), ("lodash", "4.17.21")])
    );

    let err = read_record(
        LangRecord::NpmLockfile,
        "/app/yarn.lock",
        b"lodash@^4:\n  resolved \"x\"\n\nms@^2:\n  version \"2.1.2\"\n",
    )
    .unwrap_err();
    assert_eq!(err.line, Some(1));
    let err = read_record(
        LangRecord::NpmLockfile,
        "/app/yarn.lock",
        b"__metadata:\n  version: 6\n",
    )
    .unwrap_err();
    assert!(err.message.contains("yarn 2"), "{}", err.message);
}

#[test]
fn pnpm_lockfiles_v5_v6_v9() {
    let v5 = b"lockfileVersion: 5.4\n\nspecifiers:\n  react: ^18.2.0\n\ndependencies:\n  react: 18.2.0\n\npackages:\n\n  /@babel/core/7.22.5:\n    resolution: {integrity: sha512-x}\n    dev: false\n\n  /react-dom/18.2.0_react@18.2.0:\n    resolution: {integrity: sha512-y}\n    peerDependencies:\n      react: ^18.2.0\n\n  github.com/user/repo/0123abc:\n    resolution: {tarball: https://codeload.github.com/user/repo/tar.gz/0123abc}\n";
    let v6 = b"lockfileVersion: '6.0'\n\ndependencies:\n  react:\n    specifier: ^18.2.0\n    version: 18.2.0\n\npackages:\n\n  /@babel/core@7.22.5:\n    resolution: {integrity: sha512-x}\n\n  /react-dom@18.2.0(react@18.2.0):\n    resolution: {integrity: sha512-y}\n";
    let v9 = b"lockfileVersion: '9.0'\n\nimporters:\n\n  .:\n    dependencies:\n      react:\n        specifier: ^18.2.0\n        version: 18.2.0\n\npackages:\n\n  '@babel/core@7.22.5':\n    resolution: {integrity: sha512-x}\n\n  react-dom@18.2.0:\n    resolution: {integrity: sha512-y}\n\nsnapshots:\n\n  react-dom@18.2.0(react@18.2.0):\n    dependencies:\n      react: 18.2.0\n";
    for lock in [&v5[..], &v6[..], &v9[..]] {
        let pkgs = read_record(LangRecord::NpmLockfile, "/app/pnpm-lock.yaml", lock).unwrap();
        assert_eq!(
            names(&pkgs),
            pairs(&[("@babel/core", "7.22.5"), ("react-dom", "18.2.0")]),
            "{}",
            String::from_utf8_lossy(lock)
        );
    }
    let err = read_record(
        LangRecord::NpmLockfile,
        "/app/pnpm-lock.yaml",
        b"lockfileVersion: '6.0'\npackages:\n  /lodash@4.17.21\n",
    )
    .unwrap_err();
    assert_eq!(
        (err.path.as_str(), err.line),
        ("/app/pnpm-lock.yaml", Some(3))
    );
    let err = read_record(
        LangRecord::NpmLockfile,
        "/app/pnpm-lock.yaml",
        b"lockfileVersion: x\n",
    )
    .unwrap_err();
    assert!(err.message.contains("lockfileVersion"), "{}", err.message);
}

fn jar(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, data) in entries {
        w.start_file(*name, zip::write::SimpleFileOptions::default())
            .unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

#[test]
fn java_archives_and_nested_jars() {
    let inner = jar(&[
        ("META-INF/MANIFEST.MF", b"Manifest-Version: 1.0\n"),
        (
            "META-INF/maven/org.apache.logging.log4j/log4j-core/pom.properties",
            b"#Created by Apache Maven 3.6.3\nversion=2.14.1\ngroupId=org.apache.logging.log4j\nartifactId=log4j-core\n",
        ),
        ("org/apache/logging/log4j/core/Logger.class", b"\xca\xfe\xba\xbe"),
    ]);
    let outer = jar(&[
        (
            "META-INF/maven/com.example/app/pom.properties",
            b"groupId=com.example\nartifactId=app\nversion=1.0.0\n",
        ),
        ("BOOT-INF/lib/log4j-core-2.14.1.jar", &inner),
        ("BOOT-INF/lib/notes.txt", b"x"),
    ]);
    let path = "/opt/app/app.jar";
    let pkgs = read_record(LangRecord::JavaArchive, path, &outer).unwrap();
    assert_eq!(
        names(&pkgs),
        pairs(&[
            ("com.example:app", "1.0.0"),
            ("org.apache.logging.log4j:log4j-core", "2.14.1")
        ])
    );
    let log4j = pkgs
        .iter()
        .find(|p| p.name.ends_with("log4j-core"))
        .unwrap();
    assert_eq!(log4j.ecosystem, Ecosystem::Maven);
    assert_eq!(
        log4j.location,
        "/opt/app/app.jar!/BOOT-INF/lib/log4j-core-2.14.1.jar!/META-INF/maven/org.apache.logging.log4j/log4j-core/pom.properties"
    );

    let err = read_record(LangRecord::JavaArchive, path, b"PK\x03\x04 not really").unwrap_err();
    assert_eq!(err.path, path);
    let bad = jar(&[("META-INF/maven/g/a/pom.properties", b"groupId=g\n")]);
    let err = read_record(LangRecord::JavaArchive, path, &bad).unwrap_err();
    assert!(err.message.contains("lacks groupId"), "{}", err.message);
}

/// A `.go.buildinfo` blob in Go 1.18+'s inline layout.
fn go_buildinfo(go: &str, modinfo: &str) -> Vec<u8> {
    let mut b = b"\xff Go buildinf:".to_vec();
    b.push(8); // pointer size
    b.push(2); // flags: inline strings
    b.resize(32, 0);
    let mut mod_bytes = hex("3077af0c9274080241e1c107e6d618e6");
    mod_bytes.extend_from_slice(modinfo.as_bytes());
    mod_bytes.extend(hex("f932433186182072008242104116d8f2"));
    for s in [go.as_bytes(), &mod_bytes[..]] {
        let mut n = s.len();
        loop {
            let byte = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                b.push(byte);
                break;
            }
            b.push(byte | 0x80);
        }
        b.extend_from_slice(s);
    }
    b
}

/// This host's /bin/true with its section table removed, as `sstrip`
/// leaves a binary: e_shoff, e_shnum and e_shstrndx of the ELF64 header zeroed.
fn sstripped_true() -> Vec<u8> {
    let mut bin = std::fs::read("/bin/true").unwrap();
    assert_eq!(&bin[..5], b"\x7fELF\x02", "an ELF64 /bin/true");
    bin[0x28..0x30].fill(0);
    bin[0x3c..0x40].fill(0);
    bin
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// A copy of this host's /bin/true with `section` added by objcopy.
fn elf_with_section(section: &str, contents: &[u8]) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let blob = dir.path().join("blob");
    let out = dir.path().join("out");
    std::fs::write(&blob, contents).unwrap();
    let st = Command::new("objcopy")
        .arg("--add-section")
        .arg(format!("{section}={}", blob.display()))
        .arg("/bin/true")
        .arg(&out)
        .status()
        .expect("objcopy (binutils, which the Rust toolchain's linker needs) runs");
    assert!(st.success());
    std::fs::read(&out).unwrap()
}

const MODINFO: &str = "path\texample.com/app/cmd/app
mod\texample.com/app\tv1.4.0\th1:abc=
dep\tgithub.com/sirupsen/logrus\tv1.9.0\th1:def=
dep\tgolang.org/x/net\tv0.10.0\th1:ghi=
=>\tgolang.org/x/net\tv0.23.0\th1:jkl=
dep\tgolang.org/x/sys\tv0.0.0-20230101000000-abcdefabcdef\th1:mno=
build\t-compiler=gc
build\tGOOS=linux
";

#[test]
fn go_build_info_from_a_section() {
    let bin = elf_with_section(".go.buildinfo", &go_buildinfo("go1.21.5", MODINFO));
    let pkgs = read_binary("/usr/bin/app", &bin).unwrap();
    assert!(pkgs
        .iter()
        .all(|p| p.ecosystem == Ecosystem::Go && p.location == "/usr/bin/app"));
    assert_eq!(
        names(&pkgs),
        pairs(&[
            ("example.com/app", "v1.4.0"),
            ("github.com/sirupsen/logrus", "v1.9.0"),
            // The replacement, not the required version.
            ("golang.org/x/net", "v0.23.0"),
            ("golang.org/x/sys", "v0.0.0-20230101000000-abcdefabcdef"),
            ("stdlib", "1.21.5"),
        ])
    );
}

#[test]
fn go_build_info_without_section_headers() {
    // A binary without a section table keeps the header in its data,
    // 16-byte aligned; it is searched for.
    let mut bin = sstripped_true();
    bin.resize(bin.len().next_multiple_of(16), 0);
    bin.extend(go_buildinfo("go1.22.1 X:boringcrypto", MODINFO));
    let pkgs = read_binary("/usr/bin/app", &bin).unwrap();
    assert!(pkgs
        .iter()
        .any(|p| p.name == "stdlib" && p.version == "1.22.1"));
    assert_eq!(pkgs.len(), 5);
    // A binary with a section table but no `.go.buildinfo` is not Go,
    // whatever its data holds.
    let mut c = std::fs::read("/bin/true").unwrap();
    c.resize(c.len().next_multiple_of(16), 0);
    c.extend(go_buildinfo("go1.22.1", MODINFO));
    assert!(read_binary("/usr/bin/c", &c).unwrap().is_empty());
}

#[test]
fn go_build_info_of_this_hosts_runc() {
    // Debian builds runc in GOPATH mode: no module lines, only the
    // toolchain, which its Built-Using field names too.
    let data = std::fs::read("/usr/bin/runc").expect("runc is installed (scripts/install-deps)");
    let pkgs = read_binary("/usr/bin/runc", &data).unwrap();
    let stdlib = pkgs
        .iter()
        .find(|p| p.name == "stdlib")
        .expect("runc's Go version is read");
    let out = Command::new("dpkg-query")
        .args(["-W", "-f=${Built-Using}", "runc"])
        .output()
        .unwrap();
    let built_using = String::from_utf8(out.stdout).unwrap();
    // `golang-1.19 (= 1.19.8-2)` → 1.19.8
    let golang = built_using
        .split(", ")
        .find(|d| d.starts_with("golang-1."))
        .and_then(|d| d.split("(= ").nth(1))
        .and_then(|v| v.split('-').next())
        .expect("runc's Built-Using names its Go toolchain");
    assert_eq!(stdlib.version, golang, "Built-Using: {built_using}");
}

#[test]
fn go_build_info_faults() {
    let mut old = go_buildinfo("go1.16", MODINFO);
    old[15] = 0; // pointer layout
    let err = read_binary("/usr/bin/old", &elf_with_section(".go.buildinfo", &old)).unwrap_err();
    assert!(err.message.contains("Go < 1.18"), "{}", err.message);
    let mut cut = go_buildinfo("go1.21.5", MODINFO);
    cut.truncate(60);
    let err = read_binary("/usr/bin/cut", &elf_with_section(".go.buildinfo", &cut)).unwrap_err();
    assert!(err.message.contains("truncated"), "{}", err.message);
    assert_eq!(err.path, "/usr/bin/cut");
    // A plain C binary embeds nothing.
    assert!(
        read_binary("/bin/true", &std::fs::read("/bin/true").unwrap())
            .unwrap()
            .is_empty()
    );
    let err = read_binary("/x", b"\x7fELF garbage").unwrap_err();
    assert!(err.message.contains("ELF"), "{}", err.message);
}

#[test]
fn cargo_auditable_section() {
    let json = br#"{"packages":[
        {"name":"myapp","version":"0.3.0","source":"local","dependencies":[1,2],"root":true},
        {"name":"serde","version":"1.0.188","source":"crates.io","dependencies":[2]},
        {"name":"serde_derive","version":"1.0.188","source":"crates.io","kind":"build"},
        {"name":"tokio","version":"1.12.0","source":"crates.io","kind":"runtime"}
    ]}"#;
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(json).unwrap();
    let bin = elf_with_section(".dep-v0", &z.finish().unwrap());
    let pkgs = read_binary("/usr/bin/myapp", &bin).unwrap();
    assert!(pkgs.iter().all(|p| p.ecosystem == Ecosystem::CratesIo));
    assert_eq!(
        names(&pkgs),
        pairs(&[
            ("myapp", "0.3.0"),
            ("serde", "1.0.188"),
            ("tokio", "1.12.0")
        ])
    );

    let err = read_binary("/usr/bin/bad", &elf_with_section(".dep-v0", b"not zlib")).unwrap_err();
    assert!(err.message.contains("cargo-auditable"), "{}", err.message);
}
