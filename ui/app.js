// ui/app.js: the page's shell: the #/ router (its routes: model.js
// matchRoute), the error panel (page.js showError) and the "who am I"
// line. Each route is a module under ui/ exporting
//   render(main, params, query) -> Promise<void>
// that fills `main` (already emptied), sets document.title, and throws
// (ApiError or Error) to have the shell show the problem.
import {h, replace} from './dom.js';
import {token} from './api.js';
import {matchRoute} from './model.js';
import {showError} from './page.js';

let renderSeq = 0;

async function route() {
  const main = document.getElementById('main');
  const seq = ++renderSeq;
  const {m, query} = matchRoute(window.location.hash);
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
    // A module that failed to load stays failed for this document:
    // after the registry was out of reach, trying again is a reload.
    showError(main, err, err instanceof TypeError ? () => window.location.reload() : route);
    if (!document.title.includes('optreg')) document.title = 'Error · optreg';
  }
  done();
}

// The "who am I" line, rewritten only when the token came or went: it is
// a live region, and a screen reader would read it out again on every page.
let shownAs = null;
function whoami() {
  const el = document.getElementById('whoami');
  const set = !!token();
  if (set === shownAs) return;
  shownAs = set;
  replace(el, set ? 'token set' : 'anonymous', ' · ', h('a', {href: '#/settings'}, set ? 'change' : 'enter token'));
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
