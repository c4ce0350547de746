//! What a cashier sees before confirming: the preview of a code, the platform of a 通联
//! coupon, Douyin certificates, and the upstream rules a cashier must be warned about.

use super::ids::CouponCode;
use crate::money::Fen;
use serde::{Deserialize, Serialize};

/// The platform behind a 通联 coupon (channels.md §5 `type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    Meituan,
    /// Douyin; the wire name is `tiktok`.
    Tiktok,
    Dianping,
    /// 美团到综.
    Mtdz,
}

impl Platform {
    pub const ALL: [Platform; 4] = [
        Platform::Meituan,
        Platform::Tiktok,
        Platform::Dianping,
        Platform::Mtdz,
    ];

    /// The `type` value on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Meituan => "meituan",
            Platform::Tiktok => "tiktok",
            Platform::Dianping => "dianping",
            Platform::Mtdz => "mtdz",
        }
    }

    /// The warnings every redemption on this platform carries (channels.md §5).
    pub fn undo_warning(self) -> Warning {
        match self {
            Platform::Tiktok => Warning::DouyinUndoWithinOneHour,
            Platform::Meituan | Platform::Mtdz => Warning::MeituanUndoIssuesNewCode,
            Platform::Dianping => Warning::DianpingCannotUndo,
        }
    }
}

impl std::str::FromStr for Platform {
    type Err = String;
    /// Reads the wire name back (the ledger stores it).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Platform::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| format!("not a platform: {s:?}"))
    }
}

/// Something the cashier or manager must know before redeeming.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Warning {
    /// Douyin codes can be undone only within one hour (channels.md §5).
    DouyinUndoWithinOneHour,
    /// Undoing a Meituan code voids it and sends the customer a new one by SMS (§5).
    MeituanUndoIssuesNewCode,
    /// Dianping codes cannot be undone (§5).
    DianpingCannotUndo,
    /// The channel has no remote preview; only local checks were made (收呗, §2).
    NoRemotePreview,
    /// The channel has no undo call: an undo is recorded manually by a manager.
    UndoIsManual,
    /// An Unknown answer on this channel is never resent: it is settled by reading the
    /// remaining uses again (联拓富, §4). An internal rule, not a warning for cashiers: no
    /// preview carries it any more; the variant stays so stored previews still read.
    UnknownIsNeverResent,
}

/// One Douyin certificate of a voucher (channels.md §5 `tiktokCertificateList`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Certificate {
    pub id: String,
    /// Redeemable count (only times vouchers carry it).
    pub num: Option<u32>,
    pub title: Option<String>,
    pub sku_id: Option<String>,
    /// `marketPrice` is in fen on Douyin, unlike every other 通联 amount.
    pub market_price: Option<Fen>,
}

/// The certificates and counts the cashier ticked for a Douyin redemption.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateChoice {
    pub id: String,
    pub num: u32,
}

/// The preview of a code before redemption. Fields a channel does not report are `None`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Preview {
    pub code: CouponCode,
    pub platform: Option<Platform>,
    pub name: Option<String>,
    pub face_value: Option<Fen>,
    pub price_paid: Option<Fen>,
    /// Validity as the channel states it (`yyyy-MM-dd HH:mm:ss` or a date), shown as text.
    pub valid_from: Option<String>,
    pub valid_until: Option<String>,
    /// How many can be redeemed now; the count stepper is capped at it.
    pub redeemable_count: Option<u32>,
    /// A times card's remaining uses (联拓富 `suplusTimes`); stored with the attempt because
    /// it settles an Unknown (channels.md §4).
    pub times_remaining: Option<u32>,
    /// Uses left on a multi-use coupon where the channel reports them (智迈 次券); stored
    /// with the attempt, like `times_remaining`, to settle an Unknown by comparison.
    #[serde(default)]
    pub uses_left: Option<u32>,
    pub certificates: Vec<Certificate>,
    pub warnings: Vec<Warning>,
}

impl Preview {
    /// A preview with only the code; channels fill in what they know.
    pub fn bare(code: CouponCode) -> Preview {
        Preview {
            code,
            platform: None,
            name: None,
            face_value: None,
            price_paid: None,
            valid_from: None,
            valid_until: None,
            redeemable_count: None,
            times_remaining: None,
            uses_left: None,
            certificates: Vec::new(),
            warnings: Vec::new(),
        }
    }
}
