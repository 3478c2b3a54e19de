//! `.volume` and `.image` files.

use super::unit_file::UnitFile;
use super::{assemble, quote, Ctx, Generated};

/// `stem.volume` → `stem-volume.service`: a oneshot that creates the
/// volume `systemd-stem` (or `VolumeName=`) unless it exists.
pub(crate) fn volume(ctx: &mut Ctx, stem: &str, file: &UnitFile) -> Result<Generated, String> {
    const S: &str = "Volume";
    if file.section(S).is_none() {
        return Err("no [Volume] section".into());
    }
    ctx.check_keys(file, S, &["VolumeName"]);
    let name = file
        .value(S, "VolumeName")
        .unwrap_or_else(|| format!("systemd-{stem}"));
    let berth = quote(&ctx.berth);
    let service = vec![
        "Type=oneshot".to_string(),
        "RemainAfterExit=yes".into(),
        format!(
            "ExecCondition=/bin/sh -c \"! {} volume inspect {} >/dev/null 2>&1\"",
            ctx.berth.replace('"', "\\\""),
            name
        ),
        format!("ExecStart={berth} volume create {}", quote(&name)),
        "SyslogIdentifier=%N".into(),
    ];
    Ok(assemble(
        ctx,
        &format!("{stem}-volume.service"),
        file,
        &[],
        &service,
    ))
}

/// `stem.image` → `stem-image.service`: a oneshot `berth pull`.
pub(crate) fn image(ctx: &mut Ctx, stem: &str, file: &UnitFile) -> Result<Generated, String> {
    const S: &str = "Image";
    if file.section(S).is_none() {
        return Err("no [Image] section".into());
    }
    ctx.check_keys(file, S, &["Image", "TLSVerify", "AuthFile"]);
    let image = file.value(S, "Image").ok_or("no Image= in [Image]")?;
    let mut args = vec![quote(&ctx.berth), "pull".into()];
    if let Some(t) = file.value(S, "TLSVerify") {
        args.push(format!("--tls-verify={t}"));
    }
    if let Some(a) = file.value(S, "AuthFile") {
        args.push(format!("--authfile={}", quote(&a)));
    }
    args.push(quote(&image));
    let service = vec![
        "Type=oneshot".to_string(),
        "RemainAfterExit=yes".into(),
        format!("ExecStart={}", args.join(" ")),
        "SyslogIdentifier=%N".into(),
    ];
    Ok(assemble(
        ctx,
        &format!("{stem}-image.service"),
        file,
        &[],
        &service,
    ))
}
