// ui/configs.js: #/ — the configs the caller may read, by namespace,
// with the API's search (`q`, a substring of the name), a namespace
// filter and paging (#/?q=&namespace=&page_token=).
import {h, shortDigest, timeEl} from './dom.js';
import {api} from './api.js';
import {configHash, configsHash, configsPath, groupByNamespace} from './model.js';

function searchForm(query) {
  const q = h('input', {type: 'search', id: 'q', name: 'q', value: query.get('q') || '',
    placeholder: 'part of a name', autocomplete: 'off'});
  const ns = h('input', {type: 'text', id: 'ns', name: 'namespace', value: query.get('namespace') || '',
    placeholder: 'any', autocomplete: 'off', spellcheck: 'false'});
  const form = h('form', {class: 'filters', role: 'search', 'aria-label': 'Configs'},
    h('label', {for: 'q'}, 'Search configs'), q,
    h('label', {for: 'ns'}, 'Namespace'), ns,
    h('button', {type: 'submit'}, 'Search'),
    (query.get('q') || query.get('namespace')) ? h('a', {href: '#/', class: 'clear'}, 'Clear') : null);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    window.location.hash = configsHash({q: q.value.trim(), namespace: ns.value.trim()});
  });
  return form;
}

function configsTable(ns, list) {
  return h('section', {class: 'ns', 'aria-labelledby': `ns-${ns}`},
    h('h2', {id: `ns-${ns}`},
      h('a', {href: configsHash({namespace: ns}), title: `Only namespace ${ns}`}, ns)),
    h('div', {class: 'table-wrap'},
      h('table', {class: 'configs'},
        h('thead', null, h('tr', null,
          h('th', {scope: 'col'}, 'Config'), h('th', {scope: 'col'}, 'Latest'),
          h('th', {scope: 'col', class: 'hide-narrow'}, 'Digest'), h('th', {scope: 'col'}, 'Updated'))),
        h('tbody', null, list.map((c) => h('tr', null,
          h('td', null, h('a', {href: configHash(c.namespace, c.name),
            dataset: {config: `${c.namespace}/${c.name}`}}, c.name)),
          h('td', null, c.latest_version === null || c.latest_version === undefined ? '—'
            : h('a', {href: configHash(c.namespace, c.name, 'v', c.latest_version),
              'aria-label': `${c.name} version ${c.latest_version}`}, `v${c.latest_version}`)),
          h('td', {class: 'mono hide-narrow', title: c.latest_digest || null}, shortDigest(c.latest_digest)),
          h('td', null, timeEl(c.updated_at))))))));
}

export async function render(main, params, query) {
  document.title = 'Configs · optreg';
  const page = await api(configsPath(query));
  const configs = page.configs || [];
  const filtered = !!(query.get('q') || query.get('namespace'));
  main.append(h('h1', null, 'Configs'), searchForm(query));
  const groups = groupByNamespace(configs);
  const summary = configs.length === 0
    ? (filtered ? 'No config matches.' : 'No configs yet (or none this token may read).')
    : `${configs.length} config${configs.length === 1 ? '' : 's'} in ${groups.length} namespace${groups.length === 1 ? '' : 's'}` +
      (query.get('page_token') || page.next_page_token ? ' on this page.' : '.');
  main.append(h('p', {class: 'muted', id: 'configs-summary', role: 'status'}, summary));
  for (const [ns, list] of groups) main.append(configsTable(ns, list));
  const nav = [];
  const base = {q: query.get('q') || '', namespace: query.get('namespace') || ''};
  if (query.get('page_token')) nav.push(h('a', {href: configsHash(base), rel: 'first'}, 'First page'));
  if (page.next_page_token)
    nav.push(h('a', {href: configsHash({...base, page_token: page.next_page_token}), rel: 'next'}, 'Next page'));
  if (nav.length) main.append(h('nav', {class: 'pager', 'aria-label': 'Pages of configs'}, nav));
}
