// ui/plot.js: the loss plot of a verdict's workload, as SVG.
//
// Everything but renderPlot() is a pure function of numbers (no DOM), so
// tests/ui/plot_test.mjs calls it under node. The curve is what
// `optreg verdicts` shows as a sparkline (cli/verdicts.c curve_of): with
// one run per seed, each point is the median over the seeds that have a
// finite loss at that step; a verdict of one seed (runner 0.1.0) has the
// workload's own `loss_curve`. A loss that is null (the runner writes a
// non-finite value as null) or not a finite number is a gap in the path.
import {s} from './dom.js';

// The plot's coordinate system (the SVG's viewBox); the SVG is drawn at
// width 100% and scales with the page.
export const WIDTH = 560;
export const HEIGHT = 300;
export const MARGIN = {left: 58, right: 14, top: 14, bottom: 42};

// A finite number, or NaN for anything else (null, a string, ±Infinity).
export function lossValue(v) {
  return typeof v === 'number' && Number.isFinite(v) ? v : NaN;
}

// [[step, loss|null]] of a `loss_curve`, keeping only well-formed points
// (a finite step); a loss that is not a finite number becomes null.
export function cleanCurve(c) {
  if (!Array.isArray(c)) return [];
  const out = [];
  for (const p of c) {
    if (!Array.isArray(p) || typeof p[0] !== 'number' || !Number.isFinite(p[0])) continue;
    const l = lossValue(p[1]);
    out.push([p[0], Number.isNaN(l) ? null : l]);
  }
  return out;
}

function median(xs) {
  const v = [...xs].sort((a, b) => a - b);
  const k = v.length;
  return k % 2 ? v[(k - 1) / 2] : (v[k / 2 - 1] + v[k / 2]) / 2;
}

// The curve of a verdict's workload entry: {seeds: [seed…], points:
// [[step, loss|null]…], perSeed: [{seed, points}]}. With `runs[]`, the
// steps are those of the longest run's curve and each loss the median over
// the runs with a finite loss at that step (null when none has one).
export function workloadCurve(w) {
  const runs = Array.isArray(w && w.runs) ? w.runs : [];
  if (!runs.length) {
    const seeds = typeof (w && w.seed) === 'number' ? [w.seed] : [];
    const points = cleanCurve(w && w.loss_curve);
    return {seeds, points, perSeed: []};
  }
  const perSeed = runs.map((r) => ({seed: r && typeof r.seed === 'number' ? r.seed : null,
                                    points: cleanCurve(r && r.loss_curve)}));
  let longest = [];
  for (const r of perSeed) if (r.points.length > longest.length) longest = r.points;
  const points = longest.map(([step]) => {
    const col = [];
    for (const r of perSeed) {
      const q = r.points.find((p) => p[0] === step);
      if (q && q[1] !== null) col.push(q[1]);
    }
    return [step, col.length ? median(col) : null];
  });
  return {seeds: perSeed.map((r) => r.seed).filter((x) => x !== null), points, perSeed};
}

// The lowest and highest finite value of `values`, or null when none is.
export function extent(values) {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (typeof v !== 'number' || !Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return lo <= hi ? [lo, hi] : null;
}

// Log scale when the finite values are all positive and span at least
// 100x (the rule `optreg verdicts` uses for its sparklines).
export function spansDecades(values) {
  const e = extent(values);
  if (!e) return false;
  for (const v of values)
    if (typeof v === 'number' && Number.isFinite(v) && v <= 0) return false;
  return e[1] >= 100 * e[0];
}

// Linear ticks at 1, 2 or 5 times a power of ten covering [lo, hi]:
// {lo, hi, ticks} with lo and hi widened to the outer ticks; no closer
// than `minStep` (1 for steps, which are whole numbers).
export function linearTicks(lo, hi, count = 5, minStep = 0) {
  if (!(lo < hi)) {
    const pad = lo === 0 ? 1 : Math.abs(lo) / 10;
    lo -= pad;
    hi += pad;
  }
  // Halved, so that a range near ±1.8e308 does not overflow; a tick past
  // the largest double is left out (the domain ends at the last one).
  const raw = (hi / 2 - lo / 2) / Math.max(1, count) * 2;
  const p = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = Math.max(minStep, [1, 2, 5, 10].map((m) => m * p).find((x) => x >= raw && Number.isFinite(x)) || p);
  const a = Math.floor(lo / step);
  const b = Math.ceil(hi / step);
  const ticks = [];
  for (let i = a; i <= b; i++) {
    const t = round(i * step);
    if (Number.isFinite(t)) ticks.push(t);
  }
  return {lo: ticks[0], hi: ticks[ticks.length - 1], ticks};
}

// Log ticks for positive [lo, hi]: the domain widened to whole decades,
// a tick per decade (every second or more when there are many), and 2 and
// 5 between them when the plot spans at most two decades.
export function logTicks(lo, hi) {
  // Decades a double has: 1e-323 (subnormal, still above 0) to 1e308.
  let a = Math.max(-323, Math.floor(Math.log10(lo)));
  let b = Math.min(308, Math.ceil(Math.log10(hi)));
  if (a >= b) {
    if (a < 308) b = a + 1;
    else a = b - 1;
  }
  const every = Math.max(1, Math.ceil((b - a) / 8));
  const ticks = [];
  for (let k = a; k <= b; k++) {
    if ((k - a) % every === 0 || k === b) ticks.push(Math.pow(10, k));
    if (b - a <= 2 && k < b) ticks.push(2 * Math.pow(10, k), 5 * Math.pow(10, k));
  }
  ticks.sort((x, y) => x - y);
  return {lo: Math.pow(10, a), hi: Math.pow(10, b), ticks: ticks.map(round)};
}

function round(v) {
  return Number.parseFloat(v.toPrecision(12));
}

// A function from domain [d0, d1] to range [r0, r1], linear or in log10.
// Halved differences, so that losses near ±1.8e308 do not overflow.
export function scale(d0, d1, r0, r1, log = false) {
  const f = log ? Math.log10 : (v) => v;
  const a = f(d0);
  const b = f(d1);
  return (v) => {
    const t = b !== a ? (f(v) / 2 - a / 2) / (b / 2 - a / 2) : 0.5;
    return r0 + t * (r1 - r0);
  };
}

// A number for a tick label or a tooltip: short, without float noise.
export function formatNumber(v) {
  if (typeof v !== 'number' || !Number.isFinite(v)) return '–';
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e4 || a < 1e-3) {
    const [m, e] = v.toExponential(2).split('e');
    return `${Number.parseFloat(m)}e${Number.parseInt(e, 10)}`;
  }
  return String(Number.parseFloat(v.toPrecision(4)));
}

function fix(v) {
  return Number.parseFloat(v.toFixed(2));
}

// SVG path data through `points` ([[step, loss|null]]) with x() and y():
// a gap at each null, so a curve is one <path> with one subpath per run of
// finite points. {d, count}: count is the number of points drawn.
export function pathData(points, x, y) {
  const parts = [];
  let run = 0;
  let count = 0;
  // A point alone between gaps is a zero-length segment: with round caps
  // it shows as a dot.
  const end = () => {
    if (run === 1) parts[parts.length - 1] += ' h0';
    run = 0;
  };
  for (const [step, loss] of points) {
    if (loss === null || !Number.isFinite(loss)) {
      end();
      continue;
    }
    // Far outside the plot (a seed's spike, clipped) stays a plain number.
    const py = Math.max(-1e5, Math.min(1e5, y(loss)));
    parts.push(`${run ? 'L' : 'M'}${fix(x(step))} ${fix(py)}`);
    run++;
    count++;
  }
  end();
  return {d: parts.join(' '), count};
}

// The point of the curve that holds a finding at `step`: the first point
// at or after the step (a curve point is the mean of the steps up to it),
// else the last point. null when the curve is empty.
export function pointAt(points, step) {
  if (!points.length) return null;
  return points.find((p) => p[0] >= step) || points[points.length - 1];
}

// Where a finding at `step` sits on the drawn curve, in viewBox units: x
// at the step, y on the line between the finite points around it (in
// screen space, so on a log scale too). null when the point that holds the
// step has no finite loss (the marker then sits on the top edge).
export function markerY(points, step, x, y) {
  const p = pointAt(points, step);
  if (!p || p[1] === null) return null;
  let before = null;
  for (const q of points) {
    if (q[0] > step) break;
    before = q;
  }
  if (!before || before[1] === null || before[0] === p[0] || p[0] < step) return y(p[1]);
  const t = (x(step) - x(before[0])) / (x(p[0]) - x(before[0]));
  return y(before[1]) + t * (y(p[1]) - y(before[1]));
}

// Everything the plot draws, in viewBox coordinates:
//   opts.curve     [[step, loss|null]]: the verdict's curve (one path.curve)
//   opts.seeds     [{seed, points}]: each seed's own curve (thin, optional)
//   opts.compare   [{label, points}]: comparison curves (grey)
//   opts.warmup    warmup steps (a vertical line when > 0)
//   opts.findings  [{criterion, severity, step, message, n}] of this workload
//                  (n: the marker's number, default its place among them)
// The log-scale decision is the verdict's own curve's (as `optreg
// verdicts` decides); the y range covers it and the comparison curves
// (their positive losses on a log scale). The seeds' curves are drawn
// clipped to that range: one seed's spike does not flatten the rest.
export function plotModel(opts) {
  const curve = opts.curve || [];
  const log = spansDecades(curve.map((p) => p[1]));
  const drawable = (points) => points.map(([st, l]) => [st, l !== null && (!log || l > 0) ? l : null]);
  const seeds = (opts.seeds || []).map((c) => ({seed: c.seed, points: drawable(c.points)}));
  const compare = (opts.compare || []).map((c) => ({label: c.label, points: drawable(c.points)}));
  const ranged = [curve, ...compare.map((c) => c.points)];
  const all = [...ranged, ...seeds.map((c) => c.points)];
  const steps = all.flatMap((c) => c.map((p) => p[0]));
  const ye = extent(ranged.flatMap((c) => c.map((p) => p[1])));
  let yt;
  if (!ye) yt = linearTicks(0, 1);
  else if (log) yt = logTicks(ye[0], ye[1]);
  else yt = linearTicks(ye[0], ye[1]);
  const se = extent(steps) || [0, 1];
  const xt = linearTicks(se[0] === se[1] ? se[0] - 1 : se[0], se[0] === se[1] ? se[1] + 1 : se[1], 6, 1);
  // The x axis starts at the first step (or the tick below it), not 0.
  const x0 = se[0] < se[1] ? se[0] : xt.lo;
  const x1 = se[0] < se[1] ? se[1] : xt.hi;
  const left = MARGIN.left;
  const right = WIDTH - MARGIN.right;
  const top = MARGIN.top;
  const bottom = HEIGHT - MARGIN.bottom;
  const x = scale(x0, x1, left, right);
  const y = scale(yt.lo, yt.hi, bottom, top, log);
  const clampX = (v) => Math.min(right, Math.max(left, x(v)));
  const main = pathData(curve, x, y);
  const model = {
    width: WIDTH, height: HEIGHT, box: {left, right, top, bottom},
    scale: log ? 'log' : 'linear',
    xDomain: [x0, x1], yDomain: [yt.lo, yt.hi], finite: !!ye,
    xTicks: xt.ticks.filter((t) => t >= x0 && t <= x1).map((t) => ({value: t, pos: fix(x(t)), label: formatNumber(t)})),
    yTicks: yt.ticks.map((t) => ({value: t, pos: fix(y(t)), label: formatNumber(t)})),
    curve: {d: main.d, points: main.count, length: curve.length},
    seeds: seeds.map((c) => ({seed: c.seed, ...pathData(c.points, x, y)})),
    compare: compare.map((c) => ({label: c.label, ...pathData(c.points, x, y)})),
    warmup: null,
    markers: [],
  };
  const w = Number(opts.warmup);
  if (Number.isFinite(w) && w > 0) model.warmup = {step: w, pos: fix(clampX(w)), beyond: w > x1};
  for (const f of opts.findings || []) {
    if (typeof f.step !== 'number' || !Number.isFinite(f.step)) continue;
    // A finding where the curve has no finite loss sits on the top edge.
    const my = markerY(curve, f.step, x, y);
    // Markers at the same step have their numbers one under the other.
    const same = model.markers.filter((k) => k.step === f.step).length;
    // A step outside the plotted ones sits on that edge, and says so.
    const outside = f.step > x1 ? 'after' : f.step < x0 ? 'before' : null;
    model.markers.push({n: f.n || model.markers.length + 1,
                        criterion: f.criterion, severity: f.severity, step: f.step,
                        message: f.message || '', x: fix(clampX(f.step)), y: fix(my === null ? top : my),
                        offChart: my === null, outside, labelDy: same * 14});
  }
  return model;
}

// What a marker's words add when its step is outside the plotted steps.
export function outsideText(k) {
  return k.outside ? `, ${k.outside} the plotted steps (drawn at the ${k.outside === 'after' ? 'right' : 'left'} edge)` : '';
}

let clipSeq = 0;

// The <svg> of a plotModel(); `label` names the plot for screen readers.
export function renderPlot(m, label) {
  const {left, right, top, bottom} = m.box;
  const kids = [s('title', null, label)];
  const grid = s('g', {class: 'grid', 'aria-hidden': 'true'});
  for (const t of m.yTicks)
    grid.append(s('line', {x1: left, x2: right, y1: t.pos, y2: t.pos}));
  kids.push(grid);
  const axes = s('g', {class: 'axes', 'aria-hidden': 'true'},
                 s('line', {class: 'axis', x1: left, x2: right, y1: bottom, y2: bottom}),
                 s('line', {class: 'axis', x1: left, x2: left, y1: top, y2: bottom}));
  for (const t of m.xTicks)
    axes.append(s('line', {class: 'tick', x1: t.pos, x2: t.pos, y1: bottom, y2: bottom + 5}),
                s('text', {class: 'tick-label', x: t.pos, y: bottom + 17, 'text-anchor': 'middle'}, t.label));
  for (const t of m.yTicks)
    axes.append(s('line', {class: 'tick', x1: left - 5, x2: left, y1: t.pos, y2: t.pos}),
                s('text', {class: 'tick-label', x: left - 8, y: t.pos + 4, 'text-anchor': 'end'}, t.label));
  axes.append(s('text', {class: 'axis-label', x: (left + right) / 2, y: m.height - 6, 'text-anchor': 'middle'}, 'step'),
              s('text', {class: 'axis-label', x: 12, y: (top + bottom) / 2, 'text-anchor': 'middle',
                         transform: `rotate(-90 12 ${(top + bottom) / 2})`},
                m.scale === 'log' ? 'loss (log scale)' : 'loss'));
  kids.push(axes);
  const clip = `plot-clip-${++clipSeq}`;
  kids.push(s('clipPath', {id: clip}, s('rect', {x: left, y: top - 2, width: right - left, height: bottom - top + 4})));
  for (const c of m.compare)
    kids.push(s('path', {class: 'compare', d: c.d || null, 'data-points': c.points}, s('title', null, c.label)));
  if (m.warmup)
    kids.push(s('line', {class: 'warmup', x1: m.warmup.pos, x2: m.warmup.pos, y1: top, y2: bottom,
                         'data-step': m.warmup.step},
                s('title', null, m.warmup.beyond ? `warmup ends at step ${m.warmup.step}, after the plotted steps`
                                                 : `warmup ends at step ${m.warmup.step}`)));
  for (const c of m.seeds)
    kids.push(s('path', {class: 'seed', d: c.d || null, 'data-seed': c.seed, 'data-points': c.points,
                         'clip-path': `url(#${clip})`},
                s('title', null, `seed ${c.seed}`)));
  kids.push(s('path', {class: 'curve', d: m.curve.d || null, 'data-points': m.curve.points, 'data-length': m.curve.length}));
  for (const k of m.markers)
    kids.push(s('g', {class: 'finding-marker', 'data-criterion': k.criterion, 'data-severity': k.severity,
                      'data-step': k.step},
                s('title', null, `${k.criterion} (${k.severity}) at step ${k.step}${outsideText(k)}` +
                                 `${k.message ? ': ' + k.message : ''}`),
                s('line', {x1: k.x, x2: k.x, y1: top, y2: bottom}),
                s('circle', {cx: k.x, cy: k.y, r: 5}),
                // The number right of the marker, or left of it at the right edge.
                s('text', {x: k.x > right - 20 ? k.x - 7 : k.x + 7, 'text-anchor': k.x > right - 20 ? 'end' : null,
                           y: fix(Math.max(top + 10, k.y - 7) + k.labelDy)}, String(k.n))));
  if (!m.finite)
    kids.push(s('text', {class: 'no-data', x: (left + right) / 2, y: (top + bottom) / 2, 'text-anchor': 'middle'},
                'no finite loss to plot'));
  return s('svg', {class: 'plot', viewBox: `0 0 ${m.width} ${m.height}`, width: '100%', role: 'img',
                   preserveAspectRatio: 'xMidYMid meet', 'data-scale': m.scale}, kids);
}
