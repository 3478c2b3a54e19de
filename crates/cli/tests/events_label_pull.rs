//! `events --filter label=…` over the labels a container event carries
//! (the image's and `--label`s, podman's Attributes), and the `pull`
//! event `run`/`create` write as podman's do.

mod engine_env;

use berth_testkit::{is_root, require};
use engine_env::Env;
use serde_json::Value;

fn journal(env: &Env, extra: &[&str]) -> Vec<Value> {
    let mut args = vec!["events", "--stream=false", "--format", "json"];
    args.extend_from_slice(extra);
    env.ok(&args)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn statuses_of(events: &[Value], name: &str) -> Vec<String> {
    events
        .iter()
        .filter(|e| e["Name"] == name)
        .map(|e| e["Status"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn label_filter_matches_the_container_s_and_image_s_labels() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    env.load_image(
        "labelled",
        &serde_json::json!({"Labels": {"from": "image"}}),
    );
    env.ok(&[
        "create",
        "--name",
        "l",
        "--network",
        "none",
        "--label",
        "lk=lv",
        "labelled",
        "true",
    ]);
    env.ok(&[
        "create",
        "--name",
        "u",
        "--network",
        "none",
        "busybox",
        "true",
    ]);
    env.ok(&["rm", "l", "u"]);

    let by_pair = journal(&env, &["--filter", "label=lk=lv"]);
    assert_eq!(
        statuses_of(&by_pair, "l"),
        ["create", "remove"],
        "{by_pair:?}"
    );
    assert!(statuses_of(&by_pair, "u").is_empty(), "{by_pair:?}");
    assert_eq!(by_pair[0]["Attributes"]["lk"], "lv");
    assert_eq!(by_pair[0]["Attributes"]["from"], "image");
    // The image's label matches too; a name alone matches any value.
    let by_image = journal(&env, &["--filter", "label=from=image"]);
    assert_eq!(statuses_of(&by_image, "l"), ["create", "remove"]);
    let by_key = journal(&env, &["--filter", "label=lk"]);
    assert_eq!(statuses_of(&by_key, "l"), ["create", "remove"]);
    assert!(journal(&env, &["--filter", "label=lk=other"]).is_empty());
    // Two label filters: either may match, as podman's filters of one key.
    let either = journal(
        &env,
        &["--filter", "label=lk=other", "--filter", "label=lk=lv"],
    );
    assert_eq!(statuses_of(&either, "l"), ["create", "remove"]);
    // The human line shows them as podman's does.
    let text = env.ok(&[
        "events",
        "--stream=false",
        "--filter",
        "label=lk=lv",
        "--filter",
        "event=create",
    ]);
    assert!(
        text.trim_end()
            .ends_with("(image=labelled, name=l, from=image, lk=lv)"),
        "{text}"
    );
}

#[test]
fn run_and_create_write_podman_s_pull_event() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    env.ok(&[
        "create",
        "--name",
        "p",
        "--network",
        "none",
        "busybox",
        "true",
    ]);
    env.ok(&["run", "--rm", "--network", "none", "busybox", "true"]);
    let pulls = journal(&env, &["--filter", "event=pull"]);
    assert_eq!(pulls.len(), 2, "{pulls:?}");
    for e in &pulls {
        assert_eq!(e["Type"], "image");
        assert_eq!(e["Name"], "busybox");
        // podman's run writes the name as given and no id.
        assert!(e.get("ID").is_none(), "{e}");
        assert!(e["Attributes"].is_null(), "{e}");
    }
    // A run that fails to find its image writes none.
    let out = env.berth(&["run", "--pull", "never", "--network", "none", "nosuch"]);
    assert_eq!(out.status.code(), Some(125));
    assert_eq!(journal(&env, &["--filter", "event=pull"]).len(), 2);
    env.ok(&["rm", "p"]);
}
