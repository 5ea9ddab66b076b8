#!/usr/bin/python3
"""tests/e2e/verdicts_test.py: every config gets a verdict or a visible
reason why not (issue 10, item 1), through a real registry and real
`optreg-runner serve` loops over a private PostgreSQL cluster
(tests/e2e/harness.py).

What it covers:

  - every config of examples/configs/ is submitted and gets a verdict
    from the runners: none is an `error`; the known-bad configs are not
    `pass` and carry findings, and the ones that diverge or explode
    (bad-beta2-0.5, bad-lr-1e-1, bad-no-warmup-3e-2, bad-adam-coupled-wd)
    are `fail` with a finding of severity fail. bad-beta2-0.5 is the run
    whose loss reaches ~1e19..1e21, which RFC 8785 writes as a 20-digit
    integer: its verdict used to be refused (422 invalid_verdict);
  - a config with `lr: 1.0e+19` (canonical form 10000000000000000000) is
    stored, read back by the runner, and gets a `fail` verdict; `optreg
    verdicts --verify` reads its version document and verifies it;
  - a job whose runner keeps failing (its key is not allowed for the
    namespace, so every verdict is refused) ends `abandoned` after its
    three attempts, with the last error (the refusal), in the API, in
    `optreg verdicts` (table and --json), in /metrics
    (optreg_jobs_abandoned_total) and in the audit log (job.abandoned);
  - leases shorter than the server's minimum are 400 naming
    lease_seconds and the range; taking a lease counts no attempt (many
    short leases cannot burn a job's attempts); a heartbeat for an unknown
    job is 404.

The suite is the reference suite, runner/suites/<DEFAULT_SUITE>.yaml
(same name, so jobs accept it), with the Fashion-MNIST MLP cut to
OPTREG_E2E_MLP_STEPS steps per seed (default 150), the other workloads to
200, a warmup cap of 50 steps, 1000 test rows per evaluation and no
baseline (its numbers are for the real step counts, so the gap criteria
are off), so each config takes a few seconds; two runners share the
configs.

usage: tests/e2e/verdicts_test.py     (from the repository root)
env:   BIN   folder with optreg, optreg-server and optreg-runner (default
             "bin")
       OPTREG_E2E_MLP_STEPS  steps of the MLP workload (default 150)
       OPTREG_E2E_VERDICT_TIMEOUT  seconds to wait for the examples'
             verdicts (default 900)
       OPTREG_E2E_KEEP=1 keeps the temporary directory (logs, clusters)

Prints TAP and exits 1 when any test fails. Everything it starts is stopped
on exit.
"""

import base64
import json
import os
import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the working tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import (  # noqa: E402
    BIN, CLI_BIN, DEFAULT_SUITE, ROOT, Registry, Signer, Tap, envelope, eq,
    status)

RUNNER_BIN = os.path.join(BIN, "optreg-runner")
MLP_STEPS = int(os.environ.get("OPTREG_E2E_MLP_STEPS") or 150)
VERDICT_TIMEOUT = int(os.environ.get("OPTREG_E2E_VERDICT_TIMEOUT") or 900)
EXAMPLES = os.path.join(ROOT, "examples", "configs")
# Known-bad configs that diverge or explode: `fail` on the reference suite
# cut to a few hundred steps without a baseline (docs/runner.md).
# (bad-adam-coupled-wd is left out: on a 150-step cut its net is not dead
# yet, and what fails it on ref-v2 is the gap to the baseline, which this
# cut suite has none of; runner/calibration/matrix.yaml checks it on ref-v2.)
MUST_FAIL = ("bad-beta2-0.5", "bad-lr-1e-1", "bad-no-warmup-3e-2")
ORPHAN = "orphans"

tap = Tap()


class World:
    pass


W = World()


# ---------------------------------------------------------------- helpers

def canonical(path):
    p = subprocess.run([CLI_BIN, "canonicalize", path], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, check=True, timeout=30)
    return p.stdout.rstrip(b"\n")


def suite_file(name, mlp_steps, fmnist=True, steps=None):
    """The reference suite with the MLP cut to `mlp_steps` peak steps per
    seed, the others to 200, warmup capped at 50 steps, 1000 test rows and
    no baseline (or, with `steps`, every workload cut to that many,
    Fashion-MNIST ones only when `fmnist`). Written as JSON; returns the
    path."""
    suite = json.loads(canonical(os.path.join(ROOT, "runner", "suites",
                                              DEFAULT_SUITE + ".yaml")))
    suite.pop("baseline", None)
    suite["schedule"] = {"warmup_cap": 50}
    out = []
    for w in suite["workloads"]:
        problem = w.get("problem", w["name"])
        if problem.startswith("fmnist_"):
            if not fmnist:
                continue
            w = dict(w, eval={"rows": 1000})
        if steps:
            w = dict(w, peak_steps=steps)
        elif problem == "fmnist_mlp":
            w = dict(w, peak_steps=mlp_steps)
        else:
            w = dict(w, peak_steps=min(w["peak_steps"], 200))
        out.append(w)
    suite["workloads"] = out
    path = os.path.join(W.R.tmp, "suite-%s.json" % name)
    with open(path, "w") as f:
        json.dump(suite, f)
    return path


def submit(body):
    """Submits canonical config `body` (its own namespace and name) signed
    by the CI key; returns (ns, name, version)."""
    meta = json.loads(body)["metadata"]
    ns, name = meta["namespace"], meta["name"]
    r = W.S.request("POST", "/v1/configs/%s/%s/versions" % (ns, name),
                    body=envelope(body, [W.ci]), token=W.sub)
    status(r, 201, "submit %s/%s" % (ns, name))
    return ns, name, r.json()["version"]


def listing(ns, name, version=1):
    r = W.S.request("GET", "/v1/configs/%s/%s/versions/%d/verdicts" % (ns, name, version),
                    token=W.sub)
    status(r, 200, "GET verdicts of %s/%s" % (ns, name))
    return r.json()


def payload_of(v):
    return base64.b64decode(v["envelope"]["payload"])


class Background:
    """A `serve` loop in the background, its stderr in a file."""

    def __init__(self, name, *args, key):
        self.log = os.path.join(W.R.tmp, "runner-%s.log" % name)
        e = W.R.env()
        e["OPTREG_URL"] = W.S.base
        e["OPTREG_TOKEN"] = W.runner_token
        e["OPTREG_KEY"] = key.key_path
        with open(self.log, "wb") as f:
            self.proc = subprocess.Popen(
                [RUNNER_BIN, "serve", "--runner", name, "--poll-seconds", "1"] + list(args),
                cwd=ROOT, env=e, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=f)
        W.procs.append(self.proc)

    def text(self):
        with open(self.log, encoding="utf-8", errors="replace") as f:
            return f.read()[-4000:]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=120)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def cli(*args):
    e = W.R.env()
    e["OPTREG_URL"] = W.S.base
    e["OPTREG_TOKEN"] = W.sub
    return subprocess.run([CLI_BIN] + list(args), cwd=ROOT, env=e, timeout=60,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def audit(action, target):
    r = W.S.request("GET", "/v1/audit/entries?action=%s&target=%s" % (action, target),
                    token=W.admin)
    status(r, 200, "GET audit entries")
    return [e["event"] for e in r.json()["entries"]]


def metric(name):
    r = W.S.request("GET", "/metrics", token=W.admin)
    status(r, 200, "GET /metrics")
    for line in r.body.decode().splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError("no %s in /metrics" % name)


def wait_verdicts(refs, timeout):
    """Waits until each (ns, name, version) has a verdict; returns
    {name: verdict}."""
    deadline = time.time() + timeout
    got = {}
    while time.time() < deadline:
        for ns, name, version in refs:
            if name not in got:
                vs = listing(ns, name, version)["verdicts"]
                if vs:
                    got[name] = vs[0]
        if len(got) == len(refs):
            return got
        for b in W.runners:
            assert b.proc.poll() is None, "runner exited %s:\n%s" % (
                b.proc.returncode, b.text())
        time.sleep(0.5)
    missing = [(n, listing(ns, n, v).get("jobs")) for ns, n, v in refs if n not in got]
    raise AssertionError("no verdict in %ds for %r\nrunner logs:\n%s" % (
        timeout, missing, "\n".join(b.text() for b in W.runners)))


# ---------------------------------------------------------------- setup

def t_setup():
    W.R = Registry().start()
    W.procs = []
    W.runners = []
    # Leases of 1 s below, under the 30 s default minimum.
    W.S = W.R.server("--lease-min-seconds", "1")
    W.strict = W.R.server(name="strict")  # the default minimum, 30 s
    W.admin, _ = W.R.token("admin@ops", "admin")
    W.sub, _ = W.R.token("ci@examples", "submitter", namespace="*")
    W.runner_token, _ = W.R.token("runner@ops", "runner")
    W.ci = Signer(W.R.tmp, "ci")
    W.runner_key = Signer(W.R.tmp, "runner")
    W.rogue_key = Signer(W.R.tmp, "rogue")
    W.examples = sorted(f for f in os.listdir(EXAMPLES)
                        if f.endswith((".yaml", ".json")))
    W.bodies = [canonical(os.path.join(EXAMPLES, f)) for f in W.examples]
    nss = sorted({json.loads(b)["metadata"]["namespace"] for b in W.bodies} | {ORPHAN})
    # Keys have a purpose: the CI key signs configs, the runners' verdicts
    # (the rogue's too: it is refused for its namespaces, not its purpose).
    for signer, principal, allowed, purpose in (
            (W.ci, "ci@examples", nss, "config"),
            (W.runner_key, "runner@ops", [n for n in nss if n != ORPHAN], "verdict"),
            (W.rogue_key, "rogue@ops", ["elsewhere"], "verdict")):
        r = W.S.request("POST", "/v1/keys", token=W.admin, body={
            "public_key": signer.public_pem, "principal": principal,
            "namespaces": allowed, "purpose": purpose})
        status(r, 201, "register %s" % principal)
    W.suite = suite_file("quick", MLP_STEPS)
    W.tiny = suite_file("tiny", 0, fmnist=False, steps=20)


# ---------------------------------------------------------------- tests

def t_every_example_gets_a_verdict():
    refs = [submit(b) for b in W.bodies]
    huge_yaml = os.path.join(W.R.tmp, "huge-lr.yaml")
    with open(huge_yaml, "w") as f:
        f.write("apiVersion: optreg/v1\nkind: OptimizerConfig\n"
                "metadata:\n  namespace: examples\n  name: huge-lr\n"
                "spec:\n  optimizer: adamw\n  lr: 1.0e+19\n  betas: [0.9, 0.999]\n"
                "  eps: 1.0e-8\n  weight_decay: 0.01\n")
    lint = subprocess.run([CLI_BIN, "lint", huge_yaml], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=30)
    eq(lint.returncode, 0, "lint of lr 1.0e+19 (%s)" % lint.stderr)
    body = canonical(huge_yaml)
    assert b'"lr":10000000000000000000' in body, body
    refs.append(submit(body))
    # The stored config reads back as it went in.
    r = W.S.request("GET", "/v1/configs/examples/huge-lr/versions/1", token=W.sub)
    status(r, 200, "GET huge-lr@1")
    assert b'"lr":10000000000000000000' in r.body, r.body[:400]

    W.runners = [Background("r%d" % i, "--suite", W.suite, "--lease-seconds", "60",
                            key=W.runner_key) for i in (1, 2)]
    got = wait_verdicts(refs, timeout=VERDICT_TIMEOUT)
    for b in W.runners:
        b.stop()
    names = [json.loads(b)["metadata"]["name"] for b in W.bodies] + ["huge-lr"]
    for name in names:
        v = got[name]
        p = json.loads(payload_of(v))
        assert v["result"] != "error", "%s: an error verdict: %r" % (name, p.get("findings"))
        eq(p["result"], v["result"], "%s: the payload's result" % name)
        if name.startswith("bad-"):
            assert v["result"] != "pass", "%s passed" % name
            assert p["findings"], "%s: no findings" % name
        if name in MUST_FAIL or name == "huge-lr":
            eq(v["result"], "fail", "%s: result (findings %r)" % (name, p["findings"]))
            assert [f for f in p["findings"] if f["severity"] == "fail"], (
                "%s: no finding of severity fail: %r" % (name, p["findings"]))
    # Every job is done: nothing was refused or abandoned on the way.
    for ns, name, version in refs:
        jobs = listing(ns, name, version)["jobs"]
        eq([j["state"] for j in jobs], ["done"], "%s: job states" % name)
    W.refs = refs


def t_cli_reads_huge_numbers():
    c = cli("verdicts", "examples/huge-lr@1", "--verify")
    eq(c.returncode, 0, "optreg verdicts --verify on lr 1e19 (stderr %s)" % c.stderr)
    assert "FAIL" in c.stdout.upper() and "verified: job" in c.stderr, c.stdout + c.stderr
    c = cli("verdicts", "examples/bad-beta2-0.5@1", "--verify")
    eq(c.returncode, 0, "optreg verdicts --verify bad-beta2-0.5 (stderr %s)" % c.stderr)
    c = cli("fetch", "examples/huge-lr@1")
    eq(c.returncode, 0, "optreg fetch huge-lr (stderr %s)" % c.stderr)


def t_lease_minimum():
    # The default minimum is 30 s: 1 s leases are refused, naming the field.
    for body in ({"lease_seconds": 1}, {"lease_seconds": 29}, {"lease_seconds": "30"}):
        r = W.strict.request("POST", "/v1/jobs/lease", token=W.runner_token, body=body)
        status(r, 400, "lease %r" % body)
        p = r.json()
        assert "lease_seconds" in p["detail"] and "30 to 3600" in p["detail"], p
    r = W.strict.request("POST", "/v1/jobs/999999/heartbeat", token=W.runner_token,
                         body={"lease_token": "0" * 64, "lease_seconds": 5})
    status(r, 400, "heartbeat of 5 s")
    # A heartbeat for a job that does not exist: 404, not 409.
    r = W.strict.request("POST", "/v1/jobs/999999/heartbeat", token=W.runner_token,
                         body={"lease_token": "0" * 64, "lease_seconds": 30})
    status(r, 404, "heartbeat of an unknown job")
    eq(r.json()["code"], "not_found", "code")


def t_lease_runner_checked():
    # The runner's name goes into last_error and the audit log: it must be
    # a principal name (1 to 200 bytes of printable UTF-8), else 400 naming
    # the field, and nothing is leased.
    for runner in ("a\nb", "", "x" * 201, "\u202eevil", 5, ["r"]):
        r = W.strict.request("POST", "/v1/jobs/lease", token=W.runner_token,
                             body={"runner": runner, "lease_seconds": 30})
        status(r, 400, "lease by runner %r" % (runner,))
        p = r.json()
        eq(p["code"], "bad_request", "code")
        eq([e["path"] for e in p["errors"]], ["runner"], "error paths")
        assert "runner" in p["detail"], p


def job_attempts(ns, name):
    return listing(ns, name)["jobs"][0]["attempts"]


def t_leases_do_not_burn_attempts():
    # Taking a lease counts nothing; its expiry counts one attempt.
    ns, name, _ = submit(canonical_named("lease-churn"))
    for i in range(2):
        r = W.S.request("POST", "/v1/jobs/lease", token=W.runner_token,
                        body={"runner": "churn", "lease_seconds": 1})
        status(r, 200, "lease %d" % i)
        eq(r.json()["job"]["attempt"], i + 1, "attempt number of lease %d" % i)
        eq(job_attempts(ns, name), i, "attempts counted while lease %d is held" % i)
        time.sleep(1.3)
    # Finish it with a real runner, so the queue is empty again.
    b = Background("churn-finisher", "--suite", W.tiny, "--lease-seconds", "30",
                   key=W.runner_key)
    W.runners = [b]
    wait_verdicts([(ns, name, 1)], timeout=120)
    b.stop()
    job = listing(ns, name)["jobs"][0]
    eq(job["state"], "done", "state")
    eq(job["attempts"], 2, "attempts: the two expired leases, not the third")


def canonical_named(name, ns=None):
    path = os.path.join(W.R.tmp, "%s.yaml" % name)
    with open(path, "w") as f:
        f.write("apiVersion: optreg/v1\nkind: OptimizerConfig\n"
                "metadata:\n  namespace: %s\n  name: %s\n"
                "spec:\n  optimizer: adamw\n  lr: 3.0e-4\n  betas: [0.9, 0.999]\n"
                "  eps: 1.0e-8\n  weight_decay: 0.01\n" % (ns or "examples", name))
    return canonical(path)


def t_failing_runner_abandons_the_job():
    before = metric("optreg_jobs_abandoned_total")
    ns, name, version = submit(canonical_named("doomed", ORPHAN))
    # A runner whose key is not allowed for the namespace: every verdict
    # is refused, each lease then expires (1 s) and counts an attempt.
    b = Background("rogue", "--suite", W.tiny, "--lease-seconds", "1", key=W.rogue_key)
    W.runners = [b]
    deadline = time.time() + 120
    job = None
    while time.time() < deadline:
        job = listing(ns, name, version)["jobs"][0]
        if job["state"] == "abandoned":
            break
        assert b.proc.poll() is None, "the rogue runner exited:\n%s" % b.text()
        time.sleep(0.3)
    b.stop()
    eq(job["state"], "abandoned", "state of a job whose runner keeps failing (%r)" % job)
    eq(job["attempts"], 3, "attempts")
    eq(job["max_attempts"], 3, "max_attempts")
    assert job["last_error"].startswith("the verdict was refused"), job
    assert "signature" in job["last_error"], job
    eq(listing(ns, name, version)["verdicts"], [], "verdicts")

    # The CLI: the table names the state and the last error; --json has it.
    c = cli("verdicts", "%s/%s@%d" % (ns, name, version))
    eq(c.returncode, 0, "optreg verdicts (stderr %s)" % c.stderr)
    assert "no verdicts yet" in c.stderr, c.stderr
    assert "abandoned" in c.stdout and "3/3" in c.stdout, c.stdout
    assert "the verdict was refused" in c.stdout, c.stdout
    c = cli("verdicts", "%s/%s@%d" % (ns, name, version), "--json")
    eq(c.returncode, 0, "optreg verdicts --json")
    eq(json.loads(c.stdout)["jobs"][0]["state"], "abandoned", "--json state")

    # /metrics counts it; the audit log has it.
    eq(metric("optreg_jobs_abandoned_total"), before + 1, "optreg_jobs_abandoned_total")
    events = audit("job.abandoned", "job/%d" % job["id"])
    eq(len(events), 1, "job.abandoned events")
    eq(events[0]["details"]["attempts"], 3, "event attempts")
    assert events[0]["details"]["last_error"] == job["last_error"], events[0]


def main():
    if not tap.run("a registry, a CI key, a runner key and a rogue key", t_setup):
        return tap.finish()
    tap.context = lambda: W.R.logs()
    tests = [
        ("every example config and lr 1e19 get a verdict; the bad ones fail",
         t_every_example_gets_a_verdict),
        ("optreg verdicts --verify and fetch read a config with lr 1e19",
         t_cli_reads_huge_numbers),
        ("leases under the minimum are 400; unknown job heartbeat is 404",
         t_lease_minimum),
        ("a lease's runner must be a principal name: 400 naming runner",
         t_lease_runner_checked),
        ("taking a lease counts no attempt; its expiry does",
         t_leases_do_not_burn_attempts),
        ("a job whose runner keeps failing ends abandoned: API, CLI, metrics, audit",
         t_failing_runner_abandons_the_job),
    ]
    for desc, fn in tests:
        tap.run(desc, fn)
    for p in W.procs:
        if p.poll() is None:
            p.kill()
    return tap.finish()


if __name__ == "__main__":
    sys.exit(main())
