// First load of the briefing in Debian's Chromium, from a cold cache, over TLS: bytes
// transferred (navigation + every resource, from the Resource Timing entries) and the
// time from navigation start to the rendered priority list (the app's
// performance.mark('matd:ready:briefing')). The anchor, measured in the same run, is the
// sign-in page: the app's shell and assets with no data. Prints medians of RUNS loads.
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import crypto from 'node:crypto';
import path from 'node:path';

const require = createRequire(path.join(process.env.NODE_PATH, 'x.js'));
const { chromium } = require('playwright-core');
const BASE = new URL(process.env.MATD_URL);
const CA = readFileSync(process.env.MATD_CA);
const RUNS = Number(process.env.RUNS || 7);
const HASH = process.env.BRIEFING_HASH || '#/briefing';

function session(token) {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: BASE.hostname, port: BASE.port, path: '/v1/sessions', method: 'POST', ca: CA, headers: { Authorization: `Bearer ${token}` } }, (res) => {
      res.resume();
      const c = (res.headers['set-cookie'] || [])[0];
      res.statusCode === 201 && c ? resolve(c.split(';')[0].split('=')[1]) : reject(new Error(`sign-in ${res.statusCode}`));
    });
    req.on('error', reject);
    req.end();
  });
}
const der = new crypto.X509Certificate(readFileSync(path.join(path.dirname(process.env.MATD_CA), 'server.crt'))).publicKey.export({ type: 'spki', format: 'der' });
const spki = crypto.createHash('sha256').update(der).digest('base64');
const browser = await chromium.launch({
  executablePath: process.env.MATD_CHROMIUM || '/usr/bin/chromium', headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
    '--disable-sync', '--no-first-run', `--ignore-certificate-errors-spki-list=${spki}`],
});
const sid = await session(process.env.MATD_TOKEN);

async function load(hash, mark, cookie) {
  const context = await browser.newContext({ viewport: { width: 1366, height: 768 } });
  if (cookie) await context.addCookies([{ name: '__Host-matd_session', value: sid, url: BASE.href, secure: true, httpOnly: true, sameSite: 'Strict' }]);
  const page = await context.newPage();
  await page.goto(BASE.href + hash);
  for (let i = 0; i < 600; i++) {
    const done = await page.evaluate((m) => performance.getEntriesByName(m).length > 0, mark);
    if (done) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const r = await page.evaluate((m) => {
    const nav = performance.getEntriesByType('navigation')[0];
    const res = performance.getEntriesByType('resource');
    const bytes = nav.transferSize + res.reduce((a, e) => a + e.transferSize, 0);
    const mk = performance.getEntriesByName(m)[0];
    return { bytes, ms: mk ? mk.startTime : NaN, requests: res.length + 1, items: document.querySelectorAll('#b-priorities > li').length };
  }, mark);
  await context.close();
  return r;
}
const median = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const anchor = [], brief = [];
await load(HASH, 'matd:ready:briefing', true); // warm the server's caches once (not the browser's)
for (let i = 0; i < RUNS; i++) {
  anchor.push(await load('', 'matd:ready:signin', false));
  brief.push(await load(HASH, 'matd:ready:briefing', true));
}
await browser.close();
const b = { bytes: median(brief.map((x) => x.bytes)), ms: median(brief.map((x) => x.ms)) };
const a = { bytes: median(anchor.map((x) => x.bytes)), ms: median(anchor.map((x) => x.ms)) };
console.log(`${process.env.LABEL.padEnd(26)} briefing: ${(b.bytes / 1024).toFixed(1)} KB in ${brief[0].requests} requests, ` +
  `${b.ms.toFixed(0)} ms to the list (${brief[0].items} items) | sign-in page (anchor): ${(a.bytes / 1024).toFixed(1)} KB, ` +
  `${a.ms.toFixed(0)} ms | ratio ${(b.ms / a.ms).toFixed(2)}  [median of ${RUNS}]`);
