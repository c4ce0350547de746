// What the till shows for each answer: a look-up refused, expired or inconclusive, a
// command refused by a local check, a redemption's outcome, a settled attempt. Each is a
// result (`{state, title, amount, lines, sound}` with i18n keys, see result-view.js); no
// DOM and no state here, so every answer has one sentence, kept in one place.
import { clockOrDate, maskCode } from '../../format.js';
import { platformsOf } from '../../channels.js';

/** The coupon's name and masked code, or the code alone. */
export function nameLine(name, code) {
  return name
    ? { text: `${name}  ·  ${maskCode(code)}`, big: true, theirs: true }
    : { key: 'result.codeLine', params: { code: maskCode(code) } };
}

/** Under a refusal that reads "no such code": the channel and platform it was asked under. */
export function checkChoiceLine(asked) {
  return {
    key: platformsOf(asked.channel).length > 0 ? 'result.checkChannelPlatform' : 'result.checkChannel',
    // Named at each render, in the language of the moment.
    choice: { channel: asked.channel, platform: asked.platform },
    big: true,
    warn: true,
    testid: 'check-channel',
  };
}

function configRefusal(code, message) {
  return { state: 'refused', title: 'refused.config', lines: [{ key: 'refused.configHelp' }, { text: `${code}: ${message}` }], sound: 'rejected' };
}

/** Judged by the core against the business clock: nothing can be confirmed. */
export function outOfValidity(p) {
  const v = p.preview;
  const dates = [v.valid_from, v.valid_until].filter(Boolean).join(' — ');
  return {
    state: 'rejected',
    title: p.why === 'expired' ? 'result.expired' : 'result.notYetValid',
    lines: [
      { key: 'result.validityLine', params: { dates: dates || '—' }, big: true },
      ...(v.name ? [{ text: v.name, theirs: true }] : []),
      { key: 'result.codeLine', params: { code: maskCode(v.code) } },
    ],
    sound: 'rejected',
  };
}

/** The channel refused the look-up (`asked`: the channel and platform it was asked under). */
export function lookUpRefused(p, asked) {
  if (p.config_error) return configRefusal(p.channel_code, p.message);
  return {
    state: 'rejected',
    title: 'result.cannot',
    lines: [
      { text: p.message, big: true, theirs: true, says: true },
      ...(p.not_found ? [checkChoiceLine(asked)] : []),
      { key: 'result.codeLine', params: { code: maskCode(p.code) } },
    ],
    sound: 'rejected',
  };
}

/** No decisive answer to a look-up: nothing was redeemed, the cashier may try again. */
export function lookUpInconclusive(p, unreachable) {
  return {
    state: 'notice',
    title: unreachable ? 'result.unreachable' : 'result.noAnswer',
    lines: [{ key: 'result.notRedeemedRetry' }, { key: `reason.${p.reason_kind}` }],
    sound: 'notice',
  };
}

/**
 * A command refused by a local check (bad code, already redeemed here…) or a channel error,
 * by its code and structured detail (the UI never reads the message's text, except to show
 * a code no sentence of ours covers). `asked`: the channel choice of the moment.
 */
export function refused(e, asked) {
  const code = e?.code ?? 'internal';
  const d = e?.detail;
  const detail = d?.reason_kind
    ? { key: `reason.${d.reason_kind}` }
    : e?.field ? { text: e.field } : { text: e?.message ?? '' };
  switch (code) {
    // What was scanned cannot be a code: the scan's problem, not the channel's refusal,
    // so it has a look of its own (dashed, no red): scan again, nothing was asked.
    case 'code_empty':
      return { state: 'malformed', title: 'err.code_empty', lines: [{ key: 'err.code_empty.help' }], sound: 'notice' };
    case 'code_too_long':
      return { state: 'malformed', title: 'err.code_too_long', lines: [{ key: 'err.tooLongDetail', params: d ?? {}, big: true }, { key: 'err.rescan' }], sound: 'notice' };
    case 'code_bad_character': {
      const where = d ? { key: 'err.badCharAt', params: { ch: d.ch, pos: d.pos }, big: true } : detail;
      return { state: 'malformed', title: 'err.code_bad_character', lines: [where, { key: 'err.rescan' }], sound: 'notice' };
    }
    case 'already_redeemed':
      return {
        state: 'refused',
        title: 'refused.already',
        lines: d ? [{ key: 'refused.alreadyWhen', params: { time: clockOrDate(d.at_ms), name: d.by }, big: true }] : [detail],
        sound: 'rejected',
      };
    case 'redeemed_at_another_till':
      return {
        state: 'refused',
        title: 'refused.otherTill',
        lines: d
          ? [{ key: 'refused.otherTillWhen', params: { till: d.till, time: clockOrDate(d.at_ms), name: d.by }, big: true }]
          : [detail],
        sound: 'rejected',
      };
    case 'unresolved':
      return { state: 'unknown', title: 'refused.unresolved', lines: [{ key: 'refused.unresolvedHelp', big: true }], sound: 'unknown' };
    case 'duplicate':
      return { state: 'notice', title: 'err.duplicate', lines: [{ key: 'err.duplicate.help' }] };
    case 'prepare_expired':
      return { state: 'notice', title: 'err.prepare_expired', lines: [{ key: 'err.rescan' }], sound: 'notice' };
    case 'channel_config':
      return { state: 'refused', title: 'refused.config', lines: [{ key: 'refused.configHelp' }, detail], sound: 'rejected' };
    case 'platform_needed':
      return { state: 'notice', title: 'err.platform_needed', lines: [], sound: 'notice' };
    case 'channel_not_configured':
      return { state: 'refused', title: 'err.channel_not_configured', lines: [{ key: 'err.channel_not_configured.help', choice: { channel: asked.channel, platform: asked.platform }, big: true }], sound: 'rejected' };
    case 'channel_error':
      return { state: 'notice', title: 'result.unreachable', lines: [{ key: 'result.notRedeemedRetry' }, detail], sound: 'notice' };
    case 'no_shift':
      return { state: 'refused', title: 'err.no_shift', lines: [{ key: 'err.no_shift.help', big: true }], sound: 'rejected' };
    case 'ledger_damaged':
      return { state: 'refused', title: 'damaged.title', lines: [{ key: 'damaged.text', big: true }], sound: 'rejected' };
    default:
      return { state: 'notice', title: 'err.other', lines: [{ text: `${code}: ${e?.message ?? ''}` }], sound: 'notice' };
  }
}

/** The channel refused the redemption: nothing was consumed. */
export function redemptionRefused(outcome, attempt, name, notFound, asked) {
  if (outcome.config_error) return configRefusal(outcome.code, outcome.message);
  return {
    state: 'rejected',
    title: 'result.failed',
    attemptId: attempt.id,
    lines: [
      { text: outcome.message, big: true, theirs: true, says: true },
      ...(notFound ? [checkChoiceLine(asked)] : []),
      { key: 'result.failedCode', params: { code: outcome.code } },
      nameLine(name, attempt.code),
    ],
    sound: 'rejected',
  };
}

/** Amber 结果待确认: the coupon may be consumed; the system keeps checking. */
export function redemptionUnknown(attempt, name) {
  return {
    state: 'unknown',
    title: 'result.unknown',
    attemptId: attempt.id,
    code: attempt.code,
    name,
    lines: [{ key: 'result.unknownHelp', big: true, warn: true }, { key: 'result.unknownAuto' }, nameLine(name, attempt.code)],
    sound: 'unknown',
  };
}

/** A settled attempt: green with the amount and count, or red; null while it is open. */
export function settled(a, name, bySystem) {
  if (a.state === 'succeeded') {
    const remaining = a.remaining_before != null ? a.remaining_before - a.count : null;
    return {
      state: 'succeeded',
      title: 'result.succeeded',
      attemptId: a.id,
      // The figures; their words are made at each render, in the language of the moment.
      amount: { total: a.settled_face_value, count: a.count, each: a.face_value, uses: a.remaining_before != null },
      lines: [
        ...(bySystem ? [{ key: 'result.confirmedBySystem', big: true }] : []),
        nameLine(name, a.code),
        ...(remaining != null ? [{ key: 'result.remaining', params: { n: remaining } }] : []),
      ],
      sound: 'succeeded',
    };
  }
  if (a.state === 'rejected') {
    return { state: 'rejected', title: 'result.failed', attemptId: a.id, lines: [{ key: 'result.notConsumed', big: true }, nameLine(name, a.code)], sound: 'rejected' };
  }
  if (a.state === 'cancelled') {
    return { state: 'rejected', title: 'result.cancelled', attemptId: a.id, lines: [nameLine(name, a.code)], sound: 'rejected' };
  }
  return null;
}
