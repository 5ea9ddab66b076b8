// tests/ui/pages_test.mjs: what the configs, config, version, policies
// and settings pages compute (ui/model.js), the API calls (ui/api.js) and
// the shell's error panel (ui/page.js), run with node; TAP output.
import assert from 'node:assert/strict';
import {run, test} from './tap.mjs';
import {all, byId, is, local, store} from './fakedom.mjs';

const m = await import('../../ui/model.js');
const {ApiError, api, apiAll} = await import('../../ui/api.js');
const {showError} = await import('../../ui/page.js');


test('verdictState: results, pending, none', () => {
  for (const r of ['pass', 'warn', 'fail', 'error'])
    assert.equal(m.verdictState({verdict: {result: r}, job_state: 'done'}), r);
  assert.equal(m.verdictState({verdict: null, job_state: 'queued'}), 'pending');
  assert.equal(m.verdictState({verdict: null, job_state: 'leased'}), 'pending');
  assert.equal(m.verdictState({verdict: null, job_state: 'abandoned'}), 'none');
  assert.equal(m.verdictState({verdict: null, job_state: null}), 'none');
  assert.equal(m.verdictState({verdict: {result: 'bogus'}}), 'none');
  assert.equal(m.verdictState(undefined), 'none');
});

test('groupByNamespace keeps the API order', () => {
  const g = m.groupByNamespace([{namespace: 'a', name: 'x'}, {namespace: 'a', name: 'y'}, {namespace: 'b', name: 'z'}]);
  assert.deepEqual(g.map(([ns, l]) => [ns, l.map((c) => c.name)]), [['a', ['x', 'y']], ['b', ['z']]]);
  assert.deepEqual(m.groupByNamespace([]), []);
});

test('configsPath and configsHash carry q, namespace and page_token', () => {
  const q = new URLSearchParams('q=bert &namespace=team-nlp&page_token=abc&other=1');
  assert.equal(m.configsPath(q), '/v1/configs?namespace=team-nlp&q=bert&page_token=abc&page_size=50');
  assert.equal(m.configsPath(new URLSearchParams('q=')), '/v1/configs?page_size=50');
  assert.equal(m.configsHash({}), '#/');
  assert.equal(m.configsHash({q: 'a b', namespace: ''}), '#/?q=a+b');
});

test('ruleEffect follows the mode table', () => {
  assert.equal(m.ruleEffect('enforce', 'deny'), 'deny');
  assert.equal(m.ruleEffect('enforce', 'warn'), 'warn');
  assert.equal(m.ruleEffect(undefined, 'deny'), 'deny');
  assert.equal(m.ruleEffect('warn', 'deny'), 'warn');
  assert.equal(m.ruleEffect('audit', 'deny'), 'audit');
  assert.equal(m.ruleEffect('audit', 'warn'), 'audit');
});

test('ruleText says what a rule checks', () => {
  assert.equal(m.ruleText({field: 'spec.lr', at_most: 0.1}), 'spec.lr at most 0.1');
  assert.equal(m.ruleText({field: 'spec.schedule.warmup_steps', above: 0, when: {field: 'spec.lr', above: 0.001}}),
    'when spec.lr above 0.001: spec.schedule.warmup_steps above 0');
  assert.equal(m.ruleText({field: 'spec.lr', max_ratio: 2, against: ['prod']}),
    'spec.lr changes at most x2 (compared with prod)');
  assert.equal(m.ruleText({field: 'spec.optimizer', one_of: ['adam', 'adamw']}), 'spec.optimizer one of ["adam","adamw"]');
  assert.equal(m.ruleText({field: 'spec.grad_clip_norm', present: true, at_least: 0.5}),
    'spec.grad_clip_norm at least 0.5 and present');
  assert.equal(m.ruleText({field: 'spec.schedule.warmup_steps', at_most: {field: 'spec.schedule.total_steps', times: 0.25}}),
    'spec.schedule.warmup_steps at most 0.25 × spec.schedule.total_steps');
});

test('rulesByEffect groups a policy\'s rules', () => {
  const pol = {mode: 'enforce', rules: [{id: 'a', severity: 'deny'}, {id: 'b', severity: 'warn'}, {id: 'c', severity: 'deny'}]};
  const g = m.rulesByEffect(pol);
  assert.deepEqual(g.deny.map((r) => r.id), ['a', 'c']);
  assert.deepEqual(g.warn.map((r) => r.id), ['b']);
  assert.deepEqual(m.rulesByEffect({...pol, mode: 'audit'}).audit.map((r) => r.id), ['a', 'b', 'c']);
  assert.deepEqual(m.rulesByEffect({gates: []}), {deny: [], warn: [], audit: []});
});

const PEM = '-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PUBLIC KEY-----\n';

test('PEMs: body, validity, the pinned key among the served ones', () => {
  assert.equal(m.pemBody(PEM), 'MCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=');
  assert.equal(m.isPublicKeyPem(PEM), true);
  assert.equal(m.isPublicKeyPem('hello'), false);
  assert.equal(m.isPublicKeyPem('-----BEGIN PUBLIC KEY-----\n%%%\n-----END PUBLIC KEY-----'), false);
  assert.equal(m.isPublicKeyPem(null), false);
  const keys = [{keyid: 'old', public_key: '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n'},
    {keyid: 'cur', public_key: PEM.replace('\n', '\r\n')}];
  // Whitespace and line ends do not matter; the body does.
  assert.equal(m.pinnedKey(PEM.trim() + '\n\n', keys).keyid, 'cur');
  assert.equal(m.pinnedKey(PEM.replace('Gb9', 'Gb9'.toLowerCase()), keys), null);
  assert.equal(m.pinnedKey('', keys), null);
});

test('receiptRows lists the receipt\'s fields in order', () => {
  const rows = m.receiptRows({namespace: 'n', name: 'c', version: 3, digest: 'sha256:ab', envelope_sha256: 'ff',
    signer_keyids: ['k1', 'k2'], audit_index: 41, audit_tree_size: 42, audit_root: 'r', audit_inclusion: ['a', 'b'],
    audit_leaf: 'l', time: 't'});
  assert.deepEqual(rows.map((r) => r[0]), ['config', 'digest', 'envelope_sha256', 'signer_keyids', 'time', 'audit_index',
    'audit_tree_size', 'audit_root', 'audit_leaf', 'audit_inclusion']);
  assert.deepEqual(rows[0], ['config', 'n/c@3']);
  assert.deepEqual(rows[3], ['signer_keyids', 'k1\nk2']);
  assert.deepEqual(rows[5], ['audit_index', '41']);
  assert.deepEqual(rows[9], ['audit_inclusion', '2 hashes']);
  // A receipt from before audit_leaf existed: no such row.
  assert.equal(m.receiptRows({digest: 'd', audit_index: 0}).some((r) => r[0] === 'audit_leaf'), false);
  assert.deepEqual(m.receiptRows({audit_index: 0}), [['audit_index', '0']]);
});

test('safeUrl links http(s) only', () => {
  assert.equal(m.safeUrl('https://ci.example/run/42'), 'https://ci.example/run/42');
  assert.equal(m.safeUrl('HTTP://x'), 'HTTP://x');
  assert.equal(m.safeUrl('javascript:alert(1)'), null);
  assert.equal(m.safeUrl('data:text/html,x'), null);
  assert.equal(m.safeUrl('//evil.example'), null);
  assert.equal(m.safeUrl('https://a b'), null);
  assert.equal(m.safeUrl(undefined), null);
});

test('diffValue writes a change\'s side', () => {
  assert.equal(m.diffValue(null), '—');
  assert.equal(m.diffValue(undefined), '—');
  assert.equal(m.diffValue('adamw'), 'adamw');
  assert.equal(m.diffValue(0.001), '0.001');
  assert.equal(m.diffValue([0.9, 0.95]), '[0.9,0.95]');
  assert.equal(m.diffValue(false), 'false');
});

test('sideVersion reads the API\'s number or a CLI reference', () => {
  assert.equal(m.sideVersion({namespace: 'n', name: 'c', version: 4, digest: 'd'}), 4);
  assert.equal(m.sideVersion({version: 'team-nlp/bert@12'}), 12);
  assert.equal(m.sideVersion({version: 'team-nlp/bert@prod'}), null);
  assert.equal(m.sideVersion({}), null);
  assert.equal(m.sideVersion(null), null);
});

test('configHash, configApi and matchRoute: any name (#, ?, /, %, space, non-ASCII) round-trips through a link', () => {
  for (const [ns, name] of [['team-a', 'bert'], ['a#b', 'c?d=1'], ['x/y', '%2F..'], ['sp ace', 'naïve+1&'], ['..', '.'], ['.a', 'b..']]) {
    const href = m.configHash(ns, name, 'v', 3, 'verdicts', 17);
    assert.ok(!/[#?]/.test(href.slice(1)), `no raw # or ? after the first: ${href}`);
    const {m: r, query} = m.matchRoute(href + '?x=1');
    assert.deepEqual(r && r.params, {ns, name, n: '3', job: '17'}, href);
    assert.equal(r.mod, './verdict.js');
    assert.equal(query.get('x'), '1');
    assert.deepEqual(m.matchRoute(m.configHash(ns, name)).m.params, {ns, name});
    if (ns === '..') {
      assert.throws(() => m.configApi(ns, name), /not a name/);
      continue;
    }
    const api = m.configApi(ns, name, 'versions', 2);
    assert.equal(new URL(api, 'http://h').pathname.split('/').length, 7, `one segment each: ${api}`);
    assert.ok(new URL(api, 'http://h').pathname.startsWith('/v1/configs/'), api);
  }
  assert.throws(() => m.configApi('n', 'c', 'tags', '..'), /not a name/);
  // A version from a lying registry stays one segment, not a path.
  assert.equal(m.configHash('n', 'c', 'v', '1/../../audit'), '#/c/n/c/v/1%2F..%2F..%2Faudit');
  assert.equal(m.matchRoute(m.configHash('n', 'c', 'v', '1/../../audit')).m.mod, './version.js');
  assert.equal(m.matchRoute('#/c/a/%E0%A4%A').m, null, 'a broken escape is no page');
  assert.equal(m.matchRoute('#/nowhere').m, null);
  assert.equal(m.matchRoute('').m.mod, './configs.js');
  assert.equal(m.matchRoute('#/audit?action=tag.moved').query.get('action'), 'tag.moved');
  assert.equal(m.matchRoute('#/audit').m.section, 'audit');
});

// A fake fetch that records each call and answers `answer(path)`:
// {status, body}, or throws (the registry down).
function fakeFetch(answer) {
  const calls = [];
  globalThis.fetch = async (path, init) => {
    calls.push({path, init});
    const a = answer(path);
    return {ok: a.status < 300, status: a.status, json: async () => a.body, text: async () => String(a.body)};
  };
  return calls;
}

test('api: the token goes only to this origin\'s /v1/, never to a path built to leave it', async () => {
  store.set('optreg.token', 'optreg_secret');
  const calls = fakeFetch(() => ({status: 200, body: {ok: true, next_page_token: '//evil.example/x'}}));
  assert.deepEqual(await api('/v1/configs?page_size=1'), {ok: true, next_page_token: '//evil.example/x'});
  assert.equal(calls[0].init.headers.Authorization, 'Bearer optreg_secret');
  assert.equal(calls[0].init.credentials, 'omit');
  for (const bad of ['//evil.example/v1/configs', 'https://evil.example/v1/x', '/v1/../ui/x', '/v1/%2e%2e/x',
    '/ui/app.js', 'v1/configs', '/\\evil.example/v1/x', '', null]) {
    await assert.rejects(api(bad), /not a path of this registry's API/, String(bad));
  }
  assert.equal(calls.length, 1, 'no request for a refused path');
  // A page token is encoded into the query, whatever it holds.
  calls.length = 0;
  let n = 0;
  fakeFetch((p) => (n++ ? {status: 200, body: {items: [2]}} : {status: 200, body: {items: [1], next_page_token: '//evil.example/&x=1#'}}));
  globalThis.fetch = ((f) => async (p, i) => { calls.push(p); return f(p, i); })(globalThis.fetch);
  assert.deepEqual(await apiAll('/v1/things?page_size=1', 'items'), [1, 2]);
  assert.equal(calls[1], '/v1/things?page_size=1&page_token=%2F%2Fevil.example%2F%26x%3D1%23');
  store.delete('optreg.token');
});

test('config page: links from data stay #/ links with each part encoded; a javascript: or data: link and a principal stay text', async () => {
  const config = await import('../../ui/config.js');
  const base = '/v1/configs/a%23b/c%3Fd';
  const answers = {
    [`${base}/versions?page_size=100`]: {next_page_token: null, versions: [
      {version: 2, digest: 'sha256:' + 'ab'.repeat(32), created_at: '2026-12-01T00:00:00Z', created_by: 'ci@x',
       message: '<b>bold</b>', link: 'javascript:alert(1)', tags: ['prod'], signer_keyids: ['k1'],
       verdict: {result: 'fail', suite: 'ref-v2', job_id: 7}, job_state: 'done'},
      {version: 1, digest: 'sha256:' + 'cd'.repeat(32), created_at: '2026-11-30T00:00:00Z', created_by: 'ci@x',
       link: 'https://ci.example/run/1', tags: [], signer_keyids: ['k2'], verdict: null, job_state: 'queued'}]},
    [`${base}/tags`]: {tags: [{tag: 'prod', version: 2, digest: 'sha256:' + 'ab'.repeat(32), updated_at: 't', updated_by: 'u'}]},
    '/v1/keys': {keys: [{keyid: 'k1', principal: '<img src=x onerror=alert(1)>'}]},
    [`${base}/tags/prod/history?page_size=100`]: {moves: [{id: 1, version: 2, previous_version: 1, moved_at: 't',
      moved_by: 'u', reason: 'r', link: 'data:text/html,<script>alert(1)</script>'}]},
  };
  const calls = fakeFetch((p) => (answers[p] ? {status: 200, body: answers[p]} : {status: 404, body: {title: 'Not Found'}}));
  const main = document.createElement('div');
  await config.render(main, {ns: 'a#b', name: 'c?d'});
  assert.deepEqual(calls.map((c) => c.path).sort(), Object.keys(answers).sort());
  const hrefs = all(main, is('a')).map((a) => a.getAttribute('href'));
  for (const href of hrefs) assert.ok(href.startsWith('#/') || href === 'https://ci.example/run/1', href);
  assert.ok(hrefs.includes('#/c/a%23b/c%3Fd/v/2/verdicts/7'), JSON.stringify(hrefs));
  assert.ok(hrefs.includes('#/c/a%23b/c%3Fd/v/1'), JSON.stringify(hrefs));
  assert.ok(hrefs.includes('#/?namespace=a%23b'), JSON.stringify(hrefs));
  assert.equal(all(main, (e) => e.tagName === 'img' || e.tagName === 'b' || e.tagName === 'script').length, 0);
  const text = main.textContent;
  for (const t of ['javascript:alert(1)', '<b>bold</b>', '<img src=x onerror=alert(1)>', 'data:text/html,<script>alert(1)</script>'])
    assert.ok(text.includes(t), `shown as text: ${t}`);
});

test('version page: with the keys unread (503), neither the receipt\'s key is called foreign nor the signers\' owners a matter of the token; links and messages stay safe', async () => {
  const version = await import('../../ui/version.js');
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64');
  const base = '/v1/configs/n/c';
  const answers = {
    [`${base}/versions/2`]: {version: 2, digest: 'sha256:' + 'ab'.repeat(32), created_at: 't', created_by: 'ci',
      message: '<i>x</i>', link: 'javascript:alert(1)', tags: [], config: {spec: {lr: 0.2}},
      envelope: {signatures: [{keyid: 'k1'}]},
      receipt: {payload: b64({namespace: 'n', name: 'c', version: 2, audit_index: 4}), signatures: [{keyid: 'rk'}]}},
    [`${base}/tags`]: {tags: []},
    [`${base}/versions/2/verdicts`]: {verdicts: [], jobs: []},
    '/v1/keys': {keys: []},
    [`${base}/versions?page_size=1`]: {versions: [{version: 2}]},
    [`${base}/versions/2/diff?against=previous`]: {a: {version: 1}, b: {version: 2}, equal: false,
      changes: [{path: 'spec.lr', kind: 'changed', old: 0.1, new: 0.2}]},
  };
  delete answers['/v1/keys'];
  fakeFetch((p) => (answers[p] ? {status: 200, body: answers[p]}
    : {status: p.endsWith('/keys') ? 503 : 404, body: {title: 'Service Unavailable', detail: 'db down'}}));
  const main = document.createElement('div');
  await version.render(main, {ns: 'n', name: 'c', n: '2'});
  const receipt = byId(main, 'receipt').textContent;
  assert.match(receipt, /rk \(the registry's keys could not be read\)/, receipt);
  assert.doesNotMatch(receipt, /not among/);
  const sigs = byId(main, 'signatures').textContent;
  assert.match(sigs, /Key owners could not be read \(503 Service Unavailable: db down\)/, sigs);
  for (const href of all(main, is('a')).map((a) => a.getAttribute('href'))) assert.ok(href.startsWith('#/'), href);
  assert.equal(all(main, is('i')).length, 0);
  assert.ok(main.textContent.includes('javascript:alert(1)'));
});

test('settings with the registry out of reach: the pinned key\'s status says its keys could not be read, not that it is foreign', async () => {
  const settings = await import('../../ui/settings.js');
  local.set(m.REGISTRY_KEY, PEM);
  globalThis.fetch = async () => { throw new TypeError('Failed to fetch'); };
  globalThis.window = {dispatchEvent() {}};
  const main = document.createElement('main');
  await settings.render(main);
  const st = byId(main, 'key-status');
  assert.equal(st.getAttribute('data-state'), 'unread', st.textContent);
  assert.match(st.textContent, /could not be read/);
  assert.doesNotMatch(st.textContent, /not among/);
  local.clear();
});

test('showError: what to do for 401, 403, 404, 5xx and the registry out of reach; Try again where it can help', () => {
  const panel = (err, retry) => {
    const main = document.createElement('main');
    showError(main, err, retry);
    const div = all(main, is('div', 'error'))[0];
    return {kind: div.getAttribute('data-error'), text: div.textContent, role: div.getAttribute('role'),
            links: all(div, is('a')).map((a) => a.getAttribute('href')), retry: all(div, is('button')).length};
  };
  const retry = () => {};
  let p = panel(new ApiError(401, {title: 'Unauthorized'}, '/v1/x'), retry);
  assert.equal(p.kind, '401');
  assert.equal(p.role, 'alert');
  assert.deepEqual(p.links, ['#/settings']);
  assert.equal(p.retry, 0);
  p = panel(new ApiError(403, {title: 'Forbidden', detail: 'needs auditor'}, '/v1/x'), retry);
  assert.match(p.text, /ask an admin/);
  assert.deepEqual(p.links, ['#/settings']);
  p = panel(new ApiError(404, {title: 'Not Found'}, '/v1/x'), retry);
  assert.match(p.text, /check the address/);
  assert.deepEqual(p.links, ['#/']);
  for (const status of [500, 502, 503]) {
    p = panel(new ApiError(status, null, '/v1/x'), retry);
    assert.equal(p.kind, String(status));
    assert.match(p.text, /Try again in a moment/);
    assert.equal(p.retry, 1, `Try again on ${status}`);
  }
  p = panel(new TypeError('Failed to fetch'), retry);
  assert.equal(p.kind, 'unreachable');
  assert.match(p.text, /could not be reached.*optreg-server is running/);
  assert.equal(p.retry, 1);
  assert.equal(panel(new TypeError('Failed to fetch')).retry, 0, 'no button without a way to retry');
  p = panel(new Error('"x" is not a version number'), retry);
  assert.equal(p.kind, 'other');
  assert.equal(p.retry, 0);
});

await run();
