//! Reading a statement file (对账单) exported from a channel's back office: its encoding
//! (UTF-8, UTF-16 with a BOM, or GB18030/GBK — what Chinese back offices and Excel on Chinese
//! Windows write), its size limits, its column mapping and the amount spellings people type.
//!
//! Invariants: the file is read streaming (a CSV reader over a decoding reader, never the
//! whole file in memory); a file over `MAX_BYTES` or `MAX_ROWS` is refused as a whole, not
//! cut; a row that cannot be read is never dropped — it comes back as a problem with its line
//! number and its text, so reconciliation can count it as a mismatch.

use crate::money::{Fen, YuanParseError};
use encoding_rs::{Encoding, GB18030, UTF_16BE, UTF_16LE};
use encoding_rs_io::DecodeReaderBytesBuilder;
use serde::{Deserialize, Serialize};
use std::io::{self, Read};

/// What the channel's record says of one redemption.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LineState {
    Redeemed,
    Cancelled,
}

/// One redemption as the channel records it (a history entry or a statement row).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelLine {
    pub code: String,
    pub channel_id: Option<String>,
    pub face_value: Option<Fen>,
    pub state: LineState,
    pub at: Option<String>,
    /// The statement's line number (1 = the header), for the evidence.
    pub statement_row: Option<usize>,
}

/// The largest statement file read (bytes as stored, before decoding).
pub const MAX_BYTES: u64 = 20 * 1024 * 1024;
/// The most data rows read from one statement.
pub const MAX_ROWS: usize = 200_000;
/// How much of a row's text an unreadable row keeps as evidence.
pub const MAX_RAW_CHARS: usize = 200;
/// How much of the file's start decides its encoding when it has no BOM.
const SNIFF_BYTES: u64 = 64 * 1024;

/// Which statement column holds what (saved per channel). Header names as in the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatementMapping {
    pub code: String,
    #[serde(default)]
    pub face_value: Option<String>,
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub channel_id: Option<String>,
    #[serde(default)]
    pub time: Option<String>,
    /// Amounts are in 元 (two decimals) unless this says `fen`.
    #[serde(default)]
    pub amounts_in_fen: bool,
    /// State texts that mean "undone" (e.g. 已撤销, 已退款); any other text means redeemed.
    #[serde(default)]
    pub cancelled_values: Vec<String>,
}

/// One problem with a statement file: a row, or the mapping itself (`row: None`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{}{message}", row.map(|r| format!("line {r}: ")).unwrap_or_default())]
pub struct StatementProblem {
    pub row: Option<usize>,
    pub column: Option<String>,
    /// What is wrong, for the UI and the exports to say in their language (`message` is the
    /// English of it, for the log and the CLI).
    #[serde(default)]
    pub kind: ProblemKind,
    pub message: String,
    /// The row as read (decoded, cut to `MAX_RAW_CHARS`), the evidence of an unreadable row.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw: Option<String>,
}

/// What is wrong with a statement row or its mapping. `Other` is a report kept before the
/// kinds existed: its English message is all there is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    HeaderUnreadable,
    ColumnNotInFile,
    RowUnreadable,
    FieldMissing,
    NotText,
    NoCode,
    NotAnAmount,
    #[default]
    Other,
}

impl ProblemKind {
    /// The problem in words, `column` the statement's column it names.
    pub fn words(self, lang: crate::lang::Lang, column: &str) -> String {
        use crate::lang::Lang::{En, Zh};
        match (self, lang) {
            (ProblemKind::HeaderUnreadable, Zh) => "表头无法读取".into(),
            (ProblemKind::HeaderUnreadable, En) => "the header line cannot be read".into(),
            (ProblemKind::ColumnNotInFile, Zh) => format!("文件中没有映射的列“{column}”"),
            (ProblemKind::ColumnNotInFile, En) => {
                format!("the file has no column {column:?}, which the mapping names")
            }
            (ProblemKind::RowUnreadable, Zh) => "这一行无法读取".into(),
            (ProblemKind::RowUnreadable, En) => "the row cannot be read".into(),
            (ProblemKind::FieldMissing, Zh) => format!("这一行缺少“{column}”列"),
            (ProblemKind::FieldMissing, En) => format!("the row has no {column:?} field"),
            (ProblemKind::NotText, Zh) => {
                format!("“{column}”不是文件编码的文字（请另存为 UTF-8 或 GBK 的 CSV）")
            }
            (ProblemKind::NotText, En) => format!(
                "{column:?} is not text in the file's encoding (save it as UTF-8 or GBK CSV)"
            ),
            (ProblemKind::NoCode, Zh) => "没有券码".into(),
            (ProblemKind::NoCode, En) => "has no coupon code".into(),
            (ProblemKind::NotAnAmount, Zh) => format!("“{column}”的值不是金额"),
            (ProblemKind::NotAnAmount, En) => format!("{column:?} is not an amount"),
            (ProblemKind::Other, Zh) => "无法读取".into(),
            (ProblemKind::Other, En) => "cannot be read".into(),
        }
    }
}

/// Why a statement cannot be read at all (as opposed to one of its rows).
#[derive(Debug, thiserror::Error)]
pub enum StatementError {
    #[error("the statement is larger than {} MB: export a shorter period (one business day) from the back office", MAX_BYTES / (1024 * 1024))]
    TooLarge,
    #[error("the statement has more than {MAX_ROWS} rows: export a shorter period (one business day) from the back office")]
    TooManyRows,
    #[error("{0}")]
    Unusable(StatementProblem),
    #[error("the statement cannot be read: {0}")]
    Io(#[from] io::Error),
}

impl StatementError {
    pub fn code(&self) -> &'static str {
        match self {
            StatementError::TooLarge | StatementError::TooManyRows => "statement_too_large",
            StatementError::Unusable(_) | StatementError::Io(_) => "statement_invalid",
        }
    }
}

/// What a statement holds under a mapping: the rows that read, and one problem per row that
/// did not.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatementRead {
    pub encoding: &'static str,
    pub columns: Vec<String>,
    pub lines: Vec<ChannelLine>,
    pub problems: Vec<StatementProblem>,
}

/// The marker of the byte limit inside an `io::Error`, so the reader can tell it apart.
#[derive(Debug, thiserror::Error)]
#[error("over the statement size limit")]
struct OverLimit;

/// Passes at most `MAX_BYTES` through and then fails, so a huge file is refused after reading
/// the limit, not after reading the file.
struct Limited<R> {
    inner: R,
    left: u64,
}

impl<R: Read> Read for Limited<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            let mut probe = [0u8; 1];
            return match self.inner.read(&mut probe)? {
                0 => Ok(0),
                _ => Err(io::Error::other(OverLimit)),
            };
        }
        let max = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..max])?;
        self.left -= n as u64;
        Ok(n)
    }
}

fn over_limit(e: &io::Error) -> bool {
    e.get_ref().is_some_and(|inner| inner.is::<OverLimit>())
}

/// A CSV error that is the file's (too large, unreadable) ends the reading; any other is one
/// row's problem, described.
fn row_error(e: csv::Error) -> Result<String, StatementError> {
    if !matches!(e.kind(), csv::ErrorKind::Io(_)) {
        return Ok(e.to_string());
    }
    match e.into_kind() {
        csv::ErrorKind::Io(e) if over_limit(&e) => Err(StatementError::TooLarge),
        csv::ErrorKind::Io(e) => Err(StatementError::Io(e)),
        _ => unreachable!("matched as an I/O error above"),
    }
}

/// UTF-8 text of the file, decoded on the fly. A BOM names the encoding; without one, a start
/// that is not UTF-8 is GB18030 (a superset of GBK and GB2312). UTF-8 passes through
/// unchanged, so a stray non-UTF-8 row is still reported rather than silently replaced.
fn decoded<'a>(
    source: impl Read + Send + 'a,
) -> Result<(Box<dyn Read + Send + 'a>, &'static str), StatementError> {
    let mut source = Limited {
        inner: source,
        left: MAX_BYTES,
    };
    let mut head = Vec::new();
    (&mut source)
        .take(SNIFF_BYTES)
        .read_to_end(&mut head)
        .map_err(|e| {
            if over_limit(&e) {
                StatementError::TooLarge
            } else {
                StatementError::Io(e)
            }
        })?;
    let transcode = |enc: &'static Encoding, head: Vec<u8>, rest| -> Box<dyn Read + Send + 'a> {
        Box::new(
            DecodeReaderBytesBuilder::new()
                .encoding(Some(enc))
                .bom_override(true)
                .build(io::Cursor::new(head).chain(rest)),
        )
    };
    if head.starts_with(b"\xef\xbb\xbf") {
        head.drain(..3);
        return Ok((Box::new(io::Cursor::new(head).chain(source)), "UTF-8"));
    }
    if head.starts_with(b"\xff\xfe") {
        return Ok((transcode(UTF_16LE, head, source), "UTF-16LE"));
    }
    if head.starts_with(b"\xfe\xff") {
        return Ok((transcode(UTF_16BE, head, source), "UTF-16BE"));
    }
    // A multi-byte character cut at the end of the sniffed part is still UTF-8.
    let utf8 = match std::str::from_utf8(&head) {
        Ok(_) => true,
        Err(e) => e.error_len().is_none(),
    };
    if utf8 {
        Ok((Box::new(io::Cursor::new(head).chain(source)), "UTF-8"))
    } else {
        Ok((transcode(GB18030, head, source), "GB18030"))
    }
}

/// An amount as statements spell it: `10.00`, ` 10.00 `, `¥10.00`, `￥10.00`, `10元`,
/// `1,000.00`, `-¥5.00`. Exact decimal; more than two decimals is an error, not a rounding;
/// commas only as thousands separators (`1,00` is refused, not read as one).
pub fn parse_amount(text: &str, in_fen: bool) -> Result<Fen, YuanParseError> {
    let bad = || YuanParseError::NotDecimal(text.to_owned());
    let t = text.trim();
    let (negative, t) = match t.strip_prefix('-') {
        Some(rest) => (true, rest.trim_start()),
        None => (false, t),
    };
    let t = t
        .strip_prefix('¥')
        .or_else(|| t.strip_prefix('￥'))
        .unwrap_or(t)
        .trim();
    let t = t.strip_suffix('元').unwrap_or(t).trim();
    let (int_part, frac) = match t.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (t, None),
    };
    let int_part = if int_part.contains(',') {
        let groups: Vec<&str> = int_part.split(',').collect();
        let digits = |g: &str| g.bytes().all(|b| b.is_ascii_digit());
        let well_grouped = (1..=3).contains(&groups[0].len())
            && groups.iter().all(|g| digits(g))
            && groups[1..].iter().all(|g| g.len() == 3);
        if !well_grouped {
            return Err(bad());
        }
        groups.concat()
    } else {
        int_part.to_owned()
    };
    let plain = match frac {
        Some(f) => format!("{int_part}.{f}"),
        None => int_part,
    };
    let fen = if in_fen {
        if !plain.bytes().all(|b| b.is_ascii_digit()) || plain.is_empty() {
            return Err(bad());
        }
        plain
            .parse::<i64>()
            .map(Fen)
            .map_err(|_| YuanParseError::OutOfRange(text.to_owned()))?
    } else {
        if plain.starts_with(['-', '+']) {
            return Err(bad());
        }
        Fen::from_yuan_str(&plain).map_err(|e| match e {
            YuanParseError::TooManyDecimals(_) => YuanParseError::TooManyDecimals(text.to_owned()),
            YuanParseError::OutOfRange(_) => YuanParseError::OutOfRange(text.to_owned()),
            YuanParseError::NotDecimal(_) => bad(),
        })?
    };
    Ok(if negative { Fen(-fen.0) } else { fen })
}

fn raw_text(record: &csv::ByteRecord) -> String {
    let joined = record
        .iter()
        .map(String::from_utf8_lossy)
        .collect::<Vec<_>>()
        .join(",");
    joined.chars().take(MAX_RAW_CHARS).collect()
}

/// The header names of a statement (decoded, BOM and padding removed), for the mapping form.
pub fn statement_columns(source: impl Read + Send) -> Result<Vec<String>, StatementError> {
    let (text, _) = decoded(source)?;
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(text);
    Ok(match reader.byte_headers() {
        Ok(h) => h
            .iter()
            .map(|c| String::from_utf8_lossy(c).trim().to_owned())
            .collect(),
        Err(_) => Vec::new(),
    })
}

/// Reads a statement with its mapping, streaming. A row that cannot be read is a problem
/// naming its line (with its text); a mapping that names a missing column, a file over the
/// limits or one that cannot be read at all is an error.
pub fn read_statement(
    source: impl Read + Send,
    mapping: &StatementMapping,
) -> Result<StatementRead, StatementError> {
    let (text, encoding) = decoded(source)?;
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(text);
    let header = match reader.byte_headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            let message = row_error(e)?;
            return Err(StatementError::Unusable(StatementProblem {
                row: Some(1),
                column: None,
                kind: ProblemKind::HeaderUnreadable,
                message: format!("the header line cannot be read: {message}"),
                raw: None,
            }));
        }
    };
    let columns: Vec<String> = header
        .iter()
        .map(|h| String::from_utf8_lossy(h).trim().to_owned())
        .collect();
    let find = |name: &Option<String>| -> Result<Option<usize>, StatementError> {
        match name {
            None => Ok(None),
            Some(n) => columns
                .iter()
                .position(|h| h == n.trim())
                .map(Some)
                .ok_or_else(|| {
                    StatementError::Unusable(StatementProblem {
                        row: None,
                        column: Some(n.clone()),
                        kind: ProblemKind::ColumnNotInFile,
                        message: format!(
                            "the mapping names column {n:?}, but the file's columns are {columns:?}"
                        ),
                        raw: None,
                    })
                }),
        }
    };
    let code_at = find(&Some(mapping.code.clone()))?.unwrap_or(0);
    let face_at = find(&mapping.face_value)?;
    let state_at = find(&mapping.state)?;
    let id_at = find(&mapping.channel_id)?;
    let time_at = find(&mapping.time)?;
    let mut read = StatementRead {
        encoding,
        columns: columns.clone(),
        ..Default::default()
    };
    let mut record = csv::ByteRecord::new();
    let mut row = 1;
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                row = e.position().map_or(row + 1, |p| p.line() as usize);
                let message = row_error(e)?;
                read.problems.push(StatementProblem {
                    row: Some(row),
                    column: None,
                    kind: ProblemKind::RowUnreadable,
                    message: format!("cannot be read: {message}"),
                    raw: None,
                });
                continue;
            }
        }
        row = record.position().map_or(row + 1, |p| p.line() as usize);
        if row > MAX_ROWS + 1 {
            return Err(StatementError::TooManyRows);
        }
        if record.iter().all(|f| f.iter().all(u8::is_ascii_whitespace)) {
            continue;
        }
        match statement_line(
            &record,
            row,
            mapping,
            (code_at, face_at, state_at, id_at, time_at),
        ) {
            Ok(l) => read.lines.push(l),
            Err(mut p) => {
                p.raw = Some(raw_text(&record));
                read.problems.push(p);
            }
        }
    }
    Ok(read)
}

type Columns = (
    usize,
    Option<usize>,
    Option<usize>,
    Option<usize>,
    Option<usize>,
);

/// One data row as a channel line, or the problem that keeps it from being one.
fn statement_line(
    record: &csv::ByteRecord,
    row: usize,
    mapping: &StatementMapping,
    (code_at, face_at, state_at, id_at, time_at): Columns,
) -> Result<ChannelLine, StatementProblem> {
    let problem = |column: Option<&str>, kind: ProblemKind, message: String| StatementProblem {
        row: Some(row),
        column: column.map(str::to_owned),
        kind,
        message,
        raw: None,
    };
    let field = |at: usize, name: &str| -> Result<String, StatementProblem> {
        let raw = record.get(at).ok_or_else(|| {
            problem(
                Some(name),
                ProblemKind::FieldMissing,
                format!("has {} fields, column {name:?} is missing", record.len()),
            )
        })?;
        // `="…"` is how back offices keep a long code text in Excel.
        std::str::from_utf8(raw)
            .map(|s| {
                s.trim()
                    .trim_start_matches('=')
                    .trim_matches('"')
                    .trim()
                    .to_owned()
            })
            .map_err(|_| {
                problem(
                    Some(name),
                    ProblemKind::NotText,
                    "is not text in the file's encoding (save the statement as UTF-8 or GBK CSV)"
                        .into(),
                )
            })
    };
    let opt = |at: Option<usize>,
               name: &Option<String>|
     -> Result<Option<String>, StatementProblem> {
        match (at, name) {
            (Some(at), Some(name)) => field(at, name).map(|v| Some(v).filter(|v| !v.is_empty())),
            _ => Ok(None),
        }
    };
    let code = field(code_at, &mapping.code)?;
    if code.is_empty() {
        return Err(problem(
            Some(&mapping.code),
            ProblemKind::NoCode,
            "has no coupon code".into(),
        ));
    }
    let face_value = match (face_at, &mapping.face_value) {
        (Some(at), Some(name)) => {
            let text = field(at, name)?;
            Some(parse_amount(&text, mapping.amounts_in_fen).map_err(|e| {
                problem(
                    Some(name),
                    ProblemKind::NotAnAmount,
                    format!("{text:?} is not an amount ({e})"),
                )
            })?)
        }
        _ => None,
    };
    let state = match (state_at, &mapping.state) {
        (Some(at), Some(name)) => {
            let text = field(at, name)?;
            if mapping.cancelled_values.iter().any(|c| c.trim() == text) {
                LineState::Cancelled
            } else {
                LineState::Redeemed
            }
        }
        _ => LineState::Redeemed,
    };
    Ok(ChannelLine {
        code,
        channel_id: opt(id_at, &mapping.channel_id)?,
        face_value,
        state,
        at: opt(time_at, &mapping.time)?,
        statement_row: Some(row),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapping() -> StatementMapping {
        StatementMapping {
            code: "券码".into(),
            face_value: Some("面值".into()),
            state: Some("状态".into()),
            channel_id: Some("核销单号".into()),
            time: Some("核销时间".into()),
            amounts_in_fen: false,
            cancelled_values: vec!["已撤销".into()],
        }
    }

    fn read(bytes: &[u8]) -> StatementRead {
        read_statement(bytes, &mapping()).expect("the statement reads")
    }

    const SAMPLE: &str = "核销时间,券码,面值,状态,核销单号\n\
                          2026-11-22 12:03:00,=\"914095353294404024\",10.00,已核销,T1\n\
                          2026-11-22 12:04:00,5948286811,0.10,已撤销,T2\n\n";

    #[test]
    fn a_statement_is_read_with_its_mapping_bom_and_text_cells() {
        let r = read(format!("\u{feff}{SAMPLE}").as_bytes());
        assert!(r.problems.is_empty(), "{:?}", r.problems);
        assert_eq!(r.lines.len(), 2);
        assert_eq!(
            r.lines[0].code, "914095353294404024",
            "a long code stays text"
        );
        assert_eq!(r.lines[0].face_value, Some(Fen(1000)));
        assert_eq!(r.lines[1].state, LineState::Cancelled);
        assert_eq!(
            r.lines[1].statement_row,
            Some(3),
            "the line number for the evidence"
        );
    }

    #[test]
    fn a_wrong_mapping_is_one_clear_error_naming_the_column() {
        let csv = "时间,code,amount\n2026-11-22,1,1.00\n";
        let Err(StatementError::Unusable(p)) = read_statement(csv.as_bytes(), &mapping()) else {
            panic!("a mapping naming a missing column is refused");
        };
        assert_eq!(p.column.as_deref(), Some("券码"));
        assert!(
            p.message.contains("券码") && p.message.contains("code"),
            "names both the wanted and the present columns: {}",
            p.message
        );
    }

    #[test]
    fn broken_rows_are_kept_with_their_line_and_text_and_the_good_rows_still_count() {
        let csv = "核销时间,券码,面值,状态,核销单号\n\
                   2026-11-22 12:03:00,111,10.00,已核销,T1\n\
                   2026-11-22 12:03:00,,10.00,已核销,T2\n\
                   2026-11-22 12:03:00,333,ten,已核销,T3\n\
                   2026-11-22 12:03:00,444\n\
                   2026-11-22 12:03:00,555,1.005,已核销,T5\n\
                   \u{1}\u{2}garbage;;;\"\n";
        let r = read(csv.as_bytes());
        assert_eq!(r.lines.len(), 1, "{:?}", r.lines);
        let rows: Vec<_> = r.problems.iter().map(|p| p.row).collect();
        assert_eq!(
            rows,
            vec![Some(3), Some(4), Some(5), Some(6), Some(7)],
            "every broken row is kept, none dropped: {:?}",
            r.problems
        );
        assert!(
            r.problems[0].to_string().starts_with("line 3: "),
            "{}",
            r.problems[0]
        );
        assert!(
            r.problems[2].message.contains("missing"),
            "{}",
            r.problems[2]
        );
        assert_eq!(
            r.problems[1].raw.as_deref(),
            Some("2026-11-22 12:03:00,333,ten,已核销,T3"),
            "the row's text is the evidence"
        );
        assert!(
            r.problems[3].message.contains("more than two decimals"),
            "1.005 is refused, not rounded: {}",
            r.problems[3]
        );
    }

    #[test]
    fn each_common_amount_spelling_reads_as_exact_fen() {
        for (text, fen) in [
            ("10.00", 1000),
            (" 10.00 ", 1000),
            ("¥10.00", 1000),
            ("￥10.00", 1000),
            ("10元", 1000),
            ("10.5 元", 1050),
            ("1,000.00", 100_000),
            ("¥1,234,567.89", 123_456_789),
            ("-¥5.00", -500),
            ("\u{3000}0.10\u{a0}", 10),
        ] {
            assert_eq!(parse_amount(text, false), Ok(Fen(fen)), "{text:?}");
        }
        assert_eq!(parse_amount("1,000", true), Ok(Fen(1000)), "in fen");
        for bad in [
            "1,00",
            "1,0000.00",
            ",100",
            "¥",
            "10.005",
            "1e3",
            "10元元",
            "+-1",
            "1.0.0",
        ] {
            assert!(parse_amount(bad, false).is_err(), "{bad:?} must not parse");
        }
        assert!(matches!(
            parse_amount("¥10.005", false),
            Err(YuanParseError::TooManyDecimals(_))
        ));
        assert!(parse_amount("10.5", true).is_err(), "fen are whole");
    }

    #[test]
    fn a_gbk_statement_is_decoded_and_its_chinese_header_maps() {
        let (gbk, _, lossy) = encoding_rs::GBK.encode(SAMPLE);
        assert!(!lossy, "the sample is GBK text");
        assert!(
            std::str::from_utf8(&gbk).is_err(),
            "the test file really is not UTF-8"
        );
        let r = read(&gbk);
        assert_eq!(r.encoding, "GB18030");
        assert_eq!(r.columns, ["核销时间", "券码", "面值", "状态", "核销单号"]);
        assert!(r.problems.is_empty(), "{:?}", r.problems);
        assert_eq!(r.lines.len(), 2);
        assert_eq!(
            r.lines[1].state,
            LineState::Cancelled,
            "已撤销 decoded and recognised"
        );
    }

    fn utf16(text: &str, big_endian: bool) -> Vec<u8> {
        let mut out = if big_endian {
            vec![0xfe, 0xff]
        } else {
            vec![0xff, 0xfe]
        };
        for unit in text.encode_utf16() {
            out.extend(if big_endian {
                unit.to_be_bytes()
            } else {
                unit.to_le_bytes()
            });
        }
        out
    }

    #[test]
    fn a_utf16_statement_with_a_bom_is_decoded_and_its_chinese_header_maps() {
        // Excel's "Unicode text" is UTF-16LE with tabs; a CSV saved as UTF-16 keeps commas.
        for (big_endian, name) in [(false, "UTF-16LE"), (true, "UTF-16BE")] {
            let r = read(&utf16(SAMPLE, big_endian));
            assert_eq!(r.encoding, name);
            assert_eq!(r.columns[1], "券码", "{name}: the header is not mojibake");
            assert!(r.problems.is_empty(), "{name}: {:?}", r.problems);
            assert_eq!(r.lines[0].code, "914095353294404024", "{name}");
        }
    }

    #[test]
    fn a_stray_non_utf8_row_in_a_utf8_statement_is_an_unreadable_row() {
        let mut bytes = SAMPLE.as_bytes().to_vec();
        bytes.extend(b"2026-11-22 12:05:00,777,1.00,");
        bytes.extend([0xd2, 0xd1, 0xba, 0xcb]); // 已核 in GBK
        bytes.extend(b",T7\n");
        // Enough UTF-8 in front that the sniffed start decides UTF-8.
        let mut padded = SAMPLE.repeat(2000).into_bytes();
        padded.extend(&bytes[SAMPLE.find('\n').unwrap() + 1..]);
        let r = read(&padded);
        assert_eq!(r.encoding, "UTF-8");
        let p = r.problems.last().expect("the GBK row is a problem");
        assert!(p.message.contains("encoding"), "{p}");
    }

    #[test]
    fn a_statement_over_the_row_limit_is_refused_as_a_whole() {
        let mut csv = String::from("券码\n");
        for i in 0..=MAX_ROWS {
            csv.push_str(&format!("{i}\n"));
        }
        let m = StatementMapping {
            face_value: None,
            state: None,
            channel_id: None,
            time: None,
            ..mapping()
        };
        let err = read_statement(csv.as_bytes(), &m).expect_err("too many rows");
        assert!(matches!(err, StatementError::TooManyRows), "{err}");
        assert_eq!(err.code(), "statement_too_large");
        assert!(err.to_string().contains("200000"), "says the limit: {err}");
    }

    #[test]
    fn the_columns_of_a_statement_are_its_trimmed_header_without_the_bom() {
        let csv = "\u{feff}券码, 金额 ,状态\n123,1.00,已核销\n";
        assert_eq!(
            statement_columns(csv.as_bytes()).unwrap(),
            vec!["券码", "金额", "状态"]
        );
        assert!(statement_columns(&b""[..]).unwrap().is_empty());
    }
}
