// 撤销: undo a successful redemption chosen in the log (or from this day's successes here).
// The core says how (the channel's cancel call, or a manual undo the manager records after
// undoing it in the channel's back office), how long the channel's window still runs, the
// warnings (Meituan issues a new code, Dianping cannot be undone, Douyin only within an
// hour) and why it is refused if it is. A reason is required; the core never undoes twice.
import { t } from '../../i18n.js';
import * as api from '../../api.js';
import { el, yuan2, dateTime, channelName, duration, errorText } from './dom.js';

export function createUndo(container, ctx) {
  const title = el('h2', { className: 'mgr-pane-title', id: 'undo-title' });
  const pickList = el('ol', { className: 'undo-picks', id: 'undo-picks' });
  const detail = el('div', { className: 'undo-detail', id: 'undo-detail' });
  const root = el('section', { className: 'mgr-pane undo-pane', id: 'manager-undo', hidden: true },
    el('div', { className: 'undo-side' }, el('h3', { id: 'undo-picks-title' }), el('div', { className: 'mgr-scroll' }, pickList)),
    el('div', { className: 'undo-main' }, title, detail));
  container.append(root);

  let selected = null; // attempt id
  let preview = null;
  let previewAt = 0; // performance.now() when the preview arrived, for the countdown
  let timer = null;
  let done = null; // {attempt} after a successful undo

  function stopTimer() {
    if (timer) clearInterval(timer);
    timer = null;
  }

  async function loadPicks() {
    const day = ctx.day();
    if (!day) { pickList.replaceChildren(); return; }
    try {
      const log = await ctx.guard(api.dayLog(day, { channel: null, state: 'succeeded', cashier: null, code: null }));
      root.querySelector('#undo-picks-title').textContent = t('mgr.undo.picks', { day });
      pickList.replaceChildren(...log.attempts.slice().reverse().map((a) => el('li', {},
        el('button', {
          type: 'button', className: `undo-pick${a.id === selected ? ' active' : ''}`, dataset: { id: a.id },
          onclick: () => select(a.id),
        }, el('span', {}, `${dateTime(a.created_ms).slice(11)} ${channelName(a.channel, a.platform)}`),
        el('span', { className: 'code' }, a.code),
        el('span', { className: 'num' }, yuan2(a.settled_face_value ?? a.face_value))))));
      if (!log.attempts.length) pickList.append(el('li', { className: 'mgr-empty' }, t('mgr.undo.noneToday')));
    } catch (err) {
      if (err.code !== 'manager_locked') pickList.replaceChildren(el('li', { className: 'mgr-error' }, errorText(err)));
    }
  }

  function windowText() {
    if (!preview || preview.window_left_ms == null) return null;
    const left = preview.window_left_ms - (performance.now() - previewAt);
    return left > 0 ? t('mgr.undo.windowLeft', { left: duration(left) }) : t('mgr.undo.windowClosed');
  }

  function render() {
    stopTimer();
    title.textContent = t('mgr.tab.undo');
    if (done) {
      detail.replaceChildren(el('div', { className: 'undo-done', id: 'undo-done' },
        el('p', { className: 'big-ok' }, t('mgr.undo.done', { code: done.code })),
        el('p', {}, t('mgr.undo.doneState', { state: t(`state.${done.state}`) }))));
      return;
    }
    if (!preview) {
      detail.replaceChildren(el('p', { className: 'mgr-empty', id: 'undo-empty' }, t('mgr.undo.pick')));
      return;
    }
    const a = preview.attempt;
    const reason = el('input', { type: 'text', id: 'undo-reason', className: 'reason', maxLength: 200, autocomplete: 'off', placeholder: t('mgr.reasonHint') });
    const message = el('p', { className: 'card-message', id: 'undo-message', attrs: { role: 'alert' } });
    const windowLine = el('p', { className: 'undo-window', id: 'undo-window' }, windowText() || '');
    windowLine.hidden = preview.window_left_ms == null;
    const confirm = el('button', {
      type: 'button', className: 'danger big', id: 'undo-confirm', disabled: Boolean(preview.refused),
    }, t(preview.via === 'channel' ? 'mgr.undo.viaChannel' : 'mgr.undo.viaManual'));
    const go = async () => {
      const why = reason.value.trim();
      if (!why) { message.textContent = t('mgr.err.reason_needed'); reason.focus(); return; }
      confirm.disabled = true;
      message.textContent = t('mgr.working');
      try {
        done = await ctx.guard(api.undo(a.id, why));
        preview = null;
        render();
        loadPicks();
        ctx.changed();
      } catch (err) {
        if (err.code === 'manager_locked') return;
        message.textContent = errorText(err);
        confirm.disabled = false;
      }
    };
    confirm.addEventListener('click', go);
    reason.addEventListener('keydown', (e) => { if (e.key === 'Enter') { e.preventDefault(); go(); } });
    // replaceChildren would write a null as the text "null": leave the absent parts out.
    detail.replaceChildren(...[
      el('dl', { className: 'undo-facts', id: 'undo-facts' },
        el('dt', {}, t('mgr.log.code')), el('dd', { className: 'code' }, a.code),
        el('dt', {}, t('mgr.log.channel')), el('dd', {}, channelName(a.channel, a.platform)),
        el('dt', {}, t('mgr.col.time')), el('dd', {}, dateTime(a.state_ms)),
        el('dt', {}, t('mgr.log.cashier')), el('dd', {}, a.cashier),
        el('dt', {}, t('mgr.totals.face')), el('dd', { className: 'num' }, yuan2(a.settled_face_value ?? a.face_value) || '—'),
        // A refused undo has no "how": saying "record it manually" beside "cannot be undone"
        // would be two contradicting sentences.
        ...(preview.refused ? [] : [el('dt', {}, t('mgr.undo.how')), el('dd', { id: 'undo-via' }, t(`mgr.undo.via.${preview.via}`))])),
      windowLine,
      el('ul', { className: 'warnings', id: 'undo-warnings' }, preview.warnings
        .filter((w) => !(preview.refused === 'cannot_undo' && w === 'dianping_cannot_undo'))
        .map((w) => el('li', { dataset: { warning: w } }, t(`warning.${w}`)))),
      preview.refused ? el('p', { className: 'undo-refused', id: 'undo-refused' }, t(`mgr.err.${preview.refused}`)) : null,
      preview.refused ? null : el('label', { className: 'mgr-field wide' }, el('span', {}, t('mgr.undo.reason')), reason),
      el('div', { className: 'card-actions' }, preview.refused ? null : confirm,
        el('button', { type: 'button', className: 'link', onclick: () => ctx.showTimeline(a.code) }, t('mgr.inbox.timeline'))),
      message,
    ].filter(Boolean));
    if (preview.window_left_ms != null) {
      timer = setInterval(() => {
        if (!windowLine.isConnected) { stopTimer(); return; }
        windowLine.textContent = windowText();
      }, 1000);
    }
    if (!preview.refused) reason.focus();
  }

  async function select(id) {
    selected = id;
    done = null;
    for (const b of pickList.querySelectorAll('.undo-pick')) b.classList.toggle('active', b.dataset.id === id);
    try {
      preview = await ctx.guard(api.undoPreview(id));
      previewAt = performance.now();
      root.dataset.selected = id;
      render();
    } catch (err) {
      if (err.code !== 'manager_locked') detail.replaceChildren(el('p', { className: 'mgr-error' }, errorText(err)));
    }
  }

  return {
    root,
    show(attempt) {
      root.hidden = false;
      loadPicks();
      if (attempt) select(attempt.id);
      else render();
    },
    hide() { root.hidden = true; stopTimer(); },
    renderTexts() { render(); },
  };
}
