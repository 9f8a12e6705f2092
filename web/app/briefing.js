// The briefing (SPEC §6.5): the CEO's first screen for a year and term, from
// GET /v1/briefing as it is: headline figures, the priorities in the API's order with
// their rationale (filterable here by level, kind, subject and school), the schools of
// concern, monitoring counts and this term's triads with their reviews.
import * as api from './api.js';
import { h, pct, points, label, table, section, note } from './dom.js';
import { termPicker, termLabel } from './context.js';

// Saves the API's CSV of the priorities (GET /v1/briefing, Accept: text/csv). A link
// cannot ask for a media type, so the page fetches it and saves it through a Blob URL
// (a download, which the CSP does not restrict; nothing leaves the origin).
async function downloadCsv(year, term, status) {
  status.textContent = '';
  try {
    const url = URL.createObjectURL(await api.csv(`/v1/briefing?year=${year}&term=${term}`));
    const a = h('a', { href: url, download: `briefing-${year}-${term}-priorities.csv`, hidden: true });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
    status.textContent = 'The priorities were saved as CSV.';
  } catch (e) {
    status.textContent = `The CSV could not be downloaded: ${e.message}`;
  }
}

export async function briefing({ query, ctx, go }) {
  const { year, term } = ctx;
  const b = await api.get(`/v1/briefing?year=${year}&term=${term}`);
  const f = { level: query.get('level') || '', kind: query.get('kind') || '', subject: query.get('subject') || '', school: query.get('school') || '' };
  const shown = b.priorities.filter((p) => (!f.level || p.level === f.level) && (!f.kind || p.kind === f.kind)
    && (!f.subject || (p.subject || p.area) === f.subject) && (!f.school || (p.schools || []).includes(f.school)));
  const apply = () => go('briefing', [], { year, term, ...Object.fromEntries(Object.entries(sels).map(([k, s]) => [k, s.value])) });
  const options = (key, values, name) => h('select', { id: `b-${key}`, onchange: apply }, h('option', { value: '' }, `Any ${key}`),
    [...new Set(values)].filter(Boolean).sort().map((v) => h('option', { value: v, selected: v === f[key] }, name ? name(v) : label(v))));
  const sels = {
    level: options('level', b.priorities.map((p) => p.level)),
    kind: options('kind', b.priorities.map((p) => p.kind)),
    subject: options('subject', b.priorities.map((p) => p.subject || p.area)),
    school: options('school', b.priorities.flatMap((p) => p.schools || []), (u) => ctx.name(u)),
  };
  const headline = b.headline.map((x) => h('tr', { dataset: { subject: x.subject, p: x.p, b: x.b ?? '', change: x.change ?? '' } },
    h('th', { scope: 'row', text: label(x.subject) }), h('td', { className: 'num', text: pct(x.p) }), h('td', { className: 'num', text: pct(x.b) }),
    h('td', { className: 'num', text: points(x.vs_national) }), h('td', { className: 'num', text: points(x.change) }), h('td', { className: 'num', text: x.n })));
  const prios = shown.map((p) => h('li', { dataset: { id: p.id } },
    h('p', { className: 'tags' }, [p.level, p.kind, p.subject || p.area, p.group && p.group !== 'all' ? p.group : null].filter(Boolean).map((t) => h('span', { className: 'tag', text: label(t) }))),
    h('p', { className: 'rationale', text: p.rationale })));
  const concern = b.schools_of_concern.map((s) => h('li', { dataset: { urn: s.urn } },
    h('p', {}, h('a', { href: `#/school/${s.urn}?year=${year}&term=${term}`, text: s.name || ctx.name(s.urn) }),
      s.category ? h('span', { className: 'tag concern', text: 'Causing concern (category)' }) : null,
      s.overdue ? h('span', { className: 'tag', text: `${s.overdue} overdue milestone${s.overdue === 1 ? '' : 's'}` }) : null),
    h('ul', {}, (s.reasons || []).map((r) => h('li', { text: r })))));
  const triads = b.triads.map((t) => h('tr', { dataset: { triad: t.triad } }, h('th', { scope: 'row', text: `Triad ${t.triad}` }),
    h('td', { text: ctx.name(t.host) }), h('td', { text: t.members.filter((m) => m !== t.host).map((m) => ctx.name(m)).join(', ') }),
    h('td', { className: `review ${t.review}`, text: label(t.review) })));
  const csvStatus = h('span', { role: 'status', id: 'b-csv-status' });
  const csv = h('p', {}, h('button', { type: 'button', id: 'b-csv', onclick: () => downloadCsv(year, term, csvStatus) }, 'Download the priorities (CSV)'), ' ', csvStatus);
  return {
    title: `Briefing, ${termLabel(ctx)}`,
    node: [
      h('h1', { text: `Briefing, ${termLabel(ctx)}` }),
      h('div', { className: 'controls' }, termPicker(ctx, (t) => go('briefing', [], t)),
        h('p', {}, h('a', { href: `#/report/trust?year=${year}&term=${term}`, text: `Trust report for ${termLabel(ctx)} (printable)` }))),
      section('Headline: % at expected or above', table(null, ['Subject', 'Trust', 'National', 'Against national', 'Change since last year', 'Pupils'], headline, { id: 'headline' })),
      h('ul', { className: 'counts', id: 'b-monitoring', 'aria-label': 'Monitoring' },
        h('li', {}, h('strong', { text: b.monitoring.overdue }), ' overdue'),
        h('li', {}, h('strong', { text: b.monitoring.due_this_term }), ' due this term'),
        h('li', {}, h('strong', { text: b.monitoring.at_risk }), ' at risk'),
        h('li', {}, h('a', { href: '#/monitoring?overdue=1', text: 'See monitoring' }))),
      section('Priorities',
        h('form', { className: 'controls filters', onsubmit: (e) => e.preventDefault() }, Object.entries(sels).map(([k, s]) => h('p', { className: 'picker' }, h('label', { for: `b-${k}`, text: `${label(k)} ` }), s))),
        csv,
        shown.length ? h('ol', { className: 'priorities', id: 'b-priorities' }, prios) : note('No priority matches these filters.')),
      section('Schools causing concern', concern.length ? h('ol', { className: 'concern', id: 'b-concern' }, concern) : note('None.')),
      section(`Triads this term`, triads.length ? table(null, ['Triad', 'Host', 'Reviewers', 'Review'], triads, { id: 'b-triads' }) : note('No published triads this term.')),
    ],
  };
}
