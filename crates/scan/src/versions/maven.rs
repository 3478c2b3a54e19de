//! Maven's ordering, after `ComparableVersion`: items split at `.`, `-` and
//! digit/letter changes; numbers compare as numbers and above qualifiers;
//! the known qualifiers rank `alpha` < `beta` < `milestone` < `rc` <
//! `snapshot` < release (`""`, `ga`, `final`) < `sp`, unknown ones after,
//! by text. Trailing zero and release items are dropped (`1.0` == `1`).

use std::cmp::Ordering;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Item {
    // Declared in ascending order.
    Qualifier(u8, String),
    Number(u64),
}

const RELEASE: u8 = 5;

fn qualifier(q: &str) -> Item {
    let rank = match q {
        "alpha" | "a" => 0,
        "beta" | "b" => 1,
        "milestone" | "m" => 2,
        "rc" | "cr" => 3,
        "snapshot" => 4,
        "" | "ga" | "final" | "release" => RELEASE,
        "sp" => 6,
        _ => 7,
    };
    let text = if rank == 7 {
        q.to_string()
    } else {
        String::new()
    };
    Item::Qualifier(rank, text)
}

fn items(v: &str) -> Vec<Item> {
    let lower = v.trim().to_ascii_lowercase();
    let mut out = Vec::new();
    // Each `-` group is normalised on its own, as Maven's nested lists are:
    // `1.0-alpha-1` is [1] [alpha] [1], so it sorts below `1.0`.
    for group in lower.split('-') {
        let mut items = Vec::new();
        for part in group.split('.') {
            let mut token = String::new();
            let mut digits = false;
            for ch in part.chars() {
                let is_digit = ch.is_ascii_digit();
                if !token.is_empty() && is_digit != digits {
                    items.push(item(&token, digits));
                    token.clear();
                }
                digits = is_digit;
                token.push(ch);
            }
            items.push(item(&token, digits));
        }
        while matches!(
            items.last(),
            Some(Item::Number(0)) | Some(Item::Qualifier(RELEASE, _))
        ) {
            items.pop();
        }
        out.extend(items);
    }
    out
}

fn item(token: &str, digits: bool) -> Item {
    if digits {
        token
            .parse()
            .map(Item::Number)
            .unwrap_or_else(|_| qualifier(token))
    } else {
        qualifier(token)
    }
}

pub(crate) fn compare(a: &str, b: &str) -> Ordering {
    let (a, b) = (items(a), items(b));
    let padding = Item::Qualifier(RELEASE, String::new());
    let n = a.len().max(b.len());
    for i in 0..n {
        // A missing item is "release": 1.0-rc < 1.0 < 1.0.1 and 1.0-sp.
        let x = a.get(i).unwrap_or(&padding);
        let y = b.get(i).unwrap_or(&padding);
        let ord = x.cmp(y);
        if ord != Ordering::Equal {
            return ord;
        }
    }
    Ordering::Equal
}
