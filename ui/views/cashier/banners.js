// The banners over the till: a channel that does not answer (连不上), a damaged ledger (red:
// nothing is redeemed), the desk's clock against the channels' (core clock_skew.rs), and
// the start-up warnings for the manager (core file_modes.rs, a new ledger started).
import { t } from '../../i18n.js';

export function createBanners($, info) {
  const banner = $('#offline-banner');
  const clockBanner = $('#clock-banner');
  let offline = null; // the channel that could not be reached
  let damaged = null; // why the till stopped redeeming (the ledger's integrity check failed)
  let skew = info.clock_skew ?? null;

  function setOffline(channel) {
    offline = channel;
    renderBanner();
  }

  function clearOffline(channel) {
    if (offline === channel) {
      offline = null;
      renderBanner();
    }
  }

  /** The ledger failed its integrity check: the till stays red until restarted on a good one. */
  function setDamaged(detail) {
    damaged = detail || 'damaged';
    renderBanner();
  }

  function renderBanner() {
    banner.hidden = !offline && !damaged;
    banner.classList.toggle('banner-damaged', Boolean(damaged));
    if (damaged) {
      // The damage outranks a channel being down: nothing is redeemed either way.
      $('#offline-title').textContent = t('damaged.title');
      $('#offline-text').textContent = t('damaged.text');
    } else if (offline) {
      $('#offline-title').textContent = t('offline.title', { channel: t(`channel.${offline}`) });
      $('#offline-text').textContent = t('offline.text');
    }
  }

  /** A start-up warning in the UI's language where it has a sentence for it. */
  function warningText(w) {
    if (w.code === 'ledger_set_aside') {
      return t('warning.ledger_set_aside', { archive: w.detail?.archive ?? '' })
        + (w.detail?.manager_pin_carried ? '' : ` ${t('warning.ledger_set_aside.pin')}`);
    }
    if (w.code === 'ledger_not_damaged') return t('warning.ledger_not_damaged');
    return w.message;
  }

  function renderWarnings() {
    const list = info.warnings ?? [];
    $('#warnings-banner').hidden = list.length === 0;
    $('#warnings-text').textContent = list.map(warningText).join(' ');
  }

  function renderClockBanner() {
    clockBanner.hidden = !skew;
    if (skew) {
      const minutes = Math.round(Math.abs(skew.skew_ms) / 60000);
      const ahead = skew.skew_ms > 0 ? 'clock.ahead' : 'clock.behind';
      $('#clock-title').textContent = t(ahead, { channel: t(`channel.${skew.channel}`), minutes });
      $('#clock-text').textContent = t('clock.text');
    }
  }

  function setSkew(s) {
    skew = s ?? null;
    renderClockBanner();
  }

  function render() {
    renderBanner();
    renderClockBanner();
    renderWarnings();
  }

  return { setOffline, clearOffline, setDamaged, setSkew, render };
}
