//! buildah's default names: `<image>-working-container`, then `-1`, `-2`…
//! while the name is taken.

/// The last path component of an image name without tag or digest
/// (`docker.io/library/busybox:latest` → `busybox`); `scratch` names
/// plain `working-container`.
pub(crate) fn base_name(image: &str) -> String {
    if image == super::SCRATCH {
        return "working-container".into();
    }
    let no_digest = image.split('@').next().unwrap_or(image);
    let last = no_digest.rsplit('/').next().unwrap_or(no_digest);
    let bare = last.split(':').next().unwrap_or(last);
    format!("{bare}-working-container")
}

/// The first default name for `image` that no container in storage has.
pub(crate) fn free_name(image: &str, all: &[berth_storage::Container]) -> String {
    let taken: Vec<&str> = all.iter().map(|c| c.name.as_str()).collect();
    let base = base_name(image);
    if !taken.contains(&base.as_str()) {
        return base;
    }
    let mut n = 1;
    loop {
        let name = format!("{base}-{n}");
        if !taken.contains(&name.as_str()) {
            return name;
        }
        n += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_as_buildah() {
        assert_eq!(
            base_name("docker.io/library/busybox:latest"),
            "busybox-working-container"
        );
        assert_eq!(
            base_name("localhost:5000/a/b@sha256:00"),
            "b-working-container"
        );
        assert_eq!(base_name("scratch"), "working-container");
        let taken = |names: &[&str]| {
            names
                .iter()
                .map(|n| berth_storage::Container {
                    id: String::new(),
                    name: n.to_string(),
                    image: String::new(),
                    layer: String::new(),
                    metadata: serde_json::Value::Null,
                    created: 0,
                    created_nanos: 0,
                })
                .collect::<Vec<_>>()
        };
        let all = taken(&["b-working-container", "b-working-container-1"]);
        assert_eq!(free_name("b", &all), "b-working-container-2");
    }
}
