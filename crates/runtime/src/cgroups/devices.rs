//! The device allow-list: spec rules plus runc's defaults, reduced to the
//! state the v1 devices controller would end in, and written to v1.
//!
//! The v1 kernel controller keeps a default behaviour (allow or deny) and a
//! list of exceptions; the v2 eBPF filter (see `devices_bpf`) is generated
//! from the same reduced state, so both versions enforce the same thing.

use std::fmt::Write as _;
use std::path::Path;

use oci_spec::runtime::{LinuxDeviceCgroup, LinuxDeviceType};

use super::error::{Error, Result};
use super::fsutil;

/// mknod access (the bit values are the BPF_DEVCG_ACC_* ones).
pub(crate) const ACC_MKNOD: u8 = 1;
/// read access.
pub(crate) const ACC_READ: u8 = 2;
/// write access.
pub(crate) const ACC_WRITE: u8 = 4;
const ACC_ALL: u8 = ACC_MKNOD | ACC_READ | ACC_WRITE;

/// Device kind of an exception ('a' rules never become exceptions: they
/// switch the default behaviour, as in the kernel).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// 'c' (and 'u').
    Char,
    /// 'b'.
    Block,
}

/// One exception to the default behaviour. `None` major/minor is `*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Exception {
    pub kind: Kind,
    pub major: Option<u32>,
    pub minor: Option<u32>,
    pub access: u8,
}

impl Exception {
    /// The v1 `devices.allow`/`devices.deny` line: `c 1:3 rwm`.
    fn write_line(&self, out: &mut String) {
        out.clear();
        out.push(match self.kind {
            Kind::Char => 'c',
            Kind::Block => 'b',
        });
        out.push(' ');
        match self.major {
            Some(m) => write!(out, "{m}").unwrap_or_default(),
            None => out.push('*'),
        }
        out.push(':');
        match self.minor {
            Some(m) => write!(out, "{m}").unwrap_or_default(),
            None => out.push('*'),
        }
        out.push(' ');
        for (bit, c) in [(ACC_READ, 'r'), (ACC_WRITE, 'w'), (ACC_MKNOD, 'm')] {
            if self.access & bit != 0 {
                out.push(c);
            }
        }
    }
}

/// The state the v1 controller ends in after the rules are applied in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DeviceState {
    /// Default behaviour: true = everything not excepted is allowed.
    pub default_allow: bool,
    /// Exceptions, in the order the kernel lists them.
    pub exceptions: Vec<Exception>,
}

/// Devices runc allows in every container, after the spec's rules (runc's
/// `specconv.AllowedDevices`, including /dev/net/tun which runc 1.2.1
/// re-added): mknod of any device, null, random, full, tty, zero, urandom,
/// /dev/pts/*, ptmx, tun.
const DEFAULT_ALLOWED: &[Exception] = &[
    exc(Kind::Char, None, None, ACC_MKNOD),
    exc(Kind::Block, None, None, ACC_MKNOD),
    exc(Kind::Char, Some(1), Some(3), ACC_ALL),
    exc(Kind::Char, Some(1), Some(8), ACC_ALL),
    exc(Kind::Char, Some(1), Some(7), ACC_ALL),
    exc(Kind::Char, Some(5), Some(0), ACC_ALL),
    exc(Kind::Char, Some(1), Some(5), ACC_ALL),
    exc(Kind::Char, Some(1), Some(9), ACC_ALL),
    exc(Kind::Char, Some(136), None, ACC_ALL),
    exc(Kind::Char, Some(5), Some(2), ACC_ALL),
    exc(Kind::Char, Some(10), Some(200), ACC_ALL),
];

const fn exc(kind: Kind, major: Option<u32>, minor: Option<u32>, access: u8) -> Exception {
    Exception {
        kind,
        major,
        minor,
        access,
    }
}

impl DeviceState {
    /// Apply `rules` then runc's default devices, starting from "deny
    /// everything" (what runc does even when the spec lists no rule).
    pub(crate) fn from_spec(rules: &[LinuxDeviceCgroup]) -> Result<DeviceState> {
        let mut state = DeviceState {
            default_allow: false,
            exceptions: Vec::with_capacity(rules.len() + DEFAULT_ALLOWED.len()),
        };
        for rule in rules {
            state.apply_spec_rule(rule)?;
        }
        for d in DEFAULT_ALLOWED {
            state.apply(true, *d);
        }
        Ok(state)
    }

    fn apply_spec_rule(&mut self, rule: &LinuxDeviceCgroup) -> Result<()> {
        let access = match rule.access().as_deref() {
            // A rule without access means every access, as "rwm".
            None | Some("") => ACC_ALL,
            Some(a) => {
                let mut bits = 0;
                for c in a.chars() {
                    bits |= match c {
                        'r' => ACC_READ,
                        'w' => ACC_WRITE,
                        'm' => ACC_MKNOD,
                        _ => {
                            return Err(Error::InvalidResource {
                                field: "devices.access",
                                value: a.to_owned(),
                                reason: "only r, w and m are allowed",
                            })
                        }
                    };
                }
                bits
            }
        };
        let kind = match rule.typ().unwrap_or(LinuxDeviceType::A) {
            LinuxDeviceType::A => {
                // The kernel ignores major, minor and access of 'a' rules:
                // they reset the list and set the default behaviour.
                self.default_allow = rule.allow();
                self.exceptions.clear();
                return Ok(());
            }
            LinuxDeviceType::C | LinuxDeviceType::U => Kind::Char,
            LinuxDeviceType::B => Kind::Block,
            LinuxDeviceType::P => {
                return Err(Error::InvalidResource {
                    field: "devices.type",
                    value: "p".into(),
                    reason: "the device cgroup only knows a, b and c",
                })
            }
        };
        let num = |n: Option<i64>, field| match n {
            None => Ok(None),
            Some(n) if n < 0 => Ok(None),
            Some(n) => u32::try_from(n)
                .map(Some)
                .map_err(|_| Error::InvalidResource {
                    field,
                    value: n.to_string(),
                    reason: "out of range",
                }),
        };
        let e = Exception {
            kind,
            major: num(rule.major(), "devices.major")?,
            minor: num(rule.minor(), "devices.minor")?,
            access,
        };
        self.apply(rule.allow(), e);
        Ok(())
    }

    /// The kernel's devcgroup_update_access for a 'b'/'c' rule.
    fn apply(&mut self, allow: bool, e: Exception) {
        if allow != self.default_allow {
            // Add an exception, merging access into an identical one.
            if let Some(w) = self.exceptions.iter_mut().find(|w| same_device(w, &e)) {
                w.access |= e.access;
            } else {
                self.exceptions.push(e);
            }
        } else {
            // Remove access from identical exceptions (exact match only).
            for w in self.exceptions.iter_mut().filter(|w| same_device(w, &e)) {
                w.access &= !e.access;
            }
            self.exceptions.retain(|w| w.access != 0);
        }
    }
}

fn same_device(a: &Exception, b: &Exception) -> bool {
    a.kind == b.kind && a.major == b.major && a.minor == b.minor
}

/// Program the v1 devices controller of `dir`: set the default behaviour
/// ("a" to devices.deny — or devices.allow for a deny-list), then write
/// each exception in order, as runc does.
pub(crate) fn write_v1(dir: &Path, state: &DeviceState) -> Result<()> {
    let (switch, exceptions) = if state.default_allow {
        ("devices.allow", "devices.deny")
    } else {
        ("devices.deny", "devices.allow")
    };
    fsutil::write(dir, switch, "a")?;
    if state.exceptions.is_empty() {
        return Ok(());
    }
    // All lines are formatted into one buffer first, then written one
    // write(2) each on a single open file.
    let mut text = String::with_capacity(16 * state.exceptions.len());
    let mut ends = Vec::with_capacity(state.exceptions.len());
    let mut line = String::with_capacity(24);
    for e in &state.exceptions {
        e.write_line(&mut line);
        text.push_str(&line);
        ends.push(text.len());
    }
    let mut start = 0;
    let lines = ends.iter().map(|&end| {
        let l = &text[start..end];
        start = end;
        l
    });
    fsutil::write_lines(&dir.join(exceptions), lines)
}

/// The lines `write_v1` writes after the "a", for tests and debugging.
#[cfg(test)]
pub(crate) fn lines(state: &DeviceState) -> Vec<String> {
    state
        .exceptions
        .iter()
        .map(|e| {
            let mut s = String::new();
            e.write_line(&mut s);
            s
        })
        .collect()
}
