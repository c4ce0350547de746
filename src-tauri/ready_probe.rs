//! `REDEEMDESK_READY_PROBE=1` (benchmark 5, `make bench`): prints `redeemdesk-ready <state>
//! <page time origin, epoch ms> <DOMContentLoaded> <data-ready set> <painted>` (the last three
//! in ms on the page's clock) on stdout once the page has set `body[data-ready]` and painted
//! the frame after it — the moment a cashier could scan.
//! The bench times launch → that line, without the WebDriver round trips that would
//! otherwise sit in the figure; the page's clock splits it into shell and page phases. The minimal baseline window
//! (crates/bench/baseline-app) compiles this very file, so both are measured the same way.
//! Without the variable nothing is added to the window.

use tauri::{Manager, Runtime, WebviewWindowBuilder};

pub const ENV: &str = "REDEEMDESK_READY_PROBE";
/// The title prefix the page script sets; the document title is the one page → shell
/// signal that needs no command, no capability and no IPC traffic of its own.
const PREFIX: &str = "redeemdesk-ready:";

/// Runs in the page before its own scripts (a WebKit user script, outside the CSP). Two
/// animation frames after `data-ready` appears, the frame showing it has been painted.
const SCRIPT: &str = r#"(() => {
  const report = (state) => {
    const set = performance.now();
    requestAnimationFrame(() => requestAnimationFrame(() => {
      const nav = performance.getEntriesByType('navigation')[0];
      const loaded = nav ? nav.domContentLoadedEventEnd : 0;
      document.title = 'redeemdesk-ready:' +
        [state, performance.timeOrigin, loaded, set, performance.now()].join(' ');
    }));
  };
  const watch = () => {
    const body = document.body;
    if (body.dataset.ready) return report(body.dataset.ready);
    const seen = new MutationObserver(() => {
      if (!body.dataset.ready) return;
      seen.disconnect();
      report(body.dataset.ready);
    });
    seen.observe(body, { attributes: true, attributeFilter: ['data-ready'] });
  };
  if (document.body) watch();
  else document.addEventListener('DOMContentLoaded', watch, { once: true });
})();"#;

/// Adds the probe to the window when `REDEEMDESK_READY_PROBE` is set.
pub fn attach<'a, R: Runtime, M: Manager<R>>(
    window: WebviewWindowBuilder<'a, R, M>,
) -> WebviewWindowBuilder<'a, R, M> {
    if std::env::var_os(ENV).is_none() {
        return window;
    }
    window
        .initialization_script(SCRIPT)
        .on_document_title_changed(|_, title| {
            if let Some(state) = title.strip_prefix(PREFIX) {
                println!("redeemdesk-ready {state}");
            }
        })
}
