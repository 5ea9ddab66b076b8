#!/usr/bin/python3
"""tests/runner/baseline_test.py: the baseline grid stored in
runner/suites/ci.yaml is what `optreg-runner baseline` computes now, and a
config is judged against the grid lr nearest its own from below.

The block is printed by the runner and pasted into the suite file (never
typed); this test recomputes it (the default grid: the file's own lrs) and
compares every number of every lr, workload and seed. The tolerance is
relative 1e-4, not equality: the stored numbers have 6 significant
digits, and another CPU's OpenBLAS kernel set (named in the verdict's
`device`) rounds the GEMMs differently, which moves the last digits of the
MLP's losses. A change to the runner's arithmetic, a workload or the suite
moves them by far more, and then the block must be regenerated (the
command is in the suite file's header).

Then the selection: configs below, between, at and above the grid's lrs
get the entry they should (`baseline_lr` in each workload entry and in each
run's metrics, with that entry's numbers), and a slow config at a grid lr
(Adam at 1e-4) passes where the 1e-3 baseline alone fails it.

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
ADAM = "examples/configs/adam-constant-1e-3.yaml"
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


def runner(*args):
    return subprocess.run([os.path.join(BIN, "optreg-runner")] + list(args),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=600)


def block_of(stdout):
    """The grid a `baseline` run printed, parsed as YAML (via optreg)."""
    with tempfile.NamedTemporaryFile("wb", suffix=".yaml") as f:
        f.write(stdout)
        f.flush()
        return canonical(f.name).get("baseline")


def compare_point(s, c, where):
    """Every workload and seed of grid point s (stored) against c."""
    sw, cw = s.get("workloads", {}), c.get("workloads", {})
    report(sorted(sw) == sorted(cw), "%s: the same workloads" % where,
           "stored %s, computed %s" % (sorted(sw), sorted(cw)))
    for wl in sorted(sw):
        a_wl, b_wl = sw[wl], cw.get(wl, {})
        report(sorted(a_wl) == sorted(b_wl), "%s %s: the same seeds" % (where, wl),
               "stored %s, computed %s" % (sorted(a_wl), sorted(b_wl)))
        for seed in sorted(a_wl):
            bad = []
            for key in ("final_loss", "test_loss", "test_accuracy"):
                a, b = a_wl[seed].get(key), b_wl.get(seed, {}).get(key)
                if (a is None) != (b is None):
                    bad.append("%s: stored %r, computed %r" % (key, a, b))
                elif a is not None and not math.isclose(a, b, rel_tol=RTOL):
                    bad.append("%s: stored %r, computed %r (rtol %g)" % (key, a, b, RTOL))
            report(not bad, "%s %s seed %s: stored numbers match the computed ones"
                   % (where, wl, seed),
                   "\n".join(bad) + "\nregenerate the block (see the suite file's header)")


def adam_at(tmp, lr):
    """The Adam defaults config with another lr."""
    with open(ADAM) as f:
        text = f.read()
    assert "  lr: 1.0e-3\n" in text
    path = os.path.join(tmp, "adam-%g.yaml" % lr)
    with open(path, "w") as f:
        f.write(text.replace("  lr: 1.0e-3\n", "  lr: %r\n" % lr))
    return path


def verdict(suite, config):
    p = runner("run", "--json", "--suite", suite, config)
    try:
        return p.returncode, json.loads(p.stdout)
    except ValueError:
        return p.returncode, {"error": p.stderr.decode(errors="replace")[-2000:]}


def check_stored(stored):
    ok = (isinstance(stored, list) and len(stored) >= 2 and
          all(isinstance(e, dict) and isinstance(e.get("lr"), (int, float)) for e in stored))
    report(ok, "ci.yaml has a baseline grid of at least two lrs", repr(stored)[:500])
    if not ok:
        return False
    lrs = [e["lr"] for e in stored]
    report(lrs == sorted(lrs) and len(set(lrs)) == len(lrs), "its lrs ascend", repr(lrs))
    report(1e-3 in lrs and min(lrs) < 1e-3,
           "the grid has 1e-3 and a slower rate", repr(lrs))
    return True


def check_recomputed(stored):
    p = runner("baseline", "--suite", SUITE)
    report(p.returncode == 0, "optreg-runner baseline exits 0",
           p.stderr.decode(errors="replace")[-2000:])
    computed = block_of(p.stdout)
    report(isinstance(computed, list), "its output is a YAML baseline grid")
    if not isinstance(computed, list):
        return
    report([e.get("lr") for e in computed] == [e["lr"] for e in stored],
           "its default grid is the suite file's own lrs",
           "stored %s, computed %s" % ([e["lr"] for e in stored],
                                       [e.get("lr") for e in computed]))
    for s, c in zip(stored, computed):
        compare_point(s, c, "lr %g" % s["lr"])


def check_lrs_option(stored):
    top = [e for e in stored if e["lr"] == 1e-3][0]
    p = runner("baseline", "--suite", SUITE, "--workload", "rosenbrock", "--lrs", "1e-3")
    report(p.returncode == 0, "baseline --lrs 1e-3 --workload rosenbrock exits 0",
           p.stderr.decode(errors="replace")[-2000:])
    text = p.stdout.decode(errors="replace")
    report("  - lr: 1.0e-3\n" in text and "      rosenbrock:\n" in text
           and "quadratic_deep" not in text and "1.0e-4" not in text,
           "prints only that lr and workload", text[-2000:])
    computed = block_of(b"baseline:\n" + p.stdout)
    want = {"lr": 1e-3, "workloads": {"rosenbrock": top["workloads"]["rosenbrock"]}}
    if isinstance(computed, list) and len(computed) == 1:
        compare_point(want, computed[0], "--lrs 1e-3")
    else:
        report(False, "--lrs 1e-3 prints one grid point", repr(computed)[:500])
    for bad in ("1e-3,1e-4", "1e-4,1e-4", "0,1e-3", "fast"):
        p = runner("baseline", "--suite", SUITE, "--lrs", bad)
        err = p.stderr.decode(errors="replace")
        report(p.returncode == 2 and "--lrs" in err,
               "--lrs %s is a usage error naming the option" % bad,
               "exit %d: %s" % (p.returncode, err[-500:]))


def check_selection(stored, tmp):
    """A suite of ci's two cheap workloads, with their grid entries."""
    suite = canonical(SUITE)
    keep = ("quadratic_deep", "rosenbrock")
    suite["workloads"] = [w for w in suite["workloads"] if w["name"] in keep]
    for e in suite["baseline"]:
        e["workloads"] = {k: v for k, v in e["workloads"].items() if k in keep}
    path = os.path.join(tmp, "small.json")
    with open(path, "w") as f:
        json.dump(suite, f)
    lrs = [e["lr"] for e in stored]
    lo, hi = lrs[0], lrs[-1]
    cases = [
        (lo / 3, lo, "below every grid lr: the smallest"),
        (lo * 3, lo if lrs[1] > lo * 3 else None, "between two: the one below"),
        (lo, lo, "exactly at a grid lr: that one"),
        (hi, hi, "exactly at the top: the top"),
        (hi * 100, hi, "above every grid lr: the top (the defaults at 1e-3)"),
    ]
    for lr, want, why in cases:
        if want is None:
            continue
        rc, v = verdict(path, adam_at(tmp, lr))
        entry = [e for e in stored if e["lr"] == want][0]["workloads"]
        wls = v.get("workloads", [])
        bad = []
        if not wls:
            bad.append(("no workloads (exit %d): %r" % (rc, v))[:1000])
        for w in wls:
            if w.get("baseline_lr") != want:
                bad.append("%s: baseline_lr %r" % (w.get("name"), w.get("baseline_lr")))
            for run in w.get("runs", []):
                m = run.get("metrics", {})
                seed = str(run.get("seed"))
                if m.get("baseline_lr") != want:
                    bad.append("%s seed %s: metrics.baseline_lr %r"
                               % (w["name"], seed, m.get("baseline_lr")))
                b = entry[w["name"]][seed]["final_loss"]
                if not math.isclose(m.get("baseline_final_loss") or 0, b, rel_tol=1e-9):
                    bad.append("%s seed %s: baseline_final_loss %r, the lr %g entry has %r"
                               % (w["name"], seed, m.get("baseline_final_loss"), want, b))
        report(not bad, "lr %g is judged against the Adam defaults at lr %g (%s)"
               % (lr, want, why), "\n".join(bad))


def check_slow_is_not_broken(stored, tmp):
    """Adam at the grid's smaller lr trains slower than at 1e-3: held to
    the defaults at its own rate it passes; held to 1e-3 (a one-point
    grid) the gap criteria fail it."""
    lo = stored[0]["lr"]
    config = adam_at(tmp, lo)
    rc, v = verdict(SUITE, config)
    gaps = [f for f in v.get("findings", []) if f.get("criterion") in ("accuracy_gap", "loss_gap")]
    report(rc == 0 and v.get("result") in ("pass", "warn") and not gaps,
           "Adam at lr %g passes on ci without a gap finding" % lo,
           "exit %d, result %r, gaps %r" % (rc, v.get("result"), [f.get("message") for f in gaps]))

    suite = canonical(SUITE)
    suite["baseline"] = [e for e in suite["baseline"] if e["lr"] == 1e-3]
    path = os.path.join(tmp, "top-only.json")
    with open(path, "w") as f:
        json.dump(suite, f)
    rc, v = verdict(path, config)
    gaps = [f for f in v.get("findings", []) if f.get("criterion") in ("accuracy_gap", "loss_gap")
            and f.get("severity") == "fail"]
    report(rc == 1 and gaps and all("Adam defaults at lr 0.001, same seed" in f["message"]
                                    for f in gaps),
           "against lr 1e-3 alone the same config fails a gap criterion naming that lr",
           "exit %d, findings %r" % (rc, [f.get("message") for f in v.get("findings", [])]))


def main():
    stored = canonical(SUITE).get("baseline")
    if not check_stored(stored):
        print("1..%d" % n)
        return 1
    check_recomputed(stored)
    check_lrs_option(stored)
    with tempfile.TemporaryDirectory() as tmp:
        check_selection(stored, tmp)
        check_slow_is_not_broken(stored, tmp)
    print("1..%d" % n)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
