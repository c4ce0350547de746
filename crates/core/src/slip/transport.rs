//! Where slip bytes go: a network printer (`host:port`, raw TCP as on port 9100), a device
//! file (USB `/dev/usb/lp0`, a serial port), or on Windows the spooler in RAW mode.
//!
//! Blocking I/O with timeouts on every step: the print worker runs it on a blocking
//! thread, never on the redemption's path. A failure says how far it got (`sent`), so a
//! failure after bytes left is never taken for one where nothing did.

use super::grid::Paper;
use serde::{Deserialize, Serialize};
use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

/// 打印机 in 设置.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrinterSettings {
    /// `None`: no printer, nothing is printed.
    pub target: Option<PrinterTarget>,
    pub paper: Paper,
    /// Print a 核销凭证 by itself after every success.
    pub auto_print: bool,
    /// The store and till names on every slip's header.
    pub store: String,
    pub till: String,
}

impl Default for PrinterSettings {
    fn default() -> Self {
        PrinterSettings {
            target: None,
            paper: Paper::Mm58,
            auto_print: true,
            store: "门店".into(),
            till: "1 号收银台".into(),
        }
    }
}

/// The printer a slip goes to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PrinterTarget {
    /// `host:port` of a network printer (port 9100 on most).
    Network { address: String },
    /// A device file: `/dev/usb/lp0`, `/dev/ttyUSB0`, `COM3`, `\\.\USB001`.
    Device { path: String },
    /// A Windows printer's name, printed through the spooler in RAW mode.
    Spooler { name: String },
}

impl std::fmt::Display for PrinterTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PrinterTarget::Network { address } => write!(f, "tcp://{address}"),
            PrinterTarget::Device { path } => write!(f, "{path}"),
            PrinterTarget::Spooler { name } => write!(f, "spooler:{name}"),
        }
    }
}

/// How long each step may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    pub connect: Duration,
    pub write: Duration,
    /// How long to wait for the printer's answer to a status query, and for its side of
    /// the close after the job: a printer that answers neither is not waited for longer.
    pub answer: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(3),
            write: Duration::from_secs(5),
            answer: Duration::from_millis(300),
        }
    }
}

/// Why a slip did not print.
#[derive(Debug, thiserror::Error)]
pub enum PrintFailure {
    #[error("打印机拒绝连接 / the printer refused the connection ({target}): {source}")]
    Refused {
        target: String,
        source: std::io::Error,
    },
    #[error("打印机无响应 / the printer did not answer in time ({target})")]
    Timeout { target: String, sent: usize },
    #[error("打印机缺纸 / the printer is out of paper ({target})")]
    PaperOut { target: String },
    #[error(
        "打印中断 / the printer dropped the job after {sent} of {total} bytes ({target}): {source}"
    )]
    Dropped {
        target: String,
        sent: usize,
        total: usize,
        source: std::io::Error,
    },
    #[error("打印机无法打开 / the printer cannot be opened ({target}): {source}")]
    Open {
        target: String,
        source: std::io::Error,
    },
    #[error("此系统不支持 / not supported on this system: {0}")]
    Unsupported(String),
}

impl PrintFailure {
    /// Whether bytes may have reached the printer.
    pub fn may_have_printed(&self) -> bool {
        match self {
            PrintFailure::Timeout { sent, .. } | PrintFailure::Dropped { sent, .. } => *sent > 0,
            _ => false,
        }
    }
}

/// `DLE EOT 4`: the paper roll sensor's status; bits 5 and 6 set mean paper end.
const PAPER_STATUS: [u8; 3] = [0x10, 0x04, 0x04];

/// Sends one slip's bytes, whole, once.
pub fn send(target: &PrinterTarget, bytes: &[u8], t: Timeouts) -> Result<(), PrintFailure> {
    match target {
        PrinterTarget::Network { address } => send_tcp(address, bytes, t),
        PrinterTarget::Device { path } => send_device(path, bytes),
        PrinterTarget::Spooler { name } => send_spooler(name, bytes),
    }
}

fn send_tcp(address: &str, bytes: &[u8], t: Timeouts) -> Result<(), PrintFailure> {
    let target = address.to_owned();
    let addr = address
        .to_socket_addrs()
        .map_err(|source| PrintFailure::Refused {
            target: target.clone(),
            source,
        })?
        .next()
        .ok_or_else(|| PrintFailure::Refused {
            target: target.clone(),
            source: std::io::Error::other("the address names no host"),
        })?;
    let mut stream = TcpStream::connect_timeout(&addr, t.connect).map_err(|source| match source
        .kind()
    {
        std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => PrintFailure::Timeout {
            target: target.clone(),
            sent: 0,
        },
        _ => PrintFailure::Refused {
            target: target.clone(),
            source,
        },
    })?;
    let _ = stream.set_nodelay(true);
    let _ = stream.set_write_timeout(Some(t.write));
    let _ = stream.set_read_timeout(Some(t.answer));
    // Ask for the paper first; a printer that does not answer is not held against it.
    let dropped = |sent: usize, source: std::io::Error| match source.kind() {
        std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => PrintFailure::Timeout {
            target: target.clone(),
            sent,
        },
        _ => PrintFailure::Dropped {
            target: target.clone(),
            sent,
            total: bytes.len(),
            source,
        },
    };
    stream.write_all(&PAPER_STATUS).map_err(|e| dropped(0, e))?;
    let mut status = [0u8; 1];
    if let Ok(1) = stream.read(&mut status) {
        if status[0] & 0x60 == 0x60 {
            return Err(PrintFailure::PaperOut { target });
        }
    }
    let mut sent = 0;
    for chunk in bytes.chunks(4096) {
        stream.write_all(chunk).map_err(|e| dropped(sent, e))?;
        sent += chunk.len();
    }
    stream.flush().map_err(|e| dropped(sent, e))?;
    // Our side is done; a printer that closed before reading it all resets the connection,
    // which shows here, where a plain write into the socket buffer would not.
    let _ = stream.shutdown(std::net::Shutdown::Write);
    let mut rest = [0u8; 64];
    loop {
        match stream.read(&mut rest) {
            Ok(0) => return Ok(()),
            Ok(_) => continue,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
                ) =>
            {
                return Ok(())
            }
            Err(e) => return Err(dropped(sent, e)),
        }
    }
}

fn send_device(path: &str, bytes: &[u8]) -> Result<(), PrintFailure> {
    let target = path.to_owned();
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|source| PrintFailure::Open {
            target: target.clone(),
            source,
        })?;
    let mut sent = 0;
    for chunk in bytes.chunks(4096) {
        file.write_all(chunk)
            .map_err(|source| PrintFailure::Dropped {
                target: target.clone(),
                sent,
                total: bytes.len(),
                source,
            })?;
        sent += chunk.len();
    }
    file.flush().map_err(|source| PrintFailure::Dropped {
        target,
        sent,
        total: bytes.len(),
        source,
    })
}

#[cfg(windows)]
fn send_spooler(name: &str, _bytes: &[u8]) -> Result<(), PrintFailure> {
    // TODO(issue 22): OpenPrinterW / StartDocPrinterW with pDatatype "RAW" / WritePrinter
    // through the `windows` crate. Until then a Windows till prints through a network
    // printer or the printer's device name (`\\.\USB001`, `COM3`) as a Device target.
    Err(PrintFailure::Unsupported(format!(
        "Windows 打印队列 RAW 打印尚未实现，请改用网络地址或设备名 / the Windows spooler is not done yet; use the network address or the device name ({name})"
    )))
}

#[cfg(not(windows))]
fn send_spooler(name: &str, _bytes: &[u8]) -> Result<(), PrintFailure> {
    Err(PrintFailure::Unsupported(format!(
        "Windows 打印队列只在 Windows 上可用 / the Windows spooler exists only on Windows ({name})"
    )))
}
