// What every page needs to know first: the schools in the caller's scope, the terms that
// hold progress data, the chosen year and term (the URL's, else the latest held) and the
// trust's smallest reportable cohort.
import * as api from './api.js';
import { h } from './dom.js';

const TERMS = ['autumn', 'spring', 'summer'];

export function termKey(t) {
  return `${t.year}:${TERMS.indexOf(t.term)}`;
}

export function termLabel(t) {
  return `${t.term[0].toUpperCase()}${t.term.slice(1)} ${t.year}`;
}

// The same term a year earlier ("2025-26" -> "2024-25").
export function lastYear(year) {
  const a = Number(year.slice(0, 4)) - 1;
  return `${a}-${String((a + 1) % 100).padStart(2, '0')}`;
}

export async function context(query) {
  const [schools, subs, thresholds] = await Promise.all([
    api.all('/v1/schools'),
    api.all('/v1/submissions?kind=progress'),
    api.get('/v1/priorities/thresholds'),
  ]);
  const held = new Map();
  for (const s of subs) if (s.outcome === 'accepted' && s.year && s.term) held.set(termKey(s), { year: s.year, term: s.term });
  const terms = [...held.values()].sort((a, b) => termKey(a).localeCompare(termKey(b)));
  const latest = terms[terms.length - 1] || { year: '2025-26', term: 'autumn' };
  const year = /^\d{4}-\d{2}$/.test(query.get('year') || '') ? query.get('year') : latest.year;
  const term = TERMS.includes(query.get('term')) ? query.get('term') : latest.term;
  return {
    schools: new Map(schools.map((s) => [s.urn, s])),
    terms,
    year,
    term,
    minCohort: thresholds.min_cohort,
    complements: thresholds.complementary_suppression === true,
    name(urn) {
      const s = this.schools.get(urn);
      return s ? s.name : `School ${urn}`;
    },
  };
}

// The year and term chooser every termly page carries; choosing reloads the page's URL.
export function termPicker(ctx, onChange) {
  const sel = h('select', { id: 'term-pick', onchange: () => {
    const [year, term] = sel.value.split('|');
    onChange({ year, term });
  } }, ctx.terms.map((t) => h('option', { value: `${t.year}|${t.term}`, selected: t.year === ctx.year && t.term === ctx.term }, termLabel(t))));
  return h('p', { className: 'picker' }, h('label', { for: 'term-pick', text: 'Term ' }), sel);
}
