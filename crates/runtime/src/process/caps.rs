//! Capabilities: the five sets of `process.capabilities`.

use crate::error::{Error, Result};
use caps::{CapSet, Capability, CapsHashSet};
use oci_spec::runtime::{Capabilities, LinuxCapabilities};
use std::str::FromStr;

fn to_caps(set: Option<&Capabilities>) -> CapsHashSet {
    set.into_iter()
        .flatten()
        // A capability this kernel/crate does not know cannot be granted;
        // runc skips it the same way.
        .filter_map(|c| Capability::from_str(&format!("CAP_{c}")).ok())
        .collect()
}

fn caps_err(what: &'static str, source: caps::errors::CapsError) -> Error {
    Error::Capabilities { what, source }
}

/// Drop from the bounding set every capability not listed. Needs
/// `CAP_SETPCAP`, so it runs before the user switch.
pub fn limit_bounding(caps: &LinuxCapabilities) -> Result<()> {
    let keep = to_caps(caps.bounding().as_ref());
    let current =
        caps::read(None, CapSet::Bounding).map_err(|e| caps_err("read bounding set", e))?;
    for cap in current.difference(&keep) {
        caps::drop(None, CapSet::Bounding, *cap)
            .map_err(|e| caps_err("drop bounding capability", e))?;
    }
    Ok(())
}

/// Set permitted, effective, inheritable and ambient sets, after the user
/// switch (which kept the permitted set through `PR_SET_KEEPCAPS`).
pub fn apply_sets(caps: &LinuxCapabilities) -> Result<()> {
    let permitted = to_caps(caps.permitted().as_ref());
    let effective = to_caps(caps.effective().as_ref());
    let inheritable = to_caps(caps.inheritable().as_ref());
    let ambient = to_caps(caps.ambient().as_ref());
    // Lower effective first: permitted cannot shrink below effective.
    caps::set(
        None,
        CapSet::Effective,
        &effective.intersection(&permitted).copied().collect(),
    )
    .map_err(|e| caps_err("set effective capabilities", e))?;
    caps::set(None, CapSet::Permitted, &permitted)
        .map_err(|e| caps_err("set permitted capabilities", e))?;
    caps::set(None, CapSet::Inheritable, &inheritable)
        .map_err(|e| caps_err("set inheritable capabilities", e))?;
    caps::set(None, CapSet::Effective, &effective)
        .map_err(|e| caps_err("set effective capabilities", e))?;
    if !ambient.is_empty() {
        for cap in ambient {
            // Ambient needs the cap in permitted and inheritable; runc
            // ignores failures here, and so do we, for the same reason.
            let _ = caps::raise(None, CapSet::Ambient, cap);
        }
    }
    Ok(())
}
