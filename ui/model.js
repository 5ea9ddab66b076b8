// ui/model.js: what the pages compute from the registry's answers, as
// pure functions without the DOM, so tests/ui/pages_test.mjs can call
// them with node.

export const RESULTS = ['pass', 'warn', 'fail', 'error'];

// Where the registry key pinned in Settings is kept (localStorage): the
// audit page checks checkpoints against it.
export const REGISTRY_KEY = 'optreg.registryKey';

// What a versions row shows: pass, warn, fail or error (a verdict),
// pending (its job is queued or being run) or none (no job, or one
// abandoned without a verdict).
export function verdictState(item) {
  const v = item && item.verdict;
  if (v && RESULTS.includes(v.result)) return v.result;
  const js = item && item.job_state;
  if (js === 'queued' || js === 'leased') return 'pending';
  return 'none';
}

// Configs grouped by namespace, in the order the API lists them (by
// namespace, then name): [[ns, [config…]], …].
export function groupByNamespace(configs) {
  const out = [];
  for (const c of configs || []) {
    const last = out[out.length - 1];
    if (last && last[0] === c.namespace) last[1].push(c);
    else out.push([c.namespace, [c]]);
  }
  return out;
}

// The API path of the configs list for the page's #/?q=&namespace=&
// page_token= query (empty values left out).
export function configsPath(query, pageSize = 50) {
  const p = new URLSearchParams();
  for (const k of ['namespace', 'q', 'page_token']) {
    const v = (query.get(k) || '').trim();
    if (v) p.set(k, v);
  }
  p.set('page_size', String(pageSize));
  return '/v1/configs?' + p.toString();
}

// The hash of the configs page for a query object ({q, namespace,
// page_token}; empty values left out).
export function configsHash(q) {
  const p = new URLSearchParams();
  for (const k of ['namespace', 'q', 'page_token']) if (q[k]) p.set(k, q[k]);
  const s = p.toString();
  return s ? '#/?' + s : '#/';
}

// The effect of a rule's findings under its policy's mode
// (docs/policies.md, "Modes and severities").
export function ruleEffect(mode, severity) {
  if (mode === 'audit') return 'audit';
  if (mode === 'warn') return 'warn';
  return severity === 'deny' ? 'deny' : 'warn';
}

const ASSERTIONS = [
  ['at_least', 'at least'], ['at_most', 'at most'], ['above', 'above'],
  ['below', 'below'], ['equals', 'equals'], ['one_of', 'one of'],
  ['pattern', 'matches'], ['present', 'present'], ['max_ratio', 'changes at most x'],
  ['unchanged', 'unchanged'],
];

function operand(v) {
  if (v && typeof v === 'object' && !Array.isArray(v) && typeof v.field === 'string')
    return v.times === undefined || v.times === 1 ? v.field : `${v.times} × ${v.field}`;
  return JSON.stringify(v);
}

// One condition or assertion set on a field, in words:
// {field: 'spec.lr', at_most: 0.1} -> 'spec.lr at most 0.1'.
export function assertionText(a) {
  const parts = [];
  for (const [k, words] of ASSERTIONS) {
    if (!(k in a)) continue;
    if (k === 'present') parts.push(a[k] ? 'present' : 'absent');
    else if (k === 'unchanged') parts.push(a[k] ? 'unchanged' : 'may change');
    else if (k === 'max_ratio') parts.push(`changes at most x${a[k]}`);
    else parts.push(`${words} ${operand(a[k])}`);
  }
  return `${a.field} ${parts.join(' and ')}`.trim();
}

// What a rule requires, in words, with its condition and the tags a
// change rule compares against: 'when spec.lr above 0.001:
// spec.schedule.warmup_steps above 0'.
export function ruleText(rule) {
  let s = assertionText(rule);
  if (rule.when) {
    const conds = Array.isArray(rule.when) ? rule.when : [rule.when];
    s = `when ${conds.map(assertionText).join(' and ')}: ${s}`;
  }
  if (rule.against) s = `${s} (compared with ${[].concat(rule.against).join(', ')})`;
  return s;
}

// Rules of a canonical policy grouped by effect: {deny: [...], warn:
// [...], audit: [...]}.
export function rulesByEffect(policy) {
  const out = {deny: [], warn: [], audit: []};
  for (const r of (policy && policy.rules) || []) out[ruleEffect(policy.mode, r.severity)].push(r);
  return out;
}

// The base64 body of a PEM, without armour or whitespace, for comparing
// two PEMs of the same key.
export function pemBody(pem) {
  if (typeof pem !== 'string') return '';
  const m = pem.match(/-----BEGIN PUBLIC KEY-----([\s\S]*?)-----END PUBLIC KEY-----/);
  return m ? m[1].replace(/\s+/g, '') : '';
}

// True when `pem` looks like one SPKI public key PEM.
export function isPublicKeyPem(pem) {
  const b = pemBody(pem);
  return b.length > 0 && /^[A-Za-z0-9+/]+={0,2}$/.test(b);
}

// The registry key (of GET /v1/registry/keys) that a pinned PEM is, or
// null.
export function pinnedKey(pinned, keys) {
  const b = pemBody(pinned);
  if (!b) return null;
  return (keys || []).find((k) => pemBody(k.public_key) === b) || null;
}

// The rows of a receipt payload the version page shows, in order, as
// [label, value] with values as text.
export function receiptRows(r) {
  const rows = [];
  const add = (label, v) => {
    if (v === undefined || v === null) return;
    rows.push([label, Array.isArray(v) ? v.join('\n') : String(v)]);
  };
  add('config', r.namespace && r.name ? `${r.namespace}/${r.name}@${r.version}` : undefined);
  add('digest', r.digest);
  add('envelope_sha256', r.envelope_sha256);
  add('signer_keyids', r.signer_keyids);
  add('time', r.time);
  add('audit_index', r.audit_index);
  add('audit_tree_size', r.audit_tree_size);
  add('audit_root', r.audit_root);
  add('audit_leaf', r.audit_leaf);
  add('audit_inclusion', r.audit_inclusion ? `${r.audit_inclusion.length} hashes` : undefined);
  return rows;
}

// A value of a diff change as one line of text (undefined/null: absent).
export function diffValue(v) {
  if (v === undefined || v === null) return '—';
  return typeof v === 'string' ? v : JSON.stringify(v);
}

// `url` when it is an absolute http(s) URL that can be a link, else null
// (a message's link is the submitter's text: never a javascript: link).
export function safeUrl(url) {
  if (typeof url !== 'string') return null;
  return /^https?:\/\/[^\s]+$/i.test(url) ? url : null;
}

// The version number of one side of a diff answer: `version` as a number
// (the API), or the N of an `ns/name@N` reference (as `optreg diff
// --json` writes it); null when neither.
export function sideVersion(side) {
  const v = side && side.version;
  if (Number.isInteger(v)) return v;
  const m = typeof v === 'string' ? v.match(/@([0-9]+)$/) : null;
  return m ? Number(m[1]) : null;
}

// Each route of the page's #/ addresses and the module that renders it.
// Patterns are matched segment by segment; `:name` captures one
// (percent-decoded) segment.
const ROUTES = [
  ['', './configs.js'],
  ['c/:ns/:name', './config.js'],
  ['c/:ns/:name/v/:n', './version.js'],
  ['c/:ns/:name/v/:n/verdicts/:job', './verdict.js'],
  ['audit', './audit.js'],
  ['policies', './policies.js'],
  ['settings', './settings.js'],
];

// The route of a location hash: '#/c/ns/name?x=1' -> {m: {mod, params,
// section} or null (no page there), query: URLSearchParams}.
export function matchRoute(hash) {
  const raw = String(hash || '').replace(/^#\/?/, '');
  const q = raw.indexOf('?');
  const path = q < 0 ? raw : raw.slice(0, q);
  const query = new URLSearchParams(q < 0 ? '' : raw.slice(q + 1));
  const segs = path.split('/').filter((x) => x !== '');
  for (const [pattern, mod] of ROUTES) {
    const ps = pattern.split('/').filter((x) => x !== '');
    if (ps.length !== segs.length) continue;
    const params = {};
    let ok = true;
    for (let i = 0; i < ps.length && ok; i++) {
      let v;
      try {
        v = decodeURIComponent(segs[i]);
      } catch (e) {
        ok = false;
        break;
      }
      if (ps[i].startsWith(':')) params[ps[i].slice(1)] = v;
      else ok = ps[i] === v;
    }
    if (ok) return {m: {mod, params, section: ps[0] || 'configs'}, query};
  }
  return {m: null, query};
}

const segments = (parts) => parts.map((x) => encodeURIComponent(String(x))).join('/');

// The page's address of a config or of something under it, each part one
// encoded path segment: configHash('ns', 'a#b', 'v', 3) -> '#/c/ns/a%23b/v/3'.
export function configHash(ns, name, ...rest) {
  return '#/' + segments(['c', ns, name, ...rest]);
}

// The API path of a config or of something under it, encoded the same
// way. A part that is . or .. (escaped or not, URL parsing takes it for a
// step up) is no name: it throws rather than asking for another path.
export function configApi(ns, name, ...rest) {
  const parts = [ns, name, ...rest].map(String);
  const dots = parts.find((x) => x === '.' || x === '..');
  if (dots !== undefined) throw new Error(`"${dots}" is not a name`);
  return '/v1/configs/' + segments(parts);
}
