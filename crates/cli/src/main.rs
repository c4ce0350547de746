//! `redeemdesk-cli`: the headless front end over the same core, config and ledger as the
//! app. It opens (and locks) the data directory, boots the desk exactly as the app does
//! (`redeemdesk_sandbox::boot`: `config.toml` if present, else the in-process sandbox), makes
//! one call into the desk and prints the answer as JSON. Every redemption goes through the
//! write-ahead ledger, so the CLI can never redeem a code the app does not know about.
//!
//! ```text
//! redeemdesk-cli --sandbox prepare --channel allinpay --platform tiktok --code 802436197254310
//! redeemdesk-cli --sandbox redeem  --channel liantuofu --code 914095353294404024 --count 2
//! redeemdesk-cli --sandbox query   --id <attempt id printed by redeem>
//! redeemdesk-cli --sandbox notify  --product 2112291922150704074 --name 王刚 --phone 13566662456
//! redeemdesk-cli --config channels.toml redeem --channel shoubei --code 679533922928
//! ```
//!
//! Exit status: 0 ready / succeeded / delivered, 1 refused (by the channel or a local
//! check), 3 unknown (resolved later; never redeem it again), 2 usage, configuration or
//! data-directory error.

use clap::{Args, Parser, Subcommand};
use redeemdesk_core::channel::{CertificateChoice, ChannelKind, Outcome, Platform};
use redeemdesk_core::clock::{Clock, SystemClock};
use redeemdesk_core::data_dir::{self, DataDir};
use redeemdesk_core::desk::Desk;
use redeemdesk_core::ledger::{AttemptId, AttemptState, NotificationState};
use redeemdesk_core::outbox::OrderInput;
use redeemdesk_core::redeem::{PrepareInput, Prepared, RedeemError, RedeemInput};
use redeemdesk_sandbox::boot::{boot, ChannelSource};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Parser)]
#[command(
    name = "redeemdesk-cli",
    version,
    about = "核销台 RedeemDesk — redeem coupon codes from the command line"
)]
struct Cli {
    #[command(flatten)]
    source: Source,
    #[command(subcommand)]
    command: Command,
}

/// Where the data and the channels come from.
#[derive(Args)]
struct Source {
    /// The data directory (default: $REDEEMDESK_DATA_DIR, else the app's data directory).
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    /// The channel configuration file (default: config.toml in the data directory, else
    /// the sandbox).
    #[arg(long, global = true, conflicts_with = "sandbox")]
    config: Option<PathBuf>,
    /// Use the in-process sandbox whatever is configured.
    #[arg(long, global = true)]
    sandbox: bool,
}

#[derive(Subcommand)]
enum Command {
    /// Look a code up: name, value, validity, what can be redeemed.
    Prepare(CodeArgs),
    /// Look a code up and redeem it (written to the ledger before the channel is called).
    Redeem(RedeemArgs),
    /// Settle an unknown attempt now with the channel's own call, and show the attempt.
    Query(QueryArgs),
    /// Sell a 增值券 value-added product: queue the notification and deliver it.
    Notify(SaleArgs),
}

#[derive(Args)]
struct CodeArgs {
    /// shoubei | zvcms | liantuofu | allinpay
    #[arg(long)]
    channel: ChannelKind,
    /// The code as scanned or typed; normalised like the cashier screen does.
    #[arg(long)]
    code: String,
    /// 通联 only: meituan | tiktok | dianping | mtdz.
    #[arg(long, value_parser = parse_platform)]
    platform: Option<Platform>,
    /// Who is redeeming (the ledger's cashier).
    #[arg(long, default_value = "cli")]
    cashier: String,
}

#[derive(Args)]
struct RedeemArgs {
    #[command(flatten)]
    code: CodeArgs,
    /// How many uses to redeem.
    #[arg(long, default_value_t = 1)]
    count: u32,
    /// 通联 Douyin: a certificate to redeem, `ID` or `ID:NUM`; repeat for several.
    #[arg(long = "certificate", value_parser = parse_certificate)]
    certificates: Vec<CertificateChoice>,
}

#[derive(Args)]
struct QueryArgs {
    /// The attempt id `redeem` printed.
    #[arg(long)]
    id: String,
}

#[derive(Args)]
struct SaleArgs {
    /// `productNo` from the configured product table.
    #[arg(long)]
    product: String,
    /// The consumer's name.
    #[arg(long)]
    name: String,
    /// The consumer's mainland mobile number (11 digits).
    #[arg(long)]
    phone: String,
    #[arg(long, default_value_t = 1)]
    quantity: u32,
    #[arg(long, default_value = "cli")]
    cashier: String,
}

/// Why the command could not run at all (exit status 2), with the code the app's UI would
/// branch on.
#[derive(Debug, thiserror::Error)]
enum CliError {
    #[error(transparent)]
    DataDir(#[from] data_dir::DataDirError),
    #[error(transparent)]
    Boot(#[from] redeemdesk_sandbox::boot::BootError),
    #[error(transparent)]
    Ledger(#[from] redeemdesk_core::ledger::LedgerError),
    #[error("--id: {0}")]
    Id(String),
    #[error("no attempt {0} in this data directory's ledger")]
    NoSuchAttempt(String),
}

impl CliError {
    fn code(&self) -> &'static str {
        match self {
            CliError::DataDir(e) => e.code(),
            CliError::Boot(e) => e.code(),
            CliError::Ledger(e) => e.code(),
            CliError::Id(_) => "invalid_id",
            CliError::NoSuchAttempt(_) => "attempt_not_found",
        }
    }
}

fn parse_platform(s: &str) -> Result<Platform, String> {
    Platform::ALL
        .into_iter()
        .find(|p| p.as_str() == s.trim().to_ascii_lowercase())
        .ok_or_else(|| "expected meituan, tiktok, dianping or mtdz".to_owned())
}

fn parse_certificate(s: &str) -> Result<CertificateChoice, String> {
    let (id, num) = match s.split_once(':') {
        Some((id, num)) => (id, num.parse().map_err(|_| format!("{num:?} is not a count"))?),
        None => (s, 1),
    };
    if id.trim().is_empty() || num == 0 {
        return Err("expected ID or ID:NUM with NUM ≥ 1".into());
    }
    Ok(CertificateChoice {
        id: id.trim().to_owned(),
        num,
    })
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let (report, status) = match run(cli).await {
        Ok(done) => done,
        Err(e) => (
            json!({ "error": { "code": e.code(), "message": e.to_string() } }),
            2,
        ),
    };
    println!("{}", serde_json::to_string_pretty(&report).unwrap_or_default());
    ExitCode::from(status)
}

async fn run(cli: Cli) -> Result<(Value, u8), CliError> {
    let root = match cli.source.data_dir {
        Some(dir) => dir,
        None => data_dir::resolve()?,
    };
    // The lock is held until the end: the app (or another CLI) cannot write this ledger
    // meanwhile.
    let dir = DataDir::open(&root)?;
    let source = match (cli.source.config, cli.source.sandbox) {
        (Some(path), _) => ChannelSource::Config(path),
        (None, true) => ChannelSource::Sandbox,
        (None, false) => ChannelSource::Auto,
    };
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let booted = boot(dir.root(), source, clock).await?;
    let desk = booted.desk.clone();
    let (mut report, status) = match cli.command {
        Command::Prepare(args) => prepare(&desk, &args).await,
        Command::Redeem(args) => redeem(&desk, args).await,
        Command::Query(args) => query(&desk, &args).await?,
        Command::Notify(args) => notify(&desk, args).await?,
    };
    report["mode"] = json!(booted.mode);
    if let Some(sandbox) = booted.sandbox {
        sandbox.shutdown().await;
    }
    Ok((report, status))
}

/// A refusal before (or instead of) the channel's answer: local checks and input errors
/// are the cashier's business (1); configuration and ledger failures are not (2).
fn refusal(e: &RedeemError) -> (Value, u8) {
    let status = match e {
        RedeemError::Channel(_) | RedeemError::Ledger(_) | RedeemError::ChannelNotConfigured(_) => 2,
        _ => 1,
    };
    (
        json!({ "error": { "code": e.code(), "message": e.to_string() } }),
        status,
    )
}

fn prepared_status(p: &Prepared) -> u8 {
    match p {
        Prepared::Ready { .. } => 0,
        Prepared::Rejected { .. } => 1,
        Prepared::Unknown { .. } => 3,
    }
}

async fn look_up(desk: &Desk, args: &CodeArgs) -> Result<Prepared, RedeemError> {
    desk.prepare(PrepareInput {
        channel: args.channel,
        platform: args.platform,
        raw_code: args.code.clone(),
        cashier: args.cashier.clone(),
    })
    .await
}

async fn prepare(desk: &Desk, args: &CodeArgs) -> (Value, u8) {
    match look_up(desk, args).await {
        Ok(p) => (json!({ "prepared": p }), prepared_status(&p)),
        Err(e) => refusal(&e),
    }
}

async fn redeem(desk: &Desk, args: RedeemArgs) -> (Value, u8) {
    let prepared = match look_up(desk, &args.code).await {
        Ok(p) => p,
        Err(e) => return refusal(&e),
    };
    let Prepared::Ready { token, .. } = &prepared else {
        return (json!({ "prepared": prepared }), prepared_status(&prepared));
    };
    let input = RedeemInput {
        token: token.clone(),
        count: args.count,
        certificates: args.certificates,
        cashier: args.code.cashier.clone(),
    };
    match desk.redeem(input).await {
        Ok(r) => {
            let status = match r.outcome {
                Outcome::Succeeded(_) => 0,
                Outcome::Rejected { .. } => 1,
                Outcome::Unknown { .. } => 3,
            };
            (json!({ "attempt": r.attempt, "outcome": r.outcome }), status)
        }
        Err(e) => refusal(&e),
    }
}

/// Makes an unknown attempt due now and runs one resolver round (which also checks any
/// other unknown that is due, as the app's background resolver would).
async fn query(desk: &Desk, args: &QueryArgs) -> Result<(Value, u8), CliError> {
    let id = AttemptId::parse(&args.id).map_err(|e| CliError::Id(e.to_string()))?;
    let ledger = desk.ledger();
    let before = ledger
        .attempt(&id)?
        .ok_or_else(|| CliError::NoSuchAttempt(args.id.clone()))?;
    if before.state == AttemptState::Unknown {
        let tries = ledger.resolver_status(&id)?.map(|s| s.tries).unwrap_or(0);
        ledger.schedule_next_check(&id, desk.clock().now_ms(), tries)?;
        desk.resolve_due().await?;
    }
    let attempt = ledger
        .attempt(&id)?
        .ok_or_else(|| CliError::NoSuchAttempt(args.id.clone()))?;
    let status = match attempt.state {
        AttemptState::Succeeded | AttemptState::Cancelled => 0,
        AttemptState::Rejected => 1,
        AttemptState::Unknown | AttemptState::Pending => 3,
    };
    let resolver = ledger.resolver_status(&id)?;
    Ok((json!({ "attempt": attempt, "resolver": resolver }), status))
}

/// Queues the sale in the ledger's outbox and runs one delivery round.
async fn notify(desk: &Desk, args: SaleArgs) -> Result<(Value, u8), CliError> {
    let order = desk.submit_order(OrderInput {
        product_no: args.product,
        consumer_name: args.name,
        consumer_phone: args.phone,
        quantity: args.quantity,
        cashier: args.cashier,
    });
    let queued = match order {
        Ok(n) => n,
        Err(e) => {
            let status = if e.code() == "order_invalid" || e.code() == "unknown_product" { 1 } else { 2 };
            return Ok((json!({ "error": { "code": e.code(), "message": e.to_string() } }), status));
        }
    };
    desk.deliver_due().await?;
    let n = desk.ledger().notification(&queued.id)?.unwrap_or(queued);
    let status = match n.state {
        NotificationState::Delivered => 0,
        NotificationState::Rejected => 1,
        NotificationState::Queued => 3,
    };
    Ok((json!({ "notification": n }), status))
}
