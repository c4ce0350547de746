// The only caller of `invoke`: every view talks to the Rust side through these functions.
// A failed command rejects with `{code, message}` (src-tauri/error.rs); anything else the
// IPC layer throws is normalised to that shape so views handle one kind of error.
import { currentLang } from './i18n.js';
import { platformsOf } from './channels.js';

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

/**
 * 另起新账本: in place of a damaged ledger only. The app restarts; the next start sets the
 * old file aside (kept, renamed) and starts a new one.
 */
export function startNewLedger() {
  return call('start_new_ledger');
}

/** Sandbox mode's demo codes: `[{code, channel, platform, name, note_en, note_zh}]`. */
export function demoCodes() {
  return call('demo_codes');
}

/** Looks a code up: `{state: 'ready' | 'rejected' | 'unknown', …}` (core redeem::Prepared). */
export function prepare(channel, platform, rawCode) {
  stats.prepare += 1;
  stats.lastRawCode = rawCode;
  if (stats.keyAt !== null) {
    // Event.timeStamp is on the performance clock; an engine on the epoch clock says so by size.
    const elapsed = stats.keyAt > 1e12 ? Date.now() - stats.keyAt : performance.now() - stats.keyAt;
    stats.keyToPrepareMs.push(elapsed);
    stats.keyAt = null;
  }
  return call('prepare', {
    // Only a channel with platforms (its capabilities, from the core) takes one.
    input: { channel, platform: platformsOf(channel).length ? platform : null, raw_code: rawCode },
  });
}

/**
 * Confirms a preview: `{attempt, outcome}` (core redeem::Redemption). No cashier is sent: the
 * desk records the cashier of its open shift, and refuses with `no_shift` when none is open.
 */
export function redeem(token, count, certificates) {
  stats.redeem += 1;
  return call('redeem', { input: { token, count, certificates } });
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

// ---------------------------------------------------------------- manager screens
// Every one of these but the PIN calls is refused with `manager_locked` until the manager
// PIN unlocks them, and again after the session idles (ui/views/manager/shell.js).

/** Whether a manager PIN exists yet. */
export function managerPinIsSet() {
  return call('manager_pin_is_set');
}

/** Sets the first PIN (current = null) or changes it. */
export function setManagerPin(current, newPin, name) {
  return call('set_manager_pin', { current, newPin, name });
}

export function managerUnlock(pin, name) {
  return call('manager_unlock', { pin, name });
}

export function managerLock() {
  return call('manager_lock');
}

/** The configured channels with their capabilities: `[{kind, capabilities}]`. */
export function channels() {
  return call('channels');
}

/**
 * One business day ('YYYY-MM-DD') under `{channel, state, cashier, code}`:
 * `{day, attempts, totals, total}` — `attempts` holds the first `first` of the day's `total`
 * when `first` is given, else all of them.
 */
export function dayLog(day, filter, first = null) {
  return call('day_log', { day, filter, first });
}

/** Every attempt on a code with every event (secret-free exchanges). */
export function codeTimeline(code) {
  return call('code_timeline', { code });
}

/** `{unknowns, failing_notifications, reconciliations_to_review}`. */
export function inbox() {
  return call('inbox');
}

/** Records a decision ('succeeded' | 'rejected') on an unknown attempt. */
export function decide(attemptId, decision, reason) {
  return call('decide', { attemptId, decision, reason });
}

export function retryUnknown(attemptId) {
  return call('retry_unknown', { attemptId });
}

export function retryNotification(notificationId) {
  return call('retry_notification', { notificationId });
}

export function settleNotification(notificationId, delivered, reason) {
  return call('settle_notification', { notificationId, delivered, reason });
}

/** `{attempt, via, window_left_ms, warnings, refused}`. */
export function undoPreview(attemptId) {
  return call('undo_preview', { attemptId });
}

export function undo(attemptId, reason) {
  return call('undo', { attemptId, reason });
}

/** Against the channel's history (statement = null) or a statement `{file, mapping}` with
 * `text` (pasted) or `base64` (a picked file's bytes: it may be GBK or UTF-16). */
export function reconcileDay(day, channel, statement) {
  return call('reconcile_day', { day, channel, statement });
}

export function signOffDay(reconciliationId, note) {
  return call('sign_off_day', { reconciliationId, note });
}

export function dayReconciliations(day) {
  return call('day_reconciliations', { day });
}

export function statementMapping(channel) {
  return call('statement_mapping', { channel });
}

export function saveStatementMapping(channel, mapping) {
  return call('save_statement_mapping', { channel, mapping });
}

/** `{columns, encoding, lines, problems}` of a statement (`{text}` or `{base64}`) under a mapping. */
export function checkStatement(content, mapping) {
  return call('check_statement', { ...content, mapping });
}

/**
 * Writes the filtered log ('csv' | 'xlsx') where the manager picks; answers the path or null.
 * The file's words and name are in the UI's language of the moment; its id columns are not.
 */
export function exportDayLog(day, filter, format) {
  return call('export_day_log', { day, filter, format, lang: currentLang() });
}

export function exportReconciliation(day, channel, reconciliationId, format) {
  return call('export_reconciliation', { day, channel, reconciliationId, format, lang: currentLang() });
}

// ---------------------------------------------------------------- shift and settings

/** The cashier list for the shift-start chooser: `[{name, has_pin}]`. */
export function cashiers() {
  return call('cashiers');
}

/** Starts a shift; rejects with `pin_wrong` for a wrong PIN. */
export function startShift(name, pin) {
  return call('start_shift', { name, pin });
}

/** 交班: ends the open shift. */
export function endShift() {
  return call('end_shift');
}

/** Replaces the cashier list (manager): `[{name, pin}]`, pin null keeps, '' removes. */
export function setCashiers(list) {
  return call('set_cashiers', { list });
}

/** Every configured channel's settings, keys masked: `[{channel, settings, secrets}]`. */
export function channelSetup() {
  return call('channel_setup');
}

/** Saves one channel; the first save switches to live mode and needs `confirmLive`. */
export function saveChannelSetup(edit, confirmLive) {
  return call('save_channel_setup', { edit, confirmLive });
}

/** One harmless call with the settings as typed: `{channel, result, detail, http_status, elapsed_ms}`. */
export function testChannelConnection(edit) {
  return call('test_channel_connection', { edit });
}

/** `{scan_prefix, scan_suffix, cutoff_minutes, utc_offset_minutes}`. */
export function deskSettings() {
  return call('desk_settings');
}

export function saveDeskSettings(settings) {
  return call('save_desk_settings', { settings });
}

/** `{running, next_start}`: 'sandbox' | 'live'. */
export function modeStatus() {
  return call('mode_status');
}

/** Restarts the app (manager) so saved channel settings take effect. */
export function restartApp() {
  return call('restart_app');
}

// ---------------------------------------------------------------- slips (issue 22)

/** 打印机: `{target: null | {kind: 'network', address} | {kind: 'device', path}, paper: '58' | '80', auto_print, store, till}`. */
export function printerSettings() {
  return call('printer_settings');
}

export function savePrinterSettings(settings) {
  return call('save_printer_settings', { settings });
}

/** 打印测试页 (manager): the queued job `{id, kind, state, …}`. */
export function printTestPage() {
  return call('print_test_page');
}

/** Once the answer is on screen: the receipt's job when auto-print is on, else null. */
export function afterAnswer(attemptId) {
  return call('after_answer', { attemptId });
}

/** The cashier prints an attempt's slip (receipt or 待确认 note); a reprint if printed before. */
export function printSlip(attemptId, cashier) {
  return call('print_slip', { attemptId, cashier });
}

/** The manager reprints an attempt's slip or a job (a 交班单) by its id. */
export function reprintSlip(attemptId, jobId) {
  return call('reprint_slip', { attemptId: attemptId ?? null, jobId: jobId ?? null });
}

/** The latest print jobs, newest first (manager). */
export function recentSlips() {
  return call('recent_slips');
}

/** The virtual printer's last slips as pictures: `[{seq, received_ms, png, text}]` (sandbox). */
export function virtualSlips() {
  return call('virtual_slips');
}

// ---------------------------------------------------------------- chain mode (issue 21)

/**
 * The sync badge: `null` without `[hq]`, else `{state: 'synced'} | {state: 'pending', rows} |
 * {state: 'unreachable', rows, error} | {state: 'fork', message}` (core hq_sync::SyncState).
 */
export function syncState() {
  return call('sync_state');
}

/**
 * 门店 (manager): the store's day across its tills, `{source: 'hq' | 'local', local_reason,
 * day, this_till, attempts, per_channel, per_till, fork}` — `local` is this till alone (本机).
 */
export function storeDay(day) {
  return call('store_day', { day });
}
