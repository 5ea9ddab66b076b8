// ui/version.js: placeholder until its page lands.
import {h} from './dom.js';

export async function render(main, params) {
  document.title = 'version · optreg';
  main.append(h('h1', null, 'version'), h('p', null, 'Not written yet.'));
}
