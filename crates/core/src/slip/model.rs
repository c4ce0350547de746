//! The slips and their layout on the grid: 核销凭证 (a success), 待确认 (an amber unknown:
//! no receipt, a note), 交班单 (a shift's handover), the test page, and the 重打 mark of a
//! reprint. A slip holds what it prints and nothing else: codes are masked when laid out
//! (first four, last four, as on screen) and no secret is ever a field.

use super::grid::{self, label_value, printable, row, wrap, Paper};
use crate::channel::{ChannelKind, Platform};
use crate::clock::UnixMs;
use crate::ledger::ChainAnchor;
use crate::money::Fen;
use serde::{Deserialize, Serialize};

/// Where the slip was printed: the header of every slip.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Origin {
    pub store: String,
    pub till: String,
    /// The business zone's offset from UTC, in which times are printed.
    pub utc_offset_minutes: i32,
}

/// 核销凭证: a redemption that succeeded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    pub cashier: String,
    pub channel: ChannelKind,
    pub platform: Option<Platform>,
    pub coupon_name: String,
    /// The whole code; the slip prints it masked.
    pub code: String,
    pub count: u32,
    /// Face value of one unit, where the channel gave one: the breakdown `N 张 × ￥x`.
    pub unit: Option<Fen>,
    pub total: Fen,
    pub time_ms: UnixMs,
    pub attempt_id: String,
    pub chain_head: Option<ChainAnchor>,
}

/// 待确认: an attempt whose result is unknown. Not a receipt: it says what happens next.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingNote {
    pub cashier: String,
    pub channel: ChannelKind,
    pub platform: Option<Platform>,
    pub coupon_name: String,
    pub code: String,
    pub count: u32,
    pub time_ms: UnixMs,
    pub attempt_id: String,
}

/// One channel's successes in a shift.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelTotal {
    pub channel: ChannelKind,
    pub count: u32,
    pub amount: Fen,
}

/// An attempt of the shift still unknown when it ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenUnknown {
    pub channel: ChannelKind,
    pub code: String,
    pub time_ms: UnixMs,
}

/// 交班单: the end of a cashier's shift.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Handover {
    pub cashier: String,
    pub start_ms: UnixMs,
    pub end_ms: UnixMs,
    pub per_channel: Vec<ChannelTotal>,
    pub unknowns: Vec<OpenUnknown>,
    pub undo_count: u32,
    pub undo_amount: Fen,
    pub chain_head: Option<ChainAnchor>,
}

/// What the 打印测试页 button prints: the grid's edges and the font's reach.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestPage {
    pub time_ms: UnixMs,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Slip {
    Receipt(Receipt),
    Pending(PendingNote),
    Handover(Handover),
    TestPage(TestPage),
}

impl Slip {
    pub fn kind(&self) -> &'static str {
        match self {
            Slip::Receipt(_) => "receipt",
            Slip::Pending(_) => "pending",
            Slip::Handover(_) => "handover",
            Slip::TestPage(_) => "test_page",
        }
    }

    /// The attempt a slip is about, if one.
    pub fn attempt_id(&self) -> Option<&str> {
        match self {
            Slip::Receipt(r) => Some(&r.attempt_id),
            Slip::Pending(p) => Some(&p.attempt_id),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Center,
    Right,
}

/// One printed line: the text already fits the grid (double size counts twice).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub text: String,
    pub align: Align,
    pub bold: bool,
    /// Double width and height (`GS ! 0x11`): the titles.
    pub double: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    Line(Line),
    /// A QR code of this text (`GS ( k`), centred.
    Qr(String),
}

/// A slip laid out for one paper width.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    pub paper: Paper,
    pub blocks: Vec<Block>,
}

impl Layout {
    /// The text lines, as the grid holds them (left-aligned text as is, centred and right
    /// ones padded as the printer places them): what the grid tests read.
    pub fn grid_lines(&self) -> Vec<String> {
        let width = self.paper.columns();
        self.blocks
            .iter()
            .filter_map(|b| match b {
                Block::Line(l) => Some(l),
                Block::Qr(_) => None,
            })
            .map(|l| {
                let scale = if l.double { 2 } else { 1 };
                let used = grid::columns(&l.text) * scale;
                let free = width.saturating_sub(used) / scale;
                let pad = match l.align {
                    Align::Left => 0,
                    Align::Center => free / 2,
                    Align::Right => free,
                };
                let text: String = if l.double {
                    // A double-size character covers twice its columns of the grid.
                    l.text
                        .chars()
                        .flat_map(|c| {
                            std::iter::once(c)
                                .chain(std::iter::repeat_n(' ', grid::char_columns(c)))
                        })
                        .collect()
                } else {
                    l.text.clone()
                };
                format!("{}{}", " ".repeat(pad * scale), text.trim_end())
            })
            .collect()
    }
}

/// The 重打 mark: a reprint says so, with when it was reprinted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reprint {
    pub at_ms: UnixMs,
}

pub fn channel_name(channel: ChannelKind, platform: Option<Platform>) -> String {
    let name = channel.name_zh();
    match platform {
        Some(p) => format!(
            "{name}·{}",
            match p {
                Platform::Meituan => "美团",
                Platform::Tiktok => "抖音",
                Platform::Dianping => "点评",
                Platform::Mtdz => "美团到综",
            }
        ),
        None => name.to_owned(),
    }
}

/// The first four and last four characters of a code, as the recent strip shows it.
pub fn mask_code(code: &str) -> String {
    let chars: Vec<char> = code.chars().collect();
    if chars.len() <= 8 {
        return code.to_owned();
    }
    let head: String = chars[..4].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}…{tail}")
}

/// `2026-03-02 12:03:04` in the business zone.
pub fn local_time(ms: UnixMs, utc_offset_minutes: i32) -> String {
    let offset = time::UtcOffset::from_whole_seconds(utc_offset_minutes * 60)
        .unwrap_or(time::UtcOffset::UTC);
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
        .to_offset(offset);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// `￥180.00`.
pub fn yuan(f: Fen) -> String {
    format!("￥{}", f.to_yuan_string())
}

/// The amount as the screen gives it: the total, and its breakdown where there is a unit.
fn amount_parts(total: Fen, count: u32, unit: Option<Fen>) -> Vec<String> {
    let mut parts = vec![format!("共 {}", yuan(total))];
    if let Some(unit) = unit {
        parts.push(format!("（{count} 张 × {}）", yuan(unit)));
    }
    parts
}

struct Builder {
    width: usize,
    paper: Paper,
    blocks: Vec<Block>,
}

impl Builder {
    fn new(paper: Paper) -> Builder {
        Builder {
            width: paper.columns(),
            paper,
            blocks: Vec::new(),
        }
    }

    fn push(&mut self, text: String, align: Align, bold: bool, double: bool) {
        self.blocks.push(Block::Line(Line {
            text,
            align,
            bold,
            double,
        }));
    }

    fn title(&mut self, text: &str) {
        for l in wrap(&printable(text), self.width / 2) {
            self.push(l, Align::Center, true, true);
        }
    }

    fn center(&mut self, text: &str) {
        for l in wrap(&printable(text), self.width) {
            self.push(l, Align::Center, false, false);
        }
    }

    fn text(&mut self, text: &str) {
        for l in wrap(&printable(text), self.width) {
            self.push(l, Align::Left, false, false);
        }
    }

    fn rule(&mut self) {
        self.push("-".repeat(self.width), Align::Left, false, false);
    }

    fn field(&mut self, label: &str, value: &str) {
        self.field_parts(label, &[value.to_owned()], false);
    }

    fn field_parts(&mut self, label: &str, parts: &[String], bold: bool) {
        let parts: Vec<String> = parts.iter().map(|p| printable(p)).collect();
        let refs: Vec<&str> = parts.iter().map(String::as_str).collect();
        for l in label_value(&printable(label), &refs, self.width) {
            self.push(l, Align::Left, bold, false);
        }
    }

    fn reprint(&mut self, reprint: Option<Reprint>, zone: i32) {
        if let Some(r) = reprint {
            self.title("** 重打 **");
            self.center(&format!("重打时间 {}", local_time(r.at_ms, zone)));
        }
    }

    fn header(&mut self, title: &str, origin: &Origin, reprint: Option<Reprint>) {
        self.reprint(reprint, origin.utc_offset_minutes);
        self.title(title);
        self.center(&origin.store);
        self.rule();
        self.field("门店", &origin.store);
        self.field("收银台", &origin.till);
    }

    fn chain_head(&mut self, head: Option<&ChainAnchor>) {
        match head {
            Some(h) => self.field("链头", &h.to_string()),
            None => self.field("链头", "(空账本)"),
        }
    }

    fn finish(mut self) -> Layout {
        // Room for the tear-off below the last line.
        self.push(String::new(), Align::Left, false, false);
        Layout {
            paper: self.paper,
            blocks: self.blocks,
        }
    }
}

/// Lays a slip out for the paper; a reprint adds the 重打 mark on top.
pub fn layout(slip: &Slip, origin: &Origin, paper: Paper, reprint: Option<Reprint>) -> Layout {
    let zone = origin.utc_offset_minutes;
    let mut b = Builder::new(paper);
    match slip {
        Slip::Receipt(r) => {
            b.header("核销凭证", origin, reprint);
            b.field("收银员", &r.cashier);
            b.field("渠道", &channel_name(r.channel, r.platform));
            // A channel whose preview is local (收呗) names no coupon: no empty line for it.
            if !r.coupon_name.trim().is_empty() {
                b.field("券名", &r.coupon_name);
            }
            b.field("券码", &mask_code(&r.code));
            b.field("数量", &format!("{} 张", r.count));
            // The breakdown as the screen gives it, from the total where no unit was told.
            let unit = r.unit.or_else(|| {
                let n = i64::from(r.count.max(1));
                (r.total.0 % n == 0).then(|| Fen(r.total.0 / n))
            });
            b.field_parts("金额", &amount_parts(r.total, r.count, unit), true);
            b.field("时间", &local_time(r.time_ms, zone));
            b.field("单号", &r.attempt_id);
            b.chain_head(r.chain_head.as_ref());
            b.rule();
            b.blocks.push(Block::Qr(r.attempt_id.clone()));
            b.center("核销成功，请妥善保管本凭证");
        }
        Slip::Pending(p) => {
            b.header("结果待确认", origin, reprint);
            b.field("收银员", &p.cashier);
            b.field("渠道", &channel_name(p.channel, p.platform));
            if !p.coupon_name.trim().is_empty() {
                b.field("券名", &p.coupon_name);
            }
            b.field("券码", &mask_code(&p.code));
            b.field("数量", &format!("{} 张", p.count));
            b.field("时间", &local_time(p.time_ms, zone));
            b.field("单号", &p.attempt_id);
            b.rule();
            b.text("这不是核销凭证。渠道尚未确认本次核销的结果，请勿对同一券码再次核销。");
            b.text("系统会自动向渠道确认；确认成功后，可在收银台或店长流水中打印核销凭证；确认未核销时，可重新核销。");
        }
        Slip::Handover(h) => {
            b.header("交班单", origin, reprint);
            b.field("收银员", &h.cashier);
            b.field("开始", &local_time(h.start_ms, zone));
            b.field("结束", &local_time(h.end_ms, zone));
            b.rule();
            let (cw, aw) = if paper == Paper::Mm58 {
                (6, 14)
            } else {
                (8, 18)
            };
            b.push(
                row("渠道", &[("笔数", cw), ("金额", aw)], b.width),
                Align::Left,
                true,
                false,
            );
            let mut count = 0;
            let mut amount = Fen::ZERO;
            for t in &h.per_channel {
                count += t.count;
                amount = Fen(amount.0 + t.amount.0);
                let line = row(
                    &channel_name(t.channel, None),
                    &[(&t.count.to_string(), cw), (&yuan(t.amount), aw)],
                    b.width,
                );
                b.push(line, Align::Left, false, false);
            }
            let total = row(
                "合计",
                &[(&count.to_string(), cw), (&yuan(amount), aw)],
                b.width,
            );
            b.push(total, Align::Left, true, false);
            b.rule();
            b.field("未结待确认", &format!("{} 笔", h.unknowns.len()));
            for u in &h.unknowns {
                let hm = &local_time(u.time_ms, zone)[11..16];
                b.text(&format!(
                    " {hm} {} {}",
                    channel_name(u.channel, None),
                    mask_code(&u.code)
                ));
            }
            b.field_parts(
                "撤销",
                &[format!("{} 笔 ", h.undo_count), yuan(h.undo_amount)],
                false,
            );
            b.rule();
            b.chain_head(h.chain_head.as_ref());
            b.center("交班人签字：");
            b.text("");
        }
        Slip::TestPage(t) => {
            b.header("打印测试页", origin, reprint);
            b.field(
                "纸宽",
                &format!("{} mm · {} 列", paper.mm(), paper.columns()),
            );
            b.field("时间", &local_time(t.time_ms, zone));
            b.rule();
            let ruler: String = (1..=b.width)
                .map(|i| char::from(b'0' + (i % 10) as u8))
                .collect();
            b.push(ruler, Align::Left, false, false);
            let hanzi: String = "汉字对齐测试满行"
                .chars()
                .cycle()
                .take(b.width / 2)
                .collect();
            b.push(hanzi, Align::Left, false, false);
            b.field_parts(
                "金额",
                &amount_parts(Fen(18_000), 2, Some(Fen(9_000))),
                true,
            );
            b.text("生僻字：龘 㐀 𠮷  表情：😀");
            b.center("打印正常即可使用");
        }
    }
    b.finish()
}
