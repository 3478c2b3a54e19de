//! `.container` → `NAME.service`: `berth run` in the foreground (berth
//! has no daemon to detach to, and the unit's main process is then the
//! waiter of the container), removed on stop. `Type=notify` as podman's:
//! `--sdnotify=conmon` (READY once the container started), or with
//! `Notify=yes` `--sdnotify=container` (the container's own READY).

use super::unit_file::{words, UnitFile};
use super::{assemble, quote, Ctx, Generated};

const KNOWN: [&str; 19] = [
    "Image",
    "Exec",
    "Environment",
    "EnvironmentFile",
    "Volume",
    "PublishPort",
    "Network",
    "User",
    "Group",
    "Notify",
    "PodmanArgs",
    "ContainerName",
    "Label",
    "ReadOnly",
    "RunInit",
    "AddCapability",
    "DropCapability",
    "WorkingDir",
    "HostName",
];

fn yes(v: &str) -> bool {
    matches!(v, "yes" | "true" | "1" | "on")
}

/// Translate `stem.container`.
pub(crate) fn translate(ctx: &mut Ctx, stem: &str, file: &UnitFile) -> Result<Generated, String> {
    const S: &str = "Container";
    if file.section(S).is_none() {
        return Err("no [Container] section".into());
    }
    ctx.check_keys(file, S, &KNOWN);
    let image = file.value(S, "Image").ok_or("no Image= in [Container]")?;
    // As podman's Quadlet: berth says READY once the container started,
    // or with Notify=yes the container says it itself.
    let notify = match file.value(S, "Notify").is_some_and(|v| yes(&v)) {
        true => "container",
        false => "conmon",
    };
    let name = file
        .value(S, "ContainerName")
        .unwrap_or_else(|| "systemd-%N".into());
    let mut args: Vec<String> = vec![
        "run".into(),
        format!("--name={name}"),
        "--replace".into(),
        "--rm".into(),
        format!("--sdnotify={notify}"),
    ];
    let mut requires: Vec<String> = Vec::new();
    for e in file.values(S, "Environment") {
        for w in words(&e) {
            args.push("--env".into());
            args.push(w);
        }
    }
    for f in file.values(S, "EnvironmentFile") {
        args.push(format!("--env-file={f}"));
    }
    for v in file.values(S, "Volume") {
        let (source, rest) = v.split_once(':').unwrap_or((v.as_str(), ""));
        let source = match source.strip_suffix(".volume") {
            Some(vol) => {
                requires.push(format!("{vol}-volume.service"));
                format!("systemd-{vol}")
            }
            None => source.to_string(),
        };
        args.push("-v".into());
        args.push(match rest.is_empty() {
            true => source,
            false => format!("{source}:{rest}"),
        });
    }
    for p in file.values(S, "PublishPort") {
        args.push(format!("--publish={p}"));
    }
    for n in file.values(S, "Network") {
        // As podman's Quadlet: the network its .network makes, after it.
        if n.ends_with(".network") {
            let (name, service) = super::network::network_of(&ctx.source, &n);
            requires.push(service);
            args.push(format!("--network={name}"));
            continue;
        }
        args.push(format!("--network={n}"));
    }
    match (file.value(S, "User"), file.value(S, "Group")) {
        (Some(u), Some(g)) => args.push(format!("--user={u}:{g}")),
        (Some(u), None) => args.push(format!("--user={u}")),
        (None, Some(_)) => return Err("Group= needs User=".into()),
        (None, None) => {}
    }
    for l in file.values(S, "Label") {
        for w in words(&l) {
            args.push("--label".into());
            args.push(w);
        }
    }
    if file.value(S, "ReadOnly").is_some_and(|v| yes(&v)) {
        args.push("--read-only".into());
    }
    if file.value(S, "RunInit").is_some_and(|v| yes(&v)) {
        args.push("--init".into());
    }
    for c in file.values(S, "AddCapability") {
        for w in words(&c) {
            args.push(format!("--cap-add={w}"));
        }
    }
    for c in file.values(S, "DropCapability") {
        for w in words(&c) {
            args.push(format!("--cap-drop={w}"));
        }
    }
    if let Some(w) = file.value(S, "WorkingDir") {
        args.push(format!("--workdir={w}"));
    }
    if let Some(h) = file.value(S, "HostName") {
        args.push(format!("--hostname={h}"));
    }
    // PodmanArgs= passes straight through, before the image.
    for a in file.values(S, "PodmanArgs") {
        args.extend(words(&a));
    }
    args.push(image);
    if let Some(exec) = file.value(S, "Exec") {
        args.extend(words(&exec));
    }
    let berth = quote(&ctx.berth);
    let start = std::iter::once(berth.clone())
        .chain(args.iter().map(|a| quote(a)))
        .collect::<Vec<_>>()
        .join(" ");
    let mut unit_extra = Vec::new();
    if !requires.is_empty() {
        unit_extra.push(format!("Requires={}", requires.join(" ")));
        unit_extra.push(format!("After={}", requires.join(" ")));
    }
    let service = vec![
        "Environment=BERTH_SYSTEMD_UNIT=%n".to_string(),
        "KillMode=mixed".into(),
        format!("ExecStopPost=-{berth} rm -f --ignore {}", quote(&name)),
        "SyslogIdentifier=%N".into(),
        "Type=notify".into(),
        "NotifyAccess=all".into(),
        format!("ExecStart={start}"),
    ];
    Ok(assemble(
        ctx,
        &format!("{stem}.service"),
        file,
        &unit_extra,
        &service,
    ))
}
