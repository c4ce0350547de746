// The shift-start chooser (开班): shown at launch, before the cashier screen accepts a scan,
// when the manager's cashier list has more than one name or any PIN. Keyboard first: ↑/↓ or
// the number keys pick, Enter chooses; a cashier with a PIN then types it and presses Enter
// (Esc goes back to the list). A wrong PIN is said plainly and the field is cleared.
// Also the 交班 button of the top bar, which ends the shift and comes back here.
import { t } from '../i18n.js';
import * as api from '../api.js';
import { setShift, shiftChoosable } from '../shift.js';
import { chainHead } from '../format.js';

/** Where the 交班 button leaves the ended shift's chain head for the chooser to show. */
const ENDED_KEY = 'redeemdesk.shiftEnded';

/**
 * Shows the chooser in `root` and resolves with the chosen name once its shift started.
 * `info` is the app_info object (the mode badge shows whether this is the sandbox).
 */
export function renderShiftStart(root, info, cashiers) {
  return new Promise((resolve) => {
    const el = (tag, cls, text) => {
      const e = document.createElement(tag);
      if (cls) e.className = cls;
      if (text !== undefined) e.textContent = text;
      return e;
    };
    const card = el('section', 'shift-card');
    card.dataset.testid = 'shift-start';
    const head = el('header', 'shift-head');
    const logo = document.createElement('img');
    logo.src = 'logo.svg';
    logo.alt = '';
    logo.className = 'shift-logo';
    const titles = el('div');
    titles.append(el('h1', 'shift-title', t('shift.title')), el('p', 'shift-sub', t('shift.sub')));
    const badge = el('span', 'mode-badge', t(`mode.${info.mode}`));
    badge.dataset.mode = info.mode;
    head.append(logo, titles, badge);

    const list = el('ol', 'shift-list');
    list.setAttribute('role', 'listbox');
    const pinBox = el('form', 'shift-pin');
    pinBox.hidden = true;
    const pinLabel = el('label', 'shift-pin-label');
    const pin = document.createElement('input');
    pin.type = 'password';
    pin.inputMode = 'numeric';
    pin.autocomplete = 'off';
    pin.maxLength = 8;
    pin.className = 'shift-pin-input';
    pin.dataset.testid = 'shift-pin';
    const pinText = el('span', 'shift-pin-text');
    pinLabel.append(pinText, pin);
    const pinGo = el('button', 'primary', t('shift.start'));
    pinGo.type = 'submit';
    pinGo.dataset.testid = 'shift-pin-go';
    pinBox.append(pinLabel, pinGo);
    const message = el('p', 'shift-message');
    message.dataset.testid = 'shift-message';
    message.setAttribute('role', 'alert');
    const ended = sessionStorage.getItem(ENDED_KEY);
    if (ended) {
      sessionStorage.removeItem(ENDED_KEY);
      try {
        message.textContent = t('shift.ended', JSON.parse(ended));
      } catch { /* a damaged note is not worth a broken chooser */ }
    }
    const help = el('p', 'shift-help', t('shift.keys'));
    card.append(head, list, pinBox, message, help);
    const screen = el('main', 'shift-screen');
    screen.append(card);
    root.replaceChildren(screen);

    let cursor = 0;
    let chosen = null; // the cashier whose PIN is being typed
    let busy = false;

    function renderList() {
      list.replaceChildren(
        ...cashiers.map((c, i) => {
          const li = el('li', 'shift-option' + (i === cursor ? ' active' : ''));
          li.dataset.testid = `shift-option-${i + 1}`;
          li.dataset.name = c.name;
          li.setAttribute('role', 'option');
          li.setAttribute('aria-selected', String(i === cursor));
          const key = el('kbd', '', i < 9 ? String(i + 1) : '');
          const name = el('span', 'shift-name', c.name);
          li.append(key, name);
          if (c.has_pin) li.append(el('span', 'shift-lock', t('shift.hasPin')));
          li.addEventListener('click', () => {
            cursor = i;
            choose();
          });
          return li;
        }),
      );
    }

    function say(key, params) {
      message.textContent = key ? t(key, params) : '';
      message.dataset.kind = key ? 'error' : '';
    }

    function choose() {
      if (busy) return;
      const c = cashiers[cursor];
      renderList();
      if (c.has_pin) {
        chosen = c;
        pinText.textContent = t('shift.pinFor', { name: c.name });
        pinBox.hidden = false;
        pin.value = '';
        say(null);
        pin.focus();
      } else {
        start(c, null);
      }
    }

    function start(c, pinValue) {
      busy = true;
      api.startShift(c.name, pinValue).then(
        (name) => {
          busy = false;
          setShift(name, true);
          document.removeEventListener('keydown', onKey);
          resolve(name);
        },
        (e) => {
          busy = false;
          if (e.code === 'pin_wrong') {
            say('shift.wrongPin', { name: c.name });
            pin.value = '';
            pin.focus();
          } else if (e.code === 'pin_locked_out') {
            // The same lock-out as the manager PIN's (core roles.rs): the desk keeps the time.
            const ms = Number(e.detail?.wait_ms ?? 30000);
            say('shift.lockedOut', { name: c.name, seconds: Math.ceil(ms / 1000) });
            pin.value = '';
            pin.focus();
          } else {
            say('shift.failed', { detail: e.message });
          }
        },
      );
    }

    pinBox.addEventListener('submit', (e) => {
      e.preventDefault();
      if (!chosen || busy) return;
      if (pin.value.trim() === '') {
        say('shift.pinEmpty');
        return;
      }
      start(chosen, pin.value);
    });

    function back() {
      chosen = null;
      pinBox.hidden = true;
      say(null);
      list.focus();
    }

    function onKey(e) {
      if (chosen) {
        if (e.key === 'Escape') {
          e.preventDefault();
          back();
        }
        return; // the PIN field handles its own keys (Enter submits the form)
      }
      if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
        e.preventDefault();
        const n = cashiers.length;
        cursor = (cursor + (e.key === 'ArrowDown' ? 1 : n - 1)) % n;
        renderList();
      } else if (/^[1-9]$/.test(e.key) && Number(e.key) <= cashiers.length) {
        e.preventDefault();
        cursor = Number(e.key) - 1;
        choose();
      } else if (e.key === 'Enter') {
        e.preventDefault();
        choose();
      }
    }

    document.addEventListener('keydown', onKey);
    list.tabIndex = 0;
    renderList();
    list.focus();
  });
}

/**
 * Adds the 交班 button after `nameEl` in the top bar (only when there is a list to choose
 * from). Returns a function that refreshes its text after a language change.
 */
export function mountEndShift(nameEl) {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = 'chip';
  b.id = 'end-shift';
  b.dataset.testid = 'end-shift';
  b.tabIndex = -1;
  b.hidden = !shiftChoosable();
  b.addEventListener('click', () => {
    // Ending the shift in the desk first, then a fresh page: the chooser runs exactly as at
    // launch and nothing of the last cashier's screen stays behind.
    api.endShift().then(
      (ended) => {
        // The chooser after the reload shows the head, so it can go on the 交班单.
        if (ended && ended.chain_head) {
          sessionStorage.setItem(ENDED_KEY, JSON.stringify({ cashier: ended.cashier, head: chainHead(ended.chain_head) }));
        }
        location.reload();
      },
      () => location.reload(),
    );
  });
  nameEl.after(b);
  const text = () => {
    b.textContent = t('shift.end');
  };
  text();
  return text;
}
