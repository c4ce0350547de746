//! Printing against real printers on loopback TCP and real device files: the queue, the
//! once-only sending, the failure note and the reprint.

use super::*;
use crate::app_info::Mode;
use crate::channel::{ChannelKind, Platform};
use crate::clock::ManualClock;
use crate::ledger::{Amounts, Ledger, NewAttempt, Transition};
use crate::scan::ScanRules;
use crate::slip::Paper;
use std::io::Read;
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn desk() -> Arc<Desk> {
    let clock = Arc::new(ManualClock::new(1_772_424_184_000));
    let ledger = Arc::new(Ledger::open_in_memory(Mode::Sandbox).unwrap());
    Arc::new(Desk::open(ledger, Vec::new(), clock, ScanRules::default()).unwrap())
}

fn attempt(desk: &Desk, to: AttemptState) -> AttemptId {
    let id = desk
        .ledger
        .begin_attempt(NewAttempt {
            created_ms: desk.clock.now_ms(),
            channel: ChannelKind::Allinpay,
            platform: Some(Platform::Meituan),
            code: "594812345676811".into(),
            count: 2,
            cashier: "王芳".into(),
            face_value: Some(Fen(9_000)),
            price: Some(Fen(5_000)),
            remaining_before: None,
            prepare: Default::default(),
        })
        .unwrap();
    desk.remember_coupon_name(&id, Some("双人套餐 龘"));
    let t = Transition::new(to, desk.clock.now_ms(), Actor::Cashier("王芳".into()));
    let t = if to == AttemptState::Succeeded {
        t.amounts(Amounts {
            face_value: Some(Fen(18_000)),
            ..Default::default()
        })
    } else {
        t
    };
    desk.ledger.record(&id, t).unwrap();
    id
}

/// A printer on loopback: each connection's bytes, whole. `keep` bytes then a close
/// with the rest unread makes a printer that drops the job.
struct TestPrinter {
    addr: String,
    jobs: Arc<Mutex<Vec<Vec<u8>>>>,
    connections: Arc<AtomicUsize>,
}

fn test_printer(keep: Option<usize>) -> TestPrinter {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let jobs = Arc::new(Mutex::new(Vec::new()));
    let connections = Arc::new(AtomicUsize::new(0));
    let (j, c) = (Arc::clone(&jobs), Arc::clone(&connections));
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            c.fetch_add(1, Ordering::SeqCst);
            let mut got = Vec::new();
            let mut buf = [0u8; 512];
            loop {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        got.extend_from_slice(&buf[..n]);
                        if keep.is_some_and(|k| got.len() >= k) {
                            // Let the rest arrive, unread: closing now resets the connection.
                            std::thread::sleep(Duration::from_millis(50));
                            break;
                        }
                    }
                }
            }
            drop(stream);
            j.lock().unwrap().push(got);
        }
    });
    TestPrinter {
        addr,
        jobs,
        connections,
    }
}

fn network(desk: &Desk, address: &str) {
    desk.set_printer_fallback(PrinterSettings {
        target: Some(PrinterTarget::Network {
            address: address.to_owned(),
        }),
        paper: Paper::Mm58,
        auto_print: true,
        store: "星光百货".into(),
        till: "1 号收银台".into(),
    });
    desk.set_print_timeouts(Timeouts {
        connect: Duration::from_secs(2),
        write: Duration::from_secs(2),
        answer: Duration::from_millis(100),
    });
}

fn gb(text: &str) -> Vec<u8> {
    encoding_rs::GB18030.encode(text).0.into_owned()
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

async fn wait_jobs(p: &TestPrinter, n: usize) -> Vec<Vec<u8>> {
    for _ in 0..100 {
        if p.jobs.lock().unwrap().len() >= n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    p.jobs.lock().unwrap().clone()
}

const STATUS_QUERY: [u8; 3] = [0x10, 0x04, 0x04];

#[tokio::test(flavor = "multi_thread")]
async fn a_success_prints_its_receipt_once_over_tcp() {
    let desk = desk();
    let printer = test_printer(None);
    network(&desk, &printer.addr);
    let id = attempt(&desk, AttemptState::Succeeded);
    let job = desk
        .after_answer(&id)
        .unwrap()
        .expect("auto-print queues the receipt");
    assert_eq!(job.state, PrintState::Queued);
    assert_eq!(desk.print_due().await.unwrap(), 1);
    let jobs = wait_jobs(&printer, 1).await;
    let want = [STATUS_QUERY.as_slice(), &desk.job_bytes(&job).unwrap()].concat();
    assert_eq!(
        jobs[0], want,
        "the printer got the status query and the slip, whole"
    );
    assert!(contains(&jobs[0], &gb("共 ￥180.00（2 张 × ￥90.00）")));
    assert!(
        contains(&jobs[0], &gb("双人套餐 龘")),
        "the coupon's name from the preview"
    );
    assert!(
        !contains(&jobs[0], b"594812345676811"),
        "the code prints masked"
    );
    assert_eq!(
        desk.ledger.print_job(job.id).unwrap().unwrap().state,
        PrintState::Printed
    );
    // Another round, another answer for the same attempt: nothing more is printed.
    assert_eq!(desk.print_due().await.unwrap(), 0);
    assert!(desk.after_answer(&id).unwrap().is_none());
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(printer.connections.load(Ordering::SeqCst), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_gets_no_receipt_and_its_note_says_it_is_not_one() {
    let desk = desk();
    let printer = test_printer(None);
    network(&desk, &printer.addr);
    let id = attempt(&desk, AttemptState::Unknown);
    assert!(
        desk.after_answer(&id).unwrap().is_none(),
        "no receipt for amber"
    );
    let job = desk
        .print_pending_note(id.as_str(), Actor::Cashier("王芳".into()))
        .unwrap();
    assert_eq!(job.kind, "pending");
    desk.print_due().await.unwrap();
    let jobs = wait_jobs(&printer, 1).await;
    assert!(contains(&jobs[0], &gb("这不是核销凭证")));
    assert!(!contains(&jobs[0], &gb("核销凭证\n")));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_connection_fails_with_the_note_and_the_reprint_prints_chong_da() {
    let desk = desk();
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = closed.local_addr().unwrap().to_string();
    drop(closed);
    network(&desk, &dead);
    let mut events = desk.subscribe();
    let id = attempt(&desk, AttemptState::Succeeded);
    // Queuing a slip is one ledger write, never a print: the job is there, unsent, and
    // only the worker's round tries the printer.
    let job = desk.after_answer(&id).unwrap().unwrap();
    assert_eq!(
        desk.ledger.print_job(job.id).unwrap().unwrap().state,
        PrintState::Queued
    );
    assert_eq!(desk.print_due().await.unwrap(), 0);
    let failed = desk.ledger.print_job(job.id).unwrap().unwrap();
    assert_eq!(failed.state, PrintState::Failed);
    let detail = failed.detail.unwrap();
    assert!(detail.starts_with("打印失败，可重打"), "{detail}");
    assert!(detail.contains("拒绝连接"), "{detail}");
    let mut note = None;
    while let Ok(e) = events.try_recv() {
        if let DeskEvent::Print { note: Some(n), .. } = e {
            note = Some(n);
        }
    }
    assert_eq!(note.as_deref(), Some(FAILED_NOTE), "the till is told");

    let printer = test_printer(None);
    network(&desk, &printer.addr);
    let reprint = desk
        .print_for_attempt(id.as_str(), Actor::Cashier("王芳".into()))
        .unwrap();
    assert_eq!(reprint.reprint_of, Some(job.id));
    desk.print_due().await.unwrap();
    let jobs = wait_jobs(&printer, 1).await;
    assert!(
        contains(&jobs[0], &gb("重打时间 2026-03-02 12:03:04")),
        "the reprint says so"
    );
    let audit = desk.ledger.audit_between(0, i64::MAX).unwrap();
    assert!(
        audit
            .iter()
            .any(|r| r.entry.action == "slip_reprint"
                && r.entry.subject.as_deref() == Some(id.as_str())),
        "the reprint is in the audit trail"
    );
    assert_eq!(
        desk.ledger.print_job(job.id).unwrap().unwrap().state,
        PrintState::Failed,
        "the failed job stays failed: it is never sent again"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_printer_that_drops_the_connection_mid_job_is_never_sent_it_again() {
    let desk = desk();
    let printer = test_printer(Some(64));
    network(&desk, &printer.addr);
    let id = attempt(&desk, AttemptState::Succeeded);
    let job = desk.after_answer(&id).unwrap().unwrap();
    let total = desk.job_bytes(&job).unwrap().len();
    assert!(
        total > 512,
        "a receipt is more than the printer reads before it drops: {total}"
    );
    assert_eq!(desk.print_due().await.unwrap(), 0);
    let failed = desk.ledger.print_job(job.id).unwrap().unwrap();
    assert_eq!(failed.state, PrintState::Failed, "{:?}", failed.detail);
    assert!(
        failed.detail.as_deref().unwrap().contains("打印中断"),
        "{:?}",
        failed.detail
    );
    for _ in 0..3 {
        desk.print_due().await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        printer.connections.load(Ordering::SeqCst),
        1,
        "no retry sends a job that may have printed"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_job_a_stop_left_sending_is_failed_at_start_not_resent() {
    let desk = desk();
    let printer = test_printer(None);
    network(&desk, &printer.addr);
    let id = attempt(&desk, AttemptState::Succeeded);
    let job = desk.after_answer(&id).unwrap().unwrap();
    assert!(
        desk.ledger.begin_print(job.id, 1).unwrap(),
        "taken, then the process died"
    );
    assert!(
        !desk.ledger.begin_print(job.id, 2).unwrap(),
        "a job is taken once"
    );
    assert_eq!(desk.fail_interrupted_prints().unwrap(), vec![job.id]);
    assert_eq!(desk.print_due().await.unwrap(), 0);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(printer.connections.load(Ordering::SeqCst), 0);
    let j = desk.ledger.print_job(job.id).unwrap().unwrap();
    assert_eq!(j.state, PrintState::Failed);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_device_file_gets_the_bytes_and_a_missing_device_fails_clearly() {
    let desk = desk();
    let dir = tempfile::tempdir().unwrap();
    let lp = dir.path().join("lp0");
    std::fs::write(&lp, b"").unwrap();
    let mut s = PrinterSettings {
        target: Some(PrinterTarget::Device {
            path: lp.display().to_string(),
        }),
        ..PrinterSettings::default()
    };
    desk.set_printer_fallback(s.clone());
    let job = desk.print_test_page(&manager(&desk)).unwrap();
    assert_eq!(desk.print_due().await.unwrap(), 1);
    assert_eq!(std::fs::read(&lp).unwrap(), desk.job_bytes(&job).unwrap());
    s.target = Some(PrinterTarget::Device {
        path: dir.path().join("no/such/lp9").display().to_string(),
    });
    desk.set_printer_fallback(s);
    let job = desk.print_test_page(&manager(&desk)).unwrap();
    assert_eq!(desk.print_due().await.unwrap(), 0);
    let j = desk.ledger.print_job(job.id).unwrap().unwrap();
    assert!(j.detail.unwrap().contains("打印机无法打开"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_handover_slip_counts_the_shift_per_channel_with_its_unknowns_and_head() {
    let desk = desk();
    let printer = test_printer(None);
    network(&desk, &printer.addr);
    attempt(&desk, AttemptState::Succeeded);
    attempt(&desk, AttemptState::Succeeded);
    attempt(&desk, AttemptState::Unknown);
    let end = ShiftEnd {
        cashier: "王芳".into(),
        chain_head: desk.ledger.chain_anchor().unwrap(),
    };
    desk.print_handover(&end).unwrap();
    desk.print_due().await.unwrap();
    let jobs = wait_jobs(&printer, 1).await;
    let head = end.chain_head.unwrap().to_string();
    for want in ["交班单", "未结待确认", "1 笔", "合计", "￥360.00", &head] {
        assert!(contains(&jobs[0], &gb(want)), "{want} on the handover slip");
    }
}

#[test]
fn printer_settings_are_checked_before_they_are_saved() {
    let s = PrinterSettings {
        target: Some(PrinterTarget::Network {
            address: "192.168.1.50".into(),
        }),
        ..PrinterSettings::default()
    };
    let ok = validate(&s).unwrap();
    assert_eq!(
        ok.target,
        Some(PrinterTarget::Network {
            address: "192.168.1.50:9100".into()
        }),
        "port 9100 when none is given"
    );
    for bad in [":9100", "host:0", "host:port"] {
        let s = PrinterSettings {
            target: Some(PrinterTarget::Network {
                address: bad.into(),
            }),
            ..PrinterSettings::default()
        };
        assert!(validate(&s).is_err(), "{bad} refused");
    }
}

/// The manager's token on a desk that may have no PIN yet.
fn manager(desk: &Desk) -> crate::desk::ManagerUnlock {
    if !desk.manager_pin_is_set().unwrap() {
        desk.set_manager_pin(None, "246813", "李店长").unwrap();
    }
    desk.unlock_manager("246813", "李店长").unwrap()
}
