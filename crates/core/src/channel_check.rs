//! 测试连接: one real, harmless call to a channel with the settings the
//! manager typed, through the same dispatch the redemptions use, and its result in plain
//! words: the channel answered and accepted our signature, refused the signature (a wrong
//! key), refused other settings, or could not be reached. Nothing is consumed: the call is a
//! look-up of a code no channel issues (a query for 收呗, which has no remote preview).
//! 增值券 has no read call at all, so for it only the address is tried.

use crate::channel::http::Http;
use crate::channel::{
    Channel, ChannelConfig, ChannelError, ChannelKind, Context, CouponCode, Exchange, Platform,
    Prepared, RedeemRequest, RedemptionId, Resolution, UnknownReason,
};
use crate::clock::Clock;
use crate::config::Config;
use serde::Serialize;
use std::sync::Arc;
use std::time::Instant;

/// A code of the right shape that no channel issues: the look-up answers "no such code".
const PROBE_SHORT: &str = "000000000000";
const PROBE_LONG: &str = "000000000000000000";

/// Words a channel's answer uses when it refused the request's signature (验签失败, 签名错误,
/// Token验签失败…). The raw answer is searched, never for the bare field name `sign`.
const SIGNATURE_WORDS: [&str; 3] = ["验签", "签名", "signature"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckResult {
    /// The channel answered and accepted the signature: the settings work.
    Reachable,
    /// The address answers; this channel has no call that checks the key without an order.
    AddressAnswers,
    /// The channel answered that the signature is wrong: the key (or secret) is not right.
    SignatureRefused,
    /// The channel answered, refusing our settings for another reason (merchant, shop…).
    SettingsRefused,
    /// No answer: wrong address, network down, the channel's server is down.
    Unreachable,
    /// Something answered, but not the channel's interface (wrong path, an HTML page, 5xx).
    UnexpectedAnswer,
}

/// What the 设置 screen shows after 测试连接. `detail` is the channel's own words or the
/// transport's reason; it never holds a key (requests are not included).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConnectionCheck {
    pub channel: ChannelKind,
    pub result: CheckResult,
    pub detail: String,
    /// Why the channel could not be reached or its answer not trusted, for the settings
    /// screen to say in its language (`UnknownReason::kind`); `detail` is the English.
    pub reason_kind: Option<&'static str>,
    pub http_status: Option<u16>,
    pub elapsed_ms: u64,
}

fn signature_words(text: &str) -> bool {
    let lower = text.to_lowercase();
    SIGNATURE_WORDS.iter().any(|w| lower.contains(w))
}

/// Classifies a look-up by what came back. `refusal` is the channel's own refusal text when
/// the decoded answer was one, with whether the channel marked it a settings problem.
fn classify(
    exchanges: &[Exchange],
    unknown: Option<&UnknownReason>,
    refusal: Option<(&str, bool)>,
) -> (CheckResult, String, Option<u16>) {
    let last = exchanges.last();
    let status = last.and_then(|e| e.http_status);
    let body = last.and_then(|e| e.response.as_deref()).unwrap_or("");
    let Some(code) = status else {
        let why = unknown.map(ToString::to_string).unwrap_or_default();
        return (CheckResult::Unreachable, why, None);
    };
    if signature_words(body) || refusal.is_some_and(|(m, _)| signature_words(m)) {
        // The channel's own words when its answer has them, else the decoded refusal.
        let words = match refusal {
            Some((m, _)) if !signature_words(body) => m.to_owned(),
            _ => excerpt(body),
        };
        return (CheckResult::SignatureRefused, words, status);
    }
    if matches!(unknown, Some(UnknownReason::BadSignature)) {
        // Our key does not verify the channel's signed answer: the key is not the channel's.
        return (
            CheckResult::SignatureRefused,
            "the answer's signature does not verify with this key".into(),
            status,
        );
    }
    if let Some((message, true)) = refusal {
        return (CheckResult::SettingsRefused, message.to_owned(), status);
    }
    match unknown {
        Some(UnknownReason::HttpStatus { .. } | UnknownReason::NotJson) => (
            CheckResult::UnexpectedAnswer,
            format!("HTTP {code}"),
            status,
        ),
        Some(reason @ (UnknownReason::Timeout | UnknownReason::ConnectionReset { .. })) => {
            (CheckResult::Unreachable, reason.to_string(), status)
        }
        _ if !(200..300).contains(&code) => (
            CheckResult::UnexpectedAnswer,
            format!("HTTP {code}"),
            status,
        ),
        _ => (
            CheckResult::Reachable,
            refusal.map(|(m, _)| m.to_owned()).unwrap_or_default(),
            status,
        ),
    }
}

/// The channel's own words in an answer: its message field (`return_msg`, `msg`,
/// `message`, `resultMsg`…) when the body is JSON, else the first line, kept short.
fn excerpt(body: &str) -> String {
    let words = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            v.as_object()?.iter().find_map(|(k, v)| {
                let k = k.to_ascii_lowercase();
                (k.ends_with("msg") || k.ends_with("message"))
                    .then(|| v.as_str().map(str::to_owned))
                    .flatten()
            })
        })
        .unwrap_or_else(|| body.lines().next().unwrap_or("").to_owned());
    words.chars().take(160).collect()
}

fn probe(text: &str) -> CouponCode {
    CouponCode::new(text).unwrap_or_else(|e| unreachable!("the probe code {text} is valid: {e}"))
}

/// Makes the harmless call for `kind` with `config` (as [`crate::channel_setup::dry_run`]
/// loads the manager's edit) and says what it shows.
pub async fn check_connection(
    config: &Config,
    kind: ChannelKind,
    clock: Arc<dyn Clock>,
) -> Result<ConnectionCheck, ChannelError> {
    let channel_config = config
        .get(kind)
        .cloned()
        .ok_or_else(|| ChannelError::Config {
            field: format!("channels.{}", kind.as_str()),
            reason: "not configured".into(),
        })?;
    let started = Instant::now();
    let ((result, detail, http_status), reason_kind) = match channel_config {
        ChannelConfig::Yhtd(c) => address_answers(&c.base_url, c.timeouts).await,
        other => {
            let channel = Channel::new(
                other,
                Context {
                    clock: clock.clone(),
                    zone: config.zone,
                },
            )?;
            look_up(&channel, clock.now_ms()).await?
        }
    };
    // A kind only where the words are ours: a channel's refusal stays its words, and an
    // unexpected answer is its HTTP status.
    let reason_kind = match result {
        CheckResult::Unreachable => reason_kind,
        CheckResult::SignatureRefused if reason_kind == Some("bad_signature") => reason_kind,
        _ => None,
    };
    Ok(ConnectionCheck {
        channel: kind,
        result,
        detail,
        reason_kind,
        http_status,
        elapsed_ms: started.elapsed().as_millis() as u64,
    })
}

type Checked = ((CheckResult, String, Option<u16>), Option<&'static str>);

async fn look_up(channel: &Channel, now_ms: i64) -> Result<Checked, ChannelError> {
    let prepared = match channel.kind() {
        ChannelKind::Shoubei => {
            // 收呗's preview is local; its query call reads the channel and changes nothing.
            let answer = channel
                .resolve(&RedeemRequest {
                    id: RedemptionId::new_v4(),
                    code: probe(PROBE_SHORT),
                    count: 1,
                    platform: None,
                    certificates: Vec::new(),
                    order_amount: None,
                    paid_amount: None,
                    remaining_before: None,
                    cashier: None,
                    remark: None,
                    attempted_at_ms: now_ms,
                })
                .await?;
            let unknown = match &answer.value {
                Resolution::StillUnknown { reason } => Some(reason),
                _ => None,
            };
            return Ok((
                classify(&answer.exchanges, unknown, None),
                unknown.map(UnknownReason::kind),
            ));
        }
        ChannelKind::Allinpay => {
            channel
                .prepare(&probe(PROBE_SHORT), Some(Platform::Meituan))
                .await?
        }
        _ => channel.prepare(&probe(PROBE_LONG), None).await?,
    };
    Ok(match &prepared.value {
        Prepared::Unknown { reason } => (
            classify(&prepared.exchanges, Some(reason), None),
            Some(reason.kind()),
        ),
        Prepared::Rejected {
            message,
            config_error,
            ..
        } => (
            classify(
                &prepared.exchanges,
                None,
                Some((message.as_str(), *config_error)),
            ),
            None,
        ),
        Prepared::Ready(_) => (classify(&prepared.exchanges, None, None), None),
    })
}

/// 增值券: any HTTP answer from the base URL shows the address is right; the key (when it
/// signs) is only checked by the first order it delivers.
async fn address_answers(url: &url::Url, timeouts: crate::channel::Timeouts) -> Checked {
    let http = match Http::new(ChannelKind::Yhtd, url, timeouts, Vec::new()) {
        Ok(h) => h,
        Err(e) => return ((CheckResult::Unreachable, e.to_string(), None), None),
    };
    match http.get_base().await {
        Ok(status) => (
            (CheckResult::AddressAnswers, String::new(), Some(status)),
            None,
        ),
        Err(e) if e.is_timeout() => (
            (CheckResult::Unreachable, "timed out".into(), None),
            Some(UnknownReason::Timeout.kind()),
        ),
        Err(e) => (
            (
                CheckResult::Unreachable,
                format!("could not connect: {}", e.without_url()),
                None,
            ),
            Some(
                UnknownReason::ConnectionFailed {
                    detail: String::new(),
                }
                .kind(),
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exchange(status: Option<u16>, body: Option<&str>) -> Exchange {
        Exchange {
            method: "POST".into(),
            url: "http://x/y".into(),
            request: "{}".into(),
            response: body.map(str::to_owned),
            http_status: status,
            server_date_ms: None,
        }
    }

    #[test]
    fn answers_are_told_apart_by_what_came_back() {
        let refused = [exchange(
            Some(200),
            Some(r#"{"code":"1003","msg":"验签失败"}"#),
        )];
        let (r, detail, _) = classify(&refused, None, None);
        assert_eq!(r, CheckResult::SignatureRefused);
        assert_eq!(detail, "验签失败", "the channel's words, not its JSON");
        // A normal answer carries a `sign` field: that is not a refusal.
        let fine = [exchange(
            Some(200),
            Some(r#"{"result_code":"FAIL","return_msg":"券码不存在","sign":"AB12"}"#),
        )];
        assert_eq!(
            classify(&fine, None, Some(("券码不存在", false))).0,
            CheckResult::Reachable
        );
        assert_eq!(
            classify(&fine, None, Some(("商户不存在", true))).0,
            CheckResult::SettingsRefused
        );
        let down = [exchange(None, None)];
        let reason = UnknownReason::ConnectionFailed {
            detail: "refused".into(),
        };
        let (r, detail, _) = classify(&down, Some(&reason), None);
        assert_eq!(r, CheckResult::Unreachable);
        assert!(detail.contains("could not connect"), "{detail}");
        let html = [exchange(Some(404), Some("<html>Not Found</html>"))];
        assert_eq!(
            classify(
                &html,
                Some(&UnknownReason::HttpStatus { status: 404 }),
                None
            )
            .0,
            CheckResult::UnexpectedAnswer
        );
        assert_eq!(
            classify(&fine, Some(&UnknownReason::BadSignature), None).0,
            CheckResult::SignatureRefused,
            "an answer our key cannot verify"
        );
    }
}
