// Small DOM helpers for the manager screens: every element is built with createElement and
// every text set with textContent (channel text is always text, never markup).
import { t, tNodes } from '../../i18n.js';
import { wallTime, pad2 } from '../../format.js';

import { el, yuanFigure } from '../dom.js';

export { el };

/** 12.34 from 1234 fen (the column header says 元); '' when unknown. */
export const yuan2 = yuanFigure;

const pad = pad2;

/** YYYY-MM-DD HH:MM:SS in the business zone (ui/format.js). */
export function dateTime(ms) {
  if (ms === null || ms === undefined) return '';
  const w = wallTime(ms);
  return `${w.y}-${pad(w.mo)}-${pad(w.d)} ${pad(w.h)}:${pad(w.mi)}:${pad(w.s)}`;
}

/** MM-DD HH:MM:SS: a row of one business day's log, where the year goes without saying. */
export function dayTime(ms) {
  if (ms === null || ms === undefined) return '';
  const w = wallTime(ms);
  return `${pad(w.mo)}-${pad(w.d)} ${pad(w.h)}:${pad(w.mi)}:${pad(w.s)}`;
}

/** mm:ss (or h:mm:ss) of a duration. */
export function duration(ms) {
  const s = Math.max(0, Math.ceil(Number(ms) / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}:${pad(m)}:${pad(s % 60)}` : `${m}:${pad(s % 60)}`;
}

/** The channel's name, with the 通联 platform when there is one. */
export function channelName(channel, platform) {
  const base = t(`channel.${channel}`);
  return platform ? `${base}·${t(`platform.${platform}`)}` : base;
}

/** Who did it, from a serialised `Actor`: `{kind: 'manager', name: '李店长'}` or `{kind: 'resolver'}`. */
/** Who acted, as nodes: the role in the UI's language, then the person's name as it is. */
export function actorName(actor) {
  if (!actor || typeof actor !== 'object' || !actor.kind) return [];
  const role = t(`mgr.actor.${actor.kind}`);
  if (!actor.name) return [role];
  return [`${role} `, el('span', { dataset: { theirs: 'person' } }, actor.name)];
}

/** A stored reason: the desk's own sentence in the UI's language with its data as it is,
 * or somebody else's text (a channel's refusal, a manager's words) as it is. */
export function reasonNodes(ev) {
  if (ev.reason_kind) {
    const said = t(`reason.${ev.reason_kind}`);
    return ev.reason_detail
      ? tNodes('reason.withDetail', { said, detail: ev.reason_detail }, ['detail'])
      : [said];
  }
  return [el('span', { dataset: { theirs: 'text' } }, ev.reason)];
}

/** The translated message of a refused command: its code's text, or the detail. */
export function errorText(e) {
  const code = e && e.code;
  const key = `mgr.err.${code}`;
  const text = t(key);
  return text === key ? t('mgr.err.other', { detail: (e && e.message) || String(e) }) : text;
}

/** A `<table>` with a header; `numeric` marks right-aligned columns by index. */
export function table(headers, numeric = [], props = {}) {
  const thead = el('thead', {}, el('tr', {}, headers.map((h, i) =>
    el('th', { className: numeric.includes(i) ? 'num' : '', scope: 'col' }, h))));
  const tbody = el('tbody');
  return { table: el('table', { className: 'mgr-table', ...props }, thead, tbody), tbody };
}

/** A labelled field in a filter bar. */
export function field(labelText, control) {
  return el('label', { className: 'mgr-field' }, el('span', {}, labelText), control);
}
