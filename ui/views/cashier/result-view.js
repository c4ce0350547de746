// The result panel: the answer huge, green, red, amber or neutral, with its lines. A result
// is data (`{state, title, amount, lines}` with i18n keys), made into words at each render,
// in the language of the moment. A channel's own words, a coupon's name and a code are
// shown as text, as they came.
import { t } from '../../i18n.js';
import { breakdown } from '../../format.js';

export const ICONS = { succeeded: '✓', rejected: '✕', refused: '✕', unknown: '?', notice: 'i', malformed: '!', busy: '…' };

/** `nameOf(choice)`: a channel choice in words (通联·抖音), for lines that name one. */
export function renderResult($, r, nameOf) {
  const resultPanel = $('#result-panel');
  resultPanel.dataset.state = r.state;
  resultPanel.className = `result result-${r.state}`;
  $('#result-icon').textContent = ICONS[r.state] ?? '';
  const title = $('#result-title');
  title.textContent = r.title ? t(r.title) : '';
  const amount = $('#result-amount');
  const words = r.amount ? breakdown(t, r.amount) : null;
  amount.hidden = !(words?.money || words?.detail);
  $('#result-money').textContent = words?.money ?? '';
  $('#result-count').textContent = words?.detail ?? '';
  const text = $('#result-text');
  const lines = r.state === 'idle' ? [{ key: 'result.idle', big: true }] : r.lines ?? [];
  text.replaceChildren(
    ...lines.map((l) => {
      const p = document.createElement('p');
      p.className = 'line' + (l.big ? ' big' : '') + (l.warn ? ' warn' : '');
      const params = l.choice ? { ...l.params, channel: nameOf(l.choice) } : l.params ?? {};
      if (l.says) {
        // The channel's answer in its own words, labelled as the channel's: in English
        // mode it stays as it came, and the label says whose it is.
        const said = document.createElement('span');
        said.dataset.theirs = 'channel';
        said.textContent = String(l.text ?? '');
        const label = document.createElement('span');
        label.className = 'says';
        label.textContent = t('result.channelSays');
        p.append(label, said);
      } else {
        p.textContent = l.key ? t(l.key, params) : String(l.text ?? '');
      }
      // A coupon's name, a code: shown as they came.
      if (l.theirs && !l.says) p.dataset.theirs = 'channel';
      if (l.testid) p.dataset.testid = l.testid;
      return p;
    }),
  );
}