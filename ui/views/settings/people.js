// 设置 › 收银员与店长: the cashier list for the shift-start chooser (each with an optional
// PIN, kept only as a hash; a blank PIN field keeps the saved one), and the manager PIN.
import { t, tNodes } from '../../i18n.js';
import * as api from '../../api.js';
import { el, input, button, fieldRow, showFieldError, clearErrors } from './dom.js';

const PIN_ERRORS = {
  pin_bad_format: 'set.pin.badFormat',
  manager_pin_too_short: 'set.pin.tooShort',
  pin_wrong: 'set.pin.wrong',
  pin_locked_out: 'set.pin.lockedOut',
  bad_cashier_name: 'set.cashiers.badName',
};

function pinInput(props = {}) {
  return input({ type: 'password', inputMode: 'numeric', maxLength: 12, className: 'set-input pin', ...props });
}

export function renderPeople(container) {
  const body = el('tbody');
  const cashierResult = el('div', { className: 'set-result', role: 'status' });
  cashierResult.dataset.testid = 'set-cashiers-result';

  function row(c = { name: '', has_pin: false }) {
    const name = input({ value: c.name, className: 'set-input', maxLength: 20 });
    name.dataset.testid = 'set-cashier-name';
    const pin = pinInput({ placeholder: c.has_pin ? t('set.cashiers.pinKept') : t('set.cashiers.noPin') });
    pin.dataset.testid = 'set-cashier-pin';
    const clear = el('input', { type: 'checkbox', disabled: !c.has_pin });
    const tr = el(
      'tr',
      {},
      el('td', {}, name),
      el('td', {}, pin),
      el('td', {}, el('label', { className: 'set-inline' }, clear, t('set.cashiers.removePin'))),
      el('td', {}, button('set.cashiers.remove', { className: 'set-btn small', onclick: () => tr.remove() })),
    );
    tr.read = () => ({
      name: name.value.trim(),
      // null keeps the saved PIN, '' removes it (roles.rs CashierEdit).
      pin: clear.checked ? '' : pin.value.trim() === '' ? null : pin.value.trim(),
    });
    return tr;
  }

  function load() {
    api.cashiers().then(
      (list) => {
        body.replaceChildren(...list.map(row));
        container.dataset.loaded = 'true';
      },
      (e) => (cashierResult.textContent = t('set.loadFailed', { detail: e.message })),
    );
  }

  const saveCashiers = button('set.save', { className: 'set-btn primary', dataset: { testid: 'set-cashiers-save' } });
  saveCashiers.addEventListener('click', () => {
    const list = [...body.children].map((tr) => tr.read()).filter((c) => c.name !== '' || c.pin);
    api.setCashiers(list).then(
      (saved) => {
        body.replaceChildren(...saved.map(row));
        cashierResult.dataset.kind = 'ok';
        cashierResult.textContent = `✓ ${t('set.cashiers.saved', { n: saved.length })}`;
      },
      (e) => {
        cashierResult.dataset.kind = 'error';
        cashierResult.textContent = `✕ ${t(PIN_ERRORS[e.code] || 'set.saveFailed', { detail: e.message })}`;
      },
    );
  });

  // Manager PIN change.
  const current = pinInput();
  current.dataset.testid = 'set-pin-current';
  const next = pinInput();
  next.dataset.testid = 'set-pin-new';
  const again = pinInput();
  again.dataset.testid = 'set-pin-again';
  const rows = {
    current: fieldRow(t('set.pin.current'), current),
    next: fieldRow(t('set.pin.new'), next, t('set.pin.hint')),
    again: fieldRow(t('set.pin.again'), again),
  };
  const pinResult = el('div', { className: 'set-result', role: 'status' });
  pinResult.dataset.testid = 'set-pin-result';
  const savePin = button('set.pin.change', { className: 'set-btn primary', dataset: { testid: 'set-pin-save' } });
  savePin.addEventListener('click', () => {
    clearErrors(container);
    pinResult.textContent = '';
    if (next.value !== again.value) {
      showFieldError(rows.again.error, t('set.pin.again'), { kind: 'said', text: t('set.pin.mismatch') });
      return;
    }
    api.setManagerPin(current.value, next.value, t('set.pin.who')).then(
      () => {
        for (const i of [current, next, again]) i.value = '';
        pinResult.dataset.kind = 'ok';
        pinResult.textContent = `✓ ${t('set.pin.changed')}`;
      },
      (e) => {
        pinResult.dataset.kind = 'error';
        pinResult.textContent = `✕ ${t(PIN_ERRORS[e.code] || 'set.saveFailed', { detail: e.message })}`;
      },
    );
  });

  container.replaceChildren(
    el('h2', { className: 'set-title' }, t('set.people.title')),
    el('section', { className: 'set-channel' },
      el('h3', { className: 'set-subtitle' }, t('set.cashiers.title')),
      // 收银员 is the name the desk records when the list is empty (core roles.rs): a name.
      el('p', { className: 'set-intro' }, ...tNodes('set.cashiers.intro', { name: '收银员' }, ['name'])),
      el('table', { className: 'set-products set-cashiers' },
        el('thead', {}, el('tr', {},
          el('th', {}, t('set.cashiers.name')), el('th', {}, t('set.cashiers.pin')), el('th'), el('th'))),
        body),
      el('div', { className: 'set-actions' },
        button('set.cashiers.add', { className: 'set-btn', dataset: { testid: 'set-cashier-add' }, onclick: () => body.append(row()) }),
        saveCashiers, cashierResult)),
    el('section', { className: 'set-channel' },
      el('h3', { className: 'set-subtitle' }, t('set.pin.title')),
      el('div', { className: 'set-grid' }, rows.current.row, rows.next.row, rows.again.row),
      el('div', { className: 'set-actions' }, savePin, pinResult)),
  );
  load();
}
