//! RedeemDesk at headquarters (chain mode, issue 21): the PostgreSQL schema and its
//! migrations, the one ingest function the tills write through, the stores' roles, the
//! till's client for it, and the reports.

pub mod anchor;
pub mod client;
pub mod errors;
pub mod ingest;
pub mod migrations;
pub mod reports;
pub mod roles;
mod schema;
pub mod store_view;
#[doc(hidden)]
pub mod testing;
pub mod till;

pub use client::{ConnectError, HqClient, HqTarget, PushError, SslMode};
pub use migrations::{migrate, MigrateError};
