//! `redeemdesk-sandbox`: runs the channel emulators standalone on 127.0.0.1 and prints the
//! address. `--port N` picks the port (default: any free one); `--codes` prints the demo
//! codes as a Markdown table and exits; `--fault-delay-ms N` sets the `Delay` fault;
//! `--state-file PATH` keeps the state across restarts; `--keys DIR` keeps its allinpay key
//! pairs there (made on the first start; give a front end's `<data dir>/sandbox-keys` so its
//! `--sandbox-at` client signs with the same pairs), otherwise they live in memory only;
//! `--reading channel.key=value` (repeatable) sets one switch of the readings
//! (`allinpay.shape=envelope`; see the README's readings table); `--printer DIR` also runs
//! the virtual printer on a free loopback port, keeping its slips in DIR,
//! `--printer-columns 32|48` its paper (default 32, 58 mm), `--printer-port N` its port.

use redeemdesk_core::channel::ChannelKind;
use redeemdesk_sandbox::demo_keys::AllinpayKeys;
use redeemdesk_sandbox::printer::{PrinterOptions, VirtualPrinter};
use redeemdesk_sandbox::{DemoData, Sandbox, SandboxOptions};
use std::time::Duration;

const USAGE: &str =
    "usage: redeemdesk-sandbox [--port N] [--fault-delay-ms N] [--state-file PATH] [--keys DIR] [--reading channel.key=value]... [--printer DIR [--printer-columns 32|48] [--printer-port N]] [--codes]";

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let mut options = SandboxOptions::default();
    let mut printer: Option<PrinterOptions> = None;
    let mut printer_columns = 32;
    let mut printer_port = 0;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut number = |name: &str| -> Option<u64> {
            let parsed = args.next().and_then(|v| v.parse().ok());
            if parsed.is_none() {
                eprintln!("{name} needs a number\n{USAGE}");
            }
            parsed
        };
        match arg.as_str() {
            "--port" => match number("--port").and_then(|p| u16::try_from(p).ok()) {
                Some(port) => options.port = port,
                None => return std::process::ExitCode::from(2),
            },
            "--fault-delay-ms" => match number("--fault-delay-ms") {
                Some(ms) => options.fault_delay = Duration::from_millis(ms),
                None => return std::process::ExitCode::from(2),
            },
            "--state-file" => match args.next() {
                Some(path) => options.state_file = Some(path.into()),
                None => {
                    eprintln!("--state-file needs a path\n{USAGE}");
                    return std::process::ExitCode::from(2);
                }
            },
            "--keys" => match args.next() {
                Some(dir) => {
                    let demo = AllinpayKeys::in_dir(std::path::Path::new(&dir))
                        .map_err(|e| e.to_string())
                        .and_then(|keys| DemoData::embedded_with(keys).map_err(|e| e.to_string()));
                    match demo {
                        Ok(demo) => options.demo = Some(demo),
                        Err(e) => {
                            eprintln!("{e}");
                            return std::process::ExitCode::FAILURE;
                        }
                    }
                }
                None => {
                    eprintln!("--keys needs a directory\n{USAGE}");
                    return std::process::ExitCode::from(2);
                }
            },
            "--reading" => match args.next().map(|a| options.readings.set(&a)) {
                Some(Ok(())) => {}
                Some(Err(e)) => {
                    eprintln!("--reading: {e}\n{USAGE}");
                    return std::process::ExitCode::from(2);
                }
                None => {
                    eprintln!("--reading needs channel.key=value\n{USAGE}");
                    return std::process::ExitCode::from(2);
                }
            },
            "--printer" => match args.next() {
                Some(dir) => {
                    printer = Some(PrinterOptions {
                        dir: dir.into(),
                        columns: 32,
                        port: 0,
                    })
                }
                None => {
                    eprintln!("--printer needs a directory\n{USAGE}");
                    return std::process::ExitCode::from(2);
                }
            },
            "--printer-columns" => match number("--printer-columns") {
                Some(n @ (32 | 48)) => printer_columns = n as usize,
                _ => {
                    eprintln!("--printer-columns is 32 (58 mm) or 48 (80 mm)\n{USAGE}");
                    return std::process::ExitCode::from(2);
                }
            },
            "--printer-port" => {
                match number("--printer-port").and_then(|p| u16::try_from(p).ok()) {
                    Some(port) => printer_port = port,
                    None => return std::process::ExitCode::from(2),
                }
            }
            "--codes" => {
                return match DemoData::embedded() {
                    Ok(demo) => {
                        print!("{}", demo.codes_markdown());
                        std::process::ExitCode::SUCCESS
                    }
                    Err(e) => {
                        eprintln!("{e}");
                        std::process::ExitCode::FAILURE
                    }
                };
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                return std::process::ExitCode::SUCCESS;
            }
            other => {
                eprintln!("unknown argument {other:?}\n{USAGE}");
                return std::process::ExitCode::from(2);
            }
        }
    }
    let sandbox = match Sandbox::start(options).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let printer = match printer {
        Some(mut p) => {
            p.columns = printer_columns;
            p.port = printer_port;
            match VirtualPrinter::start(p).await {
                Ok(p) => Some(p),
                Err(e) => {
                    eprintln!("the virtual printer could not start: {e}");
                    return std::process::ExitCode::FAILURE;
                }
            }
        }
        None => None,
    };
    println!("RedeemDesk sandbox listening on http://{}", sandbox.addr());
    for channel in ChannelKind::ALL {
        println!("  {:<10} {}", channel.as_str(), sandbox.base_url(channel));
    }
    println!("  control    http://{}/_control/faults", sandbox.addr());
    println!("  readings   http://{}/_control/readings", sandbox.addr());
    if let Some(p) = &printer {
        println!("  printer    {} (slips in {})", p.addr(), p.dir().display());
    }
    let _ = tokio::signal::ctrl_c().await;
    sandbox.shutdown().await;
    std::process::ExitCode::SUCCESS
}
