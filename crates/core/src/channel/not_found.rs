//! Whether a channel's refusal says the code does not exist there. No seed gives the code
//! for it, and each channel (and each emulator written from the seeds) words it its own way,
//! so this reads the channel's words. It only ever adds a hint for the cashier ("请确认渠道 /
//! 平台": a good code under the wrong F-key or platform reads as "券码不存在"); it never
//! decides a verdict, so a miss costs a hint and a false hit a superfluous one.

/// Words a refusal uses for "no such code".
const NO_SUCH_CODE: [&str; 9] = [
    "不存在",
    "未找到",
    "查无",
    "找不到",
    "无此",
    "无效",
    "not exist",
    "not found",
    "no such",
];

/// A refusal about something else that does not exist: our own configuration (merchant,
/// shop, app id…) or a record of ours, never the code the customer showed.
const ABOUT_SOMETHING_ELSE: [&str; 11] = [
    "商户", "门店", "店铺", "机构", "appid", "app_id", "方法", "action", "产品", "记录", "merchant",
];

pub fn says_no_such_code(message: &str) -> bool {
    let m = message.to_lowercase();
    NO_SUCH_CODE.iter().any(|w| m.contains(w))
        && !ABOUT_SOMETHING_ELSE.iter().any(|w| m.contains(w))
}

#[cfg(test)]
mod tests {
    use super::says_no_such_code;

    #[test]
    fn a_missing_code_is_told_from_a_missing_merchant_or_record() {
        for yes in [
            "券码不存在",
            "优惠券不存在",
            "次卡不存在",
            "券码无效",
            "Coupon not found",
            "code does not exist",
        ] {
            assert!(says_no_such_code(yes), "{yes}");
        }
        for no in [
            "商户不存在",
            "门店不存在",
            "appId不存在",
            "核销记录不存在",
            "券已使用",
            "已过期",
            "产品不存在",
        ] {
            assert!(!says_no_such_code(no), "{no}");
        }
    }
}
