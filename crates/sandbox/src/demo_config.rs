//! The core's channel configuration for sandbox mode: every channel pointed at this
//! sandbox (`http://127.0.0.1:PORT/<channel>`) with the demo data's secrets, and the 增值券
//! product table of the demo data. The app and the CLI use it instead of a config file
//! when they run in sandbox mode; nothing here is ever written to disk.

use crate::demo::DemoData;
use redeemdesk_core::channel::{
    allinpay, liantuofu, shoubei, yhtd, zvcms, BusinessZone, ChannelConfig, ChannelKind, Timeouts,
};
use redeemdesk_core::config::Config;
use redeemdesk_core::money::Fen;
use redeemdesk_core::secret::Secret;
use std::net::SocketAddr;
use std::sync::Arc;

/// `http://ADDR/<channel>`: the base URL of one emulator.
pub fn base_url(addr: SocketAddr, channel: ChannelKind) -> String {
    format!("http://{addr}/{}", channel.as_str())
}

fn url(addr: SocketAddr, channel: ChannelKind) -> url::Url {
    // A socket address and a fixed ASCII path segment always make a valid URL.
    url::Url::parse(&base_url(addr, channel))
        .unwrap_or_else(|e| unreachable!("loopback URL {addr} did not parse: {e}"))
}

/// The configuration of one channel against the sandbox at `addr`.
pub fn channel_config(
    demo: &DemoData,
    addr: SocketAddr,
    channel: ChannelKind,
    timeouts: Timeouts,
) -> ChannelConfig {
    match channel {
        ChannelKind::Shoubei => ChannelConfig::Shoubei(shoubei::Config {
            base_url: url(addr, channel),
            inst_no: demo.shoubei.inst_no.clone(),
            merchant_no: demo.shoubei.merchant_no.clone(),
            shop_no: demo.shoubei.shop_no.clone(),
            channel_type: None,
            key: Secret::new(demo.shoubei.key.clone()),
            timeouts,
        }),
        ChannelKind::Zvcms => ChannelConfig::Zvcms(zvcms::Config {
            base_url: url(addr, channel),
            open_id: demo.zvcms.open_id.clone(),
            grant_code: demo.zvcms.grant_code.clone(),
            secret: Secret::new(demo.zvcms.secret.clone()),
            store_mark: Some(demo.zvcms.multi_store_mark.clone()),
            store_id: None,
            token_naming: zvcms::TokenNaming::default(),
            timeouts,
        }),
        ChannelKind::Liantuofu => ChannelConfig::Liantuofu(liantuofu::Config {
            base_url: url(addr, channel),
            app_id: demo.liantuofu.app_id.clone(),
            consume_merchant_code: demo.liantuofu.merchant_code.clone(),
            consume_employee_id: None,
            key: Secret::new(demo.liantuofu.key.clone()),
            timeouts,
        }),
        ChannelKind::Allinpay => ChannelConfig::Allinpay(allinpay::Config {
            base_url: url(addr, channel),
            app_id: demo.allinpay.app_id.clone(),
            shop_id: demo.allinpay.shop_id.clone(),
            merchant_key: allinpay::MerchantKey(Arc::new(
                demo.allinpay_keys.merchant_private.clone(),
            )),
            platform_key: demo.allinpay_keys.platform_public.clone(),
            default_operator: Some("sandbox".into()),
            timeouts,
        }),
        ChannelKind::Yhtd => ChannelConfig::Yhtd(yhtd::Config {
            base_url: url(addr, channel),
            sign: false,
            resend_deduplicated: true,
            key: None,
            products: demo
                .products
                .iter()
                .map(|p| yhtd::Product {
                    no: p.product_no.clone(),
                    name: p.name.clone(),
                    unit_price: Fen(p.price_fen),
                })
                .collect(),
            timeouts,
        }),
    }
}

/// Every channel against the sandbox at `addr`, in the cashier screen's order.
pub fn config(demo: &DemoData, addr: SocketAddr, timeouts: Timeouts) -> Config {
    Config {
        zone: BusinessZone::CHINA,
        channels: ChannelKind::ALL
            .into_iter()
            .map(|kind| channel_config(demo, addr, kind, timeouts))
            .collect(),
        hq: None,
    }
}

/// One channel's demo settings against the sandbox at `addr` as a manager would type them in
/// 设置 (the same values [`channel_config`] builds in memory), for tests of the setup and
/// of 测试连接. The secrets are the demo data's: its public demo values and the sandbox's
/// own allinpay key pairs.
pub fn setup_edit(
    demo: &DemoData,
    addr: SocketAddr,
    channel: ChannelKind,
) -> redeemdesk_core::channel_setup::ChannelEdit {
    let text = |pairs: &[(&str, &str)]| -> std::collections::BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    };
    let url = base_url(addr, channel);
    let (settings, secrets) = match channel {
        ChannelKind::Shoubei => (
            text(&[
                ("base_url", &url),
                ("inst_no", &demo.shoubei.inst_no),
                ("merchant_no", &demo.shoubei.merchant_no),
                ("shop_no", &demo.shoubei.shop_no),
            ]),
            text(&[("key", &demo.shoubei.key)]),
        ),
        ChannelKind::Zvcms => (
            text(&[
                ("base_url", &url),
                ("open_id", &demo.zvcms.open_id),
                ("grant_code", &demo.zvcms.grant_code),
                ("store_mark", &demo.zvcms.multi_store_mark),
            ]),
            text(&[("secret", &demo.zvcms.secret)]),
        ),
        ChannelKind::Liantuofu => (
            text(&[
                ("base_url", &url),
                ("app_id", &demo.liantuofu.app_id),
                ("consume_merchant_code", &demo.liantuofu.merchant_code),
            ]),
            text(&[("key", &demo.liantuofu.key)]),
        ),
        ChannelKind::Allinpay => (
            text(&[
                ("base_url", &url),
                ("app_id", &demo.allinpay.app_id),
                ("shop_id", &demo.allinpay.shop_id),
            ]),
            text(&[
                (
                    "merchant_private_key_pem",
                    &demo.allinpay_keys.merchant_private_pem(),
                ),
                (
                    "platform_public_key_pem",
                    &demo.allinpay_keys.platform_public_pem(),
                ),
            ]),
        ),
        ChannelKind::Yhtd => (text(&[("base_url", &url)]), text(&[])),
    };
    redeemdesk_core::channel_setup::ChannelEdit {
        channel,
        settings: settings
            .into_iter()
            .map(|(k, v)| (k, toml::Value::String(v)))
            .collect(),
        secrets,
    }
}
