//! Golden vectors: the three published in channels.md, and the ones computed independently
//! by `fixtures/make_vectors.py`.

use crate::support::{fixture, merchant_private, merchant_private_pem, merchant_public};
use redeemdesk_core::channel::{allinpay, liantuofu, shoubei, yhtd, zvcms};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

fn vectors() -> Value {
    serde_json::from_str(&fixture("signing_vectors.json")).expect("vectors are JSON")
}

fn string_map(v: &Value) -> BTreeMap<String, String> {
    v.as_object()
        .expect("params are an object")
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().expect("string params").to_owned()))
        .collect()
}

#[test]
fn shoubei_reproduces_the_published_vector() {
    let params: Map<String, Value> = serde_json::from_str(
        r#"{"auth_code":"134573607383541818","inst_no":"900024","mch_no":"851811130002",
            "pay_time":"20190101125959","pay_trace_no":"18588dbd1c6e4572b915a2b33fcdc62e",
            "pay_type":"400","total_amount":"1"}"#,
    )
    .unwrap();
    assert_eq!(
        shoubei::sign(&params, "8a9bd64e6585c6d8016585c6c8980002"),
        "841387ec9bd3ea78a580bd4629cab010",
        "channels.md §2 published vector"
    );
}

#[test]
fn shoubei_signs_a_number_as_its_text() {
    let as_text: Map<String, Value> =
        serde_json::from_str(r#"{"a":"1","total_amount":"1"}"#).unwrap();
    let as_number: Map<String, Value> =
        serde_json::from_str(r#"{"a":"1","total_amount":1}"#).unwrap();
    assert_eq!(
        shoubei::sign(&as_text, "k"),
        shoubei::sign(&as_number, "k"),
        "raw values: the number 1 signs as the text 1"
    );
}

#[test]
fn shoubei_keeps_empty_strings_but_drops_nulls_and_sign() {
    let with_empty: Map<String, Value> = serde_json::from_str(r#"{"a":"1","b":""}"#).unwrap();
    let without: Map<String, Value> = serde_json::from_str(r#"{"a":"1"}"#).unwrap();
    let with_null: Map<String, Value> =
        serde_json::from_str(r#"{"a":"1","b":null,"sign":"x"}"#).unwrap();
    assert_ne!(
        shoubei::sign(&with_empty, "k"),
        shoubei::sign(&without, "k"),
        "empty strings stay (§2)"
    );
    assert_eq!(
        shoubei::sign(&with_null, "k"),
        shoubei::sign(&without, "k"),
        "null and sign are dropped (§2)"
    );
}

#[test]
fn shoubei_matches_the_independent_python_vectors_and_verifies_them() {
    for case in vectors()["shoubei"].as_array().unwrap() {
        let mut params = case["params"].as_object().unwrap().clone();
        let key = case["key"].as_str().unwrap();
        let expected = case["sign"].as_str().unwrap();
        assert_eq!(
            shoubei::sign(&params, key),
            expected,
            "python and Rust must agree on {params:?}"
        );
        params.insert("sign".into(), Value::String(expected.to_uppercase()));
        assert!(
            shoubei::verify(&params, key),
            "an uppercase signature verifies (§7)"
        );
        assert!(
            !shoubei::verify(&params, "wrong-key"),
            "another key must not verify"
        );
        params.insert("extra".into(), Value::String("tampered".into()));
        assert!(
            !shoubei::verify(&params, key),
            "an added field must break the signature"
        );
    }
}

#[test]
fn liantuofu_reproduces_the_published_vector() {
    let params = BTreeMap::from([
        ("appId".to_owned(), "EW_N4365306114".to_owned()),
        ("random".to_owned(), "123".to_owned()),
        ("remark".to_owned(), String::new()),
    ]);
    assert_eq!(
        liantuofu::sign(&params, "beb2c94ff04754360ef131dde7bb3017"),
        "3af0851c40d0443e86942c9ddba75e25",
        "channels.md §4 published vector (the empty remark is dropped)"
    );
}

#[test]
fn liantuofu_matches_the_independent_python_vectors_and_verifies_them() {
    for case in vectors()["liantuofu"].as_array().unwrap() {
        let mut params = string_map(&case["params"]);
        let key = case["key"].as_str().unwrap();
        let expected = case["sign"].as_str().unwrap();
        assert_eq!(
            liantuofu::sign(&params, key),
            expected,
            "python and Rust must agree on {params:?}"
        );
        params.insert("sign".into(), expected.to_owned());
        assert!(liantuofu::verify(&params, key), "the vector verifies");
        params.insert("count".into(), "99".into());
        assert!(
            !liantuofu::verify(&params, key),
            "a changed count must break the signature"
        );
    }
}

#[test]
fn zvcms_reproduces_the_published_token() {
    assert_eq!(
        zvcms::token(
            "fake-open-key-for-test-only-0001",
            "fake-open-id-for-test-only-0001",
            "fake-grant-code-0001",
            "1712563200",
            "24680",
            zvcms::TokenNaming::LowerCamel,
        ),
        "ySypL4SRFMmfSrCqOiFE01LK3ks%3D",
        "channels.md §3 published vector"
    );
}

#[test]
fn zvcms_matches_the_independent_python_tokens_and_verifies_them() {
    for case in vectors()["zvcms"].as_array().unwrap() {
        let naming = match case["naming"].as_str().unwrap() {
            "lower_camel" => zvcms::TokenNaming::LowerCamel,
            _ => zvcms::TokenNaming::PascalCase,
        };
        let s = |k: &str| case[k].as_str().unwrap().to_owned();
        let t = zvcms::token(
            &s("secret"),
            &s("open_id"),
            &s("grant_code"),
            &s("timestamp"),
            &s("nonce"),
            naming,
        );
        assert_eq!(t, s("token"), "python and Rust must agree on {case}");
        assert!(
            zvcms::verify_token(
                &t,
                &s("secret"),
                &s("open_id"),
                &s("grant_code"),
                &s("timestamp"),
                &s("nonce"),
                naming
            ),
            "a token verifies against its own inputs"
        );
        assert!(
            !zvcms::verify_token(
                &t,
                &s("secret"),
                &s("open_id"),
                &s("grant_code"),
                "1",
                &s("nonce"),
                naming
            ),
            "a replayed token with another timestamp must not verify"
        );
    }
}

/// The vectors' private key is not kept (fixtures/README.md). PKCS#1 v1.5 signatures are
/// deterministic and unique per key and content, so a Python signature that verifies here
/// is the one Rust makes from the same key: the sorted, filtered content, SHA-256 and the
/// padding all agree. Signing itself is checked by a round trip with a throw-away key.
#[test]
fn allinpay_matches_the_independent_python_signatures_and_verifies_them() {
    let public = allinpay::public_key_from_pem(&fixture("keys/merchant_public.pem")).unwrap();
    for case in vectors()["allinpay"].as_array().unwrap() {
        let mut params = string_map(&case["params"]);
        let expected = case["sign"].as_str().unwrap();
        assert!(
            allinpay::verify(&params, expected, &public),
            "the Python vector verifies with its public key"
        );
        let ours = allinpay::sign(&params, &merchant_private());
        assert_eq!(
            ours,
            allinpay::sign(&params, &merchant_private()),
            "deterministic"
        );
        assert!(allinpay::verify(&params, &ours, &merchant_public()));
        assert!(
            !allinpay::verify(&params, &ours, &public),
            "another key's signature does not verify"
        );
        params.insert("signType".into(), "SM2".into());
        assert!(
            allinpay::verify(&params, expected, &public),
            "signType is not signed (§5)"
        );
        params.insert("reqSeq".into(), "tampered".into());
        assert!(
            !allinpay::verify(&params, expected, &public),
            "a changed field must not verify"
        );
    }
}

#[test]
fn allinpay_accepts_pkcs8_and_pkcs1_keys_alike() {
    use rsa::pkcs1::EncodeRsaPrivateKey;
    let pkcs8 = allinpay::private_key_from_pem(&merchant_private_pem()).unwrap();
    let pkcs1_pem = merchant_private()
        .to_pkcs1_pem(rsa::pkcs8::LineEnding::LF)
        .unwrap();
    assert!(pkcs1_pem.starts_with("-----BEGIN RSA PRIVATE KEY-----"));
    let pkcs1 = allinpay::private_key_from_pem(&pkcs1_pem).unwrap();
    assert_eq!(pkcs8, pkcs1, "both PEM encodings hold the same key");
    let spki = allinpay::public_key_from_pem(&fixture("keys/platform_public.pem")).unwrap();
    let pkcs1_pub =
        allinpay::public_key_from_pem(&fixture("keys/platform_public_pkcs1.pem")).unwrap();
    assert_eq!(
        spki, pkcs1_pub,
        "both public PEM encodings hold the same key"
    );
    assert!(
        allinpay::private_key_from_pem("-----BEGIN PRIVATE KEY-----\nnope\n").is_err(),
        "garbage is refused"
    );
    assert!(
        !allinpay::verify(&BTreeMap::new(), "not base64!", &spki),
        "bad Base64 never verifies"
    );
}

#[test]
fn yhtd_optional_signature_matches_the_independent_python_vector() {
    for case in vectors()["yhtd"].as_array().unwrap() {
        let params = string_map(&case["params"]);
        assert_eq!(
            yhtd::sign(&params, case["key"].as_str().unwrap()),
            case["sign"].as_str().unwrap(),
            "the §7 default convention, computed independently"
        );
    }
}
