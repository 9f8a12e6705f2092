// The web app's read-your-writes (web/app/api.js), run by node against a recording fetch:
// no Matd-Lsn before a write; the position a write answers with goes back on every later
// read, CSV download and write; a later write's position replaces it; a write answered
// without one (no replicas) leaves none; signing out forgets it.
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const sent = [];
let answerLsn = null;
globalThis.fetch = async (url, init = {}) => {
  sent.push({ url, method: init.method || 'GET', headers: { ...(init.headers || {}) } });
  const h = new Map();
  if (answerLsn && init.method && init.method !== 'GET') h.set('matd-lsn', answerLsn);
  return {
    ok: true,
    status: url === '/v1/sessions' && init.method === 'DELETE' ? 204 : 200,
    headers: { get: (k) => h.get(k.toLowerCase()) ?? null },
    json: async () => ({ items: [], next_cursor: null, csrf_token: 'c' }),
    blob: async () => 'csv',
  };
};
const api = await import(pathToFileURL(path.join(here, '../../web/app/api.js')));
const last = () => sent[sent.length - 1];

await api.get('/v1/schools');
assert.equal(last().headers['Matd-Lsn'], undefined, 'no position before any write');

await api.send('PUT', '/v1/priorities/thresholds', {}); // answered without a position
await api.get('/v1/schools?a=1');
assert.equal(last().headers['Matd-Lsn'], undefined, 'a write without Matd-Lsn leaves none');

answerLsn = '0/16B3A80';
await api.send('PUT', '/v1/priorities/thresholds', {});
await api.get('/v1/schools?a=2');
assert.equal(last().headers['Matd-Lsn'], '0/16B3A80', 'a read after the write carries it');
assert.equal(last().headers.Accept, 'application/json');
await api.csv('/v1/schools');
assert.equal(last().headers['Matd-Lsn'], '0/16B3A80', 'so does a CSV download');

answerLsn = '1/A';
await api.send('POST', '/v1/rotas', {});
assert.equal(last().headers['Matd-Lsn'], '0/16B3A80', 'the write itself sends the last position');
assert.equal(last().headers['X-CSRF-Token'], '', 'and still its CSRF header');
await api.get('/v1/schools?a=3');
assert.equal(last().headers['Matd-Lsn'], '1/A', 'the later write replaces it');

await api.signOut();
await api.get('/v1/schools?a=4');
assert.equal(last().headers['Matd-Lsn'], undefined, 'signing out forgets it');
console.log(`api_lsn: ${sent.length} requests checked`);
