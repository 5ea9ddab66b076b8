// ui/policies.js: placeholder until its page lands.
import {h} from './dom.js';

export async function render(main, params) {
  document.title = 'policies · optreg';
  main.append(h('h1', null, 'policies'), h('p', null, 'Not written yet.'));
}
