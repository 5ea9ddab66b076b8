// ui/audit.js: placeholder until its page lands.
import {h} from './dom.js';

export async function render(main, params) {
  document.title = 'audit · optreg';
  main.append(h('h1', null, 'audit'), h('p', null, 'Not written yet.'));
}
