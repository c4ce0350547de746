//! Shared test material: fixture loading, demo keys and configs, and a tiny HTTP responder
//! on 127.0.0.1:0 that records what it receives and answers (or misbehaves) as told.

#![allow(dead_code)]

use redeemdesk_core::channel::{
    allinpay, liantuofu, shoubei, yhtd, zvcms, BusinessZone, Context, CouponCode, RedeemRequest,
    RedemptionId, Timeouts,
};
use redeemdesk_core::clock::ManualClock;
use redeemdesk_core::secret::Secret;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

pub fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

pub fn fixture(name: &str) -> String {
    std::fs::read_to_string(fixture_path(name))
        .unwrap_or_else(|e| panic!("fixture {name} must be readable: {e}"))
}

pub const SHOUBEI_KEY: &str = "8a9bd64e6585c6d8016585c6c8980002";
pub const ZVCMS_SECRET: &str = "fake-open-key-for-test-only-0001";
pub const LIANTUOFU_KEY: &str = "beb2c94ff04754360ef131dde7bb3017";
pub const YHTD_KEY: &str = "demo-yhtd-key-0001";

/// 2024-04-08 16:00:00 in +08:00.
pub const NOW_MS: i64 = 1_712_563_200_000;

pub fn ctx() -> Context {
    Context {
        clock: Arc::new(ManualClock::new(NOW_MS)),
        zone: BusinessZone::CHINA,
    }
}

/// The merchant's and the platform's 通联 keys: throw-away RSA-2048 pairs made once per test
/// binary. No private key is kept in the repository (the golden vectors are checked with
/// their public key alone, fixtures/README.md).
fn pairs() -> &'static (rsa::RsaPrivateKey, rsa::RsaPrivateKey) {
    static PAIRS: std::sync::OnceLock<(rsa::RsaPrivateKey, rsa::RsaPrivateKey)> =
        std::sync::OnceLock::new();
    PAIRS.get_or_init(|| {
        let mut rng = rand::rngs::OsRng;
        let mut one = || rsa::RsaPrivateKey::new(&mut rng, 2048).expect("an RSA key");
        (one(), one())
    })
}
pub fn merchant_private() -> rsa::RsaPrivateKey {
    pairs().0.clone()
}
pub fn merchant_public() -> rsa::RsaPublicKey {
    pairs().0.to_public_key()
}
pub fn platform_private() -> rsa::RsaPrivateKey {
    pairs().1.clone()
}
pub fn platform_public() -> rsa::RsaPublicKey {
    pairs().1.to_public_key()
}

/// The merchant's private key as PKCS#8 PEM (what a manager pastes into 设置).
pub fn merchant_private_pem() -> String {
    use rsa::pkcs8::EncodePrivateKey;
    pairs()
        .0
        .to_pkcs8_pem(rsa::pkcs8::LineEnding::LF)
        .expect("PKCS#8")
        .to_string()
}

/// A directory of PEM files a channel configuration names (`merchant_private_pkcs1.pem`,
/// `merchant_public.pem`, `platform_public.pem`), written once per test binary under
/// cargo's target tmp directory.
pub fn keys_dir() -> PathBuf {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        use rsa::pkcs1::EncodeRsaPrivateKey;
        use rsa::pkcs8::{EncodePublicKey, LineEnding};
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("core-channel-keys-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("the keys directory");
        let (merchant, platform) = pairs();
        let files = [
            (
                "merchant_private_pkcs1.pem",
                merchant
                    .to_pkcs1_pem(LineEnding::LF)
                    .expect("PKCS#1")
                    .to_string(),
            ),
            (
                "merchant_public.pem",
                merchant
                    .to_public_key()
                    .to_public_key_pem(LineEnding::LF)
                    .expect("SPKI"),
            ),
            (
                "platform_public.pem",
                platform
                    .to_public_key()
                    .to_public_key_pem(LineEnding::LF)
                    .expect("SPKI"),
            ),
        ];
        for (name, pem) in files {
            std::fs::write(dir.join(name), pem).expect("a key file");
        }
        dir
    })
    .clone()
}

pub fn quick() -> Timeouts {
    Timeouts {
        connect: Duration::from_millis(500),
        total: Duration::from_millis(700),
    }
}

pub fn url(base: &str) -> url::Url {
    url::Url::parse(base).unwrap()
}

pub fn shoubei_config(base: &str) -> shoubei::Config {
    shoubei::Config {
        base_url: url(base),
        inst_no: "60000001".into(),
        merchant_no: "851811130002".into(),
        shop_no: "862010110001".into(),
        channel_type: Some("10001".into()),
        key: Secret::new(SHOUBEI_KEY),
        timeouts: quick(),
    }
}

pub fn zvcms_config(base: &str) -> zvcms::Config {
    zvcms::Config {
        base_url: url(base),
        open_id: "fake-open-id-for-test-only-0001".into(),
        grant_code: "fake-grant-code-0001".into(),
        secret: Secret::new(ZVCMS_SECRET),
        store_mark: Some("S001".into()),
        store_id: None,
        token_naming: zvcms::TokenNaming::LowerCamel,
        timeouts: quick(),
    }
}

pub fn liantuofu_config(base: &str) -> liantuofu::Config {
    liantuofu::Config {
        base_url: url(base),
        app_id: "EW_N5946005323".into(),
        consume_merchant_code: "EW_N2949193145".into(),
        consume_employee_id: None,
        key: Secret::new(LIANTUOFU_KEY),
        timeouts: quick(),
    }
}

pub fn allinpay_config(base: &str) -> allinpay::Config {
    allinpay::Config {
        base_url: url(base),
        app_id: "demo-app-0001".into(),
        shop_id: "147".into(),
        merchant_key: allinpay::MerchantKey(Arc::new(merchant_private())),
        platform_key: platform_public(),
        default_operator: Some("pos01".into()),
        timeouts: quick(),
    }
}

pub fn yhtd_config(base: &str, sign: bool) -> yhtd::Config {
    yhtd::Config {
        base_url: url(base),
        sign,
        resend_deduplicated: true,
        key: Some(Secret::new(YHTD_KEY)),
        products: vec![yhtd::Product {
            no: "2112291922150704074".into(),
            name: "畅玩单人联票".into(),
            unit_price: redeemdesk_core::money::Fen(3000),
        }],
        timeouts: quick(),
    }
}

pub fn redeem_request(code: &str) -> RedeemRequest {
    RedeemRequest {
        id: RedemptionId::new_v4(),
        code: CouponCode::new(code).unwrap(),
        count: 1,
        platform: None,
        certificates: Vec::new(),
        order_amount: None,
        paid_amount: None,
        remaining_before: None,
        cashier: None,
        remark: None,
        attempted_at_ms: NOW_MS,
    }
}

/// One request the responder received.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub head: String,
    pub body: String,
}

impl Received {
    pub fn json(&self) -> serde_json::Map<String, serde_json::Value> {
        serde_json::from_str(&self.body).expect("the request body is a JSON object")
    }
    pub fn form(&self) -> std::collections::BTreeMap<String, String> {
        url::form_urlencoded::parse(self.body.as_bytes())
            .into_owned()
            .collect()
    }
}

/// What the responder does with a request.
pub enum Answer {
    Status(u16, String),
    /// Sleeps, then answers 200 (past the client's total timeout).
    Delay(Duration, String),
    /// Reads the request and closes the connection without a word.
    Drop,
    /// Answers 200 with this HTTP `Date` header (the channel's clock).
    Dated(std::time::SystemTime, String),
}

pub fn ok(body: impl Into<String>) -> Answer {
    Answer::Status(200, body.into())
}

pub type Handler = Arc<dyn Fn(&Received) -> Answer + Send + Sync>;

pub struct Responder {
    pub base: String,
    pub received: Arc<Mutex<Vec<Received>>>,
}

impl Responder {
    /// Serves on 127.0.0.1:0 under `/<prefix>` (as the sandbox does), answering each
    /// request with `handler`.
    pub async fn start(
        prefix: &str,
        handler: impl Fn(&Received) -> Answer + Send + Sync + 'static,
    ) -> Responder {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let received = Arc::new(Mutex::new(Vec::new()));
        let handler: Handler = Arc::new(handler);
        let log = received.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut socket, _)) = listener.accept().await else {
                    return;
                };
                let handler = handler.clone();
                let log = log.clone();
                tokio::spawn(async move {
                    let Some(req) = read_request(&mut socket).await else {
                        return;
                    };
                    log.lock().unwrap().push(req.clone());
                    let mut date = String::new();
                    let (status, body) = match handler(&req) {
                        Answer::Status(s, b) => (s, b),
                        Answer::Delay(d, b) => {
                            tokio::time::sleep(d).await;
                            (200, b)
                        }
                        Answer::Drop => return,
                        Answer::Dated(at, b) => {
                            date = format!("Date: {}\r\n", httpdate::fmt_http_date(at));
                            (200, b)
                        }
                    };
                    let head = format!(
                        "HTTP/1.1 {status} X\r\nContent-Type: application/json;charset=UTF-8\r\n{date}Content-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = socket.write_all(head.as_bytes()).await;
                    let _ = socket.write_all(body.as_bytes()).await;
                    let _ = socket.shutdown().await;
                });
            }
        });
        Responder {
            base: format!("http://{addr}/{prefix}"),
            received,
        }
    }

    pub fn requests(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    pub fn last(&self) -> Received {
        self.requests()
            .last()
            .cloned()
            .expect("the responder received a request")
    }
}

async fn read_request(socket: &mut tokio::net::TcpStream) -> Option<Received> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let header_end = loop {
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..header_end]).into_owned();
    let length = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse::<usize>().ok())?
        })
        .unwrap_or(0);
    while buf.len() < header_end + length {
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let path = head.split_whitespace().nth(1).unwrap_or("").to_owned();
    let body = String::from_utf8_lossy(&buf[header_end..]).into_owned();
    Some(Received { path, head, body })
}

/// A 收呗 answer signed with the demo key.
pub fn shoubei_answer(mut fields: serde_json::Map<String, serde_json::Value>) -> String {
    let s = shoubei::sign(&fields, SHOUBEI_KEY);
    fields.insert("sign".into(), serde_json::Value::String(s));
    serde_json::Value::Object(fields).to_string()
}

/// A 通联 answer signed with the demo platform key.
pub fn allinpay_answer(mut fields: serde_json::Map<String, serde_json::Value>) -> String {
    let s = allinpay::sign_response(&fields, &platform_private());
    fields.insert("sign".into(), serde_json::Value::String(s));
    serde_json::to_string(&fields).unwrap()
}

pub fn obj(v: serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
    v.as_object().expect("an object").clone()
}
