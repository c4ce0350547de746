// 设置 › 打印机 (issue 22): where slips go (a network printer's host:port, a device file, or
// nowhere), the paper width, auto-print after a success, the store and till names on every
// slip, and 打印测试页.
import { t } from '../../i18n.js';
import * as api from '../../api.js';
import { el, fieldRow, input, button, showFieldError, clearErrors, reasonOf } from './dom.js';

export function renderPrinter(container) {
  const kind = el(
    'select',
    { className: 'set-input' },
    el('option', { value: 'none' }, t('set.printer.none')),
    el('option', { value: 'network' }, t('set.printer.network')),
    el('option', { value: 'device' }, t('set.printer.device')),
  );
  kind.dataset.testid = 'set-printer-kind';
  const address = input({ className: 'set-input mono', placeholder: '192.168.1.50:9100 · /dev/usb/lp0' });
  address.dataset.theirs = 'example'; // an address and a device path: the same in every language
  address.dataset.testid = 'set-printer-address';
  const paper = el('select', { className: 'set-input' }, el('option', { value: '58' }, '58 mm'), el('option', { value: '80' }, '80 mm'));
  paper.dataset.testid = 'set-printer-paper';
  const auto = el('input', { type: 'checkbox' });
  auto.dataset.testid = 'set-printer-auto';
  const store = input({ className: 'set-input' });
  store.dataset.testid = 'set-printer-store';
  const till = input({ className: 'set-input' });
  till.dataset.testid = 'set-printer-till';
  const rows = {
    kind: fieldRow(t('set.printer.kind'), kind),
    target: { ...fieldRow(t('set.printer.address'), address), label: t('set.printer.address') },
    paper: fieldRow(t('set.printer.paper'), paper),
    auto: fieldRow(t('set.printer.auto'), auto),
    store: { ...fieldRow(t('set.printer.store'), store), label: t('set.printer.store') },
    till: fieldRow(t('set.printer.till'), till),
  };
  const result = el('div', { className: 'set-result', role: 'status' });
  result.dataset.testid = 'set-printer-result';
  const save = button('set.save', { className: 'set-btn primary', dataset: { testid: 'set-printer-save' } });
  const test = button('set.printer.test', { className: 'set-btn', dataset: { testid: 'set-printer-test' } });
  const section = el(
    'div',
    { className: 'set-printer' },
    el('h3', { className: 'set-subtitle' }, t('set.printer.title')),
    el('p', { className: 'set-intro' }, t('set.printer.intro')),
    el(
      'div',
      { className: 'set-channel' },
      el('div', { className: 'set-grid' }, ...Object.values(rows).map((r) => r.row)),
      el('div', { className: 'set-actions' }, save, test, result),
    ),
  );
  section.dataset.testid = 'set-printer';
  container.append(section);

  function show(s) {
    const target = s.target;
    kind.value = target ? target.kind === 'device' ? 'device' : 'network' : 'none';
    address.value = target ? target.address ?? target.path ?? '' : '';
    paper.value = s.paper;
    auto.checked = s.auto_print;
    store.value = s.store;
    till.value = s.till;
    section.dataset.loaded = 'true';
  }

  function say(kindOf, text) {
    result.dataset.kind = kindOf;
    result.textContent = text;
  }

  api.printerSettings().then(show, (e) => say('error', t('set.loadFailed', { detail: e.message })));

  save.addEventListener('click', () => {
    clearErrors(section);
    const value = address.value.trim();
    const target =
      kind.value === 'network' ? { kind: 'network', address: value } : kind.value === 'device' ? { kind: 'device', path: value } : null;
    const settings = { target, paper: paper.value, auto_print: auto.checked, store: store.value, till: till.value };
    api.savePrinterSettings(settings).then(
      (s) => {
        show(s);
        say('ok', `✓ ${t('set.printer.saved')}`);
      },
      (e) => {
        const row = rows[e.field];
        if (row && row.label) {
          say('error', '');
          showFieldError(row.error, row.label, reasonOf(e));
        } else say('error', t('set.saveFailed', { detail: e.message }));
      },
    );
  });

  test.addEventListener('click', () => {
    api.printTestPage().then(
      () => say('ok', `✓ ${t('set.printer.testQueued')}`),
      (e) => say('error', e.code === 'no_printer' ? t('print.noPrinter') : t('set.saveFailed', { detail: e.message })),
    );
  });
}
