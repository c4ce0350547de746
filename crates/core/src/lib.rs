//! RedeemDesk's core: everything that is not a window. Channels, the ledger, the use cases
//! and the pieces they share. This crate must never depend on `tauri` (or wry, tao, webkit):
//! the CLI, the sandbox tests and the benchmarks run it without a window.

pub mod app_info;
pub mod business_day;
pub mod channel;
pub mod channel_check;
pub mod channel_setup;
pub mod clock;
pub mod clock_skew;
pub mod config;
pub mod data_dir;
pub mod demo_secrets;
pub mod desk;
pub mod export;
pub mod file_modes;
pub mod going_live;
pub mod hq_sync;
pub mod lang;
pub mod ledger;
pub mod limits;
pub mod money;
pub mod new_ledger;
pub mod reconcile;
pub mod refusal;
pub mod scan;
pub mod secret;
pub mod slip;
pub mod statement;
pub mod validity;
pub mod words;

// The use cases live under `desk/`; their old paths stay for the front ends.
pub use desk::{
    cross_till, inbox as inbox_actions, outbox, reachability, redeem, resolver, roles,
    settings as desk_settings, statements as statement_mappings, undo,
};
