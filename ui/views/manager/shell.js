// The manager side (店长): opened from the cashier screen (button 店长, F9 or Ctrl+M), it
// covers the till with the PIN dialog, then the tabs 流水 / 需处理 / 撤销 / 对账 / 设置 /
// 单据 / 门店 (F1…F7 while open) and a lock button (F9 again) that locks and returns to the till.
//
// The core locks an idle manager session by itself (every manager command then answers
// `manager_locked`); `guard` turns that answer into the PIN dialog with a message saying
// why. The same idle time is watched here too, so a screen left open locks even if nobody
// touches it.
import { t } from '../../i18n.js';
import * as api from '../../api.js';
import { el } from './dom.js';
import { setZone } from '../../format.js';
import { createPin } from './pin.js';
import { createLog } from './log.js';
import { createTimeline } from './timeline.js';
import { createInbox } from './inbox.js';
import { createUndo } from './undo.js';
import { createReconcile } from './reconcile.js';
import { createSlips } from './slips.js';
import { createStore } from './store.js';
import { armedButton } from '../new-ledger.js';

/** The core's idle lock (roles.rs MANAGER_IDLE_LOCK_MS). */
const IDLE_LOCK_MS = 5 * 60 * 1000;
const TABS = ['log', 'inbox', 'undo', 'reconcile', 'settings', 'slips', 'store'];

let shell = null;

/** Whether the manager side covers the till (the cashier screen leaves its keys alone). */
export function isManagerOpen() {
  return Boolean(shell && !shell.root.hidden);
}

/** Opens the manager side over the cashier screen; `onClose` runs when it is left. */
export function openManager(info, onClose) {
  if (!shell) shell = buildShell(info);
  shell.open(onClose);
}

/** Re-renders the texts after a language change. */
export function renderManagerTexts() {
  if (shell) shell.renderTexts();
}

function ensureStyles() {
  if (document.getElementById('manager-css')) return;
  const link = el('link', { id: 'manager-css', rel: 'stylesheet', href: 'views/manager/manager.css' });
  document.head.append(link);
}

function buildShell(info) {
  ensureStyles();
  const tabButtons = TABS.map((tab, i) => el('button', {
    type: 'button', className: 'mgr-tab', id: `tab-${tab}`, tabIndex: -1, dataset: { tab },
    attrs: { role: 'tab' },
  }, el('kbd', {}, `F${i + 1}`), el('span', { className: 'tab-label' }), tab === 'inbox' ? el('span', { className: 'badge', id: 'inbox-badge', hidden: true }) : null));
  const who = el('span', { className: 'cashier-name', id: 'manager-name', dataset: { theirs: 'person' } });
  const lockBtn = el('button', { type: 'button', className: 'chip', id: 'manager-lock', tabIndex: -1 });
  const title = el('div', { className: 'brand' }, el('img', { src: 'logo.svg', alt: '', className: 'brand-logo' }), el('span', { id: 'manager-brand' }));
  const nav = el('nav', { className: 'mgr-tabs', attrs: { role: 'tablist' } }, tabButtons);
  const top = el('header', { className: 'topbar mgr-top' }, title, nav,
    el('div', { className: 'topbar-right' }, el('span', { className: 'mode-badge', id: 'manager-mode', dataset: { mode: info.mode, bilingual: '' } }, t(`mode.${info.mode}`)), who, lockBtn));
  const body = el('main', { className: 'mgr-body', id: 'manager-body' });
  // Chain mode: HQ holds another chain than this till's (the uploader has stopped).
  const forkBanner = el('p', { className: 'store-fork', id: 'manager-fork', hidden: true, dataset: { testid: 'manager-fork' } });
  body.append(forkBanner);
  // The ledger failed its integrity check: the details and the way out (a new ledger that
  // keeps the old file), for the manager only.
  const damagedText = el('span', { id: 'manager-damaged-text' });
  const damagedDetail = el('pre', { className: 'mgr-damaged-detail', id: 'manager-damaged-detail' });
  const newLedgerBtn = el('button', { type: 'button', className: 'danger', id: 'manager-new-ledger', dataset: { testid: 'manager-new-ledger' } });
  const damagedBanner = el('div', { className: 'mgr-damaged', id: 'manager-damaged', hidden: true, dataset: { testid: 'manager-damaged' } },
    el('strong', { id: 'manager-damaged-title' }), damagedText, damagedDetail, newLedgerBtn);
  body.append(damagedBanner);
  const newLedger = armedButton(newLedgerBtn, () => ctx.guard(api.startNewLedger()), {
    idle: () => t('newLedger.start'),
    armed: () => t('newLedger.confirm'),
    failed: (e) => `${t('newLedger.failed')} (${e?.code ?? ''})`,
  });
  const settingsPane = el('section', { className: 'mgr-pane', id: 'manager-settings', hidden: true });
  const root = el('div', { className: 'mgr', id: 'manager', hidden: true, dataset: { testid: 'manager' } }, top, body);
  document.body.append(root);

  let onClose = () => {};
  let unlocked = false;
  let tab = 'log';
  let day = null;
  let lastActivity = performance.now();
  let idleTimer = null;
  let settingsMounted = false;

  const ctx = {
    /** Passes a manager command's answer through; a `manager_locked` refusal shows the PIN. */
    async guard(promise) {
      try {
        return await promise;
      } catch (err) {
        if (err && err.code === 'manager_locked' && unlocked) lock('mgr.pin.autoLocked');
        throw err;
      }
    },
    day: () => day,
    setDay(d) { day = d; },
    showTimeline: (code) => timeline.open(code),
    openUndo(attempt) { switchTo('undo', attempt); },
    openReconcile(d, channel, runId) { day = d; switchTo('reconcile', { day: d, channel, runId }); },
    setBadge(n) {
      const b = root.querySelector('#inbox-badge');
      b.hidden = !n;
      b.textContent = String(n);
    },
    changed() { api.inbox().then((i) => ctx.setBadge(i.unknowns.length + i.failing_notifications.length + i.reconciliations_to_review.length), () => {}); },
  };

  const pin = createPin(root, { onUnlocked });
  const log = createLog(body, ctx);
  const inbox = createInbox(body, ctx);
  const undo = createUndo(body, ctx);
  const reconcile = createReconcile(body, ctx);
  const slips = createSlips(body, ctx);
  const store = createStore(body, ctx);
  body.append(settingsPane);
  const timeline = createTimeline(root, ctx);
  const panes = { log, inbox, undo, reconcile, slips, store };

  function setScreen(name) {
    document.body.dataset.screen = name;
  }

  async function defaultDay() {
    try {
      const [last] = await api.recentAttempts(null, 1);
      if (last) return last.business_day;
    } catch (_) {
      // No attempt yet: the business day it is now, by the saved cut-off and zone.
    }
    try {
      const now = await api.appInfo();
      setZone(now.utc_offset_minutes);
      return now.business_today;
    } catch (_) {
      return info.business_today;
    }
  }

  async function mountSettings() {
    if (settingsMounted) return;
    settingsMounted = true;
    try {
      const mod = await import('../settings.js');
      mod.renderSettings(settingsPane, info);
    } catch (err) {
      settingsMounted = false;
      settingsPane.replaceChildren(el('p', { className: 'mgr-empty' }, t('mgr.settingsMissing')));
    }
  }

  function switchTo(next, arg) {
    if (!unlocked) return;
    tab = next;
    timeline.hide();
    for (const b of tabButtons) {
      const on = b.dataset.tab === next;
      b.classList.toggle('active', on);
      b.setAttribute('aria-selected', String(on));
    }
    for (const [name, pane] of Object.entries(panes)) if (name !== next) pane.hide();
    settingsPane.hidden = next !== 'settings';
    if (next === 'log') log.show(day, true);
    else if (next === 'inbox') inbox.show();
    else if (next === 'undo') undo.show(arg);
    else if (next === 'reconcile') reconcile.show(arg?.day || day, arg?.channel, arg?.runId);
    else if (next === 'slips') slips.show();
    else if (next === 'store') store.show();
    else mountSettings();
    setScreen(`manager-${next}`);
  }

  async function onUnlocked(name) {
    unlocked = true;
    who.textContent = name;
    pin.hide();
    top.hidden = false;
    body.hidden = false;
    touch();
    if (!day) day = await defaultDay();
    switchTo(tab);
    ctx.changed();
    api.syncState().then((s) => { forkBanner.hidden = s?.state !== 'fork'; }, () => {});
    api.appInfo().then((i) => {
      damagedBanner.hidden = !i?.halted;
      damagedDetail.textContent = i?.halted ?? '';
    }, () => {});
  }

  /** Back to the PIN dialog (`reason`: why, e.g. the idle lock). */
  function lock(reason) {
    unlocked = false;
    timeline.hide();
    top.hidden = true;
    body.hidden = true;
    settingsMounted = false;
    settingsPane.replaceChildren();
    api.managerLock().catch(() => {});
    setScreen('manager-pin');
    pin.show(reason, close);
  }

  function close() {
    if (unlocked) api.managerLock().catch(() => {});
    unlocked = false;
    root.hidden = true;
    clearInterval(idleTimer);
    idleTimer = null;
    onClose();
  }

  function touch() {
    lastActivity = performance.now();
  }

  function renderTexts() {
    root.querySelector('#manager-brand').textContent = t('mgr.brand');
    root.querySelector('#manager-mode').textContent = t(`mode.${info.mode}`);
    // The settings are built in one language: built again in the new one (the language is
    // switched on the till, so nothing typed here is lost).
    if (settingsMounted) {
      settingsMounted = false;
      settingsPane.replaceChildren();
      if (unlocked && tab === 'settings') mountSettings();
    }
    forkBanner.textContent = t('mgr.store.fork');
    root.querySelector('#manager-damaged-title').textContent = t('damaged.title');
    damagedText.textContent = t('newLedger.explain');
    newLedger.render();
    tabButtons.forEach((b) => { b.querySelector('.tab-label').textContent = t(`mgr.tab.${b.dataset.tab}`); });
    lockBtn.textContent = t('mgr.lock');
    pin.renderTexts();
    timeline.renderTexts();
    log.renderTexts();
    inbox.renderTexts();
    reconcile.renderTexts();
    slips.renderTexts();
    store.renderTexts();
    if (!undo.root.hidden) undo.renderTexts();
  }

  for (const b of tabButtons) b.addEventListener('click', () => switchTo(b.dataset.tab));
  lockBtn.addEventListener('click', close);
  root.addEventListener('keydown', touch, true);
  root.addEventListener('pointerdown', touch, true);
  // On the document, in the capture phase: the keys work wherever the focus is (even on
  // nothing after a re-render), and the till's own F-keys never see them while this is open.
  document.addEventListener('keydown', (e) => {
    if (root.hidden) return;
    if (e.key === 'F9' || (e.ctrlKey && (e.key === 'm' || e.key === 'M'))) {
      e.preventDefault();
      e.stopPropagation();
      close();
      return;
    }
    const f = /^F([1-7])$/.exec(e.key);
    if (f) {
      e.preventDefault();
      e.stopPropagation();
      if (unlocked) switchTo(TABS[Number(f[1]) - 1]);
    }
  }, true);

  renderTexts();
  return {
    root,
    renderTexts,
    open(handler) {
      onClose = handler || (() => {});
      root.hidden = false;
      top.hidden = true;
      body.hidden = true;
      unlocked = false;
      setScreen('manager-pin');
      pin.show(null, close);
      idleTimer = setInterval(() => {
        if (unlocked && performance.now() - lastActivity > IDLE_LOCK_MS) lock('mgr.pin.autoLocked');
      }, 5000);
    },
  };
}
