// ui/page.js: DOM pieces the pages share (signers, links, badges,
// sections, notes) and the shell's error panel.
import {h} from './dom.js';
import {api, ApiError, token} from './api.js';
import {safeUrl} from './model.js';

// {keys: keyid -> key, readable, error}: the registered keys when the
// token may list them (else an empty map, readable false, and the error).
export async function keyMap() {
  try {
    const {keys} = await api('/v1/keys');
    return {keys: new Map((keys || []).map((k) => [k.keyid, k])), readable: true, error: null};
  } catch (e) {
    return {keys: new Map(), readable: false, error: e};
  }
}

export function signerNames(keyids, keys) {
  return (keyids || []).map((id) => {
    const k = keys.get(id);
    return h('span', {class: 'signer', title: id, dataset: {keyid: id}},
      k ? k.principal : id.slice(0, 12) + '…');
  });
}

// A submitter's link: a link when it is http(s), else its text.
export function linkTo(url) {
  const u = safeUrl(url);
  return u ? h('a', {href: u, rel: 'noopener noreferrer', target: '_blank', class: 'ext', title: u}, 'link')
    : h('span', {class: 'mono'}, url);
}

// A result (pass, fail, pending…) as a badge: data-result is the state,
// the text `label` or the state; `attrs` adds attributes (an id).
export function verdictBadge(state, label, attrs) {
  return h('span', {...attrs, class: 'badge', dataset: {result: state}}, label || state);
}

// A section with its h2, labelled by it: `${id}-h`.
export function section(id, title, ...body) {
  return h('section', {id, 'aria-labelledby': `${id}-h`}, h('h2', {id: `${id}-h`}, title), body);
}

// A note on what could not be shown, or why.
export function note(...text) {
  return h('p', {class: 'note'}, text);
}

// A link to an element of the current page: the hash is the router's, so
// it keeps `routeHash` as its href (opening it in a new tab shows the
// page) and scrolls to `id` when followed here.
export function jumpLink(routeHash, id, text, attrs = {}) {
  const a = h('a', {...attrs, href: routeHash}, text);
  a.addEventListener('click', (ev) => {
    const el = document.getElementById(id);
    if (!el) return;
    ev.preventDefault();
    el.scrollIntoView({block: 'start'});
    if (!el.hasAttribute('tabindex')) el.setAttribute('tabindex', '-1');
    el.focus({preventScroll: true});
  });
  return a;
}

// An API failure in one line, for a section that could not be filled
// while the rest of the page could.
export function errText(e) {
  if (e instanceof ApiError) return `${e.status} ${e.problem.title || e.problem.code || ''}: ${e.message}`;
  return String(e && e.message ? e.message : e);
}

// Shows an error in `main`: what failed, the registry's detail and hint,
// what to do about it (no token, no grant, not found, the registry
// failing or out of reach), and, with `retry`, a button that runs it.
export function showError(main, err, retry) {
  const rows = [];
  let kind = 'other';
  if (err instanceof ApiError) {
    const p = err.problem;
    kind = String(err.status);
    rows.push(h('p', {class: 'error-title'}, `${err.status} ${p.title || p.code || 'error'}`));
    if (p.detail) rows.push(h('p', null, p.detail));
    if (p.hint) rows.push(h('p', {class: 'hint'}, p.hint));
    if (err.status === 401)
      rows.push(h('p', null, token() ? 'The registry refused the token: it may have expired or been revoked. '
                                     : 'The registry needs a token to show this. ',
                  h('a', {href: '#/settings'}, 'Enter a token'), '.'));
    else if (err.status === 403)
      rows.push(h('p', null, 'Your token lacks the role this needs; ask an admin for a token with it, then ',
                  h('a', {href: '#/settings'}, 'enter it'), '.'));
    else if (err.status === 404)
      rows.push(h('p', null, 'There is nothing by that name here, or not for this token: check the address, or find it in ',
                  h('a', {href: '#/'}, 'the list of configs'), '.'));
    else if (err.status >= 500)
      rows.push(h('p', null, 'The registry failed to answer. Try again in a moment; if it keeps failing, ',
                  'its operator will find the cause in the registry\'s log.'));
  } else if (err instanceof TypeError) {
    kind = 'unreachable';
    rows.push(h('p', {class: 'error-title'}, 'The registry could not be reached'));
    rows.push(h('p', null, 'Check that optreg-server is running and that this machine can reach ',
                h('code', null, globalThis.location ? globalThis.location.origin : 'it'), ', then try again.'));
    rows.push(h('p', {class: 'muted'}, String(err.message)));
  } else {
    rows.push(h('p', {class: 'error-title'}, 'Something went wrong'));
    rows.push(h('p', null, String(err && err.message ? err.message : err)));
  }
  if (retry && (kind === 'unreachable' || Number(kind) >= 500))
    rows.push(h('p', null, h('button', {type: 'button', id: 'retry', on: {click: () => retry()}}, 'Try again')));
  main.append(h('div', {class: 'error', role: 'alert', 'data-error': kind}, rows));
}
