// ui/page.js: DOM pieces the config, version and policies pages share.
import {h} from './dom.js';
import {api, ApiError} from './api.js';
import {safeUrl} from './model.js';

// {keys: keyid -> key, readable}: the registered keys when the token may
// list them (else an empty map and readable false).
export async function keyMap() {
  try {
    const {keys} = await api('/v1/keys');
    return {keys: new Map((keys || []).map((k) => [k.keyid, k])), readable: true};
  } catch (e) {
    return {keys: new Map(), readable: false};
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

export function verdictBadge(state, label) {
  return h('span', {class: 'badge', dataset: {result: state}}, label || state);
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

// Appends children to `el` as h() does: arrays flattened, null,
// undefined and false skipped, strings as text (Element.append would
// write "null" or an array's toString).
export function add(el, ...children) {
  for (const c of children.flat(Infinity))
    if (c !== null && c !== undefined && c !== false) el.append(c instanceof Node ? c : String(c));
}

// An API failure in one line, for a section that could not be filled
// while the rest of the page could.
export function errText(e) {
  if (e instanceof ApiError) return `${e.status} ${e.problem.title || e.problem.code || ''}: ${e.message}`;
  return String(e && e.message ? e.message : e);
}
