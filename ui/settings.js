// ui/settings.js: #/settings — the API token (kept in this tab's
// sessionStorage, cleared by a button), whether the registry answers
// reads without one, and the registry public key the audit page checks
// checkpoints against (pinned in localStorage `optreg.registryKey`).
import {add, h, replace, timeEl} from './dom.js';
import {api, ApiError, setToken, token} from './api.js';
import {REGISTRY_KEY, isPublicKeyPem, pemBody, pinnedKey} from './model.js';
import {note} from './page.js';

function status(id) {
  return h('p', {id, class: 'status', role: 'status', 'aria-live': 'polite'});
}

// Whether the registry answers a read without a token: 'open', 'closed'
// (401) or 'unknown'.
async function anonymousReads() {
  try {
    const res = await fetch('/v1/configs?page_size=1', {headers: {Accept: 'application/json'},
      credentials: 'omit', cache: 'no-store'});
    if (res.ok) return 'open';
    if (res.status === 401) return 'closed';
    return 'unknown';
  } catch (e) {
    return 'unknown';
  }
}

async function checkToken(el) {
  if (!token()) {
    replace(el, 'No token is set: the page reads anonymously.');
    el.dataset.state = 'none';
    return;
  }
  replace(el, 'Checking the token…');
  try {
    await api('/v1/configs?page_size=1');
    replace(el, 'A token is set for this tab, and the registry accepts it.');
    el.dataset.state = 'ok';
  } catch (e) {
    el.dataset.state = e instanceof ApiError ? String(e.status) : 'unreachable';
    replace(el, e instanceof ApiError && e.status === 401
      ? 'A token is set, but the registry refuses it (expired, revoked or mistyped).'
      : `A token is set; checking it failed: ${e.message}`);
  }
}

// `keys`: the registry's keys, or null when they could not be read.
function keyStatus(el, keys) {
  const pinned = localStorage.getItem(REGISTRY_KEY) || '';
  if (!pinned) {
    el.dataset.state = 'none';
    replace(el, 'No key is pinned: the audit page checks checkpoints against the keys the registry serves and says so.');
    return;
  }
  if (keys === null) {
    el.dataset.state = 'unread';
    replace(el, 'A key is pinned; whether this registry serves it could not be told, since its keys could not be read.');
    return;
  }
  const k = pinnedKey(pinned, keys);
  el.dataset.state = k ? (k.retired_at ? 'retired' : 'current') : 'unknown';
  replace(el, k ? ['The pinned key is the registry\'s ', k.retired_at ? 'retired' : 'current', ' key ',
    h('code', {class: 'keyid'}, k.keyid), '.']
    : 'A key is pinned, and it is not among the keys this registry serves: checkpoints signed by this registry will fail the check.');
}

export async function render(main) {
  document.title = 'Settings · optreg';
  const keys = await api('/v1/registry/keys').then((r) => r.keys || []).catch(() => null);

  // Anonymous reads: asked on demand, since a refused read shows in the
  // browser's console as an error.
  const anonStatus = h('p', {id: 'anonymous-reads', role: 'status', 'aria-live': 'polite'});
  const anonButton = h('button', {type: 'button', id: 'check-anonymous'}, 'Check reads without a token');
  anonButton.addEventListener('click', async () => {
    replace(anonStatus, 'Asking the registry…');
    const anon = await anonymousReads();
    anonStatus.dataset.state = anon;
    replace(anonStatus, anon === 'open' ? 'Reads work without a token: anyone who can reach this registry can read its configs.'
      : anon === 'closed' ? 'Reads need a token here: enter one above.'
        : 'Whether reads work without a token could not be told.');
  });

  // The token.
  const tokenInput = h('input', {type: 'password', id: 'token', name: 'token', autocomplete: 'off',
    spellcheck: 'false', placeholder: token() ? 'a token is set' : 'optreg_…', 'aria-describedby': 'token-help'});
  const tokenStatus = status('token-status');
  const clearToken = h('button', {type: 'button', id: 'clear-token'}, 'Clear token');
  const tokenForm = h('form', {class: 'settings', 'aria-labelledby': 'token-h'},
    h('label', {for: 'token'}, 'API token'), tokenInput,
    h('div', {class: 'buttons'},
      h('button', {type: 'submit', id: 'save-token'}, 'Save token'),
      clearToken),
    h('p', {id: 'token-help', class: 'muted'}, 'Kept in this tab\'s sessionStorage only (gone when the tab closes) and sent as ',
      h('code', null, 'Authorization: Bearer'), ' to this registry. A reader token is enough for every page but the audit log, which needs auditor.'));
  tokenForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const t = tokenInput.value.trim();
    if (!t) {
      replace(tokenStatus, 'Paste a token first (or use Clear token).');
      return;
    }
    setToken(t);
    tokenInput.value = '';
    tokenInput.placeholder = 'a token is set';
    window.dispatchEvent(new Event('optreg:token'));
    await checkToken(tokenStatus);
  });
  clearToken.addEventListener('click', async () => {
    setToken('');
    tokenInput.value = '';
    tokenInput.placeholder = 'optreg_…';
    window.dispatchEvent(new Event('optreg:token'));
    await checkToken(tokenStatus);
  });

  // The pinned registry key.
  const keyInput = h('textarea', {id: 'registry-key', name: 'registry-key', rows: '5', spellcheck: 'false',
    class: 'mono', placeholder: '-----BEGIN PUBLIC KEY-----\n…\n-----END PUBLIC KEY-----',
    'aria-describedby': 'key-help'});
  keyInput.value = localStorage.getItem(REGISTRY_KEY) || '';
  const keyStat = status('key-status');
  const clearKey = h('button', {type: 'button', id: 'clear-key'}, 'Unpin key');
  const keyForm = h('form', {class: 'settings', 'aria-labelledby': 'key-h'},
    h('label', {for: 'registry-key'}, 'Pinned registry public key'), keyInput,
    h('div', {class: 'buttons'},
      h('button', {type: 'submit', id: 'save-key'}, 'Pin key'),
      clearKey),
    h('p', {id: 'key-help', class: 'muted'}, 'The registry\'s Ed25519 public key (SPKI PEM), from its operator ',
      '(', h('code', null, '.optreg/registry-key.pub.pem'), ' for ', h('code', null, 'make run'), '), not from this page: ',
      'the audit page checks the log\'s checkpoint against it, so a server that rewrote the log cannot also vouch for itself. ',
      'Kept in localStorage for this site.'));
  keyForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const pem = keyInput.value.trim();
    if (!isPublicKeyPem(pem)) {
      keyStat.dataset.state = 'invalid';
      replace(keyStat, 'That is not a public key PEM (-----BEGIN PUBLIC KEY----- … -----END PUBLIC KEY-----); nothing was pinned.');
      return;
    }
    const body = pemBody(pem).replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
    localStorage.setItem(REGISTRY_KEY, `-----BEGIN PUBLIC KEY-----\n${body}\n-----END PUBLIC KEY-----\n`);
    keyInput.value = localStorage.getItem(REGISTRY_KEY);
    keyStatus(keyStat, keys);
  });
  clearKey.addEventListener('click', () => {
    localStorage.removeItem(REGISTRY_KEY);
    keyInput.value = '';
    keyStatus(keyStat, keys);
  });

  add(main,
    h('h1', null, 'Settings'),
    h('section', {'aria-labelledby': 'token-h'}, h('h2', {id: 'token-h'}, 'Token'), tokenForm, tokenStatus),
    h('section', {'aria-labelledby': 'anon-h'}, h('h2', {id: 'anon-h'}, 'Anonymous reads'),
      h('p', {class: 'muted'}, 'Whether this registry answers reads without a token (it runs with --anonymous-read). ',
        'The audit log always needs an auditor token.'),
      anonButton, anonStatus),
    h('section', {'aria-labelledby': 'key-h'}, h('h2', {id: 'key-h'}, 'Registry key'), keyForm, keyStat,
      keys === null ? note('The registry\'s keys could not be read.')
        : h('div', {class: 'table-wrap'}, h('table', {id: 'registry-keys'},
          h('caption', null, 'Keys this registry serves (GET /v1/registry/keys)'),
          h('thead', null, h('tr', null, h('th', {scope: 'col'}, 'Key id'), h('th', {scope: 'col'}, 'Since'),
            h('th', {scope: 'col'}, 'Retired'))),
          h('tbody', null, keys.map((k) => h('tr', {dataset: {keyid: k.keyid}},
            h('td', {class: 'mono keyid'}, k.keyid), h('td', null, timeEl(k.created_at)),
            h('td', null, k.retired_at ? timeEl(k.retired_at) : 'current'))))))));
  await checkToken(tokenStatus);
  keyStatus(keyStat, keys);
}
