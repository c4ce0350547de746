//! The states of an attempt and of a notification, who may move them, and the ids that name
//! them. Pure: the ledger calls `check_attempt_step` inside the write transaction, so an
//! illegal step never reaches the file (product.md "States of one attempt").

use super::error::Failure;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

macro_rules! hex_id {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// A fresh random id: a UUID v4 in simple form (32 lowercase hex), which fits
            /// every channel's 32-character key field (channels.md §0 "Idempotency").
            pub fn generate() -> Self {
                $name(uuid::Uuid::new_v4().simple().to_string())
            }

            /// Accepts exactly 32 lowercase hex characters.
            pub fn parse(text: &str) -> Result<Self, InvalidId> {
                let ok = text.len() == 32
                    && text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
                if ok {
                    Ok($name(text.to_owned()))
                } else {
                    Err(InvalidId { what: $what, text: text.to_owned() })
                }
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl FromStr for $name {
            type Err = InvalidId;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $name::parse(s)
            }
        }

        impl TryFrom<String> for $name {
            type Error = InvalidId;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                $name::parse(&s)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }
    };
}

/// An attempt is named by its redemption id: created and committed before any byte leaves
/// the machine, sent as the channel's idempotency key (`wf_trace_no`, `bizId`,
/// `orderId`/`reqSeq`) and reused on every retry of the same intent.
pub use crate::channel::RedemptionId as AttemptId;
hex_id!(
    /// A 增值券 notification's id, sent as its `dealSerial` (channels.md §1).
    NotificationId,
    "notification id"
);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a {what} (32 lowercase hex characters): {text:?}")]
pub struct InvalidId {
    pub what: &'static str,
    pub text: String,
}

macro_rules! text_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "lowercase")]
        pub enum $name { $($(#[$vdoc])* $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The text the ledger stores. Never change a shipped one.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    other => Err(format!(concat!("not a ", stringify!($name), ": {:?}"), other)),
                }
            }
        }
    };
}

text_enum!(
    /// Where one redemption attempt stands.
    AttemptState {
        /// Written before the network call; only a crash leaves it behind.
        Pending = "pending",
        Succeeded = "succeeded",
        Rejected = "rejected",
        /// The channel may or may not have consumed the code: never shown as a failure.
        Unknown = "unknown",
        /// A success that was undone (through the channel or recorded by a manager).
        Cancelled = "cancelled",
    }
);

text_enum!(
    /// Where one 增值券 notification stands in the outbox.
    NotificationState {
        Queued = "queued",
        Delivered = "delivered",
        Rejected = "rejected",
    }
);

/// The 通联 platform of an attempt: the channel's own type, stored by its wire name.
pub use crate::channel::Platform;

/// Who caused an event. Stored as `cashier:<name>`, `manager:<name>`, `resolver`, `outbox`
/// or `system` (the app itself, e.g. marking a crash's pending attempts unknown).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "name", rename_all = "lowercase")]
pub enum Actor {
    Cashier(String),
    Manager(String),
    Resolver,
    Outbox,
    System,
}

impl Actor {
    pub(crate) fn encode(&self) -> String {
        match self {
            Actor::Cashier(name) => format!("cashier:{name}"),
            Actor::Manager(name) => format!("manager:{name}"),
            Actor::Resolver => "resolver".to_owned(),
            Actor::Outbox => "outbox".to_owned(),
            Actor::System => "system".to_owned(),
        }
    }

    pub(crate) fn decode(text: &str) -> Result<Actor, Failure> {
        match text.split_once(':') {
            Some(("cashier", name)) => Ok(Actor::Cashier(name.to_owned())),
            Some(("manager", name)) => Ok(Actor::Manager(name.to_owned())),
            None if text == "resolver" => Ok(Actor::Resolver),
            None if text == "outbox" => Ok(Actor::Outbox),
            None if text == "system" => Ok(Actor::System),
            _ => Err(Failure::Corrupt(format!(
                "an event names an unknown actor {text:?}"
            ))),
        }
    }

    /// The person's name for cashiers and managers.
    pub fn name(&self) -> Option<&str> {
        match self {
            Actor::Cashier(n) | Actor::Manager(n) => Some(n),
            _ => None,
        }
    }
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.encode())
    }
}

pub(crate) fn decode_state<T: FromStr<Err = String>>(text: &str) -> Result<T, Failure> {
    text.parse().map_err(Failure::Corrupt)
}

/// Whether `actor` may move an attempt from `from` to `to` with `reason`.
///
/// - `pending` → `succeeded` | `rejected` | `unknown`: the redeem use case (cashier or
///   system) records the channel's answer.
/// - `unknown` → `succeeded` | `rejected`: the resolver, or a manager with a reason.
/// - `succeeded` → `cancelled`: a manager with a reason (undo through the channel or a
///   manual undo recorded after the fact).
///
/// Everything else is refused: an undo cannot be applied twice, a decided attempt cannot be
/// decided again, nothing goes back to `pending`.
pub(crate) fn check_attempt_step(
    subject: &str,
    from: AttemptState,
    to: AttemptState,
    actor: &Actor,
    reason: Option<&str>,
) -> Result<(), Failure> {
    use AttemptState::*;
    let illegal = |why: &'static str| Failure::Illegal {
        subject: subject.to_owned(),
        from: from.as_str().to_owned(),
        to: to.as_str().to_owned(),
        why,
    };
    let has_reason = reason.is_some_and(|r| !r.trim().is_empty());
    match (from, to) {
        (Pending, Succeeded | Rejected | Unknown) => match actor {
            Actor::Cashier(_) | Actor::System => Ok(()),
            _ => Err(illegal("only the redeem in flight records its own outcome")),
        },
        (Unknown, Succeeded | Rejected) => match actor {
            Actor::Resolver => Ok(()),
            Actor::Manager(name) if !name.trim().is_empty() => {
                if has_reason {
                    Ok(())
                } else {
                    Err(Failure::ReasonRequired {
                        subject: subject.to_owned(),
                    })
                }
            }
            _ => Err(illegal(
                "an unknown is settled by the resolver or a named manager",
            )),
        },
        (Succeeded, Cancelled) => match actor {
            Actor::Manager(name) if !name.trim().is_empty() => {
                if has_reason {
                    Ok(())
                } else {
                    Err(Failure::ReasonRequired {
                        subject: subject.to_owned(),
                    })
                }
            }
            _ => Err(illegal("only a named manager can undo a redemption")),
        },
        (Cancelled, _) => Err(illegal(
            "an undone redemption is final; an undo applies once",
        )),
        (Succeeded | Rejected, Succeeded | Rejected) => {
            Err(illegal("a decided attempt cannot be decided again"))
        }
        (_, Pending) => Err(illegal("nothing goes back to pending")),
        (Unknown, Unknown) => Err(illegal(
            "a check that settles nothing is recorded with record_check",
        )),
        _ => Err(illegal("not a step of the attempt state machine")),
    }
}

/// Whether a notification may move from `from` to `to`. A failed delivery keeps it
/// `queued` (an event with the error); `delivered` and `rejected` are final.
pub(crate) fn check_notification_step(
    subject: &str,
    from: NotificationState,
    to: NotificationState,
) -> Result<(), Failure> {
    match from {
        NotificationState::Queued => Ok(()),
        _ => Err(Failure::Illegal {
            subject: subject.to_owned(),
            from: from.as_str().to_owned(),
            to: to.as_str().to_owned(),
            why: "a delivered or rejected notification is final",
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use AttemptState::*;

    fn step(from: AttemptState, to: AttemptState, actor: &Actor, reason: Option<&str>) -> bool {
        check_attempt_step("a", from, to, actor, reason).is_ok()
    }

    #[test]
    fn ids_are_32_lowercase_hex_and_nothing_else() {
        let id = AttemptId::new_v4();
        assert_eq!(id.as_str().len(), 32);
        assert_eq!(
            AttemptId::parse(id.as_str()),
            Ok(id.clone()),
            "a generated id parses back"
        );
        for bad in [
            "",
            "0123456789ABCDEF0123456789abcdef",
            "0123456789abcdef0123456789abcde",
            "0123456789abcdef-123456789abcdef",
        ] {
            assert!(AttemptId::parse(bad).is_err(), "{bad:?} is not an id");
        }
    }

    #[test]
    fn the_only_legal_steps_are_those_of_the_product_state_machine() {
        let cashier = Actor::Cashier("王芳".into());
        let manager = Actor::Manager("李店长".into());
        let r = Some("customer showed the SMS");
        let mut legal = Vec::new();
        for &from in AttemptState::ALL {
            for &to in AttemptState::ALL {
                for actor in [&cashier, &manager, &Actor::Resolver, &Actor::System] {
                    if step(from, to, actor, r) {
                        legal.push((from, to, actor.encode()));
                    }
                }
            }
        }
        let expected = vec![
            (Pending, Succeeded, "cashier:王芳".to_owned()),
            (Pending, Succeeded, "system".to_owned()),
            (Pending, Rejected, "cashier:王芳".to_owned()),
            (Pending, Rejected, "system".to_owned()),
            (Pending, Unknown, "cashier:王芳".to_owned()),
            (Pending, Unknown, "system".to_owned()),
            (Succeeded, Cancelled, "manager:李店长".to_owned()),
            (Unknown, Succeeded, "manager:李店长".to_owned()),
            (Unknown, Succeeded, "resolver".to_owned()),
            (Unknown, Rejected, "manager:李店长".to_owned()),
            (Unknown, Rejected, "resolver".to_owned()),
        ];
        assert_eq!(
            legal, expected,
            "exactly product.md's transitions, by the right actors"
        );
    }

    #[test]
    fn a_manager_decision_or_an_undo_without_a_reason_is_refused() {
        let manager = Actor::Manager("李店长".into());
        for (from, to) in [
            (Unknown, Succeeded),
            (Unknown, Rejected),
            (Succeeded, Cancelled),
        ] {
            for reason in [None, Some(""), Some("   ")] {
                assert!(
                    matches!(
                        check_attempt_step("a", from, to, &manager, reason),
                        Err(Failure::ReasonRequired { .. })
                    ),
                    "{from}→{to} needs a reason, got {reason:?}"
                );
            }
        }
    }

    #[test]
    fn actors_round_trip_through_their_stored_text() {
        for a in [
            Actor::Cashier("王芳".into()),
            Actor::Manager("a:b".into()),
            Actor::Resolver,
            Actor::Outbox,
            Actor::System,
        ] {
            assert_eq!(
                Actor::decode(&a.encode()).unwrap(),
                a,
                "a name may itself contain ':'"
            );
        }
        assert!(
            Actor::decode("hacker").is_err(),
            "an unknown actor means the file was edited"
        );
    }

    #[test]
    fn delivered_and_rejected_notifications_are_final() {
        use NotificationState as N;
        assert!(check_notification_step("n", N::Queued, N::Delivered).is_ok());
        assert!(
            check_notification_step("n", N::Queued, N::Queued).is_ok(),
            "a failed try"
        );
        assert!(check_notification_step("n", N::Delivered, N::Rejected).is_err());
        assert!(check_notification_step("n", N::Rejected, N::Queued).is_err());
    }
}
