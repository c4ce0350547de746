//! Checks on the UI sources that a reviewer would otherwise have to remember: both string
//! tables have the same keys, only `ui/api.js` calls `invoke`, no script renders HTML
//! from strings (text from a channel must always be set as text), and no script keeps a
//! channel's settings or a list of channels (each channel module in the core owns its form;
//! the UI draws it from `channel_setup` and its chooser from `channels`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn ui_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("ui")
}

fn scripts(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("ui/ is readable") {
        let path = entry.unwrap().path();
        if path.is_dir() {
            scripts(&path, out);
        } else if path.extension().is_some_and(|e| e == "js") {
            out.push(path);
        }
    }
}

/// The quoted or bare keys of a `export default { key: '…', 'a.b': '…' }` table.
fn table_keys(file: &str) -> BTreeSet<String> {
    let text = std::fs::read_to_string(ui_dir().join("i18n").join(file)).expect("string table");
    text.lines()
        .filter_map(|line| {
            let line = line.trim();
            if line.starts_with("//") || line.starts_with("export") || line.starts_with('}') {
                return None;
            }
            let (key, _) = line.split_once(':')?;
            Some(key.trim().trim_matches('\'').to_owned())
        })
        .collect()
}

#[test]
fn both_string_tables_have_exactly_the_same_keys() {
    let zh = table_keys("zh.js");
    let en = table_keys("en.js");
    assert!(zh.len() > 20, "the parser found the keys ({})", zh.len());
    let only_zh: Vec<_> = zh.difference(&en).collect();
    let only_en: Vec<_> = en.difference(&zh).collect();
    assert!(
        only_zh.is_empty() && only_en.is_empty(),
        "missing in en.js: {only_zh:?}; missing in zh.js: {only_en:?}"
    );
}

#[test]
fn only_api_js_calls_invoke_and_no_script_renders_html_from_strings() {
    let mut files = Vec::new();
    scripts(&ui_dir(), &mut files);
    assert!(files.len() >= 5, "the UI scripts were found");
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        let name = f.strip_prefix(ui_dir()).unwrap().display().to_string();
        if name != "api.js" {
            assert!(
                !text.contains("invoke("),
                "{name} calls invoke: only api.js may"
            );
            assert!(
                !text.contains("__TAURI"),
                "{name} reaches into the Tauri bridge: only api.js may"
            );
        }
        for sink in [
            "innerHTML",
            "outerHTML",
            "insertAdjacentHTML",
            "document.write",
        ] {
            assert!(
                !text.contains(sink),
                "{name} uses {sink}: set text with textContent"
            );
        }
    }
}

/// The relative modules `file` imports statically (`import … from './x.js'`,
/// `import './x.js'`), as paths under ui/; dynamic `import()` is left out on purpose.
fn static_imports(file: &Path) -> Vec<PathBuf> {
    let text = std::fs::read_to_string(file).expect("a UI script");
    let dir = file.parent().expect("inside ui/");
    // Line comments out first: a `;` inside one must not split a statement.
    let code: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let mut out = Vec::new();
    for statement in code.split(';') {
        let s = statement.trim_start();
        if !s.starts_with("import ") && !s.starts_with("import{") {
            continue;
        }
        let spec = s.rsplit(['\'', '"']).nth(1).expect("a quoted module");
        if spec.starts_with('.') {
            out.push(normalise(&dir.join(spec)));
        }
    }
    out
}

fn normalise(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// `index.html` preloads the modules the cashier screen needs so WebKit fetches them in one
/// go (bench 5); the list is kept by hand, so it must equal main.js's static import graph:
/// a stale entry loads a module for nothing, a missing one costs a round of fetching.
#[test]
fn the_preloaded_modules_are_exactly_the_static_imports_of_main_js() {
    let ui = ui_dir();
    let mut graph = BTreeSet::new();
    let mut todo = vec![ui.join("main.js")];
    while let Some(file) = todo.pop() {
        for dep in static_imports(&file) {
            if graph.insert(dep.clone()) {
                todo.push(dep);
            }
        }
    }
    let graph: BTreeSet<String> = graph
        .iter()
        .map(|p| p.strip_prefix(&ui).unwrap().display().to_string())
        .collect();
    assert!(
        graph.contains("views/cashier.js"),
        "the parser found imports: {graph:?}"
    );
    assert!(
        !graph.iter().any(|m| m.starts_with("views/manager/")),
        "the manager side stays lazily imported: {graph:?}"
    );
    let html = std::fs::read_to_string(ui.join("index.html")).unwrap();
    let preloaded: BTreeSet<String> = html
        .lines()
        .filter(|l| l.contains("rel=\"modulepreload\""))
        .filter_map(|l| {
            l.split("href=\"")
                .nth(1)?
                .split('"')
                .next()
                .map(str::to_owned)
        })
        .collect();
    let stale: Vec<_> = preloaded.difference(&graph).collect();
    let missing: Vec<_> = graph.difference(&preloaded).collect();
    assert!(
        stale.is_empty() && missing.is_empty(),
        "index.html preloads modules main.js does not import: {stale:?}; \
         imports it does not preload: {missing:?}"
    );
}

/// The lines of a script that run a regular expression or a string search over an error's
/// `message` (or a reason text).
/// A regular expression of English words tested against something (`/must be 1–(\d+)
/// digits/.exec(r)`): our own messages read back, whatever the variable is called.
fn english_pattern(code: &str) -> bool {
    let Some(at) = code
        .find(").exec(")
        .or_else(|| code.find("/.test("))
        .or_else(|| code.find("/.exec("))
    else {
        return false;
    };
    let before = &code[..at];
    let Some(start) = before
        .rfind("(/")
        .or_else(|| before.rfind("= /"))
        .or_else(|| before.rfind(" /"))
    else {
        return false;
    };
    let pattern = &before[start..];
    pattern
        .split(|c: char| !c.is_ascii_alphabetic() && c != ' ')
        .any(|run| {
            run.split(' ')
                .filter(|w| w.len() > 1 && w.chars().all(|c| c.is_ascii_lowercase()))
                .count()
                >= 2
        })
}

fn message_reads(text: &str) -> Vec<(usize, String)> {
    let reads = [
        ".exec(",
        ".test(",
        ".match(",
        ".includes(",
        ".startsWith(",
        ".endsWith(",
        ".indexOf(",
        ".search(",
        ".split(",
        ".replace(",
    ];
    text.lines()
        .enumerate()
        .filter(|(_, line)| {
            let code = line.split("//").next().unwrap_or("");
            let names_a_message = [".message", ".reason ", ".reason)", ".reason ?"]
                .iter()
                .any(|m| code.contains(m));
            names_a_message && reads.iter().any(|r| code.contains(r)) || english_pattern(code)
        })
        .map(|(n, line)| (n + 1, line.trim().to_owned()))
        .collect()
}

/// Errors reach the UI as `{code, field, detail}` (error.rs); the English `message` is only
/// ever shown or logged, never read: no regular expression or string search runs over it.
#[test]
fn no_script_reads_an_error_message_text() {
    let mut files = Vec::new();
    scripts(&ui_dir(), &mut files);
    let mut found = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        let name = f.strip_prefix(ui_dir()).unwrap().display().to_string();
        for (n, line) in message_reads(&text) {
            found.push(format!("{name}:{n}: {line}"));
        }
    }
    assert!(
        found.is_empty(),
        "message text read by the UI:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_message_check_catches_what_the_cashier_screen_once_did() {
    let old = "const x = 1;\n        const m = /at (\\d+) by (.*)$/s.exec(e.message ?? '');\n\
               if (UNREACHABLE.test(p.reason ?? '')) go();\n\
               lines: [{ text: e.message }],";
    let found: Vec<usize> = message_reads(old).into_iter().map(|(n, _)| n).collect();
    assert_eq!(found, vec![2, 3]);
    // And what the settings screen once did: English reasons read back through a variable.
    let settings = "const r = String(reason || '');\n\
                    if ((m = /must be 1–(\\d+) digits/.exec(r))) return 1;\n\
                    if (/missing field|not a URL/.test(r)) return 2;\n\
                    const m = /^(\\d{4})[-/.]?(\\d{1,2})$/.exec(s);";
    let found: Vec<usize> = message_reads(settings)
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(found, vec![2, 3], "a date pattern is not a message");
}

/// Every name a channel's settings form gives (fields and secrets), from the core.
fn form_names() -> BTreeSet<&'static str> {
    use redeemdesk_core::channel::ChannelKind;
    ChannelKind::ALL
        .into_iter()
        .flat_map(|k| {
            let form = k.form();
            form.fields
                .iter()
                .map(|f| f.name)
                .chain(form.secrets.iter().map(|s| s.name))
        })
        .collect()
}

/// The lines of a script (comments aside) that name a channel's setting as a string
/// literal, or two channels at once (a list of channels), other than a command name.
fn hard_coded_channel_settings(text: &str) -> Vec<(usize, String)> {
    use redeemdesk_core::channel::ChannelKind;
    let names = form_names();
    let quoted = |code: &str, name: &str| {
        ['\'', '"', '`']
            .iter()
            .any(|q| code.contains(&format!("{q}{name}{q}")))
    };
    text.lines()
        .enumerate()
        .filter(|(_, line)| {
            let trimmed = line.trim_start();
            if trimmed.starts_with("//") || trimmed.starts_with('*') || trimmed.starts_with("/*") {
                return false;
            }
            let code = line.split(" //").next().unwrap_or("");
            // `call('products')` names a command, not a setting.
            let code = code.replace("call('", "call(");
            let settings = names.iter().any(|n| quoted(&code, n));
            let channels = ChannelKind::ALL
                .iter()
                .filter(|k| quoted(&code, k.as_str()))
                .count();
            settings || channels >= 2
        })
        .map(|(n, line)| (n + 1, line.trim().to_owned()))
        .collect()
}

/// Which settings a channel has comes from its module in the core (`ChannelKind::form`,
/// sent with `channel_setup`), and which channels the chooser offers from `channels`: a
/// script that names a setting of a channel, or lists channels, has grown a second copy.
/// Labels are the string tables' `set.f.<name>` keys, which are not scripts of this kind.
#[test]
fn no_script_keeps_a_channels_settings_or_a_list_of_channels() {
    let mut files = Vec::new();
    scripts(&ui_dir(), &mut files);
    let mut found = Vec::new();
    for f in files {
        let name = f.strip_prefix(ui_dir()).unwrap().display().to_string();
        if name.starts_with("i18n/") {
            continue;
        }
        let text = std::fs::read_to_string(&f).unwrap();
        for (n, line) in hard_coded_channel_settings(&text) {
            found.push(format!("{name}:{n}: {line}"));
        }
    }
    assert!(
        found.is_empty(),
        "channel settings or channel lists kept in the UI (take them from the core's \
         `channel_setup` form and `channels` list):\n{}",
        found.join("\n")
    );
}

#[test]
fn the_settings_check_catches_the_form_schema_and_the_channel_list_the_ui_once_had() {
    let old =
        "const SCHEMA = {\n  shoubei: {\n    fields: [['base_url', true], ['inst_no', true]],\n\
               secrets: ['key'],\n  },\n};\n\
               export const CHANNELS = ['shoubei', 'zvcms', 'liantuofu', 'allinpay', 'yhtd'];\n\
               // ['base_url'] in a comment is fine\n\
               return call('products');\n\
               if (choice.channel === 'allinpay') cycle();";
    let found: Vec<usize> = hard_coded_channel_settings(old)
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(found, vec![3, 4, 7]);
}

/// Every channel's name and every setting and secret of its form have their label in both
/// string tables (a product table is titled by `set.products.title`).
#[test]
fn every_channel_and_each_of_its_settings_has_a_label_in_both_languages() {
    use redeemdesk_core::channel::settings::FieldKind;
    use redeemdesk_core::channel::ChannelKind;
    let labelled: BTreeSet<&str> = ChannelKind::ALL
        .into_iter()
        .flat_map(|k| {
            let form = k.form();
            form.fields
                .iter()
                .filter(|f| f.kind != FieldKind::ProductTable)
                .map(|f| f.name)
                .chain(form.secrets.iter().map(|s| s.name))
        })
        .collect();
    for table in ["zh.js", "en.js"] {
        let keys = table_keys(table);
        let missing: Vec<String> = labelled
            .iter()
            .map(|n| format!("set.f.{n}"))
            .chain(
                ChannelKind::ALL
                    .iter()
                    .map(|k| format!("channel.{}", k.as_str())),
            )
            .filter(|k| !keys.contains(k))
            .collect();
        assert!(missing.is_empty(), "{table} lacks {missing:?}");
    }
}
