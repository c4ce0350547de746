// Small helpers for the 设置 screens: elements built with createElement, text set as text,
// and the per-field message a refused setting shows beside its input.
import { t, currentLang } from '../../i18n.js';
import { el } from '../dom.js';

export { el };

/**
 * A labelled row: `{row, input, error}`. `error` is the line under the input where a refusal
 * naming this field is shown.
 */
export function fieldRow(label, input, hint) {
  const error = el('div', { className: 'set-error', role: 'alert' });
  const row = el(
    'label',
    { className: 'set-row' },
    el('span', { className: 'set-label' }, label),
    el('span', { className: 'set-control' }, input, hint ? el('small', { className: 'set-hint' }, hint) : null, error),
  );
  return { row, input, error };
}

export function input(props = {}) {
  return el('input', { type: 'text', autocomplete: 'off', spellcheck: false, ...props });
}

export function button(key, props = {}) {
  return el('button', { type: 'button', className: 'set-btn', ...props }, t(key));
}

/** What the core's reason for a refusal means, in the current language. */
export function reasonText(reason, label) {
  const r = String(reason || '');
  let m;
  if ((m = /must be 1–(\d+) digits/.exec(r))) return t('set.reason.digits', { label, max: m[1] });
  if (/not a URL|http:\/\/ or https:\/\/|query or fragment/.test(r)) return t('set.reason.url', { label });
  if (/8–256 printable/.test(r)) return t('set.reason.key', { label });
  if (/^missing|missing field/.test(r)) return t('set.reason.missing', { label });
  if ((m = /must be 1–(\d+) printable/.exec(r))) return t('set.reason.ident', { label, max: m[1] });
  if (/PEM|pem|key/.test(r) && /parse|invalid|decode/i.test(r)) return t('set.reason.pem', { label });
  return t('set.reason.other', { label, detail: r });
}

/**
 * Shows a refusal under its field: the translated sentence, and in Chinese the core's English
 * words after it, so both languages are on screen for whoever reads it.
 */
export function showFieldError(target, label, reason) {
  const text = reasonText(reason, label);
  target.replaceChildren(
    el('span', { className: 'set-error-main' }, '✕ ', text),
    currentLang() === 'zh' && reason ? el('span', { className: 'set-error-en' }, ` ${reason}`) : null,
  );
  target.closest('.set-row')?.classList.add('invalid');
}

export function clearErrors(root) {
  for (const e of root.querySelectorAll('.set-error')) e.replaceChildren();
  for (const r of root.querySelectorAll('.set-row.invalid')) r.classList.remove('invalid');
}

/** The message of a refused command: the core's words after the field name. */
export function reasonOf(error) {
  const msg = String(error?.message || '');
  const field = error?.field;
  if (field && msg.startsWith(field + ': ')) return msg.slice(field.length + 2);
  const i = msg.lastIndexOf(': ');
  return i >= 0 && field ? msg.slice(i + 2) : msg;
}
