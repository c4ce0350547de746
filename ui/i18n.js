// One string table per language (ui/i18n/zh.js, ui/i18n/en.js). Chinese is the default.
// Every visible string goes through `t`; text is always set with textContent.
import zh from './i18n/zh.js';
import en from './i18n/en.js';

const TABLES = { zh, en };
const STORAGE_KEY = 'redeemdesk.lang';
let lang = TABLES[localStorage.getItem(STORAGE_KEY)] ? localStorage.getItem(STORAGE_KEY) : 'zh';

export function currentLang() {
  return lang;
}

export function setLang(next) {
  if (!TABLES[next]) return;
  lang = next;
  localStorage.setItem(STORAGE_KEY, next);
  document.documentElement.lang = next === 'zh' ? 'zh-CN' : 'en';
}

/** The string for `key` in `language` (default: the current one), `{name}` filled from params. */
export function t(key, params = {}, language = lang) {
  const raw = TABLES[language][key] ?? TABLES.zh[key] ?? key;
  return raw.replace(/\{(\w+)\}/g, (_, name) => (name in params ? String(params[name]) : `{${name}}`));
}

/**
 * Like `t`, as DOM nodes: the params named in `theirs` (a person's name, a code, a channel's
 * text) become spans marked `data-theirs`, shown as they are in either language.
 */
export function tNodes(key, params = {}, theirs = [], language = lang) {
  const raw = TABLES[language][key] ?? TABLES.zh[key] ?? key;
  return raw.split(/\{(\w+)\}/).map((part, i) => {
    if (i % 2 === 0) return document.createTextNode(part);
    const value = part in params ? String(params[part]) : `{${part}}`;
    if (!theirs.includes(part)) return document.createTextNode(value);
    const span = document.createElement('span');
    span.dataset.theirs = part;
    span.textContent = value;
    return span;
  });
}

/** Fills every `[data-i18n]` element under `root` (an element may pin its language). */
export function applyStatic(root) {
  for (const el of root.querySelectorAll('[data-i18n]')) {
    el.textContent = t(el.dataset.i18n, {}, el.dataset.i18nLang || lang);
  }
}
