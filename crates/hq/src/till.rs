//! The till's side of chain mode, for the front ends: from `[hq]` to a running uploader.

use crate::client::{ConnectError, HqClient, HqTarget};
use redeemdesk_core::clock::Clock;
use redeemdesk_core::config::HqConfig;
use redeemdesk_core::cross_till::CROSS_TILL_BUDGET;
use redeemdesk_core::hq_sync::{ChannelClockSource, UploadIdentity, Uploader, UploaderTask};
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
/// `channel_clock` is the desk's latest comparison with a channel's clock, sent with each
/// push.
pub fn start_uploader(
    ledger: Arc<Ledger>,
    clock: Arc<dyn Clock>,
    channel_clock: Option<ChannelClockSource>,
    hq: &HqConfig,
    app_version: &str,
) -> Result<(Arc<Uploader>, UploaderTask), StartError> {
    let target = HqTarget::new(
        &hq.url,
        hq.password.as_ref().map(|p| p.expose()),
        hq.ca_file.as_deref(),
    )?;
    let mut uploader = Uploader::new(
        ledger,
        Arc::new(HqClient::new(target)),
        clock,
        UploadIdentity {
            store_id: hq.store_id.clone(),
            till: hq.till.clone(),
            app_version: app_version.to_owned(),
        },
    )?;
    if let Some(source) = channel_clock {
        uploader = uploader.with_channel_clock(source);
    }
    let uploader = Arc::new(uploader);
    let task = uploader.start();
    Ok((uploader, task))
}

/// How long the manager's 门店 tab waits for HQ before showing this till's own day.
pub const STORE_DAY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

/// The till's reads of its own store at HQ (the 门店 tab, the cross-till check, the fork
/// state), as the store's role, on one connection of their own (not the uploader's, so a
/// long push never holds up a confirmation), made on first use and again after a failure.
pub struct StoreLink {
    target: HqTarget,
    store_id: String,
    desk_id: String,
    client: tokio::sync::Mutex<Option<Arc<tokio_postgres::Client>>>,
}

impl std::fmt::Debug for StoreLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreLink")
            .field("store_id", &self.store_id)
            .field("desk_id", &self.desk_id)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreReadError {
    #[error(transparent)]
    Connect(#[from] ConnectError),
    #[error(transparent)]
    View(#[from] crate::store_view::StoreViewError),
    #[error("HQ: {}", crate::client::db_text(.0))]
    Db(#[from] tokio_postgres::Error),
}

impl StoreLink {
    pub fn new(hq: &HqConfig, desk_id: &str) -> Result<StoreLink, ConnectError> {
        Ok(StoreLink::with_target(
            HqTarget::new(
                &hq.url,
                hq.password.as_ref().map(|p| p.expose()),
                hq.ca_file.as_deref(),
            )?,
            &hq.store_id,
            desk_id,
        ))
    }

    pub fn with_target(target: HqTarget, store_id: &str, desk_id: &str) -> StoreLink {
        StoreLink {
            target,
            store_id: store_id.to_owned(),
            desk_id: desk_id.to_owned(),
            client: tokio::sync::Mutex::new(None),
        }
    }

    pub fn store_id(&self) -> &str {
        &self.store_id
    }

    /// The open connection, or a new one. Queries run on a clone of it, outside the lock.
    async fn client(&self) -> Result<Arc<tokio_postgres::Client>, ConnectError> {
        let mut slot = self.client.lock().await;
        if let Some(c) = slot.as_ref().filter(|c| !c.is_closed()) {
            return Ok(c.clone());
        }
        let c = Arc::new(self.target.connect().await?);
        *slot = Some(c.clone());
        Ok(c)
    }

    async fn forget(&self) {
        *self.client.lock().await = None;
    }

    /// Connects ahead of the first confirmation, so its check spends the budget on the
    /// question and not on the handshake. A failure is only logged.
    pub async fn warm(&self) {
        if let Err(e) = self.client().await {
            tracing::info!("HQ not reached yet for the store's reads: {e}");
        }
    }

    /// A failed read starts the next one on a fresh connection.
    async fn keep<T>(&self, out: Result<T, StoreReadError>) -> Result<T, StoreReadError> {
        if out.is_err() {
            self.forget().await;
        }
        out
    }

    /// The store's business day across its tills, as HQ holds it.
    pub async fn store_day(&self, day: &str) -> Result<crate::reports::StoreDay, StoreReadError> {
        let client = self.client().await?;
        let out = crate::store_view::store_day(&client, &self.store_id, day).await;
        self.keep(out.map_err(Into::into)).await
    }

    /// How many of this desk's rows HQ holds quarantined as a fork (0 when HQ never heard
    /// of the desk).
    pub async fn forks(&self) -> Result<i64, StoreReadError> {
        let desk = uuid::Uuid::parse_str(&self.desk_id)
            .map_err(|_| crate::store_view::StoreViewError::DeskId(self.desk_id.clone()))?;
        let client = self.client().await?;
        let out = client
            .query_opt(
                "SELECT forks FROM ingest.desk_state($1, $2)",
                &[&self.store_id, &desk],
            )
            .await
            .map(|r| r.map_or(0, |r| r.get::<_, i64>(0)));
        self.keep(out.map_err(Into::into)).await
    }
}

impl redeemdesk_core::cross_till::OtherTills for StoreLink {
    fn redeemed_elsewhere<'a>(
        &'a self,
        channel: redeemdesk_core::channel::ChannelKind,
        code: &'a str,
    ) -> redeemdesk_core::cross_till::LookupFuture<'a> {
        Box::pin(async move {
            let ask = async {
                let client = self.client().await?;
                Ok::<_, StoreReadError>(
                    crate::store_view::redeemed_elsewhere(
                        &client,
                        &self.store_id,
                        &self.desk_id,
                        channel.as_str(),
                        code,
                    )
                    .await?,
                )
            };
            // Just inside the desk's budget: a connection that stopped answering is dropped
            // here, so the next confirmation asks on a fresh one instead of queueing behind.
            let budget = CROSS_TILL_BUDGET.saturating_sub(std::time::Duration::from_millis(20));
            match tokio::time::timeout(budget, ask).await {
                Ok(out) => self.keep(out).await.map_err(|e| e.to_string()),
                Err(_) => {
                    self.forget().await;
                    Err(format!("HQ did not answer within {budget:?}"))
                }
            }
        })
    }
}

/// What the manager's 门店 tab shows: the store's day from HQ, or this till's own day
/// (`source = "local"`, marked 本机) when HQ cannot be read or chain mode is off.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StoreDayView {
    /// `hq` or `local`.
    pub source: &'static str,
    /// Why it is this till's own day: chain mode is off, or what went wrong at HQ.
    pub local_reason: Option<String>,
    pub day: String,
    pub this_till: Option<String>,
    pub attempts: Vec<crate::reports::AttemptLine>,
    pub per_channel: Vec<crate::reports::Totals>,
    pub per_till: Vec<crate::reports::Totals>,
    /// HQ holds rows of this desk quarantined as a fork (总部发现本机流水与已上传记录不一致).
    pub fork: bool,
}

/// The 门店 tab's day: HQ's, within [`STORE_DAY_TIMEOUT`], else the local ledger's.
pub async fn store_day_view(
    link: Option<&StoreLink>,
    ledger: &Ledger,
    till: Option<&str>,
    day: redeemdesk_core::business_day::BusinessDay,
) -> Result<StoreDayView, LedgerError> {
    let day_text = day.to_string();
    let local_reason = match link {
        None => "chain mode is off ([hq] not in config.toml)".to_owned(),
        Some(link) => {
            let read = async {
                Ok::<_, StoreReadError>((link.store_day(&day_text).await?, link.forks().await?))
            };
            match tokio::time::timeout(STORE_DAY_TIMEOUT, read).await {
                Ok(Ok((hq, forks))) => {
                    return Ok(StoreDayView {
                        source: "hq",
                        local_reason: None,
                        day: day_text,
                        this_till: till.map(str::to_owned),
                        attempts: hq.attempts,
                        per_channel: hq.per_channel,
                        per_till: hq.per_till,
                        fork: forks > 0,
                    })
                }
                Ok(Err(e)) => e.to_string(),
                Err(_) => format!("HQ did not answer within {STORE_DAY_TIMEOUT:?}"),
            }
        }
    };
    let desk_id = ledger.desk_id()?;
    let name = till.unwrap_or("本机").to_owned();
    let log = ledger.day_log(day, &redeemdesk_core::ledger::DayFilter::default())?;
    let attempts: Vec<crate::reports::AttemptLine> = log
        .attempts
        .iter()
        .map(|a| crate::reports::AttemptLine {
            till: name.clone(),
            desk_id: desk_id.clone(),
            attempt_id: a.id.to_string(),
            created_ms: a.created_ms,
            channel: a.channel.as_str().to_owned(),
            code: a.code.clone(),
            count: a.count as i32,
            cashier: a.cashier.clone(),
            state: a.state.as_str().to_owned(),
            settled_face_fen: a.settled_face_value.map(|f| f.0),
            settled_fen: a.settled.map(|f| f.0),
        })
        .collect();
    Ok(StoreDayView {
        source: "local",
        local_reason: Some(local_reason),
        day: day_text,
        this_till: till.map(str::to_owned),
        per_channel: crate::store_view::totals_by(&attempts, |a| a.channel.clone()),
        per_till: crate::store_view::totals_by(&attempts, |a| a.till.clone()),
        attempts,
        fork: false,
    })
}
