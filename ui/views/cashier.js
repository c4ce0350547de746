// The cashier screen (收银核销): channel chooser, the always-focused capture field, the
// preview of a scanned code, the result panel and the recent-attempts strip; F5 shows the
// 增值券 sale form instead. Keyboard first: F1…F5 choose, Enter looks up and confirms,
// +/− (or ↑/↓) change the count, ↑/↓ and Space tick Douyin certificates, Esc cancels.
//
// A scanner types a burst of keys ending in CR, LF, CRLF or Tab. The first terminator asks
// for one look-up; a second terminator right behind it (the LF of a CRLF) is swallowed, and
// the same code read again within two seconds (a scanner's double read) is ignored, so one
// scan is one look-up. The Rust side normalises the code and debounces redeems as well.
import { t, applyStatic, currentLang, setLang } from '../i18n.js';
import { configured, loadChoice, choose, choiceFromShape, keepChoice } from '../channels.js';
import * as api from '../api.js';
import { currentCashier } from '../shift.js';
import { mountEndShift } from './shift-start.js';
import { yuan, clock, clockOrDate, maskCode, looseCode, breakdown } from '../format.js';
import { play, soundOn, setSoundOn } from '../sound.js';
import { createRecent } from './recent.js';
import { createPrintBar } from './slip.js';
import { createSale } from './sale.js';
import { mountSyncBadge } from './sync-badge.js';

/** A second read of the same code within this window is the scanner reading twice. */
const DOUBLE_READ_MS = 2000;
/** A terminator this soon after another, on an empty field, is the second half of a CRLF. */
const TERMINATOR_GAP_MS = 150;
/**
 * A bare terminator this soon after a preview opened is not the cashier confirming: it is
 * the trailing LF of the scan that asked for the preview, handled late because the page
 * was busy. Nobody reads a preview and decides in under a fifth of a second.
 */
const CONFIRM_GUARD_MS = 200;
/** Reasons for an inconclusive look-up that mean the channel could not be reached. */
const UNREACHABLE_KINDS = ['connection_failed', 'timeout'];

export function renderCashier(root, info) {
  root.replaceChildren(document.getElementById('cashier-template').content.cloneNode(true));
  // Only the configured channels, numbered F1… in order (the core's list in app_info).
  const channels = configured(info.channels);
  let choice = loadChoice(channels);

  const $ = (sel) => root.querySelector(sel);
  const input = $('#code-input');
  const chooser = $('#channel-chooser');
  const about = $('#about-dialog');
  const demo = $('#demo-dialog');
  /** The About box or the demo codes are up: the till takes no key meanwhile. */
  const dialogOpen = () => about.open || demo.open;
  const captureSection = $('#capture-section');
  const captureNote = $('#capture-note');
  const previewPanel = $('#preview-panel');
  const resultPanel = $('#result-panel');
  const saleForm = $('#sale-form');
  const banner = $('#offline-banner');
  const clockBanner = $('#clock-banner');
  const syncBadge = mountSyncBadge($('#mode-badge'));
  // The desk's clock against the channels' (core clock_skew.rs), refreshed after each answer.
  let skew = info.clock_skew ?? null;

  // idle | preparing | preview | redeeming
  let mode = 'idle';
  let damaged = null; // why the till stopped redeeming (the ledger's integrity check failed)
  let seq = 0; // bumps on every look-up and on Esc: a late answer to an older one is dropped
  let prepared = null; // {token, preview, max_count, earlier_success, channel}
  let count = 1;
  let certs = []; // Douyin certificates, each {…certificate, ticked}
  let certCursor = 0;
  let previewStatus = null; // {key, params}
  let lastSubmit = { key: null, at: -Infinity };
  let lastTerminatorAt = -Infinity;
  let previewShownAt = -Infinity;
  let deferred = false;
  let result = { state: 'idle' };
  let beforeBusy = result; // what the panel showed before the current look-up
  let note = null; // {key, params} under the capture field
  let offline = null; // the channel that could not be reached
  // A confirmation on a channel known unreachable needs a second, deliberate Enter.
  let armed = false;
  let waitTimer = null; // ticks the "waiting for the channel" line while redeeming
  let redeemStartedAt = 0;

  const endShiftText = mountEndShift($('#cashier-name'));
  const recent = createRecent($('#recent-list'), currentCashier(), (id) =>
    api.printSlip(id, currentCashier()).then(() => {}, () => {}),
  );
  const printBar = createPrintBar($('#result-print'), $('#print-status'), $('#print-again'), currentCashier());
  const sale = createSale(saleForm, play);

  // ---------------------------------------------------------------- channel chooser

  /** 通联·抖音, 收呗…: the current choice in words. */
  function choiceName() {
    return choice.channel === 'allinpay'
      ? `${t('channel.allinpay')}·${t(`platform.${choice.platform}`)}`
      : t(`channel.${choice.channel}`);
  }

  function renderChooser() {
    $('#capture-channel').textContent = choiceName();
    chooser.setAttribute('aria-label', t('chooser.label'));
    chooser.replaceChildren(
      ...channels.map((channel, i) => {
        const b = document.createElement('button');
        b.type = 'button';
        b.className = 'channel' + (choice.channel === channel ? ' active' : '');
        b.dataset.channel = channel;
        b.dataset.testid = `channel-${channel}`;
        b.tabIndex = -1;
        b.setAttribute('aria-pressed', String(choice.channel === channel));
        const key = document.createElement('kbd');
        key.textContent = `F${i + 1}`;
        const name = document.createElement('span');
        name.textContent = t(`channel.${channel}`);
        b.append(key, name);
        if (channel === 'allinpay') {
          const p = document.createElement('span');
          p.className = 'platform';
          p.textContent = '·' + t(`platform.${choice.platform}`);
          b.append(p);
        }
        b.addEventListener('click', () => pick(i));
        return b;
      }),
    );
  }

  function pick(index) {
    if (!channels[index]) return;
    const before = choice.channel;
    choice = choose(choice, index, channels);
    if (mode === 'preview') cancel();
    // An answer about another channel's code must not stay up under the new channel.
    if (choice.channel !== before && mode === 'idle') showResult({ state: 'idle' });
    renderChooser();
    showMode();
  }

  /** The sale form for 增值券, the capture field for every other channel. */
  function showMode() {
    const selling = choice.channel === 'yhtd';
    saleForm.hidden = !selling;
    captureSection.hidden = selling;
    resultPanel.hidden = selling || mode === 'preview' || mode === 'redeeming';
    previewPanel.hidden = selling || !(mode === 'preview' || mode === 'redeeming');
    document.body.dataset.screen = selling ? 'sale' : 'capture';
    if (selling) sale.show();
    else input.focus();
  }

  // ---------------------------------------------------------------- capture field

  function setNote(key, params = {}) {
    note = key ? { key, params } : null;
    captureNote.textContent = note ? t(note.key, note.params) : '';
  }

  function onTerminator(timeStamp) {
    if (managerOpen()) return;
    const raw = input.value;
    const key = looseCode(raw);
    const now = performance.now();
    const gap = now - lastTerminatorAt;
    lastTerminatorAt = now;
    if (key === '' && gap < TERMINATOR_GAP_MS) {
      input.value = '';
      return; // the LF of a CRLF, or a Tab after an Enter
    }
    if (mode === 'preparing' || mode === 'redeeming') {
      if (key !== '') deferred = true; // looked up when the current call answers
      return;
    }
    if (mode === 'preview' && key === '') {
      if (now - previewShownAt < CONFIRM_GUARD_MS) return;
      confirm();
      return;
    }
    submitCode(raw, key, timeStamp, now);
  }

  function isDoubleRead(key, now) {
    if (key === '') return false;
    if (mode === 'preview' && prepared && key === looseCode(prepared.preview.code)) return true;
    return key === lastSubmit.key && now - lastSubmit.at < DOUBLE_READ_MS;
  }

  function submitCode(raw, key, timeStamp, now) {
    input.value = '';
    if (isDoubleRead(key, now)) {
      setNote('capture.doubleRead');
      return;
    }
    setNote(null);
    // A code whose shape names its channel (a Douyin link) goes there, and the note says so:
    // under the wrong F-key a good code would read as "券码不存在".
    const named = choiceFromShape(raw);
    if (named && channels.includes(named.channel)
        && (named.channel !== choice.channel || named.platform !== choice.platform)) {
      choice = keepChoice(named);
      renderChooser();
      setNote('capture.switchedByShape', { channel: choiceName() });
    }
    lastSubmit = { key, at: now };
    if (mode === 'preview') closePreview();
    const mine = ++seq;
    const asked = { ...choice };
    beforeBusy = result;
    mode = 'preparing';
    api.markKey(timeStamp);
    const call = api.prepare(asked.channel, asked.platform, raw);
    showResult({ state: 'busy', title: 'result.preparing', lines: [{ text: key }] });
    call.then(
      (p) => mine === seq && onPrepared(p, asked),
      (e) => mine === seq && onRefused(e, key),
    ).finally(() => {
      if (mine === seq && mode === 'preparing') mode = 'idle';
      runDeferred();
    });
  }

  function runDeferred() {
    if (!deferred) return;
    deferred = false;
    if (mode === 'preparing' || mode === 'redeeming') return;
    const raw = input.value;
    const key = looseCode(raw);
    if (key !== '') submitCode(raw, key, null, performance.now());
  }

  // ---------------------------------------------------------------- look-up answers

  function onPrepared(p, asked) {
    if (p.state === 'ready') {
      // A local preview (收呗) does not reach the channel: the core says whether it answers.
      if (p.unreachable_since_ms != null) setOffline(asked.channel);
      else clearOffline(asked.channel);
      armed = false;
      prepared = { ...p, channel: asked.channel };
      count = 1;
      certs =
        p.preview.certificates.length > 1
          ? p.preview.certificates.map((c, i) => ({ ...c, ticked: i === 0 }))
          : [];
      certCursor = 0;
      previewStatus = null;
      mode = 'preview';
      previewShownAt = performance.now();
      renderPreview();
      showMode();
      play('notice');
    } else if (p.state === 'out_of_validity') {
      // Judged by the core against the business clock: nothing can be confirmed.
      mode = 'idle';
      const v = p.preview;
      const dates = [v.valid_from, v.valid_until].filter(Boolean).join(' — ');
      showResult({
        state: 'rejected',
        title: p.why === 'expired' ? 'result.expired' : 'result.notYetValid',
        lines: [
          { key: 'result.validityLine', params: { dates: dates || '—' }, big: true },
          ...(v.name ? [{ text: v.name, theirs: true }] : []),
          { key: 'result.codeLine', params: { code: maskCode(v.code) } },
        ],
        sound: 'rejected',
      });
    } else if (p.state === 'rejected') {
      mode = 'idle';
      if (p.config_error) {
        showResult({
          state: 'refused',
          title: 'refused.config',
          lines: [{ key: 'refused.configHelp' }, { text: `${p.channel_code}: ${p.message}` }],
          sound: 'rejected',
        });
      } else {
        showResult({
          state: 'rejected',
          title: 'result.cannot',
          lines: [{ text: p.message, big: true, theirs: true }, { key: 'result.codeLine', params: { code: maskCode(p.code) } }],
          sound: 'rejected',
        });
      }
    } else {
      mode = 'idle';
      const unreachable = UNREACHABLE_KINDS.includes(p.reason_kind);
      if (unreachable) setOffline(asked.channel);
      showResult({
        state: 'notice',
        title: unreachable ? 'result.unreachable' : 'result.noAnswer',
        lines: [{ key: 'result.notRedeemedRetry' }, { key: `reason.${p.reason_kind}` }],
        sound: 'notice',
      });
    }
  }

  /** A command refused: a local check (bad code, already redeemed here…) or a channel error. */
  function onRefused(e, key) {
    if (mode !== 'preview') mode = 'idle';
    const code = e?.code ?? 'internal';
    // What the refusal is about, in the UI's language where the core gave its data; the
    // core's English message only for codes no sentence of ours covers.
    const detail = e?.detail?.reason_kind
      ? { key: `reason.${e.detail.reason_kind}` }
      : e?.field ? { text: e.field } : { text: e?.message ?? '' };
    switch (code) {
      case 'code_empty':
        return showResult({ state: 'notice', title: 'err.code_empty', lines: [{ key: 'err.code_empty.help' }], sound: 'notice' });
      case 'code_too_long':
        return showResult({ state: 'notice', title: 'err.code_too_long', lines: [{ key: 'err.rescan' }, { key: 'err.tooLongDetail', params: e.detail ?? {} }], sound: 'notice' });
      case 'code_bad_character': {
        const d = e.detail;
        const where = d ? { key: 'err.badCharAt', params: { ch: d.ch, pos: d.pos } } : detail;
        return showResult({ state: 'notice', title: 'err.code_bad_character', lines: [where, { key: 'err.rescan' }], sound: 'notice' });
      }
      case 'already_redeemed': {
        const d = e.detail;
        return showResult({
          state: 'refused',
          title: 'refused.already',
          lines: d
            ? [{ key: 'refused.alreadyWhen', params: { time: clockOrDate(d.at_ms), name: d.by }, big: true }]
            : [detail],
          sound: 'rejected',
        });
      }
      case 'redeemed_at_another_till': {
        const d = e.detail;
        return showResult({
          state: 'refused',
          title: 'refused.otherTill',
          lines: d
            ? [{ key: 'refused.otherTillWhen', params: { till: d.till, time: clockOrDate(d.at_ms), name: d.by }, big: true }]
            : [detail],
          sound: 'rejected',
        });
      }
      case 'unresolved':
        if (beforeBusy.state === 'unknown' && looseCode(beforeBusy.code) === key) {
          // The amber panel for this very code was up: keep it, it turns by itself.
          result = beforeBusy;
          renderResult();
          setNote('refused.unresolvedNote');
          play('unknown');
          return undefined;
        }
        return showResult({
          state: 'unknown',
          title: 'refused.unresolved',
          lines: [{ key: 'refused.unresolvedHelp', big: true }],
          sound: 'unknown',
        });
      case 'duplicate':
        // The same code was sent a moment ago: that send is the one that counts.
        if (['succeeded', 'rejected', 'unknown'].includes(result.state)) return undefined;
        return showResult({ state: 'notice', title: 'err.duplicate', lines: [{ key: 'err.duplicate.help' }] });
      case 'prepare_expired':
        return showResult({ state: 'notice', title: 'err.prepare_expired', lines: [{ key: 'err.rescan' }], sound: 'notice' });
      case 'channel_config':
        return showResult({ state: 'refused', title: 'refused.config', lines: [{ key: 'refused.configHelp' }, detail], sound: 'rejected' });
      case 'platform_needed':
        return showResult({ state: 'notice', title: 'err.platform_needed', lines: [], sound: 'notice' });
      case 'channel_not_configured':
        return showResult({ state: 'refused', title: 'err.channel_not_configured', lines: [{ key: 'err.channel_not_configured.help', params: { channel: t(`channel.${choice.channel}`) }, big: true }], sound: 'rejected' });
      case 'channel_error':
        if (UNREACHABLE_KINDS.includes(e.detail?.reason_kind)) setOffline(choice.channel);
        return showResult({ state: 'notice', title: 'result.unreachable', lines: [{ key: 'result.notRedeemedRetry' }, detail], sound: 'notice' });
      case 'no_shift':
        return showResult({ state: 'refused', title: 'err.no_shift', lines: [{ key: 'err.no_shift.help', big: true }], sound: 'rejected' });
      case 'ledger_damaged':
        setDamaged(e?.message ?? '');
        return showResult({ state: 'refused', title: 'damaged.title', lines: [{ key: 'damaged.text', big: true }], sound: 'rejected' });
      default:
        return showResult({ state: 'notice', title: 'err.other', lines: [{ text: `${code}: ${e?.message ?? ''}` }], sound: 'notice' });
    }
  }

  // ---------------------------------------------------------------- preview

  function fact(label, value, testid) {
    const dt = document.createElement('dt');
    dt.textContent = label;
    const dd = document.createElement('dd');
    dd.textContent = value;
    if (testid) dd.dataset.testid = testid;
    return [dt, dd];
  }

  function renderPreview() {
    if (!prepared) return;
    const p = prepared.preview;
    $('#preview-name').textContent = p.name ?? t('preview.noName');
    $('#preview-channel').textContent =
      t(`channel.${prepared.channel}`) + (p.platform ? '·' + t(`platform.${p.platform}`) : '');
    $('#preview-code').textContent = p.code;
    const facts = [];
    if (p.face_value != null) facts.push(...fact(t('preview.faceValue'), yuan(p.face_value), 'preview-face'));
    if (p.price_paid != null) facts.push(...fact(t('preview.pricePaid'), yuan(p.price_paid), 'preview-price'));
    if (p.valid_from || p.valid_until) {
      const v = p.valid_from && p.valid_until
        ? `${p.valid_from} — ${p.valid_until}`
        : p.valid_until
          ? t('preview.until', { date: p.valid_until })
          : t('preview.from', { date: p.valid_from });
      facts.push(...fact(t('preview.validity'), v));
    }
    if (p.times_remaining != null) facts.push(...fact(t('preview.timesRemaining'), t('preview.times', { n: p.times_remaining }), 'preview-times'));
    else if (p.redeemable_count != null) facts.push(...fact(t('preview.redeemable'), t('preview.pieces', { n: p.redeemable_count })));
    $('#preview-facts').replaceChildren(...facts);

    const earlier = $('#preview-earlier');
    earlier.hidden = !prepared.earlier_success;
    if (prepared.earlier_success) {
      earlier.textContent = t('preview.earlier', {
        time: clock(prepared.earlier_success.state_ms),
        name: prepared.earlier_success.cashier,
      });
    }

    const unreachable = prepared.unreachable_since_ms != null
      ? [Object.assign(document.createElement('li'), {
        className: 'major unreachable',
        textContent: t('preview.unreachable', {
          channel: t(`channel.${prepared.channel}`),
          time: clock(prepared.unreachable_since_ms),
          max: Math.ceil((prepared.wait_limit_ms ?? 10000) / 1000),
        }),
      })]
      : [];
    $('#preview-warnings').replaceChildren(
      ...unreachable,
      ...p.warnings.map((w) => {
        const li = document.createElement('li');
        const key = `warning.${w}`;
        li.textContent = t(key) !== key ? t(key) : w;
        li.className = w === 'no_remote_preview' || w === 'undo_is_manual' ? 'minor' : 'major';
        return li;
      }),
    );

    const certBox = $('#preview-certs');
    certBox.hidden = certs.length === 0;
    $('#cert-list').replaceChildren(
      ...certs.map((c, i) => {
        const li = document.createElement('li');
        li.className = 'cert' + (i === certCursor ? ' cursor' : '') + (c.ticked ? ' ticked' : '');
        li.dataset.testid = 'cert';
        const box = document.createElement('input');
        box.type = 'checkbox';
        box.checked = c.ticked;
        box.tabIndex = -1;
        box.id = `cert-${i}`;
        box.addEventListener('change', () => {
          c.ticked = box.checked;
          certCursor = i;
          renderPreview();
          input.focus();
        });
        const label = document.createElement('label');
        label.htmlFor = box.id;
        const title = document.createElement('span');
        title.className = 'cert-title';
        title.textContent = c.title ?? c.id;
        const extra = document.createElement('span');
        extra.className = 'cert-extra';
        extra.textContent = [c.market_price != null ? yuan(c.market_price) : '', c.num != null ? t('preview.pieces', { n: c.num }) : '', `#${c.id.slice(-6)}`]
          .filter(Boolean)
          .join(' · ');
        label.append(title, extra);
        li.append(box, label);
        return li;
      }),
    );

    // The total before Enter: the ticked certificates' prices, or the unit face value × count.
    const ticked = certs.filter((c) => c.ticked);
    const total = certs.length > 0
      ? (ticked.length && ticked.every((c) => c.market_price != null) ? ticked.reduce((sum, c) => sum + Number(c.market_price), 0) : null)
      : (p.face_value != null ? Number(p.face_value) * count : null);
    const n = certs.length > 0 ? ticked.length : count;
    const each = certs.length > 0
      ? (ticked.length && ticked.every((c) => c.market_price === ticked[0].market_price) ? ticked[0].market_price : null)
      : p.face_value;
    const sum = breakdown(t, { total, count: n, each, uses: p.times_remaining != null || p.uses_left != null });
    const totalLine = $('#preview-total');
    totalLine.hidden = total == null;
    totalLine.textContent = total == null ? '' : t('preview.total', { money: yuan(total), detail: n > 1 ? sum.detail : '' });

    const stepper = $('#count-stepper');
    stepper.hidden = certs.length > 0;
    $('#count-value').textContent = String(count);
    $('#count-max').textContent = prepared.max_count < 4294967295 ? t('preview.max', { n: prepared.max_count }) : '';
    $('#count-minus').disabled = count <= 1;
    $('#count-plus').disabled = count >= prepared.max_count;

    const busy = mode === 'redeeming';
    $('#redeem-btn').disabled = busy;
    $('#cancel-btn').disabled = busy;
    previewPanel.dataset.busy = String(busy);
    const status = $('#preview-status');
    status.textContent = busy
      ? t('preview.waiting', {
        channel: t(`channel.${prepared.channel}`),
        s: Math.floor((performance.now() - redeemStartedAt) / 1000),
        max: Math.ceil((prepared.wait_limit_ms ?? 10000) / 1000),
      })
      : previewStatus ? t(previewStatus.key, previewStatus.params) : '';
    status.dataset.kind = previewStatus?.key === 'preview.unreachableArmed' && !busy ? 'warn' : '';
  }

  function step(delta) {
    if (!prepared) return;
    count = Math.max(1, Math.min(prepared.max_count, count + delta));
    renderPreview();
  }

  function closePreview() {
    prepared = null;
    certs = [];
    previewPanel.hidden = true;
    resultPanel.hidden = choice.channel === 'yhtd';
  }

  function cancel() {
    seq += 1;
    deferred = false;
    if (mode === 'redeeming') return; // already sent: the answer will come
    input.value = '';
    setNote(null);
    if (mode === 'preview' || mode === 'preparing') {
      mode = 'idle';
      closePreview();
      showResult({ state: 'idle' });
    }
  }

  function confirm() {
    if (mode !== 'preview' || !prepared || managerOpen()) return;
    let certificates = [];
    let n = count;
    if (certs.length > 0) {
      certificates = certs.filter((c) => c.ticked).map((c) => ({ id: c.id, num: 1 }));
      if (certificates.length === 0) {
        previewStatus = { key: 'preview.tickOne' };
        renderPreview();
        play('notice');
        return;
      }
      n = certificates.length;
    }
    if (prepared.unreachable_since_ms != null && !armed) {
      armed = true;
      previewStatus = { key: 'preview.unreachableArmed' };
      previewShownAt = performance.now(); // the second Enter must be a new, deliberate one
      renderPreview();
      play('notice');
      return;
    }
    const shown = prepared;
    mode = 'redeeming';
    redeemStartedAt = performance.now();
    clearInterval(waitTimer);
    waitTimer = setInterval(() => { if (mode === 'redeeming') renderPreview(); }, 250);
    renderPreview();
    api.redeem(shown.token, n, certificates).then(
      (r) => onRedeemed(r, shown),
      (e) => onRedeemError(e, shown),
    ).finally(() => {
      clearInterval(waitTimer);
      waitTimer = null;
      // A read of the same code right after the answer is still the scanner reading twice.
      lastSubmit = { key: looseCode(shown.preview.code), at: performance.now() };
      runDeferred();
      api.appInfo().then((fresh) => {
        skew = fresh.clock_skew ?? null;
        renderClockBanner();
      }, () => {});
    });
  }

  // ---------------------------------------------------------------- redemption answers

  function onRedeemed({ attempt, outcome }, shown) {
    mode = 'idle';
    closePreview();
    recent.upsert(attempt);
    // The resolver may already have settled it (an event can overtake this answer).
    const latest = recent.get(attempt.id) ?? attempt;
    const name = shown.preview.name;
    if (outcome.state === 'succeeded' || latest.state === 'succeeded') {
      clearOffline(shown.channel);
      showAttempt(latest, name, false);
      // After the answer is on screen, never before: the slip cannot delay it.
      printBar.shown(latest);
    } else if (outcome.state === 'rejected') {
      if (outcome.config_error) {
        showResult({ state: 'refused', title: 'refused.config', lines: [{ key: 'refused.configHelp' }, { text: `${outcome.code}: ${outcome.message}` }], sound: 'rejected' });
      } else {
        showResult({
          state: 'rejected',
          title: 'result.failed',
          attemptId: attempt.id,
          lines: [{ text: outcome.message, big: true, theirs: true }, { key: 'result.failedCode', params: { code: outcome.code } }, nameLine(name, attempt.code)],
          sound: 'rejected',
        });
      }
    } else {
      if (UNREACHABLE_KINDS.includes(outcome.reason?.kind)) setOffline(shown.channel);
      showResult({
        state: 'unknown',
        title: 'result.unknown',
        attemptId: attempt.id,
        code: attempt.code,
        name,
        lines: [{ key: 'result.unknownHelp', big: true, warn: true }, { key: 'result.unknownAuto' }, nameLine(name, attempt.code)],
        sound: 'unknown',
      });
      printBar.shown(latest);
    }
    if (outcome.state === 'rejected') printBar.hide();
  }

  function onRedeemError(e, shown) {
    if (e?.code === 'count_out_of_range' || e?.code === 'certificates') {
      mode = 'preview';
      previewStatus = { key: `err.${e.code}` };
      renderPreview();
      play('notice');
      return;
    }
    mode = 'idle';
    closePreview();
    onRefused(e, looseCode(shown.preview.code));
  }

  function nameLine(name, code) {
    return name
      ? { text: `${name}  ·  ${maskCode(code)}`, big: true, theirs: true }
      : { key: 'result.codeLine', params: { code: maskCode(code) } };
  }

  /** A settled attempt: green with the amount and count, or red. */
  function showAttempt(a, name, bySystem) {
    if (a.state === 'succeeded') {
      const remaining = a.remaining_before != null ? a.remaining_before - a.count : null;
      showResult({
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
      });
    } else if (a.state === 'rejected') {
      showResult({
        state: 'rejected',
        title: 'result.failed',
        attemptId: a.id,
        lines: [{ key: 'result.notConsumed', big: true }, nameLine(name, a.code)],
        sound: 'rejected',
      });
    } else if (a.state === 'cancelled') {
      showResult({ state: 'rejected', title: 'result.cancelled', attemptId: a.id, lines: [nameLine(name, a.code)], sound: 'rejected' });
    }
  }

  function onDeskEvent(ev) {
    if (ev.kind === 'attempt') {
      recent.upsert(ev.attempt);
      const a = ev.attempt;
      if (result.state === 'unknown' && result.attemptId === a.id && !['unknown', 'pending'].includes(a.state)) {
        if (note?.key === 'refused.unresolvedNote') setNote(null);
        showAttempt(a, result.name, true);
        printBar.shown(a);
      }
    } else if (ev.kind === 'notification') {
      sale.update(ev.notification);
    } else if (ev.kind === 'print') {
      printBar.update(ev.job);
    } else if (ev.kind === 'halted') {
      setDamaged(ev.detail);
    } else if (ev.kind === 'reachability') {
      // Any answer, the resolver's too, clears the banner at once.
      if (ev.unreachable_since_ms != null) setOffline(ev.channel);
      else clearOffline(ev.channel);
    }
  }

  // ---------------------------------------------------------------- result panel

  const ICONS = { succeeded: '✓', rejected: '✕', refused: '✕', unknown: '?', notice: 'i', busy: '…' };

  function showResult(r) {
    result = r;
    renderResult();
    if (r.sound) play(r.sound);
  }

  function renderResult() {
    const r = result;
    resultPanel.dataset.state = r.state;
    resultPanel.className = `result result-${r.state}`;
    $('#result-icon').textContent = ICONS[r.state] ?? '';
    const title = $('#result-title');
    title.textContent = r.title ? t(r.title) : '';
    const amount = $('#result-amount');
    const words = r.amount ? breakdown(t, r.amount) : null;
    amount.hidden = !(words?.money || words?.detail);
    $('#result-money').textContent = words?.money ?? '';
    $('#result-count').textContent = words?.detail ?? '';
    const text = $('#result-text');
    const lines = r.state === 'idle' ? [{ key: 'result.idle', big: true }] : r.lines ?? [];
    text.replaceChildren(
      ...lines.map((l) => {
        const p = document.createElement('p');
        p.className = 'line' + (l.big ? ' big' : '') + (l.warn ? ' warn' : '');
        p.textContent = l.key ? t(l.key, l.params ?? {}) : String(l.text ?? '');
        // A channel's own words, a coupon's name, a code: shown as they came.
        if (l.theirs) p.dataset.theirs = 'channel';
        return p;
      }),
    );
  }

  // ---------------------------------------------------------------- offline banner

  function setOffline(channel) {
    offline = channel;
    renderBanner();
  }

  function clearOffline(channel) {
    if (offline === channel) {
      offline = null;
      renderBanner();
    }
  }

  /** The ledger failed its integrity check: the till stays red until restarted on a good one. */
  function setDamaged(detail) {
    damaged = detail || 'damaged';
    renderBanner();
  }

  function renderBanner() {
    banner.hidden = !offline && !damaged;
    banner.classList.toggle('banner-damaged', Boolean(damaged));
    if (damaged) {
      // The damage outranks a channel being down: nothing is redeemed either way.
      $('#offline-title').textContent = t('damaged.title');
      $('#offline-text').textContent = t('damaged.text');
    } else if (offline) {
      $('#offline-title').textContent = t('offline.title', { channel: t(`channel.${offline}`) });
      $('#offline-text').textContent = t('offline.text');
    }
  }

  // Start-up warnings (core file_modes.rs): each message already says what to do.
  function renderWarnings() {
    const list = info.warnings ?? [];
    $('#warnings-banner').hidden = list.length === 0;
    $('#warnings-text').textContent = list.map((w) => w.message).join(' ');
  }

  function renderClockBanner() {
    clockBanner.hidden = !skew;
    if (skew) {
      const minutes = Math.round(Math.abs(skew.skew_ms) / 60000);
      const ahead = skew.skew_ms > 0 ? 'clock.ahead' : 'clock.behind';
      $('#clock-title').textContent = t(ahead, { channel: t(`channel.${skew.channel}`), minutes });
      $('#clock-text').textContent = t('clock.text');
    }
  }

  // ---------------------------------------------------------------- texts, keys, focus

  function renderSound() {
    const b = $('#sound-toggle');
    b.textContent = t(soundOn() ? 'sound.on' : 'sound.off');
    b.setAttribute('aria-pressed', String(soundOn()));
  }

  function renderTexts() {
    applyStatic(root);
    $('#mode-badge').textContent = t(`mode.${info.mode}`);
    $('#mode-badge').dataset.mode = info.mode;
    $('#mode-badge').title = info.mode === 'sandbox' ? t('demo.open') : '';
    $('#lang-toggle').textContent = t('lang.toggle');
    printBar.renderTexts();
    $('#cashier-name').textContent = currentCashier();
    endShiftText();
    $('#about-version').textContent = info.version;
    $('#about-mode').textContent = t(`mode.${info.mode}`);
    $('#about-data-dir').textContent = info.data_dir;
    input.placeholder = t('capture.placeholder');
    renderChooser();
    renderSound();
    renderResult();
    renderPreview();
    renderBanner();
    renderClockBanner();
    renderWarnings();
    syncBadge.render();
    setNote(note?.key ?? null, note?.params ?? {});
    recent.render();
    sale.renderTexts();
  }

  // The manager side (ui/views/manager/) is loaded the first time it is opened: its modules
  // and styles stay out of the till's start-up (bench 5). While it loads, the till counts it
  // as open, so a scan typed in that moment does not land in the capture field.
  let managerSide = null;
  let managerLoading = false;
  const managerOpen = () => managerLoading || Boolean(managerSide?.isManagerOpen());
  const renderManagerTexts = () => managerSide?.renderManagerTexts();

  $('#lang-toggle').addEventListener('click', () => {
    setLang(currentLang() === 'zh' ? 'en' : 'zh');
    renderTexts();
    renderManagerTexts();
    showMode();
  });
  $('#sound-toggle').addEventListener('click', () => {
    setSoundOn(!soundOn());
    renderSound();
    play('notice');
    showMode();
  });
  $('#about-open').addEventListener('click', () => about.showModal());
  // Sandbox mode's 试用券码: 试用 picks the code's channel and looks it up, as a scan would.
  $('#mode-badge').addEventListener('click', async () => {
    if (info.mode !== 'sandbox' || managerOpen()) return;
    if (mode === 'preview') cancel();
    const { openDemoCodes } = await import('./demo-codes.js');
    openDemoCodes(demo, (c) => {
      if (!channels.includes(c.channel)) return;
      choice = keepChoice({ channel: c.channel, platform: c.platform ?? choice.platform });
      renderChooser();
      showMode();
      const now = performance.now();
      submitCode(c.code, looseCode(c.code), now, now);
    });
  });
  demo.addEventListener('close', () => showMode());
  // 店长 (F9 or Ctrl+M): the manager side covers the till until it is locked again.
  // While it is open the till is inert: no focus, click or key reaches it (a Tab past the
  // last manager row once landed in the capture field and a scan + Enter redeemed unseen).
  const manager = async () => {
    if (managerLoading) return;
    if (mode === 'preview') cancel();
    root.inert = true;
    if (!managerSide) {
      managerLoading = true;
      try {
        managerSide = await import('./manager/shell.js');
      } catch (err) {
        root.inert = false;
        setNote('capture.managerUnavailable', { detail: String(err) });
        return;
      } finally {
        managerLoading = false;
      }
    }
    managerSide.openManager(info, () => {
      root.inert = false;
      showMode();
    });
  };
  $('#manager-open').addEventListener('click', manager);
  about.addEventListener('close', () => showMode());
  $('#count-minus').addEventListener('click', () => { step(-1); input.focus(); });
  $('#count-plus').addEventListener('click', () => { step(1); input.focus(); });
  $('#redeem-btn').addEventListener('click', () => { confirm(); input.focus(); });
  $('#cancel-btn').addEventListener('click', () => { cancel(); input.focus(); });

  input.addEventListener('keydown', (e) => {
    if (e.isComposing) return;
    // A second lock behind `inert`: no key typed here while the manager side is up counts.
    if (managerOpen() || dialogOpen()) {
      e.preventDefault();
      input.value = '';
      return;
    }
    if (e.key === 'Enter' || e.key === 'Tab' || e.keyCode === 13) {
      e.preventDefault();
      onTerminator(e.timeStamp);
      return;
    }
    // While a preview is shown and nothing is being typed, these keys drive it.
    if (mode !== 'preview' || input.value !== '') return;
    if (certs.length > 0) {
      if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
        e.preventDefault();
        certCursor = (certCursor + (e.key === 'ArrowDown' ? 1 : certs.length - 1)) % certs.length;
        renderPreview();
      } else if (e.key === ' ') {
        e.preventDefault();
        certs[certCursor].ticked = !certs[certCursor].ticked;
        previewStatus = null;
        renderPreview();
      }
    } else if (e.key === '+' || e.key === '=' || e.key === 'ArrowUp') {
      e.preventDefault();
      step(1);
    } else if (e.key === '-' || e.key === 'ArrowDown') {
      e.preventDefault();
      step(-1);
    }
  });

  document.addEventListener('keydown', (e) => {
    if (dialogOpen() || managerOpen()) return;
    if (e.key === 'F9' || (e.ctrlKey && (e.key === 'm' || e.key === 'M'))) {
      e.preventDefault();
      manager();
      return;
    }
    const f = /^F([1-5])$/.exec(e.key);
    if (f) {
      e.preventDefault();
      pick(Number(f[1]) - 1);
    } else if (e.key === 'Escape' && choice.channel !== 'yhtd') {
      e.preventDefault();
      cancel();
      input.focus();
    }
  });
  // The field keeps the focus: a scanner types wherever the focus is.
  input.addEventListener('blur', () => {
    setTimeout(() => {
      if (dialogOpen() || managerOpen() || choice.channel === 'yhtd') return;
      if (document.activeElement?.closest('button, #sale-form')) return;
      input.focus();
    }, 0);
  });

  renderTexts();
  showMode();
  // Listening first, then asking: a check that ended before the window listened is not missed.
  api.onDeskEvent(onDeskEvent)
    .then(() => api.appInfo())
    .then((i) => { if (i?.halted) setDamaged(i.halted); })
    .catch(() => {});
  api.recentAttempts(currentCashier(), 10).then((list) => recent.load(list), () => {});
}
