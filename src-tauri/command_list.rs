//! The app's commands are named in four places that the compiler does not tie together:
//! the handler list (lib.rs), the app manifest (build.rs), the capability that grants them
//! (capabilities/default.json) and the UI's wrappers (ui/api.js). This test ties them: a
//! command missing from one of them is either uncallable or callable without a grant.

use std::collections::BTreeSet;
use std::path::Path;

fn read(path: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path))
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The text between `open` and the first `close` after it.
fn between<'a>(text: &'a str, open: &str, close: &str) -> &'a str {
    let start = text
        .find(open)
        .unwrap_or_else(|| panic!("{open:?} not found"))
        + open.len();
    let end = text[start..].find(close).expect("the list ends") + start;
    &text[start..end]
}

fn handlers() -> BTreeSet<String> {
    let lib = read("src-tauri/lib.rs");
    between(&lib, "generate_handler![", "]")
        .split(',')
        .filter_map(|item| item.trim().rsplit("::").next().map(str::to_owned))
        .filter(|name| !name.is_empty())
        .collect()
}

fn quoted(list: &str, quote: char) -> BTreeSet<String> {
    list.split(quote)
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

fn manifest() -> BTreeSet<String> {
    quoted(
        between(&read("src-tauri/build.rs"), ".commands(&[", "])"),
        '"',
    )
}

fn granted() -> BTreeSet<String> {
    let json: serde_json::Value =
        serde_json::from_str(&read("capabilities/default.json")).expect("capability JSON");
    json["permissions"]
        .as_array()
        .expect("a permission list")
        .iter()
        .filter_map(|p| p.as_str())
        .filter_map(|p| p.strip_prefix("allow-"))
        .map(|p| p.replace('-', "_"))
        .collect()
}

fn called_by_the_ui() -> BTreeSet<String> {
    let api = read("ui/api.js");
    api.split("call('")
        .skip(1)
        .filter_map(|rest| rest.split('\'').next().map(str::to_owned))
        .collect()
}

#[test]
fn every_command_is_handled_declared_granted_and_wrapped_once_each() {
    let handled = handlers();
    assert!(
        handled.len() >= 40,
        "the handler list was parsed ({})",
        handled.len()
    );
    for (what, names) in [
        ("build.rs's app manifest", manifest()),
        ("capabilities/default.json", granted()),
        ("ui/api.js", called_by_the_ui()),
    ] {
        let missing: Vec<_> = handled.difference(&names).collect();
        let extra: Vec<_> = names.difference(&handled).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "{what}: missing {missing:?}, not a handled command {extra:?}"
        );
    }
}
