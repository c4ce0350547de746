// The 增值券 sale form (F5): product from the configured table, consumer name, phone and
// quantity; the total is computed, never typed. A submitted sale goes to the outbox, and its
// delivery state (queued → delivered / rejected) follows the desk's notification events.
import { t } from '../i18n.js';
import { yuan, clock } from '../format.js';
import * as api from '../api.js';

const MAX_QUANTITY = 999;

export function createSale(form, onSound) {
  const product = form.querySelector('#sale-product');
  const name = form.querySelector('#sale-name');
  const phone = form.querySelector('#sale-phone');
  const quantity = form.querySelector('#sale-qty');
  const total = form.querySelector('#sale-total');
  const message = form.querySelector('#sale-message');
  const orders = form.querySelector('#sale-orders');
  let table = null;
  let loading = null;
  let status = null; // {key, params, kind}
  const submitted = new Map();
  // Events may overtake the answer to submit_order: remember every notification heard.
  const heard = new Map();

  function current() {
    return table?.find((p) => p.no === product.value) ?? null;
  }

  function qty() {
    const n = Number(String(quantity.value).normalize('NFKC').trim());
    return Number.isInteger(n) && n >= 1 && n <= MAX_QUANTITY ? n : null;
  }

  function renderTotal() {
    const p = current();
    const n = qty();
    total.textContent = p && n ? yuan(p.unit_price * n) : '—';
  }

  function renderProducts() {
    const chosen = product.value;
    product.replaceChildren(
      ...(table ?? []).map((p) => {
        const o = document.createElement('option');
        o.value = p.no;
        o.textContent = `${p.name}  ${yuan(p.unit_price)}`;
        return o;
      }),
    );
    if (chosen) product.value = chosen;
    renderTotal();
  }

  function say(key, params = {}, kind = 'error') {
    status = { key, params, kind };
    renderStatus();
  }

  function renderStatus() {
    message.textContent = status ? t(status.key, status.params) : '';
    message.dataset.kind = status ? status.kind : '';
  }

  function renderOrders() {
    const rows = [...submitted.values()].sort((a, b) => b.created_ms - a.created_ms).slice(0, 5);
    orders.replaceChildren(
      ...rows.map((n) => {
        const li = document.createElement('li');
        li.className = `sale-order state-${n.state}`;
        li.dataset.state = n.state;
        li.dataset.id = n.id;
        const what = document.createElement('span');
        what.className = 'sale-order-what';
        what.textContent = `${clock(n.created_ms)}  ${n.product_name} × ${n.quantity}  ${yuan(n.total)}`;
        const who = document.createElement('span');
        who.className = 'sale-order-who';
        who.textContent = n.consumer_name;
        const state = document.createElement('span');
        state.className = 'sale-order-state';
        state.dataset.testid = 'sale-order-state';
        state.textContent =
          t(`sale.state.${n.state}`) + (n.state === 'rejected' && n.last_error ? `：${n.last_error}` : '');
        li.append(what, who, state);
        return li;
      }),
    );
  }

  async function submit() {
    const p = current();
    const n = qty();
    const consumer = name.value.trim();
    const mobile = phone.value.normalize('NFKC').replace(/\s/g, '');
    if (!p) return say('sale.err.product');
    if (!consumer) {
      name.focus();
      return say('sale.err.name');
    }
    if (!/^1\d{10}$/.test(mobile)) {
      phone.focus();
      return say('sale.err.phone');
    }
    if (!n) {
      quantity.focus();
      return say('sale.err.quantity', { max: MAX_QUANTITY });
    }
    say('sale.sending', {}, 'info');
    try {
      const note = await api.submitOrder({
        product_no: p.no,
        consumer_name: consumer,
        consumer_phone: mobile,
        quantity: n,
      });
      const later = heard.get(note.id);
      submitted.set(note.id, later && later.state_ms >= note.state_ms ? later : note);
      renderOrders();
      say('sale.queued', { total: yuan(note.total) }, 'ok');
      onSound('succeeded');
      name.value = '';
      phone.value = '';
      quantity.value = '1';
      renderTotal();
      product.focus();
    } catch (e) {
      onSound('rejected');
      const key = `sale.err.${e.code}`;
      say(t(key) !== key ? key : 'sale.err.other', { detail: e.message ?? '' });
    }
  }

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    submit();
  });
  // Enter submits from any field, the product list included.
  form.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && e.target.tagName === 'SELECT') {
      e.preventDefault();
      submit();
    }
  });
  product.addEventListener('change', renderTotal);
  quantity.addEventListener('input', renderTotal);

  return {
    async show() {
      if (!table) {
        loading = loading ?? api.products().then(
          (list) => {
            table = list;
            renderProducts();
          },
          (e) => say('sale.err.products', { detail: e.message ?? '' }),
        );
        await loading;
      }
      renderTotal();
      product.focus();
    },
    /** A notification changed (desk event): update its row if it is one of ours. */
    update(notification) {
      heard.set(notification.id, notification);
      if (!submitted.has(notification.id)) return;
      submitted.set(notification.id, notification);
      renderOrders();
      if (notification.state === 'delivered') onSound('succeeded');
      if (notification.state === 'rejected') onSound('rejected');
    },
    renderTexts() {
      renderProducts();
      renderStatus();
      renderOrders();
    },
  };
}
