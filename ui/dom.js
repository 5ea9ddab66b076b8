// ui/dom.js: building DOM nodes without innerHTML, so nothing the registry
// returns is ever parsed as markup.

// h('a', {href: '#/', class: 'x', dataset: {k: 'v'}, on: {click: fn}},
//   'text', node, [more, children]) -> Element. Attribute values are set
// with setAttribute; `null`/`undefined`/`false` attributes and children
// are skipped; strings become text nodes.
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  add(el, children);
  return el;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

// The same for SVG elements (plots).
export function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  setAttrs(el, attrs);
  add(el, children);
  return el;
}

function setAttrs(el, attrs) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'dataset') {
      for (const [dk, dv] of Object.entries(v))
        if (dv !== null && dv !== undefined) el.dataset[dk] = String(dv);
    } else if (k === 'on') {
      for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
    } else {
      el.setAttribute(k, v === true ? '' : String(v));
    }
  }
}

// Appends children to `el` as h() does: arrays flattened, null,
// undefined and false skipped, anything else but a node as a text node
// (Element.append would write "null" or an array's toString).
export function add(el, ...children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

// Replaces the children of `el`.
export function replace(el, ...children) {
  el.replaceChildren();
  add(el, children);
}

// A short form of a sha256:… digest for tables (the full one in `title`).
export function shortDigest(d) {
  if (typeof d !== 'string') return '';
  const hex = d.startsWith('sha256:') ? d.slice(7) : d;
  return 'sha256:' + hex.slice(0, 12) + '…';
}

// An RFC 3339 time shown as UTC "YYYY-MM-DD HH:MM:SS" (as the CLI shows).
export function when(t) {
  if (!t) return '';
  const d = new Date(t);
  if (Number.isNaN(d.getTime())) return String(t);
  return d.toISOString().replace('T', ' ').replace(/\.\d+Z$|Z$/, ' UTC');
}

// A <time> element with the full time as its datetime attribute.
export function timeEl(t) {
  return h('time', {datetime: t || null, title: t || null}, when(t));
}

// Encodes one path segment for the REST API or a #/ link.
export const seg = encodeURIComponent;
