// The only caller of `invoke`: every view talks to the Rust side through these functions.
// A failed command rejects with `{code, message}` (src-tauri/error.rs); anything else the
// IPC layer throws is normalised to that shape so views handle one kind of error.

const core = window.__TAURI__ && window.__TAURI__.core;
const events = window.__TAURI__ && window.__TAURI__.event;

/**
 * Counters the end-to-end tests read (crates/e2e/tests/cashier.rs): how many look-ups and
 * redemptions left the UI, the last raw code sent, and how long from the key that asked for
 * a look-up to the request leaving (`markKey` records the key's time).
 */
const stats = { prepare: 0, redeem: 0, lastRawCode: null, keyToPrepareMs: [], keyAt: null };
window.__redeemdesk_stats = stats;

/** Records when the key that triggers the next look-up was pressed (event.timeStamp). */
export function markKey(timeStamp) {
  stats.keyAt = timeStamp;
}

async function call(cmd, args) {
  if (!core) {
    throw { code: 'no_ipc', message: 'the Tauri IPC bridge is missing' };
  }
  try {
    return await core.invoke(cmd, args);
  } catch (e) {
    if (e && typeof e === 'object' && typeof e.code === 'string') throw e;
    throw { code: 'internal', message: String(e) };
  }
}

/** Version, mode ('sandbox' | 'live') and data directory; rejects with the start-up failure. */
export function appInfo() {
  return call('app_info');
}

/** Closes the app after a failed start (the process exits non-zero). */
export function quitAfterFatal() {
  return call('quit_after_fatal');
}

/** Looks a code up: `{state: 'ready' | 'rejected' | 'unknown', …}` (core redeem::Prepared). */
export function prepare(channel, platform, rawCode, cashier) {
  stats.prepare += 1;
  stats.lastRawCode = rawCode;
  if (stats.keyAt !== null) {
    // Event.timeStamp is on the performance clock; an engine on the epoch clock says so by size.
    const elapsed = stats.keyAt > 1e12 ? Date.now() - stats.keyAt : performance.now() - stats.keyAt;
    stats.keyToPrepareMs.push(elapsed);
    stats.keyAt = null;
  }
  return call('prepare', {
    input: { channel, platform: channel === 'allinpay' ? platform : null, raw_code: rawCode, cashier },
  });
}

/** Confirms a preview: `{attempt, outcome}` (core redeem::Redemption). */
export function redeem(token, count, certificates, cashier) {
  stats.redeem += 1;
  return call('redeem', { input: { token, count, certificates, cashier } });
}

/** This cashier's latest attempts, newest first. */
export function recentAttempts(cashier, limit) {
  return call('recent_attempts', { cashier, limit });
}

/** The 增值券 product table: `[{no, name, unit_price}]`. */
export function products() {
  return call('products');
}

/** Queues a 增值券 sale in the outbox; answers the queued notification. */
export function submitOrder(order) {
  return call('submit_order', { input: order });
}

/**
 * Calls `handler(payload)` for every change the desk announces: `{kind: 'attempt', attempt}`
 * or `{kind: 'notification', notification}`. Resolves once listening.
 */
export async function onDeskEvent(handler) {
  if (!events) return () => {};
  return events.listen('desk', (e) => handler(e.payload));
}
