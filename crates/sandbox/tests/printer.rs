//! The virtual printer over real TCP on loopback: the desk's slips go in as bytes, and what
//! comes out (text, grid, PNG, files) is what paper would show.

use redeemdesk_core::channel::{ChannelKind, Platform};
use redeemdesk_core::ledger::ChainAnchor;
use redeemdesk_core::money::Fen;
use redeemdesk_core::slip::{self, Origin, Paper, Receipt, Reprint, Slip};
use redeemdesk_sandbox::printer::{columns, PrinterOptions, VirtualPrinter};
use std::io::Write;
use std::time::Duration;

fn origin() -> Origin {
    Origin {
        store: "𠮷野家 龘店".into(),
        till: "1 号收银台".into(),
        utc_offset_minutes: 480,
    }
}

fn receipt(name: &str) -> Slip {
    Slip::Receipt(Receipt {
        cashier: "㐀丽".into(),
        channel: ChannelKind::Allinpay,
        platform: Some(Platform::Tiktok),
        coupon_name: name.into(),
        code: "1234567890123456".into(),
        count: 2,
        unit: Some(Fen(9_000)),
        total: Fen(18_000),
        time_ms: 1_772_424_184_000,
        attempt_id: "0f3c9a7e4b2d4c1e8a6b5d4c3b2a1908".into(),
        chain_head: Some(ChainAnchor {
            id: 42,
            hash: "abcdef0123456789abcdef0123456789".into(),
        }),
    })
}

async fn printer(dir: &std::path::Path, paper: Paper) -> VirtualPrinter {
    VirtualPrinter::start(PrinterOptions {
        dir: dir.to_owned(),
        columns: paper.columns(),
        port: 0,
    })
    .await
    .expect("the virtual printer listens on loopback")
}

fn send(addr: std::net::SocketAddr, bytes: &[u8]) {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.write_all(bytes).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn rare_hanzi_and_emoji_round_trip_through_the_virtual_printer_at_both_widths() {
    for paper in Paper::ALL {
        let dir = tempfile::tempdir().unwrap();
        let p = printer(dir.path(), paper).await;
        let name = "龘𠮷㐀 烤鱼😀套餐👍";
        let s = receipt(name);
        let bytes = slip::render(&s, &origin(), paper, None);
        let addr = p.addr();
        tokio::task::spawn_blocking(move || send(addr, &bytes))
            .await
            .unwrap();
        let got = p
            .wait_for(1, Duration::from_secs(5))
            .await
            .expect("a slip arrives");
        let got = &got[0];
        assert!(got.slip.cut, "the slip ends with its cut");
        assert!(got.slip.problems.is_empty(), "{:?}", got.slip.problems);
        let text = got.slip.text();
        assert!(
            text.contains("龘𠮷㐀 烤鱼〓套餐〓"),
            "rare Hanzi decoded, each emoji a visible mark: {text}"
        );
        assert!(
            text.contains("𠮷野家 龘店") && text.contains("㐀丽"),
            "{text}"
        );
        assert!(!text.contains("1234567890123456"), "the code prints masked");
        assert!(text.contains("1234…3456"));
        let want = slip::layout(&s, &origin(), paper, None).grid_lines();
        let text_lines: Vec<String> = got
            .grid
            .iter()
            .filter(|l| !l.starts_with("[QR "))
            .cloned()
            .collect();
        assert_eq!(
            text_lines, want,
            "the printer places every line where the layout meant it"
        );
        for line in &text_lines {
            assert!(
                columns(line) <= paper.columns(),
                "{line:?} past {}",
                paper.columns()
            );
        }
        let amount = got
            .grid
            .iter()
            .find(|l| l.contains("（2 张 × ￥90.00）"))
            .unwrap();
        assert_eq!(
            columns(amount),
            paper.columns(),
            "the amount ends at the right edge"
        );
        assert!(got
            .grid
            .iter()
            .any(|l| l == "[QR 0f3c9a7e4b2d4c1e8a6b5d4c3b2a1908]"));
        // The files: bytes as sent, the grid, a PNG as wide as the paper's dots.
        assert_eq!(std::fs::read(&got.bin).unwrap(), got.slip.bytes);
        let png = png::Decoder::new(std::io::BufReader::new(
            std::fs::File::open(&got.png).unwrap(),
        ))
        .read_info()
        .unwrap();
        let info = png.info();
        assert_eq!(info.width, paper.columns() as u32 * 12 + 16);
        assert!(
            info.height > 600,
            "a whole receipt is tall: {}",
            info.height
        );
        let index = std::fs::read_to_string(dir.path().join("index.json")).unwrap();
        assert!(index.contains("slip-0001.png"), "{index}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn gb18030_bytes_of_every_plane_decode_back_to_the_same_text() {
    let dir = tempfile::tempdir().unwrap();
    let p = printer(dir.path(), Paper::Mm80).await;
    // Raw GB18030, not through the slip layout: two-byte 龘, four-byte 㐀 (BMP) and 𠮷
    // (plane 2), and an emoji's four bytes, which the printer decodes like any other.
    let text = "龘 㐀 𠮷 😀 ￥9.00";
    let (encoded, _, bad) = encoding_rs::GB18030.encode(text);
    assert!(!bad);
    let mut bytes = vec![0x1B, b'@', 0x1C, b'&'];
    bytes.extend_from_slice(&encoded);
    bytes.extend([0x0A, 0x1D, b'V', 66, 0]);
    let addr = p.addr();
    tokio::task::spawn_blocking(move || send(addr, &bytes))
        .await
        .unwrap();
    let got = p.wait_for(1, Duration::from_secs(5)).await.unwrap();
    assert_eq!(got[0].slip.text(), text);
    assert!(
        got[0].slip.problems.is_empty(),
        "{:?}",
        got[0].slip.problems
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_slip_cut_short_by_a_dropped_connection_is_kept_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let p = printer(dir.path(), Paper::Mm58).await;
    let bytes = slip::render(
        &receipt("券"),
        &origin(),
        Paper::Mm58,
        Some(Reprint { at_ms: 0 }),
    );
    let half = bytes[..bytes.len() / 2].to_vec();
    let addr = p.addr();
    tokio::task::spawn_blocking(move || send(addr, &half))
        .await
        .unwrap();
    let got = p.wait_for(1, Duration::from_secs(5)).await.unwrap();
    assert!(!got[0].slip.cut);
    assert!(
        got[0]
            .slip
            .problems
            .iter()
            .any(|p| p.contains("before the cut")),
        "{:?}",
        got[0].slip.problems
    );
    assert!(got[0].slip.text().contains("重打"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_command_outside_the_subset_is_a_problem_of_the_slip() {
    let dir = tempfile::tempdir().unwrap();
    let p = printer(dir.path(), Paper::Mm58).await;
    let bytes = vec![
        0x1B, b'@', 0x1B, b'p', 0, 0x1C, b'&', b'o', b'k', 0x0A, 0x1D, b'V', 0,
    ];
    let addr = p.addr();
    tokio::task::spawn_blocking(move || send(addr, &bytes))
        .await
        .unwrap();
    let got = p.wait_for(1, Duration::from_secs(5)).await.unwrap();
    assert!(got[0].slip.cut);
    assert!(
        got[0].slip.problems.iter().any(|p| p.contains("ESC 0x70")),
        "{:?}",
        got[0].slip.problems
    );
}

mod desk_to_virtual_printer {
    use super::*;
    use redeemdesk_core::app_info::Mode;
    use redeemdesk_core::clock::SystemClock;
    use redeemdesk_core::desk::Desk;
    use redeemdesk_core::ledger::{
        Actor, Amounts, AttemptState, Ledger, NewAttempt, PrintState, Transition,
    };
    use redeemdesk_core::scan::ScanRules;
    use redeemdesk_core::slip::{PrinterSettings, PrinterTarget};
    use std::sync::Arc;

    fn desk_at(p: &VirtualPrinter) -> Arc<Desk> {
        let ledger = Arc::new(Ledger::open_in_memory(Mode::Sandbox).unwrap());
        let desk = Arc::new(
            Desk::open(
                ledger,
                Vec::new(),
                Arc::new(SystemClock),
                ScanRules::default(),
            )
            .unwrap(),
        );
        desk.set_printer_fallback(PrinterSettings {
            target: Some(PrinterTarget::Network {
                address: p.addr().to_string(),
            }),
            ..PrinterSettings::default()
        });
        desk
    }

    fn success(desk: &Desk) -> redeemdesk_core::ledger::AttemptId {
        let ledger = desk.ledger();
        let id = ledger
            .begin_attempt(NewAttempt {
                created_ms: desk.clock().now_ms(),
                channel: ChannelKind::Shoubei,
                platform: None,
                code: "679512342928".into(),
                count: 1,
                cashier: "王芳".into(),
                face_value: Some(Fen(1_000)),
                price: None,
                remaining_before: None,
                prepare: Default::default(),
            })
            .unwrap();
        let t = Transition::new(
            AttemptState::Succeeded,
            desk.clock().now_ms(),
            Actor::Cashier("王芳".into()),
        )
        .amounts(Amounts {
            face_value: Some(Fen(1_000)),
            ..Default::default()
        });
        ledger.record(&id, t).unwrap();
        id
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_success_reaches_the_virtual_printer_within_100_ms_of_the_answer() {
        let dir = tempfile::tempdir().unwrap();
        let p = printer(dir.path(), Paper::Mm58).await;
        let desk = desk_at(&p);
        let _background = desk.start_background();
        let mut times = Vec::new();
        for n in 1..=5 {
            let id = success(&desk);
            let shown = redeemdesk_core::clock::Clock::now_ms(&SystemClock);
            let job = desk.after_answer(&id).unwrap().expect("auto-print is on");
            let slips = p
                .wait_for(n, Duration::from_secs(5))
                .await
                .expect("printed");
            let last = slips.last().unwrap();
            // The printer notes the time when the cut arrives, before it draws the slip.
            times.push(Duration::from_millis(
                (last.received_ms - shown).max(0) as u64
            ));
            assert!(
                last.slip.cut && last.slip.problems.is_empty(),
                "{:?}",
                last.slip.problems
            );
            assert_eq!(last.slip.bytes, desk.job_bytes(&job).unwrap());
        }
        times.sort();
        // The 100 ms target is judged by `make bench` on a release build, not here.
        eprintln!("answer shown -> slip's last byte at the virtual printer: {times:?}");
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_printer_out_of_paper_fails_the_slip_with_a_clear_note_and_prints_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let p = printer(dir.path(), Paper::Mm58).await;
        p.set_paper_out(true);
        let desk = desk_at(&p);
        let id = success(&desk);
        let job = desk.after_answer(&id).unwrap().unwrap();
        assert_eq!(desk.print_due().await.unwrap(), 0);
        let failed = desk.ledger().print_job(job.id).unwrap().unwrap();
        assert_eq!(failed.state, PrintState::Failed);
        let detail = failed.detail.unwrap();
        assert!(
            detail.contains("打印失败，可重打") && detail.contains("缺纸"),
            "{detail}"
        );
        assert!(p.slips().is_empty(), "nothing printed");
        p.set_paper_out(false);
        desk.print_for_attempt(id.as_str(), Actor::Cashier("王芳".into()))
            .unwrap();
        desk.print_due().await.unwrap();
        let slips = p.wait_for(1, Duration::from_secs(5)).await.unwrap();
        assert!(
            slips[0].slip.text().contains("重打时间"),
            "the reprint after new paper"
        );
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn the_virtual_printer_keeps_its_port_across_restarts() {
        let root = tempfile::tempdir().unwrap();
        let ledger = Arc::new(Ledger::open_in_memory(Mode::Sandbox).unwrap());
        let desk = Desk::open(
            ledger,
            Vec::new(),
            Arc::new(SystemClock),
            ScanRules::default(),
        )
        .unwrap();
        let first = redeemdesk_sandbox::boot::start_virtual_printer(root.path(), &desk)
            .await
            .expect("starts");
        let port = first.addr().port();
        drop(first);
        tokio::time::sleep(Duration::from_millis(100)).await;
        let again = redeemdesk_sandbox::boot::start_virtual_printer(root.path(), &desk)
            .await
            .expect("starts again");
        assert_eq!(
            again.addr().port(),
            port,
            "a saved 打印机 setting stays right"
        );
        assert_eq!(
            desk.printer_settings().target,
            Some(PrinterTarget::Network {
                address: again.addr().to_string()
            })
        );
    }
}
