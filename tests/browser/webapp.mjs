// The web app in real Chromium (Debian's, driven by playwright-core), run by
// tests/e2e/test_webapp.py against a real matd and PostgreSQL with the demo trust. Every
// figure a page shows is compared with what the API returns for the same token (read
// here directly over TLS); scopes, cookie flags, keyboard use, axe-core, the CSP and the
// absence of any request to another host are checked on the way.
import { createRequire } from 'node:module';
import { readFileSync, mkdirSync, writeFileSync, unlinkSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import https from 'node:https';
import crypto from 'node:crypto';
import path from 'node:path';
import os from 'node:os';

const require = createRequire(path.join(process.env.NODE_PATH || '.', 'x.js'));
const { chromium } = require('playwright-core');
const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

const BASE = new URL(process.env.MATD_URL);
const CA = readFileSync(process.env.MATD_CA);
const TOKENS = JSON.parse(process.env.MATD_TOKENS);
const SHOTS = process.env.MATD_SCREENSHOTS || '';
const started = Date.now();
let failures = 0;

function check(ok, what) {
  if (ok) console.log(`ok   ${what}`);
  else { failures++; console.log(`FAIL ${what}`); }
}
function equal(got, want, what) {
  const ok = JSON.stringify(got) === JSON.stringify(want);
  check(ok, ok ? what : `${what}: got ${JSON.stringify(got)?.slice(0, 300)}, want ${JSON.stringify(want)?.slice(0, 300)}`);
}

// The API, read directly with a bearer token: the oracle the pages are checked against.
function apiText(token, p, accept = 'application/json') {
  return new Promise((resolve, reject) => {
    https.get({ host: BASE.hostname, port: BASE.port, path: p, ca: CA, headers: { Authorization: `Bearer ${token}`, Accept: accept } }, (res) => {
      let body = '';
      res.on('data', (c) => { body += c; });
      res.on('end', () => (res.statusCode === 200 ? resolve({ body, type: res.headers['content-type'] }) : reject(new Error(`${p}: ${res.statusCode}`))));
    }).on('error', reject);
  });
}
async function api(token, p) {
  return JSON.parse((await apiText(token, p)).body);
}
const pct = (p) => (p === null || p === undefined ? '—' : `${(p * 100).toFixed(1)}%`);

// Chromium trusts exactly this server's key, not every certificate.
function spki() {
  const pem = readFileSync(path.join(path.dirname(process.env.MATD_CA), 'server.crt'));
  const der = new crypto.X509Certificate(pem).publicKey.export({ type: 'spki', format: 'der' });
  return crypto.createHash('sha256').update(der).digest('base64');
}

const browser = await chromium.launch({
  executablePath: process.env.MATD_CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
    '--disable-sync', '--no-first-run', `--ignore-certificate-errors-spki-list=${spki()}`],
});
const offHost = [];
const cspViolations = [];

async function newPage() {
  const context = await browser.newContext({ viewport: { width: 1366, height: 768 }, locale: 'en-GB' });
  const page = await context.newPage();
  page.on('request', (r) => {
    const u = new URL(r.url());
    if (!['data:', 'blob:'].includes(u.protocol) && u.host !== BASE.host) offHost.push(r.url());
  });
  page.on('console', (m) => { if (/Content Security Policy|Refused to/.test(m.text())) cspViolations.push(m.text()); });
  page.on('pageerror', (e) => { failures++; console.log(`FAIL page error: ${e.message}`); });
  return { context, page };
}

// Polls fn in the page (playwright's waitForFunction evaluates a string, which the app's
// CSP forbids - as it should).
async function until(page, fn, arg, what = 'a condition') {
  const end = Date.now() + 15000;
  for (;;) {
    if (await page.evaluate(fn, arg)) return;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function open(page, hash, ready) {
  await page.evaluate((h) => { location.hash = h; }, hash);
  await page.waitForSelector(`main[data-ready="${ready}"]`, { timeout: 15000 });
}

async function axe(page, what) {
  if (!(await page.evaluate(() => typeof window.axe !== 'undefined'))) {
    // The CSP forbids inline script: axe goes in through the DevTools protocol.
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Runtime.evaluate', { expression: AXE });
    await cdp.detach();
  }
  const res = await page.evaluate(async () => (await window.axe.run(document, { resultTypes: ['violations'] })).violations
    .filter((v) => ['serious', 'critical'].includes(v.impact)).map((v) => `${v.id}: ${v.nodes.slice(0, 2).map((n) => n.target.join(' ')).join(', ')}`));
  equal(res, [], `axe-core: no serious or critical violation on ${what}`);
}

async function shot(page, name) {
  if (!SHOTS) return;
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`) });
}

async function signIn(page, token) {
  await page.fill('#token', token);
  await page.click('form.signin button[type=submit]');
  await until(page, () => !['', 'signin'].includes(document.querySelector('main').dataset.ready), null, 'a page after sign-in');
}

// ---------------------------------------------------------------- sign in (CEO)
const ceo = TOKENS.ceo;
const { context, page } = await newPage();
const first = await page.goto(BASE.href);
const csp = first.headers()['content-security-policy'] || '';
check(csp.includes("default-src 'self'") && !csp.includes('unsafe-inline'), 'the page is served with a strict CSP');
await page.waitForSelector('main[data-ready="signin"]');
await axe(page, 'sign-in');
await shot(page, 'signin');
// Keyboard: the first Tab reaches the skip link; the token field has focus on arrival.
equal(await page.evaluate(() => document.activeElement.id), 'token', 'the token field has focus on arrival');
await signIn(page, ceo);
const cookies = await context.cookies();
const sc = cookies.find((c) => c.name === '__Host-matd_session');
check(sc && sc.httpOnly && sc.secure && sc.sameSite === 'Strict' && sc.expires > Date.now() / 1000 + 3600, 'the session cookie is HttpOnly, Secure, SameSite=Strict and expires');
equal(await page.evaluate(() => document.cookie), '', 'the page cannot read the cookie');
const stored = await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }) + location.href);
check(!stored.includes(ceo.slice(4, 20)), 'the token is in no URL, localStorage or sessionStorage');
check(!(await page.content()).includes(ceo.slice(4, 20)), 'the token is not in the page');

// ---------------------------------------------------------------- briefing
await page.waitForSelector('main[data-ready="briefing"]');
{
  const [by, bt] = (await page.evaluate(() => document.querySelector('#term-pick').value)).split('|');
  const b = await api(ceo, `/v1/briefing?year=${by}&term=${bt}`);
  const head = await page.$$eval('#headline tbody tr', (trs) => trs.map((tr) => ({ ...tr.dataset })));
  equal(head, b.headline.map((x) => ({ subject: x.subject, p: String(x.p), b: x.b === null ? '' : String(x.b), change: x.change === null ? '' : String(x.change) })),
    'briefing: the headline figures are the API\'s');
  equal(await page.$$eval('#b-priorities > li', (li) => li.map((l) => l.dataset.id)), b.priorities.map((x) => x.id), 'briefing: the priorities in the API\'s order');
  const rat = await page.$$eval('#b-priorities .rationale', (ps) => ps.map((x) => x.textContent));
  equal(rat, b.priorities.map((x) => x.rationale), 'briefing: each priority\'s rationale sentence');
  equal(await page.$$eval('#b-concern > li', (li) => li.map((l) => l.dataset.urn)), b.schools_of_concern.map((x) => x.urn), 'briefing: the schools of concern, ranked');
  equal(await page.$$eval('#b-monitoring strong', (s) => s.map((x) => Number(x.textContent))), [b.monitoring.overdue, b.monitoring.due_this_term, b.monitoring.at_risk], 'briefing: the monitoring counts');
  equal(await page.$$eval('#b-triads tbody tr', (t) => t.map((x) => Number(x.dataset.triad))), b.triads.map((t) => t.triad), 'briefing: this term\'s triads');
  await axe(page, 'briefing');
  await shot(page, 'briefing');
  // The priorities as CSV: fetched by the page with Accept: text/csv and saved through a
  // Blob URL; the file is byte for byte the API's CSV.
  {
    const want = await apiText(ceo, `/v1/briefing?year=${by}&term=${bt}`, 'text/csv');
    const [dl] = await Promise.all([page.waitForEvent('download', { timeout: 15000 }), page.click('#b-csv')]);
    const got = readFileSync(await dl.path(), 'utf8');
    check(want.type.startsWith('text/csv') && want.body.split('\r\n').length > 2, `briefing CSV: the API answers CSV (${want.body.split('\r\n').length - 1} lines)`);
    equal(got, want.body, 'briefing CSV: the downloaded file is the API\'s CSV');
    equal(dl.suggestedFilename(), `briefing-${by}-${bt}-priorities.csv`, 'briefing CSV: the file is named for the term');
    equal(new URL(dl.url()).protocol, 'blob:', 'briefing CSV: saved from a Blob URL of the fetched answer');
  }
  const kind = b.priorities[b.priorities.length - 1].kind;
  await page.selectOption('#b-kind', kind);
  await until(page, (k) => location.hash.includes(`kind=${k}`) && document.querySelector('main').dataset.ready === 'briefing', kind);
  equal(await page.$$eval('#b-priorities > li', (li) => li.map((l) => l.dataset.id)), b.priorities.filter((x) => x.kind === kind).map((x) => x.id), `briefing: filtered to ${kind}`);
}

// ---------------------------------------------------------------- heat map
await open(page, '#/heatmap', 'heatmap');
const [year, tm] = (await page.evaluate(() => document.querySelector('#term-pick').value)).split('|');
const summary = await api(ceo, `/v1/progress/summary?year=${year}&term=${tm}&by=school`);
const thresholds = await api(ceo, '/v1/priorities/thresholds');
// Suppressed by the API (n given as "<6") or under the minimum cohort: no figure shown.
function small(c) {
  return typeof c.n === 'string' || c.n < thresholds.min_cohort;
}
async function heatCells() {
  return page.$$eval('#heatmap td[data-subject]', (tds) => tds.map((td) => ({ urn: td.dataset.urn, subject: td.dataset.subject, n: td.dataset.n, p: td.dataset.p ?? null, suppressed: !!td.dataset.suppressed, text: td.querySelector('.p')?.textContent ?? null })));
}
async function compareHeat(group, token) {
  const want = summary.cells.filter((c) => c.year_group === 'all' && c.group === group);
  const shown = await heatCells();
  equal(shown.length, want.length, `heat map (${group}): one cell per API cell`);
  let bad = 0, suppressed = 0;
  for (const s of shown) {
    const c = want.find((w) => (w.school || 'trust') === s.urn && w.subject === s.subject);
    if (!c || String(c.n) !== s.n) { bad++; continue; }
    if (small(c)) { suppressed++; if (!s.suppressed || s.p !== null) bad++; continue; }
    if (Number(s.p) !== c.p_expected || s.text !== pct(c.p_expected)) bad++;
  }
  equal(bad, 0, `heat map (${group}): every figure equals the API's; ${suppressed} small cohorts suppressed`);
  return suppressed;
}
await compareHeat('all');
await axe(page, 'heat map');
await shot(page, 'heatmap');
await page.selectOption('#group-pick', 'looked_after');
await until(page, () => location.hash.includes('group=looked_after') && document.querySelector('main').dataset.ready === 'heatmap');
check((await compareHeat('looked_after')) > 0, 'heat map: a group with small cohorts shows them suppressed');

// Reload: the session survives, and the bookmarked URL shows the same page.
await page.reload();
await page.waitForSelector('main[data-ready="heatmap"]');
equal(await page.$eval('#group-pick', (s) => s.value), 'looked_after', 'a reload keeps the session and the bookmarked page');

// ---------------------------------------------------------------- keyboard
await page.keyboard.press('Tab');
equal(await page.evaluate(() => document.activeElement.className), 'skip', 'the first Tab reaches the skip link');
await page.keyboard.press('Enter');
equal(await page.evaluate(() => document.activeElement.id), 'main', 'the skip link moves focus to the content');
await page.focus('nav a[href="#/trends"]');
await page.keyboard.press('Enter');
await page.waitForSelector('main[data-ready="trends"]');
check(true, 'a nav link is followed with the keyboard');

// ---------------------------------------------------------------- trends
const terms = await page.$$eval('#trends thead th', (ths) => ths.slice(1).map((th) => th.textContent));
const subject = await page.$eval('#subject-pick', (s) => s.value);
const trustRow = await page.$$eval('#trends tr[data-urn="trust"] td', (tds) => tds.map((td) => ({ term: td.dataset.term, p: td.dataset.p, text: td.textContent })));
let tbad = 0;
for (const t of trustRow) {
  const [y, te] = t.term.split(' ');
  const sm = await api(ceo, `/v1/progress/summary?year=${y}&term=${te}&by=school`);
  const c = sm.cells.find((x) => x.school === null && x.subject === subject && x.group === 'all' && x.year_group === 'all');
  if (String(c.p_expected) !== t.p || pct(c.p_expected) !== t.text) tbad++;
}
check(terms.length >= 2 && tbad === 0, `trends: the trust's ${subject} line over ${terms.length} terms equals the API's`);
check(await page.$$eval('svg.chart .series', (g) => g.length) >= 3, 'trends: the chart draws the trust, national and the schools');
await axe(page, 'trends');
await shot(page, 'trends');

// ---------------------------------------------------------------- school page
const urn = '140003';
await open(page, `#/school/${urn}?year=${year}&term=${tm}`, 'school');
const ssum = await api(ceo, `/v1/schools/${urn}/progress/${year}/${tm}/summary`);
const scells = await page.$$eval('#progress td[data-subject]', (tds) => tds.map((td) => ({ subject: td.dataset.subject, group: td.dataset.group, p: td.dataset.p ?? null, n: td.dataset.n })));
let sbad = 0;
for (const s of scells) {
  const c = ssum.cells.find((x) => x.subject === s.subject && x.group === s.group && x.year_group === 'all');
  if (!c || String(c.n) !== s.n || (!small(c) && String(c.p_expected) !== s.p)) sbad++;
}
check(scells.length > 0 && sbad === 0, `school page: ${scells.length} progress cells equal the API's`);
const sef = await api(ceo, `/v1/schools/${urn}/sef/${year}`);
const grades = await page.$$eval('#sef tbody tr', (trs) => trs.map((tr) => tr.querySelector('td').textContent));
equal(grades.length, Object.keys(sef.document.areas).length, 'school page: every SEF area is shown');
const info = await api(ceo, `/v1/schools/${urn}`);
equal(await page.$eval('main h1', (e) => e.textContent), info.name, 'school page: the school\'s name');
// The experts deployed to it this term: the plan's assignments to this school, with the
// priority each serves and the API's sentence.
const plan = await api(ceo, `/v1/deployments?year=${year}&term=${tm}`);
const planned = plan.assignments.filter((a) => a.urn === urn);
const experts = await page.$$eval('#experts tbody tr', (trs) => trs.map((tr) => ({ expert: tr.dataset.expert, priority: tr.dataset.priority, name: tr.querySelector('th').firstChild.textContent, sentence: tr.querySelector('.sentence').textContent })));
check(planned.length > 0, `school page: the demo plan deploys ${planned.length} expert(s) to ${urn}`);
equal(experts, planned.map((a) => ({ expert: a.expert_id, priority: a.priority_id, name: a.expert_name, sentence: a.sentence })), 'school page: the experts deployed to it are the plan\'s, with the priority each serves and its sentence');
await axe(page, 'school page');
await shot(page, 'school');
if (SHOTS) { await page.$eval('#experts', (e) => e.closest('section').scrollIntoView()); await shot(page, 'school-experts'); }

// ---------------------------------------------------------------- monitoring
await open(page, '#/monitoring', 'monitoring');
const mon = await api(ceo, `/v1/monitoring?year=${year}&limit=1000`);
const rows = await page.$$eval('#monitoring tbody tr', (trs) => trs.map((tr) => `${tr.dataset.school}|${tr.dataset.ref}|${tr.dataset.status}`));
equal(rows, mon.items.map((i) => `${i.school}|${i.ref}|${i.status}`), 'monitoring: the schedule in the API\'s order (overdue first)');
equal(await page.$$eval('#monitoring select', (s) => s.length), 0, 'monitoring: a CEO cannot change a status');
await page.check('#f-overdue');
await until(page, () => location.hash.includes('overdue=1') && document.querySelector('main').dataset.ready === 'monitoring');
equal(await page.$$eval('#monitoring tbody tr', (t) => t.length), mon.items.filter((i) => i.overdue).length, 'monitoring: the overdue filter');
await axe(page, 'monitoring');
await shot(page, 'monitoring');

// ---------------------------------------------------------------- rota
await open(page, '#/rota', 'rota');
const rotas = await api(ceo, '/v1/rotas');
const pub = await api(ceo, `/v1/rotas/${rotas.items.find((r) => r.status === 'published').id}`);
const grid = await page.$$eval('#rota-grid tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => Number(td.dataset.triad))));
equal(grid, pub.terms.map((t) => t.triads.map((x) => x.triad)), 'rota: the terms × triads table is the published rota');
const shownTerm = await page.$eval('#rota-term', (s) => s.value.split('|'));
const tt = pub.terms.find((t) => t.year === shownTerm[0] && t.term === shownTerm[1]);
equal(await page.$$eval('svg.map rect', (r) => r.length), tt.triads.length, 'rota: one host square per triad on the map');
equal(await page.$$eval('svg.map line.link', (l) => l.length), tt.triads.reduce((a, t) => a + t.members.length - 1, 0), 'rota: a line from each member to its host');
await axe(page, 'rota');
await shot(page, 'rota');
// The CEO drafts next year's rota, compares it and publishes it: the page's figures are the API's.
{
  const before = (await api(ceo, '/v1/rotas')).items.map((r) => r.id);
  await page.click('#draft-form button[type=submit]');
  await until(page, () => /draft=\d+/.test(location.hash) && document.querySelector('main').dataset.ready === 'rota', null, 'the draft');
  const after = (await api(ceo, '/v1/rotas')).items;
  const fresh = after.filter((r) => !before.includes(r.id));
  equal(fresh.map((r) => r.status), ['draft'], 'rota: the CEO drafts a rota');
  const draft = await api(ceo, `/v1/rotas/${fresh[0].id}`);
  const row = await page.$$eval(`#rotas tr[data-rota="${draft.id}"] td`, (tds) => tds.map((td) => td.textContent));
  equal(row.slice(2, 4), [String(draft.metrics.max_km), String(draft.metrics.total_km)], 'rota: the draft\'s metrics are the API\'s');
  await page.click(`#rotas tr[data-rota="${draft.id}"] button`);
  await until(page, (id) => location.hash.includes(`published=${id}`) && document.querySelector('main').dataset.ready === 'rota', draft.id, 'the publication');
  equal((await api(ceo, `/v1/rotas/${draft.id}`)).status, 'published', 'rota: the CEO publishes it');
}

// ---------------------------------------------------------------- governors' report
await open(page, `#/report/${urn}?year=${year}&term=${tm}`, 'report');
const rrows = await page.$$eval('#report-attainment tbody tr', (trs) => trs.map((tr) => ({ subject: tr.dataset.subject, group: tr.dataset.group, p: tr.dataset.p })));
let rbad = 0;
for (const r of rrows) {
  const c = ssum.cells.find((x) => x.subject === r.subject && x.group === r.group && x.year_group === 'all');
  if (!c || (!small(c) ? String(c.p_expected) !== r.p : r.p !== '')) rbad++;
}
check(rrows.length > 0 && rbad === 0, `report: ${rrows.length} attainment rows equal the API's`);
equal(await page.$$eval('#report-experts li', (li) => li.map((l) => l.textContent)), planned.map((a) => a.sentence), 'report: support received lists the experts deployed (the plan\'s sentences)');
await axe(page, 'report');
await shot(page, 'report');
const pdfPath = path.join(os.tmpdir(), `matd-report-${process.pid}.pdf`);
await page.emulateMedia({ media: 'print' });
writeFileSync(pdfPath, await page.pdf({ format: 'A4', printBackground: true }));
await page.emulateMedia({ media: 'screen' });
const text = spawnSync('pdftotext', ['-layout', pdfPath, '-'], { encoding: 'utf8' }).stdout || '';
const writing = ssum.cells.find((x) => x.subject === 'writing' && x.group === 'all' && x.year_group === 'all');
check(text.includes(info.name) && text.includes(pct(writing.p_expected)), `report: the PDF has the school's name and its writing figure (${pct(writing.p_expected)})`);
check(!text.includes('Sign out'), 'report: the PDF leaves out the navigation');
if (SHOTS) spawnSync('pdftoppm', ['-png', '-r', '70', '-f', '1', '-l', '1', '-singlefile', pdfPath, path.join(SHOTS, 'report-pdf-page1')]);
unlinkSync(pdfPath);

// ---------------------------------------------------------------- the trust's report
await open(page, `#/report/trust?year=${year}&term=${tm}`, 'report');
{
  const b = await api(ceo, `/v1/briefing?year=${year}&term=${tm}`);
  equal(await page.$$eval('#trust-headline tbody tr', (trs) => trs.map((tr) => tr.dataset.p)), b.headline.map((x) => String(x.p)), 'trust report: the headline is the briefing\'s');
  const rows = await page.$$eval('#trust-schools tbody tr', (trs) => trs.map((tr) => [tr.dataset.urn, tr.querySelector('td').dataset.p]));
  let bad = 0;
  const first = (await page.$$eval('#trust-schools thead th', (t) => t.map((x) => x.textContent)))[1];
  for (const [u, p] of rows) {
    const c = summary.cells.find((x) => x.school === u && x.group === 'all' && x.year_group === 'all' && (x.subject === first.toLowerCase() || (first === 'Grammar, punctuation and spelling' && x.subject === 'gps')));
    if (c ? (!small(c) ? String(c.p_expected) !== p : p !== '') : p !== '') bad++;
  }
  check(rows.length === new Set(summary.cells.map((c) => c.school).filter(Boolean)).size && bad === 0, `trust report: every school's ${first} figure is the API's`);
  await axe(page, 'the trust report');
  await shot(page, 'report-trust');
}

// ---------------------------------------------------------------- sign out
await page.click('#signout');
await page.waitForSelector('main[data-ready="signin"]');
equal((await context.cookies()).filter((c) => c.name === '__Host-matd_session').length, 0, 'sign-out clears the cookie');
equal(await page.evaluate(async () => (await fetch('/v1/me')).status), 401, 'after sign-out the API answers 401');
await context.close();

// ---------------------------------------------------------------- a school sees only itself
const all = (await api(TOKENS.admin, '/v1/schools?limit=1000')).items;
{
  const { context: sc2, page: p2 } = await newPage();
  await p2.goto(BASE.href);
  await p2.waitForSelector('main[data-ready="signin"]');
  await signIn(p2, TOKENS.school);
  const own = (await api(TOKENS.school, '/v1/me')).schools[0];
  await p2.waitForSelector('main[data-ready="school"]');
  const others = all.filter((s) => s.urn !== own).map((s) => s.name);
  const seen = [];
  for (const [hash, ready] of [[`#/school/${own}`, 'school'], ['#/monitoring', 'monitoring'], ['#/rota', 'rota'],
    [`#/report/${own}?year=${year}&term=${tm}`, 'report'], ['#/schools', 'schools']]) {
    await open(p2, hash, ready);
    const body = await p2.evaluate(() => `${document.title} ${document.body.innerText} ${document.body.innerHTML}`);
    for (const n of others) if (body.includes(n)) seen.push(`${n} on ${hash}`);
    if (ready === 'school') await shot(p2, 'school-own');
  }
  equal(seen, [], 'a school token: no other school\'s name on any of its pages');
  // The experts deployed to it: exactly those GET /v1/experts gives the school's token.
  {
    const mine = (await api(TOKENS.school, '/v1/experts?limit=1000')).items;
    check(mine.length > 0, `a school token: the API names ${mine.length} expert(s) deployed to it`);
    await open(p2, `#/school/${own}`, 'school');
    equal(await p2.$$eval('#experts li', (li) => li.map((l) => [l.dataset.expert, l.querySelector('strong').textContent])), mine.map((e) => [e.id, e.name]), 'a school token: its page lists the experts deployed to it, as the API gives them');
    await open(p2, `#/report/${own}?year=${year}&term=${tm}`, 'report');
    equal(await p2.$$eval('#report-experts li', (li) => li.map((l) => l.dataset.expert)), mine.map((e) => e.id), 'a school token: its governors\' report lists them under support received');
  }
  await open(p2, '#/heatmap', 'school');
  check(p2.url().includes(`#/school/${own}`), 'a school token asking for the heat map lands on its own page');
  // Status updated in place, written through the API with the CSRF token.
  await open(p2, '#/monitoring', 'monitoring');
  const sel = await p2.$('#monitoring tr[data-ref="M1"] select');
  check(!!sel, 'monitoring: the school can change its own milestone status');
  if (sel) {
    const was = await p2.$eval('#monitoring tr[data-ref="M1"]', (tr) => tr.dataset.status);
    const want = was === 'complete' ? 'at_risk' : 'complete';
    await sel.selectOption(want);
    await until(p2, (w) => document.querySelector('#monitoring tr[data-ref="M1"]').dataset.status === w, want);
    const after = await api(TOKENS.school, `/v1/monitoring?school=${own}&year=${year}&limit=1000`);
    equal(after.items.find((i) => i.ref === 'M1').status, want, `monitoring: M1 ${was} -> ${want} is stored (read back from the API)`);
    equal(await p2.$eval('.live', (e) => e.textContent.split('.')[0]), `M1 is now ${want === 'complete' ? 'Complete' : 'At risk'}`, 'monitoring: the change is announced');
  }
  await axe(p2, 'a school\'s monitoring page');
  await sc2.close();
}

// ---------------------------------------------------------------- an executive head sees only their schools
{
  const { context: c3, page: p3 } = await newPage();
  await p3.goto(BASE.href);
  await p3.waitForSelector('main[data-ready="signin"]');
  await signIn(p3, TOKENS.exec);
  await p3.waitForSelector('main[data-ready="briefing"]');
  const mine = (await api(TOKENS.exec, '/v1/me')).schools;
  const btext = await p3.evaluate(() => document.body.innerText);
  equal(all.filter((s) => !mine.includes(s.urn)).map((s) => s.name).filter((n) => btext.includes(n)), [], 'an executive head\'s briefing names no other school');
  await open(p3, '#/heatmap', 'heatmap');
  const urns = [...new Set(await p3.$$eval('#heatmap tbody tr', (trs) => trs.map((tr) => tr.dataset.urn)))];
  equal(urns.sort(), ['trust', ...mine].sort(), 'an executive head\'s heat map has the trust row and their schools only');
  const body = await p3.evaluate(() => document.body.innerText);
  const others = all.filter((s) => !mine.includes(s.urn)).map((s) => s.name).filter((n) => body.includes(n));
  equal(others, [], 'an executive head\'s heat map names no other school');
  // Their school page: the experts deployed to it are the plan's as the API gives this
  // token (assignments to their schools only).
  const eplan = await api(TOKENS.exec, `/v1/deployments?year=${year}&term=${tm}`);
  check(eplan.assignments.every((a) => mine.includes(a.urn)), 'an executive head\'s plan has assignments to their schools only');
  const eurn = eplan.assignments[0]?.urn || mine[0];
  await open(p3, `#/school/${eurn}?year=${year}&term=${tm}`, 'school');
  equal(await p3.$$eval('#experts tbody tr', (trs) => trs.map((tr) => tr.querySelector('.sentence').textContent)), eplan.assignments.filter((a) => a.urn === eurn).map((a) => a.sentence), `an executive head: the experts deployed to ${eurn} are the plan's`);
  await c3.close();
}

// ---------------------------------------------------------------- a bad token
{
  const { context: c4, page: p4 } = await newPage();
  await p4.goto(BASE.href);
  await p4.waitForSelector('main[data-ready="signin"]');
  await p4.fill('#token', `mat_${'0'.repeat(64)}`);
  await p4.click('form.signin button[type=submit]');
  await until(p4, () => document.querySelector('#signin-status').textContent.length > 0);
  check((await p4.$eval('#signin-status', (e) => e.textContent)).includes('not valid'), 'a bad token is refused with a message');
  equal((await c4.cookies()).length, 0, 'a refused sign-in sets no cookie');
  await c4.close();
}

equal(offHost, [], 'no page requested another host');
equal(cspViolations, [], 'no CSP violation');
await browser.close();
console.log(`${failures ? 'FAILED' : 'passed'}: ${failures} failure(s) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
process.exit(failures ? 1 : 0);
