//! "Did you mean …?" for an image name that is not in storage: the local
//! name nearest to what was typed, by edit distance.

use berth_storage::Image;

/// The local image name closest to `typed`, if one is close enough to be a
/// typo: at most two edits, or a quarter of the name for long names.
/// Names are compared in the form the user typed: a short `busybx` against
/// `busybox`, not against `docker.io/library/busybox:latest`.
pub fn nearest_name(typed: &str, images: &[Image]) -> Option<String> {
    let typed_has_tag = typed
        .rsplit('/')
        .next()
        .is_some_and(|last| last.contains(':'));
    let budget = (typed.chars().count() / 4).max(2);
    images
        .iter()
        .flat_map(|i| i.names.iter())
        .flat_map(|name| forms(name, typed_has_tag))
        .filter(|form| form != typed)
        .map(|form| (distance(typed, &form), form))
        .filter(|(d, _)| *d <= budget)
        .min()
        .map(|(_, form)| form)
}

/// The ways a stored name can be typed: whole, without `:latest`, and as
/// its last path component (with and without the tag).
fn forms(name: &str, with_tag: bool) -> Vec<String> {
    let mut out = vec![name.to_string()];
    let short = name.rsplit('/').next().unwrap_or(name);
    out.push(short.to_string());
    if !with_tag {
        for f in [name, short] {
            if let Some((repo, _tag)) = f
                .rsplit_once(':')
                .filter(|(r, _)| !r.contains('/') || f == name)
            {
                out.push(repo.to_string());
            }
        }
    }
    out
}

/// Levenshtein distance over characters.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = if ca == *cb {
                prev
            } else {
                1 + prev.min(row[j]).min(cur)
            };
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(names: &[&str]) -> Image {
        Image {
            id: "0".repeat(64),
            names: names.iter().map(|n| n.to_string()).collect(),
            top_layer: None,
            manifest_digest: format!("sha256:{}", "0".repeat(64)).parse().unwrap(),
            config_digest: format!("sha256:{}", "0".repeat(64)).parse().unwrap(),
            created: 0,
        }
    }

    #[test]
    fn typos_of_short_and_full_names() {
        let images = [
            image(&["docker.io/library/busybox:latest"]),
            image(&["quay.io/team/postgres:15"]),
        ];
        assert_eq!(nearest_name("busybx", &images).as_deref(), Some("busybox"));
        assert_eq!(
            nearest_name("bsybox:latest", &images).as_deref(),
            Some("busybox:latest")
        );
        assert_eq!(
            nearest_name("postgrse:15", &images).as_deref(),
            Some("postgres:15")
        );
        assert_eq!(
            nearest_name("docker.io/library/busybux:latest", &images).as_deref(),
            Some("docker.io/library/busybox:latest")
        );
        assert_eq!(nearest_name("nginx", &images), None);
        assert_eq!(nearest_name("", &[]), None);
    }

    #[test]
    fn edit_distance() {
        assert_eq!(distance("kitten", "sitting"), 3);
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(distance("same", "same"), 0);
    }
}
