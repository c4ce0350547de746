//! `redeemdesk-cli`: the headless front end over the same core, configuration and ledger as
//! the app. Every command prints JSON on stdout; a refusal prints `{"error": {code, message}}`
//! (with `field` when a setting is refused) and exits 2, a broken ledger chain exits 1. Commands that write take the data directory's
//! lock (never two writers on one ledger) and boot the desk exactly as the app does
//! (`redeemdesk_sandbox::boot`); commands that only read open the ledger read-only.
//!
//! ```text
//! redeemdesk-cli --sandbox redeem --channel liantuofu --code 914095353294404024 --count 2
//! redeemdesk-cli --sandbox prepare --channel allinpay --platform tiktok --code 802436197254310
//! redeemdesk-cli --sandbox log --day 2026-11-22
//! redeemdesk-cli --config config.toml redeem --channel shoubei --code 679533922928
//! ```

use clap::{Args, Parser, Subcommand};
use redeemdesk_core::app_info::Mode;
use redeemdesk_core::business_day::BusinessDay;
use redeemdesk_core::channel::{
    CertificateChoice, ChannelKind, CouponCode, Platform, RedeemRequest, RedemptionId,
};
use redeemdesk_core::clock::{Clock, SystemClock};
use redeemdesk_core::data_dir::{self, DataDir};
use redeemdesk_core::desk::reconcile::Statement;
use redeemdesk_core::desk::{Checkpoint, Desk, ManagerUnlock};
use redeemdesk_core::export::{export_day_log, export_report, ExportFormat};
use redeemdesk_core::ledger::{self, AttemptId, AttemptState, ChainAnchor, DayFilter, Ledger};
use redeemdesk_core::outbox::OrderInput;
use redeemdesk_core::reconcile::StatementMapping;
use redeemdesk_core::redeem::{PrepareInput, Prepared, RedeemInput};
use redeemdesk_core::resolver::Decision;
use redeemdesk_core::words::Lang;
use redeemdesk_sandbox::boot::{boot, BootedDesk, ChannelSource, CONFIG_FILE};
use serde::Serialize;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Parser)]
#[command(
    name = "redeemdesk-cli",
    version,
    about = "核销台 RedeemDesk from a terminal"
)]
struct Cli {
    /// The data directory (default: $REDEEMDESK_DATA_DIR, else the platform's app data dir).
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    /// Use the built-in sandbox channels and the sandbox ledger.
    #[arg(long, global = true, conflicts_with = "config")]
    sandbox: bool,
    /// Use this channel configuration (default: config.toml in the data directory).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// Use a sandbox already running at this address (e.g. `redeemdesk-sandbox`'s).
    #[arg(long, global = true, conflicts_with_all = ["config", "sandbox"])]
    sandbox_at: Option<std::net::SocketAddr>,
    /// Read a ledger copied to read-only media (SQLite `immutable`: nothing is locked or
    /// created beside it). It must have been closed cleanly. Reading commands only.
    #[arg(long, global = true)]
    archive: bool,
    /// Read this ledger file instead of the data directory's (e.g. one `new-ledger` set
    /// aside). Reading commands only.
    #[arg(long, global = true)]
    ledger: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args)]
struct CodeArgs {
    #[arg(long)]
    channel: ChannelKind,
    #[arg(long)]
    code: String,
    /// 通联 only: meituan, tiktok, dianping or mtdz.
    #[arg(long, value_parser = parse_platform)]
    platform: Option<Platform>,
}

/// Who redeems or sells: the command opens that cashier's shift exactly as the till's 开班
/// does (the name from the manager's list, its PIN with the same lock-out), so a line in
/// the log says the same "by whom" whichever front end wrote it.
#[derive(Args)]
struct ShiftArgs {
    /// A cashier from the manager's list (default: 收银员, the till's cashier when the
    /// manager keeps no list). A cashier with a PIN gives it in $REDEEMDESK_CASHIER_PIN,
    /// never on the command line, where other users' `ps` would show it.
    #[arg(long, default_value = redeemdesk_core::roles::DEFAULT_CASHIER)]
    cashier: String,
}

/// Where a cashier's PIN comes from for `redeem` and `order`.
const CASHIER_PIN_ENV: &str = "REDEEMDESK_CASHIER_PIN";

fn open_shift(desk: &Desk, shift: &ShiftArgs) -> Result<(), Failure> {
    let pin = std::env::var(CASHIER_PIN_ENV).ok();
    desk.start_shift(&shift.cashier, pin.as_deref())?;
    Ok(())
}

/// Where the manager's PIN comes from for `decide` and `reconcile`, else one line of stdin.
const MANAGER_PIN_ENV: &str = "REDEEMDESK_MANAGER_PIN";

/// Unlocks the manager `who` with the PIN (never an argument, which `ps` would show), with
/// the app's lock-out and audit: the CLI's manager commands follow the desk's one rule.
fn unlock_manager(desk: &Desk, who: &str) -> Result<ManagerUnlock, Failure> {
    let pin = match std::env::var(MANAGER_PIN_ENV) {
        Ok(pin) => pin,
        Err(_) => {
            eprint!("店长 PIN / manager PIN: ");
            let mut line = String::new();
            std::io::stdin()
                .read_line(&mut line)
                .map_err(|e| Failure::new("pin_unreadable", e))?;
            line
        }
    };
    let pin = pin.trim();
    if pin.is_empty() {
        return Err(Failure::new(
            "manager_pin_needed",
            format!("a manager command needs the manager PIN: type it on stdin or set ${MANAGER_PIN_ENV}"),
        ));
    }
    Ok(desk.unlock_manager(pin, who)?)
}

#[derive(Subcommand)]
enum Command {
    /// Look a code up (the channel's preview), without redeeming.
    Prepare {
        #[command(flatten)]
        code: CodeArgs,
    },
    /// Look a code up and redeem it; logged in the ledger like a redemption at the till.
    Redeem {
        #[command(flatten)]
        code: CodeArgs,
        #[arg(long, default_value_t = 1)]
        count: u32,
        /// Douyin certificates to redeem, as ID or ID:COUNT (repeatable).
        #[arg(long = "certificate")]
        certificates: Vec<String>,
        #[command(flatten)]
        shift: ShiftArgs,
    },
    /// Ask the channel what became of one redemption (its own query/detail/history call).
    Query {
        #[command(flatten)]
        code: CodeArgs,
        /// Our redemption id (the idempotency key sent with the redeem).
        #[arg(long)]
        id: String,
        #[arg(long, default_value_t = 1)]
        count: u32,
        /// 联拓富: the remaining uses read before the redeem.
        #[arg(long)]
        remaining_before: Option<u32>,
    },
    /// The most recent attempts.
    Recent {
        #[arg(long, default_value_t = 10)]
        limit: usize,
        #[arg(long)]
        cashier: Option<String>,
    },
    /// One business day's attempts and per-channel totals.
    Log {
        #[arg(long)]
        day: BusinessDay,
        #[arg(long)]
        channel: Option<ChannelKind>,
        #[arg(long)]
        state: Option<AttemptState>,
        #[arg(long)]
        cashier: Option<String>,
    },
    /// Every attempt on one code with every request and answer.
    Timeline {
        #[arg(long)]
        code: String,
    },
    /// What needs a manager: unknowns the resolver could not settle, failing notifications.
    Inbox,
    /// One resolver round and one outbox round now.
    Resolve,
    /// Record a manager's decision on an unknown attempt. Asks for the manager PIN on
    /// stdin, or takes it from $REDEEMDESK_MANAGER_PIN.
    Decide {
        #[arg(long)]
        id: String,
        #[arg(long, value_parser = parse_decision)]
        decision: Decision,
        /// Who decides: the name the manager PIN unlocks.
        #[arg(long)]
        manager: String,
        #[arg(long)]
        reason: String,
    },
    /// Sell a 增值券 product: queue its order notification and try to deliver it.
    Order {
        #[arg(long)]
        product: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        phone: String,
        #[arg(long, default_value_t = 1)]
        quantity: u32,
        #[command(flatten)]
        shift: ShiftArgs,
    },
    /// Check the ledger: SQLite's quick_check, the whole hash chain with every head the
    /// ledger recorded, and each head written down earlier (`--anchor`).
    VerifyLog {
        /// A chain head printed earlier (on an export, a sign-off, a shift end), as
        /// ID:HASH, e.g. 1234:9f3a6c1e; repeat for several.
        #[arg(long = "anchor", value_name = "ID:HASH")]
        anchors: Vec<ChainAnchor>,
        /// Also compare the chain with what headquarters holds (config.toml's [hq]): a tail
        /// cut or a rechain after upload is found there.
        #[arg(long)]
        against_hq: bool,
    },
    /// Start a new ledger in place of a damaged one, keeping the old one: it and its
    /// -wal/-shm/.head are renamed aside with a timestamp (never deleted) and stay readable
    /// with `--archive`. Refused for a ledger that is whole.
    NewLedger,
    /// Export a day's log (with its totals) as CSV or XLSX.
    Export {
        #[arg(long)]
        day: BusinessDay,
        #[arg(long, default_value = "xlsx")]
        format: ExportFormat,
        #[arg(long)]
        channel: Option<ChannelKind>,
        #[arg(long)]
        state: Option<AttemptState>,
        /// Where to write (default: redeemdesk-<day>.<format> in the current directory).
        #[arg(long)]
        out: Option<PathBuf>,
        /// The language of the file's words (zh or en); the id columns are the same in both.
        #[arg(long, default_value = "zh")]
        lang: Lang,
    },
    /// Reconcile a day of one channel against its history, or against a statement CSV.
    Reconcile {
        #[arg(long)]
        day: BusinessDay,
        #[arg(long)]
        channel: ChannelKind,
        /// The statement exported from the channel's back office (CSV in UTF-8, UTF-16 with
        /// a BOM, or GBK/GB18030; at most 20 MB and 200,000 rows).
        #[arg(long, requires = "mapping")]
        statement: Option<PathBuf>,
        /// The statement's column mapping (TOML: code = "券码", face_value = "面值", …).
        #[arg(long)]
        mapping: Option<PathBuf>,
        /// Also write the report as CSV or XLSX here.
        #[arg(long)]
        out: Option<PathBuf>,
        /// The language of the report file's words (zh or en).
        #[arg(long, default_value = "zh")]
        lang: Lang,
        /// Who runs it (kept with the report); the manager PIN comes on stdin or in
        /// $REDEEMDESK_MANAGER_PIN.
        #[arg(long, default_value = "cli")]
        manager: String,
    },
}

fn parse_platform(s: &str) -> Result<Platform, String> {
    Platform::ALL
        .into_iter()
        .find(|p| p.as_str() == s.trim().to_ascii_lowercase())
        .ok_or_else(|| format!("{s:?} is not one of meituan, tiktok, dianping, mtdz"))
}

fn parse_decision(s: &str) -> Result<Decision, String> {
    match s {
        "succeeded" => Ok(Decision::Succeeded),
        "rejected" => Ok(Decision::Rejected),
        _ => Err(format!("{s:?} is not succeeded or rejected")),
    }
}

/// A refusal as the CLI prints it.
struct Failure {
    code: String,
    message: String,
    /// The setting a refused configuration is about (`channels.shoubei.key`).
    field: Option<String>,
    exit: u8,
}

impl Failure {
    fn new(code: &str, message: impl ToString) -> Failure {
        Failure {
            code: code.to_owned(),
            message: message.to_string(),
            field: None,
            exit: 2,
        }
    }
}

macro_rules! coded {
    ($($t:ty),+) => {$(
        impl From<$t> for Failure {
            fn from(e: $t) -> Failure { Failure::new(e.code(), &e) }
        }
    )+};
}
coded!(
    redeemdesk_core::export::ExportError,
    redeemdesk_core::desk::reconcile::ReconcileError,
    redeemdesk_core::redeem::RedeemError,
    redeemdesk_core::ledger::LedgerError,
    redeemdesk_core::resolver::DecisionError,
    redeemdesk_core::outbox::OrderError,
    redeemdesk_core::data_dir::DataDirError,
    redeemdesk_core::roles::RoleError,
    redeemdesk_core::ledger::SetAsideError
);

impl From<redeemdesk_sandbox::boot::BootError> for Failure {
    fn from(e: redeemdesk_sandbox::boot::BootError) -> Failure {
        Failure {
            field: e.field(),
            ..Failure::new(e.code(), &e)
        }
    }
}

fn to_json(value: impl Serialize) -> Result<Value, Failure> {
    serde_json::to_value(value).map_err(|e| Failure::new("internal", e))
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(value) => {
            println!(
                "{}",
                serde_json::to_string_pretty(&value).unwrap_or_default()
            );
            ExitCode::SUCCESS
        }
        Err(f) => {
            let mut error = json!({"error": {"code": f.code, "message": f.message}});
            if let Some(field) = f.field {
                error["error"]["field"] = json!(field);
            }
            println!(
                "{}",
                serde_json::to_string_pretty(&error).unwrap_or_default()
            );
            ExitCode::from(f.exit)
        }
    }
}

fn source(cli: &Cli) -> ChannelSource {
    match (&cli.config, cli.sandbox, cli.sandbox_at) {
        (Some(path), _, _) => ChannelSource::Config(path.clone()),
        (None, _, Some(addr)) => ChannelSource::SandboxAt(addr),
        (None, true, None) => ChannelSource::Sandbox,
        (None, false, None) => ChannelSource::Auto,
    }
}

/// The mode a read-only command looks at, decided as `boot` would.
fn read_mode(cli: &Cli, root: &Path) -> Mode {
    match source(cli) {
        ChannelSource::Sandbox | ChannelSource::SandboxAt(_) => Mode::Sandbox,
        ChannelSource::Config(_) => Mode::Live,
        ChannelSource::Auto if root.join(CONFIG_FILE).exists() => Mode::Live,
        ChannelSource::Auto => Mode::Sandbox,
    }
}

/// The crash test's pause: with `REDEEMDESK_PAUSE_AT=<checkpoint>` the process says where it
/// stopped on stderr and waits there to be killed.
const PAUSE_ENV: &str = "REDEEMDESK_PAUSE_AT";

fn install_pause(desk: &Desk) {
    let Some(at) = std::env::var(PAUSE_ENV)
        .ok()
        .and_then(|v| Checkpoint::parse(&v))
    else {
        return;
    };
    desk.set_checkpoint_hook(move |reached| {
        if reached == at {
            eprintln!("paused at {}", at.as_str());
            loop {
                std::thread::sleep(std::time::Duration::from_secs(3600));
            }
        }
    });
}

async fn run(cli: Cli) -> Result<Value, Failure> {
    let root = match &cli.data_dir {
        Some(d) => d.clone(),
        None => data_dir::resolve()?,
    };
    let read_only =
        || -> Result<Ledger, Failure> {
            let mode = read_mode(&cli, &root);
            let path = cli
                .ledger
                .clone()
                .unwrap_or_else(|| root.join(ledger::file_name(mode)));
            if cli.archive {
                return Ok(Ledger::open_archive(&path, mode)?);
            }
            match Ledger::open_read_only(&path, mode) {
                // A directory nobody may write (read-only media) cannot hold SQLite's `-shm`.
                Err(
                    ledger::LedgerError::ReadOnly { .. } | ledger::LedgerError::CannotOpen { .. },
                ) if path.is_file() => Ok(Ledger::open_archive(&path, mode)?),
                opened => Ok(opened?),
            }
        };
    match &cli.command {
        Command::Recent { limit, cashier } => {
            to_json(read_only()?.recent_attempts(cashier.as_deref(), *limit)?)
        }
        Command::Log {
            day,
            channel,
            state,
            cashier,
        } => {
            let filter = DayFilter {
                channel: *channel,
                state: *state,
                cashier: cashier.clone(),
                code: None,
            };
            to_json(read_only()?.day_log(*day, &filter)?)
        }
        Command::Timeline { code } => to_json(read_only()?.code_timeline(code.trim())?),
        Command::Inbox => to_json(read_only()?.inbox()?),
        Command::VerifyLog {
            anchors,
            against_hq,
        } => {
            let ledger = read_only()?;
            let quick_check = ledger.quick_check();
            let chain = ledger.verify_chain()?;
            let mut problems: Vec<String> = Vec::new();
            if let Err(e) = &quick_check {
                problems.push(e.to_string());
            }
            if let Some(brk) = &chain.first_break {
                problems.push(format!("账本链断开 / the chain is broken: {brk}"));
            }
            let mut checked = Vec::new();
            for anchor in anchors {
                let check = ledger.check_anchor(anchor)?;
                if !check.holds() {
                    problems.push(check.describe(anchor));
                }
                checked.push(json!({
                    "anchor": anchor.to_string(),
                    "holds": check.holds(),
                    "check": check,
                    "message": check.describe(anchor),
                }));
            }
            let hq = if *against_hq {
                let config = match source(&cli) {
                    ChannelSource::Config(p) => p,
                    _ => root.join(CONFIG_FILE),
                };
                let cmp = against_headquarters(&ledger, &config, &root).await?;
                if !cmp.holds() {
                    problems.push(cmp.describe());
                }
                json!({ "comparison": cmp, "holds": cmp.holds(), "message": cmp.describe() })
            } else {
                Value::Null
            };
            // A ledger shorter than its sidecar remembers is not intact, however well chained.
            let head = ledger.check_head();
            if let Err(e) = &head {
                problems.push(e.to_string());
            }
            let intact = problems.is_empty();
            let report = json!({
                "ledger": ledger.path(),
                "quick_check": quick_check.as_ref().map(|_| "ok".to_owned()).unwrap_or_else(|e| e.to_string()),
                "head_sidecar": match &head {
                    Ok(Some(_)) => "ok".to_owned(),
                    Ok(None) => "none".to_owned(),
                    Err(e) => e.to_string(),
                },
                "chain": chain,
                "anchors": checked,
                "hq": hq,
                "intact": intact,
            });
            if intact {
                Ok(report)
            } else {
                Err(Failure {
                    code: "ledger_broken".into(),
                    message: format!("{}\n{report}", problems.join("\n")),
                    field: None,
                    exit: 1,
                })
            }
        }
        Command::Export {
            day,
            format,
            channel,
            state,
            out,
            lang,
        } => {
            let ledger = read_only()?;
            let filter = DayFilter {
                channel: *channel,
                state: *state,
                cashier: None,
                code: None,
            };
            let log = ledger.day_log(*day, &filter)?;
            let head = ledger.chain_anchor()?;
            let bytes = export_day_log(&ledger, &log, head.as_ref(), *format, *lang)?;
            let ext = match format {
                ExportFormat::Csv => "csv",
                ExportFormat::Xlsx => "xlsx",
            };
            let path = out
                .clone()
                .unwrap_or_else(|| PathBuf::from(format!("redeemdesk-{day}.{ext}")));
            std::fs::write(&path, &bytes)
                .map_err(|e| Failure::new("export_failed", format!("{}: {e}", path.display())))?;
            Ok(
                json!({ "file": path, "attempts": log.attempts.len(), "totals": log.totals, "bytes": bytes.len(), "chain_head": head.map(|h| h.to_string()) }),
            )
        }
        Command::NewLedger => {
            refuse_other_ledger(&cli)?;
            // The data directory's lock: the app is not running on this ledger.
            let _dir = DataDir::open(&root)?;
            let mode = read_mode(&cli, &root);
            let path = root.join(ledger::file_name(mode));
            let (fresh, aside) = Ledger::start_new_keeping_old(&path, mode, SystemClock.now_ms())?;
            fresh.close()?;
            to_json(json!({
                "mode": mode,
                "archive": aside.archive,
                "moved": aside.moved,
                "damage": aside.damage,
                "ledger": aside.ledger,
                "read_it_with": format!("redeemdesk-cli --archive --ledger {} log|timeline|verify-log", aside.archive.display()),
            }))
        }
        _ => write_command(&cli, &root).await,
    }
}

/// `--ledger` names a file to read; writing goes only to the data directory's own ledger.
fn refuse_other_ledger(cli: &Cli) -> Result<(), Failure> {
    match &cli.ledger {
        Some(_) => Err(Failure::new(
            "ledger_option_read_only",
            "--ledger is for reading commands (log, timeline, verify-log…) only",
        )),
        None => Ok(()),
    }
}

/// Commands that may write: they hold the data directory's lock while they run.
async fn write_command(cli: &Cli, root: &Path) -> Result<Value, Failure> {
    refuse_other_ledger(cli)?;
    let dir = DataDir::open(root)?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    // The CLI's redemptions are short-lived: chain mode's uploader runs in the app.
    let BootedDesk {
        desk,
        sandbox,
        mode,
        hq: _,
    } = boot(dir.root(), source(cli), clock.clone()).await?;
    install_pause(&desk);
    let result = match &cli.command {
        Command::Prepare { code } => to_json(desk.prepare(prepare_input(code)).await?),
        Command::Redeem {
            code,
            count,
            certificates,
            shift,
        } => {
            open_shift(&desk, shift)?;
            let prepared = desk.prepare(prepare_input(code)).await?;
            let Prepared::Ready { token, .. } = &prepared else {
                return to_json(json!({ "mode": mode, "prepared": prepared }));
            };
            let redemption = desk
                .redeem(RedeemInput {
                    token: token.clone(),
                    count: *count,
                    certificates: certificates
                        .iter()
                        .map(|c| parse_certificate(c))
                        .collect::<Result<_, _>>()?,
                })
                .await?;
            to_json(json!({ "mode": mode, "prepared": prepared, "redemption": redemption }))
        }
        Command::Query {
            code,
            id,
            count,
            remaining_before,
        } => {
            let channel = desk.channel(code.channel).ok_or_else(|| {
                Failure::new(
                    "channel_not_configured",
                    format!("{} is not configured", code.channel),
                )
            })?;
            let req = RedeemRequest {
                id: RedemptionId::parse(id).map_err(|e| Failure::new("bad_id", e))?,
                code: CouponCode::new(code.code.trim())
                    .map_err(|e| Failure::new("code_invalid", e))?,
                count: *count,
                platform: code.platform,
                certificates: Vec::new(),
                order_amount: None,
                paid_amount: None,
                remaining_before: *remaining_before,
                cashier: None,
                remark: None,
                attempted_at_ms: clock.now_ms(),
            };
            let answer = channel
                .resolve(&req)
                .await
                .map_err(|e| Failure::new("channel_error", e))?;
            to_json(answer.value)
        }
        Command::Resolve => {
            let resolved = desk.resolve_due().await?;
            let delivered = desk.deliver_due().await?;
            to_json(json!({ "resolver": resolved, "outbox": delivered }))
        }
        Command::Decide {
            id,
            decision,
            manager,
            reason,
        } => {
            let id = AttemptId::parse(id).map_err(|e| Failure::new("bad_id", e))?;
            let unlock = unlock_manager(&desk, manager)?;
            to_json(desk.decide(&id, decision.clone(), &unlock, reason)?)
        }
        Command::Order {
            product,
            name,
            phone,
            quantity,
            shift,
        } => {
            open_shift(&desk, shift)?;
            let queued = desk.submit_order(OrderInput {
                product_no: product.clone(),
                consumer_name: name.clone(),
                consumer_phone: phone.clone(),
                quantity: *quantity,
            })?;
            let delivery = desk.deliver_due().await?;
            let now = desk.ledger().notification(&queued.id)?;
            to_json(json!({ "queued": queued, "delivery": delivery, "notification": now }))
        }
        Command::Reconcile {
            day,
            channel,
            statement,
            mapping,
            out,
            manager,
            lang,
        } => {
            let read = |p: &PathBuf| {
                std::fs::read(p)
                    .map_err(|e| Failure::new("file_unreadable", format!("{}: {e}", p.display())))
            };
            let statement = match (statement, mapping) {
                (Some(file), Some(mapping)) => {
                    let text = String::from_utf8(read(mapping)?)
                        .map_err(|_| Failure::new("mapping_invalid", "the mapping is not UTF-8"))?;
                    let mapping: StatementMapping =
                        toml::from_str(&text).map_err(|e| Failure::new("mapping_invalid", e))?;
                    // Read streaming: the file is never held whole in memory.
                    let source = std::fs::File::open(file).map_err(|e| {
                        Failure::new("file_unreadable", format!("{}: {e}", file.display()))
                    })?;
                    Some(Statement {
                        file: file.display().to_string(),
                        source: Box::new(source),
                        mapping,
                    })
                }
                _ => None,
            };
            let unlock = unlock_manager(&desk, manager)?;
            let done = desk
                .reconcile_day(*day, *channel, statement, &unlock)
                .await?;
            if let Some(path) = out {
                let format = if path.extension().is_some_and(|e| e == "csv") {
                    ExportFormat::Csv
                } else {
                    ExportFormat::Xlsx
                };
                let head = desk.ledger().chain_anchor()?;
                let bytes = export_report(&done.report, head.as_ref(), format, *lang)?;
                std::fs::write(path, bytes).map_err(|e| {
                    Failure::new("export_failed", format!("{}: {e}", path.display()))
                })?;
            }
            to_json(done)
        }
        Command::Recent { .. }
        | Command::Log { .. }
        | Command::Timeline { .. }
        | Command::Inbox
        | Command::VerifyLog { .. }
        | Command::NewLedger
        | Command::Export { .. } => {
            unreachable!("read-only commands are answered without the lock")
        }
    };
    // Everything into the main file before the lock goes: a copy of the .sqlite alone is whole.
    if let Err(e) = desk.ledger().close() {
        eprintln!("the ledger did not close cleanly: {e}");
    }
    drop(sandbox);
    result
}

/// What HQ holds of this ledger's chain, against the ledger (`verify-log --against-hq`).
async fn against_headquarters(
    ledger: &Ledger,
    config: &Path,
    root: &Path,
) -> Result<redeemdesk_core::hq_sync::HqComparison, Failure> {
    let config = redeemdesk_core::config::Config::load(config, root)
        .map_err(|e| Failure::new(e.code(), &e))?;
    let hq = config
        .hq
        .ok_or_else(|| Failure::new("hq_not_configured", "config.toml has no [hq] section"))?;
    let target = redeemdesk_hq::HqTarget::new(
        &hq.url,
        hq.password.as_ref().map(|p| p.expose()),
        hq.ca_file.as_deref(),
    )
    .map_err(|e| Failure::new("config_invalid", e))?;
    let held = redeemdesk_hq::anchor::held(&target, &hq.store_id, &ledger.desk_id()?)
        .await
        .map_err(|e| Failure::new("hq_unreachable", e))?;
    Ok(redeemdesk_core::hq_sync::compare_with_hq(ledger, &held)?)
}

fn prepare_input(code: &CodeArgs) -> PrepareInput {
    PrepareInput {
        channel: code.channel,
        platform: code.platform,
        raw_code: code.code.clone(),
    }
}

fn parse_certificate(text: &str) -> Result<CertificateChoice, Failure> {
    let (id, num) = match text.split_once(':') {
        Some((id, n)) => (
            id,
            n.parse()
                .map_err(|_| Failure::new("certificates", format!("bad count in {text:?}")))?,
        ),
        None => (text, 1),
    };
    Ok(CertificateChoice {
        id: id.to_owned(),
        num,
    })
}
