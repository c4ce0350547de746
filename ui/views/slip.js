// The print line under an answer (issue 22): what happened to the slip of the attempt on
// screen — 正在打印 / 已打印 / 打印失败，可重打 — and the button that prints it again (or the
// 待确认 note of an amber answer). Printing never holds up the answer: the slip is asked
// for after the answer is shown, and its fate arrives later as a desk event.
import * as api from '../api.js';
import { t } from '../i18n.js';

export function createPrintBar(bar, status, again, cashier) {
  let attemptId = null;
  // The keys, not the words: a language switch says the same things in the other language.
  let statusKey = null;
  let againKey = 'print.again';

  function set(state, key) {
    bar.hidden = false;
    bar.dataset.state = state;
    statusKey = key;
    status.textContent = key ? t(key) : '';
  }

  function label(key) {
    againKey = key;
    again.textContent = t(key);
  }

  function hide() {
    attemptId = null;
    bar.hidden = true;
    delete bar.dataset.state;
  }

  again.addEventListener('click', () => {
    if (!attemptId) return;
    const id = attemptId;
    set('queued', 'print.queued');
    api.printSlip(id, cashier).then(
      () => {},
      (e) => {
        if (attemptId === id) set('failed', e.code === 'no_printer' ? 'print.noPrinter' : 'print.failed');
      },
    );
  });

  return {
    /** An answer is on screen: a success asks for its receipt, an amber one offers its note. */
    shown(attempt) {
      attemptId = attempt.id;
      if (attempt.state === 'succeeded') {
        label('print.again');
        bar.hidden = true;
        delete bar.dataset.state;
        api.afterAnswer(attempt.id).then(
          (job) => {
            if (attemptId !== attempt.id) return;
            // The job's fate may have come as an event before this answer did.
            if (['printed', 'failed'].includes(bar.dataset.state)) return;
            if (job) set('queued', 'print.queued');
            else set('idle', null);
          },
          () => {},
        );
      } else if (attempt.state === 'unknown' || attempt.state === 'pending') {
        label('print.pendingNote');
        set('idle', null);
      } else hide();
    },
    hide,
    renderTexts() {
      status.textContent = statusKey ? t(statusKey) : '';
      again.textContent = t(againKey);
    },
    /** A desk event of kind 'print'. */
    update(job) {
      if (!job || job.attempt_id !== attemptId) return;
      if (job.state === 'printed') set('printed', job.reprint_of != null ? 'print.reprinted' : 'print.printed');
      else if (job.state === 'failed') set('failed', 'print.failed');
      else set('queued', 'print.queued');
      label('print.again');
    },
  };
}
