//! The printer's text grid: 32 columns on 58 mm paper, 48 on 80 mm, counted by East Asian
//! width (`unicode-width`'s CJK width, ambiguous characters wide). A thermal printer in
//! Hanzi mode prints every double-byte GB character as wide as a Hanzi and every ASCII
//! byte as half of one, so after [`printable`] a character is 1 column if ASCII, else 2.
//!
//! Invariant: every line a function here returns fits the grid; text is wrapped, never cut.

use unicode_width::UnicodeWidthChar;

/// What stands in for a character the printer cannot print: 〓 (U+3013 GETA MARK), the
/// typesetter's mark for a missing glyph, in GB2312 so every Chinese printer has it.
pub const REPLACEMENT: char = '〓';

/// The paper in the printer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Paper {
    #[serde(rename = "58")]
    Mm58,
    #[serde(rename = "80")]
    Mm80,
}

impl Paper {
    pub const ALL: [Paper; 2] = [Paper::Mm58, Paper::Mm80];

    /// Columns of the standard font (12×24 dots) across the printable width.
    pub fn columns(self) -> usize {
        match self {
            Paper::Mm58 => 32,
            Paper::Mm80 => 48,
        }
    }

    pub fn mm(self) -> u32 {
        match self {
            Paper::Mm58 => 58,
            Paper::Mm80 => 80,
        }
    }

    pub fn from_mm(mm: u32) -> Option<Paper> {
        Paper::ALL.into_iter().find(|p| p.mm() == mm)
    }
}

/// Whether the printer's font has the character: everything GBK holds (one or two bytes in
/// GB18030) and the ideographs of GB18030's four-byte area (CJK extensions A to I, the
/// rare names such as 㐀 and 𠮷). Emoji, other scripts' four-byte characters and controls
/// (which the printer would take as commands) are not: GB18030 encodes them, but the
/// printer would print nothing or garbage, a silent loss.
fn in_printer_font(c: char) -> bool {
    if c.is_ascii() {
        return !c.is_ascii_control();
    }
    if c.is_control() {
        return false;
    }
    let u = c as u32;
    let four_byte_ideograph = (0x3400..=0x4DBF).contains(&u) || (0x20000..=0x323AF).contains(&u);
    four_byte_ideograph || gb18030_len(c) <= 2
}

fn gb18030_len(c: char) -> usize {
    let mut buf = [0u8; 4];
    let (bytes, _, _) = encoding_rs::GB18030.encode(c.encode_utf8(&mut buf));
    bytes.len()
}

/// The text as the printer can print it: characters outside its font become
/// [`REPLACEMENT`], one for one, so a reader sees that something was there; line breaks
/// and tabs become spaces (the layout makes the lines). `¥` becomes `￥`, its GBK form.
pub fn printable(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\n' | '\r' | '\t' => ' ',
            '¥' => '￥',
            c if in_printer_font(c) => c,
            _ => REPLACEMENT,
        })
        .collect()
}

/// Columns one printable character takes.
pub fn char_columns(c: char) -> usize {
    if c.is_ascii() {
        1
    } else {
        // Every double-byte character prints Hanzi-wide, whatever Unicode says (× … ·).
        c.width_cjk().unwrap_or(2).max(2)
    }
}

/// Columns a printable text takes.
pub fn columns(text: &str) -> usize {
    text.chars().map(char_columns).sum()
}

/// Breaks a text into lines of at most `width` columns, at spaces where it can and inside a
/// word where it must (codes, ids and Chinese have no spaces). Never loses a character.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(2);
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        let gap = usize::from(!line.is_empty());
        if columns(&line) + gap + columns(word) <= width {
            if gap == 1 {
                line.push(' ');
            }
            line.push_str(word);
            continue;
        }
        if !line.is_empty() {
            lines.push(std::mem::take(&mut line));
        }
        for c in word.chars() {
            if columns(&line) + char_columns(c) > width {
                lines.push(std::mem::take(&mut line));
            }
            line.push(c);
        }
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// `text` padded on the left to `width` columns: right-aligned.
pub fn right(text: &str, width: usize) -> String {
    let pad = width.saturating_sub(columns(text));
    format!("{}{text}", " ".repeat(pad))
}

/// A label on the left and a value on the right of one line; where both do not fit, the
/// label has its own line and the value's parts follow right-aligned, as many per line as
/// fit (an amount's breakdown goes under its total).
pub fn label_value(label: &str, parts: &[&str], width: usize) -> Vec<String> {
    let value = parts.concat();
    let room = width.saturating_sub(columns(label) + 1);
    if columns(&value) <= room {
        let pad = width - columns(label) - columns(&value);
        return vec![format!("{label}{}{value}", " ".repeat(pad))];
    }
    let mut lines = vec![label.to_owned()];
    let mut line = String::new();
    for part in parts {
        if !line.is_empty() && columns(&line) + columns(part) > width {
            lines.push(right(&std::mem::take(&mut line), width));
        }
        if columns(part) > width {
            let mut wrapped = wrap(part, width);
            line = wrapped.pop().unwrap_or_default();
            lines.extend(wrapped.iter().map(|l| right(l, width)));
        } else {
            line.push_str(part);
        }
    }
    if !line.is_empty() {
        lines.push(right(&line, width));
    }
    lines
}

/// Columns laid out left to right: the first left-aligned, the others right-aligned in the
/// widths given (a table row of the handover slip). The first column is cut to its width
/// with a trailing `…` only if it must be; callers give it room for channel names.
pub fn row(first: &str, rest: &[(&str, usize)], width: usize) -> String {
    let rest_width: usize = rest.iter().map(|(_, w)| *w).sum();
    let first_width = width.saturating_sub(rest_width);
    let mut out = first.to_owned();
    let pad = first_width.saturating_sub(columns(first));
    out.push_str(&" ".repeat(pad));
    for (text, w) in rest {
        out.push_str(&right(text, *w));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hanzi_is_two_columns_and_ascii_one() {
        assert_eq!(columns("核销abc"), 7);
        assert_eq!(columns("￥90.00"), 7, "the GBK yen sign prints Hanzi-wide");
        assert_eq!(
            columns("×…·"),
            6,
            "ambiguous characters print wide on a GB printer"
        );
    }

    #[test]
    fn emoji_and_controls_are_replaced_visibly_and_rare_hanzi_kept() {
        assert_eq!(
            printable("龘㐀𠮷"),
            "龘㐀𠮷",
            "ideographs of every GB18030 area print"
        );
        assert_eq!(
            printable("好😀吃"),
            "好〓吃",
            "an emoji is a visible mark, not nothing"
        );
        assert_eq!(
            printable("a\u{1b}@b"),
            "a〓@b",
            "ESC in a name must not reach the printer"
        );
        assert_eq!(printable("¥1"), "￥1");
        assert_eq!(printable("é€"), "é€", "GBK has them");
    }

    #[test]
    fn wrapping_keeps_every_character_and_fits_the_width() {
        let text = "这是一个很长很长的券名称，包含ASCII words and 𠮷 字 1234567890123456789012345678901234567890";
        for width in [32, 48, 7] {
            let lines = wrap(text, width);
            assert!(lines.iter().all(|l| columns(l) <= width), "{lines:?}");
            let joined: String = lines.concat().replace(' ', "");
            assert_eq!(joined, text.replace(' ', ""), "nothing is lost in wrapping");
        }
    }

    #[test]
    fn a_value_that_does_not_fit_goes_under_its_label_right_aligned() {
        let parts = ["共 ￥180.00", "（2 张 × ￥90.00）"];
        let wide = label_value("金额", &parts, 48);
        assert_eq!(wide.len(), 1, "48 columns hold label and amount: {wide:?}");
        assert!(wide[0].starts_with("金额") && wide[0].ends_with("（2 张 × ￥90.00）"));
        assert_eq!(columns(&wide[0]), 48);
        let narrow = label_value("金额", &parts, 32);
        assert_eq!(narrow.len(), 2, "{narrow:?}");
        assert_eq!(
            narrow[1],
            format!("  {}", parts.concat()),
            "right-aligned under it"
        );
        let lines = label_value("金额", &["共 ￥18000000.00", "（200 张 × ￥90000.00）"], 32);
        assert_eq!(lines[0], "金额");
        assert!(lines[1..].iter().all(|l| columns(l) == 32), "{lines:?}");
    }
}
