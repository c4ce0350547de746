// 需处理: what waits for a manager — unknown attempts the resolver could not settle (retry
// now with the channel's own call, or record a decision with a reason), 增值券
// notifications that keep failing (send again now, or settle by hand with a reason), and
// reconciliations with mismatches nobody signed off (open them in 对账).
import { t, tNodes } from '../../i18n.js';
import * as api from '../../api.js';
import { el, yuan2, dateTime, channelName, errorText } from './dom.js';
import { sourceName } from './reconcile.js';

/** 135****2456: a phone number is for recognising the customer, not for copying. */
function maskPhone(p) {
  const s = String(p || '');
  return s.length >= 7 ? `${s.slice(0, 3)}****${s.slice(-4)}` : s;
}

export function createInbox(container, ctx) {
  const status = el('p', { className: 'mgr-status', id: 'inbox-status', attrs: { 'aria-live': 'polite' } });
  const refresh = el('button', { type: 'button', className: 'ghost', id: 'inbox-refresh' });
  const list = el('div', { className: 'mgr-scroll inbox-list', id: 'inbox-list' });
  const root = el('section', { className: 'mgr-pane', id: 'manager-inbox', hidden: true },
    el('div', { className: 'mgr-filters' }, el('h2', { className: 'mgr-pane-title', id: 'inbox-title' }), refresh), status, list);
  container.append(root);
  let data = null;

  function reasonBox(id) {
    return el('input', { type: 'text', className: 'reason', id, maxLength: 200, autocomplete: 'off', placeholder: t('mgr.reasonHint') });
  }

  async function act(card, work, doneKey) {
    for (const b of card.querySelectorAll('button')) b.disabled = true;
    const msg = card.querySelector('.card-message');
    msg.textContent = t('mgr.working');
    try {
      await ctx.guard(work());
      status.textContent = t(doneKey);
      await load();
    } catch (err) {
      if (err.code === 'manager_locked') return;
      msg.textContent = errorText(err);
      for (const b of card.querySelectorAll('button')) b.disabled = false;
    }
  }

  function needReason(card, input, then) {
    const reason = input.value.trim();
    if (!reason) {
      card.querySelector('.card-message').textContent = t('mgr.err.reason_needed');
      input.focus();
      return;
    }
    then(reason);
  }

  function unknownCard({ attempt: a, resolver: r, needs_manager: needsManager }) {
    const reason = reasonBox(`reason-${a.id}`);
    const card = el('article', {
      className: 'inbox-card kind-unknown',
      dataset: { id: a.id, kind: 'unknown', checking: String(!needsManager) },
    });
    // "Still checking" while the resolver's fast checks run; afterwards the count reads as
    // "asked n times without an answer", never as "confirmed n times".
    const tries = r?.tries ?? 0;
    const facts = [
      tNodes('mgr.inbox.when', { time: dateTime(a.created_ms), cashier: a.cashier }, ['cashier']),
      needsManager ? (r ? t('mgr.inbox.tries', { n: tries }) : null) : t('mgr.inbox.checking', { n: tries + 1 }),
      r && r.handed_over_reason ? t('mgr.inbox.handedOver', { reason: r.handed_over_reason }) : null,
      r && r.next_check_ms ? t('mgr.inbox.nextCheck', { time: dateTime(r.next_check_ms) }) : null,
    ].filter(Boolean);
    card.append(
      el('header', {}, el('span', { className: 'state state-unknown' }, t('state.unknown')),
        el('strong', {}, channelName(a.channel, a.platform)), el('span', { className: 'code' }, a.code),
        el('span', { className: 'num' }, yuan2(a.face_value) ? `${yuan2(a.face_value)} ${t('mgr.yuan')}` : '')),
      el('p', { className: 'card-facts' }, facts.flatMap((f, i) => [i ? ' · ' : null, ...[f].flat()])),
      el('div', { className: 'card-actions' },
        el('button', { type: 'button', className: 'primary', dataset: { action: 'retry' },
          onclick: () => act(card, () => api.retryUnknown(a.id), 'mgr.inbox.retried') }, t('mgr.inbox.retryNow')),
        el('button', { type: 'button', className: 'link', onclick: () => ctx.showTimeline(a.code) }, t('mgr.inbox.timeline'))),
      el('div', { className: 'card-actions' }, reason,
        el('button', { type: 'button', className: 'ok', dataset: { action: 'decide-succeeded' },
          onclick: () => needReason(card, reason, (why) => act(card, () => api.decide(a.id, 'succeeded', why), 'mgr.inbox.decided')) },
        t('mgr.inbox.decideSucceeded')),
        el('button', { type: 'button', className: 'danger', dataset: { action: 'decide-rejected' },
          onclick: () => needReason(card, reason, (why) => act(card, () => api.decide(a.id, 'rejected', why), 'mgr.inbox.decided')) },
        t('mgr.inbox.decideRejected'))),
      el('p', { className: 'card-message', attrs: { role: 'status' } }));
    return card;
  }

  function notificationCard(n) {
    const reason = reasonBox(`reason-${n.id}`);
    const card = el('article', { className: 'inbox-card kind-notification', dataset: { id: n.id, kind: 'notification' } });
    card.append(
      el('header', {}, el('span', { className: 'state state-unknown' }, t('mgr.inbox.notifying')),
        el('strong', {}, `${t('channel.yhtd')} · ${n.product_name} × ${n.quantity}`),
        el('span', { className: 'num' }, `${yuan2(n.total)} ${t('mgr.yuan')}`)),
      el('p', { className: 'card-facts' }, [
        t('mgr.inbox.order', { order: n.order_no, name: n.consumer_name, phone: maskPhone(n.consumer_phone) }),
        t('mgr.inbox.deliveries', { n: n.attempts }),
        n.last_error ? t('mgr.inbox.lastError', { error: n.last_error }) : null,
      ].filter(Boolean).join(' · ')),
      el('div', { className: 'card-actions' },
        el('button', { type: 'button', className: 'primary', dataset: { action: 'resend' },
          onclick: () => act(card, () => api.retryNotification(n.id), 'mgr.inbox.resent') }, t('mgr.inbox.resendNow'))),
      el('div', { className: 'card-actions' }, reason,
        el('button', { type: 'button', className: 'ok', dataset: { action: 'mark-delivered' },
          onclick: () => needReason(card, reason, (why) => act(card, () => api.settleNotification(n.id, true, why), 'mgr.inbox.settled')) },
        t('mgr.inbox.markDelivered')),
        el('button', { type: 'button', className: 'danger', dataset: { action: 'mark-rejected' },
          onclick: () => needReason(card, reason, (why) => act(card, () => api.settleNotification(n.id, false, why), 'mgr.inbox.settled')) },
        t('mgr.inbox.giveUp'))),
      el('p', { className: 'card-message', attrs: { role: 'status' } }));
    return card;
  }

  /** How many statement rows of a kept report could not be read (0 for an older report). */
  function unreadableRows(r) {
    try { return JSON.parse(r.report).counts.unreadable || 0; } catch (_) { return 0; }
  }

  function reconciliationCard(r) {
    const card = el('article', { className: 'inbox-card kind-reconciliation', dataset: { id: String(r.id), kind: 'reconciliation' } });
    const unreadable = unreadableRows(r);
    card.append(
      el('header', {}, el('span', { className: 'state state-rejected' }, t('mgr.inbox.mismatch')),
        el('strong', {}, `${t(`channel.${r.channel}`)} · ${r.business_day}`)),
      el('p', { className: 'card-facts' }, t('mgr.inbox.reconFacts', {
        n: r.mismatches, lines: r.lines, time: dateTime(r.run_ms),
        source: sourceName(r.source),
      })),
      unreadable ? el('p', { className: 'card-facts', dataset: { unreadable: String(unreadable) } },
        t('mgr.inbox.unreadableRows', { n: unreadable })) : '',
      el('div', { className: 'card-actions' },
        el('button', { type: 'button', className: 'primary', dataset: { action: 'open-reconciliation' },
          onclick: () => ctx.openReconcile(r.business_day, r.channel, r.id) }, t('mgr.inbox.openRecon'))),
      el('p', { className: 'card-message' }));
    return card;
  }

  function section(titleKey, items, render, id) {
    return el('section', { className: 'inbox-section', id },
      el('h3', {}, t(titleKey, { n: items.length })),
      items.length ? items.map(render) : el('p', { className: 'mgr-empty' }, t('mgr.inbox.nothing')));
  }

  function render() {
    if (!data) return;
    list.replaceChildren(
      section('mgr.inbox.unknowns', data.unknowns, unknownCard, 'inbox-unknowns'),
      section('mgr.inbox.notifications', data.failing_notifications, notificationCard, 'inbox-notifications'),
      section('mgr.inbox.reconciliations', data.reconciliations_to_review, reconciliationCard, 'inbox-reconciliations'));
    const total = data.unknowns.length + data.failing_notifications.length + data.reconciliations_to_review.length;
    ctx.setBadge(total);
    root.dataset.count = String(total);
  }

  async function load() {
    try {
      data = await ctx.guard(api.inbox());
      render();
      root.dataset.loaded = 'true';
    } catch (err) {
      if (err.code !== 'manager_locked') status.textContent = errorText(err);
    }
  }

  refresh.addEventListener('click', () => { status.textContent = ''; load(); });

  return {
    root,
    show() { root.hidden = false; status.textContent = ''; load(); refresh.focus(); },
    hide() { root.hidden = true; },
    load,
    renderTexts() {
      root.querySelector('#inbox-title').textContent = t('mgr.tab.inbox');
      refresh.textContent = t('mgr.refresh');
      render();
    },
  };
}
