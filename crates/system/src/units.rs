//! The default templates of an image that ships none (host network, a
//! read-only rootfs, `/var/lib/NAME` and `/run/NAME` bound in,
//! `Restart=on-failure`), and the ordering lines added to any unit.

/// The unit of an image without `/exports/service.template`.
pub(crate) const DEFAULT_SERVICE: &str = "\
[Unit]
Description=berth system container $NAME
After=network.target

[Service]
Type=$SERVICE_TYPE
ExecStart=$EXEC_START
ExecStop=-$EXEC_STOP
WorkingDirectory=$DESTDIR
Restart=on-failure

[Install]
WantedBy=multi-user.target
";

/// The tmpfiles.d snippet of an image without `/exports/tmpfiles.template`.
pub(crate) const DEFAULT_TMPFILES: &str = "\
d $STATE_DIRECTORY/$NAME 0700 root root -
d $RUN_DIRECTORY/$NAME 0700 root root -
";

/// `unit` with `Requires=`/`After=` lines for `requires` and `After=` for
/// `after`, put at the top of its `[Unit]` section (a section is added
/// when the template has none).
pub(crate) fn with_ordering(unit: &str, requires: &[String], after: &[String]) -> String {
    if requires.is_empty() && after.is_empty() {
        return unit.to_string();
    }
    let services = |names: &[String]| {
        names
            .iter()
            .map(|n| match n.contains('.') {
                true => n.clone(),
                false => format!("{n}.service"),
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut lines = String::new();
    if !requires.is_empty() {
        lines.push_str(&format!("Requires={}\n", services(requires)));
    }
    let all: Vec<String> = requires.iter().chain(after).cloned().collect();
    lines.push_str(&format!("After={}\n", services(&all)));
    match unit.find("[Unit]\n") {
        Some(at) => {
            let split = at + "[Unit]\n".len();
            format!("{}{}{}", &unit[..split], lines, &unit[split..])
        }
        None => format!("[Unit]\n{lines}\n{unit}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordering_goes_into_the_unit_section() {
        let got = with_ordering(DEFAULT_SERVICE, &["etcd".into()], &["net.target".into()]);
        assert!(got.starts_with("[Unit]\nRequires=etcd.service\nAfter=etcd.service net.target\n"));
        let bare = with_ordering("[Service]\nExecStart=/x\n", &[], &["a".into()]);
        assert_eq!(bare, "[Unit]\nAfter=a.service\n\n[Service]\nExecStart=/x\n");
    }
}
