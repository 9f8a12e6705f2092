// Monitoring: the derived schedule of SIP milestones and success criteria, overdue first
// as the API orders it, filterable here; those allowed to (the school itself, an admin)
// change a status in place, which writes through the API with the session's CSRF token.
import * as api from './api.js';
import { h, label, note } from './dom.js';

const STATUSES = {
  milestone: ['not_started', 'on_track', 'at_risk', 'off_track', 'complete'],
  success_criterion: ['not_started', 'in_progress', 'not_met', 'partially_met', 'met'],
};

function canWrite(sess, urn) {
  const p = sess.principal;
  return p.role === 'admin' || (p.role === 'school' && p.schools.includes(urn));
}

function statusCell(item, sess, live) {
  if (!canWrite(sess, item.school)) return h('td', { className: 'status', text: label(item.status) });
  const id = `st-${item.school}-${item.source}-${item.ref}`;
  const sel = h('select', { id, 'aria-label': `Status of ${item.ref} (${item.school})`, onchange: async () => {
    const kind = item.source === 'milestone' ? 'milestones' : 'success-criteria';
    sel.disabled = true;
    try {
      const out = await api.send('PATCH', `/v1/schools/${item.school}/sip/${item.year}/${kind}/${encodeURIComponent(item.ref)}`, { status: sel.value });
      item.status = sel.value;
      live.textContent = `${item.ref} is now ${label(sel.value)}${out && out.version ? ` (SIP version ${out.version})` : ''}.`;
      sel.closest('tr').dataset.status = sel.value;
    } catch (e) {
      sel.value = item.status;
      live.textContent = `Not saved: ${e.message}`;
    } finally {
      sel.disabled = false;
    }
  } }, STATUSES[item.source].map((s) => h('option', { value: s, selected: s === item.status }, label(s))));
  return h('td', { className: 'status' }, sel);
}

export async function monitoring({ query, ctx, sess, go }) {
  const items = await api.all(`/v1/monitoring?year=${ctx.year}`);
  const f = { school: query.get('school') || '', status: query.get('status') || '', overdue: query.get('overdue') === '1' };
  const shown = items.filter((i) => (!f.school || i.school === f.school) && (!f.status || i.status === f.status) && (!f.overdue || i.overdue));
  const live = h('p', { className: 'live', role: 'status', 'aria-live': 'polite' });
  const apply = () => go('monitoring', [], { year: ctx.year, term: ctx.term, school: schoolSel.value, status: statusSel.value, overdue: overdueBox.checked ? '1' : '' });
  const urns = [...new Set(items.map((i) => i.school))].sort((a, b) => ctx.name(a).localeCompare(ctx.name(b)));
  const schoolSel = h('select', { id: 'f-school', onchange: apply }, h('option', { value: '' }, 'All schools'),
    urns.map((u) => h('option', { value: u, selected: u === f.school }, ctx.name(u))));
  const all = [...new Set(Object.values(STATUSES).flat())];
  const statusSel = h('select', { id: 'f-status', onchange: apply }, h('option', { value: '' }, 'Any status'),
    all.map((s) => h('option', { value: s, selected: s === f.status }, label(s))));
  const overdueBox = h('input', { type: 'checkbox', id: 'f-overdue', checked: f.overdue, onchange: apply });
  const rows = shown.map((i) => h('tr', { className: i.overdue ? 'overdue' : '', dataset: { school: i.school, ref: i.ref, status: i.status } },
    h('td', {}, h('a', { href: `#/school/${i.school}`, text: ctx.name(i.school) })),
    h('td', { text: `${i.ref} (${i.priority_ref})` }),
    h('td', { text: i.description }),
    h('td', { text: label(i.source) }),
    h('td', { text: i.due }),
    h('td', { text: i.overdue ? 'Overdue' : '' }),
    statusCell(i, sess, live)));
  return {
    title: 'Monitoring',
    node: [
      h('h1', { text: `Monitoring, ${ctx.year}` }),
      h('form', { className: 'controls filters', onsubmit: (e) => e.preventDefault() },
        h('p', { className: 'picker' }, h('label', { for: 'f-school', text: 'School ' }), schoolSel),
        h('p', { className: 'picker' }, h('label', { for: 'f-status', text: 'Status ' }), statusSel),
        h('p', { className: 'picker' }, overdueBox, h('label', { for: 'f-overdue', text: ' Overdue only' }))),
      live,
      h('p', { text: `${shown.length} of ${items.length} items, overdue first.` }),
      shown.length ? h('div', { className: 'scroll' }, h('table', { id: 'monitoring' },
        h('thead', {}, h('tr', {}, ['School', 'Ref', 'What', 'Kind', 'Due', 'Overdue', 'Status'].map((x) => h('th', { scope: 'col', text: x })))),
        h('tbody', {}, rows))) : note('Nothing matches.'),
    ],
  };
}
