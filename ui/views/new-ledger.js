// The 另起新账本 button of the start-up failure page and of the till's red banner: the first
// press arms it (it says what will happen), a second press within a few seconds asks for
// the new ledger; the app then restarts (src-tauri ledger_commands.rs). Nothing is deleted:
// the old file is renamed and kept, and the core refuses this for a ledger that is whole.

/** How long an armed button waits for its second press. */
const ARMED_MS = 6000;

export function armedButton(button, act, texts) {
  let armedAt = -Infinity;
  const render = () => {
    const armed = performance.now() - armedAt < ARMED_MS;
    button.textContent = armed ? texts.armed() : texts.idle();
    button.dataset.armed = String(armed);
  };
  button.addEventListener('click', async () => {
    if (performance.now() - armedAt >= ARMED_MS) {
      armedAt = performance.now();
      render();
      setTimeout(render, ARMED_MS + 50);
      return;
    }
    armedAt = -Infinity;
    button.disabled = true;
    try {
      await act();
    } catch (e) {
      button.disabled = false;
      button.textContent = texts.failed(e);
    }
  });
  render();
  return { render };
}
