// Heat map: schools × subjects for one pupil group, each cell the API's % at expected+,
// its difference from the benchmark and its cohort. Colour (a blue–orange scale safe for
// colour-blind readers) always comes with a symbol and the numbers; cells under the
// trust's minimum cohort are suppressed; a cell the priorities name as significantly
// below its benchmark is marked. Each school row links to its page.
import * as api from './api.js';
import { h, pct, points, label, note } from './dom.js';
import { termPicker, termLabel } from './context.js';

export const SUBJECTS = ['reading', 'writing', 'gps', 'maths', 'science', 'english'];
export const GROUPS = ['all', 'disadvantaged', 'not_disadvantaged', 'send', 'send_support', 'ehcp', 'eal', 'looked_after', 'girls', 'boys', 'prior_low', 'prior_middle', 'prior_high'];

export const BANDS = [
  { cls: 'above', sym: '▲', text: '5 points or more above the benchmark', test: (g) => g >= 0.05 },
  { cls: 'near', sym: '●', text: 'within 5 points of the benchmark', test: (g) => g > -0.05 },
  { cls: 'below', sym: '▼', text: '5 to 10 points below the benchmark', test: (g) => g > -0.10 },
  { cls: 'well-below', sym: '▼▼', text: '10 points or more below the benchmark', test: () => true },
];

export function band(gap) {
  if (gap === null || gap === undefined) return { cls: 'none', sym: '○', text: 'no benchmark set' };
  return BANDS.find((b) => b.test(gap));
}

// A cell the API withheld (n is then a string such as "<6", SPEC §8: a small cohort or, where
// the trust turned complementary suppression on, a cell that would give one away by
// subtraction), or one under the trust's minimum cohort: either way no figure is shown.
export function isSuppressed(cell, minCohort) {
  return typeof cell.n === 'string' || cell.n < minCohort;
}

// One figure cell: symbol, %, difference, n — or the suppression notice.
export function figureCell(cell, minCohort, sig, href) {
  if (!cell) return h('td', { className: 'empty' }, h('span', { className: 'vh', text: 'no data' }), '—');
  const data = { subject: cell.subject, group: cell.group, n: cell.n, urn: cell.school || 'trust' };
  if (isSuppressed(cell, minCohort)) {
    return h('td', { className: 'suppressed', dataset: { ...data, suppressed: '1' } }, `n<${minCohort}`, h('span', { className: 'vh', text: ' (not shown: a small cohort)' }));
  }
  const b = band(cell.gap);
  const body = [
    h('span', { className: 'sym', 'aria-hidden': 'true', text: b.sym }),
    h('span', { className: 'p', text: pct(cell.p_expected) }),
    h('span', { className: 'gap', text: points(cell.gap) }),
    h('span', { className: 'n', text: `n=${cell.n}` }),
    h('span', { className: 'vh', text: ` (${b.text}${sig ? '; significantly below: a priority' : ''})` }),
    sig ? h('span', { className: 'sig', 'aria-hidden': 'true', title: 'significantly below the benchmark', text: '!' }) : null,
  ];
  return h('td', { className: `cell ${b.cls}${sig ? ' is-sig' : ''}`, dataset: { ...data, p: cell.p_expected, gap: cell.gap ?? '' } },
    href ? h('a', { href, tabindex: '-1' }, body) : body);
}

// complements: the trust withholds, besides the small cohorts, the cells that would let one be
// worked out (GET /v1/priorities/thresholds, complementary_suppression).
export function legend(minCohort, complements = false) {
  return h('ul', { className: 'legend', 'aria-label': 'Key' },
    [...BANDS, band(null)].map((b) => h('li', { className: `cell ${b.cls}` }, h('span', { className: 'sym', 'aria-hidden': 'true', text: b.sym }), ` ${b.text}`)),
    h('li', { className: 'cell is-sig' }, h('span', { className: 'sig', 'aria-hidden': 'true', text: '!' }), ' significantly below (a priority)'),
    h('li', { className: 'suppressed', text: complements
      ? `n<${minCohort}: not shown — fewer than ${minCohort} pupils, or a cell that would let such a group be worked out`
      : `n<${minCohort}: fewer than ${minCohort} pupils, not shown` }));
}

export async function heatmap({ query, ctx, go }) {
  const { year, term } = ctx;
  const group = GROUPS.includes(query.get('group')) ? query.get('group') : 'all';
  const q = `year=${year}&term=${term}`;
  const [summary, prio] = await Promise.all([
    api.get(`/v1/progress/summary?${q}&by=school`),
    api.get(`/v1/priorities?${q}`),
  ]);
  const cells = summary.cells.filter((c) => c.year_group === 'all' && c.group === group);
  const subjects = SUBJECTS.filter((s) => cells.some((c) => c.subject === s));
  const sig = new Set(prio.items.filter((p) => p.kind === 'attainment' && p.level === 'school' && p.group === group)
    .flatMap((p) => p.schools.map((u) => `${u}|${p.subject}`)));
  const rows = [null, ...[...new Set(cells.map((c) => c.school).filter(Boolean))].sort((a, b) => ctx.name(a).localeCompare(ctx.name(b)))];
  const at = new Map(cells.map((c) => [`${c.school}|${c.subject}`, c]));
  const groupSel = h('select', { id: 'group-pick', onchange: () => go('heatmap', [], { year, term, group: groupSel.value }) },
    GROUPS.map((g) => h('option', { value: g, selected: g === group }, label(g))));
  const body = rows.map((urn) => h('tr', { dataset: { urn: urn || 'trust' } },
    h('th', { scope: 'row' }, urn ? h('a', { href: `#/school/${urn}?year=${year}&term=${term}`, text: ctx.name(urn) }) : 'Trust (all pupils pooled)'),
    subjects.map((s) => figureCell(at.get(`${urn}|${s}`), ctx.minCohort, urn && sig.has(`${urn}|${s}`),
      urn ? `#/school/${urn}?year=${year}&term=${term}` : null))));
  return {
    title: 'Heat map',
    node: [
      h('h1', { text: `Heat map: % at expected or above, ${termLabel(ctx)}` }),
      h('div', { className: 'controls' }, termPicker(ctx, (t) => go('heatmap', [], { ...t, group })),
        h('p', { className: 'picker' }, h('label', { for: 'group-pick', text: 'Pupil group ' }), groupSel)),
      legend(ctx.minCohort, ctx.complements),
      h('div', { className: 'scroll' }, h('table', { className: 'heat', id: 'heatmap' },
        h('caption', { text: `${label(group)} pupils, all year groups. Each cell: % at expected+, difference from the benchmark, cohort size.` }),
        h('thead', {}, h('tr', {}, h('th', { scope: 'col', text: 'School' }), subjects.map((s) => h('th', { scope: 'col' }, s === 'gps' ? h('abbr', { title: label(s), text: 'GPS' }) : label(s))))),
        h('tbody', {}, body))),
      note('Figures are those of GET /v1/progress/summary; “significantly below” marks the school-level attainment priorities of GET /v1/priorities.'),
    ],
  };
}
