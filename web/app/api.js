// The API, as the page sees it: same-origin requests with the session cookie (never a
// token), the session's CSRF token on every write, paged lists followed to the end.
// Read-your-writes: the Matd-Lsn a write answers with (when matd reads from replicas) goes
// back on every later request, so whichever matd instance serves the next page shows the
// write (docs/operations.md).
let session = null;
let lsn = null;
const cache = new Map();

function headers(extra) {
  return lsn ? { ...extra, 'Matd-Lsn': lsn } : extra;
}

function noteLsn(r) {
  const v = r.headers.get('Matd-Lsn');
  if (v) lsn = v;
}

export class ApiError extends Error {
  constructor(status, detail) {
    super(detail || `HTTP ${status}`);
    this.status = status;
  }
}

async function problem(r) {
  try {
    const doc = await r.json();
    return new ApiError(r.status, doc.detail);
  } catch {
    return new ApiError(r.status, r.statusText);
  }
}

export function current() {
  return session;
}

// The session of the cookie, if any (after a reload the page learns who it is here).
export async function resume() {
  const r = await fetch('/v1/sessions', { headers: headers({ Accept: 'application/json' }) });
  session = r.ok ? await r.json() : null;
  return session;
}

// The token is used for this one request and dropped: the cookie carries the session.
export async function signIn(token) {
  const r = await fetch('/v1/sessions', {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, Accept: 'application/json' },
  });
  if (!r.ok) throw await problem(r);
  cache.clear();
  session = await r.json();
  return session;
}

export async function signOut() {
  if (session) {
    await fetch('/v1/sessions', { method: 'DELETE', headers: { 'X-CSRF-Token': session.csrf_token } });
  }
  session = null;
  lsn = null;
  cache.clear();
}

export function get(path) {
  if (!cache.has(path)) {
    const p = fetch(path, { headers: headers({ Accept: 'application/json' }) }).then(async (r) => {
      if (!r.ok) {
        cache.delete(path);
        if (r.status === 401) session = null;
        throw await problem(r);
      }
      return r.json();
    });
    cache.set(path, p);
  }
  return cache.get(path);
}

// Every item of a paged list.
export async function all(path) {
  const items = [];
  let cursor = null;
  const sep = path.includes('?') ? '&' : '?';
  do {
    const page = await get(`${path}${sep}limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    items.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor);
  return items;
}

export async function send(method, path, body) {
  const r = await fetch(path, {
    method,
    headers: headers({
      'Content-Type': 'application/json',
      Accept: 'application/json',
      'X-CSRF-Token': session ? session.csrf_token : '',
    }),
    body: JSON.stringify(body),
  });
  noteLsn(r);
  if (!r.ok) throw await problem(r);
  cache.clear();
  return r.status === 204 ? null : r.json();
}

// A resource as CSV (the API's own, sent for Accept: text/csv), as a Blob to save.
export async function csv(path) {
  const r = await fetch(path, { headers: headers({ Accept: 'text/csv' }) });
  if (!r.ok) throw await problem(r);
  return r.blob();
}

// Null instead of an error for a 404 (a document not yet pushed).
export async function maybe(path) {
  try {
    return await get(path);
  } catch (e) {
    if (e.status === 404) return null;
    throw e;
  }
}
