// A code's timeline: every attempt on it (any channel, any day) with every event — who,
// when, which state, the reason, the channel's ids and amounts, and each request and answer
// as exchanged (the channel modules strip keys and signatures before anything is logged,
// so this is secret-free). The evidence for a customer's dispute. Esc closes it.
import { t, tNodes } from '../../i18n.js';
import * as api from '../../api.js';
import { el, yuan2, dateTime, channelName, actorName, reasonNodes, errorText } from './dom.js';

export function createTimeline(container, ctx) {
  const title = el('h2', { id: 'timeline-title' });
  const close = el('button', { type: 'button', className: 'ghost', id: 'timeline-close' });
  const body = el('div', { className: 'timeline-body', id: 'timeline-body' });
  const card = el('div', { className: 'timeline-card', attrs: { role: 'dialog', 'aria-modal': 'true' } },
    el('header', { className: 'timeline-head' }, title, close), body);
  const root = el('div', { className: 'mgr-overlay', id: 'manager-timeline', hidden: true }, card);
  container.append(root);
  let returnFocus = null;

  function exchange(ev) {
    const ex = ev.exchange || {};
    if (!ex.request && !ex.response) return null;
    return el('details', { className: 'exchange' },
      el('summary', {}, t('mgr.tl.exchange', { status: ex.http_status ?? '—' })),
      el('div', { className: 'exchange-grid' },
        // The exchange exactly as it went over the wire: the channel's, in no language of ours.
        el('div', {}, el('h5', {}, t('mgr.tl.request')), el('pre', { dataset: { theirs: 'wire' } }, ex.request || '')),
        el('div', {}, el('h5', {}, t('mgr.tl.response')), el('pre', { dataset: { theirs: 'wire' } }, ex.response || ''))));
  }

  function eventItem(ev) {
    const ids = Object.entries(ev.channel_ids || {}).map(([k, v]) => `${k}=${v}`).join(' ');
    const money = [
      ev.face_value != null ? t('mgr.tl.face', { v: yuan2(ev.face_value) }) : null,
      ev.settled != null ? t('mgr.tl.settled', { v: yuan2(ev.settled) }) : null,
    ].filter(Boolean).join(' · ');
    return el('li', { className: `tl-event state-${ev.state}` },
      el('div', { className: 'tl-line' },
        el('span', { className: 'tl-time' }, dateTime(ev.time_ms)),
        el('span', { className: `state state-${ev.state}` }, t(`state.${ev.state}`)),
        el('span', { className: 'tl-actor' }, actorName(ev.actor))),
      ev.reason ? el('div', { className: 'tl-reason' }, reasonNodes(ev)) : null,
      // The channel's ids under their wire names: the channel's words.
      ids ? el('div', { className: 'tl-ids' }, tNodes('mgr.tl.ids', { ids }, ['ids'])) : null,
      money ? el('div', { className: 'tl-money' }, money) : null,
      exchange(ev));
  }

  function render(code, list) {
    title.textContent = t('mgr.tl.title', { code });
    if (list.length === 0) {
      body.replaceChildren(el('p', { className: 'mgr-empty' }, t('mgr.tl.none')));
      return;
    }
    body.replaceChildren(...list.map(({ attempt: a, events }) => el('section', { className: 'tl-attempt', dataset: { id: a.id } },
      el('h3', {}, `${channelName(a.channel, a.platform)} · ${a.business_day} · `,
        el('span', { className: `state state-${a.state}` }, t(`state.${a.state}`))),
      el('p', { className: 'tl-meta' }, tNodes('mgr.tl.meta', {
        id: a.id, cashier: a.cashier, count: a.count, face: yuan2(a.settled_face_value ?? a.face_value) || '—',
      }, ['id', 'cashier'])),
      el('ol', { className: 'tl-events' }, events.map(eventItem)))));
  }

  async function open(code) {
    returnFocus = document.activeElement;
    root.hidden = false;
    title.textContent = t('mgr.tl.title', { code });
    body.replaceChildren(el('p', {}, t('mgr.loading')));
    close.focus();
    try {
      const list = await ctx.guard(api.codeTimeline(code));
      render(code, list);
      root.dataset.code = code;
      root.dataset.loaded = 'true';
    } catch (err) {
      if (err.code !== 'manager_locked') body.replaceChildren(el('p', { className: 'mgr-error' }, errorText(err)));
    }
  }

  function hide() {
    root.hidden = true;
    delete root.dataset.loaded;
    if (returnFocus && returnFocus.isConnected) returnFocus.focus();
  }

  close.addEventListener('click', hide);
  root.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') {
      e.preventDefault();
      e.stopPropagation();
      hide();
    }
  });
  root.addEventListener('click', (e) => { if (e.target === root) hide(); });

  return {
    open,
    hide,
    isOpen: () => !root.hidden,
    renderTexts() { close.textContent = t('mgr.close'); },
  };
}
