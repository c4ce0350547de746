//! The reasons the desk itself writes into events are English sentences (the ledger's
//! language). A front end shows them in its own language: this reads a stored reason back
//! into its kind and the part that is data (a channel's text, a person's words), next to
//! the formats that write them (`UnknownReason`'s Display, the resolver's and undo's
//! sentences). A reason of no known kind is somebody else's text, shown as it is.

/// How each kind of reason begins, as written; the rest of the text is its detail.
const KINDS: &[(&str, &str)] = &[
    ("timed out", "timeout"),
    ("could not connect: ", "connection_failed"),
    ("connection lost: ", "connection_reset"),
    ("HTTP ", "http_status"),
    ("the answer is not JSON", "not_json"),
    ("unreadable field ", "undecodable"),
    ("the answer's signature does not verify", "bad_signature"),
    ("a success without a signature", "unsigned_success"),
    ("channel busy ", "channel_busy"),
    ("inconclusive answer: ", "inconclusive"),
    (
        "the answer is not written to the ledger yet: ",
        "not_recorded",
    ),
    ("the channel confirms the redemption", "confirmed"),
    ("not consumed: ", "not_consumed"),
    ("undone through the channel: ", "undone_by_channel"),
    ("manual undo: ", "undone_by_hand"),
];

/// The kind of a stored reason and its detail (what follows the desk's own words).
pub fn read(reason: &str) -> Option<(&'static str, &str)> {
    KINDS.iter().find_map(|(start, kind)| {
        reason
            .strip_prefix(start)
            .map(|rest| (*kind, rest.trim_start_matches([':', ' '])))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channel::UnknownReason;

    #[test]
    fn every_unknown_reason_as_written_reads_back_as_its_own_kind() {
        let all = [
            UnknownReason::Timeout,
            UnknownReason::ConnectionFailed {
                detail: "refused".into(),
            },
            UnknownReason::ConnectionReset {
                detail: "closed".into(),
            },
            UnknownReason::HttpStatus { status: 502 },
            UnknownReason::NotJson,
            UnknownReason::Undecodable {
                field: "code".into(),
                message: "missing".into(),
            },
            UnknownReason::BadSignature,
            UnknownReason::UnsignedSuccess,
            UnknownReason::ChannelBusy {
                code: "9999".into(),
                message: "系统繁忙".into(),
            },
            UnknownReason::Inconclusive {
                detail: "no record".into(),
            },
            UnknownReason::NotRecorded {
                detail: "disk full".into(),
            },
        ];
        for r in all {
            let (kind, _) = read(&r.to_string()).unwrap_or_else(|| panic!("{r}"));
            assert_eq!(kind, r.kind(), "{r}");
        }
        assert_eq!(
            read("connection lost: closed"),
            Some(("connection_reset", "closed"))
        );
    }

    #[test]
    fn the_desks_own_sentences_read_back_and_a_channels_text_does_not() {
        assert_eq!(
            read("manual undo: 顾客退单"),
            Some(("undone_by_hand", "顾客退单"))
        );
        assert_eq!(
            read("not consumed: FAIL 0202"),
            Some(("not_consumed", "FAIL 0202"))
        );
        assert_eq!(read("0202: 券码已使用"), None);
        assert_eq!(read("顾客要求撤销"), None);
    }
}
