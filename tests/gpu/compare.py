#!/usr/bin/env python3
"""tests/gpu/compare.py G1 G2 CPU RTOL ATOL: the verdicts of tests/gpu/run.

G1 and G2 are two `optreg-runner run --json --backend cuda` verdicts of one
config, CPU the same config's on the CPU. Prints "worst loss difference: X
of the tolerance", the "gpu" member, and one "BAD ..." line per problem:
the GPU verdicts differ in anything but "time"; a verdict's backend is not
what was asked; result, per-workload results or findings (criterion,
workload, severity) differ between GPU and CPU; a metric whose name has
"loss" differs by more than ATOL + RTOL * |cpu|. Exit 0 either way (the
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

# GPU against CPU: results, findings, losses.
def finds(v):
    return sorted((f["criterion"], f.get("workload") or "", f["severity"])
                  for f in v["findings"])

if g1["result"] != c["result"]:
    bad.append("result: gpu %s, cpu %s" % (g1["result"], c["result"]))
if finds(g1) != finds(c):
    bad.append("findings: gpu %s, cpu %s" % (finds(g1), finds(c)))
worst = 0.0
for wg, wc in zip(g1["workloads"], c["workloads"]):
    if wg["result"] != wc["result"]:
        bad.append("%s: gpu %s, cpu %s" % (wg["name"], wg["result"],
                                           wc["result"]))
    for rg, rc in zip(wg["runs"], wc["runs"]):
        for k, a in rg["metrics"].items():
            b = rc["metrics"].get(k)
            if "loss" not in k or not isinstance(a, (int, float)) \
                    or not isinstance(b, (int, float)):
                continue
            d = abs(a - b)
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
print("worst loss difference: %.3g of the tolerance" % worst)
print("gpu: %s" % json.dumps(g1.get("gpu")))
for b in bad:
    print("BAD " + b)
