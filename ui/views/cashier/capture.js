// The capture field's state machine: what a terminator (Enter, Tab, CR, LF) means now.
// A scanner types a burst of keys ending in CR, LF, CRLF or Tab. The first terminator asks
// for one look-up; a second terminator right behind it (the LF of a CRLF) is swallowed, and
// the same code read again within two seconds (a scanner's double read) is ignored, so one
// scan is one look-up. No DOM here: the cashier screen asks and acts.

/** A second read of the same code within this window is the scanner reading twice. */
export const DOUBLE_READ_MS = 2000;
/** A terminator this soon after another, on an empty field, is the second half of a CRLF. */
export const TERMINATOR_GAP_MS = 150;
/**
 * A bare terminator this soon after a preview opened is not the cashier confirming: it is
 * the trailing LF of the scan that asked for the preview, handled late because the page
 * was busy. Nobody reads a preview and decides in under a fifth of a second.
 */
export const CONFIRM_GUARD_MS = 200;

/**
 * `mode` is the till's: idle | preparing | preview | redeeming. `terminator` answers one of
 * 'swallow' (the LF of a CRLF), 'defer' (a code typed while a call is out: looked up when
 * it answers), 'busy' (nothing to do), 'early' (too soon to be a confirmation), 'confirm'
 * or 'submit'.
 */
export function createCapture() {
  let lastSubmit = { key: null, at: -Infinity };
  let lastTerminatorAt = -Infinity;
  let previewShownAt = -Infinity;
  let deferred = false;
  return {
    terminator(key, now, mode) {
      const gap = now - lastTerminatorAt;
      lastTerminatorAt = now;
      if (key === '' && gap < TERMINATOR_GAP_MS) return 'swallow';
      if (mode === 'preparing' || mode === 'redeeming') {
        if (key === '') return 'busy';
        deferred = true;
        return 'defer';
      }
      if (mode === 'preview' && key === '') {
        return now - previewShownAt < CONFIRM_GUARD_MS ? 'early' : 'confirm';
      }
      return 'submit';
    },
    /** The same code as the preview up, or as the last look-up a moment ago. */
    isDoubleRead(key, now, previewKey) {
      if (key === '') return false;
      if (previewKey !== null && key === previewKey) return true;
      return key === lastSubmit.key && now - lastSubmit.at < DOUBLE_READ_MS;
    },
    submitted(key, now) { lastSubmit = { key, at: now }; },
    /** Another channel or platform: the same code scanned now is a new question. */
    forget() { lastSubmit = { key: null, at: -Infinity }; },
    /** A preview (or its warning) just opened: the next Enter must be a new one. */
    previewShown(now) { previewShownAt = now; },
    /** Whether a look-up was deferred; clears it. */
    takeDeferred() {
      const d = deferred;
      deferred = false;
      return d;
    },
    clearDeferred() { deferred = false; },
  };
}
