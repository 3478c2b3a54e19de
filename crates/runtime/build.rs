//! Builds the exec stub (stub/exec_stub.c) the runtime embeds: a
//! freestanding static program with no libc, so it is a few hundred bytes
//! and needs no loader inside the container. Why it exists is written at
//! the top of the C file.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    let src = "stub/exec_stub.c";
    println!("cargo:rerun-if-changed={src}");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let bin = out.join("exec-stub");
    // cc picks the compiler and the target's flags (cross builds included).
    let compiler = cc::Build::new()
        .opt_level_str("s")
        .debug(false)
        .get_compiler();
    let mut cmd: Command = compiler.to_command();
    cmd.args([
        "-static",
        "-nostdlib",
        "-ffreestanding",
        "-fno-builtin",
        "-fno-stack-protector",
        "-fno-asynchronous-unwind-tables",
        "-fno-pic",
        "-no-pie",
        "-Wall",
        "-Werror",
        "-s",
        "-Wl,--build-id=none",
        "-Wl,-z,noexecstack",
        "-Wl,-z,norelro",
        "-Wl,-z,noseparate-code",
    ])
    .arg(src)
    .arg("-o")
    .arg(&bin);
    let status = cmd
        .status()
        .unwrap_or_else(|e| panic!("cannot run the C compiler for {src}: {e}"));
    assert!(status.success(), "building {src} failed: {cmd:?}");
}
