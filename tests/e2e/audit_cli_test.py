#!/usr/bin/python3
"""tests/e2e/audit_cli_test.py: what auditors read (issue 13), through a
real registry, a real PostgreSQL cluster (tests/e2e/harness.py) and a real
`optreg-runner serve --once` that judges the versions and signs verdicts.

What it covers:

  - `optreg verdicts REF`: the table, then per verdict its findings (one
    heading line per counted finding: severity, workload, criterion, step,
    seeds showed/of, as the signed payload says, then its values and
    message) and a loss-curve sparkline per workload with one character
    per point of the longest seed's curve, each the median over the seeds
    (computed here again from the payload), on a log scale exactly when
    the loss spans decades; every line within 80 columns; `--brief`;
    `--json` with the decoded payload and the curves; `ns/name` with no
    @ is the latest version;
  - `optreg audit log --target ns/name` lists the whole config's events
    (version.created, version.yanked, tag.moved, verdict.recorded on
    ns/name@N and ns/name@TAG) and nothing of ns/name2 or ns/nam;
    `--target ns/name@prod` stays exact; `--width 80` lays each event
    out in two lines within 80 columns; the API's `config=` filter and its
    400 for a malformed value;
  - `optreg log`: yank reasons and submit messages, `--moves` with every
    tag move's reason and link (and in --json), `--width 80` in 80
    columns.

usage: tests/e2e/audit_cli_test.py     (from the repository root)
env:   BIN   folder with optreg, optreg-server and optreg-runner (default
             "bin")
       OPTREG_E2E_KEEP=1 keeps the temporary directory (logs, clusters)

Prints TAP and exits 1 when any test fails. Everything it starts is stopped
on exit.
"""

import base64
import json
import os
import re
import subprocess
import sys
import urllib.parse

sys.dont_write_bytecode = True  # no __pycache__ in the working tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import (  # noqa: E402
    BIN, CLI_BIN, DEFAULT_SUITE, ROOT, VERDICT_TYPE, ZERO_DIGEST, Registry, Signer,
    Tap, envelope, eq, expect, status)

RUNNER_BIN = os.path.join(BIN, "optreg-runner")
NS = "team-a"
SPARK = "\u2581\u2582\u2583\u2584\u2585\u2586\u2587\u2588\u00d7"

tap = Tap()


class World:
    pass


W = World()


class Result:
    def __init__(self, argv, p):
        self.argv, self.rc, self.out, self.err = argv, p.returncode, p.stdout, p.stderr

    def describe(self):
        return "$ %s\nexit %d\nstdout:\n%s\nstderr:\n%s" % (
            " ".join(self.argv), self.rc, self.out, self.err)


def optreg(*args, token=None, env=None):
    e = dict((k, v) for k, v in os.environ.items() if not k.startswith("OPTREG_"))
    e.pop("COLUMNS", None)
    e["OPTREG_URL"] = W.S.base
    e["OPTREG_TOKEN"] = token or W.admin
    e["OPTREG_KEY"] = W.ci.key_path
    e.update(env or {})
    argv = [CLI_BIN] + [str(a) for a in args]
    p = subprocess.run(argv, env=e, cwd=ROOT, timeout=120, text=True,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return Result(argv, p)


# A long principal, as an operator may name a runner pool: the verdicts
# table must still fit 80 columns (its RUNNER cells are cut).
RUNNER = "validation-runner-gpu-pool-7@ml-platform.example"

def fits_80(text, what):
    for line in text.split("\n"):
        assert len(line) <= 80, "%s: a line of %d columns:\n%r" % (what, len(line), line)


def squash(text):
    return " ".join(text.split())


def config_file(name, lr, ns=NS):
    path = os.path.join(W.R.tmp, "%s-%s.yaml" % (name, lr))
    with open(path, "w") as f:
        f.write("apiVersion: optreg/v1\nkind: OptimizerConfig\n"
                "metadata:\n  namespace: %s\n  name: %s\n"
                "spec:\n  optimizer: adam\n  lr: %s\n  betas: [0.9, 0.999]\n"
                "  eps: 1.0e-8\n  weight_decay: 0.0\n" % (ns, name, lr))
    return path


def suite_file():
    """runner/suites/ci.yaml (the small test suite, a few seconds a run)
    renamed to the suite the registry's jobs ask for."""
    p = subprocess.run([CLI_BIN, "canonicalize",
                        os.path.join(ROOT, "runner", "suites", "ci.yaml")],
                       stdout=subprocess.PIPE, check=True, timeout=30)
    suite = json.loads(p.stdout)
    suite["name"] = DEFAULT_SUITE
    path = os.path.join(W.R.tmp, "suite-ci.json")
    with open(path, "w") as f:
        json.dump(suite, f)
    return path


def serve_once():
    e = W.R.env()
    e["OPTREG_URL"] = W.S.base
    e["OPTREG_TOKEN"] = W.runner_token
    e["OPTREG_KEY"] = W.runner_key.key_path
    p = subprocess.run([RUNNER_BIN, "serve", "--once", "--suite", W.suite,
                        "--lease-seconds", "300"], cwd=ROOT, env=e, timeout=300,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert p.returncode == 0, "serve --once: exit %d\n%s" % (p.returncode, p.stderr)
    assert '"outcome":"posted"' in p.stderr.replace(" ", ""), p.stderr


def payload(version):
    r = W.S.request("GET", "/v1/configs/%s/model/versions/%d/verdicts" % (NS, version),
                    token=W.admin)
    status(r, 200, "GET verdicts")
    vs = r.json()["verdicts"]
    eq(len(vs), 1, "verdicts of model@%d" % version)
    return vs[0], json.loads(base64.b64decode(vs[0]["envelope"]["payload"]))


def median(xs):
    xs = sorted(xs)
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


def medians(workload):
    """[(step, median loss or None)] over the seeds, at the steps of the
    longest seed's curve (independently of the CLI's code)."""
    curves = [r["loss_curve"] for r in workload["runs"]]
    longest = max(curves, key=len)
    out = []
    for step, _ in longest:
        vals = [l for c in curves for s, l in c if s == step and l is not None]
        out.append((step, median(vals) if vals else None))
    return out


# ---------------------------------------------------------------- setup

def t_setup():
    W.R = Registry().start()
    W.S = W.R.server()
    W.admin, _ = W.R.token("admin@ops", "admin")
    W.appr, _ = W.R.token("lead@team-a", "approver", namespace=NS)
    W.runner_token, _ = W.R.token(RUNNER, "runner")
    W.ci = Signer(W.R.tmp, "ci")
    W.runner_key = Signer(W.R.tmp, "runner")
    for signer, principal, purpose in ((W.ci, "ci@team-a", "config"),
                                       (W.runner_key, RUNNER, "verdict")):
        r = W.S.request("POST", "/v1/keys", token=W.admin, body={
            "public_key": signer.public_pem, "principal": principal,
            "namespaces": [NS], "purpose": purpose})
        status(r, 201, "register %s" % principal)
    W.suite = suite_file()
    # model@1: lr 0.1, the loss explodes (fail); model@2: lr 1e-3.
    expect(optreg("submit", config_file("model", "1.0e-1"), "--message",
                  "the fast recipe"), 0, "submit model@1")
    expect(optreg("submit", config_file("model", "1.0e-3"), "--message",
                  "back to the defaults", "--link", "https://ci.example/run/2"), 0,
           "submit model@2")
    # Neighbours whose targets share a prefix with team-a/model.
    expect(optreg("submit", config_file("model2", "1.0e-3")), 0, "submit model2")
    expect(optreg("submit", config_file("mode", "1.0e-3")), 0, "submit mode")
    serve_once()
    serve_once()
    expect(optreg("tag", NS + "/model@1", "prod", "--reason", "first release",
                  "--link", "https://ci.example/run/1", token=W.appr), 0, "tag prod")
    expect(optreg("tag", NS + "/model@2", "prod", "--reason",
                  "the loss explodes at lr 0.1", token=W.appr), 0, "move prod")
    expect(optreg("tag", NS + "/model2@1", "prod", "--reason", "other config",
                  token=W.appr), 0, "tag model2")
    expect(optreg("yank", NS + "/model@1", "--reason", "diverges on fmnist_mlp",
                  token=W.appr), 0, "yank model@1")


# ---------------------------------------------------------------- verdicts

def t_verdicts_findings():
    v, p = payload(1)
    eq(p["result"], "fail", "model@1's verdict")
    assert p["findings"], "model@1's verdict has no findings"
    res = expect(optreg("verdicts", NS + "/model@1"), 0)
    fits_80(res.out, "verdicts")
    lines = res.out.split("\n")
    eq(lines[0].split(), ["JOB", "RESULT", "SUITE", "RUNNER", "CREATED", "FINDINGS"],
       "table heading")
    eq(lines[1].split()[:2], [str(v["job_id"]), "fail"], "table row")
    eq(lines[1].split()[5], str(len(p["findings"])), "FINDINGS")
    assert ("job %d: fail on suite %s" % (v["job_id"], DEFAULT_SUITE)) in res.out, res.out
    start = lines.index("findings")
    end = next(i for i, l in enumerate(lines) if l.startswith("loss curves")
               or l.startswith("on a minority"))
    heads = [l for l in lines[start + 1:end] if not l.startswith("        ")]
    eq(len(heads), len(p["findings"]), "one heading line per finding")
    for line, f in zip(heads, p["findings"]):
        want = [f["severity"].upper(), f["workload"] or "-", f["criterion"],
                "step", "-" if f["step"] is None else str(f["step"]),
                "%d/%d" % (len(f["seeds"]["showed"]), f["seeds"]["of"]), "seeds"]
        eq(line.split(), want, "finding heading")
    body = squash("\n".join(lines[start:end]))
    for f in p["findings"]:
        assert squash(f["message"]) in body, "message %r not shown" % f["message"]
        for key, val in f["values"].items():
            if key != "per_seed" and isinstance(val, (int, str)) and \
                    not isinstance(val, bool):
                assert "%s %s" % (key, val) in body, "value %s %r not shown" % (key, val)
        if "per_seed" in f["values"]:
            seed = sorted(f["values"]["per_seed"])[0]
            assert "per seed %s: " % seed in body, "per_seed of %s" % f["criterion"]
    minority = [m for w in p["workloads"] for m in w.get("minority", [])]
    eq("on a minority of seeds (not counted)" in lines, bool(minority),
       "minority section")


def t_verdicts_sparklines():
    _, p = payload(1)
    res = expect(optreg("verdicts", NS + "/model@1"), 0)
    lines = res.out.split("\n")
    start = next(i for i, l in enumerate(lines) if l.startswith("loss curves"))
    assert "median over seeds %s" % " ".join(map(str, p["seeds"])) in res.out, res.out
    spans = 0
    for w in p["workloads"]:
        pts = medians(w)
        i = next(i for i in range(start, len(lines))
                 if lines[i].startswith("  %s  steps " % w["name"]))
        head = lines[i]
        j = i + 1
        while lines[j].startswith("    "):  # the heading's continuation
            head += " " + lines[j].strip()
            j += 1
        spark = lines[j]
        assert spark.startswith("  ") and spark[2:] and set(spark[2:]) <= set(SPARK), \
            "not a sparkline: %r" % spark
        eq(len(spark) - 2, len(pts), "%s: one character per point" % w["name"])
        assert head.startswith("  %s  steps %d-%d" % (w["name"], pts[0][0], pts[-1][0])), head
        finite = [l for _, l in pts if l is not None]
        log = min(finite) > 0 and max(finite) >= 100 * min(finite)
        eq("(log scale" in head, log, "%s: log scale said" % w["name"])
        spans += log
        # The highest point is the full block, the lowest the lowest.
        eq(spark[2 + max(range(len(pts)), key=lambda k: pts[k][1] or -1)], "\u2588",
           "%s: peak" % w["name"])
        eq(spark[2 + min(range(len(pts)), key=lambda k: pts[k][1] or 1e300)], "\u2581",
           "%s: lowest" % w["name"])
    # lr 0.1 throws the MLP's loss up by orders of magnitude.
    assert spans >= 1, "no curve on a log scale:\n%s" % res.out


def t_verdicts_json():
    v, p = payload(1)
    res = expect(optreg("verdicts", NS + "/model@1", "--json"), 0)
    j = json.loads(res.out)
    got = j["verdicts"][0]
    eq(got["job_id"], v["job_id"], "job_id")
    eq(got["verdict"], p, "the decoded verdict")
    eq([c["workload"] for c in got["loss_curves"]], [w["name"] for w in p["workloads"]],
       "loss_curves workloads")
    for c, w in zip(got["loss_curves"], p["workloads"]):
        want = medians(w)
        eq([pt[0] for pt in c["points"]], [s for s, _ in want], "%s steps" % w["name"])
        for (s, l), pt in zip(want, c["points"]):
            assert (l is None and pt[1] is None) or abs(pt[1] - l) <= 1e-12 * abs(l), \
                "%s step %s: %r, want %r" % (w["name"], s, pt[1], l)
        eq(len(c["sparkline"]), len(want), "%s sparkline length" % w["name"])
        eq(c["seeds"], p["seeds"], "seeds")


def t_verdicts_latest_and_brief():
    v2, _ = payload(2)
    res = expect(optreg("verdicts", NS + "/model"), 0, "ns/name: the latest")
    eq(res.out.split("\n")[1].split()[0], str(v2["job_id"]), "the latest version's job")
    res = expect(optreg("verdicts", NS + "/model@prod", "--brief", "--verify"), 0)
    eq(len(res.out.strip().split("\n")), 2, "--brief: the table only")
    assert "verified: job %d" % v2["job_id"] in res.err, res.describe()
    expect(optreg("verdicts", NS + "/nope"), 8, "an unknown config")
    res = expect(optreg("verdicts", "--help"), 0)
    fits_80(res.out, "verdicts --help")


# ---------------------------------------------------------------- audit log

def audit_json(*args):
    res = expect(optreg("audit", "log", "--json", *args), 0)
    return [e["event"] for e in json.loads(res.out)["entries"]]


def t_audit_log_whole_config():
    evs = audit_json("--target", NS + "/model")
    for e in evs:
        assert e["target"].startswith(NS + "/model@"), "event of %s" % e["target"]
    got = sorted((e["action"], e["target"]) for e in evs)
    want = sorted([("version.created", NS + "/model@1"), ("version.created", NS + "/model@2"),
                   ("verdict.recorded", NS + "/model@1"),
                   ("verdict.recorded", NS + "/model@2"),
                   ("tag.moved", NS + "/model@prod"), ("tag.moved", NS + "/model@prod"),
                   ("version.yanked", NS + "/model@1")])
    eq(got, want, "the whole config's events")
    # What the database holds, counted independently.
    n = int(W.R.psql("SELECT count(*) FROM audit_events WHERE target LIKE 'team-a/model@%'")
            .stdout)
    eq(len(evs), n, "all of them")
    # Exact targets stay exact.
    evs = audit_json("--target", NS + "/model@prod")
    eq([(e["action"], e["details"]["to"]) for e in evs],
       [("tag.moved", 1), ("tag.moved", 2)], "--target ns/name@prod")
    eq(audit_json("--target", NS + "/model", "--action", "version.yanked")[0]["details"]
       .get("reason"), "diverges on fmnist_mlp", "yank reason in the event")
    expect(optreg("audit", "log", "--target", "Team-A/model"), 2, "a bad config name")


def t_audit_log_api_filter():
    def get(q):
        return W.S.request("GET", "/v1/audit/entries?" + urllib.parse.urlencode(q),
                           token=W.admin)
    r = get({"config": NS + "/model2"})
    status(r, 200, "config=model2")
    # (Their jobs wait: the runner ran twice, for model@1 and model@2.)
    eq([(e["event"]["action"], e["event"]["target"]) for e in r.json()["entries"]],
       [("version.created", NS + "/model2@1"), ("tag.moved", NS + "/model2@prod")],
       "config=model2: its events only")
    r = get({"config": NS + "/mode"})
    eq([(e["event"]["action"], e["event"]["target"]) for e in r.json()["entries"]],
       [("version.created", NS + "/mode@1")], "config=mode: not model's")
    for bad in ("team-a", "team-a/model@1", "team-a/x'; DROP TABLE audit_events;--",
                "/model", "team-a/"):
        r = get({"config": bad})
        status(r, 400, "config=%r" % bad)
        assert "config" in r.json()["detail"], r.describe()


def t_audit_log_80_columns():
    evs = audit_json("--target", NS + "/model")
    res = expect(optreg("audit", "log", "--target", NS + "/model", "--width", "80"), 0)
    fits_80(res.out, "audit log --width 80")
    lines = res.out.rstrip("\n").split("\n")
    heads = [l for l in lines if l.startswith("#")]
    eq(len(heads), len(evs), "one #INDEX line per event")
    assert squash("prod: 1 -> 2: the loss explodes at lr 0.1") in squash(res.out), res.out
    assert "by lead@team-a" in res.out, res.out
    v, _ = payload(1)
    assert "job %d: fail on suite %s, signed by %s" % (
        v["job_id"], DEFAULT_SUITE, W.runner_key.keyid[:12]) in squash(res.out), res.out
    assert "yanked: diverges on fmnist_mlp" in squash(res.out), res.out
    # Into a pipe, one line an event (for grep), as before.
    res = expect(optreg("audit", "log", "--target", NS + "/model"), 0)
    eq(len(res.out.rstrip("\n").split("\n")), len(evs) + 1, "table rows")
    expect(optreg("audit", "log", "--width", "12"), 2, "--width 12")
    fits_80(expect(optreg("audit", "log", "--help"), 0).out, "audit log --help")


# ---------------------------------------------------------------- log

def t_log_reasons():
    res = expect(optreg("log", NS + "/model", "--moves", "--width", "80"), 0)
    fits_80(res.out, "log --moves --width 80")
    text = squash(res.out)
    for want in ("[yanked: diverges on fmnist_mlp]", "the fast recipe",
                 "back to the defaults <https://ci.example/run/2>",
                 "tag moves, newest first:",
                 "prod 1 -> 2", "the loss explodes at lr 0.1",
                 "prod (new) -> 1", "first release <https://ci.example/run/1>",
                 "by lead@team-a", "[prod]"):
        assert want in text, "log lacks %r:\n%s" % (want, res.out)
    assert text.index("prod 1 -> 2") < text.index("prod (new) -> 1"), "newest first"
    # Without --moves and into a pipe: the table of before.
    res = expect(optreg("log", NS + "/model"), 0)
    eq(res.out.split("\n")[0].split(),
       ["VERSION", "DIGEST", "CREATED", "BY", "YANKED", "TAGS", "MESSAGE"], "table")
    assert "tag moves" not in res.out, res.out
    j = json.loads(expect(optreg("log", NS + "/model", "--moves", "--json"), 0).out)
    prod = [t for t in j["tags"] if t["tag"] == "prod"][0]
    eq([(m["version"], m["reason"]) for m in prod["moves"]],
       [(2, "the loss explodes at lr 0.1"), (1, "first release")], "--json moves")
    expect(optreg("log", NS + "/model", "--width", "x"), 2, "--width x")
    fits_80(expect(optreg("log", "--help"), 0).out, "log --help")


# ---------------------------------------------------------------- runner 0.1.0

def t_verdicts_runner_0_1_0():
    """A verdict in runner 0.1.0's shape (one seed: the workload entry has
    `seed`, `metrics` and `loss_curve`, no `runs`; findings have no
    `seeds`), signed by the runner key for a leased job, is shown: the
    findings, and a sparkline from the workload's own curve."""
    r = W.S.request("POST", "/v1/jobs/lease", token=W.runner_token,
                    body={"runner": "old-runner", "lease_seconds": 300})
    status(r, 200, "lease a waiting job")
    job = r.json()["job"]
    curve = [[1, 2.5], [2, 4000], [3, 25], [4, None], [5, 0.25]]
    p = {"job_id": job["id"], "config_digest": job["digest"], "suite": job["suite"],
         "suite_digest": ZERO_DIGEST, "runner_version": "0.1.0", "device": "cpu",
         "result": "fail", "runner": RUNNER,
         "workloads": [{"name": "fmnist_mlp", "seed": 1, "result": "fail",
                        "metrics": {"initial_loss": 2.5, "max_loss": 4000},
                        "loss_curve": curve},
                       # A skipped entry that lacks its name: "-", not "(null)".
                       {"result": "skipped", "skipped": "no precision declared"}],
         "findings": [{"criterion": "loss_explosion", "severity": "fail",
                       "workload": "fmnist_mlp", "step": 2,
                       "values": {"loss": 4000, "initial_loss": 2.5, "limit": 10},
                       "message": "loss reached 4000 at step 2"}]}
    # RFC 8785: sorted keys, no spaces; these numbers print the same.
    payload = json.dumps(p, sort_keys=True, separators=(",", ":")).encode()
    r = W.S.request("POST", "/v1/jobs/%s/verdict" % job["id"], token=W.runner_token,
                    body=envelope(payload, [W.runner_key], VERDICT_TYPE),
                    headers={"X-Optreg-Lease-Token": job["lease_token"]})
    status(r, 201, "post the 0.1.0 verdict")
    ref = "%s/%s@%d" % (job["namespace"], job["name"], job["version"])
    res = expect(optreg("verdicts", ref, "--verify"), 0, "verdicts of a 0.1.0 verdict")
    fits_80(res.out, "0.1.0 verdict")
    assert "verified: job %d" % job["id"] in res.err, res.describe()
    lines = res.out.split("\n")
    eq(lines[1].split()[:2], [str(job["id"]), "fail"], "table row")
    eq(lines[1].split()[5], "1", "FINDINGS")
    assert "job %d: fail on suite %s, runner 0.1.0 on cpu" % (
        job["id"], job["suite"]) in res.out, res.out
    # A finding without seeds: no "N/M seeds" on its heading.
    head = [l for l in lines if l.startswith("  FAIL")]
    eq(len(head), 1, "one finding heading")
    eq(head[0].split(), ["FAIL", "fmnist_mlp", "loss_explosion", "step", "2"],
       "finding heading")
    assert "initial_loss 2.5, limit 10, loss 4000" in squash(res.out), res.out
    assert "loss reached 4000 at step 2" in res.out, res.out
    assert "- skipped: no precision declared" in res.out, res.out
    # One seed: no median, the curve as it is, on a log scale (2.5e-1 to 4e3).
    assert "median over seeds" not in res.out, res.out
    i = next(i for i, l in enumerate(lines) if l.startswith("  fmnist_mlp  steps "))
    assert lines[i].startswith("  fmnist_mlp  steps 1-5  loss 2.5 -> 0.25  max 4000 at "
                               "step 2"), lines[i]
    assert "(log scale" in res.out, res.out
    # log10: 0.398, 3.602, 1.398, -, -0.602 over [-0.602, 3.602]: levels 2, 7, 3, x, 0.
    eq(lines[i + 1] if not lines[i + 1].startswith("    ") else lines[i + 2],
       "  \u2583\u2588\u2584\u00d7\u2581", "the sparkline")
    j = json.loads(expect(optreg("verdicts", ref, "--json"), 0, "--json").out)
    v = [v for v in j["verdicts"] if v["job_id"] == job["id"]][0]
    eq(v["verdict"], p, "the decoded 0.1.0 payload")
    c = v["loss_curves"][0]
    eq((c["workload"], c["seeds"], c["log_scale"]), ("fmnist_mlp", [1], True), "the curve")
    eq(c["points"], curve, "the points, as the workload's own curve")


def main():
    if not tap.run("a registry, two versions judged by optreg-runner serve --once",
                   t_setup):
        return tap.finish()
    tap.context = lambda: W.R.logs()
    tests = [
        ("verdicts: one line per finding, values, messages, 80 columns",
         t_verdicts_findings),
        ("verdicts: a sparkline per workload, one point per curve point, log scale",
         t_verdicts_sparklines),
        ("verdicts --json: the decoded verdict and the median curves", t_verdicts_json),
        ("verdicts ns/name is the latest; --brief; --verify", t_verdicts_latest_and_brief),
        ("audit log --target ns/name: versions, tags, verdicts, yank", t_audit_log_whole_config),
        ("GET /v1/audit/entries?config=: prefix neighbours out, bad values 400",
         t_audit_log_api_filter),
        ("audit log --width 80: two lines an event within 80 columns",
         t_audit_log_80_columns),
        ("log --moves: tag move and yank reasons, 80 columns, --json", t_log_reasons),
        # Last: it records a verdict for a job the tests above count as waiting.
        ("verdicts of runner 0.1.0 (one seed, no runs[]): findings and the curve",
         t_verdicts_runner_0_1_0),
    ]
    for desc, fn in tests:
        tap.run(desc, fn)
    return tap.finish()


if __name__ == "__main__":
    sys.exit(main())
