// The head's termly report to governors for one school: attainment against national and
// last year by subject and group, the SIP's progress, SEF grades, the triad review's
// findings and actions, support given and received. Printable (app.css @media print);
// `matctl report` prints it to PDF.
import * as api from './api.js';
import { h, pct, points, label, table, section, note } from './dom.js';
import { termLabel, lastYear } from './context.js';
import { SUBJECTS, isSuppressed } from './heatmap.js';
import { rag, ragBadge, sefTable, deployed, roleName } from './school.js';

const GROUPS = ['all', 'disadvantaged', 'not_disadvantaged', 'send', 'eal', 'girls', 'boys'];

function attainment(cur, prev, minCohort) {
  if (!cur) return note('No progress data for this term.');
  const pick = (sm, sub, g) => sm && sm.cells.find((c) => c.subject === sub && c.group === g && c.year_group === 'all');
  const rows = [];
  for (const sub of SUBJECTS.filter((x) => pick(cur, x, 'all'))) {
    for (const g of GROUPS) {
      const c = pick(cur, sub, g);
      if (!c) continue;
      const small = isSuppressed(c, minCohort);
      const p = pick(prev, sub, g);
      rows.push(h('tr', { dataset: { subject: sub, group: g, p: small ? '' : c.p_expected } },
        h('th', { scope: 'row', text: g === 'all' ? label(sub) : '' }), h('td', { text: label(g) }), h('td', { text: c.n }),
        h('td', { text: small ? `n<${minCohort}` : pct(c.p_expected) }), h('td', { text: pct(c.benchmark) }),
        h('td', { text: small ? '' : points(c.gap) }), h('td', { text: p && p.n >= minCohort ? pct(p.p_expected) : '—' })));
    }
  }
  return table('% of pupils at the expected standard or above', ['Subject', 'Group', 'Pupils', 'This term', 'National', 'Difference', 'A year ago'], rows, { id: 'report-attainment' });
}

async function review(urn, year, term) {
  const triads = await api.all(`/v1/schools/${urn}/triads`);
  const t = triads.find((x) => x.year === year && x.term === term && x.host === urn);
  if (!t) return { triad: null, review: null };
  return { triad: t, review: await api.maybe(`/v1/rotas/${t.rota_id}/triads/${t.triad}/reviews/${urn}`) };
}

// The experts deployed to the school, under support received: the plan's sentences for the
// trust's roles, the experts' names and roles for the school's own token.
function expertsReceived(d) {
  if (d.error) return note(`Experts deployed: the deployment plan could not be read (${d.error}).`);
  const items = d.experts ? d.experts.map((e) => h('li', { dataset: { expert: e.id }, text: `${e.name} (${roleName(e.role)})` }))
    : d.assignments.map((a) => h('li', { dataset: { expert: a.expert_id, priority: a.priority_id }, text: a.sentence }));
  return items.length ? h('div', {}, h('p', { text: d.experts ? 'Experts deployed to the school by the trust:' : `Experts deployed to the school this term${d.plan.published_at ? '' : ' (proposed; no plan published yet)'}:` }),
    h('ul', { id: 'report-experts' }, items)) : h('p', { text: `Experts deployed: none${d.experts ? '' : ' this term'}.` });
}

export async function report({ args, ctx, sess }) {
  const urn = args[0];
  const { year, term } = ctx;
  const q = `year=${year}&term=${term}`;
  const trustWide = sess.principal.role !== 'school';
  const [info, sef, sip, cur, prev, prio, mon, rv, support, experts] = await Promise.all([
    api.get(`/v1/schools/${urn}`),
    api.maybe(`/v1/schools/${urn}/sef/${year}`),
    api.maybe(`/v1/schools/${urn}/sip/${year}`),
    api.maybe(`/v1/schools/${urn}/progress/${year}/${term}/summary`),
    api.maybe(`/v1/schools/${urn}/progress/${lastYear(year)}/${term}/summary`),
    api.get(`/v1/schools/${urn}/priorities?${q}`),
    api.all(`/v1/monitoring?school=${urn}&year=${year}`),
    review(urn, year, term),
    trustWide ? api.get(`/v1/support?${q}`) : Promise.resolve({ items: [] }),
    deployed(urn, year, term, !trustWide),
  ]);
  const overdue = new Set(mon.filter((m) => m.overdue && m.source === 'milestone').map((m) => m.ref));
  const milestones = mon.filter((m) => m.source === 'milestone');
  const count = (f) => milestones.filter(f).length;
  const sipRows = (sip?.document.priorities || []).map((p) => h('tr', {}, h('th', { scope: 'row', text: `${p.ref} ${p.title}` }), h('td', {}, ragBadge(rag(p, overdue)))));
  const received = prio.items.filter((p) => p.level === 'school' && p.schools.includes(urn) && p.support?.length);
  const given = support.items.filter((m) => (m.givers || []).some((g) => g.urn === urn));
  const findings = rv.review ? Object.entries(rv.review.report?.findings || {}) : [];
  const actions = rv.review ? rv.review.report?.actions || [] : [];
  return {
    title: `Governors’ report: ${info.name}`,
    node: h('article', { className: 'report' },
      h('p', { className: 'no-print' }, h('button', { type: 'button', onclick: () => window.print() }, 'Print or save as PDF')),
      h('h1', { text: `${info.name}: report to governors, ${termLabel(ctx)}` }),
      h('p', { className: 'meta', text: `URN ${info.urn} · ${label(info.phase)} · ${info.pupils_on_roll ?? '—'} pupils on roll · from matd, ${new Date().toISOString().slice(0, 10)}` }),
      section('Attainment', attainment(cur, prev, trustWide ? ctx.minCohort : 0)),
      section('School improvement plan',
        h('p', { id: 'report-milestones', text: `Milestones: ${count((m) => m.status === 'complete')} complete, ${count((m) => m.status === 'on_track')} on track, ${count((m) => m.status === 'at_risk')} at risk, ${count((m) => m.status === 'off_track')} off track; ${count((m) => m.overdue)} overdue.` }),
        sipRows.length ? table(null, ['Priority', 'Status'], sipRows) : note('No SIP for this year.')),
      section('Self-evaluation', sefTable(sef)),
      section('Triad review', !rv.triad ? note('This school does not host a triad review this term.')
        : !rv.review ? note(`Triad ${rv.triad.triad} reviews this school this term; the report is not in yet.`)
          : h('div', {}, table('Findings', ['Area', 'Finding'], findings.map(([a, f]) => h('tr', {}, h('th', { scope: 'row', text: label(a) }), h('td', { text: typeof f === 'string' ? f : [f.grade && label(f.grade), f.narrative].filter(Boolean).join(': ') })))),
            table('Agreed actions', ['Ref', 'Action', 'Owner', 'Due', 'Status'], actions.map((a) => h('tr', {}, [a.ref, a.action, a.owner, a.due, label(a.status)].map((x) => h('td', { text: x ?? '' }))))))),
      section('Support',
        h('p', { text: received.length ? `Received: ${received.map((p) => `${label(p.subject || p.area)}${p.group && p.group !== 'all' ? `, ${label(p.group)}` : ''} (${label(p.kind)}): ${trustWide ? p.support.map((g) => g.name).join(', ') : `${p.support.length} partner school(s)`}`).join('; ')}.` : 'Received: none matched this term.' }),
        expertsReceived(experts),
        trustWide ? h('p', { text: given.length ? `Given: ${given.map((m) => `${label(m.subject || m.area)} to ${ctx.name(m.receiver)}`).join('; ')}.` : 'Given: none matched this term.' }) : null)),
  };
}

// The CEO's (or an executive head's) termly report for the trust: the briefing's headline,
// each school's figures, the priorities with their reasons, schools of concern, monitoring
// and this term's reviews, printable like a school's report.
export async function trustReport({ ctx }) {
  const { year, term } = ctx;
  const [b, summary] = await Promise.all([
    api.get(`/v1/briefing?year=${year}&term=${term}`),
    api.get(`/v1/progress/summary?year=${year}&term=${term}&by=school`),
  ]);
  const subjects = SUBJECTS.filter((s) => summary.cells.some((c) => c.subject === s));
  const cell = (urn, s) => summary.cells.find((c) => c.school === urn && c.subject === s && c.group === 'all' && c.year_group === 'all');
  const urns = [...new Set(summary.cells.map((c) => c.school).filter(Boolean))].sort((x, y) => ctx.name(x).localeCompare(ctx.name(y)));
  const schoolRows = urns.map((u) => h('tr', { dataset: { urn: u } }, h('th', { scope: 'row', text: ctx.name(u) }),
    subjects.map((s) => { const c = cell(u, s); return h('td', { className: 'num', dataset: { p: c && !isSuppressed(c, ctx.minCohort) ? c.p_expected : '' }, text: !c ? '—' : isSuppressed(c, ctx.minCohort) ? `n<${ctx.minCohort}` : pct(c.p_expected) }); })));
  return {
    title: `Trust report, ${termLabel(ctx)}`,
    node: h('article', { className: 'report' },
      h('p', { className: 'no-print' }, h('button', { type: 'button', onclick: () => window.print() }, 'Print or save as PDF')),
      h('h1', { text: `Trust report, ${termLabel(ctx)}` }),
      h('p', { className: 'meta', text: `${urns.length} schools · from matd, ${new Date().toISOString().slice(0, 10)}` }),
      section('Headline', table('% of pupils at the expected standard or above', ['Subject', 'Trust', 'National', 'Against national', 'Change since last year', 'Pupils'],
        b.headline.map((x) => h('tr', { dataset: { subject: x.subject, p: x.p } }, h('th', { scope: 'row', text: label(x.subject) }),
          [pct(x.p), pct(x.b), points(x.vs_national), points(x.change), x.n].map((v) => h('td', { className: 'num', text: v })))), { id: 'trust-headline' })),
      section('Schools', table('% at expected or above, all pupils', ['School', ...subjects.map(label)], schoolRows, { id: 'trust-schools' })),
      section('Priorities', h('ol', {}, b.priorities.map((p) => h('li', { text: p.rationale })))),
      section('Schools causing concern', b.schools_of_concern.length ? h('ol', {}, b.schools_of_concern.map((s) => h('li', {}, h('strong', { text: s.name || ctx.name(s.urn) }), s.category ? ' (category)' : '', `: ${(s.reasons || []).join(' ')}`))) : note('None.')),
      section('Monitoring', h('p', { text: `${b.monitoring.overdue} overdue, ${b.monitoring.due_this_term} due this term, ${b.monitoring.at_risk} at risk.` })),
      section('Triad reviews this term', b.triads.length ? table(null, ['Triad', 'Host', 'Review'], b.triads.map((t) => h('tr', {}, [`Triad ${t.triad}`, ctx.name(t.host), label(t.review)].map((v) => h('td', { text: v }))))) : note('No published triads this term.'))),
  };
}
