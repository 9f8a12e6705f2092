// Building the page: elements from plain data (text is always text, never HTML), SVG,
// and the formats every page shares. Figures are the API's; only their display is here.
const SVG = 'http://www.w3.org/2000/svg';

function fill(el, props, kids) {
  for (const [k, v] of Object.entries(props || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'text') el.textContent = v;
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else el.setAttribute(k === 'className' ? 'class' : k, v === true ? '' : v);
  }
  for (const kid of kids.flat(Infinity)) {
    if (kid === null || kid === undefined || kid === false) continue;
    el.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
  }
  return el;
}

export const h = (tag, props, ...kids) => fill(document.createElement(tag), props, kids);
export const s = (tag, props, ...kids) => fill(document.createElementNS(SVG, tag), props, kids);

export function pct(p) {
  return p === null || p === undefined ? '—' : `${(p * 100).toFixed(1)}%`;
}

export function points(d) {
  if (d === null || d === undefined) return '—';
  const v = d * 100;
  return `${v > 0 ? '+' : v < 0 ? '−' : '±'}${Math.abs(v).toFixed(1)} pts`;
}

export function label(s) {
  if (!s) return '';
  const special = { gps: 'Grammar, punctuation and spelling', send: 'SEND', send_support: 'SEND support', ehcp: 'EHCP', eal: 'EAL', sef: 'SEF' };
  if (special[s]) return special[s];
  const t = s.replace(/_/g, ' ');
  return t[0].toUpperCase() + t.slice(1);
}

export function table(caption, headers, rows, props) {
  return h('table', props || {},
    caption ? h('caption', { text: caption }) : null,
    h('thead', {}, h('tr', {}, headers.map((x) => h('th', { scope: 'col' }, x)))),
    h('tbody', {}, rows));
}

export function section(title, ...kids) {
  return h('section', { 'aria-label': title }, h('h2', { text: title }), ...kids);
}

export function note(text) {
  return h('p', { className: 'note', text });
}
