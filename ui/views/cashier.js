// The cashier screen (收银核销): channel chooser, the always-focused capture field, the
// preview of a scanned code, the result panel and the recent-attempts strip; F5 shows the
// 增值券 sale form instead. Keyboard first: F1…F5 choose, Enter looks up and confirms,
// +/− (or ↑/↓) change the count, ↑/↓ and Space tick Douyin certificates, Esc cancels.
// This module holds the till's state and wires keys and answers to it; what a terminator
// means is cashier/capture.js, and the preview, the result panel and the banners are drawn
// by their own modules in cashier/. The Rust side normalises codes and debounces redeems.
import { t, applyStatic, currentLang, setLang } from '../i18n.js';
import { configured, loadChoice, choose, choiceFromShape, keepChoice, platformsOf, sells } from '../channels.js';
import * as api from '../api.js';
import { currentCashier } from '../shift.js';
import { mountEndShift } from './shift-start.js';
import { looseCode } from '../format.js';
import { play, soundOn, setSoundOn } from '../sound.js';
import { createRecent } from './recent.js';
import { createPrintBar } from './slip.js';
import { createSale } from './sale.js';
import { mountSyncBadge } from './sync-badge.js';
import { createCapture } from './cashier/capture.js';
import { renderPreview as drawPreview } from './cashier/preview-view.js';
import { renderResult as drawResult } from './cashier/result-view.js';
import { createBanners } from './cashier/banners.js';
import * as answers from './cashier/answers.js';

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
  const syncBadge = mountSyncBadge($('#mode-badge'));
  const banners = createBanners($, info);
  const { setOffline, clearOffline, setDamaged } = banners;
  const capture = createCapture();

  // idle | preparing | preview | redeeming
  let mode = 'idle';
  let seq = 0; // bumps on every look-up and on Esc: a late answer to an older one is dropped
  let prepared = null; // {token, preview, max_count, earlier_success, channel}
  let count = 1;
  let certs = []; // Douyin certificates, each {…certificate, ticked}
  let certCursor = 0;
  let previewStatus = null; // {key, params}
  let result = { state: 'idle' };
  let beforeBusy = result; // what the panel showed before the current look-up
  let note = null; // {key, params} under the capture field
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

  /** 通联·抖音, 收呗…: the current choice (or the one a look-up was asked under) in words. */
  function choiceName(c = choice) {
    return platformsOf(c.channel).length > 0
      ? `${t(`channel.${c.channel}`)}·${t(`platform.${c.platform}`)}`
      : t(`channel.${c.channel}`);
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
        if (platformsOf(channel).length > 0) {
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
    const before = { ...choice };
    choice = choose(choice, index, channels);
    if (mode === 'preview') cancel();
    const changed = choice.channel !== before.channel || choice.platform !== before.platform;
    // An answer about a code under another channel or platform must not stay up under the
    // new one; and the same code scanned again now is a new question, not a double read.
    if (changed && mode === 'idle') showResult({ state: 'idle' });
    if (changed) capture.forget();
    renderChooser();
    showMode();
  }

  /** The sale form for 增值券, the capture field for every other channel. */
  function showMode() {
    const selling = sells(choice.channel);
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
    switch (capture.terminator(key, now, mode)) {
      case 'swallow':
        input.value = ''; // the LF of a CRLF, or a Tab after an Enter
        return;
      case 'confirm':
        confirm();
        return;
      case 'submit':
        submitCode(raw, key, timeStamp, now);
        return;
      default: // 'defer' (looked up when the current call answers), 'busy', 'early'
    }
  }

  function submitCode(raw, key, timeStamp, now) {
    input.value = '';
    const previewKey = mode === 'preview' && prepared ? looseCode(prepared.preview.code) : null;
    if (capture.isDoubleRead(key, now, previewKey)) {
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
    capture.submitted(key, now);
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
    if (!capture.takeDeferred()) return;
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
      capture.previewShown(performance.now());
      renderPreview();
      showMode();
      play('notice');
    } else if (p.state === 'out_of_validity') {
      mode = 'idle';
      showResult(answers.outOfValidity(p));
    } else if (p.state === 'rejected') {
      mode = 'idle';
      showResult(answers.lookUpRefused(p, asked));
    } else {
      mode = 'idle';
      const unreachable = UNREACHABLE_KINDS.includes(p.reason_kind);
      if (unreachable) setOffline(asked.channel);
      showResult(answers.lookUpInconclusive(p, unreachable));
    }
  }

  /** A command refused: a local check (bad code, already redeemed here…) or a channel error. */
  function onRefused(e, key) {
    if (mode !== 'preview') mode = 'idle';
    switch (e?.code) {
      case 'unresolved':
        if (beforeBusy.state === 'unknown' && looseCode(beforeBusy.code) === key) {
          // The amber panel for this very code was up: keep it, it turns by itself.
          result = beforeBusy;
          renderResult();
          setNote('refused.unresolvedNote');
          play('unknown');
          return;
        }
        break;
      case 'duplicate':
        // The same code was sent a moment ago: that send is the one that counts.
        if (['succeeded', 'rejected', 'unknown'].includes(result.state)) return;
        break;
      case 'channel_error':
        if (UNREACHABLE_KINDS.includes(e.detail?.reason_kind)) setOffline(choice.channel);
        break;
      case 'ledger_damaged':
        setDamaged(e?.message ?? '');
        break;
      default:
    }
    showResult(answers.refused(e, choice));
  }

  // ---------------------------------------------------------------- preview

  function renderPreview() {
    drawPreview($, {
      prepared, certs, certCursor, count,
      busy: mode === 'redeeming',
      waitedMs: performance.now() - redeemStartedAt,
      previewStatus,
    }, (i, ticked) => {
      certs[i].ticked = ticked;
      certCursor = i;
      renderPreview();
      input.focus();
    });
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
    resultPanel.hidden = sells(choice.channel);
  }

  function cancel() {
    seq += 1;
    capture.clearDeferred();
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
      capture.previewShown(performance.now()); // the second Enter must be a new, deliberate one
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
      capture.submitted(looseCode(shown.preview.code), performance.now());
      runDeferred();
      api.appInfo().then((fresh) => {
        banners.setSkew(fresh.clock_skew);
      }, () => {});
    });
  }

  // ---------------------------------------------------------------- redemption answers

  function onRedeemed({ attempt, outcome, not_found: notFound }, shown) {
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
      const asked = { channel: shown.channel, platform: attempt.platform ?? shown.preview.platform };
      showResult(answers.redemptionRefused(outcome, attempt, name, notFound, asked));
    } else {
      if (UNREACHABLE_KINDS.includes(outcome.reason?.kind)) setOffline(shown.channel);
      showResult(answers.redemptionUnknown(attempt, name));
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

  /** A settled attempt: green with the amount and count, or red. */
  function showAttempt(a, name, bySystem) {
    const r = answers.settled(a, name, bySystem);
    if (r) showResult(r);
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

  function showResult(r) {
    result = r;
    renderResult();
    if (r.sound) play(r.sound);
  }

  function renderResult() {
    drawResult($, result, choiceName);
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
    banners.render();
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
    } else if (e.key === 'Escape' && !sells(choice.channel)) {
      e.preventDefault();
      cancel();
      input.focus();
    }
  });
  // The field keeps the focus: a scanner types wherever the focus is.
  input.addEventListener('blur', () => {
    setTimeout(() => {
      if (dialogOpen() || managerOpen() || sells(choice.channel)) return;
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
