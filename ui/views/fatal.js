// The start-up failure page: says what is wrong in both languages (the language setting may
// be what cannot be read), shows the detail, and quits with a non-zero exit code.
import { t, applyStatic } from '../i18n.js';
import { quitAfterFatal, startNewLedger } from '../api.js';
import { armedButton } from './new-ledger.js';

/** The failures a new ledger (the old one kept) is the way out of. */
const DAMAGED = ['ledger_corrupt', 'ledger_behind_head'];

export function renderFatal(root, error) {
  root.replaceChildren(document.getElementById('fatal-template').content.cloneNode(true));
  applyStatic(root);
  const key = `fatal.${error.code}`;
  const known = t(key, {}, 'zh') !== key;
  root.querySelector('#fatal-reason-zh').textContent = t(known ? key : 'fatal.unknown', {}, 'zh');
  root.querySelector('#fatal-reason-en').textContent = t(known ? key : 'fatal.unknown', {}, 'en');
  root.querySelector('#fatal-detail').textContent = `${error.code}: ${error.message}`;
  if (DAMAGED.includes(error.code)) {
    root.querySelector('#fatal-new-ledger').hidden = false;
    // Both languages, as the rest of this page: the language setting may be unreadable.
    armedButton(root.querySelector('#fatal-new-ledger-btn'), () => startNewLedger(), {
      idle: () => `${t('newLedger.start', {}, 'zh')} ${t('newLedger.start', {}, 'en')}`,
      armed: () => `${t('newLedger.confirm', {}, 'zh')} ${t('newLedger.confirm', {}, 'en')}`,
      failed: (e) => `${t('newLedger.failed', {}, 'zh')} ${t('newLedger.failed', {}, 'en')} (${e?.code ?? ''})`,
    });
  }
  const quit = root.querySelector('#fatal-quit');
  quit.addEventListener('click', () => quitAfterFatal().catch(() => window.close()));
  quit.focus();
}
