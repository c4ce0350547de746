// The preview of a looked-up code: name, channel, facts (face value, price, validity, uses
// left), warnings, Douyin certificates to tick, the total before Enter, the count stepper
// and the status line (waiting for the channel, a warning to confirm). Drawn from the
// till's state; the one thing it reports back is a certificate ticked with the mouse.
import { t } from '../../i18n.js';
import { yuan, clock, breakdown } from '../../format.js';

function fact(label, value, testid) {
  const dt = document.createElement('dt');
  dt.textContent = label;
  const dd = document.createElement('dd');
  dd.textContent = value;
  if (testid) dd.dataset.testid = testid;
  return [dt, dd];
}
/**
 * `view`: `{prepared, certs, certCursor, count, busy, waitedMs, previewStatus}`;
 * `onTick(i, ticked)` when a certificate's box is clicked.
 */
export function renderPreview($, view, onTick) {
  const { prepared, certs, certCursor, count, busy, waitedMs, previewStatus } = view;
  if (!prepared) return;
  const previewPanel = $('#preview-panel');
  const p = prepared.preview;
  $('#preview-name').textContent = p.name ?? t('preview.noName');
  $('#preview-channel').textContent =
    t(`channel.${prepared.channel}`) + (p.platform ? '·' + t(`platform.${p.platform}`) : '');
  $('#preview-code').textContent = p.code;
  const facts = [];
  if (p.face_value != null) facts.push(...fact(t('preview.faceValue'), yuan(p.face_value), 'preview-face'));
  if (p.price_paid != null) facts.push(...fact(t('preview.pricePaid'), yuan(p.price_paid), 'preview-price'));
  if (p.valid_from || p.valid_until) {
    const v = p.valid_from && p.valid_until
      ? `${p.valid_from} — ${p.valid_until}`
      : p.valid_until
        ? t('preview.until', { date: p.valid_until })
        : t('preview.from', { date: p.valid_from });
    facts.push(...fact(t('preview.validity'), v));
  }
  if (p.times_remaining != null) facts.push(...fact(t('preview.timesRemaining'), t('preview.times', { n: p.times_remaining }), 'preview-times'));
  else if (p.redeemable_count != null) facts.push(...fact(t('preview.redeemable'), t('preview.pieces', { n: p.redeemable_count })));
  $('#preview-facts').replaceChildren(...facts);

  const earlier = $('#preview-earlier');
  earlier.hidden = !prepared.earlier_success;
  if (prepared.earlier_success) {
    earlier.textContent = t('preview.earlier', {
      time: clock(prepared.earlier_success.state_ms),
      name: prepared.earlier_success.cashier,
    });
  }

  const unreachable = prepared.unreachable_since_ms != null
    ? [Object.assign(document.createElement('li'), {
      className: 'major unreachable',
      textContent: t('preview.unreachable', {
        channel: t(`channel.${prepared.channel}`),
        time: clock(prepared.unreachable_since_ms),
        max: Math.ceil((prepared.wait_limit_ms ?? 10000) / 1000),
      }),
    })]
    : [];
  $('#preview-warnings').replaceChildren(
    ...unreachable,
    ...p.warnings.map((w) => {
      const li = document.createElement('li');
      const key = `warning.${w}`;
      li.textContent = t(key) !== key ? t(key) : w;
      li.className = w === 'no_remote_preview' || w === 'undo_is_manual' ? 'minor' : 'major';
      return li;
    }),
  );

  const certBox = $('#preview-certs');
  certBox.hidden = certs.length === 0;
  $('#cert-list').replaceChildren(
    ...certs.map((c, i) => {
      const li = document.createElement('li');
      li.className = 'cert' + (i === certCursor ? ' cursor' : '') + (c.ticked ? ' ticked' : '');
      li.dataset.testid = 'cert';
      const box = document.createElement('input');
      box.type = 'checkbox';
      box.checked = c.ticked;
      box.tabIndex = -1;
      box.id = `cert-${i}`;
      box.addEventListener('change', () => onTick(i, box.checked));
      const label = document.createElement('label');
      label.htmlFor = box.id;
      const title = document.createElement('span');
      title.className = 'cert-title';
      title.textContent = c.title ?? c.id;
      const extra = document.createElement('span');
      extra.className = 'cert-extra';
      extra.textContent = [c.market_price != null ? yuan(c.market_price) : '', c.num != null ? t('preview.pieces', { n: c.num }) : '', `#${c.id.slice(-6)}`]
        .filter(Boolean)
        .join(' · ');
      label.append(title, extra);
      li.append(box, label);
      return li;
    }),
  );

  // The total before Enter: the ticked certificates' prices, or the unit face value × count.
  const ticked = certs.filter((c) => c.ticked);
  const total = certs.length > 0
    ? (ticked.length && ticked.every((c) => c.market_price != null) ? ticked.reduce((sum, c) => sum + Number(c.market_price), 0) : null)
    : (p.face_value != null ? Number(p.face_value) * count : null);
  const n = certs.length > 0 ? ticked.length : count;
  const each = certs.length > 0
    ? (ticked.length && ticked.every((c) => c.market_price === ticked[0].market_price) ? ticked[0].market_price : null)
    : p.face_value;
  const sum = breakdown(t, { total, count: n, each, uses: p.times_remaining != null || p.uses_left != null });
  const totalLine = $('#preview-total');
  totalLine.hidden = total == null;
  totalLine.textContent = total == null ? '' : t('preview.total', { money: yuan(total), detail: n > 1 ? sum.detail : '' });

  const stepper = $('#count-stepper');
  stepper.hidden = certs.length > 0;
  $('#count-value').textContent = String(count);
  $('#count-max').textContent = prepared.max_count < 4294967295 ? t('preview.max', { n: prepared.max_count }) : '';
  $('#count-minus').disabled = count <= 1;
  $('#count-plus').disabled = count >= prepared.max_count;

  $('#redeem-btn').disabled = busy;
  $('#cancel-btn').disabled = busy;
  previewPanel.dataset.busy = String(busy);
  const status = $('#preview-status');
  status.textContent = busy
    ? t('preview.waiting', {
      channel: t(`channel.${prepared.channel}`),
      s: Math.floor(waitedMs / 1000),
      max: Math.ceil((prepared.wait_limit_ms ?? 10000) / 1000),
    })
    : previewStatus ? t(previewStatus.key, previewStatus.params) : '';
  status.dataset.kind = previewStatus?.key === 'preview.unreachableArmed' && !busy ? 'warn' : '';
}