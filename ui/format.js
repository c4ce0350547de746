// How amounts, times and codes are shown. Money arrives in fen (integers) and is never
// turned into a float for display.

/** ¥12.34 from 1234 fen; '' when the channel did not say. */
export function yuan(fen) {
  if (fen === null || fen === undefined || !Number.isFinite(Number(fen))) return '';
  const n = Math.trunc(Number(fen));
  const abs = Math.abs(n);
  return `${n < 0 ? '−' : ''}¥${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`;
}

/** HH:MM of a millisecond timestamp, in the till's local time. */
export function clock(ms) {
  const d = new Date(Number(ms));
  return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
}

/** The first four and last four characters of a code, so a strip never shows a whole code. */
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
