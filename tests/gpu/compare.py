#!/usr/bin/env python3
"""tests/gpu/compare.py G1 G2 CPU RTOL ATOL: the verdicts of tests/gpu/run.

G1 and G2 are two `optreg-runner run --json --backend cuda` verdicts of one
config, CPU the same config's on the CPU. Prints "worst loss difference: X
of the tolerance", the largest relative loss difference per workload, the
"gpu" member, "note ..." lines for differences allowed on unstable
workloads, and one "BAD ..." line per problem: the GPU verdicts differ in
anything but "time"; a verdict's backend is not what was asked; the
result, a workload's result or the fail findings differ between GPU and
CPU; on a workload that passes on both, a warn finding differs or a metric
whose name has "loss" differs by more than ATOL + RTOL * |cpu| (the rules
are in the comment below and in docs/runner.md). Exit 0 either way (the
caller reads the lines); 2 on bad arguments.
"""
import json, math, sys

if len(sys.argv) != 6:
    sys.exit("usage: compare.py G1 G2 CPU RTOL ATOL")
g1, g2, c = (json.load(open(p)) for p in sys.argv[1:4])
rtol, atol = float(sys.argv[4]), float(sys.argv[5])
bad = []

def strip(v):
    v = dict(v)
    v.pop("time", None)
    return v

# The two GPU runs: everything but the time identical.
if strip(g1) != strip(g2):
    for w1, w2 in zip(g1["workloads"], g2["workloads"]):
        if w1 != w2:
            bad.append("gpu runs differ on %s" % w1["name"])
    bad.append("the two GPU verdicts differ")
if g1.get("backend") != "cuda" or "gpu" not in g1:
    bad.append("the GPU verdict lacks backend cuda or gpu: %r %r"
               % (g1.get("backend"), g1.get("gpu")))
if c.get("backend") != "cpu" or "gpu" in c:
    bad.append("the CPU verdict's backend is %r" % c.get("backend"))

# GPU against CPU. A training run is only as reproducible as it is
# stable: float32 products summed in another order (cuBLAS's, not
# OpenBLAS's) start the two runs a rounding apart, and a workload that
# diverges or spikes amplifies that into different curves. So:
#  - the verdict's result, every workload's result and the fail findings
#    (criterion, workload) must be the same;
#  - on workloads that pass on both, everything must agree: their warn
#    findings (none) and every loss metric within ATOL + RTOL * |cpu|;
#  - on workloads that warn or fail on both, warn findings and losses may
#    differ: printed as "note" lines, not counted.
def finds(v, severity=None):
    return sorted((f["criterion"], f.get("workload") or "", f["severity"])
                  for f in v["findings"]
                  if severity is None or f["severity"] == severity)


if g1["result"] != c["result"]:
    bad.append("result: gpu %s, cpu %s" % (g1["result"], c["result"]))
if finds(g1, "fail") != finds(c, "fail"):
    bad.append("fail findings: gpu %s, cpu %s"
               % (finds(g1, "fail"), finds(c, "fail")))
unstable = set()
for wg, wc in zip(g1["workloads"], c["workloads"]):
    if wg["name"] != wc["name"]:
        bad.append("workloads differ: gpu %s, cpu %s"
                   % (wg["name"], wc["name"]))
    elif wg["result"] != wc["result"]:
        bad.append("%s: gpu %s, cpu %s" % (wg["name"], wg["result"],
                                           wc["result"]))
    elif wc["result"] in ("warn", "fail"):
        unstable.add(wc["name"])
gw, cw = finds(g1, "warn"), finds(c, "warn")
if [f for f in gw if f[1] not in unstable] != \
        [f for f in cw if f[1] not in unstable]:
    bad.append("warn findings: gpu %s, cpu %s" % (gw, cw))
for f in sorted(set(gw) ^ set(cw)):
    if f[1] in unstable:
        print("note: warn finding %s on %s only on the %s (the workload "
              "warns or fails on both)"
              % (f[0], f[1], "gpu" if f in gw else "cpu"))
worst = 0.0
rel = {}  # workload: the largest |gpu - cpu| / |cpu| of its loss metrics
for wg, wc in zip(g1["workloads"], c["workloads"]):
    for rg, rc in zip(wg["runs"], wc["runs"]):
        for k, a in rg["metrics"].items():
            b = rc["metrics"].get(k)
            if "loss" not in k or not isinstance(a, (int, float)) \
                    or not isinstance(b, (int, float)):
                continue
            d = abs(a - b)
            if math.isfinite(d) and b:
                rel[wg["name"]] = max(rel.get(wg["name"], 0.0), d / abs(b))
            if wg["name"] in unstable:
                continue
            allowed = atol + rtol * abs(b)
            if not math.isfinite(d) and a != b:
                bad.append("%s seed %s %s: gpu %r cpu %r"
                           % (wg["name"], rg["seed"], k, a, b))
                continue
            if math.isfinite(d):
                worst = max(worst, d / allowed)
                if d > allowed:
                    bad.append("%s seed %s %s: gpu %.6g cpu %.6g"
                               % (wg["name"], rg["seed"], k, a, b))
print("worst loss difference: %.3g of the tolerance (workloads that pass)"
      % worst)
print("largest relative loss difference per workload: "
      + ", ".join("%s%s %.2g" % (k, " (unstable)" if k in unstable else "",
                                 v) for k, v in sorted(rel.items())))
print("gpu: %s" % json.dumps(g1.get("gpu")))
for b in bad:
    print("BAD " + b)
