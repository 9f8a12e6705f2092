// The app's shell: sign-in, the header and its navigation, and the hash router. Every
// page is a URL (#/heatmap?year=2025-26&term=spring&group=all) that can be bookmarked.
import * as api from './api.js';
import { h } from './dom.js';
import { context } from './context.js';
import { heatmap } from './heatmap.js';
import { trends } from './trends.js';
import { school, schools } from './school.js';
import { monitoring } from './monitoring.js';
import { rota } from './rota.js';
import { report, trustReport } from './report.js';
import { briefing } from './briefing.js';

const TRUST_ROLES = ['admin', 'ceo', 'executive_head'];

const pages = {
  briefing: { title: 'Briefing', render: briefing, who: TRUST_ROLES },
  heatmap: { title: 'Heat map', render: heatmap, who: TRUST_ROLES },
  trends: { title: 'Trends', render: trends, who: TRUST_ROLES },
  schools: { title: 'Schools', render: schools },
  school: { title: 'School', render: school, hidden: true },
  monitoring: { title: 'Monitoring', render: monitoring },
  rota: { title: 'Rota', render: rota },
  report: { title: 'Governors’ report', render: (a) => (a.args[0] === 'trust' ? trustReport(a) : report(a)), hidden: true },
};

function parse() {
  const raw = location.hash.replace(/^#\/?/, '');
  const [path, query] = raw.split('?');
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  return { name: parts[0] || '', args: parts.slice(1), query: new URLSearchParams(query || '') };
}

export function go(name, args = [], query = {}) {
  const q = new URLSearchParams(Object.entries(query).filter(([, v]) => v !== '' && v != null));
  const hash = `#/${[name, ...args].map(encodeURIComponent).join('/')}${q.toString() ? `?${q}` : ''}`;
  if (location.hash === hash) route();
  else {
    // Not ready from here until the new hash's page is drawn: the hashchange event (and so
    // route()) comes a turn later, and until then the old page's marker would still stand.
    document.getElementById('main').dataset.ready = '';
    location.hash = hash;
  }
}

function header(sess, active) {
  const top = document.getElementById('top');
  top.replaceChildren();
  if (!sess) {
    top.append(h('p', { className: 'brand', text: 'matd' }));
    return;
  }
  const role = sess.principal.role;
  const links = Object.entries(pages)
    .filter(([, p]) => !p.hidden && (!p.who || p.who.includes(role)))
    .map(([name, p]) => h('li', {}, h('a', { href: `#/${name}`, 'aria-current': name === active ? 'page' : null, text: p.title })));
  top.append(
    h('p', { className: 'brand' }, h('a', { href: '#/' }, sess.trust)),
    h('nav', { 'aria-label': 'Pages' }, h('ul', {}, links)),
    h('p', { className: 'who' },
      h('span', { text: `${sess.principal.name} (${role.replace('_', ' ')})` }), ' ',
      h('button', { type: 'button', id: 'signout', onclick: async () => { await api.signOut(); go('signin'); } }, 'Sign out')));
}

function signInPage(main, reason) {
  const input = h('input', { id: 'token', name: 'token', type: 'password', autocomplete: 'off', required: true, spellcheck: 'false', 'aria-describedby': 'token-help' });
  const status = h('p', { id: 'signin-status', role: 'alert', className: 'error' }, reason || '');
  const form = h('form', { className: 'signin', onsubmit: async (e) => {
    e.preventDefault();
    const token = input.value.trim();
    input.value = '';
    try {
      await api.signIn(token);
      go('');
    } catch (err) {
      status.textContent = err.status === 401 ? 'That token is not valid, or has expired or been revoked.' : err.message;
      input.focus();
    }
  } },
  h('h1', { text: 'Sign in' }),
  h('label', { for: 'token', text: 'Your matd token' }),
  input,
  h('p', { id: 'token-help', className: 'note', text: 'Paste it once: it becomes a session for this browser (up to 8 hours). The token itself is not kept by the page.' }),
  h('button', { type: 'submit' }, 'Sign in'),
  status);
  main.replaceChildren(form);
  input.focus();
}

let rendering = 0;

async function route() {
  const main = document.getElementById('main');
  const { name, args, query } = parse();
  const ticket = ++rendering;
  main.dataset.ready = '';
  let sess = api.current() || (await api.resume());
  if (!sess || name === 'signin') {
    header(null);
    document.title = 'Sign in — matd';
    signInPage(main, sess ? '' : query.get('expired') ? 'Your session has ended; sign in again.' : '');
    main.dataset.ready = 'signin';
    performance.mark('matd:ready:signin');
    if (sess && name === 'signin') go('');
    return;
  }
  const role = sess.principal.role;
  if (!pages[name] || (pages[name].who && !pages[name].who.includes(role))) {
    const home = role === 'school' ? ['school', [sess.principal.schools[0]]] : ['briefing', []];
    go(home[0], home[1]);
    return;
  }
  header(sess, name);
  main.replaceChildren(h('p', { className: 'loading', role: 'status', text: 'Loading…' }));
  main.setAttribute('aria-busy', 'true');
  try {
    const ctx = await context(query);
    const view = await pages[name].render({ args, query, ctx, sess, go });
    if (ticket !== rendering) return;
    document.title = `${view.title} — ${sess.trust}`;
    main.replaceChildren(...[view.node].flat());
  } catch (err) {
    if (ticket !== rendering) return;
    if (err.status === 401) {
      go('signin', [], { expired: 1 });
      return;
    }
    document.title = `Error — ${sess.trust}`;
    main.replaceChildren(h('h1', { text: 'This page could not be shown' }), h('p', { className: 'error', role: 'alert', text: err.message }));
  } finally {
    if (ticket === rendering) {
      main.removeAttribute('aria-busy');
      main.dataset.ready = name;
      performance.mark(`matd:ready:${name}`); // bench/webapp.mjs reads it
    }
  }
}

// The skip link moves focus without touching the URL (the hash is the router's).
document.querySelector('.skip').addEventListener('click', (e) => {
  e.preventDefault();
  document.getElementById('main').focus();
});

window.addEventListener('hashchange', () => {
  route().then(() => document.getElementById('main').focus({ preventScroll: true }));
});
route();
