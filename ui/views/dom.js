// The one element builder of the screens: every element made with createElement, every
// text set as text (channel text is never markup), and the plain 元 figure of an amount in
// fen, both ways. The till, the manager side and the settings import these.

/**
 * `el('td', {className: 'num', dataset: {id}}, 'text', child…)`: properties are assigned
 * (dataset merged, `attrs` set as attributes, `on*` functions become listeners); strings
 * become text nodes.
 */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === undefined || v === null) continue;
    if (k === 'dataset') Object.assign(node.dataset, v);
    else if (k.startsWith('on') && typeof v === 'function') node.addEventListener(k.slice(2), v);
    else if (k === 'attrs') for (const [a, av] of Object.entries(v)) node.setAttribute(a, av);
    else node[k] = v;
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

/** 12.34 from 1234 fen (where the column or the label says 元); '' when unknown. Never a float. */
export function yuanFigure(fen) {
  if (fen === null || fen === undefined || !Number.isFinite(Number(fen))) return '';
  const n = Math.trunc(Number(fen));
  const abs = Math.abs(n);
  return `${n < 0 ? '−' : ''}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`;
}

/** Fen from what a person types in 元 ("30", "30.5", "30.50", full-width too), or null. */
export function fenOfYuan(text) {
  const m = /^(\d{1,7})(?:\.(\d{1,2}))?$/.exec(String(text ?? '').normalize('NFKC').trim());
  if (!m) return null;
  return Number(m[1]) * 100 + Number((m[2] || '').padEnd(2, '0'));
}
