//! Package-level differences between two inventories (`berth diff A B
//! --packages`): what B added, removed, and changed the version of, with
//! A as the old side. A package is known by ecosystem, name and
//! architecture; one installed in several versions (npm trees) is compared
//! version by version.
//!
//! Which way a change goes needs each ecosystem's version ordering: the
//! caller passes it, and a change the ordering cannot place (or with no
//! ordering) is listed as `changed`.

use crate::model::{Ecosystem, Inventory, Package};
use serde::Serialize;
use std::cmp::Ordering;
use std::collections::BTreeMap;

/// A package on one side only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Side {
    pub ecosystem: Ecosystem,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arch: Option<String>,
    pub version: String,
}

/// A package on both sides with another version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    pub ecosystem: Ecosystem,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arch: Option<String>,
    pub from: String,
    pub to: String,
}

/// The differences, each list sorted by ecosystem, name, arch.
#[derive(Debug, Default, PartialEq, Eq, Serialize)]
pub struct PackageDiff {
    pub upgraded: Vec<Change>,
    pub downgraded: Vec<Change>,
    /// Version changed; the direction is unknown.
    pub changed: Vec<Change>,
    pub added: Vec<Side>,
    pub removed: Vec<Side>,
}

type Key = (Ecosystem, String, Option<String>);

fn by_key(inv: &Inventory) -> BTreeMap<Key, Vec<String>> {
    let mut m: BTreeMap<Key, Vec<String>> = BTreeMap::new();
    for Package {
        ecosystem,
        name,
        arch,
        version,
        ..
    } in &inv.packages
    {
        m.entry((*ecosystem, name.clone(), arch.clone()))
            .or_default()
            .push(version.clone());
    }
    for v in m.values_mut() {
        v.sort();
        v.dedup();
    }
    m
}

/// What changed from `old` to `new`; `order` compares two versions of an
/// ecosystem (None: cannot tell).
pub fn diff(
    old: &Inventory,
    new: &Inventory,
    order: impl Fn(Ecosystem, &str, &str) -> Option<Ordering>,
) -> PackageDiff {
    let (a, b) = (by_key(old), by_key(new));
    let mut d = PackageDiff::default();
    let side = |k: &Key, v: &str| Side {
        ecosystem: k.0,
        name: k.1.clone(),
        arch: k.2.clone(),
        version: v.to_string(),
    };
    for (k, olds) in &a {
        let Some(news) = b.get(k) else {
            d.removed.extend(olds.iter().map(|v| side(k, v)));
            continue;
        };
        if olds == news {
            continue;
        }
        if let ([from], [to]) = (olds.as_slice(), news.as_slice()) {
            let c = Change {
                ecosystem: k.0,
                name: k.1.clone(),
                arch: k.2.clone(),
                from: from.clone(),
                to: to.clone(),
            };
            match order(k.0, from, to) {
                Some(Ordering::Less) => d.upgraded.push(c),
                Some(Ordering::Greater) => d.downgraded.push(c),
                _ => d.changed.push(c),
            }
            continue;
        }
        d.removed.extend(
            olds.iter()
                .filter(|v| !news.contains(v))
                .map(|v| side(k, v)),
        );
        d.added.extend(
            news.iter()
                .filter(|v| !olds.contains(v))
                .map(|v| side(k, v)),
        );
    }
    for (k, news) in &b {
        if !a.contains_key(k) {
            d.added.extend(news.iter().map(|v| side(k, v)));
        }
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inv(pkgs: &[(&str, &str)]) -> Inventory {
        Inventory {
            packages: pkgs
                .iter()
                .map(|(n, v)| Package {
                    name: n.to_string(),
                    version: v.to_string(),
                    ecosystem: Ecosystem::Debian,
                    arch: Some("amd64".into()),
                    source: None,
                    source_version: None,
                    licenses: vec![],
                    files: vec![],
                    location: "/var/lib/dpkg/status".into(),
                    layer: None,
                })
                .collect(),
            ..Inventory::default()
        }
    }

    #[test]
    fn added_removed_and_changed() {
        let old = inv(&[("a", "1"), ("b", "2"), ("c", "3")]);
        let new = inv(&[("a", "1"), ("b", "2.1"), ("d", "4")]);
        let d = diff(&old, &new, |_, _, _| None);
        assert_eq!(d.changed.len(), 1);
        assert_eq!(
            (d.changed[0].from.as_str(), d.changed[0].to.as_str()),
            ("2", "2.1")
        );
        assert_eq!(d.removed[0].name, "c");
        assert_eq!(d.added[0].name, "d");
        let d = diff(&old, &new, |_, a, b| Some(a.cmp(b)));
        assert_eq!(d.upgraded.len(), 1);
        assert!(d.changed.is_empty());
    }
}
