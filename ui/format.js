// How amounts, times and codes are shown. Money arrives in fen (integers) and is never
// turned into a float for display.
import { yuanFigure } from './views/dom.js';

/** ¥12.34 from 1234 fen; '' when the channel did not say. */
export function yuan(fen) {
  const figure = yuanFigure(fen);
  if (figure === '') return '';
  return figure.startsWith('−') ? `−¥${figure.slice(1)}` : `¥${figure}`;
}

/**
 * A total that cannot be read as unit price × count: `{money, detail}` where money is the
 * total ("共 ¥180.00" when more than one) and detail the breakdown ("（2 张 × ¥90.00）"), the
 * unit being 张 for coupons and 次 for uses of a times card. The unit price shows only when
 * it is known (`each`) and multiplies out to the total: three certificates of ¥298, ¥298 and
 * ¥28 are "（3 张）", never "× ¥208.00". `t` is the UI's translator.
 */
export function breakdown(t, { total, count, each = null, uses = false }) {
  const unit = t(uses ? 'unit.uses' : 'unit.pieces', { n: count });
  const known = total !== null && total !== undefined;
  const money = !known ? '' : count > 1 ? t('amount.total', { amount: yuan(total) }) : yuan(total);
  if (!count) return { money, detail: '' };
  if (count === 1 || !known) return { money, detail: unit };
  if (each !== null && each !== undefined && Number(each) * count === Number(total)) {
    return { money, detail: t('amount.each', { unit, each: yuan(each) }) };
  }
  return { money, detail: t('amount.only', { unit }) };
}

// Times are shown in the store's business zone (设置 › 营业日, +08:00 by default), the zone the
// business day, the exports and the reconciliation use — not the till's own clock zone, which
// may be UTC on a badly set machine and would put 06:00 rows under 22:00 of the day before.
let zoneMinutes = null;

/** Sets the business zone (minutes east of UTC); until then, the till's local zone. */
export function setZone(offsetMinutes) {
  zoneMinutes = typeof offsetMinutes === 'number' && Number.isFinite(offsetMinutes) ? offsetMinutes : null;
}

/**
 * The wall time of `ms` in the business zone, as `{y, mo, d, h, mi, s}` (month 1–12).
 */
export function wallTime(ms) {
  if (zoneMinutes === null) {
    const d = new Date(Number(ms));
    return { y: d.getFullYear(), mo: d.getMonth() + 1, d: d.getDate(), h: d.getHours(), mi: d.getMinutes(), s: d.getSeconds() };
  }
  const d = new Date(Number(ms) + zoneMinutes * 60_000);
  return { y: d.getUTCFullYear(), mo: d.getUTCMonth() + 1, d: d.getUTCDate(), h: d.getUTCHours(), mi: d.getUTCMinutes(), s: d.getUTCSeconds() };
}

export const pad2 = (n) => String(n).padStart(2, '0');

/**
 * HH:MM when `ms` falls on the same calendar day as `nowMs` in the business zone, else
 * YYYY-MM-DD HH:MM: "已于 05:31" must not read as today for a redemption of last week.
 */
export function clockOrDate(ms, nowMs = Date.now()) {
  const w = wallTime(ms);
  const n = wallTime(nowMs);
  if (w.y === n.y && w.mo === n.mo && w.d === n.d) return clock(ms);
  return `${w.y}-${pad2(w.mo)}-${pad2(w.d)} ${clock(ms)}`;
}

/** HH:MM of a millisecond timestamp, in the business zone. */
export function clock(ms) {
  const w = wallTime(ms);
  return `${pad2(w.h)}:${pad2(w.mi)}`;
}

/** The first four and last four characters of a code, so a strip never shows a whole code. */
/** A chain head as printed on exports and slips: `#1234:9f3a6c1e0d2b4a77…`. */
export function chainHead(anchor) {
  return anchor ? `#${anchor.id}:${anchor.hash.slice(0, 16)}…` : '';
}

export function maskCode(code) {
  const s = String(code ?? '');
  const chars = Array.from(s);
  if (chars.length <= 8) return s;
  return `${chars.slice(0, 4).join('')}…${chars.slice(-4).join('')}`;
}

/**
 * The code as the scanner meant it, for recognising a double read only (the Rust side does
 * the real normalisation): NFKC, no control characters, no whitespace.
 */
export function looseCode(raw) {
  return String(raw ?? '')
    .normalize('NFKC')
    .replace(/[\p{Cc}\s]/gu, '');
}
