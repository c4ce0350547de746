// 设置 › 渠道: one form per channel, drawn from the form its core module describes (sent with
// `channel_setup`: fields, their kinds, the secret slots), 测试连接 and 保存 per channel.
// Keys are write-only: the form never receives them, only a mask (已设置 ••••0002); a blank
// key field keeps the saved key. A refusal is shown under the field
// it names and nothing already saved changes (the core validates the whole configuration
// before writing). The first channel saved switches the desk to live mode at the next start:
// the manager confirms that in a dialog that says what changes, which opens only for an edit
// the core has validated.
import { t } from '../../i18n.js';
import * as api from '../../api.js';
import { el, fieldRow, input, button, showFieldError, clearErrors, reasonOf } from './dom.js';

/**
 * Which input a refusal's field names (`channels.shoubei.merchant_no`, `…secrets.toml:
 * shoubei.key`, `channels.allinpay.merchant_private_key`), by the channel's form from the core.
 */
function inputFor(kind, form, errorField) {
  let f = String(errorField || '');
  const colon = f.lastIndexOf(': ');
  if (colon >= 0) f = f.slice(colon + 2);
  f = f.replace(/^channels\./, '').replace(new RegExp(`^${kind}\\.`), '');
  const table = form.fields.find((x) => x.kind === 'product_table');
  if (table && f.startsWith(table.name)) return table.name;
  if (f === 'secrets' && form.secrets.length) return form.secrets[0].name;
  const slot = form.secrets.find((s) => s.name === f || s.field === f);
  return slot ? slot.name : f;
}

/** Yuan text ("30", "30.5", "30.50") to fen, or null. Never through a float. */
function fenOf(text) {
  const m = /^(\d{1,7})(?:\.(\d{1,2}))?$/.exec(String(text).normalize('NFKC').trim());
  if (!m) return null;
  return Number(m[1]) * 100 + Number((m[2] || '').padEnd(2, '0'));
}

function yuanOf(fen) {
  const n = Number(fen);
  return Number.isInteger(n) ? `${Math.floor(n / 100)}.${String(n % 100).padStart(2, '0')}` : '';
}

export function renderChannels(container, ctx) {
  const forms = {};
  const banner = el('div', { className: 'set-banner', hidden: true });
  banner.dataset.testid = 'restart-banner';
  const list = el('div', { className: 'set-channels' });
  container.replaceChildren(
    el('h2', { className: 'set-title' }, t('set.channels.title')),
    el('p', { className: 'set-intro' }, t('set.channels.intro')),
    banner,
    list,
  );

  function showBanner(status) {
    if (status.running === status.next_start && !ctx.savedThisSession) {
      banner.hidden = true;
      return;
    }
    const key = status.next_start === 'live' && status.running === 'sandbox' ? 'set.banner.toLive' : 'set.banner.restart';
    banner.replaceChildren(
      el('span', {}, t(key)),
      button('set.restartNow', {
        className: 'set-btn primary',
        dataset: { testid: 'restart-now' },
        onclick: () => api.restartApp().catch((e) => banner.append(el('span', { className: 'set-error' }, e.message))),
      }),
    );
    banner.hidden = false;
  }

  function productRow(p = {}) {
    const no = input({ value: p.no || '', className: 'set-input mono', placeholder: '2112291922150704074' });
    const name = input({ value: p.name || '', className: 'set-input' });
    const price = input({ value: p.unit_price_fen !== undefined ? yuanOf(p.unit_price_fen) : '', className: 'set-input num', inputMode: 'decimal' });
    const tr = el(
      'tr',
      { className: 'set-product' },
      el('td', {}, no),
      el('td', {}, name),
      el('td', {}, price),
      el('td', {}, button('set.products.remove', { className: 'set-btn small', onclick: () => tr.remove() })),
    );
    tr.read = () => ({ no: no.value.trim(), name: name.value.trim(), price: price.value });
    return tr;
  }

  /** One channel's form, drawn from the core's description of it (`view.form`). */
  function buildForm(view) {
    const kind = view.channel;
    const form = view.form;
    const saved = view.configured;
    const settings = view.settings || {};
    const masks = view.secrets || {};
    const rows = {};
    const box = el('section', { className: 'set-channel' });
    box.dataset.channel = kind;
    box.dataset.testid = `set-channel-${kind}`;
    const state = el('span', { className: 'set-state' }, saved ? t('set.channel.configured') : t('set.channel.notConfigured'));
    state.dataset.configured = String(Boolean(saved));
    box.append(el('header', { className: 'set-channel-head' }, el('h3', {}, t(`channel.${kind}`)), state));
    const grid = el('div', { className: 'set-grid' });
    const tables = [];
    for (const field of form.fields) {
      const { name, required } = field;
      if (field.kind === 'product_table') {
        tables.push(field);
        continue;
      }
      let i;
      if (field.kind === 'choice') {
        i = el('select', { className: 'set-input', name }, ...field.options.map((o) => el('option', { value: o }, o)));
        i.value = settings[name] ?? field.options[0];
      } else if (field.kind === 'flag') {
        i = el('input', { type: 'checkbox', name, checked: Boolean(settings[name]) });
      } else {
        i = input({ className: 'set-input', value: settings[name] ?? '', name });
      }
      i.dataset.testid = `set-${kind}-${name}`;
      const label = t(`set.f.${name}`) + (required || field.kind !== 'text' ? '' : t('set.optional'));
      rows[name] = { ...fieldRow(label, i, field.hint ? t(field.hint) : undefined), label, required, field };
      grid.append(rows[name].row);
    }
    for (const slot of form.secrets) {
      const name = slot.name;
      const i = slot.store === 'pem_file'
        ? el('textarea', { className: 'set-input mono', rows: 2, spellcheck: false, autocomplete: 'off' })
        : input({ type: 'password', className: 'set-input mono' });
      i.dataset.testid = `set-${kind}-${name}`;
      i.dataset.secret = 'true';
      // The mask is the only thing the form knows about a saved key.
      i.placeholder = masks[name] ? `${masks[name]} · ${t('set.secret.keep')}` : t('set.secret.unset');
      const label = t(`set.f.${name}`);
      rows[name] = { ...fieldRow(label, i, t(slot.hint)), label, secret: slot };
      const mask = el('span', { className: 'set-mask' }, masks[name] || t('set.secret.none'));
      mask.dataset.testid = `set-${kind}-${name}-mask`;
      rows[name].row.querySelector('.set-label').append(el('br'), mask);
      grid.append(rows[name].row);
    }
    box.append(grid);

    // A product table (增值券's agreed products): one per product-table field of the form.
    const products = tables.map((field) => {
      const body = el('tbody');
      for (const p of settings[field.name] || []) body.append(productRow(p));
      const error = el('div', { className: 'set-error', role: 'alert' });
      box.append(
        el('h4', { className: 'set-subtitle' }, t('set.products.title')),
        el('table', { className: 'set-products' },
          el('thead', {}, el('tr', {},
            el('th', {}, t('set.products.no')), el('th', {}, t('set.products.name')),
            el('th', { className: 'num' }, t('set.products.price')), el('th'))),
          body),
        button('set.products.add', { className: 'set-btn small', onclick: () => body.append(productRow()) }),
        error,
      );
      return { name: field.name, body, error };
    });

    const result = el('div', { className: 'set-result', role: 'status' });
    result.dataset.testid = `set-${kind}-result`;
    const test = button('set.test', { dataset: { testid: `set-${kind}-test` } });
    const save = button('set.save', { className: 'set-btn primary', dataset: { testid: `set-${kind}-save` } });
    box.append(el('div', { className: 'set-actions' }, test, save, result));

    /**
     * The edit as typed, or null after marking what is missing under each field; the status
     * line then names the first such field, so no earlier message (such as 正在测试连接…)
     * stays up.
     */
    function collect() {
      clearErrors(box);
      const out = { ...settings };
      const missing = [];
      for (const field of form.fields) {
        const { name } = field;
        if (field.kind === 'product_table') {
          delete out[name];
          continue;
        }
        const row = rows[name];
        if (field.kind === 'flag') {
          out[name] = row.input.checked;
          continue;
        }
        const v = row.input.value.trim();
        if (v === '') {
          delete out[name];
          if (field.required) {
            showFieldError(row.error, row.label, 'missing');
            missing.push(row.label);
          }
        } else out[name] = v;
      }
      for (const table of products) {
        out[table.name] = [];
        for (const tr of table.body.children) {
          const p = tr.read();
          const fen = fenOf(p.price);
          if (!p.no || !p.name || fen === null || fen <= 0) {
            table.error.replaceChildren(el('span', { className: 'set-error-main' }, '✕ ', t('set.products.bad', { no: p.no || '?' })));
            missing.push(t('set.products.title'));
          }
          out[table.name].push({ no: p.no, name: p.name, unit_price_fen: fen ?? 0 });
        }
      }
      const secrets = {};
      for (const slot of form.secrets) {
        // A secret used only with a flag (增值券's key, when it signs) is not sent without it.
        if (slot.only_with && !out[slot.only_with]) continue;
        const v = rows[slot.name].input.value.trim();
        if (v !== '') secrets[slot.name] = v;
      }
      if (missing.length) {
        say('error', `✕ ${t('set.fixFirst', { field: missing[0] })}`);
        result.dataset.result = 'invalid';
        return null;
      }
      return { channel: kind, settings: out, secrets };
    }

    /** A refusal of the core: under the field it names, and on the status line. */
    function refused(e) {
      const target = inputFor(kind, form, e.field);
      const reason = reasonOf(e);
      const table = products.find((p) => p.name === target);
      if (table) {
        table.error.replaceChildren(el('span', { className: 'set-error-main' }, '✕ ', t('set.products.refused', { detail: reason.reason ?? '' })));
        say('error', `✕ ${t('set.fixFirst', { field: t('set.products.title') })}`);
      } else if (rows[target]) {
        showFieldError(rows[target].error, rows[target].label, reason);
        say('error', `✕ ${t('set.fixFirst', { field: rows[target].label })}`);
        rows[target].input.focus();
      } else {
        say('error', t('set.saveFailed', { detail: e.message }));
      }
      result.dataset.result = 'invalid';
      box.dataset.refused = e.field || e.code;
    }

    function say(kindOf, text) {
      result.dataset.kind = kindOf;
      result.textContent = text;
    }

    // Only the latest test's answer is shown: an earlier one arriving late would otherwise
    // overwrite it.
    let testSeq = 0;
    test.addEventListener('click', () => {
      const seq = ++testSeq;
      const edit = collect();
      if (!edit) return;
      say('busy', t('set.testing'));
      delete result.dataset.result;
      api.testChannelConnection(edit).then(
        (r) => {
          if (seq !== testSeq) return;
          const good = r.result === 'reachable' || r.result === 'address_answers';
          // Our reason in the UI's language where the core gave its kind; a channel's words as they came.
          const why = r.reason_kind && (t(`set.why.${r.reason_kind}`) !== `set.why.${r.reason_kind}`
            ? t(`set.why.${r.reason_kind}`) : t(`reason.${r.reason_kind}`));
          const detail = why || r.detail || '';
          say(good ? 'ok' : 'error', `${good ? '✓' : '✕'} ${t(`set.check.${r.result}`, { detail, ms: r.elapsed_ms })}`);
          result.dataset.result = r.result;
        },
        (e) => {
          if (seq !== testSeq) return;
          if (e.field) refused(e);
          else say('error', t('set.saveFailed', { detail: e.message }));
        },
      );
    });

    // The core validates the edit before it asks for the switch to live mode
    // (`live_switch_unconfirmed` comes only for an edit that would load), so a missing or
    // invalid field is named here and the go-live dialog never opens on it.
    save.addEventListener('click', async () => {
      const edit = collect();
      if (!edit) return;
      say('busy', t('set.saving'));
      let confirmLive = false;
      for (;;) {
        try {
          await api.saveChannelSetup(edit, confirmLive);
          break;
        } catch (e) {
          if (e.code === 'live_switch_unconfirmed' && !confirmLive) {
            say('', '');
            confirmLive = await confirmLiveSwitch(container);
            if (!confirmLive) {
              say('', t('set.liveCancelled'));
              return;
            }
            say('busy', t('set.saving'));
            continue;
          }
          say('error', '');
          refused(e);
          return;
        }
      }
      ctx.savedThisSession = true;
      reload(t('set.saved', { channel: t(`channel.${kind}`) }), kind);
    });

    forms[kind] = { box, say };
    return box;
  }

  function reload(message, kind) {
    Promise.all([api.channelSetup(), api.modeStatus()]).then(
      ([views, status]) => {
        // Every channel the core has, in its order, each with its own form.
        list.replaceChildren(...views.map(buildForm));
        showBanner(status);
        if (message && forms[kind]) forms[kind].say('ok', `✓ ${message}`);
        container.dataset.loaded = 'true';
      },
      (e) => list.replaceChildren(el('p', { className: 'set-error' }, t('set.loadFailed', { detail: e.message }))),
    );
  }

  reload();
}

/** The live-mode confirmation: resolves true only when the manager confirms. */
export function confirmLiveSwitch(container) {
  return new Promise((resolve) => {
    const yes = button('set.live.confirm', { className: 'set-btn danger', dataset: { testid: 'live-confirm-yes' } });
    const no = button('set.live.cancel', { className: 'set-btn', dataset: { testid: 'live-confirm-no' } });
    const dialog = el(
      'dialog',
      { className: 'set-dialog' },
      el('h2', {}, t('set.live.title')),
      el('ul', { className: 'set-live-list' },
        el('li', {}, t('set.live.money')),
        el('li', {}, t('set.live.records')),
        el('li', {}, t('set.live.demo')),
        el('li', {}, t('set.live.restart'))),
      el('div', { className: 'set-actions end' }, no, yes),
    );
    dialog.dataset.testid = 'live-confirm';
    const done = (answer) => {
      dialog.close();
      dialog.remove();
      resolve(answer);
    };
    yes.addEventListener('click', () => done(true));
    no.addEventListener('click', () => done(false));
    dialog.addEventListener('cancel', (e) => {
      e.preventDefault();
      done(false);
    });
    container.append(dialog);
    dialog.showModal();
    no.focus();
  });
}
