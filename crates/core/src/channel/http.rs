//! The one HTTP policy of every channel: reqwest with rustls, explicit connect and total
//! timeouts, the `RedeemDesk/<version>` user agent, a base URL from the config (the
//! sandbox's loopback URL or the vendor's), secret-free debug logging, and the
//! classification of transport results into `UnknownReason` (channels.md §0).

use super::outcome::{Exchange, UnknownReason};
use super::ChannelError;
use super::ChannelKind;
use crate::secret::Secret;
use serde_json::Value;
use std::time::Duration;

/// Connection and whole-request time limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    pub connect: Duration,
    pub total: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(3),
            total: Duration::from_secs(10),
        }
    }
}

/// Field names whose values never reach a log or the ledger, at any depth and in any case:
/// signatures, tokens, keys and secrets.
const SENSITIVE: [&str; 7] = [
    "sign",
    "token",
    "key",
    "secret",
    "private_key",
    "privatekey",
    "signature",
];

fn is_sensitive(name: &str) -> bool {
    SENSITIVE.iter().any(|s| name.eq_ignore_ascii_case(s))
}

/// The placeholder for everything removed.
pub const REDACTED: &str = "<redacted>";

/// Removes sensitive fields from a JSON value (recursively) for logs and the ledger.
pub fn redact_json(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let v = if is_sensitive(k) && !v.is_null() {
                        Value::String(REDACTED.to_owned())
                    } else {
                        redact_json(v)
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(redact_json).collect()),
        other => other.clone(),
    }
}

/// The values of sensitive fields in a JSON value, at any depth.
fn sensitive_values(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                match v {
                    Value::String(s) if is_sensitive(k) => out.push(s.clone()),
                    other => sensitive_values(other, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| sensitive_values(v, out)),
        _ => {}
    }
}

/// Every spelling in which a sent signature could come back inside an answer (a server
/// that echoes the request): raw, form-encoded, and JSON with escaped slashes. Short values
/// are skipped so that ordinary text is not mangled.
fn spellings(values: Vec<String>) -> Vec<String> {
    let mut out = Vec::new();
    for v in values.into_iter().filter(|v| v.len() >= 8) {
        let form: String = url::form_urlencoded::byte_serialize(v.as_bytes()).collect();
        out.push(v.replace('/', "\\/"));
        out.push(form);
        out.push(v);
    }
    out
}

/// What a channel sends.
pub enum RequestBody {
    /// A JSON body with its `Content-Type`.
    Json {
        value: Value,
        content_type: &'static str,
    },
    /// `application/x-www-form-urlencoded;charset=utf-8` pairs.
    Form(Vec<(String, String)>),
}

/// One finished exchange: the evidence, and either the body of a 2xx answer or why the
/// answer cannot be trusted.
#[derive(Debug, Clone)]
pub struct Reply {
    pub exchange: Exchange,
    pub body: Result<String, UnknownReason>,
}

/// A channel's configured HTTP client.
#[derive(Clone)]
pub struct Http {
    kind: ChannelKind,
    client: reqwest::Client,
    base_url: String,
    /// Secrets to scrub from any logged or stored text, in case a server echoes one.
    scrub: Vec<Secret>,
    timeouts: Timeouts,
}

impl std::fmt::Debug for Http {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Http")
            .field("kind", &self.kind)
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl Http {
    pub fn new(
        kind: ChannelKind,
        base_url: &url::Url,
        timeouts: Timeouts,
        scrub: Vec<Secret>,
    ) -> Result<Http, ChannelError> {
        #[allow(clippy::disallowed_methods)] // the one home of the HTTP client policy
        let mut builder = reqwest::Client::builder()
            .user_agent(concat!("RedeemDesk/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(timeouts.connect)
            .timeout(timeouts.total)
            // Every channel is a plain POST endpoint; a redirect would resend a redemption
            // somewhere we did not configure.
            .redirect(reqwest::redirect::Policy::none());
        // The sandbox lives on loopback: a proxy from the environment must not carry it.
        let loopback = match base_url.host() {
            Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        };
        if loopback {
            builder = builder.no_proxy();
        }
        let client = builder.build().map_err(ChannelError::Client)?;
        Ok(Http {
            kind,
            client,
            base_url: base_url.as_str().trim_end_matches('/').to_owned(),
            scrub: scrub.into_iter().filter(|s| !s.is_empty()).collect(),
            timeouts,
        })
    }

    /// A GET of the base URL, for a connection test: the HTTP status of whatever answers.
    pub async fn get_base(&self) -> Result<u16, reqwest::Error> {
        let answer = self.client.get(&self.base_url).send().await?;
        Ok(answer.status().as_u16())
    }

    /// How long one call may take at most (the till shows it while it waits).
    pub fn timeouts(&self) -> Timeouts {
        self.timeouts
    }

    /// `base_url` + the documented path (e.g. `/openpay/coupon/wf`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base_url, path)
    }

    /// Sends one POST and classifies the result. Never fails: a transport problem is an
    /// `UnknownReason` with the exchange that shows it.
    pub async fn post(&self, path: &str, body: RequestBody) -> Reply {
        let url = self.url(path);
        let mut sent_secrets = Vec::new();
        let (wire, logged, content_type) = match body {
            RequestBody::Json {
                value,
                content_type,
            } => {
                sensitive_values(&value, &mut sent_secrets);
                (
                    value.to_string(),
                    redact_json(&value).to_string(),
                    content_type,
                )
            }
            RequestBody::Form(pairs) => {
                sent_secrets.extend(
                    pairs
                        .iter()
                        .filter(|(k, _)| is_sensitive(k))
                        .map(|(_, v)| v.clone()),
                );
                let wire = url::form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(pairs.iter())
                    .finish();
                let logged = url::form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(pairs.iter().map(|(k, v)| {
                        (
                            k.as_str(),
                            if is_sensitive(k) {
                                REDACTED
                            } else {
                                v.as_str()
                            },
                        )
                    }))
                    .finish();
                (
                    wire,
                    logged,
                    "application/x-www-form-urlencoded;charset=utf-8",
                )
            }
        };
        let sent_secrets = spellings(sent_secrets);
        let logged = self.scrubbed(logged, &sent_secrets);
        tracing::debug!(channel = %self.kind, %url, request = %logged, "channel request");

        let mut exchange = Exchange {
            method: "POST".to_owned(),
            url: url.clone(),
            request: logged,
            response: None,
            http_status: None,
            server_date_ms: None,
        };
        let sent = self
            .client
            .post(&url)
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(wire)
            .send()
            .await;
        let response = match sent {
            Ok(r) => r,
            Err(e) => {
                let reason = classify_error(&e);
                tracing::debug!(channel = %self.kind, %url, %reason, "channel transport failure");
                return Reply {
                    exchange,
                    body: Err(reason),
                };
            }
        };
        let status = response.status().as_u16();
        exchange.http_status = Some(status);
        exchange.server_date_ms = server_date_ms(response.headers());
        let bytes = match response.bytes().await {
            Ok(b) => b,
            Err(e) => {
                let reason = classify_error(&e);
                tracing::debug!(channel = %self.kind, %url, status, %reason, "channel body lost");
                return Reply {
                    exchange,
                    body: Err(reason),
                };
            }
        };
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let logged_response = self.scrubbed(
            match serde_json::from_str::<Value>(&text) {
                Ok(v) => redact_json(&v).to_string(),
                Err(_) => text.clone(),
            },
            &sent_secrets,
        );
        tracing::debug!(channel = %self.kind, %url, status, response = %logged_response, "channel response");
        exchange.response = Some(logged_response);

        let body = if !(200..300).contains(&status) {
            Err(UnknownReason::HttpStatus { status })
        } else if std::str::from_utf8(&bytes).is_err()
            || serde_json::from_str::<serde::de::IgnoredAny>(&text).is_err()
        {
            Err(UnknownReason::NotJson)
        } else {
            Ok(text)
        };
        Reply { exchange, body }
    }

    /// Replaces the channel's keys and this request's signatures wherever they appear.
    fn scrubbed(&self, mut text: String, sent_secrets: &[String]) -> String {
        let keys = self.scrub.iter().map(Secret::expose);
        for secret in keys.chain(sent_secrets.iter().map(String::as_str)) {
            if !secret.is_empty() && text.contains(secret) {
                text = text.replace(secret, REDACTED);
            }
        }
        text
    }
}

/// The answer's `Date` header in ms, where it has a readable one: the channel's clock,
/// which the desk compares with its own (clock_skew.rs).
fn server_date_ms(headers: &reqwest::header::HeaderMap) -> Option<i64> {
    let text = headers.get(reqwest::header::DATE)?.to_str().ok()?;
    let at = httpdate::parse_http_date(text).ok()?;
    let ms = at.duration_since(std::time::UNIX_EPOCH).ok()?.as_millis();
    i64::try_from(ms).ok()
}

/// Timeout, refused connection, or a connection lost mid-way (reset, closed, truncated).
fn classify_error(e: &reqwest::Error) -> UnknownReason {
    let detail = error_chain(e);
    if e.is_timeout() {
        UnknownReason::Timeout
    } else if e.is_connect() {
        UnknownReason::ConnectionFailed { detail }
    } else {
        UnknownReason::ConnectionReset { detail }
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_tokens_and_keys_are_redacted_at_any_depth() {
        let v: Value = serde_json::json!({"sign":"abc","Token":"t","Params":{"key":"k","bizId":"1"},"list":[{"secret":"s"}],"order_no":null});
        let r = redact_json(&v).to_string();
        for leaked in ["\"abc\"", "\"t\"", "\"k\"", "\"s\""] {
            assert!(!r.contains(leaked), "{leaked} must be redacted in {r}");
        }
        assert!(
            r.contains("\"bizId\":\"1\""),
            "business fields stay for the ledger"
        );
    }
}
