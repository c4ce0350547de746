// Entry point: ask the Rust side how start-up went, then show the cashier screen or the
// start-up failure page. Nothing else happens before `app_info` answers.
import { appInfo } from './api.js';
import { renderCashier } from './views/cashier.js';
import { renderFatal } from './views/fatal.js';
import { applyStatic } from './i18n.js';

const root = document.getElementById('app');
applyStatic(document.body);

appInfo().then(
  (info) => {
    renderCashier(root, info);
    document.body.dataset.ready = 'cashier';
  },
  (error) => {
    renderFatal(root, error);
    document.body.dataset.ready = 'fatal';
  },
);
