// ui/verdict.js: placeholder until its page lands.
import {h} from './dom.js';

export async function render(main, params) {
  document.title = 'verdict · optreg';
  main.append(h('h1', null, 'verdict'), h('p', null, 'Not written yet.'));
}
