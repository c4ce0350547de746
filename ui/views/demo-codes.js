// Sandbox mode's 试用券码 panel (opened from the SANDBOX badge): every demo code with what it
// does, so a new user can try each case without the README. 试用 picks the code's channel
// and looks the code up, as a scan would.
import { t, currentLang } from '../i18n.js';
import * as api from '../api.js';

function cell(tag, text, props = {}) {
  const node = document.createElement(tag);
  node.textContent = text;
  Object.assign(node, props);
  return node;
}

function channelName(c) {
  return c.platform
    ? `${t(`channel.${c.channel}`)}·${t(`platform.${c.platform}`)}`
    : t(`channel.${c.channel}`);
}

/** A note: `…` spans are the channel's own words (a field, a status code), shown as such. */
function noteCell(text) {
  const td = cell('td', '', { className: 'demo-note' });
  text.split('`').forEach((part, i) => {
    if (i % 2 === 0) {
      td.append(document.createTextNode(part));
    } else {
      const code = cell('code', part);
      code.dataset.theirs = 'channel';
      td.append(code);
    }
  });
  return td;
}

/** Fills `dialog` with the codes; `onTry(code)` runs after the dialog closed. */
export async function openDemoCodes(dialog, onTry) {
  const body = dialog.querySelector('#demo-rows');
  const status = dialog.querySelector('#demo-status');
  body.replaceChildren();
  status.textContent = t('demo.loading');
  dialog.showModal();
  let codes;
  try {
    codes = await api.demoCodes();
  } catch (e) {
    status.textContent = t('demo.failed', { code: e?.code ?? 'internal' });
    return;
  }
  status.textContent = '';
  const zh = currentLang() === 'zh';
  for (const c of codes) {
    const tr = document.createElement('tr');
    tr.dataset.code = c.code;
    const code = cell('td', c.code, { className: 'demo-code' });
    code.dataset.theirs = 'code';
    const name = cell('td', c.name, { className: 'demo-name' });
    // The coupon's name is the channel's own text: shown as it came, in either language.
    name.dataset.theirs = 'channel';
    const go = cell('button', t('demo.try'), { type: 'button', className: 'ghost demo-try' });
    go.addEventListener('click', () => {
      dialog.close();
      onTry(c);
    });
    tr.append(
      cell('td', channelName(c), { className: 'demo-channel' }),
      code,
      name,
      noteCell(zh ? c.note_zh : c.note_en),
      cell('td', '', {}),
    );
    tr.lastChild.append(go);
    body.append(tr);
  }
}
