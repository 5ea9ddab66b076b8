// ui/settings.js: placeholder until its page lands.
import {h} from './dom.js';

export async function render(main, params) {
  document.title = 'settings · optreg';
  main.append(h('h1', null, 'settings'), h('p', null, 'Not written yet.'));
}
