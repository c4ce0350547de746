//! `verify-log --against-hq` on a real PostgreSQL server: HQ, the external anchor, finds a
//! tail cut that leaves nothing inside the file to catch it, and a rechain after upload
//! (which the uploader then finds itself and stops on).

mod insider;

use redeemdesk_core::app_info::Mode;
use redeemdesk_core::clock::SystemClock;
use redeemdesk_core::hq_sync::{UploadError, UploadIdentity, Uploader};
use redeemdesk_core::ledger::Ledger;
use redeemdesk_hq::testing::Cluster;
use redeemdesk_hq::{roles, HqClient, HqTarget};
use serde_json::Value;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;

const PASSWORD: &str = "till-pass-Q7e!x";

fn cli(data: &Path, args: &[&str]) -> (i32, Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_redeemdesk-cli"))
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .output()
        .expect("the CLI runs");
    let text = String::from_utf8_lossy(&out.stdout);
    let json =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("JSON on stdout ({e}): {text}"));
    (out.status.code().unwrap_or(-1), json)
}

fn redeem(data: &Path, channel: &str, code: &str) {
    let (exit, out) = cli(
        data,
        &["--sandbox", "redeem", "--channel", channel, "--code", code],
    );
    assert_eq!(exit, 0, "{out}");
}

async fn upload(data: &Path, url: &str, store: &str) -> Result<(), UploadError> {
    let ledger =
        Arc::new(Ledger::open(&data.join("ledger-sandbox.sqlite"), Mode::Sandbox).unwrap());
    let client = HqClient::new(HqTarget::new(url, Some(PASSWORD), None).unwrap());
    let up = Uploader::new(
        ledger.clone(),
        Arc::new(client),
        Arc::new(SystemClock),
        UploadIdentity {
            store_id: store.to_owned(),
            till: "1号机".to_owned(),
            app_version: "0.1.0-test".to_owned(),
        },
    )
    .unwrap();
    let r = up.drain().await.map(drop);
    ledger.close().unwrap();
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hq_finds_a_tail_cut_and_a_rechain_after_upload() {
    let cluster = Cluster::shared();
    let (db, mut admin) = cluster.fresh_db().await;
    let store = format!("cli-{}", std::process::id());
    roles::add_store(&mut admin, &store, PASSWORD)
        .await
        .unwrap();
    let url = cluster.tcp_url(&roles::role_name(&store), &db, None);

    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path();
    redeem(data, "shoubei", "679533922928");
    redeem(data, "zvcms", "390962138708451328");
    // [hq] beside the sandbox data: verify-log reads it; the desk stays in sandbox mode.
    std::fs::write(
        data.join("config.toml"),
        format!(
            "[channels.shoubei]\nbase_url = \"http://127.0.0.1:9/shoubei\"\ninst_no = \"60000001\"\n\
             merchant_no = \"851811130002\"\nshop_no = \"862010110001\"\nsecrets = \"secrets.toml\"\n\
             [hq]\nurl = \"{url}\"\nstore_id = \"{store}\"\ntill = \"1号机\"\nsecrets = \"secrets.toml\"\n"
        ),
    )
    .unwrap();
    std::fs::write(
        data.join("secrets.toml"),
        format!("[shoubei]\nkey = \"3b1f6a9c2e4d8b7a0c5e1f3a9d7b2c4e\"\n[hq]\npassword = \"{PASSWORD}\"\n"),
    )
    .unwrap();

    let (exit, report) = cli(data, &["--sandbox", "verify-log", "--against-hq"]);
    assert_eq!(exit, 0, "{report}");
    assert!(
        report["hq"]["comparison"]["not_yet_uploaded"]
            .as_i64()
            .unwrap()
            > 0,
        "nothing uploaded yet: {report}"
    );
    upload(data, &url, &store).await.expect("uploads");
    let (exit, report) = cli(data, &["--sandbox", "verify-log", "--against-hq"]);
    assert_eq!(
        (exit, &report["hq"]["holds"]),
        (0, &Value::Bool(true)),
        "{report}"
    );
    let hwm = report["hq"]["comparison"]["hq_hwm"].as_i64().unwrap();

    // The insider cuts the second redemption and all after it, consistently, sidecar too.
    let cut_from =
        insider::cut_from_code(&data.join("ledger-sandbox.sqlite"), "390962138708451328");
    std::fs::remove_file(data.join("ledger-sandbox.sqlite.head")).unwrap();
    let (exit, report) = cli(data, &["--sandbox", "verify-log"]);
    assert_eq!(exit, 0, "nothing inside the file catches it: {report}");
    let (exit, report) = cli(data, &["--sandbox", "verify-log", "--against-hq"]);
    assert_eq!(exit, 1, "{report}");
    let message = report["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("本机流水比总部记录短") && message.contains("its tail was cut"),
        "{message}"
    );

    // A new redemption rechains the cut positions: HQ holds other hashes there.
    redeem(data, "shoubei", "679533922929");
    let (exit, report) = cli(data, &["--sandbox", "verify-log", "--against-hq"]);
    assert_eq!(exit, 1, "{report}");
    let message = report["error"]["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("from position {cut_from}")) && message.contains("rewritten"),
        "{message}"
    );
    // The uploader finds it too, before sending anything: it stops, and HQ's copy stays.
    let err = upload(data, &url, &store).await.expect_err("a fork");
    assert!(matches!(err, UploadError::Fork { .. }), "{err}");
    let l = Ledger::open(&data.join("ledger-sandbox.sqlite"), Mode::Sandbox).unwrap();
    assert!(
        l.hq_cursor().unwrap().fork.is_some(),
        "kept for the manager side"
    );
    l.close().unwrap();
    let held: i64 = admin
        .query_one("SELECT count(*) FROM hq.chain", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(held, hwm, "HQ's copy is untouched");
}
