//! `redeemdesk-cli`: the headless front end. One channel call per invocation, the answer
//! printed as JSON on stdout. It is thin on purpose: parsing arguments, loading the channel
//! config (or starting the sandbox in-process with `--sandbox`), one call into the core.
//!
//! ```text
//! redeemdesk-cli prepare --sandbox --channel allinpay --platform tiktok --code 802436197254310
//! redeemdesk-cli redeem  --sandbox --channel liantuofu --code 914095353294404024 --count 2
//! redeemdesk-cli query   --config channels.toml --channel shoubei --code 679533922928 --id <32 hex>
//! ```
//!
//! Exit status: 0 ready / succeeded, 1 rejected / not consumed, 3 unknown, 2 usage or
//! configuration error.

use clap::{Args, Parser, Subcommand};
use redeemdesk_core::channel::{
    CertificateChoice, Channel, ChannelError, ChannelKind, CouponCode, Exchanged, Outcome,
    Platform, Prepared, RedeemRequest, RedemptionId, Resolution,
};
use redeemdesk_core::clock::{Clock, SystemClock};
use redeemdesk_core::config::{Config, ConfigError};
use redeemdesk_sandbox::{RunningSandbox, Sandbox, SandboxError, SandboxOptions};
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
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Preview a code: name, value, validity, what can be redeemed.
    Prepare(Target),
    /// Redeem a code (the preview is read first where the channel needs it).
    Redeem(Target),
    /// Ask the channel what became of an earlier redemption (`--id`).
    Query(Target),
}

#[derive(Args)]
struct Target {
    /// shoubei | zvcms | liantuofu | allinpay
    #[arg(long)]
    channel: ChannelKind,
    /// The coupon code, exactly as scanned (never truncated).
    #[arg(long)]
    code: String,
    /// How many uses to redeem.
    #[arg(long, default_value_t = 1)]
    count: u32,
    /// 通联 only: meituan | tiktok | dianping | mtdz.
    #[arg(long, value_parser = parse_platform)]
    platform: Option<Platform>,
    /// 通联 Douyin: a certificate to redeem, `ID` or `ID:NUM`; repeat for several.
    #[arg(long = "certificate", value_parser = parse_certificate)]
    certificates: Vec<CertificateChoice>,
    /// Our redemption id (32 hex). Redeem: reuse it to retry the same intent; query: required.
    #[arg(long)]
    id: Option<String>,
    /// 联拓富: the uses left before the redemption (read by a preview when absent).
    #[arg(long)]
    remaining_before: Option<u32>,
    /// The cashier's login (通联 `operUserId`).
    #[arg(long)]
    cashier: Option<String>,
    /// The channel configuration file.
    #[arg(long, conflicts_with = "sandbox")]
    config: Option<PathBuf>,
    /// Start the sandbox in-process and use its demo configuration.
    #[arg(long)]
    sandbox: bool,
    /// Also print the HTTP exchanges (secrets redacted by the core).
    #[arg(long)]
    exchanges: bool,
}

/// Why the command could not run at all (exit status 2).
#[derive(Debug, thiserror::Error)]
enum CliError {
    #[error("give --config FILE or --sandbox")]
    NoConfig,
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("sandbox: {0}")]
    Sandbox(#[from] SandboxError),
    #[error("{0} is not configured")]
    NotConfigured(ChannelKind),
    #[error(transparent)]
    Channel(#[from] ChannelError),
    #[error("--code: {0}")]
    Code(String),
    #[error("--id: {0}")]
    Id(String),
    #[error("query needs --id, the redemption id of the attempt")]
    NoId,
}

fn parse_platform(s: &str) -> Result<Platform, String> {
    Platform::ALL
        .into_iter()
        .find(|p| p.as_str() == s.trim().to_ascii_lowercase())
        .ok_or_else(|| "expected meituan, tiktok, dianping or mtdz".to_owned())
}

fn parse_certificate(s: &str) -> Result<CertificateChoice, String> {
    let (id, num) = match s.split_once(':') {
        Some((id, num)) => (
            id,
            num.parse().map_err(|_| format!("{num:?} is not a count"))?,
        ),
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
    match run(cli.command).await {
        Ok((report, status)) => {
            println!(
                "{}",
                serde_json::to_string_pretty(&report).unwrap_or_default()
            );
            ExitCode::from(status)
        }
        Err(e) => {
            eprintln!("redeemdesk-cli: {e}");
            ExitCode::from(2)
        }
    }
}

async fn run(command: Command) -> Result<(Value, u8), CliError> {
    let (op, t) = match &command {
        Command::Prepare(t) => ("prepare", t),
        Command::Redeem(t) => ("redeem", t),
        Command::Query(t) => ("query", t),
    };
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    // Kept alive until the call is done: dropping it stops the in-process sandbox.
    let mut sandbox: Option<RunningSandbox> = None;
    let config = match (&t.config, t.sandbox) {
        (Some(path), _) => Config::load(path)?,
        (None, true) => {
            let running = Sandbox::start(SandboxOptions::default()).await?;
            let config = running.demo_config();
            sandbox = Some(running);
            config
        }
        (None, false) => return Err(CliError::NoConfig),
    };
    let config_one = config
        .get(t.channel)
        .ok_or(CliError::NotConfigured(t.channel))?
        .clone();
    let channel = Channel::new(
        config_one,
        redeemdesk_core::channel::Context {
            clock: clock.clone(),
            zone: config.zone,
        },
    )?;
    let code = CouponCode::new(t.code.clone()).map_err(|e| CliError::Code(e.to_string()))?;
    let mut report = json!({ "channel": t.channel, "operation": op, "code": code.as_str() });
    let status = match command {
        Command::Prepare(_) => {
            let x = channel.prepare(&code, t.platform).await?;
            let status = match &x.value {
                Prepared::Ready(_) => 0,
                Prepared::Rejected { .. } => 1,
                Prepared::Unknown { .. } => 3,
            };
            attach(&mut report, x, t.exchanges);
            status
        }
        Command::Redeem(_) => {
            let req = request(&channel, t, &code, clock.as_ref(), t.id.as_deref()).await?;
            report["id"] = json!(req.id.as_str());
            let x = channel.redeem(&req).await?;
            let status = match &x.value {
                Outcome::Succeeded(_) => 0,
                Outcome::Rejected { .. } => 1,
                Outcome::Unknown { .. } => 3,
            };
            attach(&mut report, x, t.exchanges);
            status
        }
        Command::Query(_) => {
            let id = t.id.as_deref().ok_or(CliError::NoId)?;
            let req = request(&channel, t, &code, clock.as_ref(), Some(id)).await?;
            report["id"] = json!(req.id.as_str());
            let x = channel.resolve(&req).await?;
            let status = match &x.value {
                Resolution::Succeeded(_) => 0,
                Resolution::NotConsumed { .. } => 1,
                Resolution::StillUnknown { .. } => 3,
            };
            attach(&mut report, x, t.exchanges);
            status
        }
    };
    if let Some(s) = sandbox {
        report["sandbox"] = json!(true);
        s.shutdown().await;
    }
    Ok((report, status))
}

fn attach<T: serde::Serialize>(report: &mut Value, x: Exchanged<T>, exchanges: bool) {
    report["result"] = serde_json::to_value(&x.value).unwrap_or(Value::Null);
    if exchanges {
        report["exchanges"] = serde_json::to_value(&x.exchanges).unwrap_or(Value::Null);
    }
}

/// The redemption intent. 联拓富 settles an Unknown by comparing uses left, so without
/// `--remaining-before` the preview is read first to know them (channels.md §4).
async fn request(
    channel: &Channel,
    t: &Target,
    code: &CouponCode,
    clock: &dyn Clock,
    id: Option<&str>,
) -> Result<RedeemRequest, CliError> {
    let id = match id {
        Some(text) => RedemptionId::parse(text).map_err(|e| CliError::Id(e.to_string()))?,
        None => RedemptionId::new_v4(),
    };
    let mut remaining_before = t.remaining_before;
    if remaining_before.is_none()
        && channel.capabilities().unknown_resolution
            == redeemdesk_core::channel::UnknownResolution::RemainingUses
    {
        if let Prepared::Ready(p) = channel.prepare(code, t.platform).await?.value {
            remaining_before = p.times_remaining;
        }
    }
    Ok(RedeemRequest {
        id,
        code: code.clone(),
        count: t.count,
        platform: t.platform,
        certificates: t.certificates.clone(),
        order_amount: None,
        paid_amount: None,
        remaining_before,
        cashier: t.cashier.clone(),
        remark: None,
        attempted_at_ms: clock.now_ms(),
    })
}
