// 设置 › 渠道: one form per channel (address, merchant and shop numbers, keys), 测试连接 and
// 保存 per channel. Keys are write-only: the form never receives them, only a mask
// (已设置 ••••0002); a blank key field keeps the saved key. A refusal is shown under the field
// it names and nothing already saved changes (the core validates the whole configuration
// before writing). The first channel saved switches the desk to live mode at the next start:
// the manager confirms that in a dialog that says what changes.
import { t } from '../../i18n.js';
import * as api from '../../api.js';
import { el, fieldRow, input, button, showFieldError, clearErrors, reasonOf } from './dom.js';

/** Each channel's settings (name, required) and its write-only keys, as config.rs reads them. */
const SCHEMA = {
  shoubei: {
    fields: [['base_url', true], ['inst_no', true], ['merchant_no', true], ['shop_no', true], ['channel_type', false]],
    secrets: ['key'],
  },
  zvcms: {
    fields: [['base_url', true], ['open_id', true], ['grant_code', true], ['store_mark', false], ['store_id', false]],
    secrets: ['secret'],
  },
  liantuofu: {
    fields: [['base_url', true], ['app_id', true], ['consume_merchant_code', true], ['consume_employee_id', false]],
    secrets: ['key'],
  },
  allinpay: {
    fields: [['base_url', true], ['app_id', true], ['shop_id', true], ['operator', false]],
    secrets: ['merchant_private_key_pem', 'platform_public_key_pem'],
  },
  yhtd: {
    fields: [['base_url', true]],
    secrets: ['key'],
  },
};
export const CHANNEL_ORDER = ['shoubei', 'zvcms', 'liantuofu', 'allinpay', 'yhtd'];

/** Which input a refusal's field names (`channels.shoubei.merchant_no`, `…secrets.toml: shoubei.key`). */
function inputFor(kind, errorField) {
  let f = String(errorField || '');
  const colon = f.lastIndexOf(': ');
  if (colon >= 0) f = f.slice(colon + 2);
  f = f.replace(/^channels\./, '').replace(new RegExp(`^${kind}\\.`), '');
  if (f.startsWith('products')) return 'products';
  const secrets = SCHEMA[kind].secrets;
  if (f === 'secrets') return secrets[0];
  if (secrets.includes(f)) return f;
  if (secrets.includes(`${f}_pem`)) return `${f}_pem`;
  return f;
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

  function buildForm(kind, saved) {
    const schema = SCHEMA[kind];
    const settings = saved?.settings || {};
    const masks = saved?.secrets || {};
    const rows = {};
    const box = el('section', { className: 'set-channel' });
    box.dataset.channel = kind;
    box.dataset.testid = `set-channel-${kind}`;
    const state = el('span', { className: 'set-state' }, saved ? t('set.channel.configured') : t('set.channel.notConfigured'));
    state.dataset.configured = String(Boolean(saved));
    box.append(el('header', { className: 'set-channel-head' }, el('h3', {}, t(`channel.${kind}`)), state));
    const grid = el('div', { className: 'set-grid' });
    for (const [name, required] of schema.fields) {
      const i = input({ className: 'set-input', value: settings[name] ?? '', name });
      i.dataset.testid = `set-${kind}-${name}`;
      const label = t(`set.f.${name}`) + (required ? '' : t('set.optional'));
      rows[name] = { ...fieldRow(label, i), label, required };
      grid.append(rows[name].row);
    }
    if (kind === 'zvcms') {
      const sel = el('select', { className: 'set-input', name: 'token_naming' },
        el('option', { value: 'lower_camel' }, 'lower_camel'),
        el('option', { value: 'pascal_case' }, 'PascalCase'));
      sel.value = settings.token_naming || 'lower_camel';
      rows.token_naming = { ...fieldRow(t('set.f.token_naming'), sel), label: t('set.f.token_naming') };
      grid.append(rows.token_naming.row);
    }
    let sign = null;
    if (kind === 'yhtd') {
      sign = el('input', { type: 'checkbox', checked: Boolean(settings.sign) });
      rows.sign = { ...fieldRow(t('set.f.sign'), sign), label: t('set.f.sign') };
      grid.append(rows.sign.row);
    }
    for (const name of schema.secrets) {
      const pem = name.endsWith('_pem');
      const i = pem
        ? el('textarea', { className: 'set-input mono', rows: 2, spellcheck: false, autocomplete: 'off' })
        : input({ type: 'password', className: 'set-input mono' });
      i.dataset.testid = `set-${kind}-${name}`;
      i.dataset.secret = 'true';
      // The mask is the only thing the form knows about a saved key.
      i.placeholder = masks[name] ? `${masks[name]} · ${t('set.secret.keep')}` : t('set.secret.unset');
      const label = t(`set.f.${name}`);
      rows[name] = { ...fieldRow(label, i, t('set.secret.hint')), label, secret: true };
      const mask = el('span', { className: 'set-mask' }, masks[name] || t('set.secret.none'));
      mask.dataset.testid = `set-${kind}-${name}-mask`;
      rows[name].row.querySelector('.set-label').append(el('br'), mask);
      grid.append(rows[name].row);
    }
    box.append(grid);

    let products = null;
    if (kind === 'yhtd') {
      const body = el('tbody');
      for (const p of settings.products || []) body.append(productRow(p));
      const error = el('div', { className: 'set-error', role: 'alert' });
      products = { body, error };
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
    }

    const result = el('div', { className: 'set-result', role: 'status' });
    result.dataset.testid = `set-${kind}-result`;
    const test = button('set.test', { dataset: { testid: `set-${kind}-test` } });
    const save = button('set.save', { className: 'set-btn primary', dataset: { testid: `set-${kind}-save` } });
    box.append(el('div', { className: 'set-actions' }, test, save, result));

    /** The edit as typed, or null after marking what is missing. */
    function collect() {
      clearErrors(box);
      const out = { ...settings };
      delete out.products;
      let ok = true;
      for (const [name, required] of schema.fields) {
        const v = rows[name].input.value.trim();
        if (v === '') {
          delete out[name];
          if (required) {
            showFieldError(rows[name].error, rows[name].label, 'missing');
            ok = false;
          }
        } else out[name] = v;
      }
      if (rows.token_naming) out.token_naming = rows.token_naming.input.value;
      if (sign) out.sign = sign.checked;
      if (products) {
        out.products = [];
        for (const tr of products.body.children) {
          const p = tr.read();
          const fen = fenOf(p.price);
          if (!p.no || !p.name || fen === null || fen <= 0) {
            products.error.replaceChildren(el('span', { className: 'set-error-main' }, '✕ ', t('set.products.bad', { no: p.no || '?' })));
            ok = false;
          }
          out.products.push({ no: p.no, name: p.name, unit_price_fen: fen ?? 0 });
        }
      }
      const secrets = {};
      for (const name of schema.secrets) {
        const v = rows[name].input.value.trim();
        if (v !== '') secrets[name] = v;
      }
      // 增值券 needs its key only when it signs.
      if (kind === 'yhtd' && !out.sign) delete secrets.key;
      return ok ? { channel: kind, settings: out, secrets } : null;
    }

    function refused(e) {
      const target = inputFor(kind, e.field);
      const reason = reasonOf(e);
      if (target === 'products' && products) {
        products.error.replaceChildren(el('span', { className: 'set-error-main' }, '✕ ', t('set.products.refused', { detail: reason })));
      } else if (rows[target]) {
        showFieldError(rows[target].error, rows[target].label, reason);
        rows[target].input.focus();
      } else {
        say('error', t('set.saveFailed', { detail: e.message }));
      }
      box.dataset.refused = e.field || e.code;
    }

    function say(kindOf, text) {
      result.dataset.kind = kindOf;
      result.textContent = text;
    }

    test.addEventListener('click', () => {
      const edit = collect();
      if (!edit) return;
      say('busy', t('set.testing'));
      api.testChannelConnection(edit).then(
        (r) => {
          const good = r.result === 'reachable' || r.result === 'address_answers';
          say(good ? 'ok' : 'error', `${good ? '✓' : '✕'} ${t(`set.check.${r.result}`, { detail: r.detail || '', ms: r.elapsed_ms })}`);
          result.dataset.result = r.result;
        },
        (e) => (e.field ? refused(e) : say('error', t('set.saveFailed', { detail: e.message }))),
      );
    });

    save.addEventListener('click', async () => {
      const edit = collect();
      if (!edit) return;
      let status;
      try {
        status = await api.modeStatus();
      } catch (e) {
        say('error', t('set.saveFailed', { detail: e.message }));
        return;
      }
      let confirmLive = false;
      if (status.next_start === 'sandbox') {
        confirmLive = await confirmLiveSwitch(container);
        if (!confirmLive) {
          say('', t('set.liveCancelled'));
          return;
        }
      }
      say('busy', t('set.saving'));
      api.saveChannelSetup(edit, confirmLive).then(
        () => {
          ctx.savedThisSession = true;
          reload(t('set.saved', { channel: t(`channel.${kind}`) }), kind);
        },
        (e) => {
          say('error', '');
          refused(e);
        },
      );
    });

    forms[kind] = { box, say };
    return box;
  }

  function reload(message, kind) {
    Promise.all([api.channelSetup(), api.modeStatus()]).then(
      ([views, status]) => {
        const byKind = Object.fromEntries(views.map((v) => [v.channel, v]));
        list.replaceChildren(...CHANNEL_ORDER.map((k) => buildForm(k, byKind[k])));
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
