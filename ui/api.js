// ui/api.js: every call the page makes to the registry's REST API, with
// the token (if any) from sessionStorage. Same origin only: the page is
// served by the registry it reads (connect-src 'self').

const TOKEN_KEY = 'optreg.token';

export function token() {
  return sessionStorage.getItem(TOKEN_KEY) || '';
}

export function setToken(t) {
  if (t) sessionStorage.setItem(TOKEN_KEY, t);
  else sessionStorage.removeItem(TOKEN_KEY);
}

// An error answer of the API: `status`, and `problem` (the problem+json
// body: code, title, detail, hint, errors[]) when there was one.
export class ApiError extends Error {
  constructor(status, problem, path) {
    const p = problem || {};
    super(p.detail || p.title || `HTTP ${status} for ${path}`);
    this.status = status;
    this.problem = p;
    this.path = path;
  }
}

// `path` when it names the registry's API on this page's origin (/v1/…,
// dot segments and all, as fetch would resolve it); throws otherwise, so
// that the token is never sent anywhere else, whatever a path was built
// from (a `//host/…` path is another origin).
export function apiPath(path) {
  const origin = globalThis.location && globalThis.location.origin && globalThis.location.origin !== 'null'
    ? globalThis.location.origin : 'http://page.invalid';
  let u = null;
  try {
    u = typeof path === 'string' ? new URL(path, origin) : null;
  } catch (e) {
    u = null;
  }
  if (!u || !path.startsWith('/v1/') || u.origin !== origin || !u.pathname.startsWith('/v1/'))
    throw new Error(`not a path of this registry's API: ${String(path).slice(0, 80)}`);
  return path;
}

// GET (or another method) `path` (starting with /v1/), answering the
// parsed JSON body, or the text when `text` is set. Throws ApiError for a
// non-2xx answer, and a TypeError when the registry cannot be reached.
export async function api(path, {method = 'GET', body, text = false} = {}) {
  apiPath(path);
  const headers = {Accept: text ? 'text/plain' : 'application/json'};
  const t = token();
  if (t) headers.Authorization = 'Bearer ' + t;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'omit',
    cache: 'no-store',
  });
  if (!res.ok) {
    let problem = null;
    try {
      problem = await res.json();
    } catch (e) {
      problem = null;
    }
    throw new ApiError(res.status, problem, path);
  }
  if (res.status === 204) return null;
  return text ? res.text() : res.json();
}

// Every item of a paged list: follows next_page_token up to `max` items.
export async function apiAll(path, key, max = 1000) {
  const out = [];
  let next = null;
  do {
    const sep = path.includes('?') ? '&' : '?';
    const page = await api(path + (next ? `${sep}page_token=${encodeURIComponent(next)}` : ''));
    out.push(...(page[key] || []));
    next = page.next_page_token || null;
  } while (next && out.length < max);
  return out;
}

// Runs `fn` over `items` with at most `limit` calls in flight (so a page
// with many versions does not open a burst of connections).
export async function mapLimit(items, limit, fn) {
  const out = new Array(items.length);
  let i = 0;
  const workers = Array.from({length: Math.min(limit, items.length)}, async () => {
    while (i < items.length) {
      const k = i++;
      out[k] = await fn(items[k], k);
    }
  });
  await Promise.all(workers);
  return out;
}

// Decodes a DSSE envelope's payload (base64 of UTF-8 JSON).
export function envelopePayload(env) {
  const bin = atob(env.payload);
  const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
  return JSON.parse(new TextDecoder().decode(bytes));
}
