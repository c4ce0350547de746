// 设置 (the manager shell's settings tab): channels with 测试连接, the business day and the
// scanner, cashiers and the manager PIN, language and sounds. One section at a time, picked
// from the list on the left (↑/↓ or a click). Every change that matters to the records goes
// through the Rust side, which validates it and refuses with the field named; language and
// sounds are this window's own preferences.
import { t, currentLang, setLang } from '../i18n.js';
import { soundOn, setSoundOn, play } from '../sound.js';
import { el } from './settings/dom.js';
import { renderChannels } from './settings/channels.js';
import { renderDesk } from './settings/desk.js';
import { renderPrinter } from './settings/printer.js';
import { renderPeople } from './settings/people.js';

const SECTIONS = ['channels', 'desk', 'people', 'general'];

function renderGeneral(container, rerender) {
  const lang = el('select', { className: 'set-input' },
    el('option', { value: 'zh' }, '中文'),
    el('option', { value: 'en' }, 'English'));
  lang.value = currentLang();
  lang.dataset.testid = 'set-lang';
  lang.addEventListener('change', () => {
    setLang(lang.value);
    rerender();
  });
  const sound = el('input', { type: 'checkbox', checked: soundOn() });
  sound.dataset.testid = 'set-sound';
  sound.addEventListener('change', () => {
    setSoundOn(sound.checked);
    if (sound.checked) play('succeeded');
  });
  container.replaceChildren(
    el('h2', { className: 'set-title' }, t('set.general.title')),
    el('section', { className: 'set-channel' },
      el('div', { className: 'set-grid' },
        el('label', { className: 'set-row' }, el('span', { className: 'set-label' }, t('set.general.lang')), el('span', { className: 'set-control' }, lang)),
        el('label', { className: 'set-row' }, el('span', { className: 'set-label' }, t('set.general.sound')),
          el('span', { className: 'set-control' }, el('span', { className: 'set-inline' }, sound, t('set.general.soundHint')))))),
  );
  container.dataset.loaded = 'true';
}

/**
 * Mounts the settings into `container` (an empty element). `info` is the app_info object:
 * the mode shown at the top of the channel section.
 */
export function renderSettings(container, info, start = 'channels') {
  let section = start;
  const ctx = { info, savedThisSession: false };
  const nav = el('nav', { className: 'set-nav' });
  nav.setAttribute('aria-label', t('set.title'));
  const pane = el('div', { className: 'set-pane' });
  pane.dataset.testid = 'settings-pane';
  const root = el('div', { className: 'settings' }, nav, pane);
  root.dataset.testid = 'settings';
  container.replaceChildren(root);

  function show(next) {
    section = next;
    nav.replaceChildren(
      // The mode's name is in both languages on purpose (SANDBOX must be unmistakable).
      el('div', { className: 'set-mode', dataset: { bilingual: '' } }, t('set.mode', { mode: t(`mode.${info.mode}`) })),
      ...SECTIONS.map((s) => {
        const b = el('button', { type: 'button', className: 'set-nav-item' + (s === section ? ' active' : '') }, t(`set.section.${s}`));
        b.dataset.testid = `set-section-${s}`;
        b.setAttribute('aria-current', String(s === section));
        b.addEventListener('click', () => show(s));
        return b;
      }),
    );
    pane.replaceChildren();
    delete pane.dataset.loaded;
    pane.dataset.section = section;
    if (section === 'channels') renderChannels(pane, ctx);
    else if (section === 'desk') {
      renderDesk(pane);
      renderPrinter(pane);
    }
    else if (section === 'people') renderPeople(pane);
    else renderGeneral(pane, () => show('general'));
  }

  nav.addEventListener('keydown', (e) => {
    if (e.key !== 'ArrowDown' && e.key !== 'ArrowUp') return;
    e.preventDefault();
    const i = SECTIONS.indexOf(section);
    show(SECTIONS[(i + (e.key === 'ArrowDown' ? 1 : SECTIONS.length - 1)) % SECTIONS.length]);
    nav.querySelector('.active')?.focus();
  });

  show(section);
}
