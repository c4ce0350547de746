//! The virtual printer: a loopback TCP listener that takes what a 9100-port
//! thermal printer takes, parses the subset of ESC/POS the desk emits (`ESC @`, `ESC a`,
//! `ESC E`, `ESC d`, `GS !`, `GS ( k`, `GS V`, `FS &`, `FS .`, `LF`, and answers the
//! `DLE EOT` status query), decodes the text as
//! GB18030 and keeps every slip it received: its bytes, a text grid and a PNG, in a
//! directory with an `index.json` listing them (newest last), and in memory for tests.
//!
//! It is written from the ESC/POS command reference, not from the desk's encoder, so a
//! slip that reads right here reads right on paper: columns are counted as a printer in
//! Hanzi mode counts them (an ASCII byte one, a GB character two, double size twice), an
//! unknown command or a line past the paper's edge is recorded as a problem of the slip.

use ab_glyph::{Font, FontVec, PxScale, ScaleFont};
use serde::Serialize;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

/// Dots of one column of the standard 12×24 font; 32 columns are the 384 dots of 58 mm.
const CELL_W: u32 = 12;
const LINE_H: u32 = 30;
const GLYPH_PX: f32 = 24.0;
const MARGIN: u32 = 8;
const QR_DOT: u32 = 4;
/// A connection that sends nothing for this long is closed (a printer frees its port).
const IDLE: Duration = Duration::from_secs(10);

/// Where the fonts the e2e suite installs live, and their usual Windows counterparts.
/// `REDEEMDESK_SLIP_FONT` names another.
const FONT_PATHS: &[&str] = &[
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "C:\\Windows\\Fonts\\msyh.ttc",
    "C:\\Windows\\Fonts\\simsun.ttc",
];

/// One printed line, as the printer's modes were when its LF came.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PrintedLine {
    pub text: String,
    /// 0 left, 1 centre, 2 right (`ESC a`).
    pub align: u8,
    pub bold: bool,
    pub double: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Printed {
    Line(PrintedLine),
    Qr { data: String },
    Feed { lines: u8 },
}

/// One slip: what came between an initialise and a cut (or the connection's end).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PrintedSlip {
    pub items: Vec<Printed>,
    /// Whether the slip ended with `GS V`; a slip cut short by a dropped connection is kept
    /// too, with `false`.
    pub cut: bool,
    /// Commands not in the subset, text outside Hanzi mode, lines past the edge.
    pub problems: Vec<String>,
    #[serde(skip)]
    pub bytes: Vec<u8>,
}

impl PrintedSlip {
    pub fn lines(&self) -> impl Iterator<Item = &PrintedLine> {
        self.items.iter().filter_map(|i| match i {
            Printed::Line(l) => Some(l),
            _ => None,
        })
    }

    /// All the text, one line each, unpadded.
    pub fn text(&self) -> String {
        self.lines()
            .map(|l| l.text.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The slip on a grid of `columns`: each line placed as the printer places it, a
    /// double-size character followed by the columns it covers. QR codes show as
    /// `[QR …]`.
    pub fn grid(&self, columns: usize) -> Vec<String> {
        self.items
            .iter()
            .filter_map(|i| match i {
                Printed::Line(l) => Some(place(l, columns)),
                Printed::Qr { data } => Some(format!("[QR {data}]")),
                Printed::Feed { .. } => None,
            })
            .collect()
    }

    /// The slip drawn as the paper would look, `columns` wide, as a PNG.
    pub fn png(&self, columns: usize) -> Vec<u8> {
        draw(self, columns)
    }
}

/// Columns of a decoded character on the printer: one byte one column, more bytes two.
pub fn char_columns(c: char) -> usize {
    if c.is_ascii() {
        1
    } else {
        2
    }
}

pub fn columns(text: &str) -> usize {
    text.chars().map(char_columns).sum()
}

fn place(l: &PrintedLine, width: usize) -> String {
    let scale = if l.double { 2 } else { 1 };
    let used = columns(&l.text) * scale;
    let free = width.saturating_sub(used) / scale;
    let pad = match l.align {
        1 => free / 2,
        2 => free,
        _ => 0,
    };
    let text: String = if l.double {
        l.text
            .chars()
            .flat_map(|c| std::iter::once(c).chain(std::iter::repeat_n(' ', char_columns(c))))
            .collect()
    } else {
        l.text.clone()
    };
    format!("{}{}", " ".repeat(pad * scale), text.trim_end())
}

/// A streaming ESC/POS reader: bytes in as they arrive, finished slips out.
#[derive(Debug, Default)]
pub struct Parser {
    buf: Vec<u8>,
    text: Vec<u8>,
    slip: PrintedSlip,
    align: u8,
    bold: bool,
    double: bool,
    hanzi: bool,
    /// Bytes of a `GS ( k` store function (fn 80) waiting for its print (fn 81).
    qr_data: Vec<u8>,
    columns: usize,
    /// Answers to status queries (`DLE EOT`), for the connection to send back.
    pub replies: Vec<u8>,
    /// Whether the paper sensor reports the roll's end.
    pub paper_out: bool,
}

enum Step {
    /// Not enough bytes yet.
    More,
    Took(usize),
}

impl Parser {
    pub fn new(columns: usize) -> Parser {
        Parser {
            columns,
            ..Parser::default()
        }
    }

    /// Takes bytes; returns the slips whose cut came in them.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<PrintedSlip> {
        self.buf.extend_from_slice(bytes);
        let mut done = Vec::new();
        let mut at = 0;
        while at < self.buf.len() {
            match self.step(at, &mut done) {
                Step::More => break,
                Step::Took(n) => at += n,
            }
        }
        self.buf.drain(..at);
        done
    }

    /// The connection ended: what was received after the last cut, if anything printed.
    pub fn finish(mut self) -> Option<PrintedSlip> {
        self.flush_text();
        if !self.buf.is_empty() {
            let left = format!("{} bytes of an unfinished command", self.buf.len());
            self.slip.bytes.extend_from_slice(&self.buf);
            self.slip.problems.push(left);
        }
        if self.slip.items.is_empty() {
            return None;
        }
        self.slip
            .problems
            .push("the connection ended before the cut".into());
        Some(self.slip)
    }

    fn step(&mut self, at: usize, done: &mut Vec<PrintedSlip>) -> Step {
        // A copy: the modes change while the command's bytes are read. A command the desk
        // sends is at most a QR store of 1,032 bytes.
        let b = self.buf[at..self.buf.len().min(at + 2048)].to_vec();
        let b = b.as_slice();
        let need = |n: usize| b.len() < n;
        let took = match b[0] {
            0x1B => {
                if need(2) {
                    return Step::More;
                }
                match b[1] {
                    b'@' => {
                        self.align = 0;
                        self.bold = false;
                        self.double = false;
                        self.hanzi = false;
                        2
                    }
                    b'a' | b'E' | b'd' => {
                        if need(3) {
                            return Step::More;
                        }
                        self.flush_text();
                        match b[1] {
                            b'a' => self.align = b[2] % 48 % 3,
                            b'E' => self.bold = b[2] & 1 == 1,
                            _ => self.slip.items.push(Printed::Feed { lines: b[2] }),
                        }
                        3
                    }
                    other => self.unknown(format!("ESC 0x{other:02X}"), 2),
                }
            }
            0x1D => {
                if need(2) {
                    return Step::More;
                }
                match b[1] {
                    b'!' => {
                        if need(3) {
                            return Step::More;
                        }
                        self.double = b[2] == 0x11;
                        if b[2] != 0x11 && b[2] != 0 {
                            self.slip
                                .problems
                                .push(format!("GS ! 0x{:02X}: a size the desk never sets", b[2]));
                        }
                        3
                    }
                    b'(' => {
                        if need(5) {
                            return Step::More;
                        }
                        if b[2] != b'k' {
                            return Step::Took(self.unknown(format!("GS ( 0x{:02X}", b[2]), 3));
                        }
                        let len = usize::from(b[3]) | (usize::from(b[4]) << 8);
                        if len > 2040 {
                            return Step::Took(
                                self.unknown("GS ( k longer than a QR store".into(), 5),
                            );
                        }
                        if need(5 + len) {
                            return Step::More;
                        }
                        self.qr(&b[5..5 + len]);
                        5 + len
                    }
                    b'V' => {
                        if need(3) {
                            return Step::More;
                        }
                        // GS V 65/66 carry a feed byte; GS V 0/1/48/49 do not.
                        let n = if matches!(b[2], 65 | 66) { 4 } else { 3 };
                        if need(n) {
                            return Step::More;
                        }
                        self.flush_text();
                        self.slip.bytes.extend_from_slice(&b[..n]);
                        let mut slip = std::mem::take(&mut self.slip);
                        slip.cut = true;
                        done.push(slip);
                        return Step::Took(n);
                    }
                    other => self.unknown(format!("GS 0x{other:02X}"), 2),
                }
            }
            0x1C => {
                if need(2) {
                    return Step::More;
                }
                match b[1] {
                    b'&' => self.hanzi = true,
                    b'.' => self.hanzi = false,
                    other => {
                        return Step::Took(self.unknown(format!("FS 0x{other:02X}"), 2));
                    }
                }
                2
            }
            0x0A => {
                self.flush_line();
                1
            }
            0x10 => {
                if need(3) {
                    return Step::More;
                }
                if b[1] != 0x04 {
                    return Step::Took(self.unknown(format!("DLE 0x{:02X}", b[1]), 2));
                }
                // DLE EOT n: bits 1 and 4 are always set; 4 = paper sensor, 0x60 = end.
                let paper = if b[2] == 4 && self.paper_out { 0x60 } else { 0 };
                self.replies.push(0x12 | paper);
                // A status query is not part of any slip's bytes.
                return Step::Took(3);
            }
            c if c < 0x20 => self.unknown(format!("control byte 0x{c:02X}"), 1),
            _ => {
                let n = b.iter().take_while(|&&c| c >= 0x20).count();
                self.text.extend_from_slice(&b[..n]);
                n
            }
        };
        self.slip.bytes.extend_from_slice(&self.buf[at..at + took]);
        Step::Took(took)
    }

    fn unknown(&mut self, what: String, len: usize) -> usize {
        self.slip
            .problems
            .push(format!("{what}: not in the desk's ESC/POS subset"));
        len
    }

    fn qr(&mut self, body: &[u8]) {
        match body {
            [49, 80, 48, data @ ..] => self.qr_data = data.to_vec(),
            [49, 81, 48] => {
                self.flush_text();
                let data = String::from_utf8_lossy(&std::mem::take(&mut self.qr_data)).into_owned();
                self.slip.items.push(Printed::Qr { data });
            }
            [49, 65 | 67 | 69, ..] => {}
            _ => {
                self.slip
                    .problems
                    .push(format!("GS ( k {body:?}: not a QR function the desk uses"));
            }
        }
    }

    /// Text without its LF is printed by the next mode change on some printers, kept for
    /// the LF on others; the desk always ends a line with LF, so leftovers are a problem.
    fn flush_text(&mut self) {
        if !self.text.is_empty() {
            self.slip
                .problems
                .push("text not ended by LF before a command".into());
            self.flush_line();
        }
    }

    fn flush_line(&mut self) {
        let raw = std::mem::take(&mut self.text);
        if !self.hanzi && raw.iter().any(|&b| b >= 0x80) {
            self.slip
                .problems
                .push("double-byte text outside Hanzi mode (FS &)".into());
        }
        let (text, _, bad) = encoding_rs::GB18030.decode(&raw);
        if bad {
            self.slip
                .problems
                .push(format!("bytes that are not GB18030: {raw:02X?}"));
        }
        let line = PrintedLine {
            text: text.into_owned(),
            align: self.align,
            bold: self.bold,
            double: self.double,
        };
        let width = columns(&line.text) * if line.double { 2 } else { 1 };
        if self.columns > 0 && width > self.columns {
            self.slip.problems.push(format!(
                "{:?} is {width} columns, past the paper's {}",
                line.text, self.columns
            ));
        }
        self.slip.items.push(Printed::Line(line));
    }
}

fn font() -> Option<&'static FontVec> {
    static FONT: OnceLock<Option<FontVec>> = OnceLock::new();
    FONT.get_or_init(|| {
        let named = std::env::var("REDEEMDESK_SLIP_FONT").ok();
        named
            .iter()
            .map(String::as_str)
            .chain(FONT_PATHS.iter().copied())
            .find_map(|p| {
                let bytes = std::fs::read(p).ok()?;
                FontVec::try_from_vec_and_index(bytes, 0).ok()
            })
    })
    .as_ref()
}

/// An 8-bit grey canvas, white paper and black dots.
struct Canvas {
    w: u32,
    h: u32,
    px: Vec<u8>,
}

impl Canvas {
    fn dot(&mut self, x: u32, y: u32, ink: f32) {
        if x < self.w && y < self.h {
            let p = &mut self.px[(y * self.w + x) as usize];
            let v = 255.0 - 255.0 * ink.clamp(0.0, 1.0);
            *p = (*p).min(v as u8);
        }
    }

    fn rect(&mut self, x: u32, y: u32, w: u32, h: u32) {
        for yy in y..y + h {
            for xx in x..x + w {
                self.dot(xx, yy, 1.0);
            }
        }
    }

    fn glyph(&mut self, c: char, x: f32, top: f32, px: f32, bold: bool) {
        let Some(font) = font() else {
            // No font on this machine: a box per character, so the layout still shows.
            let (w, h) = ((px / 2.0) as u32 * char_columns(c) as u32, px as u32);
            self.rect(x as u32 + 1, top as u32 + 2, w.saturating_sub(2), 1);
            self.rect(x as u32 + 1, top as u32 + h - 2, w.saturating_sub(2), 1);
            return;
        };
        let scale = PxScale::from(px);
        let scaled = font.as_scaled(scale);
        let glyph = scaled.scaled_glyph(c);
        let baseline = top + scaled.ascent();
        let glyph = ab_glyph::Glyph {
            position: ab_glyph::point(x, baseline),
            ..glyph
        };
        if let Some(outline) = font.outline_glyph(glyph) {
            let b = outline.px_bounds();
            for dx in 0..=u32::from(bold) {
                outline.draw(|gx, gy, ink| {
                    let xx = b.min.x + gx as f32 + dx as f32;
                    let yy = b.min.y + gy as f32;
                    if xx >= 0.0 && yy >= 0.0 {
                        self.dot(xx as u32, yy as u32, ink);
                    }
                });
            }
        }
    }
}

fn item_height(item: &Printed) -> u32 {
    match item {
        Printed::Line(l) => LINE_H * if l.double { 2 } else { 1 },
        Printed::Qr { data } => qrcode::QrCode::new(data.as_bytes())
            .map(|q| (q.width() as u32 + 8) * QR_DOT)
            .unwrap_or(LINE_H),
        Printed::Feed { lines } => LINE_H * u32::from(*lines),
    }
}

fn draw(slip: &PrintedSlip, columns: usize) -> Vec<u8> {
    let w = columns as u32 * CELL_W + 2 * MARGIN;
    let h = slip.items.iter().map(item_height).sum::<u32>() + 2 * MARGIN;
    let mut c = Canvas {
        w,
        h,
        px: vec![255; (w * h) as usize],
    };
    let mut y = MARGIN;
    for item in &slip.items {
        match item {
            Printed::Line(l) => {
                let scale = if l.double { 2 } else { 1 };
                let used = columns_of(&l.text) * scale;
                let free = (columns as u32).saturating_sub(used) / scale;
                let pad = match l.align {
                    1 => free / 2,
                    2 => free,
                    _ => 0,
                } * scale;
                let mut x = (MARGIN + pad * CELL_W) as f32;
                for ch in l.text.chars() {
                    if ch != ' ' {
                        c.glyph(ch, x, y as f32, GLYPH_PX * scale as f32, l.bold);
                    }
                    x += (char_columns(ch) as u32 * CELL_W * scale) as f32;
                }
            }
            Printed::Qr { data } => {
                if let Ok(q) = qrcode::QrCode::new(data.as_bytes()) {
                    let size = q.width() as u32;
                    let x0 = (w - size * QR_DOT) / 2;
                    let y0 = y + 4 * QR_DOT;
                    for (i, color) in q.to_colors().iter().enumerate() {
                        if *color == qrcode::Color::Dark {
                            let (mx, my) = (i as u32 % size, i as u32 / size);
                            c.rect(x0 + mx * QR_DOT, y0 + my * QR_DOT, QR_DOT, QR_DOT);
                        }
                    }
                }
            }
            Printed::Feed { .. } => {}
        }
        y += item_height(item);
    }
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(png::ColorType::Grayscale);
        enc.set_depth(png::BitDepth::Eight);
        let mut writer = enc.write_header().expect("a PNG header into memory");
        writer
            .write_image_data(&c.px)
            .expect("PNG data into memory");
    }
    out
}

fn columns_of(text: &str) -> u32 {
    columns(text) as u32
}

/// A slip the virtual printer kept, and where its files are.
#[derive(Debug, Clone, Serialize)]
pub struct StoredSlip {
    pub seq: u32,
    pub received_ms: i64,
    pub columns: usize,
    pub slip: PrintedSlip,
    pub grid: Vec<String>,
    pub bin: PathBuf,
    pub txt: PathBuf,
    pub png: PathBuf,
}

#[derive(Debug, Clone)]
pub struct PrinterOptions {
    /// Where the slips are written; created if missing.
    pub dir: PathBuf,
    /// 32 (58 mm) or 48 (80 mm): the grid and the picture's width.
    pub columns: usize,
    /// 0 picks a free port.
    pub port: u16,
}

struct Shared {
    paper_out: std::sync::atomic::AtomicBool,
    dir: PathBuf,
    columns: usize,
    slips: Mutex<Vec<StoredSlip>>,
    arrived: Notify,
}

/// The running virtual printer; stops when dropped.
pub struct VirtualPrinter {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl Drop for VirtualPrinter {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl std::fmt::Debug for VirtualPrinter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VirtualPrinter")
            .field("addr", &self.addr)
            .field("dir", &self.shared.dir)
            .finish()
    }
}

impl VirtualPrinter {
    /// Listens on 127.0.0.1 and takes slips until dropped. Slips already in `dir` stay
    /// listed (a restarted sandbox keeps what was printed).
    pub async fn start(options: PrinterOptions) -> std::io::Result<VirtualPrinter> {
        std::fs::create_dir_all(&options.dir)?;
        let listener =
            TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, options.port))).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            paper_out: Default::default(),
            slips: Mutex::new(read_index(&options.dir)),
            dir: options.dir,
            columns: options.columns,
            arrived: Notify::new(),
        });
        let s = Arc::clone(&shared);
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, Arc::clone(&s)));
            }
        });
        Ok(VirtualPrinter { addr, shared, task })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Makes the paper sensor report the roll's end (or not) from the next query on.
    pub fn set_paper_out(&self, out: bool) {
        self.shared
            .paper_out
            .store(out, std::sync::atomic::Ordering::SeqCst);
    }

    pub fn dir(&self) -> &Path {
        &self.shared.dir
    }

    /// Every slip received, oldest first.
    pub fn slips(&self) -> Vec<StoredSlip> {
        self.shared.slips.lock().expect("slips").clone()
    }

    /// Waits until at least `count` slips have arrived; the slips then, or `None` on time.
    pub async fn wait_for(&self, count: usize, within: Duration) -> Option<Vec<StoredSlip>> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let notified = self.shared.arrived.notified();
            let slips = self.slips();
            if slips.len() >= count {
                return Some(slips);
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return None;
            }
        }
    }
}

async fn serve(mut stream: tokio::net::TcpStream, shared: Arc<Shared>) {
    let mut parser = Parser::new(shared.columns);
    let mut buf = vec![0u8; 8192];
    loop {
        match tokio::time::timeout(IDLE, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => break,
            Ok(Ok(n)) => {
                parser.paper_out = shared.paper_out.load(std::sync::atomic::Ordering::SeqCst);
                for slip in parser.feed(&buf[..n]) {
                    keep(&shared, slip);
                }
                let replies = std::mem::take(&mut parser.replies);
                if !replies.is_empty() && stream.write_all(&replies).await.is_err() {
                    break;
                }
            }
        }
    }
    if let Some(slip) = parser.finish() {
        keep(&shared, slip);
    }
}

fn keep(shared: &Shared, slip: PrintedSlip) {
    let mut slips = shared.slips.lock().expect("slips");
    let seq = slips.last().map_or(1, |s| s.seq + 1);
    let base = shared.dir.join(format!("slip-{seq:04}"));
    let stored = StoredSlip {
        seq,
        received_ms: redeemdesk_core::clock::Clock::now_ms(&redeemdesk_core::clock::SystemClock),
        columns: shared.columns,
        grid: slip.grid(shared.columns),
        bin: base.with_extension("bin"),
        txt: base.with_extension("txt"),
        png: base.with_extension("png"),
        slip,
    };
    // The grid last: a reader that sees it finds the bytes and the picture too.
    let written = std::fs::write(&stored.bin, &stored.slip.bytes)
        .and_then(|_| std::fs::write(&stored.png, stored.slip.png(shared.columns)))
        .and_then(|_| std::fs::write(&stored.txt, stored.grid.join("\n") + "\n"));
    if let Err(e) = written {
        tracing::error!("the virtual printer could not keep slip {seq}: {e}");
    }
    slips.push(stored);
    let index = serde_json::to_vec_pretty(&*slips).unwrap_or_default();
    if let Err(e) = std::fs::write(shared.dir.join("index.json"), index) {
        tracing::error!("the virtual printer could not write its index: {e}");
    }
    drop(slips);
    shared.arrived.notify_waiters();
}

/// The slips listed by an earlier run's `index.json` (their text and files; the parsed
/// items are read again from the bytes).
fn read_index(dir: &Path) -> Vec<StoredSlip> {
    #[derive(serde::Deserialize)]
    struct Entry {
        seq: u32,
        received_ms: i64,
        columns: usize,
        bin: PathBuf,
        txt: PathBuf,
        png: PathBuf,
    }
    let Ok(text) = std::fs::read(dir.join("index.json")) else {
        return Vec::new();
    };
    let entries: Vec<Entry> = serde_json::from_slice(&text).unwrap_or_default();
    entries
        .into_iter()
        .filter_map(|e| {
            let bytes = std::fs::read(&e.bin).ok()?;
            let mut parser = Parser::new(e.columns);
            let mut slips = parser.feed(&bytes);
            let slip = if slips.is_empty() {
                parser.finish()?
            } else {
                slips.remove(0)
            };
            Some(StoredSlip {
                seq: e.seq,
                received_ms: e.received_ms,
                columns: e.columns,
                grid: slip.grid(e.columns),
                slip,
                bin: e.bin,
                txt: e.txt,
                png: e.png,
            })
        })
        .collect()
}
