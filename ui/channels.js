// The channel chooser's model: F1… in the order of the cashier screen, over the channels
// this desk has configured (live mode shows only those; sandbox mode has all five), and
// 通联's platform (its prepare needs one; pressing its F-key again cycles it). The last
// choice is remembered.

export const CHANNELS = ['shoubei', 'zvcms', 'liantuofu', 'allinpay', 'yhtd'];
export const ALLINPAY_PLATFORMS = ['meituan', 'tiktok', 'dianping', 'mtdz'];

const KEY = 'redeemdesk.channel';

/** The configured channels in chooser order (unknown names from the core are left out). */
export function configured(kinds) {
  const list = Array.isArray(kinds) ? CHANNELS.filter((c) => kinds.includes(c)) : [];
  return list.length ? list : CHANNELS;
}

export function loadChoice(list = CHANNELS) {
  try {
    const saved = JSON.parse(localStorage.getItem(KEY) || 'null');
    if (saved && list.includes(saved.channel) && ALLINPAY_PLATFORMS.includes(saved.platform)) {
      return saved;
    }
  } catch (_) {
    // A damaged preference is not worth a message: fall back to the first channel.
  }
  return { channel: list[0], platform: ALLINPAY_PLATFORMS[0] };
}

/** The choice after pressing F(index+1): a new channel, or the next platform of 通联. */
export function choose(choice, index, list = CHANNELS) {
  const channel = list[index];
  if (!channel) return choice;
  let platform = choice.platform;
  if (channel === 'allinpay' && choice.channel === 'allinpay') {
    platform = ALLINPAY_PLATFORMS[(ALLINPAY_PLATFORMS.indexOf(platform) + 1) % ALLINPAY_PLATFORMS.length];
  }
  const next = { channel, platform };
  localStorage.setItem(KEY, JSON.stringify(next));
  return next;
}

/**
 * The channel and platform a code's own shape names, where it names one (channels.md §5: a
 * Douyin scan is a v.douyin.com short link); `null` for a shape that could be anything.
 */
export function choiceFromShape(raw) {
  if (/^\s*(https?:\/\/)?v\.douyin\.com\//i.test(String(raw ?? ''))) {
    return { channel: 'allinpay', platform: 'tiktok' };
  }
  return null;
}

/** Saves a choice made for the cashier (the code's shape), as an F-key press would. */
export function keepChoice(choice) {
  localStorage.setItem(KEY, JSON.stringify(choice));
  return choice;
}
