// tests/ui/plot_test.mjs: the verdict page's loss plots (ui/plot.js) and
// the page itself (ui/verdict.js) under node, without a browser: the
// scales, the log-scale decision, path point counts, null and non-finite
// losses, finding markers, warmup, the comparison version, and the page's
// DOM hooks for a runner 0.2.0 verdict (three seeds) and a runner 0.1.0
// one (one seed). A small fake DOM stands in for the document.
// Run: node tests/ui/plot_test.mjs (TAP on stdout).
import assert from 'node:assert/strict';
import {all, byId, is} from './fakedom.mjs';
import {run, test} from './tap.mjs';

const plot = await import('../../ui/plot.js');
const verdict = await import('../../ui/verdict.js');

// The loss curve of the runner 0.1.0 verdict in tests/e2e/audit_cli_test.py.
const CURVE_010 = [[1, 2.5], [2, 4000], [3, 25], [4, null], [5, 0.25]];
const sameXY = (m) => plot.scale(m.xDomain[0], m.xDomain[1], m.box.left, m.box.right);

test('spansDecades: positive finite losses at least 100x apart, as optreg verdicts decides', () => {
  assert.equal(plot.spansDecades(CURVE_010.map((p) => p[1])), true);
  assert.equal(plot.spansDecades([1, 99.9]), false);
  assert.equal(plot.spansDecades([1, 100]), true);
  assert.equal(plot.spansDecades([2.41, 2.29, 2.31]), false);
  assert.equal(plot.spansDecades([0, 1000]), false, 'a zero loss cannot be on a log scale');
  assert.equal(plot.spansDecades([-1, 1000]), false);
  assert.equal(plot.spansDecades([1, Infinity, NaN, null, 'x', 50]), false, 'non-finite values do not count');
  assert.equal(plot.spansDecades([1, Infinity, 500]), true);
  assert.equal(plot.spansDecades([]), false);
  assert.equal(plot.spansDecades([null, NaN]), false);
});

test('linear ticks: 1/2/5 steps covering the range; a flat curve gets a range', () => {
  const t = plot.linearTicks(0.25, 2.5);
  assert.deepEqual(t.ticks, [0, 0.5, 1, 1.5, 2, 2.5]);
  assert.equal(t.lo, 0);
  assert.equal(t.hi, 2.5);
  const u = plot.linearTicks(2.31, 2.41);
  assert.ok(u.lo <= 2.31 && u.hi >= 2.41, JSON.stringify(u));
  assert.ok(u.ticks.length >= 3 && u.ticks.length <= 12, JSON.stringify(u));
  for (const x of u.ticks) assert.equal(x, Number.parseFloat(x.toPrecision(6)), 'no float noise: ' + x);
  const f = plot.linearTicks(3, 3);
  assert.ok(f.lo < 3 && f.hi > 3, JSON.stringify(f));
  assert.deepEqual(plot.linearTicks(1, 2, 6, 1).ticks, [1, 2], 'steps: whole numbers');
  const two = plot.plotModel({curve: [[1, 3], [2, 2]]});
  assert.deepEqual(two.xTicks.map((x) => x.label), ['1', '2']);
  const z = plot.linearTicks(0, 0);
  assert.ok(z.lo < 0 && z.hi > 0, JSON.stringify(z));
});

test('log ticks: whole decades, 2 and 5 between them over at most two decades', () => {
  const t = plot.logTicks(0.25, 4000);
  assert.equal(t.lo, 0.1);
  assert.equal(t.hi, 1e4);
  assert.deepEqual(t.ticks, [0.1, 1, 10, 100, 1000, 10000]);
  const n = plot.logTicks(1.5, 90);
  assert.deepEqual(n.ticks, [1, 2, 5, 10, 20, 50, 100]);
  assert.deepEqual(plot.logTicks(1.5, 120).ticks, [1, 10, 100, 1000]);
  const w = plot.logTicks(1e-6, 1e12);
  assert.ok(w.ticks.length <= 10, 'at most about 9 decade ticks: ' + w.ticks.length);
  assert.equal(w.ticks[0], 1e-6);
  assert.equal(w.ticks[w.ticks.length - 1], 1e12);
});

test('scale: ends map to ends, log puts 10 midway between 1 and 100, no overflow near DBL_MAX', () => {
  const x = plot.scale(1, 5, 0, 100);
  assert.equal(x(1), 0);
  assert.equal(x(5), 100);
  assert.equal(x(3), 50);
  const y = plot.scale(1, 100, 200, 0, true);
  assert.equal(y(1), 200);
  assert.equal(y(100), 0);
  assert.ok(Math.abs(y(10) - 100) < 1e-9);
  const big = plot.scale(-1.7e308, 1.7e308, 0, 100);
  assert.equal(big(0), 50);
  assert.equal(plot.scale(2, 2, 0, 100)(2), 50, 'an empty domain maps to the middle');
});

test('pathData: one point per finite loss, a gap (new subpath) at each null', () => {
  const x = (s) => s * 10;
  const y = (l) => l;
  const p = plot.pathData([[1, 1], [2, 2], [3, null], [4, 4], [5, 5], [6, 6]], x, y);
  assert.equal(p.count, 5);
  assert.equal(p.d, 'M10 1 L20 2 M40 4 L50 5 L60 6');
  assert.deepEqual(plot.pathData([[1, null]], x, y), {d: '', count: 0});
  assert.deepEqual(plot.pathData([[1, null], [2, 7], [3, null], [4, 1], [5, 2], [6, 3]], x, y),
                   {d: 'M20 7 h0 M40 1 L50 2 L60 3', count: 4}, 'a lone point is a dot');
  assert.deepEqual(plot.pathData([[1, 1], [2, null], [3, 3]], x, y), {d: 'M10 1 h0 M30 3 h0', count: 2});
  assert.equal(plot.pathData([], x, y).count, 0);
});

test('cleanCurve: non-finite and non-numeric losses become null, malformed points are dropped', () => {
  assert.deepEqual(plot.cleanCurve([[1, 2], [2, null], [3, 'NaN'], [4, Infinity], 'x', [null, 3], [5]]),
                   [[1, 2], [2, null], [3, null], [4, null], [5, null]]);
  assert.deepEqual(plot.cleanCurve(undefined), []);
  assert.equal(plot.lossValue(-Infinity), plot.lossValue(-Infinity) + 0);
  assert.ok(Number.isNaN(plot.lossValue(null)));
});

test('workloadCurve: one seed (runner 0.1.0) is the curve itself', () => {
  const c = plot.workloadCurve({name: 'fmnist_mlp', seed: 1, loss_curve: CURVE_010});
  assert.deepEqual(c.seeds, [1]);
  assert.deepEqual(c.points, CURVE_010);
  assert.deepEqual(c.perSeed, []);
});

test('workloadCurve: median over the seeds with a finite loss, at the longest run\'s steps', () => {
  const c = plot.workloadCurve({runs: [
    {seed: 1, loss_curve: [[1, 3], [10, 1], [20, null], [30, 7]]},
    {seed: 2, loss_curve: [[1, 5], [10, 2], [20, null], [30, null], [40, 9]]},
    {seed: 3, loss_curve: [[1, 4], [10, 4], [20, null], [30, 8]]},
  ]});
  assert.deepEqual(c.seeds, [1, 2, 3]);
  assert.deepEqual(c.points, [[1, 4], [10, 2], [20, null], [30, 7.5], [40, 9]]);
  assert.equal(c.perSeed.length, 3);
});

test('plotModel: the runner 0.1.0 curve is on a log scale, 4 points plotted of 5, marker at the explosion', () => {
  const m = plot.plotModel({curve: CURVE_010, findings: [
    {criterion: 'loss_explosion', severity: 'fail', step: 2, message: 'loss reached 4000 at step 2'},
    {criterion: 'selftest', severity: 'error', step: null}]});
  assert.equal(m.scale, 'log');
  assert.equal(m.curve.points, 4);
  assert.equal(m.curve.length, 5);
  assert.deepEqual(m.yDomain, [0.1, 10000]);
  assert.deepEqual(m.xDomain, [1, 5]);
  assert.equal((m.curve.d.match(/M/g) || []).length, 2, 'the null at step 4 splits the path');
  assert.equal(m.markers.length, 1, 'a finding without a step has no marker');
  const k = m.markers[0];
  assert.equal(k.criterion, 'loss_explosion');
  assert.equal(k.n, 1);
  const y = plot.scale(0.1, 10000, m.box.bottom, m.box.top, true);
  assert.ok(Math.abs(k.y - y(4000)) < 0.01, `marker on the curve: ${k.y} vs ${y(4000)}`);
  assert.ok(Math.abs(k.x - sameXY(m)(2)) < 0.01);
  assert.equal(m.warmup, null, 'no warmup line without warmup');
  for (const t of m.yTicks) assert.ok(t.pos >= m.box.top - 0.01 && t.pos <= m.box.bottom + 0.01, 'tick inside');
  assert.deepEqual(m.yTicks.map((t) => t.label), ['0.1', '1', '10', '100', '1000', '1e4']);
});

test('plotModel: a loss within 100x is linear; the domain covers every point', () => {
  const curve = [[1, 2.41], [2, 2.35], [3, 2.29], [4, 2.31]];
  const m = plot.plotModel({curve});
  assert.equal(m.scale, 'linear');
  assert.equal(m.curve.points, 4);
  assert.ok(m.yDomain[0] <= 2.29 && m.yDomain[1] >= 2.41);
  for (const seg of m.curve.d.split(/[ML]/).filter((x) => x.trim())) {
    const [px, py] = seg.trim().split(' ').map(Number);
    assert.ok(px >= m.box.left && px <= m.box.right && py >= m.box.top && py <= m.box.bottom, seg);
  }
});

test('plotModel: the scale is the verdict curve\'s; the y range covers the comparison too', () => {
  const curve = [[1, 2.3], [2, 2.2], [3, 2.1]];
  const compare = [{label: 'version 1 (pass, job 3)', points: [[1, 2.3], [2, 0.5], [3, 0.01]]}];
  const m = plot.plotModel({curve, compare});
  assert.equal(m.scale, 'linear', 'the verdict\'s own curve spans less than 100x');
  assert.ok(m.yDomain[0] <= 0.01 && m.yDomain[1] >= 2.3, JSON.stringify(m.yDomain));
  assert.equal(m.compare.length, 1);
  assert.equal(m.compare[0].count, 3);
  assert.equal(m.compare[0].label, 'version 1 (pass, job 3)');
  assert.equal(m.curve.points, 3);
  // On a log scale, a comparison loss of 0 cannot be drawn: a gap.
  const lg = plot.plotModel({curve: CURVE_010, compare: [{label: 'c', points: [[1, 2], [2, 0], [3, 1]]}]});
  assert.equal(lg.scale, 'log');
  assert.equal(lg.compare[0].count, 2);
  assert.ok(lg.yDomain[0] > 0);
  assert.ok(!/NaN|Infinity/.test(lg.compare[0].d), lg.compare[0].d);
});

test('plotModel: one seed\'s spike neither makes the scale log nor stretches the range', () => {
  const curve = [[1, 2.4], [2, 2.3], [3, 2.2]];
  const seeds = [{seed: 1, points: [[1, 2.4], [2, 5000], [3, 2.2]]}, {seed: 2, points: curve},
                 {seed: 3, points: [[1, 2.4], [2, 1e300], [3, null]]}];
  const m = plot.plotModel({curve, seeds});
  assert.equal(m.scale, 'linear');
  assert.ok(m.yDomain[1] < 10, JSON.stringify(m.yDomain));
  assert.deepEqual(m.seeds.map((c) => c.count), [3, 3, 2]);
  for (const c of m.seeds) assert.ok(!/NaN|Infinity|e\+/.test(c.d), c.d);
  const svg = plot.renderPlot(m, 'x');
  const clips = all(svg, is('clipPath'));
  assert.equal(clips.length, 1);
  const id = clips[0].getAttribute('id');
  for (const p of all(svg, is('path', 'seed'))) assert.equal(p.getAttribute('clip-path'), `url(#${id})`);
  const other = plot.renderPlot(m, 'y');
  assert.notEqual(all(other, is('clipPath'))[0].getAttribute('id'), id, 'each plot its own clip id');
});

test('plotModel: no finite loss at all still gives a plot with axes and 0 points', () => {
  const m = plot.plotModel({curve: [[1, null], [2, null]]});
  assert.equal(m.finite, false);
  assert.equal(m.curve.points, 0);
  assert.equal(m.curve.length, 2);
  assert.equal(m.scale, 'linear');
  assert.ok(m.yTicks.length > 1);
});

test('plotModel: warmup line at its step, clamped (and said) when after the last step', () => {
  const curve = Array.from({length: 30}, (_, i) => [i + 1, 3 - i / 30]);
  const m = plot.plotModel({curve, warmup: 10});
  assert.equal(m.warmup.step, 10);
  assert.equal(m.warmup.beyond, false);
  assert.ok(Math.abs(m.warmup.pos - sameXY(m)(10)) < 0.01);
  const b = plot.plotModel({curve, warmup: 2000});
  assert.equal(b.warmup.beyond, true);
  assert.equal(b.warmup.pos, b.box.right);
  assert.equal(plot.plotModel({curve, warmup: 0}).warmup, null);
});

test('plotModel: a finding where the loss is not finite sits on the top edge', () => {
  const m = plot.plotModel({curve: CURVE_010, findings: [
    {criterion: 'nonfinite_loss', severity: 'fail', step: 4},
    {criterion: 'no_progress', severity: 'warn', step: 99, n: 7}]});
  assert.equal(m.markers.length, 2);
  assert.equal(m.markers[0].offChart, true);
  assert.equal(m.markers[0].y, m.box.top);
  assert.equal(m.markers[1].n, 7);
  assert.equal(m.markers[1].x, m.box.right, 'a step after the curve is clamped to the edge');
  assert.equal(m.markers[1].offChart, false, 'it takes the last point');
});

test('plotModel: a marker between curve points sits on the drawn line; numbers at one step stack', () => {
  const curve = [[1, 2], [11, 12], [21, 1]];
  const m = plot.plotModel({curve, findings: [{criterion: 'loss_explosion', severity: 'fail', step: 6},
                                              {criterion: 'loss_spikes', severity: 'warn', step: 6}]});
  assert.equal(m.scale, 'linear');
  const y = plot.scale(m.yDomain[0], m.yDomain[1], m.box.bottom, m.box.top);
  assert.ok(Math.abs(m.markers[0].y - y(7)) < 0.02, `halfway between 2 and 12: ${m.markers[0].y} vs ${y(7)}`);
  assert.ok(Math.abs(m.markers[0].x - sameXY(m)(6)) < 0.01);
  assert.equal(m.markers[0].labelDy, 0);
  assert.equal(m.markers[1].labelDy, 14, 'the second number at step 6 goes under the first');
  // On a log scale the line between two points is straight on screen.
  const lg = plot.plotModel({curve: [[1, 1], [11, 1000]], findings: [{criterion: 'c', severity: 'fail', step: 6}]});
  assert.equal(lg.scale, 'log');
  const ly = plot.scale(lg.yDomain[0], lg.yDomain[1], lg.box.bottom, lg.box.top, true);
  assert.ok(Math.abs(lg.markers[0].y - (ly(1) + ly(1000)) / 2) < 0.02, 'midway on screen');
  // The point holding the step is null: top edge, even with a finite one before.
  const nn = plot.plotModel({curve: [[1, 1], [11, null], [21, 2]], findings: [{criterion: 'c', severity: 'fail', step: 6}]});
  assert.equal(nn.markers[0].offChart, true);
  assert.equal(nn.markers[0].y, nn.box.top);
  assert.equal(plot.markerY([], 3, (v) => v, (v) => v), null);
});

// No NaN, no Infinity: what a path or tick may hold.
const finiteSvg = (m) => !/NaN|Infinity/.test(JSON.stringify([m.curve.d, m.yTicks, m.xTicks, m.markers, m.yDomain]));

test('plotModel: losses near the ends of a double (1.7e308 either way, 5e-324 on a log scale) give finite coordinates', () => {
  const wide = plot.plotModel({curve: [[1, -1.7e308], [2, 1.7e308]]});
  assert.ok(finiteSvg(wide), JSON.stringify([wide.curve.d, wide.yDomain]));
  assert.equal(wide.curve.points, 2);
  const t = plot.linearTicks(-1.7e308, 1.7e308);
  assert.ok(t.ticks.length >= 2 && t.ticks.every(Number.isFinite), JSON.stringify(t));
  const tiny = plot.plotModel({curve: [[1, 5e-324], [2, 1], [3, 0.5]]});
  assert.equal(tiny.scale, 'log');
  assert.ok(finiteSvg(tiny) && tiny.yDomain[0] > 0, JSON.stringify([tiny.curve.d, tiny.yDomain]));
  const top = plot.plotModel({curve: [[1, 1e-3], [2, 1.5e308]]});
  assert.equal(top.scale, 'log');
  assert.ok(finiteSvg(top) && Number.isFinite(top.yDomain[1]), JSON.stringify([top.curve.d, top.yDomain]));
  const lt = plot.logTicks(1e308, 1.5e308);
  assert.ok(lt.lo < lt.hi && Number.isFinite(lt.hi), JSON.stringify(lt));
});

test('plotModel: odd curves: all null, one point, zero and negative losses stay linear, a finding beyond the curve says so', () => {
  const none = plot.plotModel({curve: [[1, null], [2, null]], findings: [{criterion: 'c', severity: 'fail', step: 2}]});
  assert.equal(none.finite, false);
  assert.equal(none.curve.points, 0);
  assert.ok(finiteSvg(none));
  const one = plot.plotModel({curve: [[5, 0]], findings: [{criterion: 'c', severity: 'fail', step: 9},
                                                          {criterion: 'd', severity: 'warn', step: 1},
                                                          {criterion: 'e', severity: 'warn', step: 5}]});
  assert.equal(one.curve.points, 1);
  assert.ok(one.curve.d.endsWith('h0'), 'a lone point is a dot');
  assert.ok(finiteSvg(one));
  assert.deepEqual(one.markers.map((k) => k.outside), ['after', 'before', null]);
  assert.deepEqual(one.markers.map((k) => k.x), [one.box.right, one.box.left, (one.box.left + one.box.right) / 2]);
  assert.match(plot.outsideText(one.markers[0]), /after the plotted steps/);
  assert.equal(plot.outsideText(one.markers[2]), '');
  const svg = plot.renderPlot(one, 'x');
  const titles = all(svg, is('title')).map((t) => t.textContent);
  assert.ok(titles.some((t) => /c \(fail\) at step 9, after the plotted steps/.test(t)), JSON.stringify(titles));
  for (const c of [[[1, 0], [2, 1], [3, 1000]], [[1, -1], [2, -1000]]]) {
    const m = plot.plotModel({curve: c});
    assert.equal(m.scale, 'linear', JSON.stringify(c));
    assert.equal(m.curve.points, c.length);
    assert.ok(finiteSvg(m));
  }
});

test('numberFindings: a marker number only for a finding with a finite step on a workload', () => {
  assert.deepEqual(verdict.numberFindings([
    {workload: 'a', step: 3}, {workload: 'a', step: Infinity}, {workload: 'a', step: NaN},
    {workload: 'b', step: 1}, {step: 2}, {workload: 'a', step: 7}]), [1, null, null, 1, null, 2]);
});

test('formatNumber: short tick labels', () => {
  assert.equal(plot.formatNumber(12560), '1.26e4');
  assert.equal(plot.formatNumber(10000), '1e4');
  assert.equal(plot.formatNumber(9999), '9999');
  assert.equal(plot.formatNumber(0.0001), '1e-4');
  assert.equal(plot.formatNumber(2.5), '2.5');
  assert.equal(plot.formatNumber(0.30000000000000004), '0.3');
  assert.equal(plot.formatNumber(0), '0');
  assert.equal(plot.formatNumber(null), '–');
});

test('renderPlot: one path.curve with data-points, path.compare, line.warmup, markers, data-scale', () => {
  const curve = [[1, 2.4], [2, 12560], [3, null], [4, 2.3]];
  const m = plot.plotModel({curve, warmup: 2, compare: [{label: 'v1', points: [[1, 2.4], [4, 0.3]]}],
                            seeds: [{seed: 1, points: curve}, {seed: 2, points: curve}],
                            findings: [{criterion: 'loss_explosion', severity: 'fail', step: 2},
                                       {criterion: 'loss_spikes', severity: 'warn', step: 4}]});
  const svg = plot.renderPlot(m, 'Loss of x');
  assert.equal(svg.tagName, 'svg');
  assert.equal(svg.ns, 'http://www.w3.org/2000/svg');
  assert.equal(svg.getAttribute('data-scale'), 'log');
  assert.equal(svg.getAttribute('viewBox'), `0 0 ${plot.WIDTH} ${plot.HEIGHT}`);
  assert.equal(svg.getAttribute('width'), '100%');
  assert.equal(svg.getAttribute('role'), 'img');
  assert.equal(all(svg, is('title'))[0].textContent, 'Loss of x');
  const curves = all(svg, is('path', 'curve'));
  assert.equal(curves.length, 1);
  assert.equal(curves[0].getAttribute('data-points'), '3');
  assert.equal(all(svg, is('path', 'compare')).length, 1);
  assert.equal(all(svg, is('path', 'seed')).length, 2);
  assert.equal(all(svg, is('line', 'warmup')).length, 1);
  const marks = all(svg, (e) => e.classList.includes('finding-marker'));
  assert.deepEqual(marks.map((e) => e.getAttribute('data-criterion')), ['loss_explosion', 'loss_spikes']);
  assert.ok(all(svg, is('text', 'tick-label')).length >= 4, 'tick labels');
  for (const e of all(svg))
    for (const [k, v] of e.attrs) assert.ok(!/NaN|Infinity|undefined/.test(v), `${e.tagName} ${k}=${v}`);
  const none = plot.renderPlot(plot.plotModel({curve: [[1, 1], [2, 1.5]]}), 'x');
  assert.equal(none.getAttribute('data-scale'), 'linear');
  assert.equal(all(none, is('line', 'warmup')).length, 0);
  assert.equal(all(none, is('path', 'compare')).length, 0);
});

// ---------------------------------------------------------------- the page

test('findComparison: the latest other, unyanked version whose latest verdict on the suite passed', async () => {
  const lists = {
    5: {verdicts: [{job_id: 9, suite: 'ci', result: 'fail'}]},
    4: {verdicts: [{job_id: 8, suite: 'ci', result: 'pass'}]},
    3: {verdicts: [{job_id: 7, suite: 'ci', result: 'fail'}, {job_id: 6, suite: 'ci', result: 'pass'}]},
    2: {verdicts: [{job_id: 5, suite: 'ref-v2', result: 'fail'}, {job_id: 4, suite: 'ci', result: 'pass'}]},
    1: {verdicts: [{job_id: 1, suite: 'ci', result: 'pass'}]},
  };
  const asked = [];
  const of = async (n) => {
    asked.push(n);
    return lists[n];
  };
  const versions = [{version: 5}, {version: 4, yanked: true}, {version: 3}, {version: 2}, {version: 1}];
  const got = await verdict.findComparison(versions, 5, 'ci', of);
  assert.equal(got.version, 2, 'v4 is yanked, v3\'s latest ci verdict failed');
  assert.equal(got.verdict.job_id, 4);
  assert.ok(!asked.includes(5) && !asked.includes(4));
  // Judging v1, v2 (newer) is the comparison.
  assert.equal((await verdict.findComparison(versions, 1, 'ci', of)).version, 2);
  // A list item's `verdict` on the same suite that did not pass is not read.
  asked.length = 0;
  const listed = [{version: 3, verdict: {suite: 'ci', result: 'fail'}}, {version: 1}];
  assert.equal((await verdict.findComparison(listed, 9, 'ci', of)).version, 1);
  assert.deepEqual(asked, [1]);
  const none = await verdict.findComparison([{version: 5}, {version: 3}], 5, 'ci', of);
  assert.equal(none.none, 'no passing version to compare with');
  const many = Array.from({length: 15}, (_, i) => ({version: 20 - i}));
  const capped = await verdict.findComparison(many, 20, 'ci', async () => ({verdicts: []}), 10);
  assert.equal(capped.none, 'no passing version to compare with among the 10 latest other versions');
});

test('valuesText: the values, then per seed', () => {
  assert.equal(verdict.valuesText({loss: 12560, initial_loss: 2.41, limit: 10, recovered: false,
                                   per_seed: {1: 5210, 2: 4000}}),
               'initial_loss 2.41, limit 10, loss 12560, recovered false; per seed 1: 5210, 2: 4000');
  assert.equal(verdict.valuesText(null), '');
});

const b64 = (o) => Buffer.from(JSON.stringify(o), 'utf8').toString('base64');
const env = (p) => ({payloadType: 'application/vnd.optreg.verdict.v1+json', payload: b64(p),
                     signatures: [{keyid: 'runner-key-1', sig: 'AA=='}]});

function run3(seed, f) {
  return {seed, result: 'fail', metrics: {initial_loss: 2.4, final_loss: 2.3, max_loss: 12560},
          loss_curve: Array.from({length: 30}, (_, i) => [i + 1, f(i + 1)]), findings: ['loss_explosion']};
}

// A fake registry for the page: GET …/verdicts of versions 1..3 of team/bert.
function registry(byVersion, versions) {
  const calls = [];
  globalThis.fetch = async (path, init) => {
    calls.push(path);
    assert.equal(init.credentials, 'omit');
    let body = null;
    const m = path.match(/^\/v1\/configs\/team\/bert\/versions\/(\d+)\/verdicts$/);
    if (m && byVersion[m[1]]) body = byVersion[m[1]];
    if (path.startsWith('/v1/configs/team/bert/versions?')) body = {versions, next_page_token: null};
    return {ok: !!body, status: body ? 200 : 404, json: async () => body || {title: 'not found'}};
  };
  return calls;
}

function item(job, p, created) {
  return {job_id: job, suite: p.suite, suite_digest: p.suite_digest, result: p.result, runner: 'runner@ci',
          runner_keyid: 'runner-key-1', created_at: created, envelope: env(p)};
}

test('verdict page: runner 0.2.0, three seeds: result, findings, one figure per workload, comparison', async () => {
  const bad = {
    config_digest: 'sha256:' + 'ab'.repeat(32), suite: 'ci', suite_digest: 'sha256:' + 'cd'.repeat(32),
    runner_version: '0.2.0', device: 'cpu: OpenBLAS, 1 thread', result: 'fail', seeds: [1, 2, 3],
    selftest: {passed: 16, failed: 0},
    workloads: [
      {name: 'fmnist_mlp', steps: 30, batch: 128, result: 'fail',
       schedule: {kind: 'constant', warmup_steps: 5, peak_lr: 0.1},
       runs: [run3(1, (s) => (s === 2 ? 12560 : 2.4)), run3(2, (s) => (s === 2 ? 9000 : 2.3)),
              run3(3, (s) => (s === 2 ? null : 2.35))],
       minority: [{criterion: 'loss_spikes', severity: 'warn', workload: 'fmnist_mlp', step: 12,
                   values: {}, message: 'spiky on seed 2', seeds: {showed: [2], of: 3}}]},
      {name: 'quadratic_deep', steps: 20, result: 'pass', schedule: {kind: 'constant', warmup_steps: 0},
       runs: [1, 2, 3].map((sd) => ({seed: sd, result: 'pass', metrics: {},
                                     loss_curve: Array.from({length: 20}, (_, i) => [i + 1, 1 / (i + 1)])}))},
      {name: 'lm_bf16', result: 'skipped', skipped: 'no precision declared'},
    ],
    findings: [
      {criterion: 'selftest', severity: 'error', workload: null, step: null, values: {}, message: 'x'},
      {criterion: 'loss_explosion', severity: 'fail', workload: 'fmnist_mlp', step: 2,
       values: {loss: 12560, initial_loss: 2.4, limit: 10, per_seed: {1: 5233, 2: 3913}},
       message: 'loss reached 1.256e+04 at step 2', seeds: {showed: [1, 2], of: 3}},
      {criterion: 'no_progress', severity: 'warn', workload: 'fmnist_mlp', step: 30, values: {},
       message: 'mean loss not below the initial', seeds: {showed: [2, 3], of: 3}},
    ],
    time: {started_at: '2026-12-03T09:30:00Z', seconds: 2.1},
  };
  const good = {...bad, config_digest: 'sha256:' + 'ef'.repeat(32), result: 'pass', findings: [],
                workloads: [{name: 'fmnist_mlp', result: 'pass', runs: [1, 2, 3].map((sd) => ({
                  seed: sd, loss_curve: Array.from({length: 30}, (_, i) => [i + 1, 2.4 / (i + 1)])}))}]};
  const calls = registry({
    3: {verdicts: [item(12, bad, '2026-12-03T09:31:00Z')], jobs: [{id: 12, suite: 'ci', state: 'done'}]},
    2: {verdicts: [item(11, {...bad, result: 'fail'}, '2026-12-03T09:20:00Z')], jobs: []},
    1: {verdicts: [item(10, good, '2026-12-03T09:10:00Z')], jobs: []},
  }, [{version: 3, yanked: false}, {version: 2, yanked: false}, {version: 1, yanked: false}]);
  const main = document.createElement('div');
  await verdict.render(main, {ns: 'team', name: 'bert', n: '3', job: '12'});
  const res = byId(main, 'verdict-result');
  assert.equal(res.getAttribute('data-result'), 'fail');
  assert.equal(res.textContent, 'fail');
  const rows = all(byId(main, 'findings'), (e) => e.tagName === 'tr' && e.hasAttribute('data-criterion'));
  assert.deepEqual(rows.map((r) => [r.getAttribute('data-criterion'), r.getAttribute('data-workload'),
                                    r.getAttribute('data-severity')]),
                   [['selftest', '', 'error'], ['loss_explosion', 'fmnist_mlp', 'fail'],
                    ['no_progress', 'fmnist_mlp', 'warn']]);
  const figs = all(main, is('figure'));
  assert.deepEqual(figs.map((f) => f.getAttribute('data-workload')), ['fmnist_mlp', 'quadratic_deep'],
                   'a figure per workload with a curve; the skipped one has none');
  assert.ok(main.textContent.includes('Skipped: no precision declared'));
  const [f1, f2] = figs;
  const svg1 = all(f1, is('svg'));
  assert.equal(svg1.length, 1);
  assert.equal(svg1[0].getAttribute('data-scale'), 'log', '2.3 to 1.08e4 (median of 12560 and 9000)');
  const c1 = all(f1, is('path', 'curve'));
  assert.equal(c1.length, 1);
  assert.equal(c1[0].getAttribute('data-points'), '30', 'seed 3\'s null at step 2: the median of the others');
  assert.equal(all(f1, is('path', 'compare')).length, 1, 'version 1 passed on ci: its curve in grey');
  assert.equal(all(f1, is('path', 'seed')).length, 3);
  assert.equal(all(f1, is('line', 'warmup')).length, 1);
  assert.deepEqual(all(f1, (e) => e.classList.includes('finding-marker')).map((e) => e.getAttribute('data-criterion')),
                   ['loss_explosion', 'no_progress']);
  assert.ok(f1.textContent.includes('version 1 (pass, job 10), for comparison'), f1.textContent);
  assert.equal(all(f2, is('path', 'curve'))[0].getAttribute('data-points'), '20');
  assert.equal(all(f2, is('line', 'warmup')).length, 0, 'no warmup line when warmup is 0');
  assert.equal(all(f2, (e) => e.classList.includes('finding-marker')).length, 0);
  assert.ok(f2.textContent.includes('has no curve for quadratic_deep'), f2.textContent);
  assert.equal(all(f2, is('path', 'compare')).length, 0);
  // The minority warning is shown, but not in #findings.
  assert.ok(main.textContent.includes('spiky on seed 2'));
  assert.ok(main.textContent.includes('runner@ci, optreg-runner 0.2.0'));
  assert.ok(main.textContent.includes('16 passed, 0 failed'));
  assert.ok(calls.includes('/v1/configs/team/bert/versions/3/verdicts'));
  assert.ok(document.title.includes('team/bert@3'));
});

test('verdict page: runner 0.1.0, one seed, no passing version: the curve as it is, said so', async () => {
  const p = {job_id: 7, config_digest: 'sha256:' + '00'.repeat(32), suite: 'ref-v1',
             suite_digest: 'sha256:' + '00'.repeat(32), runner_version: '0.1.0', device: 'cpu',
             result: 'fail', runner: 'old',
             workloads: [{name: 'fmnist_mlp', seed: 1, result: 'fail',
                          metrics: {initial_loss: 2.5, max_loss: 4000}, loss_curve: CURVE_010},
                         {result: 'skipped', skipped: 'no precision declared'}],
             findings: [{criterion: 'loss_explosion', severity: 'fail', workload: 'fmnist_mlp', step: 2,
                         values: {loss: 4000, initial_loss: 2.5, limit: 10},
                         message: 'loss reached 4000 at step 2'}]};
  registry({2: {verdicts: [item(7, p, '2026-12-03T09:31:00Z')], jobs: []},
            1: {verdicts: [item(3, {...p, result: 'fail'}, '2026-12-03T09:00:00Z')], jobs: []}},
           [{version: 2}, {version: 1}]);
  const main = document.createElement('div');
  await verdict.render(main, {ns: 'team', name: 'bert', n: '2', job: '7'});
  assert.equal(byId(main, 'verdict-result').getAttribute('data-result'), 'fail');
  const figs = all(main, is('figure'));
  assert.equal(figs.length, 1);
  assert.equal(all(figs[0], is('svg'))[0].getAttribute('data-scale'), 'log');
  const c = all(figs[0], is('path', 'curve'));
  assert.equal(c.length, 1);
  assert.equal(c[0].getAttribute('data-points'), '4', 'five points, one null');
  assert.equal(c[0].getAttribute('data-length'), '5');
  assert.equal(all(figs[0], is('path', 'seed')).length, 0);
  assert.equal(all(figs[0], is('path', 'compare')).length, 0);
  assert.equal(all(figs[0], is('line', 'warmup')).length, 0);
  assert.equal(all(figs[0], (e) => e.classList.includes('finding-marker')).length, 1);
  assert.ok(figs[0].textContent.includes('no passing version to compare with'), figs[0].textContent);
  assert.ok(figs[0].textContent.includes('this verdict (seed 1)'), figs[0].textContent);
  const rows = all(byId(main, 'findings'), (e) => e.tagName === 'tr' && e.hasAttribute('data-criterion'));
  assert.equal(rows.length, 1);
  assert.ok(rows[0].textContent.includes('initial_loss 2.5, limit 10, loss 4000'), rows[0].textContent);
});

test('verdict page: a finding\'s own severity word is never a class; one after the curve says so in the legend', async () => {
  const p = {suite: 'ci', result: 'fail', seeds: [1],
             workloads: [{name: 'w', result: 'fail', runs: [run3(1, () => 2)]}],
             findings: [{criterion: 'odd', severity: 'x skip', workload: 'w', step: 40, values: {}, message: 'm'},
                        {criterion: 'far', severity: 'warn', workload: 'w', step: 1e999, values: {}, message: 'm'}]};
  registry({5: {verdicts: [item(30, p, '2026-12-03T09:31:00Z')], jobs: []}}, [{version: 5, yanked: false}]);
  const main = document.createElement('div');
  await verdict.render(main, {ns: 'team', name: 'bert', n: '5', job: '30'});
  const swatches = all(main, is('span', 'swatch')).map((e) => e.getAttribute('class'));
  assert.ok(swatches.includes('swatch swatch-marker-fail'), JSON.stringify(swatches));
  assert.ok(swatches.every((c) => /^swatch swatch-[a-z-]+$/.test(c) && !/skip/.test(c)), JSON.stringify(swatches));
  const legend = all(main, is('ul', 'plot-legend'))[0].textContent;
  assert.match(legend, /1: odd \(x skip\) at step 40, after the plotted steps/);
  assert.equal(all(main, (e) => e.classList.includes('finding-marker')).length, 1, 'no marker for an infinite step');
  const nums = all(byId(main, 'findings'), is('tr')).slice(1).map((r) => r.children[0].textContent);
  assert.deepEqual(nums, ['1', ''], 'no marker number for an infinite step');
});

test('verdict page: a job without a verdict is pending; an unknown job is a 404', async () => {
  registry({4: {verdicts: [], jobs: [{id: 21, suite: 'ref-v2', state: 'queued', attempts: 0, max_attempts: 3,
                                      last_error: null}]}}, []);
  const main = document.createElement('div');
  await verdict.render(main, {ns: 'team', name: 'bert', n: '4', job: '21'});
  assert.equal(byId(main, 'verdict-result').getAttribute('data-result'), 'pending');
  assert.equal(all(main, is('figure')).length, 0);
  await assert.rejects(verdict.render(document.createElement('div'), {ns: 'team', name: 'bert', n: '4', job: '99'}),
                       (e) => e.status === 404);
  await assert.rejects(verdict.render(document.createElement('div'), {ns: 'team', name: 'bert', n: '8', job: '1'}),
                       (e) => e.status === 404, 'an unknown version is the API\'s 404');
});

// ---------------------------------------------------------------- run

await run();
