// The baseline's whole UI: one command on load, its answer shown, then `data-ready` — the
// same signal the RedeemDesk page gives once `app_info` has answered (ui/main.js).
window.__TAURI__.core.invoke('hello').then(
  (text) => {
    document.getElementById('greeting').textContent = text;
    document.body.dataset.ready = 'hello';
  },
  (error) => {
    document.getElementById('greeting').textContent = String(error);
    document.body.dataset.ready = 'fatal';
  },
);
