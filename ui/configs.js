// ui/configs.js: placeholder until its page lands.
import {h} from './dom.js';

export async function render(main, params) {
  document.title = 'configs · optreg';
  main.append(h('h1', null, 'configs'), h('p', null, 'Not written yet.'));
}
