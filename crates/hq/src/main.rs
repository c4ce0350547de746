//! `redeemdesk-hq`: headquarters' command line. Connects as the database's owner (the URL
//! in `--db` or `REDEEMDESK_HQ_DB`, the password in `PGPASSWORD` or a CA-verified TLS
//! setup), never as a till.

use clap::{Parser, Subcommand, ValueEnum};
use redeemdesk_core::export::ExportFormat;
use redeemdesk_hq::{migrations, reports, roles, HqTarget};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "redeemdesk-hq", about = "RedeemDesk headquarters (chain mode)")]
struct Cli {
    /// postgres://owner@host/db?sslmode=verify-full (or libpq keywords)
    #[arg(long, env = "REDEEMDESK_HQ_DB")]
    db: String,
    /// CA certificate(s), PEM, for sslmode verify-ca / verify-full
    #[arg(long, env = "REDEEMDESK_HQ_CA_FILE")]
    ca_file: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Text,
    Csv,
    Xlsx,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Applies the migrations the database lacks.
    Migrate,
    /// Creates a store and its tills' role (password from REDEEMDESK_HQ_TILL_PASSWORD).
    AddStore {
        #[arg(long)]
        store: String,
    },
    /// One store's business day across its tills.
    Day {
        #[arg(long)]
        store: String,
        #[arg(long)]
        day: String,
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
        /// Write the CSV/XLSX here instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Every store's totals for a business day.
    Chain {
        #[arg(long)]
        day: String,
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Per till: last seen, backlog, app version, clock skew, forks.
    Health {
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

fn emit(bytes: Vec<u8>, out: Option<PathBuf>) -> Result<(), String> {
    match out {
        Some(p) => std::fs::write(&p, bytes).map_err(|e| format!("{}: {e}", p.display())),
        None => {
            use std::io::Write;
            std::io::stdout()
                .write_all(&bytes)
                .map_err(|e| e.to_string())
        }
    }
}

fn file(
    format: Format,
    out: Option<PathBuf>,
    text: impl FnOnce() -> String,
    json: impl FnOnce() -> String,
    export: impl FnOnce(ExportFormat) -> Result<Vec<u8>, redeemdesk_core::export::ExportError>,
) -> Result<(), String> {
    let bytes = match format {
        Format::Text => text().into_bytes(),
        Format::Json => json().into_bytes(),
        Format::Csv => export(ExportFormat::Csv).map_err(|e| e.to_string())?,
        Format::Xlsx => export(ExportFormat::Xlsx).map_err(|e| e.to_string())?,
    };
    emit(bytes, out)
}

fn totals_text(t: &[reports::Totals]) -> String {
    t.iter()
        .map(|t| {
            format!(
                "{:<20} attempts {:>6}  succeeded {:>6}  units {:>6}  face {:>12}  settled {:>12}\n",
                t.key,
                t.attempts,
                t.succeeded,
                t.units,
                redeemdesk_core::money::Fen(t.face_value_fen).to_yuan_string(),
                redeemdesk_core::money::Fen(t.settled_fen).to_yuan_string()
            )
        })
        .collect()
}

async fn run(cli: Cli) -> Result<(), String> {
    let password = std::env::var("PGPASSWORD").ok();
    let target = HqTarget::new(&cli.db, password.as_deref(), cli.ca_file.as_deref())
        .map_err(|e| e.to_string())?;
    let mut client = target.connect().await.map_err(|e| e.to_string())?;
    let db = |e: tokio_postgres::Error| redeemdesk_hq::client::db_text(&e);
    match cli.command {
        Command::Migrate => {
            let done = migrations::migrate(&mut client)
                .await
                .map_err(|e| e.to_string())?;
            if done.is_empty() {
                println!("up to date ({} migrations)", migrations::latest_version());
            } else {
                println!("applied: {}", done.join(", "));
            }
        }
        Command::AddStore { store } => {
            let password = std::env::var("REDEEMDESK_HQ_TILL_PASSWORD")
                .map_err(|_| "set REDEEMDESK_HQ_TILL_PASSWORD to the tills' password")?;
            let role = roles::add_store(&mut client, &store, &password)
                .await
                .map_err(|e| e.to_string())?;
            println!("store {store}: tills log in as {role}");
        }
        Command::Day {
            store,
            day,
            format,
            out,
        } => {
            let d = reports::store_day(&client, &store, &day)
                .await
                .map_err(db)?;
            file(
                format,
                out,
                || {
                    format!(
                        "{} {}: {} attempts\nper channel:\n{}per till:\n{}",
                        d.store_id,
                        d.day,
                        d.attempts.len(),
                        totals_text(&d.per_channel),
                        totals_text(&d.per_till)
                    )
                },
                || serde_json::to_string_pretty(&d).expect("serialisable"),
                |f| reports::store_day_file(&d, f),
            )?;
        }
        Command::Chain { day, format, out } => {
            let t = reports::chain_day(&client, &day).await.map_err(db)?;
            file(
                format,
                out,
                || totals_text(&t),
                || serde_json::to_string_pretty(&t).expect("serialisable"),
                |f| reports::chain_day_file(&day, &t, f),
            )?;
        }
        Command::Health { format, out } => {
            let h = reports::health(&client).await.map_err(db)?;
            file(
                format,
                out,
                || {
                    h.iter()
                        .map(|t| {
                            let channel = match (&t.channel, t.channel_skew_ms) {
                                (Some(c), Some(ms)) => format!(
                                    " skew vs {c} {ms} ms{}",
                                    if t.channel_skew_flagged {
                                        " (与渠道时钟偏差过大 clock off the channel's)"
                                    } else {
                                        ""
                                    }
                                ),
                                _ => String::new(),
                            };
                            format!(
                                "{} {} ({}) last seen {} ({} s ago) backlog {} v{} skew {} ms{}{} forks {}\n",
                                t.store_id,
                                t.till,
                                t.desk_id,
                                t.last_seen,
                                t.seconds_since_seen,
                                t.backlog,
                                t.app_version,
                                t.skew_ms,
                                if t.skew_flagged { " (时钟偏差过大 clock off)" } else { "" },
                                channel,
                                t.forks
                            )
                        })
                        .collect()
                },
                || serde_json::to_string_pretty(&h).expect("serialisable"),
                |f| reports::health_file(&h, f),
            )?;
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    match rt.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("redeemdesk-hq: {e}");
            ExitCode::FAILURE
        }
    }
}
