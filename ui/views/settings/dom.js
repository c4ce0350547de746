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

/**
 * What a refusal means, in the current language, from its kind: `why` is the core's detail
 * (`{kind, max, reason}`, core channel/settings.rs `Why`) or a kind this screen found itself
 * ('missing', or `{kind: 'said', text}`). The core's English `reason` is shown, never read.
 */
export function reasonText(why, label) {
  const w = typeof why === 'string' ? { kind: why } : why ?? {};
  switch (w.kind) {
    case 'digits': return t('set.reason.digits', { label, max: w.max });
    case 'ident': return t('set.reason.ident', { label, max: w.max });
    case 'url': return t('set.reason.url', { label });
    case 'key_format': return t('set.reason.key', { label });
    case 'missing': return t('set.reason.missing', { label });
    case 'pem': return t('set.reason.pem', { label });
    case 'demo_secret': return t('set.reason.demo_secret', { label });
    case 'sandbox_key_pair': return t('set.reason.sandbox_key_pair', { label });
    case 'said': return w.text; // a sentence this screen made itself
    default: return t('set.reason.other', { label, detail: w.reason ?? '' });
  }
}

/**
 * Shows a refusal under its field: the translated sentence, and in Chinese the core's English
 * words after it, so both languages are on screen for whoever reads it.
 */
export function showFieldError(target, label, why) {
  const text = reasonText(why, label);
  const english = typeof why === 'object' ? why?.reason : null;
  target.replaceChildren(
    el('span', { className: 'set-error-main' }, '✕ ', text),
    currentLang() === 'zh' && english ? el('span', { className: 'set-error-en', dataset: { bilingual: '' } }, ` ${english}`) : null,
  );
  target.closest('.set-row')?.classList.add('invalid');
}

export function clearErrors(root) {
  for (const e of root.querySelectorAll('.set-error')) e.replaceChildren();
  for (const r of root.querySelectorAll('.set-row.invalid')) r.classList.remove('invalid');
}

/**
 * A refused command's reason as data: the core's detail (`{kind, max, reason}`), or for a
 * refusal without one its message, shown as it is.
 */
export function reasonOf(error) {
  return error?.detail?.kind ? error.detail : { kind: 'other', reason: String(error?.message || '') };
}
