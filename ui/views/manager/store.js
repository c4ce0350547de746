// 门店 (chain mode, issue 21): the store's business day across all its tills, as HQ holds
// it — totals per till and per channel, and every attempt. When HQ cannot be read (or chain
// mode is off) it is this till's own day from the local ledger, clearly marked 本机. When HQ
// holds a fork of this till's chain, it says 总部发现本机流水与已上传记录不一致.
import { t } from '../../i18n.js';
import * as api from '../../api.js';
import { el, table, yuan2, dayTime, channelName, errorText } from './dom.js';

export function createStore(container, ctx) {
  const title = el('h2', { className: 'mgr-pane-title', id: 'store-title' });
  const source = el('p', { className: 'store-source', id: 'store-source', dataset: { testid: 'store-source' } });
  const fork = el('p', { className: 'store-fork', id: 'store-fork', hidden: true, dataset: { testid: 'store-fork' } });
  const status = el('p', { className: 'mgr-status', id: 'store-status', attrs: { 'aria-live': 'polite' } });
  const body = el('div', { className: 'mgr-scroll', id: 'store-body' });
  const root = el('section', { className: 'mgr-pane', id: 'manager-store', hidden: true },
    el('div', { className: 'mgr-filters' }, title), source, fork, status, body);
  container.append(root);
  let view = null;

  function totalsTable(rows, label, testid, name) {
    const { table: tab, tbody } = table(
      [label, t('mgr.store.attempts'), t('mgr.store.succeeded'), t('mgr.store.units'), t('mgr.store.face'), t('mgr.store.settled')],
      [1, 2, 3, 4, 5], { dataset: { testid } });
    for (const r of rows) {
      tbody.append(el('tr', { dataset: { key: r.key } },
        el('td', {}, name(r.key)), el('td', { className: 'num' }, r.attempts), el('td', { className: 'num' }, r.succeeded),
        el('td', { className: 'num' }, r.units), el('td', { className: 'num' }, yuan2(r.face_value_fen)),
        el('td', { className: 'num' }, yuan2(r.settled_fen))));
    }
    return tab;
  }

  function render() {
    title.textContent = t('mgr.store.title', { day: view?.day ?? ctx.day() ?? '' });
    if (!view) return;
    const hq = view.source === 'hq';
    root.dataset.source = view.source;
    source.dataset.source = view.source;
    source.textContent = hq ? t('mgr.store.fromHq') : t('mgr.store.local');
    source.title = view.local_reason ?? '';
    fork.hidden = !view.fork;
    fork.textContent = t('mgr.store.fork');
    const tillName = (k) => (k === view.this_till ? `${k}（${t('mgr.store.thisTill')}）` : k);
    const attempts = table(
      [t('mgr.store.time'), t('mgr.store.till'), t('mgr.store.channel'), t('mgr.store.code'), t('mgr.store.cashier'), t('mgr.store.state'), t('mgr.store.face')],
      [6], { dataset: { testid: 'store-attempts' } });
    for (const a of view.attempts) {
      attempts.tbody.append(el('tr', { dataset: { till: a.till, state: a.state } },
        el('td', {}, dayTime(a.created_ms)), el('td', {}, a.till), el('td', {}, channelName(a.channel)),
        el('td', { className: 'code' }, a.code), el('td', {}, a.cashier), el('td', {}, t(`state.${a.state}`)),
        el('td', { className: 'num' }, a.state === 'succeeded' ? yuan2(a.settled_face_fen) : '')));
    }
    body.replaceChildren(
      el('h3', { className: 'mgr-pane-title' }, t('mgr.store.perTill')),
      totalsTable(view.per_till, t('mgr.store.till'), 'store-per-till', tillName),
      el('h3', { className: 'mgr-pane-title' }, t('mgr.store.perChannel')),
      totalsTable(view.per_channel, t('mgr.store.channel'), 'store-per-channel', (k) => channelName(k)),
      el('h3', { className: 'mgr-pane-title' }, t('mgr.store.attemptsTitle', { n: view.attempts.length })),
      view.attempts.length ? attempts.table : el('p', { className: 'mgr-empty' }, t('mgr.store.none')));
  }

  async function load() {
    root.dataset.loaded = 'false';
    status.textContent = t('mgr.store.loading');
    try {
      view = await ctx.guard(api.storeDay(ctx.day()));
      status.textContent = '';
      render();
      root.dataset.loaded = 'true';
    } catch (err) {
      if (err.code !== 'manager_locked') status.textContent = errorText(err);
    }
  }

  render();
  return {
    root,
    show() { root.hidden = false; load(); },
    hide() { root.hidden = true; },
    renderTexts: render,
  };
}
