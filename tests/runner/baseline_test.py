#!/usr/bin/python3
"""tests/runner/baseline_test.py: the baseline stored in
runner/suites/ci.yaml is what `optreg-runner baseline` computes now.

The block is printed by the runner and pasted into the suite file (never
typed); this test recomputes it and compares every number of every
workload and seed. The tolerance is relative 1e-4, not equality: the
stored numbers have 6 significant digits, and another CPU's OpenBLAS
kernel set (named in the verdict's `device`) rounds the GEMMs differently,
which moves the last digits of the MLP's losses. A change to the runner's
arithmetic, a workload or the suite moves them by far more, and then the
block must be regenerated (the command is in the suite file's header).

usage: tests/runner/baseline_test.py     (from the repository root)
env:   BIN   folder with optreg and optreg-runner (default "bin")
Prints TAP.
"""

import json
import math
import os
import subprocess
import sys
import tempfile

BIN = os.environ.get("BIN") or "bin"
SUITE = "runner/suites/ci.yaml"
RTOL = 1e-4

n = 0
failed = 0


def report(ok, desc, why=""):
    global n, failed
    n += 1
    print("%s %d - %s" % ("ok" if ok else "not ok", n, desc))
    if not ok:
        failed += 1
        for line in why.splitlines():
            print("# " + line)


def canonical(path):
    p = subprocess.run([os.path.join(BIN, "optreg"), "canonicalize", path],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=True,
                       timeout=60)
    return json.loads(p.stdout)


def main():
    stored = canonical(SUITE).get("baseline")
    report(isinstance(stored, dict) and len(stored) > 0,
           "ci.yaml has a baseline section")
    p = subprocess.run([os.path.join(BIN, "optreg-runner"), "baseline", "--suite", SUITE],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=600)
    report(p.returncode == 0, "optreg-runner baseline exits 0",
           p.stderr.decode(errors="replace")[-2000:])
    with tempfile.NamedTemporaryFile("wb", suffix=".yaml") as f:
        f.write(p.stdout)
        f.flush()
        computed = canonical(f.name).get("baseline")
    report(isinstance(computed, dict), "its output is a YAML baseline block")
    if not isinstance(stored, dict) or not isinstance(computed, dict):
        print("1..%d" % n)
        return 1
    report(sorted(stored) == sorted(computed), "the same workloads",
           "stored %s, computed %s" % (sorted(stored), sorted(computed)))
    for wl in sorted(stored):
        s, c = stored[wl], computed.get(wl, {})
        report(sorted(s) == sorted(c), "%s: the same seeds" % wl,
               "stored %s, computed %s" % (sorted(s), sorted(c)))
        for seed in sorted(s):
            bad = []
            for key in ("final_loss", "test_loss", "test_accuracy"):
                a, b = s[seed].get(key), c.get(seed, {}).get(key)
                if (a is None) != (b is None):
                    bad.append("%s: stored %r, computed %r" % (key, a, b))
                elif a is not None and not math.isclose(a, b, rel_tol=RTOL):
                    bad.append("%s: stored %r, computed %r (rtol %g)" % (key, a, b, RTOL))
            report(not bad, "%s seed %s: stored numbers match the computed ones" % (wl, seed),
                   "\n".join(bad) + "\nregenerate the block (see the suite file's header)")
    print("1..%d" % n)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
