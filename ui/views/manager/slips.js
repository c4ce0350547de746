// 单据 (issue 22): the slips the desk queued, newest first, with their state and a 重打 for
// each (a reprint is marked 重打 and audited by the core), and in sandbox mode the virtual
// printer's last slips as the pictures it drew, so a new user sees a real receipt.
import { t } from '../../i18n.js';
import * as api from '../../api.js';
import { el, dateTime, errorText } from './dom.js';

export function createSlips(container, ctx) {
  const title = el('h2', { className: 'mgr-pane-title', id: 'slips-title' });
  const status = el('p', { className: 'mgr-status', id: 'slips-status', attrs: { 'aria-live': 'polite' } });
  const list = el('div', { className: 'mgr-scroll slips-list', id: 'slips-list' });
  const picturesTitle = el('h3', { className: 'mgr-pane-title', id: 'slips-virtual-title' });
  const pictures = el('div', { className: 'slips-pictures', id: 'slips-pictures', dataset: { testid: 'slips-pictures' } });
  const root = el('section', { className: 'mgr-pane', id: 'manager-slips', hidden: true },
    el('div', { className: 'mgr-filters' }, title), status, list, picturesTitle, pictures);
  container.append(root);

  function jobRow(job) {
    const reprint = el('button', { type: 'button', className: 'link', dataset: { testid: 'slip-reprint' } }, t('mgr.slips.reprint'));
    reprint.addEventListener('click', async () => {
      reprint.disabled = true;
      try {
        await ctx.guard(api.reprintSlip(job.kind === 'handover' || job.kind === 'test_page' ? null : job.attempt_id, job.id));
        status.textContent = t('mgr.slips.reprinted');
        setTimeout(load, 800);
      } catch (err) {
        status.textContent = errorText(err);
        reprint.disabled = false;
      }
    });
    const row = el('div', { className: `slip-row slip-${job.state}`, dataset: { testid: 'slip-row', state: job.state, kind: job.kind } },
      el('span', { className: 'slip-time' }, dateTime(job.created_ms)),
      el('span', { className: 'slip-kind' }, t(`mgr.slips.kind.${job.kind}`) + (job.reprint_of != null ? ' · 重打' : '')),
      el('span', { className: 'slip-state' }, t(`mgr.slips.state.${job.state}`)),
      el('span', { className: 'slip-detail' }, job.detail ?? ''),
      reprint);
    return row;
  }

  async function load() {
    try {
      const jobs = await ctx.guard(api.recentSlips());
      list.replaceChildren(...(jobs.length ? jobs.map(jobRow) : [el('p', { className: 'mgr-empty' }, t('mgr.slips.none'))]));
      const shots = await ctx.guard(api.virtualSlips());
      picturesTitle.hidden = shots.length === 0;
      pictures.replaceChildren(...shots.map((s) => {
        const img = el('img', { src: s.png, alt: s.text, className: 'slip-picture' });
        img.dataset.seq = String(s.seq);
        return img;
      }));
      root.dataset.loaded = 'true';
    } catch (err) {
      if (err.code !== 'manager_locked') status.textContent = errorText(err);
    }
  }

  function renderTexts() {
    title.textContent = t('mgr.slips.title');
    picturesTitle.textContent = t('mgr.slips.virtual');
  }
  renderTexts();

  return {
    root,
    show() { root.hidden = false; status.textContent = ''; load(); },
    hide() { root.hidden = true; },
    renderTexts,
  };
}
