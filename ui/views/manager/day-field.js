// A business day typed or stepped as YYYY-MM-DD. WebKit's own date picker shows the
// system's order (MM/DD/YYYY here), which a Chinese store reads as another day; this field
// shows the date the way the log, the exports and the slips write it. It keeps the input's
// API: `.value` is 'YYYY-MM-DD' (or '' while what is typed is not a date), and a `change`
// event reaches the screen only for a real date.
import { t } from '../../i18n.js';
import { el } from './dom.js';

/** '2026-12-01' from what a person types: 20261201, 2026/12/1, 2026.12.01, 2026-12-01. */
export function normaliseDay(text) {
  const s = String(text ?? '').normalize('NFKC').trim();
  const m = /^(\d{4})[-/.年]?(\d{1,2})[-/.月]?(\d{1,2})日?$/.exec(s);
  if (!m) return null;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const date = new Date(Date.UTC(y, mo - 1, d));
  if (date.getUTCFullYear() !== y || date.getUTCMonth() !== mo - 1 || date.getUTCDate() !== d) return null;
  return `${m[1]}-${String(mo).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
}

function shifted(day, delta) {
  const [y, mo, d] = day.split('-').map(Number);
  const date = new Date(Date.UTC(y, mo - 1, d + delta));
  return date.toISOString().slice(0, 10);
}

/** `{input, box}`: the text field (give it to the screen) and its row with ◀ ▶. */
export function dayField(id) {
  const input = el('input', {
    type: 'text', id, className: 'day-field', inputMode: 'numeric', maxLength: 10,
    autocomplete: 'off', spellcheck: false,
  });
  input.dataset.kind = 'day';
  let good = '';
  // First listener on the field: it runs before the screen's own and stops a bad date there.
  input.addEventListener('change', (e) => {
    const day = normaliseDay(input.value);
    input.setAttribute('aria-invalid', String(!day));
    input.title = day ? '' : t('mgr.day.invalid');
    if (!day) {
      e.stopImmediatePropagation();
      return;
    }
    input.value = day;
    good = day;
  });
  const step = (delta) => {
    const from = normaliseDay(input.value) ?? good;
    if (!from) return;
    input.value = shifted(from, delta);
    input.dispatchEvent(new Event('change', { bubbles: true }));
  };
  input.addEventListener('keydown', (e) => {
    if (e.key === 'ArrowUp' || e.key === 'ArrowDown') {
      e.preventDefault();
      step(e.key === 'ArrowUp' ? 1 : -1);
    } else if (e.key === 'Enter') {
      input.dispatchEvent(new Event('change', { bubbles: true }));
    }
  });
  const prev = el('button', { type: 'button', className: 'ghost day-step', tabIndex: -1, onclick: () => step(-1) }, '◀');
  const next = el('button', { type: 'button', className: 'ghost day-step', tabIndex: -1, onclick: () => step(1) }, '▶');
  // The input first: a label around the row targets its first labelable child.
  const box = el('span', { className: 'day-box' }, input, prev, next);
  box.renderTexts = () => {
    input.placeholder = t('mgr.day.placeholder');
    prev.title = t('mgr.day.prev');
    next.title = t('mgr.day.next');
  };
  box.renderTexts();
  return { input, box };
}
