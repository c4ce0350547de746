//! The `redeemdesk-hq` binary against a real server: migrate (twice, and refusing a
//! database whose record of a migration differs), add-store, and the reports as CSV.

mod common;

use common::*;
use std::process::Command;

fn hq_cmd(hq: &Hq) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_redeemdesk-hq"));
    c.env(
        "REDEEMDESK_HQ_DB",
        format!("{} sslmode=disable", hq.cluster.admin_url(&hq.db)),
    );
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_is_idempotent_and_refuses_an_edited_history() {
    let cluster = redeemdesk_hq::testing::Cluster::shared();
    let name = "hq_cli_blank";
    cluster
        .admin("postgres")
        .await
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    let hq = Hq {
        admin: cluster.admin(name).await,
        cluster,
        db: name.to_owned(),
    };
    let out = hq_cmd(&hq).arg("migrate").output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("applied: schema, ingest_push, ingest_held")
    );
    let out = hq_cmd(&hq).arg("migrate").output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("up to date"));
    // A database that recorded another text for migration 2.
    hq.admin
        .batch_execute("UPDATE hq_migrations.applied SET sha256 = 'x' WHERE version = 2")
        .await
        .unwrap();
    let out = hq_cmd(&hq).arg("migrate").output().unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("another text"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reports_run_from_the_command_line_and_export_csv() {
    let hq = hq().await;
    let store = store_id("cli");
    let out = hq_cmd(&hq)
        .args(["add-store", "--store", &store])
        .env("REDEEMDESK_HQ_TILL_PASSWORD", PASSWORD)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let t = till(300, 300, 9);
    uploader(&t, hq.client_for(&store, None), &store, "1号机")
        .drain()
        .await
        .expect("the till's role made by add-store pushes");
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("day.csv");
    let out = hq_cmd(&hq)
        .args([
            "day", "--store", &store, "--day", FIRST_DAY, "--format", "csv", "--out",
        ])
        .arg(&csv)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&csv).unwrap();
    assert_eq!(
        text.lines().filter(|l| l.starts_with("1号机")).count(),
        300 + 1,
        "every attempt of the day, and the till's totals line"
    );
    let out = hq_cmd(&hq)
        .args(["chain", "--day", FIRST_DAY])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains(&store));
    let out = hq_cmd(&hq)
        .args(["health", "--format", "csv"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("1号机") && text.contains("0.1.0-test"),
        "{text}"
    );
}
