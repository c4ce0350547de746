// 流水: one business day's log under filters (channel, state, cashier, code), the day's
// per-channel totals (successes not undone: count, units, face value, settled amount) and
// the export of exactly what is shown. A row opens the code's timeline (click or Enter);
// a success has an undo button. Times from choosing a day to the table built are kept in
// window.__redeemdesk_stats.managerLog (the e2e test prints them).
import { t } from '../../i18n.js';
import * as api from '../../api.js';
import { CHANNELS } from '../../channels.js';
import { el, yuan2, dateTime, channelName, table, field, errorText } from './dom.js';

const STATES = ['succeeded', 'unknown', 'rejected', 'cancelled', 'pending'];
/** time, channel, code, count, cashier, state, face value, settled, undo */
const COLUMN_WIDTHS = ['18%', '12%', '22%', '6%', '9%', '9%', '9%', '9%', '6%'];
const stats = window.__redeemdesk_stats || (window.__redeemdesk_stats = {});
stats.managerLog = stats.managerLog || [];

export function createLog(container, ctx) {
  const dayInput = el('input', { type: 'date', id: 'log-day', required: true });
  const channelSel = el('select', { id: 'log-channel' });
  const stateSel = el('select', { id: 'log-state' });
  const cashierInput = el('input', { type: 'text', id: 'log-cashier', autocomplete: 'off', spellcheck: false, maxLength: 20 });
  const codeInput = el('input', { type: 'text', id: 'log-code', autocomplete: 'off', spellcheck: false, maxLength: 200 });
  const csvBtn = el('button', { type: 'button', className: 'ghost', id: 'log-export-csv' });
  const xlsxBtn = el('button', { type: 'button', className: 'ghost', id: 'log-export-xlsx' });
  const status = el('p', { className: 'mgr-status', id: 'log-status', attrs: { 'aria-live': 'polite' } });
  const labels = {};
  const lab = (key, control) => {
    const f = field('', control);
    labels[key] = f.firstChild;
    return f;
  };
  const bar = el('div', { className: 'mgr-filters' },
    lab('mgr.log.day', dayInput), lab('mgr.log.channel', channelSel), lab('mgr.log.state', stateSel),
    lab('mgr.log.cashier', cashierInput), lab('mgr.log.code', codeInput),
    el('div', { className: 'mgr-filter-actions' }, csvBtn, xlsxBtn));
  const totalsBox = el('div', { className: 'mgr-totals', id: 'log-totals' });
  const rowsBox = el('div', { className: 'mgr-scroll', id: 'log-table-box' });
  const root = el('section', { className: 'mgr-pane', id: 'manager-log' }, bar, status, totalsBox, rowsBox);
  container.append(root);

  let log = null; // the last DayLog shown
  let seq = 0;

  function filter() {
    const code = codeInput.value.trim();
    return {
      channel: channelSel.value || null,
      state: stateSel.value || null,
      cashier: cashierInput.value.trim() || null,
      code: code ? { kind: 'contains', text: code } : null,
    };
  }

  function fillSelects() {
    const keepC = channelSel.value;
    const keepS = stateSel.value;
    channelSel.replaceChildren(el('option', { value: '' }, t('mgr.all')),
      ...CHANNELS.map((c) => el('option', { value: c }, t(`channel.${c}`))));
    stateSel.replaceChildren(el('option', { value: '' }, t('mgr.all')),
      ...STATES.map((s) => el('option', { value: s }, t(`state.${s}`))));
    channelSel.value = keepC;
    stateSel.value = keepS;
  }

  function renderTotals() {
    const { table: tbl, tbody } = table([
      t('mgr.log.channel'), t('mgr.totals.count'), t('mgr.totals.units'),
      t('mgr.totals.face'), t('mgr.totals.settled'),
    ], [1, 2, 3, 4], { id: 'log-totals-table' });
    const sum = { succeeded: 0, units: 0, face_value: 0, settled: 0 };
    for (const row of log ? log.totals : []) {
      for (const k of Object.keys(sum)) sum[k] += Number(row[k]);
      tbody.append(el('tr', { dataset: { channel: row.channel } },
        el('td', {}, t(`channel.${row.channel}`)),
        el('td', { className: 'num' }, String(row.succeeded)),
        el('td', { className: 'num' }, String(row.units)),
        el('td', { className: 'num' }, yuan2(row.face_value)),
        el('td', { className: 'num' }, yuan2(row.settled))));
    }
    tbody.append(el('tr', { className: 'mgr-sum', dataset: { channel: 'all' } },
      el('td', {}, t('mgr.totals.all')),
      el('td', { className: 'num' }, String(sum.succeeded)),
      el('td', { className: 'num' }, String(sum.units)),
      el('td', { className: 'num' }, yuan2(sum.face_value)),
      el('td', { className: 'num' }, yuan2(sum.settled))));
    totalsBox.replaceChildren(el('h3', {}, t('mgr.totals.title')), tbl);
  }

  /**
   * The log table. A day holds hundreds of rows: they are cloned from one template row into
   * a detached body and filled with textContent there (changing cells already on screen
   * costs several times more), clicks and keys are delegated to the table box, and the
   * table has a fixed layout so the browser lays it out in one pass. The previous day's
   * body is hidden at once and removed after the next frame, because tearing down hundreds
   * of laid-out rows takes longer than building them.
   */
  let tableEl = null;
  let tbodyEl = null;
  let rowTemplate = null;
  let undoTemplate = null;
  let stateText = {};
  const names = new Map();

  function buildTable() {
    const headers = [
      t('mgr.col.time'), t('mgr.log.channel'), t('mgr.log.code'), t('mgr.col.count'),
      t('mgr.log.cashier'), t('mgr.log.state'), t('mgr.totals.face'), t('mgr.totals.settled'), '',
    ];
    const { table: tbl, tbody } = table(headers, [3, 6, 7], { id: 'log-table' });
    tbl.classList.add('log-table');
    tbl.prepend(el('colgroup', {}, COLUMN_WIDTHS.map((w) => el('col', { style: `width:${w}` }))));
    rowTemplate = el('tr', { tabIndex: 0 },
      el('td'), el('td'), el('td', { className: 'code' }), el('td', { className: 'num' }), el('td'),
      el('td', {}, el('span')), el('td', { className: 'num' }), el('td', { className: 'num' }),
      el('td', { className: 'mgr-row-actions' }));
    undoTemplate = el('button', { type: 'button', className: 'link', tabIndex: -1, dataset: { action: 'undo' } }, t('mgr.undo.short'));
    stateText = Object.fromEntries(STATES.map((s) => [s, t(`state.${s}`)]));
    names.clear();
    tableEl = tbl;
    tbodyEl = tbody;
    rowsBox.replaceChildren(tbl);
  }

  function row(a) {
    const tr = rowTemplate.cloneNode(true);
    tr.className = `row-${a.state}`;
    tr.dataset.id = a.id;
    tr.dataset.code = a.code;
    tr.dataset.state = a.state;
    const c = tr.cells;
    c[0].textContent = dateTime(a.created_ms);
    const key = `${a.channel}/${a.platform || ''}`;
    if (!names.has(key)) names.set(key, channelName(a.channel, a.platform));
    c[1].textContent = names.get(key);
    c[2].textContent = a.code;
    c[3].textContent = String(a.count);
    c[4].textContent = a.cashier;
    c[5].firstChild.className = `state state-${a.state}`;
    c[5].firstChild.textContent = stateText[a.state] || a.state;
    c[6].textContent = yuan2(a.settled_face_value ?? a.face_value);
    c[7].textContent = yuan2(a.settled);
    if (a.state === 'succeeded') c[8].append(undoTemplate.cloneNode(true));
    return tr;
  }

  function renderRows() {
    if (!tableEl || !tableEl.isConnected) buildTable();
    const attempts = log ? log.attempts : [];
    const body = document.createElement('tbody');
    for (const a of attempts) body.append(row(a));
    if (attempts.length === 0) {
      body.append(el('tr', {}, el('td', { colSpan: 9, className: 'mgr-empty' }, t('mgr.log.empty'))));
    }
    const old = tbodyEl;
    old.hidden = true;
    old.removeAttribute('id');
    tableEl.append(body);
    tbodyEl = body;
    requestAnimationFrame(() => setTimeout(() => old.remove(), 0));
  }

  function attemptOf(row) {
    return log && log.attempts.find((x) => x.id === row.dataset.id);
  }

  async function load(startedAt = performance.now(), chosen = false) {
    const mine = ++seq;
    if (!dayInput.value) return;
    status.textContent = t('mgr.loading');
    try {
      const got = await ctx.guard(api.dayLog(dayInput.value, filter()));
      if (mine !== seq) return;
      const answered = performance.now();
      log = got;
      renderTotals();
      renderRows();
      const built = performance.now();
      status.textContent = t('mgr.log.count', { n: log.attempts.length });
      root.dataset.loadedDay = log.day;
      root.dataset.rows = String(log.attempts.length);
      const entry = { day: log.day, rows: log.attempts.length, ms: built - startedAt, ipcMs: answered - startedAt, chosen };
      stats.managerLog.push(entry);
      // After the frame that shows it: the time until the manager can see the table.
      requestAnimationFrame(() => { entry.paintedMs = performance.now() - startedAt; });
      ctx.setDay(log.day);
    } catch (err) {
      if (mine !== seq || err.code === 'manager_locked') return;
      status.textContent = errorText(err);
    }
  }

  async function exportAs(format) {
    status.textContent = t('mgr.export.busy');
    try {
      const path = await ctx.guard(api.exportDayLog(dayInput.value, filter(), format));
      status.textContent = path ? t('mgr.export.done', { path }) : t('mgr.export.cancelled');
      root.dataset.exported = path || '';
    } catch (err) {
      if (err.code !== 'manager_locked') status.textContent = errorText(err);
    }
  }

  // Choosing a day loads it at once: this is the time the stats measure.
  dayInput.addEventListener('change', () => load(performance.now(), true));
  for (const c of [channelSel, stateSel]) c.addEventListener('change', () => load());
  for (const c of [cashierInput, codeInput]) {
    c.addEventListener('keydown', (e) => { if (e.key === 'Enter') { e.preventDefault(); load(); } });
    c.addEventListener('change', () => load());
  }
  csvBtn.addEventListener('click', () => exportAs('csv'));
  xlsxBtn.addEventListener('click', () => exportAs('xlsx'));
  rowsBox.addEventListener('click', (e) => {
    const row = e.target.closest('tr[data-id]');
    if (!row) return;
    if (e.target.closest('button[data-action="undo"]')) {
      const a = attemptOf(row);
      if (a) ctx.openUndo(a);
    } else {
      ctx.showTimeline(row.dataset.code);
    }
  });
  rowsBox.addEventListener('keydown', (e) => {
    const row = e.target.closest('tr[data-id]');
    if (!row) return;
    if (e.key === 'Enter') {
      e.preventDefault();
      ctx.showTimeline(row.dataset.code);
    } else if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      const next = e.key === 'ArrowDown' ? row.nextElementSibling : row.previousElementSibling;
      if (next && next.tabIndex === 0) next.focus();
    } else if (e.key === 'u' || e.key === 'U') {
      const a = attemptOf(row);
      if (a && a.state === 'succeeded') ctx.openUndo(a);
    }
  });

  function renderTexts() {
    for (const [key, span] of Object.entries(labels)) span.textContent = t(key);
    fillSelects();
    csvBtn.textContent = t('mgr.export.csv');
    xlsxBtn.textContent = t('mgr.export.xlsx');
    codeInput.placeholder = t('mgr.log.codeHint');
    tableEl = null; // the headers change language: rebuild
    if (log) { renderTotals(); renderRows(); }
  }

  renderTexts();
  return {
    root,
    renderTexts,
    /** Shows `day` (loading it when it differs or when asked to refresh). */
    show(day, refresh = false) {
      root.hidden = false;
      if (day && dayInput.value !== day) {
        dayInput.value = day;
        load();
      } else if (refresh || !log) {
        load();
      }
      dayInput.focus();
    },
    hide() { root.hidden = true; },
    reload: () => load(),
    current: () => log,
  };
}
