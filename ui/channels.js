// The channel chooser's model: F1… over the channels the core lists (`channels` command:
// live mode only the configured ones, sandbox mode all of them), in the core's order, and
// the platform of a channel that has several (its capabilities' `platforms`, 通联's; pressing
// its F-key again cycles it). The last choice is remembered. No list of channels is kept
// here: it comes from the core.

/** The chooser's channels in order, as the core's `channels` command listed them. */
export let CHANNELS = [];
/** Each listed channel's platforms (empty for a channel without). */
const PLATFORMS = new Map();
/** The listed channels that sell (增值券's order form) rather than redeem scanned codes. */
const SELLING = new Set();

const KEY = 'redeemdesk.channel';

/** Takes the core's `[{kind, capabilities}]` (api.channels) as the chooser's channels. */
export function setChannels(infos) {
  if (!Array.isArray(infos) || !infos.length) return;
  CHANNELS = infos.map((c) => c.kind);
  PLATFORMS.clear();
  SELLING.clear();
  for (const c of infos) {
    PLATFORMS.set(c.kind, c.capabilities?.platforms || []);
    if (c.capabilities && c.capabilities.redeems_codes === false) SELLING.add(c.kind);
  }
}

/** Whether `channel` sells through a form instead of redeeming scanned codes. */
export function sells(channel) {
  return SELLING.has(channel);
}

/** The platforms the cashier chooses between on `channel`, in the core's order. */
export function platformsOf(channel) {
  return PLATFORMS.get(channel) || [];
}

/** Every platform of the listed channels: a remembered platform must be one of them. */
function allPlatforms() {
  return [...new Set([...PLATFORMS.values()].flat())];
}

/** The chooser's channels: the core's list (`channels`), else app_info's same list. */
export function configured(kinds) {
  if (CHANNELS.length) return CHANNELS;
  return Array.isArray(kinds) ? kinds.filter((k) => typeof k === 'string') : [];
}

export function loadChoice(list = CHANNELS) {
  const platforms = allPlatforms();
  try {
    const saved = JSON.parse(localStorage.getItem(KEY) || 'null');
    if (saved && list.includes(saved.channel) && (!platforms.length || platforms.includes(saved.platform))) {
      return saved;
    }
  } catch (_) {
    // A damaged preference is not worth a message: fall back to the first channel.
  }
  return { channel: list[0], platform: platforms[0] ?? null };
}

/** The choice after pressing F(index+1): a new channel, or the channel's next platform. */
export function choose(choice, index, list = CHANNELS) {
  const channel = list[index];
  if (!channel) return choice;
  let platform = choice.platform;
  const platforms = platformsOf(channel);
  if (platforms.length && choice.channel === channel) {
    platform = platforms[(platforms.indexOf(platform) + 1) % platforms.length];
  } else if (platforms.length && !platforms.includes(platform)) {
    platform = platforms[0];
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
