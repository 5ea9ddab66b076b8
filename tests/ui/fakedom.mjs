// tests/ui/fakedom.mjs: a small fake DOM (document, Node, sessionStorage
// in `store`, localStorage in `local`)
// for the page's modules under node; imported by the *_test.mjs suites
// before the modules they test. Not a suite itself.

export class FakeNode {}
export class FakeText extends FakeNode {
  constructor(t) {
    super();
    this.text = String(t);
  }
  get textContent() {
    return this.text;
  }
}
export class FakeElement extends FakeNode {
  constructor(tag, ns) {
    super();
    this.tagName = tag;
    this.ns = ns || null;
    this.attrs = new Map();
    this.children = [];
    const self = this;
    this.dataset = new Proxy({}, {
      set(_, k, v) {
        self.setAttribute('data-' + k.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase()), v);
        return true;
      },
      get(_, k) {
        return self.getAttribute('data-' + String(k).replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())) ?? undefined;
      },
    });
  }
  setAttribute(k, v) {
    this.attrs.set(k, String(v));
  }
  getAttribute(k) {
    return this.attrs.has(k) ? this.attrs.get(k) : null;
  }
  hasAttribute(k) {
    return this.attrs.has(k);
  }
  addEventListener() {}
  append(...cs) {
    for (const c of cs) this.children.push(c instanceof FakeNode ? c : new FakeText(c));
  }
  replaceChildren(...cs) {
    this.children = [];
    this.append(...cs);
  }
  get textContent() {
    return this.children.map((c) => c.textContent).join('');
  }
  get classList() {
    return (this.getAttribute('class') || '').split(/\s+/).filter(Boolean);
  }
}
globalThis.Node = FakeNode;
globalThis.document = {
  title: '',
  createElement: (t) => new FakeElement(t),
  createElementNS: (ns, t) => new FakeElement(t, ns),
  createTextNode: (t) => new FakeText(t),
};
export const store = new Map();
const storage = (m) => ({getItem: (k) => m.get(k) ?? null, setItem: (k, v) => m.set(k, String(v)),
                          removeItem: (k) => m.delete(k)});
globalThis.sessionStorage = storage(store);
export const local = new Map();
globalThis.localStorage = storage(local);

// Every element under `root` (itself included) for which pred(el) holds.
export function all(root, pred = () => true) {
  const out = [];
  const walk = (n) => {
    if (!(n instanceof FakeElement)) return;
    if (pred(n)) out.push(n);
    n.children.forEach(walk);
  };
  walk(root);
  return out;
}
export const is = (tag, cls) => (e) => e.tagName === tag && (!cls || e.classList.includes(cls));
export const byId = (root, id) => all(root, (e) => e.getAttribute('id') === id)[0];
