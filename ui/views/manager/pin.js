// The manager PIN dialog: unlocks the manager screens (the core checks the Argon2 hash,
// counts wrong tries and locks out: 3 free tries, then 30 s, doubling). With no PIN yet the
// manager sets one first, typed twice. A lock-out shows its delay counting down; an idle
// auto-lock comes back here with a message saying so.
import { t } from '../../i18n.js';
import * as api from '../../api.js';
import { el, errorText } from './dom.js';

const NAME_KEY = 'redeemdesk.manager';

export function createPin(container, { onUnlocked }) {
  const title = el('h2', { className: 'pin-title', id: 'pin-title' });
  const lead = el('p', { className: 'pin-lead', id: 'pin-lead' });
  const name = el('input', { id: 'pin-name', type: 'text', autocomplete: 'off', spellcheck: false, maxLength: 20 });
  const pin = el('input', { id: 'pin-input', type: 'password', inputMode: 'numeric', autocomplete: 'off', maxLength: 12 });
  const again = el('input', { id: 'pin-again', type: 'password', inputMode: 'numeric', autocomplete: 'off', maxLength: 12 });
  const againRow = el('label', { className: 'mgr-field' }, el('span', { id: 'pin-again-label' }), again);
  const message = el('p', { className: 'pin-message', id: 'pin-message', attrs: { role: 'alert', 'aria-live': 'assertive' } });
  const submit = el('button', { type: 'submit', className: 'primary big', id: 'pin-submit' });
  const back = el('button', { type: 'button', className: 'ghost', id: 'pin-back' });
  const form = el('form', { className: 'pin-card', id: 'pin-form', noValidate: true },
    title, lead,
    el('label', { className: 'mgr-field' }, el('span', { id: 'pin-name-label' }), name),
    el('label', { className: 'mgr-field' }, el('span', { id: 'pin-pin-label' }), pin),
    againRow, message,
    el('div', { className: 'pin-buttons' }, back, submit));
  const root = el('div', { className: 'pin-screen', id: 'manager-pin', dataset: { testid: 'manager-pin' } }, form);
  container.append(root);

  let setting = false; // no PIN yet: this form sets the first one
  let lockedUntil = 0; // performance.now() when the lock-out ends
  let timer = null;
  let note = null; // {key, params} shown above the form (e.g. the idle auto-lock)
  let onBack = () => {};

  function renderTexts() {
    title.textContent = t(setting ? 'mgr.pin.setTitle' : 'mgr.pin.title');
    lead.textContent = note ? t(note.key, note.params) : t(setting ? 'mgr.pin.setLead' : 'mgr.pin.lead');
    lead.classList.toggle('pin-note', Boolean(note));
    root.querySelector('#pin-name-label').textContent = t('mgr.pin.name');
    root.querySelector('#pin-pin-label').textContent = t(setting ? 'mgr.pin.newPin' : 'mgr.pin.pin');
    root.querySelector('#pin-again-label').textContent = t('mgr.pin.again');
    againRow.hidden = !setting;
    submit.textContent = t(setting ? 'mgr.pin.set' : 'mgr.pin.unlock');
    back.textContent = t('mgr.back');
  }

  function say(key, params = {}, kind = 'error') {
    message.textContent = key ? t(key, params) : '';
    message.dataset.kind = kind;
  }

  function tick() {
    const left = lockedUntil - performance.now();
    if (left <= 0) {
      clearInterval(timer);
      timer = null;
      lockedUntil = 0;
      submit.disabled = false;
      pin.disabled = false;
      say('mgr.pin.tryAgain', {}, 'info');
      pin.focus();
      return;
    }
    submit.disabled = true;
    pin.disabled = true;
    root.dataset.lockedOut = 'true';
    // The disabled field loses the focus; on 返回 Esc still reaches the form's handler.
    if (!form.contains(document.activeElement) || document.activeElement === pin) back.focus();
    say('mgr.pin.lockedOut', { seconds: Math.ceil(left / 1000) });
  }

  function lockOut(waitMs) {
    lockedUntil = performance.now() + waitMs;
    if (!timer) timer = setInterval(tick, 250);
    tick();
  }

  async function submitForm(e) {
    e.preventDefault();
    if (lockedUntil) return;
    const who = name.value.trim();
    if (!who) {
      say('mgr.pin.nameNeeded');
      name.focus();
      return;
    }
    // A new manager PIN has 6–12 digits (core roles.rs); one set before that rule still opens.
    if (!(setting ? /^\d{6,12}$/ : /^\d{4,12}$/).test(pin.value.trim())) {
      say(setting ? 'mgr.pin.newFormat' : 'mgr.pin.format');
      pin.focus();
      return;
    }
    submit.disabled = true;
    try {
      if (setting) {
        if (pin.value !== again.value) {
          say('mgr.pin.mismatch');
          again.value = '';
          again.focus();
          return;
        }
        await api.setManagerPin(null, pin.value.trim(), who);
      }
      await api.managerUnlock(pin.value.trim(), who);
      localStorage.setItem(NAME_KEY, who);
      pin.value = '';
      again.value = '';
      delete root.dataset.lockedOut;
      onUnlocked(who);
    } catch (err) {
      pin.value = '';
      if (err.code === 'pin_wrong') {
        say('mgr.pin.wrong', { left: err.detail?.tries_left ?? '?' });
      } else if (err.code === 'pin_locked_out') {
        lockOut(err.detail?.wait_ms ?? 30000);
      } else {
        say(null);
        message.textContent = errorText(err);
      }
      pin.focus();
    } finally {
      if (!lockedUntil) submit.disabled = false;
    }
  }

  form.addEventListener('submit', submitForm);
  // Setting a PIN: Enter in the first field moves on to the second one.
  pin.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && setting && again.value === '') {
      e.preventDefault();
      again.focus();
    }
  });
  back.addEventListener('click', () => onBack());
  form.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') {
      e.preventDefault();
      onBack();
    }
  });

  return {
    root,
    /** Shows the dialog; `reason` is a string key shown above it (e.g. the auto-lock). */
    async show(reason, backHandler) {
      onBack = backHandler || (() => {});
      note = reason ? { key: reason, params: {} } : null;
      root.hidden = false;
      delete root.dataset.mode; // set again once the core says whether a PIN exists
      say(null);
      try {
        setting = !(await api.managerPinIsSet());
      } catch (err) {
        setting = false;
        message.textContent = errorText(err);
      }
      renderTexts();
      root.dataset.mode = setting ? 'set' : 'unlock';
      name.value = name.value || localStorage.getItem(NAME_KEY) || '';
      (name.value ? pin : name).focus();
    },
    hide() {
      root.hidden = true;
    },
    renderTexts,
  };
}
