// The start-up failure page: says what is wrong in both languages (the language setting may
// be what cannot be read), shows the detail, and quits with a non-zero exit code.
import { t, applyStatic } from '../i18n.js';
import { quitAfterFatal } from '../api.js';

export function renderFatal(root, error) {
  root.replaceChildren(document.getElementById('fatal-template').content.cloneNode(true));
  applyStatic(root);
  const key = `fatal.${error.code}`;
  const known = t(key, {}, 'zh') !== key;
  root.querySelector('#fatal-reason-zh').textContent = t(known ? key : 'fatal.unknown', {}, 'zh');
  root.querySelector('#fatal-reason-en').textContent = t(known ? key : 'fatal.unknown', {}, 'en');
  root.querySelector('#fatal-detail').textContent = `${error.code}: ${error.message}`;
  const quit = root.querySelector('#fatal-quit');
  quit.addEventListener('click', () => quitAfterFatal().catch(() => window.close()));
  quit.focus();
}
