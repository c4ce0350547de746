// 流水: one business day's log under filters (channel, state, cashier, code), the day's
// per-channel totals (successes not undone: count, units, face value, settled amount) and
// the export of exactly what is shown. A row opens the code's timeline (click or Enter);
// a success has an undo button. Times from choosing a day to the first screen of the table
// built and painted are kept in window.__redeemdesk_stats.managerLog (the e2e test prints
// them; bench 7 measures them on five years of data).
import { t } from '../../i18n.js';
import * as api from '../../api.js';
import { CHANNELS } from '../../channels.js';
import { dayField } from './day-field.js';
import { el, yuan2, dayTime, channelName, table, field, errorText } from './dom.js';

const STATES = ['succeeded', 'unknown', 'rejected', 'cancelled', 'pending'];
/** time, channel, code, count, cashier, state, face value, settled, undo */
const COLUMN_WIDTHS = ['18%', '12%', '18%', '6%', '9%', '9%', '9%', '9%', '10%'];
/** Rows kept in the table above and below the ones in view, so a scroll step shows rows
 * that are already there. A newly shown day gets them only after its first frame: laying
 * out a table row costs WebKit most of a millisecond here (26 ms for the 31 rows of the rows
 * in view and this margin, 9 ms for the 11 in view), and that layout stands between the
 * answer and the frame the manager is waiting for. Bench 7 with both ways taking turns in
 * one run: the day on the screen after 45 ms this way, 64 ms with the margin at once. */
const OVERSCAN = 20;
/** Attempts in the first answer for a day: more than a tall screen shows. The rest of a
 * busy day (2,000 attempts, 600 KB of JSON) follows once that screen is painted. */
const FIRST_PAGE = 80;
// A day answering later than this shows "Loading…" until it does.
const SLOW_MS = 150;
const stats = window.__redeemdesk_stats || (window.__redeemdesk_stats = {});
stats.managerLog = stats.managerLog || [];

export function createLog(container, ctx) {
  const { input: dayInput, box: dayBox } = dayField('log-day');
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
    lab('mgr.log.day', dayBox), lab('mgr.log.channel', channelSel), lab('mgr.log.state', stateSel),
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
    const sum = { succeeded: 0, units: 0, face_value: 0, settled: 0, face_value_unreported: 0, settled_unreported: 0 };
    // An amount no row reported is "—"; a sum that misses some rows says how many.
    const amount = (fen, missing, rows) => {
      if (rows > 0 && missing >= rows) return '—';
      return missing > 0 ? `${yuan2(fen)} ${t('mgr.totals.unreported', { n: missing })}` : yuan2(fen);
    };
    for (const row of log ? log.totals : []) {
      for (const k of Object.keys(sum)) sum[k] += Number(row[k] ?? 0);
      tbody.append(el('tr', { dataset: { channel: row.channel } },
        el('td', {}, t(`channel.${row.channel}`)),
        el('td', { className: 'num' }, String(row.succeeded)),
        el('td', { className: 'num' }, String(row.units)),
        el('td', { className: 'num' }, amount(row.face_value, row.face_value_unreported ?? 0, row.succeeded)),
        el('td', { className: 'num' }, amount(row.settled, row.settled_unreported ?? 0, row.succeeded))));
    }
    tbody.append(el('tr', { className: 'mgr-sum', dataset: { channel: 'all' } },
      el('td', {}, t('mgr.totals.all')),
      el('td', { className: 'num' }, String(sum.succeeded)),
      el('td', { className: 'num' }, String(sum.units)),
      el('td', { className: 'num' }, amount(sum.face_value, sum.face_value_unreported, sum.succeeded)),
      el('td', { className: 'num' }, amount(sum.settled, sum.settled_unreported, sum.succeeded))));
    totalsBox.replaceChildren(el('h3', {}, t('mgr.totals.title')), tbl);
  }

  /**
   * The log table holds only the rows in view and a margin around them: a busy day has
   * 2,000 attempts, and building, laying out and tearing down that many table rows costs
   * WebKit hundreds of milliseconds (bench 7) where a screenful costs a few. Two spacer rows
   * stand for the rest, so the scroll bar spans the whole day; scrolling renders the window
   * it reaches (one frame later at most). Rows are cloned from one template row and filled
   * with textContent; clicks and keys are delegated to the table box; the layout is fixed
   * and rows are one line, so every row has the same height.
   */
  let tableEl = null;
  let tbodyEl = null;
  let rowTemplate = null;
  let undoTemplate = null;
  let reprintTemplate = null;
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
    reprintTemplate = el('button', { type: 'button', className: 'link', tabIndex: -1, dataset: { action: 'reprint', testid: 'log-reprint' } }, t('mgr.slips.reprint'));
    stateText = Object.fromEntries(STATES.map((s) => [s, t(`state.${s}`)]));
    names.clear();
    rowH = 0;
    shown = null;
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
    c[0].textContent = dayTime(a.created_ms);
    const key = `${a.channel}/${a.platform || ''}`;
    if (!names.has(key)) names.set(key, channelName(a.channel, a.platform));
    c[1].textContent = names.get(key);
    c[2].textContent = a.code;
    c[3].textContent = String(a.count);
    c[4].textContent = a.cashier;
    c[4].dataset.theirs = 'person';
    c[5].firstChild.className = `state state-${a.state}`;
    c[5].firstChild.textContent = stateText[a.state] || a.state;
    c[6].textContent = yuan2(a.settled_face_value ?? a.face_value) || '—';
    c[7].textContent = yuan2(a.settled) || '—';
    if (a.state === 'succeeded') c[8].append(undoTemplate.cloneNode(true));
    if (['succeeded', 'unknown'].includes(a.state)) c[8].append(reprintTemplate.cloneNode(true));
    return tr;
  }

  let rowH = 0; // measured from the first row shown
  let shown = null; // the window in the table: {first, last, count}

  function spacer(height) {
    const td = el('td', { colSpan: 9 });
    td.style.height = `${height}px`;
    return el('tr', { className: 'log-spacer', attrs: { 'aria-hidden': 'true' } }, td);
  }

  /** The attempts [first, last) that the scroll position shows with `margin` rows more on
   * each side, and [viewFirst, viewLast) without them. */
  function windowAt(margin) {
    const n = log ? log.total ?? log.attempts.length : 0;
    const h = rowH || 32;
    const head = tableEl.tHead ? tableEl.tHead.offsetHeight : 0;
    const top = Math.max(0, rowsBox.scrollTop - head);
    const view = rowsBox.clientHeight || 800;
    const viewFirst = Math.floor(top / h);
    const viewLast = Math.min(n, Math.ceil((top + view) / h));
    return {
      first: Math.max(0, viewFirst - margin), last: Math.min(n, viewLast + margin), count: n,
      viewFirst, viewLast,
    };
  }

  /** Puts the rows in view and `margin` rows around them in the table: when `force`, or when
   * some row in view is not there yet (a scroll past the margin, the rest of a day). */
  function renderWindow(force = false, margin = OVERSCAN) {
    if (!tableEl || !tableEl.isConnected) {
      buildTable();
      force = true;
    }
    const attempts = log ? log.attempts : [];
    const w = windowAt(margin);
    if (!force && shown && shown.first <= w.viewFirst && w.viewLast <= shown.last
        && w.count === shown.count && shown.loaded === attempts.length) return;
    shown = { first: w.first, last: w.last, count: w.count, loaded: attempts.length };
    const focused = document.activeElement && tbodyEl.contains(document.activeElement)
      ? document.activeElement.dataset.index : null;
    const body = document.createElement('tbody');
    const h = rowH || 32;
    // Rows not loaded yet (the rest of a busy day, a moment after its first screen) are
    // part of the bottom spacer until they arrive.
    const last = Math.min(w.last, attempts.length);
    if (w.first > 0) body.append(spacer(w.first * h));
    for (let i = w.first; i < last; i++) {
      const tr = row(attempts[i]);
      tr.dataset.index = String(i);
      body.append(tr);
    }
    if (last < w.count) body.append(spacer((w.count - Math.max(last, w.first)) * h));
    if (w.count === 0) {
      body.append(el('tr', {}, el('td', { colSpan: 9, className: 'mgr-empty' }, t('mgr.log.empty'))));
    }
    body.id = 'log-rows';
    tbodyEl.replaceWith(body);
    tbodyEl = body;
    if (focused !== null && focused !== undefined) body.querySelector(`tr[data-index="${focused}"]`)?.focus();
    if (!rowH && w.last > w.first) {
      // Once per table (while it is on screen): the real row height, so the spacers match
      // the rows they stand for.
      const measured = body.querySelector('tr[data-id]').getBoundingClientRect().height;
      if (measured > 0) {
        rowH = measured;
        if (Math.abs(rowH - h) >= 0.5) renderWindow(true, margin);
      }
    }
  }

  /** Shows a new day (or filter) from its first row: only the rows in view, so they reach
   * the screen sooner; `renderWindow()` adds the margin once that frame is painted. */
  function renderRows() {
    renderWindow(true, 0);
  }

  let scrollPending = false;
  rowsBox.addEventListener('scroll', () => {
    if (scrollPending) return;
    scrollPending = true;
    requestAnimationFrame(() => {
      scrollPending = false;
      if (log && tableEl && tableEl.isConnected) renderWindow();
    });
  }, { passive: true });

  /** Moves the keyboard focus to attempt `i`, scrolling it into the window first. */
  function focusIndex(i) {
    if (!log || i < 0 || i >= log.attempts.length) return;
    const h = rowH || 32;
    const head = tableEl.tHead ? tableEl.tHead.offsetHeight : 0;
    const top = i * h;
    const view = rowsBox.clientHeight - head;
    if (top < rowsBox.scrollTop) rowsBox.scrollTop = top;
    else if (top + h > rowsBox.scrollTop + view) rowsBox.scrollTop = top + h - view;
    renderWindow();
    tbodyEl.querySelector(`tr[data-index="${i}"]`)?.focus();
  }

  function attemptOf(row) {
    return log && log.attempts.find((x) => x.id === row.dataset.id);
  }

  async function load(startedAt = performance.now(), chosen = false) {
    const mine = ++seq;
    if (!dayInput.value) return;
    // "Loading…" only for a slow answer: a day normally answers within a frame or two, and
    // the word flashing up and away again on every day chosen is noise on the screen.
    const slow = setTimeout(() => { if (mine === seq) status.textContent = t('mgr.loading'); }, SLOW_MS);
    try {
      const day = dayInput.value;
      const asked = filter();
      const got = await ctx.guard(api.dayLog(day, asked, FIRST_PAGE)).finally(() => clearTimeout(slow));
      if (mine !== seq) return;
      const answered = performance.now();
      // Back to the top before anything changes: with the layout still clean, setting the
      // scroll position forces no layout of the new totals and rows.
      if (tableEl && tableEl.isConnected) rowsBox.scrollTop = 0;
      log = got;
      // The rows first: finding which rows are in view reads the layout, still clean then
      // (after the new totals it would lay them out on the spot, and again for the frame).
      renderRows();
      renderTotals();
      const built = performance.now();
      status.textContent = t('mgr.log.count', { n: log.total });
      root.dataset.loadedDay = log.day;
      root.dataset.rows = String(log.total);
      // `at`: the start on the wall clock, for benchmark 7 to find when the frame reached
      // the X screen (crates/bench/src/screen.rs).
      const entry = {
        day: log.day, rows: log.total, ms: built - startedAt, ipcMs: answered - startedAt, chosen,
        at: performance.timeOrigin + startedAt, firstRows: shown.last - shown.first,
      };
      stats.managerLog.push(entry);
      // Two frames later the frame showing the day has been painted: the time until the
      // manager sees the totals and the first screen of rows. Then the rest of the day.
      requestAnimationFrame(() => requestAnimationFrame(async () => {
        entry.paintedMs = performance.now() - startedAt;
        if (mine !== seq) return;
        // The margin around the rows in view: now, or with the rest of the day just below.
        if (log.attempts.length >= log.total) {
          renderWindow(true);
          return;
        }
        try {
          const all = await ctx.guard(api.dayLog(day, asked));
          if (mine !== seq) return;
          log = all;
          renderTotals();
          renderWindow(true);
          root.dataset.rows = String(log.total);
          status.textContent = t('mgr.log.count', { n: log.total });
          entry.allMs = performance.now() - startedAt;
        } catch (err) {
          if (mine === seq && err.code !== 'manager_locked') status.textContent = errorText(err);
        }
      }));
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
    } else if (e.target.closest('button[data-action="reprint"]')) {
      const b = e.target.closest('button');
      b.disabled = true;
      ctx.guard(api.reprintSlip(row.dataset.id, null)).then(
        () => { b.textContent = t('mgr.slips.reprinted'); },
        () => { b.disabled = false; },
      );
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
      focusIndex(Number(row.dataset.index) + (e.key === 'ArrowDown' ? 1 : -1));
    } else if (e.key === 'u' || e.key === 'U') {
      const a = attemptOf(row);
      if (a && a.state === 'succeeded') ctx.openUndo(a);
    }
  });

  function renderTexts() {
    dayBox.renderTexts();
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
