// ui/config.js: #/c/NS/NAME — one config: its versions (digest, who
// submitted and signed it, when, why, yanked, the latest verdict on the
// reference suite), its tags and each tag's history of moves.
import {add, h, seg, shortDigest, timeEl} from './dom.js';
import {api, apiAll, mapLimit} from './api.js';
import {configApi, configHash, configsHash, verdictState} from './model.js';
import {errText, jumpLink, keyMap, linkTo, note, signerNames, verdictBadge} from './page.js';

const MAX_VERSIONS = 500;

function verdictCell(base, v, item) {
  const state = verdictState(item);
  const label = state === 'none' && item.job_state === 'abandoned' ? 'abandoned'
    : state === 'none' ? 'none' : state;
  const badge = verdictBadge(state, label);
  if (item.verdict && item.verdict.job_id !== undefined && item.verdict.job_id !== null)
    return h('td', null, h('a', {href: `${base}/v/${seg(v.version)}/verdicts/${seg(item.verdict.job_id)}`,
      'aria-label': `verdict ${label} on ${item.verdict.suite || 'the reference suite'}, version ${v.version}`}, badge),
      item.verdict.suite ? h('span', {class: 'muted small'}, ' ', item.verdict.suite) : null);
  return h('td', null, badge);
}

function versionsTable(base, versions, verdicts, keys, withSigners) {
  return h('div', {class: 'table-wrap'}, h('table', {id: 'versions'},
    h('thead', null, h('tr', null,
      h('th', {scope: 'col'}, 'Version'), h('th', {scope: 'col'}, 'Verdict'),
      h('th', {scope: 'col'}, 'Digest'),
      h('th', {scope: 'col'}, 'Submitted'),
      withSigners ? h('th', {scope: 'col'}, 'Signed by') : null,
      h('th', {scope: 'col'}, 'Why'), h('th', {scope: 'col'}, 'Tags'))),
    h('tbody', null, versions.map((v, i) => {
      const item = verdicts[i];
      return h('tr', {dataset: {version: v.version, verdict: verdictState(item), yanked: v.yanked ? 'true' : null},
        class: v.yanked ? 'yanked' : null},
        h('td', null, h('a', {href: `${base}/v/${seg(v.version)}`}, `v${v.version}`),
          v.yanked ? h('span', {class: 'badge yanked-badge', title: v.yank_reason || null}, 'yanked') : null),
        verdictCell(base, v, item),
        h('td', {class: 'mono', title: v.digest}, shortDigest(v.digest)),
        h('td', null, timeEl(v.created_at), h('br'), h('span', {class: 'muted'}, v.created_by || '')),
        withSigners ? h('td', null, signerNames(v.signer_keyids, keys)) : null,
        h('td', {class: 'why'},
          v.message ? h('span', null, v.message) : null,
          v.link ? [v.message ? ' ' : null, linkTo(v.link)] : null,
          v.yanked && v.yank_reason ? h('div', {class: 'yank-reason'}, 'yanked: ', v.yank_reason) : null,
          !v.message && !v.link && !v.yanked ? h('span', {class: 'muted'}, '—') : null),
        h('td', null, (v.tags || []).map((t) => h('span', {class: 'tag'}, t))));
    }))));
}

function tagsTable(base, tags) {
  return h('div', {class: 'table-wrap'}, h('table', {id: 'tags'},
    h('thead', null, h('tr', null,
      h('th', {scope: 'col'}, 'Tag'), h('th', {scope: 'col'}, 'Version'),
      h('th', {scope: 'col', class: 'hide-narrow'}, 'Digest'), h('th', {scope: 'col'}, 'Moved'))),
    h('tbody', null, tags.map((t) => h('tr', {dataset: {tag: t.tag, version: t.version}},
      h('td', null, jumpLink(base, `th-${t.tag}`, t.tag, {class: 'tag', 'aria-label': `tag ${t.tag}: its history`})),
      h('td', null, h('a', {href: `${base}/v/${seg(t.version)}`}, `v${t.version}`)),
      h('td', {class: 'mono hide-narrow', title: t.digest}, shortDigest(t.digest)),
      h('td', null, timeEl(t.updated_at), ' ', h('span', {class: 'muted'}, t.updated_by || '')))))));
}

function moveItem(base, m) {
  return h('li', {dataset: {move: m.id, version: m.version}},
    timeEl(m.moved_at), ' ', h('span', {class: 'muted'}, m.moved_by || ''), ': ',
    m.previous_version === null || m.previous_version === undefined ? 'set to '
      : [h('a', {href: `${base}/v/${seg(m.previous_version)}`}, `v${m.previous_version}`), ' → '],
    h('a', {href: `${base}/v/${seg(m.version)}`}, `v${m.version}`),
    m.rollback ? h('span', {class: 'badge rollback'}, 'rollback') : null,
    m.reason ? [' — ', h('q', null, m.reason)] : null,
    m.link ? [' ', linkTo(m.link)] : null);
}

function tagHistory(base, tag, moves, err) {
  return h('section', {class: 'tag-history', 'aria-labelledby': `th-${tag}`},
    h('h3', {id: `th-${tag}`}, 'Tag ', h('span', {class: 'tag'}, tag)),
    err ? note(`Its history could not be read: ${errText(err)}`)
      : moves.length === 0 ? h('p', {class: 'muted'}, 'No recorded moves (made before the history existed).')
      : h('ol', {id: `tag-history-${tag}`, class: 'moves'}, moves.map((m) => moveItem(base, m))));
}

export async function render(main, params) {
  const {ns, name} = params;
  const full = `${ns}/${name}`;
  document.title = `${full} · optreg`;
  const path = configApi(ns, name);
  const base = configHash(ns, name);
  const [versions, tagsDoc, {keys}] = await Promise.all([
    apiAll(`${path}/versions?page_size=100`, 'versions', MAX_VERSIONS),
    api(`${path}/tags`),
    keyMap(),
  ]);
  const tags = tagsDoc.tags || [];
  // The latest verdict per version comes with the list (`verdict`,
  // `job_state`): the page is served by the registry it reads, so the two
  // are always of one version.
  const verdicts = versions.map((v) => ({verdict: v.verdict ?? null, job_state: v.job_state ?? null}));
  const histories = await mapLimit(tags, 4, async (t) => {
    try {
      return {moves: await apiAll(`${configApi(ns, name, 'tags', t.tag, 'history')}?page_size=100`, 'moves', 200)};
    } catch (e) {
      return {moves: [], err: e};
    }
  });
  const withSigners = versions.some((v) => Array.isArray(v.signer_keyids));
  add(main,
    h('nav', {class: 'crumbs', 'aria-label': 'Breadcrumb'},
      h('a', {href: '#/'}, 'Configs'), ' / ', h('a', {href: configsHash({namespace: ns})}, ns), ' / ', name),
    h('h1', null, full),
    h('p', {class: 'muted'}, `${versions.length} version${versions.length === 1 ? '' : 's'}` +
      (versions.length >= MAX_VERSIONS ? ` (the newest ${MAX_VERSIONS})` : '') +
      `, ${tags.length} tag${tags.length === 1 ? '' : 's'}. Verdicts are the latest on the reference suite.`),
    h('h2', null, 'Versions'),
    versions.length ? versionsTable(base, versions, verdicts, keys, withSigners) : h('p', null, 'No versions.'),
    h('h2', null, 'Tags'),
    tags.length ? tagsTable(base, tags) : h('p', {class: 'muted'}, 'No tags.'),
    tags.length ? h('h2', null, 'Tag history') : null,
    tags.map((t, i) => tagHistory(base, t.tag, histories[i].moves, histories[i].err)));
}
