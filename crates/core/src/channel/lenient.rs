//! Quirk-tolerant field readers for every channel's wire types (channels.md §0 "Tolerant
//! decoding"): numbers as numbers or strings, `""` for absent, booleans as `true` or
//! `"true"`, arrays as arrays, objects or strings holding `[...]`, and `null` anywhere.
//! Scalars are read from their raw JSON text, so ids longer than 15 digits and amounts in 元
//! never pass through `f64`. Decode errors name the field through `serde_path_to_error`.

use crate::money::Fen;
use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;
use std::str::FromStr;

/// A body that did not decode, with the path of the field that was wrong
/// (e.g. `data.couponValue`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct DecodeError {
    pub field: String,
    pub message: String,
}

/// Decodes a whole JSON body into `T`, naming the field on failure. `.` is the body itself.
pub fn decode<T: DeserializeOwned>(body: &str) -> Result<T, DecodeError> {
    let mut de = serde_json::Deserializer::from_str(body);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| DecodeError {
        field: e.path().to_string(),
        message: e.inner().to_string(),
    })?;
    de.end().map_err(|e| DecodeError {
        field: ".".to_owned(),
        message: e.to_string(),
    })?;
    Ok(value)
}

/// One JSON value seen by its raw text.
enum Raw {
    Null,
    Text(String),
    Number(String),
    Bool(bool),
    Array(String),
    Object(String),
}

fn classify(raw: Option<Box<RawValue>>) -> Result<Raw, String> {
    let Some(raw) = raw else { return Ok(Raw::Null) };
    let t = raw.get().trim();
    Ok(match t.as_bytes().first() {
        None | Some(b'n') => Raw::Null,
        Some(b'"') => Raw::Text(serde_json::from_str::<String>(t).map_err(|e| e.to_string())?),
        Some(b't') => Raw::Bool(true),
        Some(b'f') => Raw::Bool(false),
        Some(b'[') => Raw::Array(t.to_owned()),
        Some(b'{') => Raw::Object(t.to_owned()),
        Some(_) => Raw::Number(t.to_owned()),
    })
}

fn read<'de, D: Deserializer<'de>>(d: D) -> Result<Raw, D::Error> {
    let raw = Option::<Box<RawValue>>::deserialize(d)?;
    classify(raw).map_err(D::Error::custom)
}

/// Text: a string, or a number or boolean written as text. `null` and `""` are absent.
pub fn text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    match read(d)? {
        Raw::Null => Ok(None),
        Raw::Text(s) if s.is_empty() => Ok(None),
        Raw::Text(s) | Raw::Number(s) => Ok(Some(s)),
        Raw::Bool(b) => Ok(Some(b.to_string())),
        Raw::Array(_) | Raw::Object(_) => Err(D::Error::custom(
            "expected text, found a JSON array or object",
        )),
    }
}

/// A channel's result or refusal code (channels.md §0, issue "answers that are not
/// plausible are unknown"): text or an integer, trimmed, at most 64 characters and without
/// control characters. A boolean, an array, an object or anything else decodes as an
/// error, so the answer is Unknown rather than read as a refusal.
pub fn code<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let text = match read(d)? {
        Raw::Null => return Ok(None),
        Raw::Text(s) => s,
        Raw::Number(n) if n.bytes().all(|b| b.is_ascii_digit() || b == b'-') => n,
        Raw::Number(n) => return Err(D::Error::custom(format!("not a code: {n}"))),
        Raw::Bool(_) | Raw::Array(_) | Raw::Object(_) => {
            return Err(D::Error::custom("expected a code (text or an integer)"))
        }
    };
    let t = text.trim();
    if t.is_empty() {
        return Ok(None);
    }
    if !plausible_code(t) {
        return Err(D::Error::custom(format!("not a plausible code: {t:?}")));
    }
    Ok(Some(t.to_owned()))
}

/// Whether text can be a channel's code: 1–64 characters, none of them a control
/// character.
pub fn plausible_code(t: &str) -> bool {
    let n = t.chars().count();
    (1..=64).contains(&n) && !t.chars().any(char::is_control)
}

/// An integer sent as a number or as its text; `null` and `""` are absent. A fraction, an
/// exponent or anything out of range for `T` is an error, not a rounding.
pub fn int<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: FromStr,
{
    match read(d)? {
        Raw::Null => Ok(None),
        Raw::Text(s) if s.trim().is_empty() => Ok(None),
        Raw::Text(s) | Raw::Number(s) => s
            .trim()
            .parse::<T>()
            .map(Some)
            .map_err(|_| D::Error::custom(format!("expected an integer, found {s:?}"))),
        Raw::Bool(_) | Raw::Array(_) | Raw::Object(_) => {
            Err(D::Error::custom("expected an integer"))
        }
    }
}

/// A boolean sent as `true`, `"true"`, `1` or `"1"` (and their false forms).
pub fn flag<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    match read(d)? {
        Raw::Null => Ok(None),
        Raw::Bool(b) => Ok(Some(b)),
        Raw::Text(s) | Raw::Number(s) => match s.trim().to_ascii_lowercase().as_str() {
            "" => Ok(None),
            "true" | "1" => Ok(Some(true)),
            "false" | "0" => Ok(Some(false)),
            other => Err(D::Error::custom(format!(
                "expected a boolean, found {other:?}"
            ))),
        },
        Raw::Array(_) | Raw::Object(_) => Err(D::Error::custom("expected a boolean")),
    }
}

/// An amount in 元, as a number or a string, read exactly from its decimal text
/// (channels.md §0 "Money"): more than two decimals is an error.
pub fn yuan<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Fen>, D::Error> {
    match read(d)? {
        Raw::Null => Ok(None),
        Raw::Text(s) if s.trim().is_empty() => Ok(None),
        Raw::Text(s) | Raw::Number(s) => Fen::from_yuan_str(&s).map(Some).map_err(D::Error::custom),
        Raw::Bool(_) | Raw::Array(_) | Raw::Object(_) => {
            Err(D::Error::custom("expected an amount in 元"))
        }
    }
}

/// An amount in fen: an integer as a number or text.
pub fn fen<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Fen>, D::Error> {
    int::<D, i64>(d).map(|v| v.map(Fen))
}

/// A list of ids or codes: a JSON array of scalars, a string holding `[...]`
/// (e.g. `"[390962138708451328]"`, channels.md §3), a single scalar, or absent.
pub fn texts<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    scalar_list(read(d)?).map_err(D::Error::custom)
}

fn scalar_list(raw: Raw) -> Result<Vec<String>, String> {
    match raw {
        Raw::Null => Ok(Vec::new()),
        Raw::Text(s) => {
            let t = s.trim();
            if t.is_empty() {
                Ok(Vec::new())
            } else if t.starts_with('[') {
                scalar_list(Raw::Array(t.to_owned()))
            } else {
                Ok(vec![t.to_owned()])
            }
        }
        Raw::Number(n) => Ok(vec![n]),
        Raw::Bool(b) => Ok(vec![b.to_string()]),
        Raw::Array(text) => {
            let items: Vec<Option<Box<RawValue>>> =
                serde_json::from_str(&text).map_err(|e| e.to_string())?;
            let mut out = Vec::new();
            for item in items {
                match classify(item)? {
                    Raw::Null => {}
                    Raw::Text(s) if s.is_empty() => {}
                    Raw::Text(s) | Raw::Number(s) => out.push(s),
                    Raw::Bool(b) => out.push(b.to_string()),
                    Raw::Array(_) | Raw::Object(_) => {
                        return Err("expected a list of ids".to_owned())
                    }
                }
            }
            Ok(out)
        }
        Raw::Object(_) => Err("expected a list of ids, found an object".to_owned()),
    }
}

/// A list of records: a JSON array, a single object where the table says array, a string
/// holding `[...]` or `{...}`, or absent (`null`, `""`).
pub fn list<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    record_list(read(d)?).map_err(D::Error::custom)
}

fn record_list<T: DeserializeOwned>(raw: Raw) -> Result<Vec<T>, String> {
    match raw {
        Raw::Null => Ok(Vec::new()),
        Raw::Text(s) => {
            let t = s.trim();
            if t.is_empty() {
                Ok(Vec::new())
            } else if t.starts_with('[') {
                record_list(Raw::Array(t.to_owned()))
            } else if t.starts_with('{') {
                record_list(Raw::Object(t.to_owned()))
            } else {
                Err(format!("expected a list of records, found the text {t:?}"))
            }
        }
        Raw::Array(text) => {
            let items: Vec<Option<Box<RawValue>>> =
                serde_json::from_str(&text).map_err(|e| e.to_string())?;
            items
                .into_iter()
                .flatten()
                .enumerate()
                .map(|(i, item)| decode::<T>(item.get()).map_err(|e| format!("[{i}].{e}")))
                .collect()
        }
        Raw::Object(text) => decode::<T>(&text)
            .map(|t| vec![t])
            .map_err(|e| e.to_string()),
        Raw::Number(_) | Raw::Bool(_) => Err("expected a list of records".to_owned()),
    }
}

/// A nested record that may also arrive as a string holding `{...}`, or as `""`/`null`.
pub fn record<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    let mut records: Vec<T> = record_list(read(d)?).map_err(D::Error::custom)?;
    // An array where one record is expected: the first one is the record (seen for `mtdz`).
    Ok(if records.is_empty() {
        None
    } else {
        Some(records.swap_remove(0))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    struct Probe {
        #[serde(default, deserialize_with = "text")]
        id: Option<String>,
        #[serde(default, deserialize_with = "int")]
        code: Option<i64>,
        #[serde(default, deserialize_with = "flag")]
        status: Option<bool>,
        #[serde(default, deserialize_with = "yuan")]
        value: Option<Fen>,
        #[serde(default, deserialize_with = "texts")]
        ids: Vec<String>,
    }

    #[test]
    fn long_ids_stay_exact_whether_number_or_string() {
        let p: Probe = decode(r#"{"id":914095353294404024999}"#).unwrap();
        assert_eq!(
            p.id.as_deref(),
            Some("914095353294404024999"),
            "no f64 on the way"
        );
        let p: Probe = decode(r#"{"ids":"[390962138708451328]"}"#).unwrap();
        assert_eq!(
            p.ids,
            vec!["390962138708451328"],
            "a string holding a list is a list (§3)"
        );
        let p: Probe = decode(r#"{"ids":[390962138708451328, "7"]}"#).unwrap();
        assert_eq!(p.ids, vec!["390962138708451328", "7"]);
    }

    #[test]
    fn numbers_and_booleans_arrive_as_text_or_json() {
        let a: Probe = decode(r#"{"code":"0","status":"true","value":"0.1"}"#).unwrap();
        let b: Probe = decode(r#"{"code":0,"status":true,"value":0.1}"#).unwrap();
        assert_eq!(
            (a.code, a.status, a.value),
            (Some(0), Some(true), Some(Fen(10)))
        );
        assert_eq!(
            (b.code, b.status, b.value),
            (Some(0), Some(true), Some(Fen(10))),
            "same meaning"
        );
        let c: Probe = decode(r#"{"id":"","code":"","status":null,"value":"","ids":""}"#).unwrap();
        assert!(
            c.id.is_none()
                && c.code.is_none()
                && c.status.is_none()
                && c.value.is_none()
                && c.ids.is_empty(),
            "empty is absent"
        );
    }

    #[test]
    fn a_bad_field_is_named_in_the_error() {
        let e = decode::<Probe>(r#"{"value":"0.105"}"#).unwrap_err();
        assert_eq!(e.field, "value", "the error must say which field: {e}");
        let e = decode::<Probe>(r#"{"code":"abc"}"#).unwrap_err();
        assert_eq!(e.field, "code", "{e}");
    }
}
