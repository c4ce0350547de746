//! The CLI as a terminal user runs it: the real binary, a temporary data directory, the
//! sandbox in-process (`--sandbox`), JSON on stdout and meaningful exit codes.

mod insider;

use redeemdesk_core::business_day::BusinessDayRule;
use redeemdesk_core::clock::{Clock, SystemClock};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn cli(data: &Path, args: &[&str]) -> (i32, Value) {
    cli_with(data, args, &[])
}

fn cli_with(data: &Path, args: &[&str], env: &[(&str, &str)]) -> (i32, Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_redeemdesk-cli"))
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .envs(env.iter().copied())
        .output()
        .expect("the CLI runs");
    let text = String::from_utf8_lossy(&out.stdout);
    let json =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("JSON on stdout ({e}): {text}"));
    (out.status.code().unwrap_or(-1), json)
}

/// The manager PIN the app's 设置 would have set, in the sandbox ledger of `data` (the CLI
/// sets none: its manager commands only ask for it).
fn set_manager_pin(data: &Path, pin: &str) {
    use redeemdesk_core::app_info::Mode;
    use redeemdesk_core::ledger::{self, Ledger};
    let path = data.join(ledger::file_name(Mode::Sandbox));
    let ledger = std::sync::Arc::new(Ledger::open(&path, Mode::Sandbox).unwrap());
    let clock = std::sync::Arc::new(SystemClock);
    let desk = redeemdesk_core::desk::Desk::open(
        ledger.clone(),
        Vec::new(),
        clock,
        redeemdesk_core::scan::ScanRules::default(),
    )
    .unwrap();
    desk.set_manager_pin(None, pin, "李店长").unwrap();
    drop(desk);
    ledger.close().unwrap();
}

fn today() -> String {
    BusinessDayRule::default()
        .day_of(SystemClock.now_ms())
        .to_string()
}

#[test]
fn a_sandbox_redemption_is_logged_timelined_and_the_chain_verifies() {
    let tmp = tempfile::tempdir().unwrap();
    let (code, out) = cli(
        tmp.path(),
        &[
            "--sandbox",
            "redeem",
            "--channel",
            "shoubei",
            "--code",
            "679533922928",
        ],
    );
    assert_eq!(code, 0, "{out}");
    assert_eq!(out["redemption"]["attempt"]["state"], "succeeded", "{out}");
    assert_eq!(out["mode"], "sandbox");

    let (code, log) = cli(tmp.path(), &["--sandbox", "log", "--day", &today()]);
    assert_eq!(code, 0, "{log}");
    assert_eq!(log["attempts"].as_array().unwrap().len(), 1, "{log}");
    let totals = &log["totals"][0];
    assert_eq!(totals["channel"], "shoubei", "{log}");

    let (code, timeline) = cli(
        tmp.path(),
        &["--sandbox", "timeline", "--code", "679533922928"],
    );
    assert_eq!(code, 0);
    let events = timeline[0]["events"].as_array().unwrap();
    assert_eq!(events.len(), 2, "pending, then succeeded: {timeline}");
    assert!(
        !timeline
            .to_string()
            .contains("5f0c3d7e9a1b4c6d8e2f0a1b3c5d7e9f"),
        "the demo key never reaches the ledger"
    );

    let (code, report) = cli(tmp.path(), &["--sandbox", "verify-log"]);
    assert_eq!(code, 0, "an untouched ledger verifies: {report}");
    assert_eq!(report["intact"], true);
}

#[test]
fn verify_log_finds_a_row_changed_behind_the_apps_back() {
    let tmp = tempfile::tempdir().unwrap();
    let (code, _) = cli(
        tmp.path(),
        &[
            "--sandbox",
            "redeem",
            "--channel",
            "zvcms",
            "--code",
            "390962138708451328",
        ],
    );
    assert_eq!(code, 0);
    {
        let db = rusqlite::Connection::open(tmp.path().join("ledger-sandbox.sqlite")).unwrap();
        // Someone with the file and a SQLite shell: triggers are no protection against them.
        db.execute_batch(
            "DROP TRIGGER events_no_update;
             UPDATE events SET reason = 'redeemed by someone else' WHERE seq = 1;",
        )
        .unwrap();
    }
    let (code, report) = cli(tmp.path(), &["--sandbox", "verify-log"]);
    assert_eq!(code, 1, "a broken chain fails the command: {report}");
    let message = report["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("event_altered") || message.contains("EventAltered"),
        "names the break: {message}"
    );
}

#[test]
fn bad_input_is_refused_with_a_code_and_nothing_is_logged() {
    let tmp = tempfile::tempdir().unwrap();
    for (raw, expected) in [("", "code_empty"), ("12😀34", "code_bad_character")] {
        let (code, out) = cli(
            tmp.path(),
            &["--sandbox", "redeem", "--channel", "shoubei", "--code", raw],
        );
        assert_eq!(code, 2, "{out}");
        assert_eq!(out["error"]["code"], expected, "{raw:?}: {out}");
    }
    let (_, recent) = cli(tmp.path(), &["--sandbox", "recent"]);
    assert_eq!(
        recent.as_array().map(Vec::len),
        Some(0),
        "refusals write nothing: {recent}"
    );
}

#[test]
fn a_data_directory_in_use_is_refused_for_writing_but_readable() {
    let tmp = tempfile::tempdir().unwrap();
    let (code, _) = cli(
        tmp.path(),
        &[
            "--sandbox",
            "redeem",
            "--channel",
            "shoubei",
            "--code",
            "679533922935",
        ],
    );
    assert_eq!(code, 0);
    let _held = redeemdesk_core::data_dir::DataDir::open(tmp.path()).unwrap();
    let (code, out) = cli(
        tmp.path(),
        &[
            "--sandbox",
            "redeem",
            "--channel",
            "shoubei",
            "--code",
            "679533922928",
        ],
    );
    assert_eq!(code, 2);
    assert_eq!(
        out["error"]["code"], "data_dir_in_use",
        "two writers never share a ledger: {out}"
    );
    let (code, recent) = cli(tmp.path(), &["--sandbox", "recent"]);
    assert_eq!(code, 0, "reading does not need the lock: {recent}");
    assert_eq!(recent.as_array().unwrap().len(), 1);
}

#[test]
fn a_value_added_order_is_queued_and_delivered() {
    let tmp = tempfile::tempdir().unwrap();
    let (code, out) = cli(
        tmp.path(),
        &[
            "--sandbox",
            "order",
            "--product",
            "2112291922150704074",
            "--name",
            "王刚",
            "--phone",
            "13566662456",
            "--quantity",
            "2",
        ],
    );
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        out["queued"]["state"], "queued",
        "stored before sending: {out}"
    );
    assert_eq!(out["notification"]["state"], "delivered", "{out}");
    assert_eq!(out["queued"]["total"], 6000, "30.00 元 × 2 computed: {out}");
}

#[test]
fn a_day_exports_to_csv_and_xlsx_files() {
    let tmp = tempfile::tempdir().unwrap();
    let (code, _) = cli(
        tmp.path(),
        &[
            "--sandbox",
            "redeem",
            "--channel",
            "zvcms",
            "--code",
            "390962138708451328",
        ],
    );
    assert_eq!(code, 0);
    for format in ["csv", "xlsx"] {
        let out = tmp.path().join(format!("day.{format}"));
        let (code, report) = cli(
            tmp.path(),
            &[
                "--sandbox",
                "export",
                "--day",
                &today(),
                "--format",
                format,
                "--out",
                out.to_str().unwrap(),
            ],
        );
        assert_eq!(code, 0, "{report}");
        assert_eq!(report["attempts"], 1);
        let bytes = std::fs::read(&out).unwrap();
        assert!(bytes.len() > 100, "{format}: a real file");
        if format == "xlsx" {
            assert!(bytes.starts_with(b"PK"), "an XLSX is a zip");
        } else {
            assert!(
                String::from_utf8_lossy(&bytes).contains("=\"\"390962138708451328\"\""),
                "text code"
            );
        }
    }
}

#[test]
fn reconcile_against_a_statement_reports_each_line_and_each_broken_row() {
    let tmp = tempfile::tempdir().unwrap();
    let (code, _) = cli(
        tmp.path(),
        &[
            "--sandbox",
            "redeem",
            "--channel",
            "shoubei",
            "--code",
            "679533922928",
        ],
    );
    assert_eq!(code, 0);
    set_manager_pin(tmp.path(), "246813");
    let statement = tmp.path().join("shoubei.csv");
    std::fs::write(
        &statement,
        "核销时间,券码,面值,状态\n2026-11-22 12:00:00,679533922928,10.00,已核销\n2026-11-22 12:05:00,679533999999,5.00,已核销\n2026-11-22 12:06:00,,1.00,已核销\n",
    )
    .unwrap();
    let mapping = tmp.path().join("mapping.toml");
    std::fs::write(&mapping, "code = \"券码\"\nface_value = \"面值\"\nstate = \"状态\"\ncancelled_values = [\"已撤销\"]\n").unwrap();
    let report_file = tmp.path().join("report.xlsx");
    let reconcile =
        |args: &[&str], pin: &str| cli_with(tmp.path(), args, &[("REDEEMDESK_MANAGER_PIN", pin)]);
    let (code, out) = reconcile(
        &[
            "--sandbox",
            "reconcile",
            "--day",
            &today(),
            "--channel",
            "shoubei",
            "--statement",
            statement.to_str().unwrap(),
            "--mapping",
            mapping.to_str().unwrap(),
        ],
        "000000",
    );
    assert_ne!(code, 0, "a wrong manager PIN reconciles nothing: {out}");
    assert_eq!(out["error"]["code"], "pin_wrong", "{out}");
    let (code, out) = cli(
        tmp.path(),
        &[
            "--sandbox",
            "reconcile",
            "--day",
            &today(),
            "--channel",
            "shoubei",
            "--statement",
            statement.to_str().unwrap(),
            "--mapping",
            mapping.to_str().unwrap(),
            "--out",
            report_file.to_str().unwrap(),
        ],
    );
    assert_ne!(code, 0, "no manager PIN on stdin, no reconciliation: {out}");
    let (code, out) = reconcile(
        &[
            "--sandbox",
            "reconcile",
            "--day",
            &today(),
            "--channel",
            "shoubei",
            "--statement",
            statement.to_str().unwrap(),
            "--mapping",
            mapping.to_str().unwrap(),
            "--out",
            report_file.to_str().unwrap(),
        ],
        "246813",
    );
    assert_eq!(code, 0, "{out}");
    let counts = &out["report"]["counts"];
    assert_eq!(counts["matched"], 1, "{out}");
    assert_eq!(counts["only_at_channel"], 1, "{out}");
    assert_eq!(
        counts["unreadable"], 1,
        "the broken row is a mismatch, not dropped: {out}"
    );
    let broken = out["report"]["lines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["verdict"] == "unreadable")
        .expect("the broken row is listed");
    assert_eq!(broken["statement_row"], 4, "the broken row is named: {out}");
    assert!(report_file.exists(), "the report was exported");

    std::fs::write(&mapping, "code = \"coupon\"\n").unwrap();
    let (code, out) = reconcile(
        &[
            "--sandbox",
            "reconcile",
            "--day",
            &today(),
            "--channel",
            "shoubei",
            "--statement",
            statement.to_str().unwrap(),
            "--mapping",
            mapping.to_str().unwrap(),
        ],
        "246813",
    );
    assert_eq!(code, 2);
    assert_eq!(out["error"]["code"], "statement_invalid", "{out}");
    assert!(
        out["error"]["message"].as_str().unwrap().contains("coupon"),
        "names the column: {out}"
    );
}

#[test]
fn a_config_with_the_sandboxs_demo_key_is_refused_by_the_cli_naming_the_field() {
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("store.toml");
    std::fs::write(
        &config,
        "[channels.shoubei]\nbase_url = \"http://127.0.0.1:9/shoubei\"\ninst_no = \"90002401\"\n\
         merchant_no = \"851811130002\"\nshop_no = \"862010110001\"\nsecrets = \"secrets.toml\"\n",
    )
    .unwrap();
    std::fs::write(
        tmp.path().join("secrets.toml"),
        "[shoubei]\nkey = \"5f0c3d7e9a1b4c6d8e2f0a1b3c5d7e9f\"\n",
    )
    .unwrap();
    let data = tmp.path().join("data");
    let (code, out) = cli(
        &data,
        &[
            "--config",
            config.to_str().unwrap(),
            "redeem",
            "--channel",
            "shoubei",
            "--code",
            "679533922928",
        ],
    );
    assert_eq!(code, 2, "a refusal, not a redemption: {out}");
    assert_eq!(out["error"]["code"], "config_invalid", "{out}");
    assert_eq!(
        out["error"]["field"], "channels.shoubei.key",
        "the field is data, not only text: {out}"
    );
    assert!(
        !out.to_string().contains("5f0c3d7e9a1b4c6d8e2f0a1b3c5d7e9f"),
        "the refusal never quotes the key: {out}"
    );
}

#[test]
fn a_config_toml_without_a_channel_is_refused_by_the_cli_saying_what_to_do() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("config.toml"), "[business]\n").unwrap();
    let (code, out) = cli(
        tmp.path(),
        &["redeem", "--channel", "shoubei", "--code", "679533922928"],
    );
    assert_eq!(code, 2, "{out}");
    assert_eq!(out["error"]["code"], "config_no_channel", "{out}");
    let message = out["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("设置") && message.contains("sandbox mode"),
        "says what to do: {message}"
    );
}

fn redeem(data: &Path, channel: &str, code: &str) {
    let (exit, out) = cli(
        data,
        &["--sandbox", "redeem", "--channel", channel, "--code", code],
    );
    assert_eq!(exit, 0, "the sandbox redeems {code}: {out}");
}

#[test]
fn a_tail_cut_after_an_export_printed_its_head_passes_the_chain_but_fails_the_anchor() {
    let tmp = tempfile::tempdir().unwrap();
    redeem(tmp.path(), "shoubei", "679533922928");
    redeem(tmp.path(), "zvcms", "390962138708451328");
    let csv = tmp.path().join("day.csv");
    let (exit, export) = cli(
        tmp.path(),
        &[
            "--sandbox",
            "export",
            "--day",
            &today(),
            "--format",
            "csv",
            "--out",
            csv.to_str().unwrap(),
        ],
    );
    assert_eq!(exit, 0, "{export}");
    let printed = export["chain_head"].as_str().unwrap().to_owned();
    let file = std::fs::read_to_string(&csv).unwrap();
    assert!(
        file.contains(&printed),
        "the file carries the head the command reported, {printed}: {file}"
    );
    // What the accountant keeps: the id and a hash prefix, as written on the file.
    let anchor = printed.trim_start_matches('#').trim_end_matches('…');

    // The insider removes the second redemption and everything after it, consistently:
    // its events, its attempt row, and the rows sealed after it.
    insider::cut_from_code(
        &tmp.path().join("ledger-sandbox.sqlite"),
        "390962138708451328",
    );
    // The head sidecar remembers the longer ledger (issue 18 item 1): with it, the cut shows
    // at once. The insider removes it too.
    let sidecar = tmp.path().join("ledger-sandbox.sqlite.head");
    let (exit, report) = cli(tmp.path(), &["--sandbox", "verify-log"]);
    assert!(
        exit == 1
            && report["error"]["code"] == "ledger_broken"
            && report["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("holds less than when it was last seen")),
        "the sidecar catches the cut: {report}"
    );
    std::fs::remove_file(&sidecar).expect("the sidecar");

    let (exit, report) = cli(tmp.path(), &["--sandbox", "verify-log"]);
    assert_eq!(
        (exit, &report["intact"]),
        (0, &Value::Bool(true)),
        "a consistent cut leaves nothing inside the file to catch it (hence anchors): {report}"
    );
    let (exit, report) = cli(tmp.path(), &["--sandbox", "verify-log", "--anchor", anchor]);
    assert_eq!(exit, 1, "the printed head is gone: {report}");
    let message = report["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("截掉")
            && message.contains("its tail was cut")
            && message.contains(&printed),
        "says, in both languages, that the chain was cut before the head written down: {message}"
    );
}

#[test]
fn verify_log_accepts_a_head_still_in_the_chain_and_refuses_a_malformed_one() {
    let tmp = tempfile::tempdir().unwrap();
    redeem(tmp.path(), "shoubei", "679533922928");
    let (_, report) = cli(tmp.path(), &["--sandbox", "verify-log"]);
    let head = format!(
        "{}:{}",
        report["chain"]["head_id"],
        &report["chain"]["head_hash"].as_str().unwrap()[..8]
    );
    redeem(tmp.path(), "zvcms", "390962138708451328");
    let (exit, report) = cli(tmp.path(), &["--sandbox", "verify-log", "--anchor", &head]);
    assert_eq!(
        exit, 0,
        "a head from before later redemptions still holds: {report}"
    );
    assert_eq!(report["anchors"][0]["holds"], true, "{report}");

    let out = Command::new(env!("CARGO_BIN_EXE_redeemdesk-cli"))
        .arg("--data-dir")
        .arg(tmp.path())
        .args(["--sandbox", "verify-log", "--anchor", "12:9f3a"])
        .output()
        .unwrap();
    assert!(
        !out.status.success() && String::from_utf8_lossy(&out.stderr).contains("at least 8 hex"),
        "a prefix too short to mean anything is refused: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_cli_redemption_closes_the_ledger_so_the_sqlite_file_alone_is_the_whole_ledger() {
    let tmp = tempfile::tempdir().unwrap();
    redeem(tmp.path(), "shoubei", "679533922928");
    let ledger = tmp.path().join("ledger-sandbox.sqlite");
    let wal = tmp.path().join("ledger-sandbox.sqlite-wal");
    assert!(
        !wal.exists() || std::fs::metadata(&wal).unwrap().len() == 0,
        "the clean close folded the -wal into the main file"
    );
    // The backup that copies only the .sqlite: it holds the redemption.
    let backup = tempfile::tempdir().unwrap();
    std::fs::copy(&ledger, backup.path().join("ledger-sandbox.sqlite")).unwrap();
    let (code, log) = cli(backup.path(), &["--sandbox", "log", "--day", &today()]);
    assert_eq!(code, 0, "{log}");
    assert_eq!(log["attempts"].as_array().unwrap().len(), 1, "{log}");
}

#[cfg(unix)]
#[test]
fn log_timeline_and_verify_log_read_an_archive_on_read_only_media_without_touching_it() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    redeem(tmp.path(), "shoubei", "679533922928");
    let media = tempfile::tempdir().unwrap();
    for name in ["ledger-sandbox.sqlite", "ledger-sandbox.sqlite.head"] {
        let to = media.path().join(name);
        std::fs::copy(tmp.path().join(name), &to).unwrap();
        std::fs::set_permissions(&to, std::fs::Permissions::from_mode(0o444)).unwrap();
    }
    std::fs::set_permissions(media.path(), std::fs::Permissions::from_mode(0o555)).unwrap();
    let before = std::fs::read(media.path().join("ledger-sandbox.sqlite")).unwrap();

    let archive = |args: &[&str]| {
        let mut all = vec!["--sandbox", "--archive"];
        all.extend_from_slice(args);
        cli(media.path(), &all)
    };
    let (code, log) = archive(&["log", "--day", &today()]);
    assert_eq!(code, 0, "{log}");
    assert_eq!(log["attempts"].as_array().unwrap().len(), 1, "{log}");
    let (code, timeline) = archive(&["timeline", "--code", "679533922928"]);
    assert_eq!(code, 0, "{timeline}");
    assert_eq!(timeline[0]["events"].as_array().unwrap().len(), 2);
    let (code, report) = archive(&["verify-log"]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["intact"], true, "{report}");
    assert_eq!(
        report["head_sidecar"], "ok",
        "the copied head agrees: {report}"
    );

    let mut names: Vec<_> = std::fs::read_dir(media.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["ledger-sandbox.sqlite", "ledger-sandbox.sqlite.head"],
        "no -wal or -shm was made beside the archive (root ignores the mode bits)"
    );
    assert!(
        std::fs::read(media.path().join("ledger-sandbox.sqlite")).unwrap() == before,
        "the archive's bytes are unchanged"
    );
    std::fs::set_permissions(media.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// Issue 18 item 7 from a terminal: `redeem` opens the named cashier's shift as the till's
/// 开班 does, so a 100,000-character name is refused at the boundary, a name not on the
/// list is refused, and the day's XLSX export still works with the default cashier's row.
#[test]
fn a_100000_character_cashier_name_is_refused_and_the_days_xlsx_export_still_works() {
    let tmp = tempfile::tempdir().unwrap();
    let huge = "x".repeat(100_000);
    let args = |cashier: &str| -> Vec<String> {
        [
            "--sandbox",
            "redeem",
            "--channel",
            "shoubei",
            "--code",
            "679533922928",
            "--cashier",
            cashier,
        ]
        .map(str::to_owned)
        .to_vec()
    };
    let run = |a: Vec<String>| {
        cli(
            tmp.path(),
            &a.iter().map(String::as_str).collect::<Vec<_>>(),
        )
    };
    let (exit, out) = run(args(&huge));
    assert_eq!(exit, 2, "refused: {}", out.to_string().len());
    assert_eq!(out["error"]["code"], "text_too_long");
    let message = out["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("收银员姓名太长") && message.len() < 200,
        "a short bilingual refusal: {message}"
    );
    let (exit, out) = run(args("王芳"));
    assert_eq!(exit, 2, "not on the (empty) list: {out}");
    assert_eq!(out["error"]["code"], "no_such_cashier");
    redeem(tmp.path(), "shoubei", "679533922928");

    let xlsx = tmp.path().join("day.xlsx");
    let (exit, export) = cli(
        tmp.path(),
        &[
            "--sandbox",
            "export",
            "--day",
            &today(),
            "--format",
            "xlsx",
            "--out",
            xlsx.to_str().unwrap(),
        ],
    );
    assert_eq!(exit, 0, "{export}");
    assert_eq!(
        export["attempts"], 1,
        "only the default cashier's redemption: {export}"
    );
    let bytes = std::fs::read(&xlsx).unwrap();
    assert!(bytes.starts_with(b"PK"), "an xlsx (zip) file");
    let (_, log) = cli(tmp.path(), &["--sandbox", "log", "--day", &today()]);
    assert_eq!(
        log["attempts"][0]["cashier"],
        redeemdesk_core::roles::DEFAULT_CASHIER,
        "recorded under the shift's cashier: {log}"
    );
}

/// Issue 18 item 3's way out, from a terminal, on a real damaged file: `new-ledger` sets the
/// damaged ledger aside with its sidecars (never deleting it), starts a new one that the
/// next redemption uses, and the old one reads with `--archive --ledger`.
#[test]
fn new_ledger_sets_a_damaged_ledger_aside_and_the_old_one_stays_readable() {
    let tmp = tempfile::tempdir().unwrap();
    redeem(tmp.path(), "shoubei", "679533922928");
    redeem(tmp.path(), "zvcms", "390962138708451328");
    let path = tmp.path().join("ledger-sandbox.sqlite");
    let older = std::fs::read(&path).unwrap();
    redeem(tmp.path(), "shoubei", "679533922935");
    // An older copy put back over the file: the desk refuses it as behind its head.
    std::fs::write(&path, &older).unwrap();
    let (exit, out) = cli(tmp.path(), &["--sandbox", "verify-log"]);
    assert_ne!(exit, 0, "damaged: {out}");
    let (exit, healthy) = cli(
        tempfile::tempdir().unwrap().path(),
        &["--sandbox", "new-ledger"],
    );
    assert_eq!(exit, 2, "no ledger there to set aside: {healthy}");

    let (exit, out) = cli(tmp.path(), &["--sandbox", "new-ledger"]);
    assert_eq!(exit, 0, "{out}");
    let archive = PathBuf::from(out["archive"].as_str().unwrap());
    assert_eq!(
        std::fs::read(&archive).unwrap(),
        older,
        "kept byte for byte"
    );
    assert!(
        Path::new(&format!("{}.head", archive.display())).exists(),
        "its head sidecar moved with it: {out}"
    );
    let (exit, out) = cli(tmp.path(), &["--sandbox", "new-ledger"]);
    assert_eq!(exit, 2, "the new ledger is whole: {out}");
    assert_eq!(out["error"]["code"], "ledger_not_damaged");

    let (exit, old_log) = cli(
        tmp.path(),
        &[
            "--sandbox",
            "--archive",
            "--ledger",
            archive.to_str().unwrap(),
            "log",
            "--day",
            &today(),
        ],
    );
    assert_eq!(exit, 0, "{old_log}");
    assert_eq!(
        old_log["attempts"].as_array().unwrap().len(),
        2,
        "the old day reads"
    );
    redeem(tmp.path(), "liantuofu", "914095353294404024");
    let (_, new_log) = cli(tmp.path(), &["--sandbox", "log", "--day", &today()]);
    assert_eq!(
        new_log["attempts"].as_array().unwrap().len(),
        1,
        "the till works on the new ledger: {new_log}"
    );
}
