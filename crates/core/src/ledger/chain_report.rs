//! What the chain's verification and an anchor check answer: the head written down
//! ([`ChainAnchor`], printed on exports, sign-offs and shift ends), the report and its first
//! break. Plain data, used by the verifier (`chain`) and the table modules that find breaks.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A position in the chain and its hash (or a prefix of it, as someone wrote it down):
/// printed as `#1234:9f3a6c1e0d2b4a77…`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainAnchor {
    pub id: i64,
    /// The whole hash when the ledger made it; what was written down when parsed.
    pub hash: String,
}

/// Hex digits printed: 64 bits, too many to grind a rewritten chain into matching.
const PRINTED_HEX: usize = 16;
/// The fewest hex digits `verify-log --anchor` accepts.
pub const MIN_ANCHOR_HEX: usize = 8;

impl fmt::Display for ChainAnchor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = &self.hash[..self.hash.len().min(PRINTED_HEX)];
        write!(f, "#{}:{shown}…", self.id)
    }
}

impl std::str::FromStr for ChainAnchor {
    type Err = String;
    /// Reads `#1234:9f3a6c1e…`, `1234:9f3a6c1e` or `1234:9f3a6c1e...`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || {
            format!(
                "{s:?} is not a chain head: write it as ID:HASH, e.g. 1234:9f3a6c1e (at least {MIN_ANCHOR_HEX} hex digits)"
            )
        };
        let s = s.trim();
        let body = s.strip_prefix('#').unwrap_or(s);
        let (id, hash) = body.split_once(':').ok_or_else(bad)?;
        let hash = hash.trim_end_matches('…').trim_end_matches("...");
        let id: i64 = id.trim().parse().map_err(|_| bad())?;
        let hash = hash.trim().to_ascii_lowercase();
        if id < 0 || hash.len() < MIN_ANCHOR_HEX || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad());
        }
        Ok(ChainAnchor { id, hash })
    }
}

/// Whether a head written down earlier is still in the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AnchorCheck {
    /// The position exists and its hash starts with the anchor's.
    Holds,
    /// The chain ends before the anchor's position: its tail was cut.
    Cut { chain_ends_at: i64 },
    /// The position holds another hash: the chain was rewritten at or before it.
    Differs { found: String },
    /// The chain goes on past the position but no longer has it: rewritten.
    Missing,
}

impl AnchorCheck {
    pub fn holds(&self) -> bool {
        matches!(self, AnchorCheck::Holds)
    }

    /// One sentence for a person, Chinese first.
    pub fn describe(&self, anchor: &ChainAnchor) -> String {
        match self {
            AnchorCheck::Holds => format!("链头 {anchor} 仍在账本中 / the head {anchor} is still in the chain"),
            AnchorCheck::Cut { chain_ends_at } => format!(
                "账本在 #{chain_ends_at} 结束，早于记下的链头 {anchor}：末尾被截掉了 / the chain ends at #{chain_ends_at}, before the head {anchor} written down earlier: its tail was cut"
            ),
            AnchorCheck::Missing => format!(
                "账本中已没有位置 #{}，记下的链头 {anchor} 不在了：账本被改写 / the chain no longer has position #{}, so the head {anchor} written down earlier is gone: the ledger was rewritten",
                anchor.id, anchor.id
            ),
            AnchorCheck::Differs { found } => format!(
                "位置 #{} 现在的哈希是 {}…，与记下的链头 {anchor} 不符：账本在此处或更早被改写 / position #{} now hashes to {}…, not the head {anchor} written down earlier: the ledger was rewritten at or before it",
                anchor.id,
                &found[..found.len().min(PRINTED_HEX)],
                anchor.id,
                &found[..found.len().min(PRINTED_HEX)],
            ),
        }
    }
}

/// The outcome of [`super::Ledger::verify_chain`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainReport {
    pub events_checked: u64,
    /// Settings, audit, reconciliation and sign-off rows checked against their seals.
    pub seals_checked: u64,
    /// Heads the ledger recorded (in sign-offs, exports' and shift ends' audit entries)
    /// compared with the chain.
    pub recorded_heads_checked: u64,
    /// The last event's id and hash: written down elsewhere (an export, a sign-off), it
    /// also proves that no events were cut off the end.
    pub head_id: i64,
    pub head_hash: String,
    /// `None` when every link holds and every cached state matches its events.
    pub first_break: Option<ChainBreak>,
}

impl ChainReport {
    pub fn is_intact(&self) -> bool {
        self.first_break.is_none()
    }
}

/// The first place where the ledger's history does not hold together.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainBreak {
    /// The event where the chain breaks (`None` for a problem found on a row with no event).
    pub event_id: Option<i64>,
    /// `attempt <id>`, `notification <id>`, `setting <id> (<key>)`, `audit <id> (<action>)`…
    pub subject: String,
    pub seq: Option<u32>,
    pub problem: BreakProblem,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum BreakProblem {
    /// The link to the previous event does not hold: an event before this one was removed,
    /// inserted or reordered.
    PrevHashMismatch { expected: String, found: String },
    /// This event's own columns were changed after it was written.
    EventAltered {
        stored_hash: String,
        recomputed_hash: String,
    },
    /// The immutable columns of the attempt or notification this creating event describes
    /// were changed after it was written.
    SubjectAltered {
        stored_digest: String,
        recomputed_digest: String,
    },
    /// The creating event's attempt or notification row is gone (deleted or its id changed).
    SubjectMissing,
    /// An attempt or notification has no creating event.
    CreatingEventMissing,
    /// A settings, audit, reconciliation or sign-off row that the chain has no seal for:
    /// it was slipped in behind the ledger's back.
    NotInChain,
    /// A head the ledger recorded (in a sign-off, an export's or a shift end's audit entry)
    /// is no longer in the chain: the chain was cut or rewritten after it was recorded.
    RecordedHeadMismatch {
        recorded: String,
        /// What the chain holds at that position; `None` past its end.
        found: Option<String>,
    },
    /// A cached column of the attempt or notification row disagrees with its events.
    CacheMismatch {
        column: String,
        cached: String,
        from_events: String,
    },
}

impl fmt::Display for ChainBreak {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.event_id, self.seq) {
            (Some(id), Some(seq)) => write!(f, "event {id} ({} seq {seq}): ", self.subject)?,
            (Some(id), None) => write!(f, "#{id} ({}): ", self.subject)?,
            _ => write!(f, "{}: ", self.subject)?,
        }
        match &self.problem {
            BreakProblem::PrevHashMismatch { expected, found } => write!(
                f,
                "links to {found} but the previous event's hash is {expected} (an event was removed, inserted or reordered)"
            ),
            BreakProblem::EventAltered {
                stored_hash,
                recomputed_hash,
            } => write!(
                f,
                "the event's columns were changed (stored hash {stored_hash}, recomputed {recomputed_hash})"
            ),
            BreakProblem::SubjectAltered {
                stored_digest,
                recomputed_digest,
            } => write!(
                f,
                "the immutable columns of the {} were changed (digest at creation {stored_digest}, now {recomputed_digest})",
                self.subject
            ),
            BreakProblem::SubjectMissing => write!(f, "the row this event created is missing"),
            BreakProblem::CreatingEventMissing => write!(f, "has no creating event"),
            BreakProblem::NotInChain => write!(
                f,
                "is not in the chain (written behind the ledger's back)"
            ),
            BreakProblem::RecordedHeadMismatch { recorded, found: None } => write!(
                f,
                "recorded the chain head {recorded}, but the chain no longer has that position (cut or rewritten)"
            ),
            BreakProblem::RecordedHeadMismatch { recorded, found: Some(found) } => write!(
                f,
                "recorded the chain head {recorded}, but that position now hashes to {found} (the chain was rewritten)"
            ),
            BreakProblem::CacheMismatch {
                column,
                cached,
                from_events,
            } => write!(
                f,
                "cached {column} is {cached} but its events say {from_events}"
            ),
        }
    }
}
