//! Slips: the 核销凭证, the 待确认 note, the 交班单 and the test page, laid out on
//! the printer's text grid (`grid`), as models (`model`), encoded as ESC/POS with GB18030
//! (`escpos`). Printing them is `print` (the queue in the ledger, the worker, the
//! transports): a slip is made after the answer is shown and never delays a redemption.
//!
//! Invariants: a slip's every line fits its paper (32 or 48 columns by East Asian width);
//! nothing the printer's font lacks is dropped silently (it prints as 〓); codes print
//! masked; no secret is a field of any slip.

pub mod escpos;
pub mod grid;
pub mod model;
pub mod print;
pub mod transport;

pub use grid::Paper;
pub use model::{
    layout, ChannelTotal, Handover, Layout, OpenUnknown, Origin, PendingNote, Receipt, Reprint,
    Slip, TestPage,
};
pub use print::{PrintError, FAILED_NOTE};
pub use transport::{PrinterSettings, PrinterTarget, Timeouts};

/// The bytes to send to the printer for a slip.
pub fn render(slip: &Slip, origin: &Origin, paper: Paper, reprint: Option<Reprint>) -> Vec<u8> {
    escpos::encode(&layout(slip, origin, paper, reprint))
}

#[cfg(test)]
mod tests;
