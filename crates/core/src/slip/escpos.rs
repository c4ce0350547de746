//! A laid-out slip as ESC/POS bytes, text in GB18030 with Hanzi mode on (`FS &`).
//!
//! The command set is written here rather than through the `escpos` crate: that crate
//! encodes text through single-byte code pages (`PageCode`, PC437…) and has no GB18030,
//! so every line would go through its `custom()` escape hatch anyway; and its `Printer`
//! writes straight to its drivers, while slips must be whole byte strings first (queued in
//! the ledger, compared in golden tests, resent as one job). What we emit is this, and the
//! virtual printer (crates/sandbox/src/printer.rs) parses exactly it:
//!
//! | bytes            | command                                   |
//! |------------------|-------------------------------------------|
//! | `1B 40`          | ESC @ — initialise                        |
//! | `1C 26`          | FS & — Hanzi (double-byte) mode on        |
//! | `1B 61 n`        | ESC a — align 0 left, 1 centre, 2 right   |
//! | `1B 45 n`        | ESC E — bold off/on                       |
//! | `1D 21 n`        | GS ! — size, 0x11 double width and height |
//! | `1D 28 6B …`     | GS ( k — QR code: model, size, level, store, print |
//! | `0A`             | LF — print the line                       |
//! | `1B 64 n`        | ESC d — feed n lines                      |
//! | `1D 56 42 00`    | GS V 66 — feed to the cutter, partial cut |
//!
//! Invariant: text never contains a byte below 0x20 ([`grid::printable`] runs on every
//! line here again), so a name can never inject a command.

use super::grid;
use super::model::{Align, Block, Layout};

pub const ESC: u8 = 0x1B;
pub const GS: u8 = 0x1D;
pub const FS: u8 = 0x1C;
pub const LF: u8 = 0x0A;

/// Module size of the QR code, in dots (6 × 25 modules ≈ 19 mm on a 203 dpi head).
const QR_MODULE_DOTS: u8 = 6;

/// The bytes of one slip, from initialise to cut.
pub fn encode(layout: &Layout) -> Vec<u8> {
    let mut out = vec![ESC, b'@', FS, b'&'];
    let mut align = Align::Left;
    let mut bold = false;
    let mut double = false;
    for block in &layout.blocks {
        match block {
            Block::Line(line) => {
                if line.align != align {
                    align = line.align;
                    out.extend([ESC, b'a', align_byte(align)]);
                }
                if line.bold != bold {
                    bold = line.bold;
                    out.extend([ESC, b'E', u8::from(bold)]);
                }
                if line.double != double {
                    double = line.double;
                    out.extend([GS, b'!', if double { 0x11 } else { 0x00 }]);
                }
                out.extend_from_slice(&gb18030(&line.text));
                out.push(LF);
            }
            Block::Qr(data) => {
                if align != Align::Center {
                    align = Align::Center;
                    out.extend([ESC, b'a', align_byte(align)]);
                }
                qr(&mut out, data.as_bytes());
            }
        }
    }
    if align != Align::Left {
        out.extend([ESC, b'a', 0]);
    }
    if bold {
        out.extend([ESC, b'E', 0]);
    }
    if double {
        out.extend([GS, b'!', 0]);
    }
    out.extend([ESC, b'd', 3, GS, b'V', 66, 0]);
    out
}

fn align_byte(a: Align) -> u8 {
    match a {
        Align::Left => 0,
        Align::Center => 1,
        Align::Right => 2,
    }
}

/// GB18030 bytes of a line as the printer can print it.
pub fn gb18030(text: &str) -> Vec<u8> {
    let text = grid::printable(text);
    // GB18030 maps all of Unicode, so `had_errors` cannot be true; printable() already
    // replaced what the printer's font lacks.
    let (bytes, _, _) = encoding_rs::GB18030.encode(&text);
    bytes.into_owned()
}

/// `GS ( k` functions 165, 167, 169, 180 and 181: model 2, module size, level M, store,
/// print.
fn qr(out: &mut Vec<u8>, data: &[u8]) {
    let k = |out: &mut Vec<u8>, body: &[u8]| {
        let len = body.len() as u16;
        out.extend([GS, b'(', b'k', (len & 0xFF) as u8, (len >> 8) as u8]);
        out.extend_from_slice(body);
    };
    k(out, &[49, 65, 50, 0]);
    k(out, &[49, 67, QR_MODULE_DOTS]);
    k(out, &[49, 69, 49]);
    let mut store = vec![49, 80, 48];
    // A QR code holds far more; an attempt id is 32 characters.
    store.extend_from_slice(&data[..data.len().min(1024)]);
    k(out, &store);
    k(out, &[49, 81, 48]);
}
