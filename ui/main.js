// Entry point: ask the Rust side how start-up went, then show the cashier screen or the
// start-up failure page (with the shift-start chooser first when the manager keeps a
// cashier list). Nothing else happens before `app_info` answers.
import { appInfo, cashiers, channels, startShift } from './api.js';
import { setChannels } from './channels.js';
import { DEFAULT_CASHIER, needsChooser, setShift } from './shift.js';
import { renderShiftStart } from './views/shift-start.js';
import { renderCashier } from './views/cashier.js';
import { renderFatal } from './views/fatal.js';
import { applyStatic } from './i18n.js';
import { setZone } from './format.js';

const root = document.getElementById('app');
applyStatic(document.body);

// All questions at once: the cashier list and the channels do not depend on the answer to
// the first. The chooser's channels (F1…) are the core's list, with their capabilities.
const listAsked = cashiers().catch(() => []);
const channelsAsked = channels().catch(() => null);
appInfo().then(
  async (info) => {
    setZone(info.utc_offset_minutes);
    // Shift start: the chooser comes before the cashier screen accepts a scan when the
    // manager keeps a list (ui/views/shift-start.js); without one, 收银员 works the till.
    // Either way the desk opens the shift: it records that cashier on every redemption, and
    // refuses one (no_shift) if the shift could not be opened.
    const list = await listAsked;
    if (needsChooser(list)) {
      const chosen = renderShiftStart(root, info, list);
      document.body.dataset.ready = 'shift';
      await chosen;
    } else {
      // One cashier without a PIN, or the default cashier, starts at once.
      const name = list.length === 1 ? list[0].name : DEFAULT_CASHIER;
      setShift(await startShift(name, null).catch(() => name), false);
    }
    setChannels(await channelsAsked);
    renderCashier(root, info);
    document.body.dataset.ready = 'cashier';
  },
  (error) => {
    renderFatal(root, error);
    document.body.dataset.ready = 'fatal';
  },
);
