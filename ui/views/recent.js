// The recent-attempts strip: this cashier's last ten attempts, newest first, each with its
// time, channel, masked code and state. Filled from `recent_attempts` at start, then kept
// current by the desk's change events (an amber one turns green or red in place).
import { t } from '../i18n.js';
import { yuan, clock, maskCode } from '../format.js';

const LIMIT = 10;
const MARKS = { succeeded: '✓', rejected: '✕', unknown: '?', pending: '…', cancelled: '↺' };

export function createRecent(list, cashier, onPrint) {
  const byId = new Map();

  function render() {
    const newest = [...byId.values()]
      .sort((a, b) => b.created_ms - a.created_ms)
      .slice(0, LIMIT);
    for (const [id] of byId) {
      if (!newest.some((a) => a.id === id)) byId.delete(id);
    }
    list.replaceChildren(
      ...newest.map((a) => {
        const li = document.createElement('li');
        li.className = `recent-item state-${a.state}`;
        li.dataset.state = a.state;
        li.dataset.id = a.id;
        const time = document.createElement('span');
        time.className = 'recent-time';
        time.textContent = clock(a.created_ms);
        const channel = document.createElement('span');
        channel.className = 'recent-channel';
        channel.textContent =
          t(`channel.${a.channel}`) + (a.platform ? '·' + t(`platform.${a.platform}`) : '');
        const code = document.createElement('span');
        code.className = 'recent-code';
        code.textContent = maskCode(a.code);
        const mark = document.createElement('span');
        mark.className = 'recent-mark';
        const amount = a.state === 'succeeded' ? yuan(a.settled_face_value) : '';
        mark.textContent =
          `${MARKS[a.state] ?? ''} ${t(`state.${a.state}`)}` + (amount ? ` ${amount}` : '');
        li.append(time, channel, code, mark);
        // 打印 / 重打 a receipt or a 待确认 note from the strip (issue 22).
        if (onPrint && ['succeeded', 'unknown', 'pending'].includes(a.state)) {
          const print = document.createElement('button');
          print.type = 'button';
          print.className = 'recent-print';
          print.dataset.testid = 'recent-print';
          print.textContent = t('print.strip');
          print.tabIndex = -1;
          print.addEventListener('click', () => onPrint(a.id));
          li.append(print);
        }
        return li;
      }),
    );
  }

  return {
    /** Adds or updates one attempt (only this cashier's appear on the strip). */
    upsert(attempt) {
      if (!attempt || attempt.cashier !== cashier) return;
      byId.set(attempt.id, attempt);
      render();
    },
    load(attempts) {
      for (const a of attempts) if (a.cashier === cashier) byId.set(a.id, a);
      render();
    },
    get(id) {
      return byId.get(id);
    },
    render,
  };
}
