// The schools in scope, and one school's page: SEF grades, SIP priorities with a RAG
// from their milestones and success criteria, progress cells this term and a year ago,
// stuck pupils, support, and its triads. A school's own token sees nothing of another
// school but the URNs of its triad partners.
import * as api from './api.js';
import { h, pct, points, label, table, section, note } from './dom.js';
import { termPicker, termLabel, lastYear } from './context.js';
import { SUBJECTS, figureCell } from './heatmap.js';

export async function schools({ ctx }) {
  const rows = [...ctx.schools.values()].sort((a, b) => a.name.localeCompare(b.name)).map((s) => h('tr', {},
    h('th', { scope: 'row' }, h('a', { href: `#/school/${s.urn}`, text: s.name })),
    h('td', { text: s.urn }), h('td', { text: label(s.phase) }), h('td', { text: s.pupils_on_roll ?? '—' }),
    h('td', { text: s.category ? 'Yes' : 'No' }),
    h('td', {}, h('a', { href: `#/report/${s.urn}?year=${ctx.year}&term=${ctx.term}`, text: 'Governors’ report' }))));
  return {
    title: 'Schools',
    node: [h('h1', { text: 'Schools' }),
      table(null, ['School', 'URN', 'Phase', 'Pupils on roll', 'Causing concern', 'Report'], rows, { id: 'schools' })],
  };
}

// Red when a milestone is off track or overdue, amber when one is at risk, else green.
export function rag(priority, overdue) {
  const ms = priority.milestones || [];
  const sc = priority.success_criteria || [];
  if (ms.some((m) => m.status === 'off_track' || overdue.has(m.ref)) || sc.some((c) => c.status === 'not_met')) return 'red';
  if (ms.some((m) => m.status === 'at_risk')) return 'amber';
  return 'green';
}

export function ragBadge(r) {
  const text = { red: 'Red: off track or overdue', amber: 'Amber: at risk', green: 'Green: on track' }[r];
  return h('span', { className: `rag ${r}` }, h('span', { 'aria-hidden': 'true', text: { red: '■ ', amber: '▲ ', green: '● ' }[r] }), text);
}

export function sefTable(sef) {
  if (!sef) return note('No SEF for this year yet.');
  const areas = Object.entries(sef.document.areas || {});
  return h('div', {},
    h('p', { text: `Framework ${sef.document.framework}, version ${sef.version}, received ${sef.received_at.slice(0, 10)}.` }),
    table(null, ['Area', 'Grade'], areas.map(([a, v]) => h('tr', {}, h('th', { scope: 'row', text: label(a) }), h('td', { className: 'grade', text: label(v.grade || 'not graded') }))), { id: 'sef' }));
}

export function progressTable(cur, prev, minCohort, groups) {
  if (!cur) return note('No progress data for this term.');
  const pick = (sm, sub, g) => sm && sm.cells.find((c) => c.subject === sub && c.group === g && c.year_group === 'all');
  const subjects = SUBJECTS.filter((sub) => pick(cur, sub, 'all'));
  const rows = subjects.map((sub) => h('tr', { dataset: { subject: sub } }, h('th', { scope: 'row', text: label(sub) }),
    groups.map((g) => figureCell(pick(cur, sub, g) ? { ...pick(cur, sub, g), school: cur.school } : null, minCohort, false, null)),
    h('td', { className: 'last', dataset: { p: pick(prev, sub, 'all')?.p_expected ?? '' }, text: pct(pick(prev, sub, 'all')?.p_expected) })));
  return table(null, ['Subject', ...groups.map(label), 'All, a year ago'], rows, { id: 'progress', className: 'heat' });
}

const ROLES = { sle: 'Specialist leader of education', lle: 'Local leader of education', nle: 'National leader of education', moderator: 'Moderator', subject_lead: 'Subject lead', phase_lead: 'Phase lead', senco: 'SENCo' };
export const roleName = (r) => ROLES[r] || label(r);

// The experts deployed to a school (SPEC §6.7). Trust roles read the term's plan
// (GET /v1/deployments: each assignment with the priority it serves, the API's sentence,
// and whether it is kept from the published plan). A school may not read the plan; it
// reads only the experts the trust's published deployments send to it (GET /v1/experts).
export async function deployed(urn, year, term, isSchool) {
  try {
    if (isSchool) return { experts: await api.all('/v1/experts') };
    const plan = await api.get(`/v1/deployments?year=${year}&term=${term}`);
    return { plan, assignments: plan.assignments.filter((a) => a.urn === urn) };
  } catch (e) {
    return { error: e.message };
  }
}

export function servedLabel(a) {
  return `${label(a.subject || a.area)}${a.group && a.group !== 'all' ? `, ${label(a.group)} pupils` : ''} (${label(a.kind)})`;
}

export function deployedView(d) {
  if (d.error) return note(`The deployment plan could not be read: ${d.error}`);
  if (d.experts) {
    return d.experts.length ? [h('ul', { id: 'experts' }, d.experts.map((e) => h('li', { dataset: { expert: e.id } },
      h('strong', { text: e.name }), ` (${roleName(e.role)}): ${[...e.expertise.subjects, ...e.expertise.sef_areas].map(label).join(', ') || 'no listed expertise'}.`))),
    note('Experts the trust’s published deployments send to this school; the trust’s plan names the priority each serves.')]
      : note('No expert has been deployed to this school.');
  }
  const status = (a) => (d.plan.published_at ? (a.kept ? 'Published' : 'Proposed (not in the published plan)') : 'Proposed (no plan published this term)');
  const rows = d.assignments.map((a) => h('tr', { dataset: { expert: a.expert_id, priority: a.priority_id } },
    h('th', { scope: 'row' }, a.expert_name, h('br'), h('span', { className: 'meta', text: roleName(a.role) })),
    h('td', { text: servedLabel(a) }), h('td', { text: status(a) }), h('td', { className: 'sentence', text: a.sentence })));
  return rows.length ? table(null, ['Expert', 'Priority served', 'Status', 'Why this expert'], rows, { id: 'experts' })
    : note('No expert is deployed to this school this term.');
}

export async function school({ args, ctx, sess, go }) {
  const urn = args[0];
  const { year, term } = ctx;
  const q = `year=${year}&term=${term}`;
  const isSchool = sess.principal.role === 'school';
  const [info, sef, sip, cur, prev, prio, triads, mon, experts] = await Promise.all([
    api.get(`/v1/schools/${urn}`),
    api.maybe(`/v1/schools/${urn}/sef/${year}`),
    api.maybe(`/v1/schools/${urn}/sip/${year}`),
    api.maybe(`/v1/schools/${urn}/progress/${year}/${term}/summary`),
    api.maybe(`/v1/schools/${urn}/progress/${lastYear(year)}/${term}/summary`),
    api.get(`/v1/schools/${urn}/priorities?${q}`),
    api.all(`/v1/schools/${urn}/triads`),
    api.all(`/v1/monitoring?school=${urn}&year=${year}`),
    deployed(urn, year, term, isSchool),
  ]);
  const own = prio.items.filter((p) => p.level === 'school' && p.schools.includes(urn));
  const overdue = new Set(mon.filter((m) => m.overdue && m.source === 'milestone').map((m) => m.ref));
  const sipRows = (sip?.document.priorities || []).map((p) => h('tr', { dataset: { ref: p.ref } },
    h('th', { scope: 'row', text: `${p.ref} ${p.title}` }), h('td', {}, ragBadge(rag(p, overdue))),
    h('td', { text: (p.milestones || []).map((m) => `${m.ref} ${label(m.status)}${overdue.has(m.ref) ? ' (overdue)' : ''}`).join('; ') }),
    h('td', { text: (p.success_criteria || []).map((c) => `${c.ref} ${label(c.status)}`).join('; ') })));
  const stuck = own.filter((p) => p.kind === 'stuck_pupils');
  const supportRows = own.filter((p) => p.support && p.support.length).map((p) => h('li', {},
    `${label(p.subject || p.area)} (${label(p.kind)}): `,
    isSchool ? `${p.support.length} school(s) of the trust are strong here; ask the trust to broker support.`
      : p.support.map((g) => `${g.name} (${g.reason})`).join('; ')));
  const triadRows = triads.map((t) => h('tr', {}, h('td', { text: termLabel(t) }), h('td', { text: `Triad ${t.triad}` }),
    h('td', { text: t.role === 'host' ? 'Host (reviewed)' : 'Reviewer' }),
    h('td', { text: t.members.filter((m) => m !== urn).map((m) => (isSchool ? m : ctx.name(m))).join(', ') })));
  return {
    title: info.name,
    node: [
      h('h1', { text: info.name }),
      h('p', { className: 'meta', text: `URN ${info.urn} · ${label(info.phase)} · ${info.pupils_on_roll ?? '—'} pupils on roll${info.category ? ' · causing concern' : ''}` }),
      h('div', { className: 'controls' }, termPicker(ctx, (t) => go('school', [urn], t)),
        h('p', {}, h('a', { href: `#/report/${urn}?${q}`, text: `Governors’ report for ${termLabel(ctx)}` }))),
      section('Progress: % at expected or above', progressTable(cur, prev, isSchool ? 0 : ctx.minCohort, ['all', 'disadvantaged', 'send', 'eal'])),
      section('Priorities this term', own.length ? h('ul', { id: 'school-priorities' }, own.map((p) => h('li', { text: p.rationale || `${label(p.kind)} ${label(p.subject || p.area)}` }))) : note('None.'),
        stuck.length ? h('p', { id: 'stuck', text: `Stuck pupils (below expected three terms running): ${stuck.map((p) => `${label(p.subject)} ${p.metrics.count}`).join(', ')}.` }) : null),
      section('SEF', sefTable(sef)),
      section('SIP priorities', sipRows.length ? table(null, ['Priority', 'Status', 'Milestones', 'Success criteria'], sipRows, { id: 'sip' }) : note('No SIP for this year yet.')),
      section('Support', supportRows.length ? h('ul', {}, supportRows) : note('No support matched this term.')),
      section('Experts deployed to this school', deployedView(experts)),
      section('Triads', triadRows.length ? table(null, ['Term', 'Triad', 'Role', 'With'], triadRows, { id: 'triads' }) : note('No triad assignments.')),
    ],
  };
}
