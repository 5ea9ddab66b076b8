// ui/version.js: #/c/NS/NAME/v/N — one version: what it is, its
// verdicts, the semantic diff against the previous version and against
// what `prod` points at (GET …/diff, the same as `optreg diff`), the
// config document, its signatures and the registry's receipt.
import {add, h, seg, timeEl} from './dom.js';
import {api, ApiError, envelopePayload} from './api.js';
import {configApi, configHash, configsHash, diffValue, receiptRows, sideVersion} from './model.js';
import {errText, keyMap, linkTo, note, section, verdictBadge} from './page.js';

// A diff answer as a section: one li per change, or data-equal=true.
function diffSection(id, title, base, res) {
  const sec = section(id, title);
  sec.setAttribute('class', 'diff');
  if (res.error) {
    sec.dataset.unavailable = res.error instanceof ApiError ? String(res.error.status) : 'other';
    sec.append(note(`The registry did not answer the diff: ${errText(res.error)}`));
    return sec;
  }
  const d = res.diff;
  const av = sideVersion(d.a);
  sec.append(h('p', {class: 'muted'}, 'Compared with ',
    av === null ? 'another version' : h('a', {href: `${base}/v/${seg(av)}`}, `v${av}`),
    res.label ? ` (${res.label})` : '', ', old → new.'));
  if (d.equal || !(d.changes || []).length) {
    sec.dataset.equal = 'true';
    sec.append(h('p', null, res.same ? 'This version is the one it points at: nothing changed.'
      : 'No change in optimizer terms (the documents may differ only in layout or defaults).'));
    return sec;
  }
  sec.append(h('ul', {class: 'changes'}, d.changes.map((c) =>
    h('li', {dataset: {path: c.path, kind: c.kind}},
      h('code', {class: 'path'}, c.path), ' ', h('span', {class: 'kind', dataset: {kind: c.kind}}, c.kind), ' ',
      c.text ? h('span', {class: 'text'}, c.text)
        : h('span', {class: 'values mono'}, diffValue(c.old), ' → ', diffValue(c.new))))));
  return sec;
}

async function getDiff(path, n, against) {
  try {
    return {diff: await api(`${path}/versions/${n}/diff?against=${seg(against)}`)};
  } catch (e) {
    return {error: e};
  }
}

function signaturesSection(env, receipt, keys, keysReadable, keysError) {
  const counted = new Set((receipt && receipt.signer_keyids) || []);
  const sigs = (env && env.signatures) || [];
  return section('signatures', 'Signatures',
    sigs.length === 0 ? h('p', null, 'No signatures.') : h('div', {class: 'table-wrap'}, h('table', null,
      h('thead', null, h('tr', null, h('th', {scope: 'col'}, 'Key id'), h('th', {scope: 'col'}, 'Principal'),
        h('th', {scope: 'col'}, 'Key'), h('th', {scope: 'col'}, 'Counted'))),
      h('tbody', null, sigs.map((s) => {
        const k = keys.get(s.keyid);
        return h('tr', {dataset: {keyid: s.keyid}},
          h('td', {class: 'mono keyid'}, s.keyid),
          h('td', null, k ? k.principal : h('span', {class: 'muted'}, keysReadable ? 'not registered' : 'unknown')),
          h('td', null, k ? [k.purpose || '', k.revoked_at ? [' · revoked ', timeEl(k.revoked_at)] : ''] : '—'),
          h('td', null, counted.has(s.keyid) ? 'yes' : receipt ? 'no' : '—'));
      })))),
    keysReadable ? null
      : keysError instanceof ApiError && (keysError.status === 401 || keysError.status === 403)
        ? note('Key owners are shown when the token may list keys (GET /v1/keys).')
        : note(`Key owners could not be read (${errText(keysError)}).`),
    receipt ? h('p', {class: 'muted'}, 'Counted: the receipt lists the key among those whose signature made up the namespace\'s threshold.') : null);
}

function receiptSection(receiptEnv, payload, regKeys, cfgFull) {
  if (!receiptEnv) return section('receipt', 'Receipt', h('p', null, 'This version has no receipt.'));
  if (!payload) return section('receipt', 'Receipt', note('The receipt\'s payload could not be read.'));
  const sigKeyids = (receiptEnv.signatures || []).map((s) => s.keyid);
  const byKey = new Map((regKeys || []).map((k) => [k.keyid, k]));
  const sec = section('receipt', 'Receipt',
    h('p', null, 'The registry signed this receipt when it accepted the version; ',
      h('code', null, 'optreg receipt'), ' and ', h('code', null, 'optreg fetch --verify'), ' check it against a pinned key.'),
    h('dl', {class: 'fields'}, receiptRows(payload).map(([k, v]) => [h('dt', null, k),
      h('dd', {class: k === 'time' || k === 'config' ? null : 'mono'}, v)])),
    h('p', null, 'Signed by the registry key ', sigKeyids.map((id, i) => {
      const k = byKey.get(id);
      return [i ? ', ' : '', h('code', {class: 'keyid'}, id),
        k ? (k.retired_at ? [' (retired ', timeEl(k.retired_at), ')'] : ' (current)')
          : regKeys === null ? ' (the registry\'s keys could not be read)' : ' (not among the keys the registry serves)'];
    }), '.'),
    payload.audit_index !== undefined
      ? h('p', null, h('a', {href: `#/audit?config=${seg(cfgFull)}`}, 'This config in the audit log'),
        ` (event ${payload.audit_index}).`) : null);
  if (payload.audit_index !== undefined && payload.audit_index !== null) sec.dataset.auditIndex = String(payload.audit_index);
  return sec;
}

function verdictsSection(base, n, doc) {
  const verdicts = doc.verdicts || [];
  const jobs = doc.jobs || [];
  return section('verdicts', 'Verdicts',
    verdicts.length === 0 ? h('p', null, 'No verdicts yet.') : h('div', {class: 'table-wrap'}, h('table', null,
      h('thead', null, h('tr', null, h('th', {scope: 'col'}, 'Result'), h('th', {scope: 'col'}, 'Suite'),
        h('th', {scope: 'col'}, 'Runner'), h('th', {scope: 'col'}, 'Time'))),
      h('tbody', null, verdicts.map((v) => h('tr', {dataset: {job: v.job_id, result: v.result}},
        h('td', null, h('a', {href: `${base}/v/${seg(n)}/verdicts/${seg(String(v.job_id))}`, dataset: {job: v.job_id},
          'aria-label': `verdict ${v.result} of job ${v.job_id} on ${v.suite}`}, verdictBadge(v.result), ` job ${v.job_id}`)),
        h('td', {title: v.suite_digest || null}, v.suite),
        h('td', null, v.runner || '', v.runner_keyid ? h('div', {class: 'muted mono small', title: v.runner_keyid},
          v.runner_keyid.slice(0, 12) + '…') : null),
        h('td', null, timeEl(v.created_at))))))),
    jobs.length === 0 ? null : [h('h3', null, 'Jobs'), h('div', {class: 'table-wrap'}, h('table', {id: 'jobs'},
      h('thead', null, h('tr', null, h('th', {scope: 'col'}, 'Job'), h('th', {scope: 'col'}, 'Suite'),
        h('th', {scope: 'col'}, 'State'), h('th', {scope: 'col'}, 'Attempts'), h('th', {scope: 'col'}, 'Last error'),
        h('th', {scope: 'col'}, 'Updated'))),
      h('tbody', null, jobs.map((j) => h('tr', {dataset: {jobId: j.id, state: j.state}},
        h('td', null, String(j.id)), h('td', null, j.suite), h('td', null, j.state),
        h('td', null, `${j.attempts}/${j.max_attempts}`),
        h('td', {class: 'wrap'}, j.last_error || '—'), h('td', null, timeEl(j.updated_at)))))))]);
}

export async function render(main, params) {
  const {ns, name} = params;
  const n = Number(params.n);
  const full = `${ns}/${name}`;
  document.title = `${full}@${params.n} · optreg`;
  if (!Number.isInteger(n) || n < 1 || String(n) !== params.n)
    throw new Error(`"${params.n}" is not a version number (1, 2, 3…)`);
  const path = configApi(ns, name);
  const base = configHash(ns, name);
  const [doc, tagsDoc, verdictsDoc, {keys, readable: keysReadable, error: keysError}, regKeys, newest] = await Promise.all([
    api(`${path}/versions/${n}`),
    api(`${path}/tags`),
    api(`${path}/versions/${n}/verdicts`).catch((e) => ({error: e})),
    keyMap(),
    api('/v1/registry/keys').then((r) => r.keys || []).catch(() => null),
    api(`${path}/versions?page_size=1`).then((r) => (r.versions || [])[0]?.version || n).catch(() => n),
  ]);
  const prod = (tagsDoc.tags || []).find((t) => t.tag === 'prod');
  const [prev, atProd] = await Promise.all([
    n > 1 ? getDiff(path, n, 'previous') : null,
    prod ? getDiff(path, n, 'prod') : null,
  ]);
  if (atProd) {
    atProd.label = 'prod';
    atProd.same = prod.version === n;
  }
  if (prev) prev.label = 'the previous version';
  let receipt = null;
  try {
    receipt = doc.receipt ? envelopePayload(doc.receipt) : null;
  } catch (e) {
    receipt = null;
  }

  add(main,
    h('nav', {class: 'crumbs', 'aria-label': 'Breadcrumb'},
      h('a', {href: '#/'}, 'Configs'), ' / ', h('a', {href: configsHash({namespace: ns})}, ns), ' / ',
      h('a', {href: base}, name), ' / ', `v${n}`),
    h('h1', null, `${full}@${n}`, doc.yanked ? h('span', {class: 'badge yanked-badge'}, 'yanked') : null),
    h('dl', {class: 'fields', id: 'version-meta'},
      h('dt', null, 'digest'), h('dd', {class: 'mono'}, doc.digest),
      h('dt', null, 'submitted'), h('dd', null, timeEl(doc.created_at), ' by ', doc.created_by || '?'),
      doc.message ? [h('dt', null, 'message'), h('dd', null, doc.message)] : null,
      doc.link ? [h('dt', null, 'link'), h('dd', null, linkTo(doc.link))] : null,
      h('dt', null, 'tags'), h('dd', null, (doc.tags || []).length ? doc.tags.map((t) => h('span', {class: 'tag'}, t)) : '—'),
      doc.yanked ? [h('dt', null, 'yanked'), h('dd', null, timeEl(doc.yanked_at), doc.yank_reason ? [': ', doc.yank_reason] : '')] : null),
    h('p', {class: 'version-nav'},
      n > 1 ? h('a', {href: `${base}/v/${seg(n - 1)}`, rel: 'prev'}, `← v${n - 1}`) : null,
      n > 1 && newest > n ? ' ' : null,
      newest > n ? h('a', {href: `${base}/v/${seg(n + 1)}`, rel: 'next'}, `v${n + 1} →`) : null),
    verdictsDoc.error ? section('verdicts', 'Verdicts', note(`The verdicts could not be read: ${errText(verdictsDoc.error)}`))
      : verdictsSection(base, n, verdictsDoc),
    prev ? diffSection('diff-previous', 'Changes from the previous version', base, prev) : null,
    atProd ? diffSection('diff-prod', 'Changes from prod', base, atProd) : null,
    section('config-doc', 'Config', h('pre', {id: 'config', tabindex: '0', 'aria-label': 'Config document'},
      JSON.stringify(doc.config, null, 2))),
    signaturesSection(doc.envelope, receipt, keys, keysReadable, keysError),
    receiptSection(doc.receipt, receipt, regKeys, full));
}
