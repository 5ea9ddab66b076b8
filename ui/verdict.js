// ui/verdict.js: one verdict (#/c/NS/NAME/v/N/verdicts/JOB): its overall
// result, who ran it where on which suite and when, the findings, and a
// loss plot per workload with the curves of a passing version of the same
// config beside it in grey.
import {h, shortDigest, timeEl} from './dom.js';
import {ApiError, api, apiAll, envelopePayload, mapLimit} from './api.js';
import {configApi, configHash} from './model.js';
import {verdictBadge} from './page.js';
import {formatNumber, outsideText, plotModel, renderPlot, workloadCurve} from './plot.js';

// How many other versions the page looks at for a comparison, newest
// first, and how many of their verdict lists it reads at once.
export const COMPARE_LOOKS = 10;
// The severities a marker's swatch has a class for (a finding's own word
// never becomes a class name).
const SEVERITIES = ['fail', 'warn', 'error'];
const COMPARE_IN_FLIGHT = 4;

function versionPath(ns, name, n) {
  return configApi(ns, name, 'versions', n);
}

// The comparison for a verdict of version `n` on `suite`: the latest other
// version (by number, not yanked) whose latest verdict on the same suite is
// `pass`. `versions` is the versions list (newest first); `verdictsOf(v)`
// answers that version's GET …/verdicts. A list item's `verdict` field
// (the latest verdict on the reference suite), when present and on the same
// suite, saves reading the verdicts of a version that did not pass.
// Answers {version, verdict} (the verdicts-list item), or {none: reason}.
export async function findComparison(versions, n, suite, verdictsOf, looks = COMPARE_LOOKS) {
  const others = versions.filter((v) => v.version !== n && !v.yanked)
    .sort((a, b) => b.version - a.version);
  const cands = others.slice(0, looks);
  for (let i = 0; i < cands.length; i += COMPARE_IN_FLIGHT) {
    const group = cands.slice(i, i + COMPARE_IN_FLIGHT);
    const found = await mapLimit(group, COMPARE_IN_FLIGHT, async (v) => {
      const listed = v.verdict;
      if (listed && listed.suite === suite && listed.result !== 'pass') return null;
      const vs = await verdictsOf(v.version);
      const latest = (vs.verdicts || []).find((x) => x.suite === suite);
      return latest && latest.result === 'pass' ? {version: v.version, verdict: latest} : null;
    });
    const hit = found.find((x) => x);
    if (hit) return hit;
  }
  const more = others.length > cands.length ? ` among the ${cands.length} latest other versions` : '';
  return {none: `no passing version to compare with${more}`};
}

// A finding's `values` as text: "k v, k v; per seed 1: x, 2: y", the
// numbers as the verdict has them (the runner rounds to 6 digits).
export function valuesText(values) {
  if (!values || typeof values !== 'object') return '';
  const fmt = (v) => (typeof v === 'number' ? String(v) : v === null ? 'null'
    : typeof v === 'object' ? JSON.stringify(v) : String(v));
  const keys = Object.keys(values).filter((k) => k !== 'per_seed').sort();
  let out = keys.map((k) => `${k} ${fmt(values[k])}`).join(', ');
  const ps = values.per_seed;
  if (ps && typeof ps === 'object')
    out += `${out ? '; ' : ''}per seed ${Object.keys(ps).map((k) => `${k}: ${fmt(ps[k])}`).join(', ')}`;
  return out;
}

function shortKey(k) {
  return k.length > 16 ? k.slice(0, 16) + '…' : k;
}

function fact(term, ...desc) {
  return [h('dt', null, term), h('dd', null, ...desc)];
}

// Each finding's marker number on its workload's plot (1, 2, … per
// workload, in the verdict's order), or null for one without a step.
export function numberFindings(findings) {
  const per = new Map();
  return findings.map((f) => {
    if (typeof f.step !== 'number' || !Number.isFinite(f.step) || !f.workload) return null;
    const k = (per.get(f.workload) || 0) + 1;
    per.set(f.workload, k);
    return k;
  });
}

function findingsTable(findings, numbers, id) {
  const rows = findings.map((f, i) => {
    const seeds = f.seeds && Array.isArray(f.seeds.showed) ? `${f.seeds.showed.length}/${f.seeds.of}` : '';
    return h('tr', {'data-criterion': f.criterion || '', 'data-workload': f.workload || '',
                    'data-severity': f.severity || ''},
             h('td', null, numbers && numbers[i] ? String(numbers[i]) : ''),
             h('td', null, verdictBadge(f.severity || '?')),
             h('td', {class: 'mono'}, f.criterion || ''),
             h('td', null, f.workload || '—'),
             h('td', null, typeof f.step === 'number' ? String(f.step) : ''),
             h('td', {class: 'hide-narrow'}, seeds),
             h('td', {class: 'mono values'}, valuesText(f.values)),
             h('td', {class: 'findings-message'}, f.message || ''));
  });
  return h('div', {class: 'table-wrap'},
           h('table', {id},
             h('thead', null, h('tr', null,
               h('th', {scope: 'col', title: 'marker on the plot'}, '#'), h('th', {scope: 'col'}, 'severity'),
               h('th', {scope: 'col'}, 'criterion'), h('th', {scope: 'col'}, 'workload'),
               h('th', {scope: 'col'}, 'step'), h('th', {scope: 'col', class: 'hide-narrow'}, 'seeds'),
               h('th', {scope: 'col'}, 'values'), h('th', {scope: 'col'}, 'message'))),
             h('tbody', null, rows)));
}

function runsTable(w) {
  const runs = Array.isArray(w.runs) && w.runs.length ? w.runs
    : [{seed: w.seed, result: w.result, metrics: w.metrics, findings: null}];
  const num = (m, k) => (m && typeof m[k] === 'number' ? formatNumber(m[k]) : '');
  return h('div', {class: 'table-wrap'},
           h('table', {class: 'runs'},
             h('thead', null, h('tr', null,
               h('th', {scope: 'col'}, 'seed'), h('th', {scope: 'col'}, 'result'),
               h('th', {scope: 'col'}, 'initial loss'), h('th', {scope: 'col'}, 'final loss'),
               h('th', {scope: 'col'}, 'max loss'), h('th', {scope: 'col'}, 'test accuracy'),
               h('th', {scope: 'col', class: 'hide-narrow'}, 'criteria shown'))),
             h('tbody', null, runs.map((r) => h('tr', null,
               h('td', null, r.seed === undefined || r.seed === null ? '—' : String(r.seed)),
               h('td', null, r.result ? verdictBadge(r.result) : ''),
               h('td', null, num(r.metrics, 'initial_loss')), h('td', null, num(r.metrics, 'final_loss')),
               h('td', null, num(r.metrics, 'max_loss')), h('td', null, num(r.metrics, 'test_accuracy')),
               h('td', {class: 'hide-narrow mono'}, Array.isArray(r.findings) ? r.findings.join(', ') : ''))))));
}

function legendItem(kind, ...text) {
  return h('li', null, h('span', {class: `swatch swatch-${kind}`, 'aria-hidden': 'true'}), ...text);
}

// The figure of workload `w`: the plot and its legend.
function workloadFigure(w, findings, numbers, cmp) {
  const cur = workloadCurve(w);
  const compare = [];
  const legend = [];
  const seedsText = cur.seeds.length > 1 ? `median over seeds ${cur.seeds.join(' ')}`
    : cur.seeds.length === 1 ? `seed ${cur.seeds[0]}` : 'this verdict';
  legend.push(legendItem('curve', `this verdict (${seedsText})`));
  if (cur.perSeed.length > 1) legend.push(legendItem('seed', 'each seed'));
  if (cmp.payload) {
    const cw = (cmp.payload.workloads || []).find((x) => x && x.name === w.name);
    const label = `version ${cmp.version} (pass, job ${cmp.verdict.job_id})`;
    const pts = cw ? workloadCurve(cw).points : [];
    if (pts.length) {
      compare.push({label, points: pts});
      legend.push(legendItem('compare', `${label}, for comparison`));
    } else {
      legend.push(legendItem('none', `${label} has no curve for ${w.name}`));
    }
  } else {
    legend.push(legendItem('none', cmp.none));
  }
  const mine = [];
  findings.forEach((f, i) => {
    if (f.workload === w.name && numbers[i])
      mine.push({criterion: f.criterion, severity: f.severity, step: f.step, message: f.message, n: numbers[i]});
  });
  const warmup = w.schedule && typeof w.schedule.warmup_steps === 'number' ? w.schedule.warmup_steps : 0;
  const m = plotModel({curve: cur.points, seeds: cur.perSeed.length > 1 ? cur.perSeed : [],
                       compare, warmup, findings: mine});
  if (m.warmup) legend.push(legendItem('warmup', `warmup ends at step ${m.warmup.step}` +
                                       (m.warmup.beyond ? ' (after the plotted steps)' : '')));
  for (const k of m.markers)
    legend.push(legendItem(`marker-${SEVERITIES.includes(k.severity) ? k.severity : 'fail'}`,
                           `${k.n}: ${k.criterion} (${k.severity}) at step ${k.step}` +
                           (k.offChart ? ', where the loss is not finite' : '') + outsideText(k)));
  const range = m.finite ? `, loss ${formatNumber(m.yDomain[0])} to ${formatNumber(m.yDomain[1])}` : ', no finite loss';
  const label = `Loss of ${w.name} over steps ${m.xDomain[0]} to ${m.xDomain[1]}, ${m.scale} scale${range}` +
    `, ${m.curve.points} points, ${m.markers.length} findings marked`;
  return h('figure', {class: 'plot-figure', 'data-workload': w.name},
           renderPlot(m, label),
           h('figcaption', null,
             h('span', {class: 'plot-title'}, `${w.name}: loss per step (${m.scale} scale)`),
             h('ul', {class: 'plot-legend'}, legend)));
}

function workloadSection(w, findings, numbers, cmp) {
  const name = w && typeof w.name === 'string' ? w.name : '—';
  const sec = h('section', {class: 'workload', 'data-workload-section': name},
                h('h3', null, name, ' ', w.result ? verdictBadge(w.result) : ''));
  const sch = w.schedule || {};
  const bits = [];
  if (typeof w.steps === 'number') bits.push(`${w.steps} steps`);
  if (typeof w.batch === 'number') bits.push(`batch ${w.batch}`);
  if (sch.kind) bits.push(`schedule ${sch.kind}`);
  if (typeof sch.peak_lr === 'number') bits.push(`peak lr ${formatNumber(sch.peak_lr)}`);
  if (typeof sch.warmup_steps === 'number') bits.push(`warmup ${sch.warmup_steps} steps`);
  if (typeof w.baseline_lr === 'number') bits.push(`baseline lr ${formatNumber(w.baseline_lr)}`);
  if (bits.length) sec.append(h('p', {class: 'muted'}, bits.join(' · ')));
  if (w.result === 'skipped') {
    sec.append(h('p', null, 'Skipped: ', w.skipped || 'no reason given'));
    return sec;
  }
  if (!workloadCurve(w).points.length || typeof w.name !== 'string') {
    sec.append(h('p', {class: 'muted'}, 'No loss curve in this verdict.'));
    return sec;
  }
  sec.append(workloadFigure(w, findings, numbers, cmp), runsTable(w));
  if (Array.isArray(w.minority) && w.minority.length)
    sec.append(h('h4', null, 'Not counted (shown on a minority of seeds)'),
               findingsTable(w.minority, null, null));
  return sec;
}

async function comparison(ns, name, n, suite) {
  try {
    const versions = await apiAll(`${configApi(ns, name, 'versions')}?page_size=100`, 'versions', 100);
    const found = await findComparison(versions, n, suite, (m) => api(`${versionPath(ns, name, m)}/verdicts`));
    if (found.none) return found;
    return {...found, payload: envelopePayload(found.verdict.envelope)};
  } catch (err) {
    // The comparison is an extra: the verdict is shown without it.
    return {none: `no comparison: ${err && err.message ? err.message : err}`};
  }
}

export async function render(main, params) {
  const {ns, name} = params;
  const n = Number(params.n);
  const cfg = `${ns}/${name}`;
  document.title = `verdict ${params.job} of ${cfg}@${params.n} · optreg`;
  const path = `${versionPath(ns, name, params.n)}/verdicts`;
  const list = await api(path);
  const crumbs = h('p', {class: 'crumbs'}, h('a', {href: configHash(ns, name)}, cfg), ' › ',
                   h('a', {href: configHash(ns, name, 'v', params.n)}, `version ${params.n}`), ' › ',
                   `verdict of job ${params.job}`);
  const item = (list.verdicts || []).find((v) => String(v.job_id) === params.job);
  if (!item) {
    const job = (list.jobs || []).find((j) => String(j.id) === params.job);
    if (!job)
      throw new ApiError(404, {title: 'not found', detail: `version ${params.n} of ${cfg} has no job ${params.job}`}, path);
    const state = job.state === 'abandoned' ? 'abandoned' : 'pending';
    main.append(crumbs, h('h1', null, `Job ${job.id} `, verdictBadge(state, null, {id: 'verdict-result'})),
                h('p', null, job.state === 'abandoned'
                  ? `No verdict will come: the job was abandoned after ${job.attempts} of ${job.max_attempts} attempts.`
                  : `No verdict yet: the job on suite ${job.suite} is ${job.state}.`),
                job.last_error ? h('p', null, 'Last error: ', h('span', {class: 'mono'}, job.last_error)) : '');
    return;
  }
  const p = envelopePayload(item.envelope);
  const findings = Array.isArray(p.findings) ? p.findings : [];
  const workloads = Array.isArray(p.workloads) ? p.workloads : [];
  const numbers = numberFindings(findings);
  const suite = p.suite || item.suite;
  const cmpP = comparison(ns, name, n, suite);

  const keyids = (item.envelope.signatures || []).map((x) => x.keyid).filter(Boolean);
  const facts = h('dl', {class: 'facts'},
    fact('Config', h('a', {href: configHash(ns, name, 'v', params.n)}, `${cfg} version ${params.n}`), ' ',
         h('span', {class: 'mono', title: p.config_digest || ''}, shortDigest(p.config_digest))),
    fact('Suite', `${suite} `, h('span', {class: 'mono', title: p.suite_digest || item.suite_digest || ''},
                                    shortDigest(p.suite_digest || item.suite_digest))),
    fact('Runner', `${item.runner || p.runner || '—'}`, p.runner_version ? `, optreg-runner ${p.runner_version}` : ''),
    fact('Device', p.device || '—'),
    fact('Seeds', Array.isArray(p.seeds) ? p.seeds.join(' ') : workloads.some((w) => typeof w.seed === 'number')
      ? `one seed (${[...new Set(workloads.filter((w) => typeof w.seed === 'number').map((w) => w.seed))].join(' ')})` : '—'),
    p.selftest ? fact('Self-test', `${p.selftest.passed} passed, ${p.selftest.failed} failed`) : null,
    fact('Recorded', timeEl(item.created_at)),
    p.time ? fact('Ran', p.time.started_at ? timeEl(p.time.started_at) : '',
                  typeof p.time.seconds === 'number' ? ` for ${formatNumber(p.time.seconds)} s` : '') : null,
    fact('Signed by', keyids.length ? keyids.map((k, i) => [i ? ', ' : '', h('span', {class: 'mono', title: k}, shortKey(k)),
                                                             k === item.runner_keyid ? h('span', {class: 'muted'}, ' (checked by the registry when it recorded the verdict)') : ''])
      : '—'));

  main.append(crumbs,
              h('h1', null, `Verdict of job ${item.job_id} `, verdictBadge(p.result || item.result, null, {id: 'verdict-result'})),
              facts,
              h('h2', null, 'Findings'),
              findings.length ? findingsTable(findings, numbers, 'findings')
                : h('p', {id: 'findings'}, 'No findings: every criterion passed.'));

  const cmp = await cmpP;
  const cmpLink = cmp.payload &&
    h('a', {href: configHash(ns, name, 'v', cmp.version, 'verdicts', cmp.verdict.job_id)},
      `job ${cmp.verdict.job_id}`);
  const plots = h('section', {id: 'plots'}, h('h2', null, 'Loss curves'),
                  h('p', {class: 'muted'}, cmp.payload
                    ? [`Grey: version ${cmp.version}, the latest other version whose latest verdict on ${suite} passed (`,
                       cmpLink, ').']
                    : `${cmp.none}.`));
  for (const w of workloads) if (w && typeof w === 'object') plots.append(workloadSection(w, findings, numbers, cmp));
  if (!workloads.length) plots.append(h('p', null, 'This verdict has no workloads.'));
  main.append(plots);
}
