// 对账: one business day of one channel against the channel's own record — its history
// call where it has one, otherwise a statement CSV from its back office (chosen as a file or
// pasted) read with a column mapping saved per channel. Every line is shown matched / only
// here / only at the channel / amount differs / state differs with its evidence; statement
// rows that cannot be read are `unreadable` lines of the report, each a mismatch. A picked
// file goes to the Rust side as its bytes (base64), never decoded here: it may be GBK or
// UTF-16. The manager signs the day off; the report exports to CSV / XLSX. Reconciling only
// reports: nothing in the log changes.
import { t, tNodes } from '../../i18n.js';
import * as api from '../../api.js';
import { chainHead } from '../../format.js';
import { dayField } from './day-field.js';
import { el, yuan2, dateTime, table, field, errorText } from './dom.js';

/**
 * Column names back offices use for each field: a statement column named exactly so is
 * preselected until the manager picks another (or a saved mapping says otherwise).
 */
const NAME_HINTS = {
  code: ['券码', '券号', '核销码', '卡券码', 'code', 'coupon_code'],
  face_value: ['面值', '金额', '核销金额', '券面值', 'face_value', 'amount'],
  state: ['状态', '核销状态', '券状态', 'state', 'status'],
  channel_id: ['渠道单号', '订单号', '核销单号', '流水号', 'order_no', 'channel_id'],
  time: ['时间', '核销时间', '交易时间', 'time', 'redeemed_at'],
};

const VERDICTS = ['matched', 'only_here', 'only_at_channel', 'amount_differs', 'state_differs', 'unreadable'];
// The Rust side's limit (crates/core/src/statement.rs MAX_BYTES), checked before sending.
const MAX_STATEMENT_BYTES = 20 * 1024 * 1024;

/**
 * What is wrong with a statement row, from its kind (core statement.rs ProblemKind). A report
 * kept before the kinds existed has only the core's English message: it is shown as such.
 */
function problemText(p) {
  const kind = p.kind && p.kind !== 'other' ? p.kind : null;
  // The column is named as the statement names it: the channel's word, not ours.
  return kind ? tNodes(`mgr.rec.problem.${kind}`, { column: p.column || '—' }, ['column']) : [p.message];
}

/** "第 3 行（面值）：" with the statement's column name as it came. */
function problemRow(p) {
  return p.row != null
    ? tNodes('mgr.rec.problemRow', { row: p.row, column: p.column || '—' }, ['column'])
    : [t('mgr.rec.problemMapping')];
}

/** Where a run's channel side came from: the history call, a pasted statement (''), a file. */
export function sourceName(source) {
  if (source === 'history') return t('mgr.rec.sourceHistory');
  return source ? source : t('mgr.rec.pasted');
}

/** "状态：我方 已撤销 ≠ 渠道 已核销": the states in words, amounts as they are. */
function differenceText(d) {
  const word = (key, v) => (t(key) !== key ? t(key) : v);
  const ours = d.field === 'state' ? word(`state.${d.ours}`, d.ours) : d.ours;
  const theirs = d.field === 'state' ? word(`mgr.rec.their.${d.theirs}`, d.theirs) : d.theirs;
  return t('mgr.rec.diff', { field: t(`mgr.rec.field.${d.field}`), ours, theirs });
}

/**
 * A line's evidence: our words, and the statement's own row text and time marked as the
 * channel's (they are shown as they came).
 */
function evidence(l) {
  const parts = [];
  if (l.problem) {
    parts.push(problemText(l.problem));
    if (l.problem.raw) parts.push(el('span', { dataset: { theirs: 'statement' } }, l.problem.raw));
  }
  parts.push(...l.differences.map(differenceText));
  if (l.statement_row) parts.push(t('mgr.rec.atRow', { row: l.statement_row }));
  if (l.channel_at) parts.push(el('span', { dataset: { theirs: 'statement' } }, l.channel_at));
  return parts.flatMap((p, i) => (i ? [t('mgr.rec.sep'), p] : [p])).flat();
}

export function createReconcile(container, ctx) {
  const { input: dayInput, box: dayBox } = dayField('rec-day');
  const channelSel = el('select', { id: 'rec-channel' });
  const historyBtn = el('button', { type: 'button', className: 'primary', id: 'rec-history' });
  // The native file input speaks the system's language ("Choose File"): it stays hidden
  // behind a button and a name of ours.
  const fileInput = el('input', { type: 'file', id: 'rec-file', accept: '.csv,text/csv', hidden: true });
  const fileBtn = el('button', { type: 'button', className: 'ghost', id: 'rec-file-pick', onclick: () => fileInput.click() });
  const fileName = el('span', { className: 'rec-file-name', id: 'rec-file-name' });
  const fileBox = el('span', { className: 'rec-file' }, fileBtn, fileName, fileInput);
  const paste = el('textarea', { id: 'rec-text', rows: 3, spellcheck: false });
  const cols = {};
  for (const k of ['code', 'face_value', 'state', 'channel_id', 'time']) cols[k] = el('select', { id: `rec-map-${k}` });
  // The fields whose column the manager (or a saved mapping) chose: no hint overrides them.
  const chosen = new Set();
  for (const [k, sel] of Object.entries(cols)) sel.addEventListener('change', () => chosen.add(k));
  const inFen = el('input', { type: 'checkbox', id: 'rec-map-fen' });
  const cancelled = el('input', { type: 'text', id: 'rec-map-cancelled', autocomplete: 'off' });
  const checkBtn = el('button', { type: 'button', className: 'ghost', id: 'rec-check' });
  const saveMapBtn = el('button', { type: 'button', className: 'ghost', id: 'rec-save-mapping' });
  const runBtn = el('button', { type: 'button', className: 'primary', id: 'rec-run' });
  const status = el('p', { className: 'mgr-status', id: 'rec-status', attrs: { 'aria-live': 'polite' } });
  const problems = el('ul', { className: 'rec-problems', id: 'rec-problems' });
  const statementBox = el('fieldset', { className: 'rec-statement', id: 'rec-statement' });
  const runsBox = el('div', { className: 'rec-runs', id: 'rec-runs' });
  const reportBox = el('div', { className: 'rec-report', id: 'rec-report' });
  const labels = [];
  const lab = (key, control, cls) => {
    const f = field('', control);
    if (cls) f.classList.add(cls);
    labels.push([f.firstChild, key]);
    return f;
  };
  statementBox.append(
    el('legend', { id: 'rec-statement-legend' }),
    el('div', { className: 'mgr-filters' }, lab('mgr.rec.file', fileBox), lab('mgr.rec.paste', paste, 'wide')),
    el('div', { className: 'mgr-filters rec-mapping' },
      lab('mgr.rec.col.code', cols.code), lab('mgr.rec.col.face_value', cols.face_value),
      lab('mgr.rec.col.state', cols.state), lab('mgr.rec.col.channel_id', cols.channel_id),
      lab('mgr.rec.col.time', cols.time), lab('mgr.rec.cancelledValues', cancelled),
      lab('mgr.rec.inFen', inFen, 'check')),
    el('div', { className: 'card-actions' }, checkBtn, saveMapBtn, runBtn),
    problems);
  const root = el('section', { className: 'mgr-pane', id: 'manager-reconcile', hidden: true },
    el('div', { className: 'mgr-filters' }, lab('mgr.log.day', dayBox), lab('mgr.log.channel', channelSel), historyBtn),
    status,
    el('div', { className: 'mgr-scroll' }, statementBox, runsBox, reportBox));
  container.append(root);

  let channels = []; // [{kind, capabilities}]
  let statement = { file: '', base64: '' };
  let columns = [];
  let current = null; // {id, report, sign_off}

  const caps = () => (channels.find((c) => c.kind === channelSel.value) || {}).capabilities || {};

  function fillColumns(mapping, saved = false) {
    const want = mapping || {};
    for (const [k, sel] of Object.entries(cols)) {
      if (saved) chosen.add(k);
      const hinted = chosen.has(k) ? null : columns.find((c) => NAME_HINTS[k].includes(c.trim()));
      const keep = want[k] || sel.value || hinted || '';
      const names = columns.includes(keep) || !keep ? columns : [...columns, keep];
      sel.replaceChildren(el('option', { value: '' }, k === 'code' ? t('mgr.rec.pickColumn') : t('mgr.rec.noColumn')),
        ...names.map((c) => el('option', { value: c }, c)));
      sel.value = keep || '';
    }
    if (mapping) {
      inFen.checked = Boolean(mapping.amounts_in_fen);
      cancelled.value = (mapping.cancelled_values || []).join('，');
    }
  }

  function mapping() {
    return {
      code: cols.code.value,
      face_value: cols.face_value.value || null,
      state: cols.state.value || null,
      channel_id: cols.channel_id.value || null,
      time: cols.time.value || null,
      amounts_in_fen: inFen.checked,
      cancelled_values: cancelled.value.split(/[,，、\s]+/).map((s) => s.trim()).filter(Boolean),
    };
  }

  /** `{text}` when pasted, `{base64}` for a picked file, null when there is none. */
  function statementContent() {
    if (paste.value.trim()) return { text: paste.value };
    return statement.base64 ? { base64: statement.base64 } : null;
  }

  function showProblems(list) {
    problems.replaceChildren(...list.map((p) => el('li', { dataset: { row: String(p.row ?? ''), kind: p.kind ?? 'other' } },
      ...problemRow(p), ' ', ...problemText(p))));
  }

  async function check() {
    const content = statementContent();
    if (!content) { say(() => t('mgr.rec.needStatement')); return null; }
    try {
      const res = await ctx.guard(api.checkStatement(content, { ...mapping(), code: cols.code.value || '' }));
      columns = res.columns;
      fillColumns();
      showProblems(cols.code.value ? res.problems : []);
      say(() => (cols.code.value
        ? t('mgr.rec.checked', { lines: res.lines, problems: res.problems.length })
        : t('mgr.rec.pickCode')));
      return res;
    } catch (err) {
      if (err.code !== 'manager_locked') say(() => errorText(err));
      return null;
    }
  }

  async function loadMapping() {
    try {
      const saved = await ctx.guard(api.statementMapping(channelSel.value));
      fillColumns(saved || { code: '', cancelled_values: [] }, Boolean(saved));
    } catch (err) {
      if (err.code !== 'manager_locked') say(() => errorText(err));
    }
  }

  function verdictCounts(report) {
    return el('div', { className: 'rec-counts', id: 'rec-counts' }, VERDICTS.map((v) => el('span', {
      className: `verdict verdict-${v}`, dataset: { verdict: v },
    }, `${t(`mgr.rec.v.${v}`)} ${report.counts[v] || 0}`)));
  }

  function renderReport() {
    if (!current) { reportBox.replaceChildren(); return; }
    const r = current.report;
    const { table: tbl, tbody } = table([
      t('mgr.rec.verdict'), t('mgr.log.code'), t('mgr.rec.ourId'), t('mgr.rec.ourState'), t('mgr.rec.ourFace'),
      t('mgr.rec.theirId'), t('mgr.rec.theirState'), t('mgr.rec.theirFace'), t('mgr.rec.evidence'),
    ], [4, 7], { id: 'rec-table' });
    for (const l of r.lines) {
      tbody.append(el('tr', { className: `verdict-row verdict-${l.verdict}`, dataset: { verdict: l.verdict, code: l.code } },
        el('td', {}, el('span', { className: `verdict verdict-${l.verdict}` }, t(`mgr.rec.v.${l.verdict}`))),
        el('td', { className: 'code' }, l.code),
        el('td', { className: 'mono small', dataset: { theirs: 'id' } }, l.our_id ? l.our_id.slice(0, 8) : ''),
        el('td', {}, l.our_state ? t(`state.${l.our_state}`) : ''),
        el('td', { className: 'num' }, yuan2(l.our_face_value)),
        el('td', { className: 'mono small' }, l.channel_id || ''),
        el('td', {}, l.channel_state ? t(`mgr.rec.their.${l.channel_state}`) : ''),
        el('td', { className: 'num' }, yuan2(l.channel_face_value)),
        el('td', { className: 'small' }, evidence(l))));
    }
    if (!r.lines.length) tbody.append(el('tr', {}, el('td', { colSpan: 9, className: 'mgr-empty' }, t('mgr.rec.noLines'))));
    const note = el('input', { type: 'text', id: 'rec-note', maxLength: 200, autocomplete: 'off', placeholder: t('mgr.rec.noteHint') });
    const sign = el('button', { type: 'button', className: 'ok', id: 'rec-sign' }, t('mgr.rec.signOff'));
    const signed = current.sign_off;
    const unreadable = r.lines.filter((l) => l.verdict === 'unreadable');
    sign.addEventListener('click', async () => {
      sign.disabled = true;
      try {
        const done = await ctx.guard(api.signOffDay(current.id, note.value.trim() || null));
        say(() => `${t('mgr.rec.signedWith', { n: done.mismatches, unreadable: done.unreadable_rows })} ${t('mgr.rec.signedHead', { head: chainHead(done.chain_head) })}`);
        await loadRuns(current.id);
        ctx.changed();
      } catch (err) {
        if (err.code !== 'manager_locked') say(() => errorText(err));
        sign.disabled = false;
      }
    });
    const exp = (format) => async () => {
      try {
        const path = await ctx.guard(api.exportReconciliation(r.day, r.channel, current.id, format));
        say(() => path ? t('mgr.export.done', { path }) : t('mgr.export.cancelled'));
      } catch (err) {
        if (err.code !== 'manager_locked') say(() => errorText(err));
      }
    };
    // Absent parts are left out (replaceChildren would write a null as text).
    reportBox.replaceChildren(...[
      el('h3', {}, t('mgr.rec.reportTitle', {
        channel: t(`channel.${r.channel}`), day: r.day,
        source: sourceName(r.source.kind === 'history' ? 'history' : r.source.file),
      })),
      verdictCounts(r),
      unreadable.length
        ? el('ul', { className: 'rec-problems', id: 'rec-skipped' }, unreadable.map(({ problem: p }) => el('li', {},
          ...problemRow(p), ' ', ...problemText(p),
          p.raw ? el('span', { dataset: { theirs: 'statement' } }, ` — ${p.raw}`) : '')))
        : null,
      r.not_listed ? el('p', { className: 'mgr-status', id: 'rec-not-listed' }, t('mgr.rec.notListed', { n: r.not_listed })) : null,
      tbl,
      el('div', { className: 'card-actions rec-sign' },
        signed
          ? el('p', { className: 'rec-signed', id: 'rec-signed' }, t('mgr.rec.signed', { manager: signed.manager, time: dateTime(signed.signed_ms) }))
          : [note, sign],
        el('button', { type: 'button', className: 'ghost', id: 'rec-export-csv', onclick: exp('csv') }, t('mgr.export.csv')),
        el('button', { type: 'button', className: 'ghost', id: 'rec-export-xlsx', onclick: exp('xlsx') }, t('mgr.export.xlsx'))),
    ].filter(Boolean));
    root.dataset.reportId = String(current.id);
  }

  async function loadRuns(selectId) {
    try {
      const runs = (await ctx.guard(api.dayReconciliations(dayInput.value))).filter((r) => r.channel === channelSel.value);
      runsBox.replaceChildren(runs.length ? el('div', {}, el('h4', {}, t('mgr.rec.runs')),
        el('ol', { className: 'rec-run-list' }, runs.slice().reverse().map((r) => el('li', {},
          el('button', {
            type: 'button', className: `link${current && current.id === r.id ? ' active' : ''}`,
            onclick: () => { showRun(r); },
          }, t('mgr.rec.run', {
            time: dateTime(r.run_ms), lines: r.lines, n: r.mismatches,
            source: sourceName(r.source),
          }), r.sign_off ? ` · ${t('mgr.rec.signedShort', { manager: r.sign_off.manager })}` : ''))))) : '');
      const pick = runs.find((r) => r.id === selectId);
      if (pick) showRun(pick);
    } catch (err) {
      if (err.code !== 'manager_locked') say(() => errorText(err));
    }
  }

  function showRun(r) {
    try {
      current = { id: r.id, report: JSON.parse(r.report), sign_off: r.sign_off };
    } catch (_) {
      current = null;
    }
    renderReport();
  }

  async function run(useHistory) {
    say(() => t('mgr.working'));
    let stmt = null;
    if (!useHistory) {
      const content = statementContent();
      if (!content) { say(() => t('mgr.rec.needStatement')); return; }
      if (!cols.code.value) { say(() => t('mgr.rec.pickCode')); return; }
      // A pasted statement has no file name: '' is named in the UI's language when shown.
      stmt = { file: (content.base64 && statement.file) || '', ...content, mapping: mapping() };
    }
    try {
      const rec = await ctx.guard(api.reconcileDay(dayInput.value, channelSel.value, stmt));
      current = { ...rec, sign_off: null };
      say(() => t('mgr.rec.done', { n: rec.report.lines.length - (rec.report.counts.matched || 0) }));
      renderReport();
      // The report lists the rows it could not read; once is enough.
      showProblems([]);
      loadRuns(rec.id);
      ctx.changed();
    } catch (err) {
      if (err.code === 'manager_locked') return;
      say(() => errorText(err));
      // A statement that cannot be used at all: show which rows and why.
      if (err.code === 'statement_invalid') check();
    }
  }

  function onChannel() {
    // Another channel's statement and columns never carry over.
    statement = { file: '', base64: '' };
    paste.value = '';
    fileInput.value = '';
    renderFileName();
    columns = [];
    chosen.clear();
    const c = caps();
    historyBtn.hidden = !c.history;
    statementBox.querySelector('#rec-statement-legend').textContent = c.history ? t('mgr.rec.orStatement') : t('mgr.rec.statementOnly');
    current = null;
    renderReport();
    problems.replaceChildren();
    loadMapping();
    loadRuns();
  }

  fileInput.addEventListener('change', async () => {
    const f = fileInput.files && fileInput.files[0];
    if (!f) return;
    if (f.size > MAX_STATEMENT_BYTES) {
      statement = { file: '', base64: '' };
      say(() => t('mgr.rec.tooLarge', { mb: MAX_STATEMENT_BYTES / 1024 / 1024 }));
      return;
    }
    // The bytes as they are (base64): the Rust side decodes GBK / UTF-16 / UTF-8.
    const url = await new Promise((resolve, reject) => {
      const reader = new FileReader();
      reader.onload = () => resolve(reader.result);
      reader.onerror = () => reject(reader.error);
      reader.readAsDataURL(f);
    });
    statement = { file: f.name, base64: String(url).slice(String(url).indexOf(',') + 1) };
    renderFileName();
    paste.value = '';
    check();
  });
  paste.addEventListener('change', () => check());
  channelSel.addEventListener('change', onChannel);
  dayInput.addEventListener('change', () => { current = null; renderReport(); loadRuns(); ctx.setDay(dayInput.value); });
  historyBtn.addEventListener('click', () => run(true));
  runBtn.addEventListener('click', () => run(false));
  checkBtn.addEventListener('click', () => check());
  saveMapBtn.addEventListener('click', async () => {
    try {
      const saved = await ctx.guard(api.saveStatementMapping(channelSel.value, mapping()));
      fillColumns(saved, true);
      say(() => t('mgr.rec.mappingSaved'));
    } catch (err) {
      if (err.code !== 'manager_locked') say(() => errorText(err));
    }
  });

  // The status line, kept as what makes it, so a language switch says it again.
  let said = null;
  function say(make) {
    said = make;
    status.textContent = make();
  }

  function renderFileName() {
    fileName.textContent = statement.file || t('mgr.rec.noFile');
    if (statement.file) fileName.dataset.theirs = 'file';
    else delete fileName.dataset.theirs;
  }

  function renderTexts() {
    dayBox.renderTexts();
    if (said) status.textContent = said();
    fileBtn.textContent = t('mgr.rec.pickFile');
    renderFileName();
    for (const [span, key] of labels) span.textContent = t(key);
    historyBtn.textContent = t('mgr.rec.byHistory');
    checkBtn.textContent = t('mgr.rec.check');
    saveMapBtn.textContent = t('mgr.rec.saveMapping');
    runBtn.textContent = t('mgr.rec.byStatement');
    paste.placeholder = t('mgr.rec.pasteHint');
    cancelled.placeholder = t('mgr.rec.cancelledHint');
    const keep = channelSel.value;
    channelSel.replaceChildren(...channels.filter((c) => c.capabilities.redeems_codes)
      .map((c) => el('option', { value: c.kind }, t(`channel.${c.kind}`))));
    if (keep) channelSel.value = keep;
    statementBox.querySelector('#rec-statement-legend').textContent = caps().history ? t('mgr.rec.orStatement') : t('mgr.rec.statementOnly');
    renderReport();
  }

  return {
    root,
    async show(day, channel, runId) {
      root.hidden = false;
      if (!channels.length) {
        try { channels = await ctx.guard(api.channels()); } catch (_) { return; }
        renderTexts();
      }
      if (day) dayInput.value = day;
      if (channel) channelSel.value = channel;
      onChannel();
      if (runId) loadRuns(runId);
      channelSel.focus();
    },
    hide() { root.hidden = true; },
    renderTexts,
  };
}
