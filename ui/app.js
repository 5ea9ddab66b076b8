// ui/app.js: the page's shell: the #/ router, the error panel and the
// "who am I" line. Each route is a module under ui/ exporting
//   render(main, params, query) -> Promise<void>
// that fills `main` (already emptied), sets document.title, and throws
// (ApiError or Error) to have the shell show the problem.
import {h, replace} from './dom.js';
import {token} from './api.js';
import {showError} from './page.js';

// Patterns are matched against the hash path, segment by segment;
// `:name` captures one (percent-decoded) segment.
const ROUTES = [
  ['', './configs.js'],
  ['c/:ns/:name', './config.js'],
  ['c/:ns/:name/v/:n', './version.js'],
  ['c/:ns/:name/v/:n/verdicts/:job', './verdict.js'],
  ['audit', './audit.js'],
  ['policies', './policies.js'],
  ['settings', './settings.js'],
];

function match(path) {
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
    if (ok) return {mod, params, section: ps[0] || 'configs'};
  }
  return null;
}

// The current location: '#/c/ns/name?x=1' -> {path: 'c/ns/name', query}.
function location() {
  const raw = window.location.hash.replace(/^#\/?/, '');
  const q = raw.indexOf('?');
  return {
    path: q < 0 ? raw : raw.slice(0, q),
    query: new URLSearchParams(q < 0 ? '' : raw.slice(q + 1)),
  };
}

let renderSeq = 0;

async function route() {
  const main = document.getElementById('main');
  const seq = ++renderSeq;
  const {path, query} = location();
  const m = match(path);
  for (const a of document.querySelectorAll('[data-nav]'))
    if (m && a.dataset.nav === m.section) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  replace(main, h('p', {class: 'loading', role: 'status'}, 'Loading…'));
  main.setAttribute('aria-busy', 'true');
  const done = () => {
    if (seq !== renderSeq) return;
    main.removeAttribute('aria-busy');
    main.querySelector('.loading[role=status]')?.remove();
    main.dataset.ready = 'true';
  };
  delete main.dataset.ready;
  if (!m) {
    replace(main, h('h1', null, 'Not found'),
            h('p', null, 'No page here. ', h('a', {href: '#/'}, 'See the configs'), '.'));
    document.title = 'Not found · optreg';
    done();
    return;
  }
  try {
    const mod = await import(m.mod);
    if (seq !== renderSeq) return;
    const page = h('div', {class: 'page'});
    await mod.render(page, m.params, query);
    if (seq !== renderSeq) return;
    replace(main, page);
  } catch (err) {
    if (seq !== renderSeq) return;
    replace(main);
    showError(main, err, route);
    if (!document.title.includes('optreg')) document.title = 'Error · optreg';
  }
  done();
}

function whoami() {
  const el = document.getElementById('whoami');
  replace(el, token() ? 'token set' : 'anonymous', ' · ', h('a', {href: '#/settings'}, token() ? 'change' : 'enter token'));
}

window.addEventListener('hashchange', () => {
  // A new page starts at its top (the focus stays where it was, so Tab
  // goes on from the link or control that was used).
  window.scrollTo(0, 0);
  route();
  whoami();
});
window.addEventListener('optreg:token', whoami);
// "Skip to content" moves the focus to the page without touching the
// hash (the router's).
document.querySelector('a.skip')?.addEventListener('click', (ev) => {
  ev.preventDefault();
  document.getElementById('main').focus();
});
whoami();
route();
