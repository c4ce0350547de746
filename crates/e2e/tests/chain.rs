//! Chain mode (issue 21) on the real window, against a real PostgreSQL server at HQ started
//! by this test (scripts/pg.sh through `redeemdesk_hq::testing::Cluster`, stopped by its PID):
//! the cashier's sync badge going from 待上传 to 已同步, and the manager's 门店 tab with two
//! tills — this one and a second till whose ledger the test pushes — and, with HQ stopped,
//! this till's own day marked 本机; the badge saying 总部连不上 while HQ's server is stopped
//! (by its PID) and 已同步 again once it is back; and the manager side saying
//! 总部发现本机流水与已上传记录不一致 after an insider cut the uploaded ledger with the sqlite
//! shell and the app rechained the cut positions. Screenshots: target/e2e/chain-badge-
//! pending.png, chain-badge-synced.png, chain-store-hq.png, chain-store-local.png,
//! chain-badge-unreachable.png, chain-badge-back.png, chain-fork.png.

use redeemdesk_core::app_info::Mode;
use redeemdesk_core::clock::SystemClock;
use redeemdesk_core::hq_sync::{UploadIdentity, Uploader};
use redeemdesk_core::ledger::generate::{self, Synthetic};
use redeemdesk_core::ledger::{self, Ledger};
use redeemdesk_e2e::{Desk, Launch};
use redeemdesk_hq::testing::Cluster;
use redeemdesk_hq::{roles, HqClient, HqTarget};
use redeemdesk_sandbox::{RunningSandbox, Sandbox, SandboxOptions};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

const QUICK: Duration = Duration::from_secs(20);
const PASSWORD: &str = "till-pass-e2e-Q7!";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sync_badge_goes_from_pending_to_synced_and_the_store_tab_shows_two_tills() {
    let (till, admin, store, url) = chain_store().await;
    let ChainTill {
        cluster,
        db: _,
        channel,
        _tmp,
        data,
    } = till;

    // HQ is slow to take rows: a lock on its chain holds every push until it is released,
    // so what this till writes waits as 待上传.
    admin
        .batch_execute("BEGIN; LOCK TABLE hq.chain IN EXCLUSIVE MODE")
        .await
        .unwrap();

    let desk = Desk::launch(Launch::at(data.clone())).await;
    desk.wait_until(
        "document.querySelector('[data-testid=sync-badge]') && !document.querySelector('[data-testid=sync-badge]').hidden",
        QUICK,
        "the sync badge (chain mode is on)",
    )
    .await;
    desk.scan_and_redeem("679533922928", "succeeded").await;
    let pending = desk
        .wait_until(
            "(() => { const b = document.querySelector('[data-testid=sync-badge]');
               return b.dataset.state === 'pending'
                 && Number(b.textContent.replace('待上传', '')) >= 2 && b.textContent; })()",
            QUICK,
            "待上传 n with the redemption's two events",
        )
        .await;
    let pending = pending.as_str().unwrap().to_owned();
    let n: i64 = pending
        .trim_start_matches("待上传")
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("待上传 and a count: {pending}"));
    assert!(
        n >= 2,
        "the redemption's two events at least wait: {pending}"
    );
    desk.screenshot("chain-badge-pending").await;
    let held: i64 = admin
        .query_one("SELECT count(*) FROM hq.chain", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(held, 0, "nothing reached HQ while its chain was locked");

    admin.batch_execute("COMMIT").await.unwrap();
    desk.wait_until(
        "(() => { const b = document.querySelector('[data-testid=sync-badge]');
           return b.dataset.state === 'synced' && b.textContent === '已同步'; })()",
        QUICK,
        "已同步",
    )
    .await;
    desk.screenshot("chain-badge-synced").await;
    let at_hq: i64 = admin
        .query_one(
            "SELECT count(*) FROM hq.attempts WHERE code = '679533922928'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(at_hq, 1, "the redemption is at HQ once");

    // A second till of the store, on a ledger of its own, pushes its day.
    let info = desk.invoke("app_info", serde_json::json!({})).await;
    let today = info["business_today"].as_str().unwrap().to_owned();
    let two_dir = tempfile::tempdir().unwrap();
    let two = Arc::new(
        Ledger::open(
            &two_dir.path().join(ledger::file_name(Mode::Live)),
            Mode::Live,
        )
        .unwrap(),
    );
    let made = generate::fill(
        &two,
        &Synthetic {
            attempts: 12,
            first_day: today.parse().unwrap(),
            per_day: 100,
            seed: 21,
        },
    )
    .unwrap();
    let two_ok: i64 = made
        .totals
        .values()
        .flatten()
        .map(|c| c.succeeded as i64)
        .sum();
    Uploader::new(
        two.clone(),
        Arc::new(HqClient::new(
            HqTarget::new(&url, Some(PASSWORD), None).unwrap(),
        )),
        Arc::new(SystemClock),
        UploadIdentity {
            store_id: store.clone(),
            till: "2号机".to_owned(),
            app_version: "0.1.0-e2e".to_owned(),
        },
    )
    .unwrap()
    .drain()
    .await
    .expect("the second till uploads");

    desk.set_pin_and_open_manager("李店长", "246813").await;
    desk.click("#tab-store").await;
    desk.wait_until(
        "document.getElementById('manager-store')?.dataset.loaded === 'true'",
        QUICK,
        "the 门店 tab",
    )
    .await;
    let source = desk.text("[data-testid=store-source]").await;
    assert!(source.starts_with("总部"), "from HQ: {source}");
    let tills = desk
        .js("return [...document.querySelectorAll('[data-testid=store-per-till] tbody tr')].map((r) => [r.dataset.key, r.children[2].textContent])")
        .await;
    println!("门店 per till: {tills}");
    let tills = tills.as_array().unwrap();
    assert_eq!(tills.len(), 2, "two tills: {tills:?}");
    assert_eq!(tills[0][0], "1号机");
    assert_eq!(tills[0][1], "1", "this till's one success");
    assert_eq!(tills[1][0], "2号机");
    assert_eq!(
        tills[1][1].as_str().unwrap(),
        two_ok.to_string(),
        "the second till's successes as its ledger has them"
    );
    let rows = desk
        .js("return document.querySelectorAll('[data-testid=store-attempts] tbody tr').length")
        .await;
    assert_eq!(rows, serde_json::json!(13), "every attempt of both tills");
    assert!(
        desk.js("return document.querySelector('[data-testid=store-fork]').hidden")
            .await
            .as_bool()
            .unwrap(),
        "no fork"
    );
    desk.screenshot("chain-store-hq").await;

    // HQ gone: the tab shows this till's own day, marked 本机.
    drop(admin);
    cluster.kill();
    desk.click("#tab-log").await;
    desk.click("#tab-store").await;
    desk.wait_until(
        "document.getElementById('manager-store')?.dataset.loaded === 'true' && \
         document.getElementById('manager-store')?.dataset.source === 'local'",
        QUICK,
        "the 门店 tab from the local ledger",
    )
    .await;
    let source = desk.text("[data-testid=store-source]").await;
    assert!(source.starts_with("本机"), "marked 本机: {source}");
    let tills = desk
        .js("return [...document.querySelectorAll('[data-testid=store-per-till] tbody tr')].map((r) => r.dataset.key)")
        .await;
    assert_eq!(tills, serde_json::json!(["1号机"]), "this till alone");
    desk.screenshot("chain-store-local").await;
    desk.close().await;
    channel.shutdown().await;
}

/// HQ (a cluster of this test's own, so it can be stopped), a store with its tills' role,
/// the store's 收呗 standing in for the live one, and a live till's data directory set up
/// for chain mode.
struct ChainTill {
    cluster: Cluster,
    db: String,
    channel: RunningSandbox,
    _tmp: tempfile::TempDir,
    data: std::path::PathBuf,
}

/// A live till of `store` in `data`: config.toml with the channel standing in for its 收呗 and
/// the `[hq]` section, secrets.toml readable by the user only, as the app's setup writes it.
fn write_till_files(data: &Path, channel: &RunningSandbox, url: &str, store: &str) {
    let sb = &channel.demo().shoubei;
    std::fs::write(
        data.join("config.toml"),
        format!(
            "[channels.shoubei]\nbase_url = \"{}\"\ninst_no = \"{}\"\nmerchant_no = \"{}\"\n\
             shop_no = \"{}\"\nsecrets = \"secrets.toml\"\n\
             [hq]\nurl = \"{url}\"\nstore_id = \"{store}\"\ntill = \"1号机\"\nsecrets = \"secrets.toml\"\n",
            channel.base_url(redeemdesk_core::channel::ChannelKind::Shoubei),
            sb.inst_no,
            sb.merchant_no,
            sb.shop_no
        ),
    )
    .unwrap();
    let secrets = data.join("secrets.toml");
    std::fs::write(
        &secrets,
        format!(
            "[shoubei]\nkey = \"{}\"\n[hq]\npassword = \"{PASSWORD}\"\n",
            sb.key
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&secrets, std::fs::Permissions::from_mode(0o600)).unwrap();
}

/// A throwaway HQ with one store, the store's 收呗 (standing in for the live one, with keys
/// of its own) and a live till's data directory; with HQ's admin connection, the store's id
/// and the till's HQ URL.
async fn chain_store() -> (ChainTill, redeemdesk_hq::testing::Client, String, String) {
    let cluster = Cluster::start();
    let (db, mut admin) = cluster.fresh_db().await;
    let store = format!("e2e-{}", std::process::id());
    roles::add_store(&mut admin, &store, PASSWORD)
        .await
        .expect("the store's role");
    let url = cluster.tcp_url(&roles::role_name(&store), &db, None);
    let channel = Sandbox::start(SandboxOptions::standing_in_for_live().unwrap())
        .await
        .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().to_path_buf();
    write_till_files(&data, &channel, &url, &store);
    let till = ChainTill {
        cluster,
        db,
        channel,
        _tmp: tmp,
        data,
    };
    (till, admin, store, url)
}

async fn chain_till() -> ChainTill {
    chain_store().await.0
}

/// Waits until the badge is in `state` and says `text`.
async fn badge(desk: &Desk, state: &str, text: &str, within: Duration) {
    desk.wait_until(
        &format!(
            "(() => {{ const b = document.querySelector('[data-testid=sync-badge]');
               return !!b && !b.hidden && b.dataset.state === '{state}' && b.textContent === '{text}'; }})()"
        ),
        within,
        text,
    )
    .await;
}

async fn held_at_hq(t: &ChainTill, sql: &str) -> i64 {
    t.cluster
        .admin(&t.db)
        .await
        .query_one(sql, &[])
        .await
        .unwrap()
        .get(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sync_badge_says_hq_unreachable_while_its_server_is_stopped_and_synced_once_back() {
    let t = chain_till().await;
    let desk = Desk::launch(Launch::at(t.data.clone())).await;
    desk.scan_and_redeem("679533922928", "succeeded").await;
    badge(&desk, "synced", "已同步", QUICK).await;

    // HQ's server stopped by its PID; the till goes on redeeming.
    t.cluster.kill();
    desk.scan_and_redeem("679533922935", "succeeded").await;
    badge(&desk, "unreachable", "总部连不上", QUICK).await;
    let help = desk
        .js("return document.querySelector('[data-testid=sync-badge]').title")
        .await;
    assert!(
        help.as_str().unwrap().contains('2'),
        "the redemption's two events wait: {help}"
    );
    desk.screenshot("chain-badge-unreachable").await;

    // Back: the uploader's backoff (at most a minute) finds it and catches up.
    t.cluster.restart();
    badge(&desk, "synced", "已同步", Duration::from_secs(90)).await;
    desk.screenshot("chain-badge-back").await;
    assert_eq!(
        held_at_hq(
            &t,
            "SELECT count(*) FROM hq.attempts WHERE code IN ('679533922928', '679533922935')"
        )
        .await,
        2,
        "both redemptions at HQ, the one made while it was away too"
    );
    desk.close().await;
    t.channel.shutdown().await;
}

/// What an insider does with the sqlite shell: the ledger cut from the first event of
/// `code` on, consistently (the append-only triggers dropped, the rows and the attempt
/// left without events deleted, the head sidecar removed), so nothing in the file shows it.
fn cut_from_code(data: &Path, code: &str) {
    let file = data.join(ledger::file_name(Mode::Live));
    let db = rusqlite::Connection::open(&file).unwrap();
    let from: i64 = db
        .query_row(
            "SELECT e.id FROM events e JOIN attempts a ON a.id = e.attempt_id
             WHERE e.seq = 0 AND a.code = ?1",
            [code],
            |r| r.get(0),
        )
        .unwrap();
    db.execute_batch(&format!(
        "DROP TRIGGER events_no_delete; DROP TRIGGER seals_no_delete;
         DROP TRIGGER attempts_no_delete; DROP TRIGGER audit_no_delete;
         DELETE FROM audit WHERE id IN
             (SELECT row_id FROM seals WHERE kind = 'audit' AND id >= {from});
         DELETE FROM seals WHERE id >= {from};
         DELETE FROM events WHERE id >= {from};
         DELETE FROM resolver_schedule WHERE attempt_id NOT IN
             (SELECT attempt_id FROM events WHERE attempt_id IS NOT NULL);
         DELETE FROM attempts WHERE id NOT IN
             (SELECT attempt_id FROM events WHERE attempt_id IS NOT NULL);"
    ))
    .unwrap();
    drop(db);
    let mut head = file.into_os_string();
    head.push(".head");
    let _ = std::fs::remove_file(head);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_manager_side_says_hq_found_another_ledger_after_a_cut_and_rechain_after_upload() {
    let t = chain_till().await;
    let desk = Desk::launch(Launch::at(t.data.clone())).await;
    desk.scan_and_redeem("679533922928", "succeeded").await;
    desk.scan_and_redeem("679533922935", "succeeded").await;
    badge(&desk, "synced", "已同步", QUICK).await;
    let uploaded = held_at_hq(&t, "SELECT count(*) FROM hq.chain").await;
    desk.close().await;

    cut_from_code(&t.data, "679533922935");
    let desk = Desk::launch(Launch::at(t.data.clone())).await;
    badge(&desk, "fork", "总部流水不一致", QUICK).await;
    // The cut positions taken again by a new redemption: a chain HQ does not hold. The
    // till still redeems, and still sends nothing.
    desk.scan_and_redeem("679533920042", "succeeded").await;
    desk.set_pin_and_open_manager("李店长", "246813").await;
    desk.wait_until(
        "document.querySelector('[data-testid=manager-fork]') && \
         !document.querySelector('[data-testid=manager-fork]').hidden",
        QUICK,
        "the fork banner on the manager side",
    )
    .await;
    assert_eq!(
        desk.text("[data-testid=manager-fork]").await,
        "总部发现本机流水与已上传记录不一致"
    );
    desk.screenshot("chain-fork").await;
    assert_eq!(
        held_at_hq(&t, "SELECT count(*) FROM hq.chain").await,
        uploaded,
        "HQ's copy stays as it was uploaded"
    );
    desk.close().await;
    t.channel.shutdown().await;
}
