//! Golden bytes of every slip at both widths, and the grid checks on their layouts.
//! `UPDATE_GOLDEN=1 cargo test -p redeemdesk-core slip` rewrites the files after a wanted
//! change; the diff of the `.txt` beside each `.bin` shows what changed on paper.

use super::grid::{columns, Paper};
use super::model::*;
use super::render;
use crate::channel::{ChannelKind, Platform};
use crate::ledger::ChainAnchor;
use crate::money::Fen;
use std::path::PathBuf;

/// 2026-03-02 12:03:04 +08:00.
const AT: i64 = 1_772_424_184_000;

fn origin() -> Origin {
    Origin {
        store: "星光百货 一楼店".into(),
        till: "1 号收银台".into(),
        utc_offset_minutes: 480,
    }
}

fn head() -> Option<ChainAnchor> {
    Some(ChainAnchor {
        id: 1234,
        hash: "9f3a6c1e0d2b4a77aa0011223344556677889900aabbccddeeff001122334455".into(),
    })
}

pub(crate) fn receipt() -> Slip {
    Slip::Receipt(Receipt {
        cashier: "王芳".into(),
        channel: ChannelKind::Allinpay,
        platform: Some(Platform::Meituan),
        coupon_name: "【双人套餐】招牌烤鱼 + 饮品两杯 龘𠮷㐀 😀".into(),
        code: "594812345676811".into(),
        count: 2,
        unit: Some(Fen(9_000)),
        total: Fen(18_000),
        time_ms: AT,
        attempt_id: "0f3c9a7e4b2d4c1e8a6b5d4c3b2a1908".into(),
        chain_head: head(),
    })
}

fn pending() -> Slip {
    Slip::Pending(PendingNote {
        cashier: "王芳".into(),
        channel: ChannelKind::Shoubei,
        platform: None,
        coupon_name: "0.1团10百货券".into(),
        code: "679512342928".into(),
        count: 1,
        time_ms: AT,
        attempt_id: "7a1b2c3d4e5f60718293a4b5c6d7e8f9".into(),
    })
}

fn handover() -> Slip {
    Slip::Handover(Handover {
        cashier: "王芳".into(),
        start_ms: AT - 8 * 3_600_000,
        end_ms: AT,
        per_channel: vec![
            ChannelTotal {
                channel: ChannelKind::Shoubei,
                count: 12,
                amount: Fen(12_000),
            },
            ChannelTotal {
                channel: ChannelKind::Allinpay,
                count: 3,
                amount: Fen(1_234_567),
            },
        ],
        unknowns: vec![OpenUnknown {
            channel: ChannelKind::Allinpay,
            code: "594812345676811".into(),
            time_ms: AT - 600_000,
        }],
        undo_count: 1,
        undo_amount: Fen(1_000),
        chain_head: head(),
    })
}

fn test_page() -> Slip {
    Slip::TestPage(TestPage { time_ms: AT })
}

fn all() -> Vec<(&'static str, Slip, Option<Reprint>)> {
    vec![
        ("receipt", receipt(), None),
        (
            "receipt_reprint",
            receipt(),
            Some(Reprint {
                at_ms: AT + 3_600_000,
            }),
        ),
        ("pending", pending(), None),
        ("handover", handover(), None),
        ("test_page", test_page(), None),
    ]
}

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/slips")
}

#[test]
fn every_slip_at_both_widths_is_byte_for_byte_its_golden_file() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut checked = 0;
    for (name, slip, reprint) in all() {
        for paper in Paper::ALL {
            let bytes = render(&slip, &origin(), paper, reprint);
            let grid = layout(&slip, &origin(), paper, reprint)
                .grid_lines()
                .join("\n")
                + "\n";
            let bin = golden_dir().join(format!("{name}_{}.bin", paper.mm()));
            let txt = bin.with_extension("txt");
            if update {
                std::fs::write(&bin, &bytes).unwrap();
                std::fs::write(&txt, &grid).unwrap();
            }
            let want = std::fs::read(&bin).unwrap_or_else(|e| panic!("{}: {e}", bin.display()));
            assert!(
                want == bytes,
                "{name} at {} mm differs from {} (UPDATE_GOLDEN=1 after a wanted change)",
                paper.mm(),
                bin.display()
            );
            assert_eq!(std::fs::read_to_string(&txt).unwrap(), grid, "{name} grid");
            checked += 1;
        }
    }
    assert_eq!(checked, 10);
}

#[test]
fn no_line_of_any_slip_is_wider_than_its_paper() {
    for (name, slip, reprint) in all() {
        for paper in Paper::ALL {
            for line in layout(&slip, &origin(), paper, reprint).grid_lines() {
                assert!(
                    columns(&line) <= paper.columns(),
                    "{name} at {} mm: {line:?} is {} columns",
                    paper.mm(),
                    columns(&line)
                );
            }
        }
    }
}

#[test]
fn amounts_end_at_the_right_edge() {
    for paper in Paper::ALL {
        let lines = layout(&receipt(), &origin(), paper, None).grid_lines();
        let amount = lines
            .iter()
            .find(|l| l.contains("共 ￥180.00"))
            .expect("the total is printed");
        let breakdown = lines
            .iter()
            .find(|l| l.contains("（2 张 × ￥90.00）"))
            .expect("with its breakdown");
        for l in [amount, breakdown] {
            assert_eq!(columns(l), paper.columns(), "right-aligned: {l:?}");
        }
        let handover = layout(&handover(), &origin(), paper, None).grid_lines();
        for l in handover.iter().filter(|l| l.contains('￥')) {
            assert_eq!(columns(l), paper.columns(), "right-aligned: {l:?}");
        }
    }
}

#[test]
fn a_receipt_masks_the_code_names_the_chain_head_and_replaces_the_emoji_visibly() {
    let text = layout(&receipt(), &origin(), Paper::Mm58, None)
        .grid_lines()
        .join("\n");
    assert!(
        !text.contains("594812345676811"),
        "the whole code never prints"
    );
    assert!(text.contains("5948…6811"));
    assert!(text.contains("#1234:9f3a6c1e0d2b4a77…"), "{text}");
    assert!(
        text.contains("龘𠮷㐀 〓"),
        "rare Hanzi print, the emoji is a mark: {text}"
    );
    assert!(text.contains("0f3c9a7e4b2d4c1e8a6b5d4c3b2a1908"));
}

#[test]
fn a_reprint_says_so_with_its_time() {
    let text = layout(
        &receipt(),
        &origin(),
        Paper::Mm80,
        Some(Reprint {
            at_ms: AT + 3_600_000,
        }),
    )
    .grid_lines()
    .join("\n");
    assert!(text.contains("重  打"), "the mark is double size: {text}");
    assert!(text.contains("重打时间 2026-03-02 13:03:04"), "{text}");
}

#[test]
fn text_never_carries_a_control_byte_into_the_command_stream() {
    let mut slip = receipt();
    if let Slip::Receipt(r) = &mut slip {
        r.coupon_name = "evil\u{1b}@\u{1d}V\u{0}name".into();
        r.cashier = "王\n芳".into();
    }
    let bytes = render(&slip, &origin(), Paper::Mm58, None);
    let clean = render(&receipt(), &origin(), Paper::Mm58, None);
    let count = |b: &[u8], x: u8| b.iter().filter(|&&c| c == x).count();
    assert_eq!(count(&bytes, 0x1D), count(&clean, 0x1D), "no injected GS");
    assert_eq!(count(&bytes, 0x00), count(&clean, 0x00), "no injected NUL");
}
