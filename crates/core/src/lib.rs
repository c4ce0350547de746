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
pub mod cross_till;
pub mod data_dir;
pub mod demo_secrets;
pub mod desk;
pub mod desk_settings;
pub mod export;
pub mod file_modes;
pub mod going_live;
pub mod hq_sync;
pub mod inbox_actions;
pub mod ledger;
pub mod limits;
pub mod money;
pub mod outbox;
pub mod reachability;
pub mod reconcile;
pub mod redeem;
pub mod resolver;
pub mod roles;
pub mod scan;
pub mod secret;
pub mod slip;
pub mod statement;
pub mod statement_mappings;
pub mod undo;
pub mod validity;
