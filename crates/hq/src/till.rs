//! The till's side of chain mode, for the front ends: from `[hq]` to a running uploader.

use crate::client::{ConnectError, HqClient, HqTarget};
use redeemdesk_core::clock::Clock;
use redeemdesk_core::config::HqConfig;
use redeemdesk_core::hq_sync::{UploadIdentity, Uploader, UploaderTask};
use redeemdesk_core::ledger::{Ledger, LedgerError};
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Connect(#[from] ConnectError),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
}

/// Builds the uploader for `ledger` and starts it on the current tokio runtime. Nothing is
/// connected here: the first round connects, and HQ being away is only a backoff.
pub fn start_uploader(
    ledger: Arc<Ledger>,
    clock: Arc<dyn Clock>,
    hq: &HqConfig,
    app_version: &str,
) -> Result<(Arc<Uploader>, UploaderTask), StartError> {
    let target = HqTarget::new(
        &hq.url,
        hq.password.as_ref().map(|p| p.expose()),
        hq.ca_file.as_deref(),
    )?;
    let uploader = Arc::new(Uploader::new(
        ledger,
        Arc::new(HqClient::new(target)),
        clock,
        UploadIdentity {
            store_id: hq.store_id.clone(),
            till: hq.till.clone(),
            app_version: app_version.to_owned(),
        },
    )?);
    let task = uploader.start();
    Ok((uploader, task))
}
