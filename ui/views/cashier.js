// The cashier screen (收银核销): channel chooser, the always-focused capture field, the result
// panel and the recent-attempts strip. Keyboard first: F1…F5 choose, Enter acts, Esc clears.
import { t, applyStatic, currentLang, setLang } from '../i18n.js';
import { CHANNELS, loadChoice, choose } from '../channels.js';

export function renderCashier(root, info) {
  root.replaceChildren(document.getElementById('cashier-template').content.cloneNode(true));
  let choice = loadChoice();

  const input = root.querySelector('#code-input');
  const chooser = root.querySelector('#channel-chooser');
  const about = root.querySelector('#about-dialog');

  function renderChooser() {
    chooser.replaceChildren(
      ...CHANNELS.map((channel, i) => {
        const b = document.createElement('button');
        b.type = 'button';
        b.className = 'channel' + (choice.channel === channel ? ' active' : '');
        b.dataset.channel = channel;
        b.dataset.testid = `channel-${channel}`;
        b.setAttribute('aria-pressed', String(choice.channel === channel));
        const key = document.createElement('kbd');
        key.textContent = `F${i + 1}`;
        const name = document.createElement('span');
        name.textContent = t(`channel.${channel}`);
        b.append(key, name);
        if (channel === 'allinpay') {
          const p = document.createElement('span');
          p.className = 'platform';
          p.textContent = '·' + t(`platform.${choice.platform}`);
          b.append(p);
        }
        b.addEventListener('click', () => pick(i));
        return b;
      }),
    );
  }

  function pick(index) {
    choice = choose(choice, index);
    renderChooser();
    input.focus();
  }

  function renderTexts() {
    applyStatic(root);
    root.querySelector('#mode-badge').textContent = t(`mode.${info.mode}`);
    root.querySelector('#mode-badge').dataset.mode = info.mode;
    root.querySelector('#lang-toggle').textContent = t('lang.toggle');
    root.querySelector('#about-version').textContent = info.version;
    root.querySelector('#about-mode').textContent = t(`mode.${info.mode}`);
    root.querySelector('#about-data-dir').textContent = info.data_dir;
    input.placeholder = t('capture.label');
    renderChooser();
  }

  root.querySelector('#lang-toggle').addEventListener('click', () => {
    setLang(currentLang() === 'zh' ? 'en' : 'zh');
    renderTexts();
    input.focus();
  });
  root.querySelector('#about-open').addEventListener('click', () => about.showModal());
  about.addEventListener('close', () => input.focus());

  document.addEventListener('keydown', (e) => {
    const f = /^F([1-5])$/.exec(e.key);
    if (f && !about.open) {
      e.preventDefault();
      pick(Number(f[1]) - 1);
    } else if (e.key === 'Escape' && !about.open) {
      input.value = '';
    }
  });
  // The field keeps the focus: a scanner types wherever the focus is.
  input.addEventListener('blur', () => {
    setTimeout(() => {
      if (!about.open && !document.activeElement?.closest('button')) input.focus();
    }, 0);
  });

  renderTexts();
  input.focus();
}
