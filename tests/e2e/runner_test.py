#!/usr/bin/python3
"""tests/e2e/runner_test.py: `optreg-runner serve` against a real registry
over a private PostgreSQL cluster (tests/e2e/harness.py), and `optreg
verdicts` reading what it recorded.

What it covers:

  - `serve --once` with no job waiting exits 0; usage errors exit 2; a
    SIGTERM while idle stops the loop with status 0;
  - a submit creates a queued job; `serve --once --suite TINY` with a
    runner token and a registered runner key leases it (audit job.leased),
    checks the config, runs the suite and records exactly one verdict
    (audit verdict.recorded); the envelope verifies with openssl under the
    runner's public key, its payload is RFC 8785 canonical and names the
    job, the version's digest, the suite and the runner; the log is one
    JSON line per job and carries no token;
  - `optreg verdicts REF` (version and tag references, table and --json,
    not found, usage) and `--verify`, which passes on a genuine verdict,
    still passes after the runner key is revoked later, and fails (exit 1)
    on a verdict changed in the database;
  - posting the recorded envelope again is idempotent (200, created
    false); a different verdict for the same job is 409 `recorded`;
  - a runner killed with SIGKILL mid-job: its lease expires (audit
    job.expired), a second runner leases the job (attempt 2), keeps the
    lease alive with heartbeats through a suite longer than the lease,
    finishes it after a SIGTERM and exits 0; exactly one verdict, the
    second runner's;
  - a version whose stored payload was changed in the database (trigger
    disabled as the superuser) gets an `error` verdict whose findings are
    all criterion config_verification;
  - a runner whose key is registered for another namespace gets its
    verdict refused (403 signature_refused, rule key_not_allowed) and
    exits 1; nothing is recorded;
  - a runner whose job another runner took over (its lease expired and
    was leased again) sees 409 lease_lost on a heartbeat, posts nothing,
    logs outcome lease_lost and exits 1 (--once).

The suites are runner/suites/ci.yaml renamed to the reference suite (the
one jobs ask for, DEFAULT_SUITE; its digest still tells it from the real
one), without its baseline and with other step counts: a tiny one, and
slower ones with Fashion-MNIST that must outlast a 3 s lease
(OPTREG_E2E_SLOW_STEPS, default 800 steps over the 3 seeds, about 10 s on
one core).

usage: tests/e2e/runner_test.py     (from the repository root)
env:   BIN   folder with optreg, optreg-server and optreg-runner (default
             "bin")
       OPTREG_E2E_SLOW_STEPS  steps of the slow suite (default 800)
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
    BIN, CLI_BIN, DEFAULT_SUITE, ROOT, Registry, Signer, Tap, ci_suite_file,
    digest_of,
    envelope, openssl_verify, pae)

RUNNER_BIN = os.path.join(BIN, "optreg-runner")
VERDICT_TYPE = "application/vnd.optreg.verdict.v1+json"
SUITE_NAME = DEFAULT_SUITE
SLOW_STEPS = int(os.environ.get("OPTREG_E2E_SLOW_STEPS") or 800)
A = "team-a"

tap = Tap()


class World:
    pass


W = World()


def eq(got, want, what):
    assert got == want, "%s: expected %r, got %r" % (what, want, got)


def status(r, want, what=""):
    assert r.status == want, "%sexpected HTTP %d, got:\n%s" % (
        what + ": " if what else "", want, r.describe())


# ---------------------------------------------------------------- helpers

def suite_file(name, steps, fmnist):
    """The ci suite as jobs ask for it (harness.ci_suite_file), with
    `steps` steps over all seeds per workload, the Fashion-MNIST ones only
    when `fmnist`."""
    return ci_suite_file(
        os.path.join(W.R.tmp, "suite-%s.json" % name),
        lambda w, nseeds: max(1, steps // nseeds),
        lambda w: fmnist or not w.get("problem", w["name"]).startswith("fmnist_"))


def suite_files():
    """A tiny suite (well under a second), a medium one (a few seconds)
    and a slow one (several seconds longer than a 3 s lease)."""
    return (suite_file("tiny", 20, False), suite_file("medium", SLOW_STEPS // 3, True),
            suite_file("slow", SLOW_STEPS, True))


def runner_env(key=None, token=None):
    e = W.R.env()
    e["OPTREG_URL"] = W.S.base
    e["OPTREG_TOKEN"] = W.runner_token if token is None else token
    if key is not False:
        e["OPTREG_KEY"] = (key or W.runner_key).key_path
    return e


def serve(*args, key=None, token=None, timeout=60, strict=True):
    """Runs `optreg-runner serve ARGS` to the end; returns (returncode,
    stdout, stderr, [log objects]). `strict`: every stderr line must be a
    JSON log line (not so for usage errors, which are for people)."""
    p = subprocess.run([RUNNER_BIN, "serve"] + list(args), cwd=ROOT,
                       env=runner_env(key, token), timeout=timeout,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return p.returncode, p.stdout, p.stderr, log_lines(p.stderr, strict)


def log_lines(text, strict=True):
    out = []
    for line in text.splitlines():
        if line.strip() and (strict or line.startswith("{")):
            try:
                out.append(json.loads(line))
            except ValueError:
                raise AssertionError("a log line that is not JSON: %r" % line)
    return out


def events(logs, event):
    return [l for l in logs if l.get("msg") == event]


class Background:
    """A `serve` loop in the background, its stderr in a file."""

    def __init__(self, name, *args, key=None):
        self.log = os.path.join(W.R.tmp, "runner-%s.log" % name)
        with open(self.log, "wb") as f:
            self.proc = subprocess.Popen(
                [RUNNER_BIN, "serve", "--runner", name] + list(args), cwd=ROOT,
                env=runner_env(key), stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=f)
        W.procs.append(self.proc)

    def text(self):
        with open(self.log, encoding="utf-8", errors="replace") as f:
            return f.read()

    def logs(self):
        return log_lines(self.text())

    def wait_log(self, event, timeout=20):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if events(self.logs(), event):
                return
            assert self.proc.poll() is None, "runner exited %s early:\n%s" % (
                self.proc.returncode, self.text())
            time.sleep(0.05)
        raise AssertionError("no %s log line in %ds:\n%s" % (event, timeout, self.text()))


def cli(*args, token=None):
    e = W.R.env()
    e["OPTREG_URL"] = W.S.base
    e["OPTREG_TOKEN"] = W.sub if token is None else token
    return subprocess.run([CLI_BIN] + list(args), cwd=ROOT, env=e, timeout=60,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def submit(name, lr="3.0e-4"):
    """Submits team-a/NAME signed by the CI key; returns (version, digest,
    canonical bytes)."""
    body = W.configs_yaml(name, lr)
    r = W.S.request("POST", "/v1/configs/%s/%s/versions" % (A, name),
                    body=envelope(body, [W.ci]), token=W.sub)
    status(r, 201, "submit %s" % name)
    return r.json()["version"], digest_of(body), body


def job_row(name, version=1):
    """(id, state, attempts, lease_owner) of the job of team-a/NAME@VERSION."""
    out = W.R.psql(
        "SELECT j.id, j.state, j.attempts, coalesce(j.lease_owner, ''), j.suite"
        " FROM jobs j JOIN configs c ON c.id = j.config_id"
        " JOIN namespaces n ON n.id = c.namespace_id"
        " WHERE n.name = '%s' AND c.name = '%s' AND j.version = %d"
        % (A, name, version)).stdout.strip()
    assert out, "no job for %s/%s@%d" % (A, name, version)
    f = out.split("|")
    return int(f[0]), f[1], int(f[2]), f[3], f[4]


def lease_clock(name):
    """(lease_expires_at, now, state) of team-a/NAME@1's job, times as
    seconds on the database's clock (0 when not leased)."""
    out = W.R.psql(
        "SELECT coalesce(extract(epoch FROM j.lease_expires_at), 0),"
        " extract(epoch FROM clock_timestamp()), j.state"
        " FROM jobs j JOIN configs c ON c.id = j.config_id"
        " JOIN namespaces n ON n.id = c.namespace_id"
        " WHERE n.name = '%s' AND c.name = '%s' AND j.version = 1" % (A, name)).stdout
    f = out.strip().split("|")
    return float(f[0]), float(f[1]), f[2]


def wait_job(name, pred, timeout=20):
    deadline = time.time() + timeout
    row = None
    while time.time() < deadline:
        row = job_row(name)
        if pred(row):
            return row
        time.sleep(0.05)
    raise AssertionError("job of %s never got there: %r" % (name, row))


def verdicts(name, version=1):
    r = W.S.request("GET", "/v1/configs/%s/%s/versions/%d/verdicts" % (A, name, version),
                    token=W.sub)
    status(r, 200, "GET verdicts of %s" % name)
    return r.json()["verdicts"]


def payload_of(v):
    return base64.b64decode(v["envelope"]["payload"])


def audit(action, target):
    r = W.S.request("GET", "/v1/audit/entries?action=%s&target=%s" % (action, target),
                    token=W.admin)
    status(r, 200, "GET audit entries")
    return [e["event"] for e in r.json()["entries"]]


def canonical_cli(data):
    path = os.path.join(W.R.tmp, "canon-in.json")
    with open(path, "wb") as f:
        f.write(data)
    p = subprocess.run([CLI_BIN, "canonicalize", path], stdout=subprocess.PIPE, timeout=30)
    return p.stdout.rstrip(b"\n")


# ---------------------------------------------------------------- setup

def t_setup():
    W.R = Registry().start()
    W.procs = []
    # Leases of 3 s below: under the server's 30 s default minimum.
    W.S = W.R.server("--lease-min-seconds", "1")
    W.admin, _ = W.R.token("admin@ops", "admin")
    W.sub, _ = W.R.token("ci@team-a", "submitter", namespace=A)
    # Heartbeats and verdicts need the runner role on "*".
    W.runner_token, _ = W.R.token("runner@ops", "runner")
    W.ci = Signer(W.R.tmp, "ci")
    W.runner_key = Signer(W.R.tmp, "runner")
    W.rogue_key = Signer(W.R.tmp, "rogue")
    # Keys have a purpose: the runner's (and the rogue's) sign verdicts.
    for signer, principal, ns, purpose in ((W.ci, "ci@team-a", A, "config"),
                                           (W.runner_key, "runner@ops", A, "verdict"),
                                           (W.rogue_key, "rogue@ops", "team-b", "verdict")):
        r = W.S.request("POST", "/v1/keys", token=W.admin, body={
            "public_key": signer.public_pem, "principal": principal, "namespaces": [ns],
            "purpose": purpose})
        status(r, 201, "register %s" % principal)
    W.tiny, W.medium, W.slow = suite_files()
    n = [0]

    def configs_yaml(name, lr):
        n[0] += 1
        path = os.path.join(W.R.tmp, "c%d.yaml" % n[0])
        with open(path, "w") as f:
            f.write("apiVersion: optreg/v1\nkind: OptimizerConfig\n"
                    "metadata:\n  namespace: %s\n  name: %s\n"
                    "spec:\n  optimizer: adamw\n  lr: %s\n  betas: [0.9, 0.999]\n"
                    "  eps: 1.0e-8\n  weight_decay: 0.01\n" % (A, name, lr))
        return subprocess.run([CLI_BIN, "canonicalize", path], stdout=subprocess.PIPE,
                              check=True, timeout=30).stdout.rstrip(b"\n")
    W.configs_yaml = configs_yaml


# ---------------------------------------------------------------- tests

def t_usage():
    rc, out, err, _ = serve("--help", strict=False)
    eq(rc, 0, "serve --help")
    assert "--once" in out and "OPTREG_KEY" in out, out
    rc, _, err, _ = serve("--once", key=False, strict=False)
    eq(rc, 2, "serve without OPTREG_KEY: exit status")
    assert "OPTREG_KEY" in err, err
    for bad in (["--lease-seconds", "0"], ["--poll-seconds", "x"], ["--bogus"],
                ["--suite"]):
        rc, _, err, _ = serve(*bad, strict=False)
        eq(rc, 2, "serve %s: exit status" % " ".join(bad))
    rc, _, err, _ = serve("--once", "--suite", os.path.join(W.R.tmp, "missing.yaml"),
                          strict=False)
    eq(rc, 3, "serve with a missing suite file: exit status")
    rc, _, err, _ = serve("--once", "--suite", W.tiny, token="optreg_bogus", strict=False)
    assert rc in (2, 6), "serve with a malformed token: exit %d\n%s" % (rc, err)


def t_idle_once():
    rc, _, err, logs = serve("--once", "--suite", W.tiny)
    eq(rc, 0, "serve --once with no job waiting: exit status (stderr %s)" % err)
    assert events(logs, "idle"), err
    start = events(logs, "start")[0]
    eq(start["suite"], SUITE_NAME, "start line: suite")
    eq(start["keyid"], W.runner_key.keyid, "start line: keyid")


def t_sigterm_idle():
    b = Background("idle", "--suite", W.tiny, "--poll-seconds", "30")
    b.wait_log("start")
    time.sleep(0.3)  # into the poll sleep
    t0 = time.time()
    b.proc.send_signal(signal.SIGTERM)
    eq(b.proc.wait(10), 0, "exit status after SIGTERM while idle")
    assert time.time() - t0 < 5, "took %.1fs to stop" % (time.time() - t0)
    assert events(b.logs(), "stop"), b.text()


def t_submit_queues_job():
    W.alpha = submit("alpha")
    jid, state, attempts, owner, suite = job_row("alpha")
    eq((state, attempts, owner, suite), ("queued", 0, "", SUITE_NAME), "the new job")
    W.alpha_job = jid


def t_serve_once_records_verdict():
    rc, _, err, logs = serve("--once", "--suite", W.tiny, "--lease-seconds", "30",
                             "--runner", "runner-one")
    eq(rc, 0, "serve --once: exit status (stderr %s)" % err)
    jobs = events(logs, "job")
    eq(len(jobs), 1, "job log lines")
    j = jobs[0]
    eq((j["job_id"], j["config"], j["outcome"], j["status"], j["attempt"]),
       (W.alpha_job, "%s/alpha@1" % A, "posted", 201, 1), "the job's log line")
    assert j["result"] in ("pass", "warn", "fail"), j
    assert W.runner_token not in err, "the bearer token is in the log"
    assert "lease_token" not in err, "the lease token is in the log"
    _, state, attempts, owner, _ = job_row("alpha")
    # attempts counts leases that ended without a verdict: none here.
    eq((state, attempts, owner), ("done", 0, "runner-one"), "the job after the verdict")


def t_verdict_envelope():
    vs = verdicts("alpha")
    eq(len(vs), 1, "verdicts of alpha@1")
    v = vs[0]
    W.alpha_verdict = v
    eq((v["job_id"], v["runner"], v["runner_keyid"], v["suite"]),
       (W.alpha_job, "runner@ops", W.runner_key.keyid, SUITE_NAME), "the listed verdict")
    env = v["envelope"]
    eq(env["payloadType"], VERDICT_TYPE, "payloadType")
    payload = payload_of(v)
    sigs = env["signatures"]
    eq([s["keyid"] for s in sigs], [W.runner_key.keyid], "signature key ids")
    assert openssl_verify(W.runner_key.public_pem, pae(VERDICT_TYPE, payload),
                          base64.b64decode(sigs[0]["sig"]), W.R.tmp), \
        "the verdict's signature does not verify with openssl"
    eq(canonical_cli(payload), payload, "the payload is RFC 8785 canonical")
    p = json.loads(payload)
    eq((p["job_id"], p["config_digest"], p["suite"], p["runner"], p["result"]),
       (W.alpha_job, W.alpha[1], SUITE_NAME, "runner-one", v["result"]), "payload fields")
    eq(p["suite_digest"], v["suite_digest"], "payload suite_digest")
    assert p["suite_digest"].startswith("sha256:"), p["suite_digest"]
    assert isinstance(p.get("findings"), list), p


def t_audit_events():
    leased = audit("job.leased", "job/%d" % W.alpha_job)
    eq(len(leased), 1, "job.leased events")
    eq(leased[0]["details"]["runner"], "runner-one", "job.leased runner")
    recorded = audit("verdict.recorded", "%s/alpha@1" % A)
    eq(len(recorded), 1, "verdict.recorded events")
    eq(recorded[0]["details"]["job_id"], W.alpha_job, "verdict.recorded job_id")
    eq(recorded[0]["details"]["runner_keyid"], W.runner_key.keyid, "verdict.recorded key")


def t_cli_verdicts():
    p = cli("verdicts", "%s/alpha@1" % A, "--verify", "--brief")
    eq(p.returncode, 0, "optreg verdicts --verify: exit status (stderr %s)" % p.stderr)
    lines = p.stdout.splitlines()
    eq(lines[0].split(), ["JOB", "RESULT", "SUITE", "RUNNER", "CREATED", "FINDINGS"],
       "table heading")
    eq(len(lines), 2, "table rows")
    row = lines[1].split()
    eq(row[:4], [str(W.alpha_job), W.alpha_verdict["result"], SUITE_NAME, "runner@ops"],
       "table row")
    eq(row[5], str(len(json.loads(payload_of(W.alpha_verdict))["findings"])), "FINDINGS")
    assert "verified: job %d" % W.alpha_job in p.stderr and W.runner_key.keyid in p.stderr, \
        p.stderr
    p = cli("verdicts", "%s/alpha@1" % A, "--json")
    eq(p.returncode, 0, "--json exit status")
    eq([v["job_id"] for v in json.loads(p.stdout)["verdicts"]], [W.alpha_job], "--json")
    r = W.S.request("PUT", "/v1/configs/%s/alpha/tags/candidate" % A, token=W.sub,
                    body={"version": 1, "expected_version": None})
    status(r, 200, "tag candidate")
    p = cli("verdicts", "%s/alpha@candidate" % A, "--verify")
    eq(p.returncode, 0, "verdicts by tag: exit status (stderr %s)" % p.stderr)
    assert str(W.alpha_job) in p.stdout, p.stdout
    eq(cli("verdicts", "%s/nope@1" % A).returncode, 8, "unknown config: exit status")
    eq(cli("verdicts", "%s/alpha@7" % A, "--verify").returncode, 8,
       "unknown version: exit status")
    p = cli("verdicts", "%s/alpha" % A, "--brief")
    eq(p.returncode, 0, "no version, the latest: exit status")
    eq(p.stdout.splitlines()[1].split()[0], str(W.alpha_job), "the latest version's verdict")
    eq(cli("verdicts").returncode, 2, "no reference: exit status")
    eq(cli("verdicts", "--help").returncode, 0, "--help")


def t_repost_idempotent():
    env = W.alpha_verdict["envelope"]
    path = "/v1/jobs/%d/verdict" % W.alpha_job
    r = W.S.request("POST", path, body=env, token=W.runner_token,
                    headers={"X-Optreg-Lease-Token": "0" * 64})
    status(r, 200, "the recorded envelope again")
    eq(r.json()["created"], False, "created")
    p = json.loads(payload_of(W.alpha_verdict))
    p["result"] = "warn" if p["result"] != "warn" else "pass"
    other = json.dumps(p, sort_keys=True, separators=(",", ":")).encode()
    r = W.S.request("POST", path, body=envelope(other, [W.runner_key], VERDICT_TYPE),
                    token=W.runner_token, headers={"X-Optreg-Lease-Token": "0" * 64})
    status(r, 409, "a different verdict for the same job")
    eq(r.json()["code"], "recorded", "problem code")
    eq(len(verdicts("alpha")), 1, "verdicts after the reposts")


def t_crash_and_takeover():
    W.beta = submit("beta", lr="1.0e-4")
    jid = job_row("beta")[0]
    r1 = Background("r1", "--suite", W.slow, "--lease-seconds", "3",
                    "--poll-seconds", "1")
    # Bounds are generous: on a loaded machine start-up and polls are slow.
    wait_job("beta", lambda row: row[1] == "leased" and row[3] == "r1", timeout=60)
    time.sleep(1.5)  # mid-suite, a heartbeat sent
    r1.proc.kill()
    r1.proc.wait(10)
    assert not events(r1.logs(), "job"), "r1 finished before it was killed"
    r2 = Background("r2", "--suite", W.slow, "--lease-seconds", "3",
                    "--poll-seconds", "1")
    row = wait_job("beta", lambda row: row[3] == "r2", timeout=60)
    # One attempt counted: r1's lease, which expired.
    eq((row[1], row[2]), ("leased", 1), "the job, leased again")
    # r2 holds the job past its first lease's expiry on heartbeats alone.
    first_expiry = lease_clock("beta")[0]
    deadline = time.time() + 30
    while True:
        expiry, now, state = lease_clock("beta")
        if now > first_expiry + 1:
            break
        assert time.time() < deadline, "the database clock does not move"
        time.sleep(0.1)
    eq(state, "leased", "the job 1 s after r2's first lease would have expired "
       "(the suite must outlast the lease: raise OPTREG_E2E_SLOW_STEPS)")
    assert expiry > first_expiry, "the lease was not extended"
    # Asked to stop mid-job, r2 finishes the job first.
    r2.proc.send_signal(signal.SIGTERM)
    eq(r2.proc.wait(180), 0, "r2's exit status after SIGTERM mid-job")
    jobs = events(r2.logs(), "job")
    eq(len(jobs), 1, "r2's job lines:\n" + r2.text())
    eq((jobs[0]["job_id"], jobs[0]["outcome"], jobs[0]["attempt"]), (jid, "posted", 2),
       "r2's job line")
    assert jobs[0]["heartbeats"] >= 2, jobs[0]
    assert events(r2.logs(), "stop"), r2.text()
    vs = verdicts("beta")
    eq(len(vs), 1, "verdicts of beta@1")
    eq(json.loads(payload_of(vs[0]))["runner"], "r2", "the verdict's runner")
    # r2's attempt 2 ended in a verdict: only r1's counts.
    eq(job_row("beta")[1:3], ("done", 1), "the job after the verdict")
    assert audit("job.expired", "job/%d" % jid), "no job.expired event"
    eq([e["details"]["runner"] for e in audit("job.leased", "job/%d" % jid)], ["r1", "r2"],
       "job.leased events")


def t_tampered_config():
    v, digest, body = submit("delta", lr="2.0e-4")
    altered = body.replace(b"0.0002", b"0.02")
    assert altered != body
    W.R.psql("ALTER TABLE versions DISABLE TRIGGER versions_immutable; "
             "UPDATE versions SET payload = decode('%s', 'hex') WHERE config_id = "
             "(SELECT c.id FROM configs c JOIN namespaces n ON n.id = c.namespace_id"
             " WHERE n.name = '%s' AND c.name = 'delta') AND version = %d; "
             "ALTER TABLE versions ENABLE TRIGGER versions_immutable"
             % (altered.hex(), A, v))
    rc, _, err, logs = serve("--once", "--suite", W.tiny)
    eq(rc, 0, "serve --once on the tampered version (stderr %s)" % err)
    j = events(logs, "job")[0]
    eq((j["outcome"], j["result"], j["verified"]), ("posted", "error", False), "job line")
    vs = verdicts("delta")
    eq(len(vs), 1, "verdicts of delta@1")
    p = json.loads(payload_of(vs[0]))
    eq((p["result"], p["config_digest"]), ("error", digest), "the error verdict")
    crit = {f["criterion"] for f in p["findings"]}
    eq(crit, {"config_verification"}, "finding criteria")
    assert any("not the one submitted" in f["message"] or "envelope.payload" in
               json.dumps(f) for f in p["findings"]), p["findings"]
    # The verdict itself is genuine.
    c = cli("verdicts", "%s/delta@1" % A, "--verify")
    eq(c.returncode, 0, "verdicts --verify of delta (stderr %s)" % c.stderr)
    # A verdict changed in the database no longer verifies.
    p["result"] = "pass"
    forged = dict(vs[0]["envelope"])
    forged["payload"] = base64.b64encode(
        json.dumps(p, sort_keys=True, separators=(",", ":")).encode()).decode()
    W.R.psql("ALTER TABLE verdicts DISABLE TRIGGER verdicts_immutable; "
             "UPDATE verdicts SET verdict = '%s' WHERE job_id = %d; "
             "ALTER TABLE verdicts ENABLE TRIGGER verdicts_immutable"
             % (json.dumps(forged, sort_keys=True, separators=(",", ":")), vs[0]["job_id"]))
    c = cli("verdicts", "%s/delta@1" % A, "--verify")
    eq(c.returncode, 1, "verdicts --verify of a forged verdict (stderr %s)" % c.stderr)
    assert "does not verify" in c.stderr, c.stderr
    c = cli("verdicts", "%s/delta@1" % A, "--verify", "--json")
    eq(json.loads(c.stdout)["code"], "verification_failed", "--json problem")


def t_unregistered_runner_key():
    submit("gamma")
    rc, _, err, logs = serve("--once", "--suite", W.tiny, key=W.rogue_key)
    eq(rc, 1, "serve --once with a key not registered for team-a (stderr %s)" % err)
    j = events(logs, "job")[0]
    eq((j["outcome"], j["status"], j["code"]), ("refused", 403, "signature_refused"),
       "the job line")
    assert any(e["rule"] == "key_not_allowed" for e in j["errors"]), j
    assert events(logs, "runner_key"), "no warning about the runner key"
    eq(verdicts("gamma"), [], "verdicts of gamma@1")


def t_lease_lost():
    submit("epsilon")
    jid = job_row("epsilon")[0]
    log = os.path.join(W.R.tmp, "runner-r3.log")
    with open(log, "wb") as f:
        p = subprocess.Popen([RUNNER_BIN, "serve", "--once", "--runner", "r3", "--suite",
                              W.medium, "--lease-seconds", "3"], cwd=ROOT,
                             env=runner_env(), stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=f)
    W.procs.append(p)
    wait_job("epsilon", lambda row: row[1] == "leased" and row[3] == "r3", timeout=60)
    # Another runner takes the job over: r3's lease ends early, and the
    # next lease requeues the job and hands it to the thief.
    W.R.psql("UPDATE jobs SET lease_expires_at = now() - interval '1 s' WHERE id = %d" % jid)
    r = W.S.request("POST", "/v1/jobs/lease", token=W.runner_token,
                    body={"runner": "thief", "lease_seconds": 300})
    status(r, 200, "the thief's lease")
    eq(r.json()["job"]["id"], jid, "the job the thief got")
    eq(p.wait(180), 1, "r3's exit status (--once, no verdict posted)")
    with open(log) as f:
        logs = log_lines(f.read())
    j = events(logs, "job")[0]
    eq(j["outcome"], "lease_lost", "r3's job line")
    assert any(h.get("status") == 409 for h in events(logs, "heartbeat")) or \
        j.get("status") == 409, logs
    eq(verdicts("epsilon"), [], "verdicts of epsilon@1")
    # One attempt counted: r3's expired lease; the thief's is still held.
    eq(job_row("epsilon")[1:4], ("leased", 1, "thief"), "the job, the thief's")


def t_revoked_later_still_verifies():
    r = W.S.request("POST", "/v1/keys/%s/revoke" % W.runner_key.keyid, token=W.admin)
    status(r, 200, "revoke the runner key")
    c = cli("verdicts", "%s/alpha@1" % A, "--verify")
    eq(c.returncode, 0, "a verdict signed before the revocation (stderr %s)" % c.stderr)


def main():
    if not tap.run("a registry with a CI key, a runner key and a rogue key", t_setup):
        return tap.finish()
    tap.context = lambda: W.R.logs()
    tests = [
        ("serve: --help, usage errors, unreadable suite", t_usage),
        ("serve --once with no job waiting exits 0", t_idle_once),
        ("serve stops cleanly on SIGTERM while idle", t_sigterm_idle),
        ("a submit queues a job for the reference suite", t_submit_queues_job),
        ("serve --once leases, judges and records a verdict", t_serve_once_records_verdict),
        ("the verdict envelope verifies under the runner key", t_verdict_envelope),
        ("the audit log has job.leased and verdict.recorded", t_audit_events),
        ("optreg verdicts: table, --json, tag, --verify, errors", t_cli_verdicts),
        ("a repeated verdict post is idempotent; a different one is 409", t_repost_idempotent),
        ("a killed runner's job expires and a second runner finishes it",
         t_crash_and_takeover),
        ("a tampered config gets an error verdict (config_verification)", t_tampered_config),
        ("a runner key not registered for the namespace is refused",
         t_unregistered_runner_key),
        ("a runner that loses its lease posts nothing and moves on", t_lease_lost),
        ("a verdict verifies after its key is revoked later", t_revoked_later_still_verifies),
    ]
    for desc, fn in tests:
        tap.run(desc, fn)
    for p in W.procs:
        if p.poll() is None:
            p.kill()
    return tap.finish()


if __name__ == "__main__":
    sys.exit(main())
