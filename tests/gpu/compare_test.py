#!/usr/bin/python3
"""tests/gpu/compare_test.py: tests/gpu/compare.py, the rules by which
tests/gpu/run holds GPU verdicts to the CPU's (runs on every machine; no
GPU involved: the verdicts are made up here).

What it covers: identical verdicts pass; losses within the tolerance pass
and beyond it fail, on workloads that pass; two GPU runs that differ fail;
a different result, workload result or fail finding fails; a warn finding
that differs fails on a workload that passes and is a "note" on one that
warns on both, whose losses are then not compared; a verdict of the wrong
backend fails.

usage: tests/gpu/compare_test.py     (from anywhere)
Prints TAP and exits 1 when any test fails.
"""

import copy
import json
import os
import subprocess
import sys
import tempfile
import traceback

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COMPARE = os.path.join(ROOT, "tests", "gpu", "compare.py")
GPU = {"name": "NVIDIA H200", "compute_capability": "9.0",
       "driver_version": "13.0", "runtime_version": "13.0"}


def verdict(backend, loss=0.5, result="pass", findings=(), wresult="pass",
            seconds=1.0):
    v = {"backend": backend, "result": result, "time": {"seconds": seconds},
         "findings": [dict(f) for f in findings],
         "workloads": [
             {"name": "mlp", "result": wresult,
              "runs": [{"seed": 1, "metrics": {"final_loss": loss,
                                               "test_loss": loss + 0.1,
                                               "test_accuracy": 0.8}}]},
             {"name": "lm", "result": "pass",
              "runs": [{"seed": 1, "metrics": {"final_loss": 2.0}}]}]}
    if backend == "cuda":
        v["gpu"] = dict(GPU)
    return v


def compare(g1, g2, c, rtol="5e-2", atol="1e-4"):
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for name, v in (("g1", g1), ("g2", g2), ("c", c)):
            p = os.path.join(tmp, name + ".json")
            with open(p, "w") as f:
                json.dump(v, f)
            paths.append(p)
        r = subprocess.run(["/usr/bin/python3", COMPARE] + paths + [rtol, atol],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=60, text=True)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    return [ln for ln in lines if ln.startswith("BAD ")], \
        [ln for ln in lines if ln.startswith("note: ")], lines


def test_identical():
    g = verdict("cuda")
    bad, notes, lines = compare(g, copy.deepcopy(g), verdict("cpu"))
    assert bad == [] and notes == [], lines
    assert any(ln.startswith("worst loss difference: 0 ") for ln in lines), lines
    assert any(ln.startswith("gpu: ") and "H200" in ln for ln in lines), lines


def test_loss_tolerance():
    # 0.5 * 1.04 is inside 5e-2 relative; 0.5 * 1.06 is not.
    g = verdict("cuda", loss=0.52)
    bad, _, lines = compare(g, copy.deepcopy(g), verdict("cpu"))
    assert bad == [], lines
    assert any("mlp 0.04" in ln for ln in lines), lines
    g = verdict("cuda", loss=0.53)
    bad, _, _ = compare(g, copy.deepcopy(g), verdict("cpu"))
    assert any("mlp seed 1 final_loss" in b for b in bad), bad
    assert not any("test_accuracy" in b for b in bad), bad  # not a loss


def test_gpu_runs_differ():
    g1, g2 = verdict("cuda"), verdict("cuda", loss=0.5000001)
    bad, _, _ = compare(g1, g2, verdict("cpu"))
    assert "BAD the two GPU verdicts differ" in bad, bad
    # Only the time may differ.
    bad, _, _ = compare(verdict("cuda", seconds=1), verdict("cuda", seconds=2),
                        verdict("cpu"))
    assert bad == [], bad


def test_results_and_fail_findings():
    fail = {"criterion": "loss_explosion", "workload": "mlp",
            "severity": "fail"}
    g = verdict("cuda", result="fail", findings=[fail], wresult="fail")
    bad, _, _ = compare(g, copy.deepcopy(g), verdict("cpu"))
    assert "BAD result: gpu fail, cpu pass" in bad, bad
    assert "BAD mlp: gpu fail, cpu pass" in bad, bad
    assert any(b.startswith("BAD fail findings:") for b in bad), bad
    # The same failure on both: agreed, losses of the failing workload
    # not compared.
    c = verdict("cpu", loss=5.0, result="fail", findings=[fail],
                wresult="fail")
    bad, _, lines = compare(g, copy.deepcopy(g), c)
    assert bad == [], bad
    assert any("mlp (unstable) 0.9" in ln for ln in lines), lines


def test_warn_findings():
    warn = {"criterion": "no_progress", "workload": "mlp", "severity": "warn"}
    g = verdict("cuda", result="warn", findings=[warn], wresult="warn")
    c = verdict("cpu", result="warn",
                findings=[{"criterion": "loss_spikes", "workload": "mlp",
                           "severity": "warn"}], wresult="warn")
    bad, notes, _ = compare(g, copy.deepcopy(g), c)
    assert bad == [], bad
    assert len(notes) == 2 and any("no_progress on mlp only on the gpu" in n
                                   for n in notes), notes
    # A warn finding about a workload that passes on both must agree.
    other = {"criterion": "no_progress", "workload": "lm", "severity": "warn"}
    g = verdict("cuda", findings=[other])
    bad, _, _ = compare(g, copy.deepcopy(g), verdict("cpu"))
    assert any(b.startswith("BAD warn findings:") for b in bad), bad


def test_backend_fields():
    c = verdict("cpu")
    bad, _, _ = compare(c, copy.deepcopy(c), c)
    assert any("lacks backend cuda" in b for b in bad), bad
    g = verdict("cuda")
    bad, _, _ = compare(g, copy.deepcopy(g), g)
    assert any("the CPU verdict's backend" in b for b in bad), bad


TESTS = [
    (test_identical, "identical verdicts agree"),
    (test_loss_tolerance, "losses within RTOL pass, beyond fail"),
    (test_gpu_runs_differ, "two GPU runs must be identical but for time"),
    (test_results_and_fail_findings, "results and fail findings must agree"),
    (test_warn_findings, "warn findings: counted where the workload passes"),
    (test_backend_fields, "backend and gpu members checked"),
]


def main():
    failed = 0
    for i, (fn, desc) in enumerate(TESTS, 1):
        try:
            fn()
            print("ok %d - %s" % (i, desc))
        except Exception:
            failed += 1
            print("not ok %d - %s" % (i, desc))
            for line in traceback.format_exc().splitlines():
                print("# " + line)
    print("1..%d" % len(TESTS))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
