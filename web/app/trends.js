// Trends: for one subject, the trust and each school over the terms held, against the
// national benchmark, as a line chart (hand-drawn SVG) with the same figures in a table.
import * as api from './api.js';
import { h, s, pct, label, note } from './dom.js';
import { termLabel } from './context.js';
import { SUBJECTS } from './heatmap.js';

const W = 760, H = 360, PAD = { l: 60, r: 50, t: 16, b: 40 };

function chart(terms, series) {
  const values = series.flatMap((x) => x.values).filter((v) => v !== null && v !== undefined);
  const lo = Math.max(0, Math.floor((Math.min(...values) - 0.05) * 10) / 10);
  const hi = Math.min(1, Math.ceil((Math.max(...values) + 0.05) * 10) / 10);
  const x = (i) => PAD.l + (terms.length === 1 ? 0.5 : i / (terms.length - 1)) * (W - PAD.l - PAD.r);
  const y = (v) => PAD.t + (1 - (v - lo) / (hi - lo || 1)) * (H - PAD.t - PAD.b);
  const grid = [];
  for (let v = lo; v <= hi + 1e-9; v += 0.1) {
    grid.push(s('line', { x1: PAD.l, x2: W - PAD.r, y1: y(v), y2: y(v), class: 'grid' }),
      s('text', { x: PAD.l - 6, y: y(v) + 4, class: 'axis', 'text-anchor': 'end' }, `${Math.round(v * 100)}%`));
  }
  terms.forEach((t, i) => grid.push(s('text', { x: x(i), y: H - 14, class: 'axis', 'text-anchor': 'middle' }, termLabel(t))));
  const lines = series.map((se) => {
    const pts = se.values.map((v, i) => (v === null || v === undefined ? null : [x(i), y(v)]));
    let d = '';
    pts.forEach((p, i) => { if (p) d += `${d && pts[i - 1] ? 'L' : 'M'}${p[0].toFixed(1)},${p[1].toFixed(1)}`; });
    return s('g', { class: `series ${se.cls}` },
      s('path', { d, fill: 'none' }),
      pts.filter(Boolean).map((p) => s('circle', { cx: p[0], cy: p[1], r: se.cls === 'trust' ? 4 : 2.5 })));
  });
  return s('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img', 'aria-labelledby': 'chart-title' },
    s('title', { id: 'chart-title' }, 'Line chart of % at expected or above by term; the table below gives every figure'), grid, lines);
}

export async function trends({ query, ctx, go }) {
  const terms = ctx.terms;
  const summaries = await Promise.all(terms.map((t) => api.get(`/v1/progress/summary?year=${t.year}&term=${t.term}&by=school`)));
  const held = SUBJECTS.filter((sub) => summaries.some((sm) => sm.cells.some((c) => c.subject === sub)));
  const subject = held.includes(query.get('subject')) ? query.get('subject') : held.includes('writing') ? 'writing' : held[0];
  const pick = (sm, urn) => sm.cells.find((c) => c.school === urn && c.subject === subject && c.group === 'all' && c.year_group === 'all');
  const urns = [...ctx.schools.keys()].filter((u) => summaries.some((sm) => pick(sm, u)));
  const series = [
    { name: 'Trust', cls: 'trust', values: summaries.map((sm) => pick(sm, null)?.p_expected ?? null) },
    { name: 'National', cls: 'national', values: summaries.map((sm) => pick(sm, null)?.benchmark ?? null) },
    ...urns.map((u) => ({ name: ctx.name(u), cls: 'school', urn: u, values: summaries.map((sm) => pick(sm, u)?.p_expected ?? null) })),
  ];
  const sel = h('select', { id: 'subject-pick', onchange: () => go('trends', [], { subject: sel.value }) },
    held.map((x) => h('option', { value: x, selected: x === subject }, label(x))));
  const rows = series.map((se) => h('tr', { className: se.cls, dataset: { urn: se.urn || se.cls } },
    h('th', { scope: 'row' }, se.urn ? h('a', { href: `#/school/${se.urn}`, text: se.name }) : se.name),
    se.values.map((v, i) => h('td', { dataset: { term: `${terms[i].year} ${terms[i].term}`, p: v ?? '' }, text: pct(v) }))));
  return {
    title: `Trends: ${label(subject)}`,
    node: [
      h('h1', { text: `Trends: ${label(subject)}, % at expected or above` }),
      h('div', { className: 'controls' }, h('p', { className: 'picker' }, h('label', { for: 'subject-pick', text: 'Subject ' }), sel)),
      h('ul', { className: 'legend', 'aria-label': 'Key' },
        h('li', { className: 'key trust', text: 'Trust (thick line)' }), h('li', { className: 'key national', text: 'National (dashed)' }),
        h('li', { className: 'key school', text: 'Each school (thin lines)' })),
      h('figure', {}, chart(terms, series)),
      h('div', { className: 'scroll' }, h('table', { id: 'trends' },
        h('caption', { text: `${label(subject)}: all pupils, all year groups, by term` }),
        h('thead', {}, h('tr', {}, h('th', { scope: 'col', text: '' }), terms.map((t) => h('th', { scope: 'col', text: termLabel(t) })))),
        h('tbody', {}, rows))),
      note('Figures are those of GET /v1/progress/summary for each term held; national is its benchmark.'),
    ],
  };
}
