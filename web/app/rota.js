// Rota: the schools on a map drawn from their coordinates (SVG, no tile server) with one
// term's triads linking members to their host, a terms × triads table, and for the CEO
// and admin every rota's metrics side by side, with drafts to publish.
import * as api from './api.js';
import { h, s, label, table, section, note } from './dom.js';
import { termLabel, termKey } from './context.js';

const COLOURS = ['#0072b2', '#d55e00', '#009e73', '#cc79a7', '#e69f00', '#56b4e9', '#000000', '#994f00'];
const DASHES = ['', '6 3', '2 3', '8 3 2 3'];
const W = 640, H = 440, M = 40;

function map(points, triads, ctx) {
  const lat0 = points.reduce((a, p) => a + p.lat, 0) / points.length;
  const k = Math.cos((lat0 * Math.PI) / 180);
  const xs = points.map((p) => p.lon * k), ys = points.map((p) => p.lat);
  const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const scale = Math.min((W - 2 * M) / (x1 - x0 || 1), (H - 2 * M) / (y1 - y0 || 1));
  const at = new Map(points.map((p) => [p.urn, [M + (p.lon * k - x0) * scale, H - M - (p.lat - y0) * scale]]));
  const links = triads.flatMap((t, i) => {
    const host = at.get(t.host);
    if (!host) return [];
    return t.members.filter((m) => m !== t.host && at.has(m)).map((m) => s('line', {
      x1: at.get(m)[0], y1: at.get(m)[1], x2: host[0], y2: host[1], stroke: COLOURS[i % COLOURS.length],
      'stroke-width': 3, 'stroke-dasharray': DASHES[i % DASHES.length] || null, class: 'link', 'data-triad': t.triad,
    }));
  });
  const hosts = new Map(triads.map((t, i) => [t.host, i]));
  const marks = points.map((p) => {
    const [x, y] = at.get(p.urn);
    const i = hosts.get(p.urn);
    return s('g', { class: 'school', 'data-urn': p.urn },
      i === undefined ? s('circle', { cx: x, cy: y, r: 6 })
        : s('rect', { x: x - 8, y: y - 8, width: 16, height: 16, fill: COLOURS[i % COLOURS.length] }),
      i === undefined ? null : s('text', { x, y: y + 4, class: 'host-no', 'text-anchor': 'middle' }, String(triads[i].triad)),
      s('text', { x: x + 10, y: y - 8, class: 'name' }, ctx.name(p.urn)));
  });
  return s('svg', { viewBox: `0 0 ${W} ${H}`, class: 'map', role: 'img', 'aria-labelledby': 'map-title' },
    s('title', { id: 'map-title' }, 'Map of the schools; lines join each triad\'s members to its host (squares, numbered by triad). The table below lists every triad.'),
    links, marks);
}

// Terms with their triads: the CEO's rota, else the triads of each school in scope.
async function load(sess, ctx) {
  if (['admin', 'ceo'].includes(sess.principal.role)) {
    const rotas = await api.all('/v1/rotas');
    const full = await Promise.all(rotas.map((r) => api.get(`/v1/rotas/${r.id}`)));
    const published = full.filter((r) => r.status === 'published');
    const terms = (published.length ? published : full.slice(0, 1)).flatMap((r) => r.terms);
    return { rotas: full, terms: terms.sort((a, b) => termKey(a).localeCompare(termKey(b))) };
  }
  const lists = await Promise.all([...ctx.schools.keys()].map((u) => api.all(`/v1/schools/${u}/triads`)));
  const terms = new Map();
  for (const t of lists.flat()) {
    const key = termKey(t);
    if (!terms.has(key)) terms.set(key, { year: t.year, term: t.term, triads: new Map() });
    terms.get(key).triads.set(`${t.rota_id}:${t.triad}`, { triad: t.triad, host: t.host, members: t.members });
  }
  return { rotas: [], terms: [...terms.entries()].sort().map(([, v]) => ({ ...v, triads: [...v.triads.values()] })) };
}

function rotaList(rotas, go) {
  const keys = ['max_km', 'total_km', 'repeat_pairs', 'hosting_spread', 'phase_mismatches', 'unbalanced_groups'];
  const rows = rotas.map((r) => h('tr', { dataset: { rota: r.id } },
    h('th', { scope: 'row', text: `Rota ${r.id}` }), h('td', { text: label(r.status) }),
    h('td', { text: r.terms.map(termLabel).join(', ') }),
    keys.map((k) => h('td', { text: r.metrics?.[k] ?? '—' })),
    h('td', {}, r.status === 'draft' ? h('button', { type: 'button', onclick: async (e) => {
      e.target.disabled = true;
      try { await api.send('POST', `/v1/rotas/${r.id}/publish`); go('rota', [], { published: r.id }); } catch (err) { e.target.after(` ${err.message}`); }
    } }, `Publish rota ${r.id}`) : '')));
  return table('Every rota and its metrics (lower is better)', ['Rota', 'Status', 'Terms', ...keys.map(label), ''], rows, { id: 'rotas' });
}

// A draft for a whole academic year, planned by matd (POST /v1/rotas), to compare and publish.
function draftForm(rotas, go) {
  const years = rotas.flatMap((r) => r.terms.map((t) => t.year)).sort();
  const last = years.length ? years[years.length - 1] : `${new Date().getFullYear()}-${String((new Date().getFullYear() + 1) % 100).padStart(2, '0')}`;
  const next = (y) => { const a = Number(y.slice(0, 4)) + 1; return `${a}-${String((a + 1) % 100).padStart(2, '0')}`; };
  const choices = [last, next(last), next(next(last))];
  const sel = h('select', { id: 'draft-year' }, choices.map((y) => h('option', { value: y, selected: y === next(last) }, y)));
  const status = h('p', { className: 'live', role: 'status', 'aria-live': 'polite' });
  return h('form', { className: 'controls', id: 'draft-form', onsubmit: async (e) => {
    e.preventDefault();
    const button = e.target.querySelector('button');
    button.disabled = true;
    status.textContent = 'Planning…';
    try {
      const r = await api.send('POST', '/v1/rotas', { terms: ['autumn', 'spring', 'summer'].map((term) => ({ year: sel.value, term })) });
      go('rota', [], { draft: r.id });
    } catch (err) {
      status.textContent = `Not drafted: ${err.message}`;
      button.disabled = false;
    }
  } }, h('p', { className: 'picker' }, h('label', { for: 'draft-year', text: 'Draft a rota for ' }), sel), h('button', { type: 'submit' }, 'Draft'), status);
}

export async function rota({ query, ctx, sess, go }) {
  const { rotas, terms } = await load(sess, ctx);
  if (!terms.length) return { title: 'Rota', node: [h('h1', { text: 'Rota' }), note('No triads yet.')] };
  const want = query.get('year') && query.get('term') ? `${query.get('year')}:${query.get('term')}` : `${ctx.year}:${ctx.term}`;
  const cur = terms.find((t) => `${t.year}:${t.term}` === want) || terms[0];
  const points = [...ctx.schools.values()].filter((p) => p.lat != null && p.lon != null);
  const sel = h('select', { id: 'rota-term', onchange: () => { const [year, term] = sel.value.split('|'); go('rota', [], { year, term }); } },
    terms.map((t) => h('option', { value: `${t.year}|${t.term}`, selected: t === cur }, termLabel(t))));
  const maxTriads = Math.max(...terms.map((t) => t.triads.length));
  const cols = Array.from({ length: maxTriads }, (_, i) => `Group ${i + 1}`);
  const grid = terms.map((t) => h('tr', { className: t === cur ? 'current' : '' }, h('th', { scope: 'row', text: termLabel(t) }),
    t.triads.map((tr) => h('td', { dataset: { triad: tr.triad } },
      h('strong', { text: `Triad ${tr.triad}: ` }), `host ${ctx.name(tr.host)}; `,
      tr.members.filter((m) => m !== tr.host).map((m) => ctx.name(m)).join(', ')))));
  return {
    title: 'Rota',
    node: [
      h('h1', { text: `Triad rota, ${termLabel(cur)}` }),
      h('div', { className: 'controls' }, h('p', { className: 'picker' }, h('label', { for: 'rota-term', text: 'Term ' }), sel)),
      points.length ? h('figure', {}, map(points, cur.triads, ctx),
        h('figcaption', { text: 'Squares are hosts (numbered by triad); each line joins a reviewing member to its host.' })) : null,
      section('Terms and triads', h('div', { className: 'scroll' }, table(null, ['Term', ...cols], grid, { id: 'rota-grid' }))),
      rotas.length || ['admin', 'ceo'].includes(sess.principal.role) ? section('Rotas', draftForm(rotas, go), rotaList(rotas, go)) : null,
    ],
  };
}
