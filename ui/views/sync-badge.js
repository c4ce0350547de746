// The cashier screen's sync badge (chain mode, issue 21): 已同步 / 待上传 n / 总部连不上, from
// the uploader's state (core hq_sync::Uploader::badge), polled once a second. Without [hq]
// the first answer is null: no badge, and no more polling.
import { t } from '../i18n.js';
import * as api from '../api.js';

const POLL_MS = 1000;
let timer = null;

/** Puts the badge after `anchor` (the mode badge); returns `{render}` for a language change. */
export function mountSyncBadge(anchor) {
  clearInterval(timer);
  timer = null;
  const badge = document.createElement('span');
  badge.className = 'sync-badge';
  badge.id = 'sync-badge';
  badge.dataset.testid = 'sync-badge';
  badge.hidden = true;
  anchor.after(badge);
  let state = null;

  function render() {
    badge.hidden = !state;
    if (!state) return;
    badge.dataset.state = state.state;
    badge.textContent = t(`sync.${state.state}`, { n: state.rows ?? 0 });
    badge.title = state.state === 'unreachable' ? t('sync.unreachableHelp', { n: state.rows ?? 0 }) : '';
  }

  async function poll() {
    try {
      state = await api.syncState();
    } catch (_) {
      return; // a failed start or a stopped command: keep what is shown
    }
    if (state === null) {
      clearInterval(timer);
      timer = null;
    }
    render();
  }

  poll();
  timer = setInterval(poll, POLL_MS);
  return { render };
}
