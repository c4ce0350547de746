//! How long the text a person types may be: names, reasons, notes and the names in a
//! statement mapping. Checked where the text enters the core, so the app and the CLI refuse
//! the same things, and nothing unbounded reaches the ledger, an export's cells or a slip
//! (a 100,000-character cashier name once made a day's XLSX export fail).
//! Coupon codes have their own limit where they are read (`scan`, `channel::ids`).

/// A field with a length limit, named in both languages for the refusal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    CashierName,
    ManagerName,
    /// A manager's reason for a decision, an undo or a settlement.
    Reason,
    /// A note written with a sign-off.
    Note,
    /// A column name or a state text in a statement mapping.
    MappingName,
}

impl Field {
    /// The most characters (Unicode scalar values) the field may hold.
    pub fn max_chars(self) -> usize {
        match self {
            Field::CashierName => 20,
            Field::ManagerName => 40,
            Field::Reason | Field::Note => 500,
            Field::MappingName => 100,
        }
    }

    pub(crate) fn names(self) -> (&'static str, &'static str) {
        match self {
            Field::CashierName => ("收银员姓名", "cashier name"),
            Field::ManagerName => ("店长姓名", "manager name"),
            Field::Reason => ("原因", "reason"),
            Field::Note => ("备注", "note"),
            Field::MappingName => ("对账列名", "statement mapping name"),
        }
    }

    /// The text trimmed, or a refusal when it is longer than the field allows.
    pub fn check(self, text: &str) -> Result<&str, TooLong> {
        let trimmed = text.trim();
        let got = trimmed.chars().count();
        if got > self.max_chars() {
            return Err(TooLong { field: self, got });
        }
        Ok(trimmed)
    }
}

/// A refused text. The message never repeats the text: it may be 100,000 characters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{zh}太长：最多 {max} 个字符，这里有 {got} 个。 The {en} is too long: at most {max} characters, this one has {got}.",
    zh = field.names().0,
    en = field.names().1,
    max = field.max_chars()
)]
pub struct TooLong {
    pub field: Field,
    pub got: usize,
}

impl TooLong {
    pub fn code(&self) -> &'static str {
        "text_too_long"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_over_the_limit_is_refused_in_both_languages_without_repeating_it() {
        let long = "王".repeat(100_000);
        let err = Field::CashierName.check(&long).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("收银员姓名太长") && msg.contains("cashier name is too long"));
        assert!(msg.contains("20") && msg.contains("100000"), "{msg}");
        assert!(
            msg.len() < 200,
            "the text itself is not echoed: {} bytes",
            msg.len()
        );
        assert_eq!(Field::CashierName.check("  王芳 ").unwrap(), "王芳");
        assert_eq!(
            Field::Reason.check(&"x".repeat(500)).unwrap().len(),
            500,
            "the limit itself is allowed"
        );
    }
}
