// ui/audit.js: the audit timeline (#/audit?actor=&action=&target=&config=
// &since=&until=&start=), the latest signed checkpoint, and the page's own
// check of both, done here in the browser with WebCrypto so the auditor
// need not trust the server that serves the page:
//   1. the checkpoint's Ed25519 signature, against the registry key pinned
//      in Settings (localStorage optreg.registryKey), else against the keys
//      the registry lists (then the result is "unpinned", never "verified");
//   2. with the pinned key, that it extends the checkpoint this browser
//      verified last (localStorage optreg.auditCheckpoint), by the
//      registry's consistency proof: a rewritten or rolled-back log fails;
//   3. for every shown event the checkpoint covers: its leaf hash
//      recomputed from the event JSON (RFC 8785, SHA-256(0x00 || bytes)),
//      and its inclusion proof from that leaf to the checkpoint's root.
// A changed event, a proof that does not lead to the signed root, or a
// signature that does not verify shows as failed.
import {h, replace, timeEl} from './dom.js';
import {ApiError, api, mapLimit} from './api.js';
import {canonicalBytes} from './jcs.js';
import {REGISTRY_KEY, configHash} from './model.js';
import {fromBase64, leafHash, toBase64, verifyConsistency, verifyInclusion} from './merkle.js';
import {importPublicKeyPem, verifyCheckpoint} from './note.js';

const SEEN_STORAGE = 'optreg.auditCheckpoint';
const FILTERS = [
  ['actor', 'Actor', 'e.g. ci@team-nlp'],
  ['action', 'Action', 'e.g. tag.moved'],
  ['target', 'Target', 'e.g. team-nlp/bert@prod'],
  ['config', 'Config', 'e.g. team-nlp/bert'],
  ['since', 'Since', '2026-11-23T10:00:00Z'],
  ['until', 'Until', '(exclusive)'],
];
const ACTIONS = ['version.created', 'version.yanked', 'tag.moved', 'verdict.recorded', 'policy.put',
                 'policy.delete', 'policy.denied', 'waiver.grant', 'waiver.revoke', 'key.added',
                 'key.revoked', 'token.created', 'token.revoked', 'namespace.settings', 'job.leased',
                 'job.expired', 'job.abandoned', 'write.denied', 'write.denied.summary'];
const PAGE_SIZE = 100;
const IN_FLIGHT = 4;

const short = (keyid) => keyid.slice(0, 16) + '…';

// The signature half of the check: which key the checkpoint verified with.
// `pinnedPem` is the pinned key (or empty), `serverKeys()` answers the
// registry's key list (GET /v1/registry/keys) when there is no pinned one.
// -> {state: verified|unpinned|failed|none, checkpoint?, keyid?, keyHash?,
//     sentence}
export async function checkSignature(note, pinnedPem, serverKeys) {
  if (note === null)
    return {state: 'none', sentence: 'The registry has signed no checkpoint yet, so there is nothing to check the log against.'};
  if (pinnedPem) {
    let pub;
    try {
      pub = await importPublicKeyPem(pinnedPem);
    } catch (e) {
      return {state: 'failed', sentence: `The pinned registry key could not be used: ${e.message}. Fix it in Settings.`};
    }
    try {
      const cp = await verifyCheckpoint(note, pub);
      return {state: 'verified', checkpoint: cp, keyid: pub.keyid, keyHash: cp.keyHash, pinned: true,
              sentence: `The checkpoint's Ed25519 signature (origin ${cp.origin}, ${cp.size} events) verifies with ` +
                        `the pinned registry key ${short(pub.keyid)} (key hash ${cp.keyHash}).`};
    } catch (e) {
      return {state: 'failed',
              sentence: `The checkpoint's signature does not verify with the pinned registry key ${short(pub.keyid)}: ${e.message}.`};
    }
  }
  let keys;
  try {
    keys = await serverKeys();
  } catch (e) {
    return {state: 'failed', sentence: `No registry key pinned, and the registry's keys could not be read: ${e.message}.`};
  }
  const tried = [];
  for (const k of keys) {
    let pub;
    try {
      pub = await importPublicKeyPem(k.public_key);
      tried.push(short(pub.keyid));
      const cp = await verifyCheckpoint(note, pub);
      return {state: 'unpinned', checkpoint: cp, keyid: pub.keyid, keyHash: cp.keyHash, pinned: false,
              sentence: `The checkpoint's Ed25519 signature (origin ${cp.origin}, ${cp.size} events) verifies with ` +
                        `${short(pub.keyid)}, a key the registry itself lists, not a pinned one: this shows the log ` +
                        'agrees with what this server says, not that the server is honest. Pin the registry key in ' +
                        'Settings to check against it.'};
    } catch (e) {
      // the next key
    }
  }
  return {state: 'failed',
          sentence: `No registry key pinned, and the checkpoint's signature verifies with none of the ${keys.length} ` +
                    `keys the registry lists${tried.length ? ' (' + tried.join(', ') + ')' : ''}.`};
}

// The check of one event against a verified checkpoint `cp`. `getProof(i,
// size)` answers GET /v1/audit/proof/inclusion. -> {state: verified|failed|
// uncovered, reason}
export async function checkEntry(entry, cp, getProof) {
  // An index that is no leaf number cannot be checked, and must not pass
  // for "newer than the checkpoint" either.
  if (!Number.isSafeInteger(entry.index) || entry.index < 0)
    return {state: 'failed', reason: `the registry listed it without a valid index (${JSON.stringify(entry.index)})`};
  if (!cp) return {state: 'uncovered', reason: 'no checkpoint to check it against'};
  if (!(entry.index < cp.size)) return {state: 'uncovered', reason: `newer than the checkpoint (${cp.size} events)`};
  let leaf;
  try {
    leaf = await leafHash(canonicalBytes(entry.event));
  } catch (e) {
    return {state: 'failed', reason: `the event cannot be put in canonical form: ${e.message}`};
  }
  let proof;
  try {
    proof = await getProof(entry.index, cp.size);
  } catch (e) {
    return {state: 'failed', reason: `no inclusion proof: ${e.message}`};
  }
  let hashes;
  try {
    hashes = (proof.hashes || []).map(fromBase64);
  } catch (e) {
    return {state: 'failed', reason: 'the proof holds a malformed hash'};
  }
  if (!await verifyInclusion(entry.index, cp.size, leaf, hashes, cp.root))
    return {state: 'failed',
            reason: `the event's leaf hash ${toBase64(leaf)} is not in the signed tree: the event or the log was changed`};
  if (toBase64(leaf) !== entry.leaf_hash)
    return {state: 'failed', reason: `the listed leaf hash is not the event's (${toBase64(leaf)})`};
  return {state: 'verified', reason: `in the signed tree of ${cp.size} events`};
}

// The check against the checkpoint this browser saw last (`seen`: {origin,
// keyid, size, root (base64)}, kept only for checkpoints that verified with
// the pinned key): the new one must extend it, shown by the consistency
// proof `getConsistency(from, to)` answers (GET /v1/audit/proof/consistency).
// -> {state: verified|failed|first, sentence, remember (whether to keep
// the new checkpoint as the one seen)}
export async function checkHistory(sig, seen, getConsistency) {
  const cp = sig.checkpoint;
  if (!seen || seen.keyid !== sig.keyid || !Number.isSafeInteger(seen.size))
    return {state: 'first', sentence: '', remember: true};
  const was = `the checkpoint of ${seen.size} events this browser verified before`;
  // The same key under another origin would start a new history, and with
  // it forget the old one: a log rewritten and signed under a new name.
  if (seen.origin !== cp.origin)
    return {state: 'failed', remember: false,
            sentence: ` But it is signed under origin ${JSON.stringify(cp.origin)}, not ${JSON.stringify(seen.origin)} of ${was}: ` +
                      'the same key now speaks for another log.'};
  if (seen.size > cp.size)
    return {state: 'failed', remember: false,
            sentence: ` But it is older than ${was}: the registry is showing a rolled-back log.`};
  let ok;
  if (seen.size === cp.size) {
    ok = seen.root === cp.rootB64;
  } else {
    try {
      const proof = await getConsistency(seen.size, cp.size);
      let old;
      try {
        old = fromBase64(seen.root);
      } catch (e) {
        return {state: 'first', sentence: '', remember: true};
      }
      ok = await verifyConsistency(seen.size, cp.size, old, cp.root, (proof.hashes || []).map(fromBase64));
    } catch (e) {
      ok = false;
    }
  }
  if (!ok)
    return {state: 'failed', remember: false,
            sentence: ` But it does not extend ${was}: the log was rewritten since.`};
  return {state: 'verified', remember: true,
          sentence: seen.size === cp.size ? ` It is the one this browser verified before.`
                                           : ` Its consistency proof shows it extends ${was}.`};
}

// The whole check of a page: the signature, then (with `history`: {seen,
// getConsistency}) that it extends the checkpoint seen before, then every
// shown event with at most IN_FLIGHT proof requests at a time.
// `onRow(entry, result)` is called as each finishes.
// -> {state, sentence, signature, history, rows}
export async function checkPage(note, pinnedPem, serverKeys, entries, getProof, onRow = () => {}, history = null) {
  const sig = await checkSignature(note, pinnedPem, serverKeys);
  const cp = sig.checkpoint || null;
  let hist = null;
  if (history && sig.state === 'verified') {
    hist = await checkHistory(sig, history.seen, history.getConsistency);
    if (hist.state === 'failed') {
      sig.state = 'failed';
      sig.sentence += hist.sentence;
    }
  }
  // The API lists events in log order: an index not above the one before
  // it (one listed twice, say) is a registry's lie, not a later event.
  const misordered = new Map();
  let last = -1;
  for (const e of entries) {
    if (!Number.isSafeInteger(e.index)) continue;
    if (e.index <= last) misordered.set(e, last);
    else last = e.index;
  }
  const rows = await mapLimit(entries, IN_FLIGHT, async (e) => {
    let r;
    if (sig.state === 'failed') r = {state: 'failed', reason: 'the checkpoint to check it against failed its check'};
    else if (misordered.has(e)) r = {state: 'failed', reason: `listed out of log order (after index ${misordered.get(e)})`};
    else r = await checkEntry(e, cp, getProof);
    onRow(e, r);
    return r;
  });
  const failed = entries.filter((e, i) => rows[i].state === 'failed' && sig.state !== 'failed');
  const verified = rows.filter((r) => r.state === 'verified').length;
  const uncovered = rows.filter((r) => r.state === 'uncovered').length;
  let state = sig.state;
  let sentence = sig.sentence + (hist && hist.state === 'verified' ? hist.sentence : '');
  if (cp && sig.state !== 'failed') {
    if (failed.length) {
      state = 'failed';
      const list = failed.slice(0, 5).map((e) => e.index).join(', ') + (failed.length > 5 ? ', …' : '');
      sentence += ` But ${failed.length} of the ${entries.length} shown events failed their check (index ${list}): ` +
                  'the log no longer matches what was signed.';
    } else if (verified) {
      sentence += ` The inclusion proofs of the ${verified} shown events it covers lead to its root, from leaf ` +
                  'hashes recomputed here from each event\'s JSON.';
    } else {
      sentence += ' No shown event is covered by it, so no inclusion proof was checked.';
    }
    if (uncovered) sentence += ` ${uncovered} shown events are newer than the checkpoint and not checked yet.`;
  }
  return {state, sentence, signature: sig, history: hist, rows};
}

// #/c/… link for a target naming a config, version or tag.
function targetEl(target, action) {
  // A job's events (job.leased, job.expired, job.abandoned) name `job/ID`,
  // which is not a config: link to that job's events instead.
  if (typeof action === 'string' && action.startsWith('job.'))
    return h('a', {href: '#/audit' + queryString({target})}, target);
  const m = /^([^/@]+)\/([^/@]+)(?:@(.+))?$/.exec(target || '');
  if (!m) return h('span', null, target || '');
  const href = m[3] && /^[1-9][0-9]*$/.test(m[3]) ? configHash(m[1], m[2], 'v', m[3]) : configHash(m[1], m[2]);
  return h('a', {href}, target);
}

const STATE_TEXT = {verified: 'verified', failed: 'failed', unpinned: 'unpinned', pending: 'checking…',
                    none: 'no checkpoint', uncovered: 'not yet covered'};

function badge(state) {
  return h('span', {class: 'badge audit-state', 'data-state': state}, STATE_TEXT[state] || state);
}

function queryString(values) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(values)) if (v !== '' && v !== null && v !== undefined) q.set(k, String(v));
  const s = q.toString();
  return s ? '?' + s : '';
}

export async function render(main, params, query) {
  document.title = 'Audit log · optreg';
  const f = {};
  for (const [k] of FILTERS) f[k] = (query.get(k) || '').trim();
  const start = /^[0-9]+$/.test(query.get('start') || '') ? Number(query.get('start')) : 0;

  const form = h('form', {id: 'audit-filters', class: 'audit-filters', role: 'search', 'aria-label': 'Filter the audit log'},
    FILTERS.map(([k, label, hint]) => h('div', {class: 'audit-field'},
      h('label', {for: `audit-${k}`}, label),
      h('input', {id: `audit-${k}`, name: k, type: 'text', value: f[k], placeholder: hint, autocomplete: 'off',
                  spellcheck: 'false', list: k === 'action' ? 'audit-actions' : null}))),
    h('datalist', {id: 'audit-actions'}, ACTIONS.map((a) => h('option', {value: a}))),
    h('div', {class: 'audit-buttons'},
      h('button', {type: 'submit'}, 'Filter'),
      h('a', {href: '#/audit', class: 'audit-clear'}, 'Clear filters')));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const v = {};
    for (const [k] of FILTERS) v[k] = form.querySelector(`#audit-${k}`).value.trim();
    window.location.hash = '#/audit' + queryString(v);
  });

  const status = h('p', {id: 'checkpoint-status', 'data-state': 'pending', role: 'status'}, badge('pending'), ' Checking the checkpoint…');
  const cpBox = h('div', {class: 'checkpoint'});
  main.append(h('h1', null, 'Audit log'),
              h('section', {'aria-labelledby': 'cp-title'}, h('h2', {id: 'cp-title'}, 'Latest checkpoint'), status, cpBox),
              h('h2', null, 'Events'), form);

  // The entries first: a 400 (a bad filter) is shown under the form, so it
  // can be fixed, and the checkpoint is still checked; 401/403 and the
  // rest go to the shell.
  const q = {...f, start, page_size: PAGE_SIZE};
  let page;
  try {
    page = await api('/v1/audit/entries' + queryString(q));
  } catch (err) {
    if (!(err instanceof ApiError) || err.status !== 400) throw err;
    const p = err.problem || {};
    main.append(h('div', {class: 'error', role: 'alert', 'data-error': 400},
      h('p', {class: 'error-title'}, `400 ${p.title || 'Bad Request'}`), p.detail ? h('p', null, p.detail) : null,
      p.hint ? h('p', {class: 'hint'}, p.hint) : null));
    page = {entries: [], next_start: null};
  }
  const entries = page.entries || [];

  let note = null;
  try {
    note = await api('/v1/audit/checkpoint', {text: true});
  } catch (err) {
    if (!(err instanceof ApiError) || err.status !== 404) throw err;
  }

  // By entry, not index: a registry may list one index twice.
  const rows = new Map();
  const tbody = h('tbody', null, entries.map((e) => {
    const cell = h('td', {class: 'proof'}, badge('pending'));
    const tr = h('tr', {'data-index': e.index, 'data-proof': 'pending'},
      h('td', {class: 'num'}, String(e.index)),
      h('td', {class: 'time'}, timeEl(e.event && e.event.time)),
      h('td', null, e.event?.actor?.principal || ''),
      h('td', null, h('code', null, e.event?.action || '')),
      h('td', {class: 'target'}, targetEl(e.event?.target, e.event?.action)),
      h('td', null, h('code', {class: 'hash'}, e.leaf_hash || '')),
      cell,
      h('td', null, h('details', null, h('summary', {'aria-label': `Event ${e.index} as JSON`}, 'JSON'),
                                h('pre', null, JSON.stringify(e.event, null, 2)))));
    rows.set(e, {tr, cell});
    return tr;
  }));
  const filtered = FILTERS.some(([k]) => f[k]);
  main.append(h('div', {class: 'table-wrap'},
    h('table', {id: 'audit-entries'},
      h('caption', {class: 'muted'}, entries.length
        ? `Events ${entries[0].index} to ${entries[entries.length - 1].index}${filtered ? ' matching the filters' : ''}, in log order`
        : (filtered ? 'No events match the filters here.' : 'No events here.')),
      h('thead', null, h('tr', null, ['Index', 'Time', 'Actor', 'Action', 'Target', 'Leaf hash', 'Proof', 'Event']
        .map((t) => h('th', {scope: 'col'}, t)))),
      tbody)));
  const nav = [];
  if (start > 0) nav.push(h('a', {href: '#/audit' + queryString({...f}), rel: 'first'}, 'First page'));
  if (page.next_start !== null && page.next_start !== undefined)
    nav.push(h('a', {href: '#/audit' + queryString({...f, start: page.next_start}), rel: 'next'}, 'Next page'));
  if (nav.length) main.append(h('nav', {class: 'pager', 'aria-label': 'Audit log pages'}, nav));

  let seen = null;
  try {
    seen = JSON.parse(localStorage.getItem(SEEN_STORAGE) || 'null');
  } catch (e) {
    seen = null;
  }
  const result = await checkPage(note, localStorage.getItem(REGISTRY_KEY) || '',
    async () => (await api('/v1/registry/keys')).keys || [],
    entries,
    (index, size) => api(`/v1/audit/proof/inclusion?index=${index}&size=${size}`),
    (e, r) => {
      const row = rows.get(e);
      row.tr.dataset.proof = r.state;
      row.tr.title = r.reason;
      replace(row.cell, badge(r.state), h('span', {class: 'visually-hidden'}, ': ' + r.reason));
    },
    {seen, getConsistency: (from, to) => api(`/v1/audit/proof/consistency?from=${from}&to=${to}`)});
  if (result.history && result.history.remember) {
    const c = result.signature.checkpoint;
    localStorage.setItem(SEEN_STORAGE, JSON.stringify({origin: c.origin, keyid: result.signature.keyid, size: c.size, root: c.rootB64}));
  }

  status.dataset.state = result.state;
  replace(status, badge(result.state), ' ', result.sentence);
  const cp = result.signature.checkpoint;
  if (note !== null) {
    replace(cpBox,
      cp ? h('dl', {class: 'cp-fields'},
        h('dt', null, 'Origin'), h('dd', null, cp.origin),
        h('dt', null, 'Tree size'), h('dd', null, String(cp.size)),
        h('dt', null, 'Root'), h('dd', null, h('code', {class: 'hash'}, cp.rootB64)),
        h('dt', null, 'Signed by'), h('dd', null, h('code', {class: 'hash'}, result.signature.keyid),
                                      result.signature.pinned ? ' (pinned)' : ' (listed by the registry, not pinned)')) : null,
      h('details', null, h('summary', null, 'The signed note'), h('pre', {id: 'checkpoint-note'}, note)));
  }
  if (result.history && result.history.state === 'failed') {
    // After a known restore from backup, say, the auditor may start over.
    const forget = h('button', {type: 'button', id: 'forget-checkpoint'}, 'Forget the checkpoint seen before');
    forget.addEventListener('click', () => {
      localStorage.removeItem(SEEN_STORAGE);
      replace(forget.parentNode, 'Forgotten: the next check starts from the registry\'s current checkpoint.');
    });
    cpBox.append(h('p', null, forget));
  }
}
