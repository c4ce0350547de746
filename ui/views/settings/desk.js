// 设置 › 营业日与扫码枪: when the business day starts and in which zone, and what the store's
// scanner adds before and after a code (stripped by the Rust normaliser on every scan).
import { t } from '../../i18n.js';
import * as api from '../../api.js';
import { setZone } from '../../format.js';
import { el, fieldRow, input, button, showFieldError, clearErrors, reasonOf } from './dom.js';

const pad = (n) => String(n).padStart(2, '0');

/** "04:00" ↔ 240. */
function hhmm(minutes) {
  return `${pad(Math.floor(minutes / 60))}:${pad(minutes % 60)}`;
}
function minutesOf(text) {
  const m = /^(\d{1,2}):(\d{2})$/.exec(String(text).normalize('NFKC').trim());
  return m ? Number(m[1]) * 60 + Number(m[2]) : NaN;
}

/** UTC−12:00 … UTC+14:00 in half hours, plus the quarter-hour zones that exist. */
function zones() {
  const out = [];
  for (let m = -12 * 60; m <= 14 * 60; m += 30) out.push(m);
  out.push(345, 525, 765);
  return out.sort((a, b) => a - b);
}
function zoneName(m) {
  const sign = m < 0 ? '−' : '+';
  const a = Math.abs(m);
  return `UTC${sign}${pad(Math.floor(a / 60))}:${pad(a % 60)}${m === 480 ? ` ${t('set.day.china')}` : ''}`;
}

export function renderDesk(container) {
  const cutoff = input({ className: 'set-input num', inputMode: 'numeric', placeholder: '04:00' });
  cutoff.dataset.testid = 'set-cutoff';
  const zone = el('select', { className: 'set-input' }, ...zones().map((m) => el('option', { value: String(m) }, zoneName(m))));
  zone.dataset.testid = 'set-zone';
  const prefix = input({ className: 'set-input mono' });
  prefix.dataset.testid = 'set-scan-prefix';
  const suffix = input({ className: 'set-input mono' });
  suffix.dataset.testid = 'set-scan-suffix';
  const rows = {
    cutoff_minutes: { ...fieldRow(t('set.day.cutoff'), cutoff, t('set.day.cutoffHint')), label: t('set.day.cutoff') },
    utc_offset_minutes: { ...fieldRow(t('set.day.zone'), zone), label: t('set.day.zone') },
    scan_prefix: { ...fieldRow(t('set.scan.prefix'), prefix, t('set.scan.hint')), label: t('set.scan.prefix') },
    scan_suffix: { ...fieldRow(t('set.scan.suffix'), suffix), label: t('set.scan.suffix') },
  };
  const result = el('div', { className: 'set-result', role: 'status' });
  result.dataset.testid = 'set-desk-result';
  const save = button('set.save', { className: 'set-btn primary', dataset: { testid: 'set-desk-save' } });
  const form = el('div', { className: 'set-grid' }, ...Object.values(rows).map((r) => r.row));
  container.replaceChildren(
    el('h2', { className: 'set-title' }, t('set.desk.title')),
    el('h3', { className: 'set-subtitle' }, t('set.day.title')),
    el('p', { className: 'set-intro' }, t('set.day.intro')),
    el('div', { className: 'set-channel' }, form, el('div', { className: 'set-actions' }, save, result)),
  );

  function show(s) {
    cutoff.value = hhmm(s.cutoff_minutes);
    zone.value = String(s.utc_offset_minutes);
    prefix.value = s.scan_prefix;
    suffix.value = s.scan_suffix;
    container.dataset.loaded = 'true';
  }

  api.deskSettings().then(show, (e) => {
    result.dataset.kind = 'error';
    result.textContent = t('set.loadFailed', { detail: e.message });
  });

  save.addEventListener('click', () => {
    clearErrors(container);
    const minutes = minutesOf(cutoff.value);
    if (Number.isNaN(minutes)) {
      showFieldError(rows.cutoff_minutes.error, rows.cutoff_minutes.label, { kind: 'other', reason: 'HH:MM' });
      return;
    }
    const settings = {
      scan_prefix: prefix.value,
      scan_suffix: suffix.value,
      cutoff_minutes: minutes,
      utc_offset_minutes: Number(zone.value),
    };
    api.saveDeskSettings(settings).then(
      (s) => {
        show(s);
        setZone(s.utc_offset_minutes);
        result.dataset.kind = 'ok';
        result.textContent = `✓ ${t('set.desk.saved')}`;
      },
      (e) => {
        const row = rows[e.field];
        result.dataset.kind = 'error';
        if (row) {
          result.textContent = '';
          showFieldError(row.error, row.label, reasonOf(e));
        } else result.textContent = t('set.saveFailed', { detail: e.message });
      },
    );
  });
}
