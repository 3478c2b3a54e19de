//! `.network` → `STEM-network.service`: a oneshot that creates the bridge
//! network `systemd-STEM` (or `NetworkName=`) with `berth network create
//! --ignore`, so a restart or a network made by hand is no failure, as
//! podman's Quadlet. A `.container` with `Network=STEM.network` runs on
//! it and requires this service ([`network_of`]).

use super::unit_file::{words, UnitFile};
use super::{assemble, quote, Ctx, Generated};
use std::path::Path;

const S: &str = "Network";
const KNOWN: [&str; 7] = [
    "NetworkName",
    "Subnet",
    "Gateway",
    "IPRange",
    "Internal",
    "Label",
    "Driver",
];

fn yes(v: &str) -> bool {
    matches!(v, "1" | "yes" | "true" | "on")
}

/// The network name of `STEM.network`: `NetworkName=`, else
/// `systemd-STEM`.
fn name_of(stem: &str, file: &UnitFile) -> String {
    file.value(S, "NetworkName")
        .unwrap_or_else(|| format!("systemd-{stem}"))
}

/// `Network=STEM.network` of a `.container` read at `source`: the network
/// name (from the `.network` beside it when it names one) and the service
/// that makes it.
pub(crate) fn network_of(source: &str, reference: &str) -> (String, String) {
    let stem = reference.trim_end_matches(".network");
    let file = std::fs::read_to_string(Path::new(source).with_file_name(reference))
        .ok()
        .and_then(|t| UnitFile::parse(&t).ok());
    let name = match &file {
        Some(f) => name_of(stem, f),
        None => format!("systemd-{stem}"),
    };
    (name, format!("{stem}-network.service"))
}

/// Translate `STEM.network`.
pub(crate) fn network(ctx: &mut Ctx, stem: &str, file: &UnitFile) -> Result<Generated, String> {
    if file.section(S).is_none() {
        return Err("no [Network] section".into());
    }
    ctx.check_keys(file, S, &KNOWN);
    let mut args = vec![
        quote(&ctx.berth),
        "network".into(),
        "create".into(),
        "--ignore".into(),
    ];
    if let Some(d) = file.value(S, "Driver") {
        args.push(format!("--driver={}", quote(&d)));
    }
    for (key, flag) in [
        ("Subnet", "--subnet"),
        ("Gateway", "--gateway"),
        ("IPRange", "--ip-range"),
    ] {
        if let Some(v) = file.value(S, key) {
            args.push(format!("{flag}={}", quote(&v)));
        }
    }
    if file.value(S, "Internal").is_some_and(|v| yes(&v)) {
        args.push("--internal".into());
    }
    for l in file.values(S, "Label") {
        for w in words(&l) {
            args.push("--label".into());
            args.push(quote(&w));
        }
    }
    args.push(quote(&name_of(stem, file)));
    let service = vec![
        "Type=oneshot".to_string(),
        "RemainAfterExit=yes".into(),
        format!("ExecStart={}", args.join(" ")),
        "SyslogIdentifier=%N".into(),
    ];
    Ok(assemble(
        ctx,
        &format!("{stem}-network.service"),
        file,
        &[],
        &service,
    ))
}
