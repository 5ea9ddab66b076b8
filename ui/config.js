// ui/config.js: placeholder until its page lands.
import {h} from './dom.js';

export async function render(main, params) {
  document.title = 'config · optreg';
  main.append(h('h1', null, 'config'), h('p', null, 'Not written yet.'));
}
