//! The core's channel configuration for sandbox mode: every channel pointed at this
//! sandbox (`http://127.0.0.1:PORT/<channel>`) with the demo data's secrets, and the 增值券
//! product table of the demo data. The app and the CLI use it instead of a config file
//! when they run in sandbox mode; nothing here is ever written to disk.

use crate::demo::DemoData;
use redeemdesk_core::channel::{BusinessZone, ChannelConfig, ChannelKind, Timeouts};
use redeemdesk_core::config::Config;
use std::net::SocketAddr;

/// `http://ADDR/<channel>`: the base URL of one emulator.
pub fn base_url(addr: SocketAddr, channel: ChannelKind) -> String {
    format!("http://{addr}/{}", channel.as_str())
}

fn url(addr: SocketAddr, channel: ChannelKind) -> url::Url {
    // A socket address and a fixed ASCII path segment always make a valid URL.
    url::Url::parse(&base_url(addr, channel))
        .unwrap_or_else(|e| unreachable!("loopback URL {addr} did not parse: {e}"))
}

/// The configuration of one channel against the sandbox at `addr` (each emulator module
/// owns its demo merchant's).
pub fn channel_config(
    demo: &DemoData,
    addr: SocketAddr,
    channel: ChannelKind,
    timeouts: Timeouts,
) -> ChannelConfig {
    crate::channels::demo_config(channel, demo, url(addr, channel), timeouts)
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
    let (settings, secrets) = crate::channels::demo_setup(channel, demo, &base_url(addr, channel));
    redeemdesk_core::channel_setup::ChannelEdit {
        channel,
        settings: settings
            .into_iter()
            .map(|(k, v)| (k.to_owned(), toml::Value::String(v)))
            .collect(),
        secrets: secrets
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
    }
}
