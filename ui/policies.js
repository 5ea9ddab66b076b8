// ui/policies.js: #/policies — the policies that apply now (mode,
// namespaces, the tags their gates protect, and each rule under what it
// does: deny, warn or audit) and the waivers in force.
import {add, h, seg, timeEl} from './dom.js';
import {api, apiAll, mapLimit} from './api.js';
import {ruleText, rulesByEffect} from './model.js';
import {errText, jumpLink, note, section} from './page.js';

const EFFECTS = [
  ['deny', 'Denies', 'A finding refuses the submit or tag move (422 policy_denied).'],
  ['warn', 'Warns', 'A finding is returned with the accepted submit or move.'],
  ['audit', 'Records', 'Audit mode: a finding is recorded in the answer, never blocks or warns.'],
];


function rulesTable(name, effect, rules) {
  return h('div', {class: 'table-wrap'}, h('table', {class: 'rules', dataset: {effect}},
    h('thead', null, h('tr', null, h('th', {scope: 'col'}, 'Rule'), h('th', {scope: 'col'}, 'Checks'),
      h('th', {scope: 'col'}, 'Why'))),
    h('tbody', null, rules.map((r) => h('tr', {dataset: {rule: r.id, effect, severity: r.severity}},
      h('td', {class: 'mono'}, r.id, r.against ? h('div', {class: 'muted small'}, 'change rule') : null),
      h('td', null, h('code', null, ruleText(r))),
      h('td', null, r.message || '', r.hint ? h('div', {class: 'hint'}, 'Hint: ', r.hint) : null))))));
}

function gatesList(gates) {
  return h('ul', {class: 'gates'}, gates.map((g) => h('li', {dataset: {gate: (g.tags || []).join(',')}},
    'Protects tag', (g.tags || []).length === 1 ? ' ' : 's ',
    (g.tags || []).map((t, i) => [i ? ', ' : '', h('span', {class: 'tag'}, t)]),
    ': moving it needs the approver role, a reason, a version that is not yanked and a ',
    g.allow_warn ? 'pass or warn' : 'pass', ' verdict on the reference suite.')));
}

function policySection(p, detail) {
  const id = `policy-${p.name}`;
  const sec = h('section', {id, class: 'policy', 'aria-labelledby': `${id}-h`, dataset: {policy: p.name, mode: p.mode}},
    h('h2', {id: `${id}-h`}, p.name, ' ', h('span', {class: 'badge mode', dataset: {mode: p.mode}}, p.mode)),
    h('p', {class: 'muted'}, `version ${p.version} · `, `${p.rules} rule${p.rules === 1 ? '' : 's'}, `,
      `${p.gates} gate${p.gates === 1 ? '' : 's'} · pushed `, timeEl(p.created_at), ' by ', p.created_by || '?',
      p.message ? [' · ', h('q', null, p.message)] : null),
    h('p', null, 'Namespaces: ', (p.namespaces || []).map((n, i) => [i ? ', ' : '', h('code', null, n)])));
  if (detail.error) {
    sec.append(note(`Its rules could not be read (${errText(detail.error)}); a token shows them.`));
    return sec;
  }
  const pol = detail.doc.policy || {};
  if (pol.description) sec.append(h('p', null, pol.description));
  if ((pol.gates || []).length) sec.append(h('h3', null, 'Gates'), gatesList(pol.gates));
  const by = rulesByEffect(pol);
  for (const [effect, title, what] of EFFECTS) {
    if (!by[effect].length) continue;
    sec.append(h('h3', null, `${title} (${by[effect].length})`), h('p', {class: 'muted'}, what),
      rulesTable(p.name, effect, by[effect]));
  }
  return sec;
}

function waiversSection(res) {
  const sec = section('waivers', 'Waivers in force');
  if (res.error) {
    sec.append(note(`The waivers could not be read (${errText(res.error)}).`));
    return sec;
  }
  if (!res.list.length) {
    sec.append(h('p', null, 'None: every rule applies in full.'));
    return sec;
  }
  sec.append(h('div', {class: 'table-wrap'}, h('table', null,
    h('thead', null, h('tr', null, h('th', {scope: 'col'}, 'Waiver'), h('th', {scope: 'col'}, 'Exempts'),
      h('th', {scope: 'col'}, 'For'), h('th', {scope: 'col'}, 'Why'), h('th', {scope: 'col'}, 'Until'))),
    h('tbody', null, res.list.map((w) => h('tr', {dataset: {waiver: w.id, policy: w.policy, rule: w.rule}},
      h('td', {class: 'mono'}, w.id),
      h('td', null, jumpLink('#/policies', `policy-${w.policy}`, w.policy), ' / ', h('code', null, w.rule)),
      h('td', null, h('code', null, `${w.namespace}/${w.config}`)),
      h('td', null, w.reason || '', h('div', {class: 'muted small'}, 'owner ', w.owner || '?', ', granted by ',
        w.created_by || '?', ' ', timeEl(w.created_at))),
      h('td', null, timeEl(w.expires_at))))))));
  return sec;
}

export async function render(main) {
  document.title = 'Policies · optreg';
  const [{policies}, waivers] = await Promise.all([
    api('/v1/policies'),
    apiAll('/v1/waivers?page_size=100', 'waivers', 500).then((list) => ({list}), (error) => ({error})),
  ]);
  const list = policies || [];
  const details = await mapLimit(list, 4, (p) =>
    api(`/v1/policies/${seg(p.name)}`).then((doc) => ({doc}), (error) => ({error})));
  add(main, h('h1', null, 'Policies'),
    h('p', {class: 'muted'}, list.length
      ? `${list.length} polic${list.length === 1 ? 'y applies' : 'ies apply'} now to submits, tag moves and validation in the namespaces they cover.`
      : 'No policy applies: submits are checked only against the config schema.'),
    list.length ? h('nav', {class: 'toc', 'aria-label': 'Policies'}, h('ul', null,
      list.map((p) => h('li', null, jumpLink('#/policies', `policy-${p.name}`, p.name))))) : null,
    list.map((p, i) => policySection(p, details[i])),
    waiversSection(waivers));
}
