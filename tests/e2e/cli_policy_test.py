#!/usr/bin/python3
"""tests/e2e/cli_policy_test.py: policies and promotion gates through the
`optreg` command line, end to end: the real $BIN/optreg against a real
optreg-server over a private PostgreSQL cluster (tests/e2e/harness.py),
with the shipped default policies (policies/) pushed by `optreg policy
push`.

Verdicts are recorded the way a runner records them, without running a
suite: the test leases the version's job (POST /v1/jobs/lease with a
runner token) and posts a verdict envelope signed by a registered
`verdict` key (as tests/e2e/faults_test.py does), with the result the
test needs (pass, warn, fail) or none (the job stays leased: unjudged).

Covered (docs/cli.md, docs/policies.md):
  - policy push (files and a folder; unchanged when identical; a refused
    file reported at its line), list, show (document, --versions);
  - a denied submit stores nothing, is reported at the config's line, and
    is audited (policy.denied); warnings are printed on success;
  - an audit-mode policy records but never blocks;
  - `policy evaluate` lists exactly the versions a stricter policy would
    deny (latest of each config or tagged, not yanked), exit 1;
  - `submit --message --link` is shown by `log`; `submit --wait` exits 0
    pass, 10 warn, 11 fail, 12 timeout, with progress only on a terminal;
  - prod cannot move to a failed, unjudged, warned or yanked version
    (409 gate_refused / yanked, exit 5, the reason and a hint), needs a
    --reason and the approver role, and moves with a pass;
  - a change rule blocks an x10 lr change on prod; a waiver lets it
    through until it expires; waiver list/revoke;
  - rollback moves prod back, is audited, and shows in `tag --history`;
  - fetch --require-verdict pass|warn and through a tag at a yanked
    version (refused unless --allow-yanked); yank --link.

usage: tests/e2e/cli_policy_test.py     (from the repository root)
env:   BIN   folder with optreg and optreg-server (default "bin")
       OPTREG_E2E_KEEP=1 keeps the temporary directory (logs, cluster)
"""

import datetime
import http.client
import http.server
import json
import os
import pty
import re
import select
import shlex
import subprocess
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import CLI_BIN, ROOT, Registry, Signer, Tap, run_suite, doc, eq, post_verdict  # noqa: E402

NS = "team-gate"        # gate, change rules, waivers, rollback
NS_AUDIT = "team-audit"  # an audit-mode policy
NS_DRY = "team-dry"      # the dry run's world

tap = Tap()


class World:
    pass


W = World()


# ---------------------------------------------------------------- helpers

class Result:
    def __init__(self, argv, p):
        self.argv = argv
        self.rc = p.returncode
        self.out = p.stdout if isinstance(p.stdout, bytes) else p.stdout.encode()
        self.err = p.stderr if isinstance(p.stderr, bytes) else p.stderr.encode()

    @property
    def text(self):
        return self.out.decode("utf-8", "replace")

    @property
    def etext(self):
        return self.err.decode("utf-8", "replace")

    def describe(self):
        cmd = " ".join(shlex.quote(a) for a in self.argv[1:])
        return "$ optreg %s\n  exit: %d\n  stdout: %r\n  stderr: %r" % (
            cmd, self.rc, self.out[:2000], self.err[:2000])


def env_for(token):
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPTREG_")}
    env["OPTREG_URL"] = W.srv.base
    env["OPTREG_KEY"] = W.key
    if token:
        env["OPTREG_TOKEN"] = getattr(W, token)
    return env


def optreg(*args, token="sub"):
    argv = [CLI_BIN] + [str(a) for a in args]
    p = subprocess.run(argv, env=env_for(token), cwd=W.dir, timeout=120,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return Result(argv, p)


def background(*args, token="sub"):
    argv = [CLI_BIN] + [str(a) for a in args]
    p = subprocess.Popen(argv, env=env_for(token), cwd=W.dir,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    p.argv = argv
    return p


def finish(p):
    out, err = p.communicate(timeout=120)
    p.stdout, p.stderr = out, err
    return Result(p.argv, p)


def expect(res, rc, what=""):
    assert res.rc == rc, "%sexpected exit %d, got:\n%s" % (
        what + ": " if what else "", rc, res.describe())
    return res


def has(res, needle, stream="err"):
    text = res.etext if stream == "err" else res.text
    assert needle in text, "std%s lacks %r:\n%s" % (stream, needle, res.describe())


def lacks(res, needle, stream="err"):
    text = res.etext if stream == "err" else res.text
    assert needle not in text, "std%s has %r:\n%s" % (stream, needle, res.describe())


def api(method, path, token="admin", body=None):
    return W.srv.request(method, path, token=getattr(W, token), body=body)


def write(name, value):
    path = os.path.join(W.dir, name)
    with open(path, "w") as f:
        if isinstance(value, str):
            f.write(value)
        else:
            json.dump(value, f, indent=2)
    return path


def config(ns, name, fname=None, **spec):
    """Writes a config file; returns its path."""
    return write(fname or "%s-%s-%s.json" % (ns, name, len(os.listdir(W.dir))),
                 doc(ns, name, **spec))


def submit(path, *extra, rc=0):
    """optreg submit PATH; returns the version number."""
    r = expect(optreg("submit", path, "--json", *extra), rc, "submit " + path)
    return json.loads(r.text)


def lease_for(ns, name, version):
    """Leases jobs until the one of ns/name@version; the others stay
    leased (no verdict will come for them in this test)."""
    deadline = time.time() + 20
    for _ in range(500):
        r = api("POST", "/v1/jobs/lease", token="runner",
                body={"lease_seconds": 3600})
        if r.status == 204 and time.time() < deadline:
            time.sleep(0.1)  # the submit has not happened yet
            continue
        assert r.status == 200, "no job for %s/%s@%d: %s" % (ns, name, version, r.describe())
        job = r.json()["job"]
        if (job["namespace"], job["name"], job["version"]) == (ns, name, version):
            return job
    raise AssertionError("no job for %s/%s@%d" % (ns, name, version))


def judge(ns, name, version, result):
    """Records `result` as the verdict of ns/name@version."""
    job = lease_for(ns, name, version)
    r = post_verdict(W.srv, W.runner, job, [W.vkey], result)
    assert r.status == 201, "verdict: " + r.describe()


def new_version(ns, name, result, **spec):
    """Submits a config and records its verdict (`None`: leave it
    unjudged); returns the version number."""
    v = submit(config(ns, name, **spec))["version"]
    if result:
        judge(ns, name, v, result)
    else:
        lease_for(ns, name, v)
    return v


def audit(action, target=None):
    q = "/v1/audit/entries?action=" + action
    if target:
        q += "&target=" + target
    r = api("GET", q)
    assert r.status == 200, r.describe()
    return r.json().get("entries", [])


def rfc3339(seconds_from_now):
    t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=seconds_from_now)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


class Proxy:
    """A forwarding HTTP proxy in front of the registry, for what a real
    registry does not do on demand: `fail(pattern, n)` answers the next n
    requests whose path contains pattern with 503 (or drops the connection
    with status None); `rewrite(pattern, fn)` passes each JSON answer to
    such a path through fn (registry text with control characters)."""

    def __init__(self, target):
        self.target = urllib.parse.urlsplit(target)
        self.failing = []   # [pattern, count, status]
        self.rewrites = []  # (pattern, fn)
        self.seen = []
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def _any(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else None
                proxy.seen.append((self.command, self.path))
                for f in proxy.failing:
                    if f[0] in self.path and f[1] > 0:
                        f[1] -= 1
                        if f[2] is None:
                            self.close_connection = True
                            self.wfile.flush()
                            self.connection.shutdown(2)
                            return
                        out = json.dumps({"code": "unavailable", "detail": "injected"}).encode()
                        self.send_response(f[2])
                        self.send_header("Content-Type", "application/problem+json")
                        self.send_header("Content-Length", str(len(out)))
                        self.end_headers()
                        self.wfile.write(out)
                        return
                c = http.client.HTTPConnection(proxy.target.hostname, proxy.target.port,
                                               timeout=60)
                hdrs = {k: v for k, v in self.headers.items()
                        if k.lower() not in ("host", "connection", "content-length")}
                c.request(self.command, self.path, body=body, headers=hdrs)
                r = c.getresponse()
                out = r.read()
                for pat, fn in proxy.rewrites:
                    if pat in self.path and out:
                        out = json.dumps(fn(json.loads(out)), ensure_ascii=False).encode()
                self.send_response(r.status)
                for k, v in r.getheaders():
                    if k.lower() not in ("content-length", "connection", "transfer-encoding",
                                         "etag"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)
                c.close()

            do_GET = do_POST = do_PUT = do_DELETE = _any

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base = "http://127.0.0.1:%d" % self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def fail(self, pattern, n, status=503):
        self.failing.append([pattern, n, status])

    def rewrite(self, pattern, fn):
        self.rewrites.append((pattern, fn))

    def reset(self):
        self.failing, self.rewrites, self.seen = [], [], []


def via_proxy(*args, token="sub"):
    argv = [CLI_BIN] + [str(a) for a in args]
    env = env_for(token)
    env["OPTREG_URL"] = W.proxy.base
    p = subprocess.run(argv, env=env, cwd=W.dir, timeout=120,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return Result(argv, p)


def background_proxy(*args, token="sub"):
    argv = [CLI_BIN] + [str(a) for a in args]
    env = env_for(token)
    env["OPTREG_URL"] = W.proxy.base
    p = subprocess.Popen(argv, env=env, cwd=W.dir,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    p.argv = argv
    return p


# ---------------------------------------------------------------- setup

def setup():
    W.reg = Registry().start()
    W.dir = os.path.join(W.reg.tmp, "cli")
    os.makedirs(W.dir)
    t = W.reg.token
    W.admin, _ = t("admin@ops", "admin")
    W.sub, _ = t("ci@team-gate", "submitter")
    W.reader, _ = t("reader@team-gate", "reader")
    W.appr, _ = t("lead@team-gate", "approver")
    W.runner, _ = t("runner@ops", "runner")
    W.srv = W.reg.server(name="A")
    # Same database, 1 s leases allowed: to let a job's leases expire.
    W.fast = W.reg.server("--lease-min-seconds", "1", name="B")
    W.proxy = Proxy(W.srv.base)
    W.key = os.path.join(W.dir, "ci.pem")
    r = optreg("keygen", "--out", os.path.join(W.dir, "ci"), token=None)
    assert r.rc == 0, r.describe()
    r = optreg("key", "register", os.path.join(W.dir, "ci.pub.pem"), "--principal",
               "ci@team-gate", "--namespace", "*", token="admin")
    assert r.rc == 0, r.describe()
    W.vkey = Signer(W.reg.tmp, "runner")
    r = api("POST", "/v1/keys", body={"public_key": W.vkey.public_pem, "principal": "runner@ops",
                                      "namespaces": ["*"], "purpose": "verdict"})
    assert r.status == 201, r.describe()


# ---------------------------------------------------------------- policies

def t_push_defaults():
    r = expect(optreg("policy", "push", os.path.join(ROOT, "policies") + "/",
                      "--message", "the defaults", token="admin"), 0)
    names = sorted(l.split(":")[0] for l in r.text.splitlines())
    shipped = sorted(f.rsplit(".", 1)[0] for f in os.listdir(os.path.join(ROOT, "policies"))
                     if f.endswith((".yaml", ".yml", ".json")))
    eq(names, shipped, "policies pushed (the tests/ subfolder is not)")
    for line in r.text.splitlines():
        assert re.match(r"^[a-z0-9.-]+: version 1 sha256:[0-9a-f]{64} \(created\)$", line), line
    # Again: unchanged.
    r = expect(optreg("policy", "push", os.path.join(ROOT, "policies"), token="admin"), 0)
    for line in r.text.splitlines():
        assert line.endswith("(unchanged)"), line
    # A submitter may not.
    expect(optreg("policy", "push", os.path.join(ROOT, "policies")), 4, "push as submitter")


def t_list_show():
    r = expect(optreg("policy", "list", token="reader"), 0)
    lines = r.text.splitlines()
    eq(lines[0].split(), ["NAME", "VERSION", "MODE", "NAMESPACES", "RULES", "GATES",
                          "CREATED", "BY", "MESSAGE"], "list header")
    assert any(l.startswith("prod-gate ") and "the defaults" in l for l in lines), r.text
    j = json.loads(expect(optreg("policy", "list", "--json", token="reader"), 0).text)
    assert "prod-gate" in [p["name"] for p in j["policies"]], j
    r = expect(optreg("policy", "show", "prod-gate", token="reader"), 0)
    with open(os.path.join(ROOT, "policies", "prod-gate.yaml")) as f:
        eq(r.text.rstrip("\n"), f.read().rstrip("\n"), "show prints the document as pushed")
    r = expect(optreg("policy", "show", "prod-gate", "--versions", token="reader"), 0)
    eq(r.text.splitlines()[0].split(), ["VERSION", "DIGEST", "CREATED", "BY", "MESSAGE"],
       "versions header")
    expect(optreg("policy", "show", "no-such-policy", token="reader"), 8, "unknown policy")


def t_push_invalid():
    bad = write("bad-policy.yaml",
                "apiVersion: optreg/v1\nkind: Policy\nname: bad-one\nnamespaces: ['*']\n"
                "rules:\n  - id: x\n    severity: deny\n    field: spec.lr\n"
                "    at_most: notanumber\n    message: m\n")
    fine = write("fine-policy.yaml",
                 "apiVersion: optreg/v1\nkind: Policy\nname: fine-one\nnamespaces: [nobody]\n"
                 "rules:\n  - id: x\n    severity: warn\n    field: spec.lr\n"
                 "    at_most: 1\n    message: m\n")
    r = expect(optreg("policy", "push", fine, bad, token="admin"), 1)
    has(r, "bad-policy.yaml:9:14: rules[0].at_most: ")
    has(r, "nothing pushed")
    eq(r.out, b"", "stdout")
    expect(optreg("policy", "show", "bad-one", token="reader"), 8, "nothing stored")
    expect(optreg("policy", "show", "fine-one", token="reader"), 8, "not the good one either")
    r = expect(optreg("policy", "evaluate", bad, token="admin"), 1, "evaluate of a bad file")
    has(r, "bad-policy.yaml:9:14: rules[0].at_most: ")


# ---------------------------------------------------------------- submits

def t_denied_submit():
    path = write("denied.yaml",
                 "apiVersion: optreg/v1\nkind: OptimizerConfig\nmetadata:\n"
                 "  namespace: %s\n  name: too-hot\nspec:\n  optimizer: adamw\n"
                 "  lr: 0.5\n  betas: [0.9, 0.999]\n  eps: 1.0e-8\n"
                 "  weight_decay: 0.01\n" % NS)
    r = expect(optreg("submit", path), 1, "submit of lr 0.5")
    has(r, "(422 policy_denied)")
    has(r, "denied.yaml:8:7: spec.lr: ")
    has(r, "hint: ")
    eq(r.out, b"", "stdout of a denied submit")
    expect(optreg("log", NS + "/too-hot", token="reader"), 8, "nothing stored")
    assert audit("policy.denied"), "no policy.denied audit event"


def t_audit_mode():
    pol = write("audit-mode.yaml",
                "apiVersion: optreg/v1\nkind: Policy\nname: e2e-audit\n"
                "namespaces: [%s]\nmode: audit\nrules:\n"
                "  - id: tiny-eps\n    severity: deny\n    field: spec.eps\n"
                "    at_most: 1.0e-12\n    message: eps is not tiny\n" % NS_AUDIT)
    expect(optreg("policy", "push", pol, "--message", "audit first", token="admin"), 0)
    r = expect(optreg("submit", config(NS_AUDIT, "observed")), 0, "audit-mode violation")
    has(r, "1 audited")
    j = submit(config(NS_AUDIT, "observed2"))
    effects = [(v["policy"], v["effect"]) for v in j["violations"]]
    assert ("e2e-audit", "audit") in effects, j["violations"]
    expect(optreg("log", NS_AUDIT + "/observed2", token="reader"), 0, "stored")
    # Audit mode records: the finding is in the version's audit event.
    r = expect(optreg("audit", "log", "--action", "version.created", "--target",
                      NS_AUDIT + "/observed2@1", "--json", token="admin"), 0)
    assert "e2e-audit" in r.text and "tiny-eps" in r.text, r.describe()
    # Deleted, it stops applying.
    expect(optreg("policy", "delete", "e2e-audit", token="admin"), 2, "delete needs --reason")
    r = expect(optreg("policy", "delete", "e2e-audit", "--reason", "seen enough",
                      token="admin"), 0)
    eq(r.text, "e2e-audit: deleted: seen enough\n", "delete stdout")
    r = expect(optreg("policy", "list", token="reader"), 0)
    lacks(r, "e2e-audit", "out")
    j = submit(config(NS_AUDIT, "observed3"))
    assert "e2e-audit" not in [v["policy"] for v in j["violations"]], j["violations"]
    # The deletion is version 2: show says what it did; --versions marks it.
    r = expect(optreg("policy", "show", "e2e-audit", "--version", "2", token="reader"), 0,
               "show of the deletion version")
    eq(r.text, "version 2 deletes policy e2e-audit: seen enough\n", "show stdout")
    r = expect(optreg("policy", "show", "e2e-audit", "--version", "1", token="reader"), 0)
    has(r, "name: e2e-audit", "out")
    # (Deleted, the policy has no current version: ask through version 1.)
    r = expect(optreg("policy", "show", "e2e-audit", "--version", "1", "--versions",
                      token="reader"), 0)
    row = [l for l in r.text.splitlines() if l.startswith("2 ")]
    assert row and "DELETED: seen enough" in row[0], r.describe()


def t_message_link_log():
    j = submit(config(NS, "noted", lr=0.0001), "--message", "lower lr for the long run",
               "--link", "https://ci.example/run/7")
    eq((j.get("message"), j.get("link")),
       ("lower lr for the long run", "https://ci.example/run/7"), "answer's message, link")
    r = expect(optreg("log", NS + "/noted", token="reader"), 0)
    has(r, "lower lr for the long run <https://ci.example/run/7>", "out")
    has(r, "ci@team-gate", "out")
    expect(optreg("submit", config(NS, "noted"), "--link", "has space"), 2, "bad link")
    expect(optreg("submit", config(NS, "noted"), "--message", ""), 2, "empty message")


def t_dry_run():
    # d1: v1 tagged stable (fine), v2 latest (denied); d2: latest yanked
    # (not evaluated); d3 fine; d4: v1 tagged canary (denied), v2 fine.
    d1a = submit(config(NS_DRY, "d1", lr=0.001))["version"]
    submit(config(NS_DRY, "d1", lr=0.002))
    expect(optreg("tag", "%s/d1@%d" % (NS_DRY, d1a), "stable", token="appr"), 0)
    d2 = submit(config(NS_DRY, "d2", lr=0.005))["version"]
    expect(optreg("yank", "%s/d2@%d" % (NS_DRY, d2), "--reason", "bad", token="appr"), 0)
    submit(config(NS_DRY, "d3", lr=0.0001))
    d4a = submit(config(NS_DRY, "d4", lr=0.003))["version"]
    submit(config(NS_DRY, "d4", lr=0.0005))
    expect(optreg("tag", "%s/d4@%d" % (NS_DRY, d4a), "canary", token="appr"), 0)
    strict = write("strict.yaml",
                   "apiVersion: optreg/v1\nkind: Policy\nname: e2e-strict\n"
                   "namespaces: [%s]\nrules:\n"
                   "  - id: lr-at-most-0.0011\n    severity: deny\n    field: spec.lr\n"
                   "    at_most: 0.0011\n    message: too hot for us\n" % NS_DRY)
    r = expect(optreg("policy", "evaluate", strict, token="admin"), 1)
    rows = [l.split()[0] for l in r.text.splitlines()[1:]]
    eq(sorted(rows), sorted(["%s/d1@2" % NS_DRY, "%s/d4@1" % NS_DRY]), "denied versions")
    has(r, "e2e-strict would deny 2 and warn on 0 of 5 versions")
    j = json.loads(expect(optreg("policy", "evaluate", strict, "--json", token="admin"), 1).text)
    eq(sorted((d["name"], d["version"]) for d in j["denied"]), [("d1", 2), ("d4", 1)], "--json")
    expect(optreg("policy", "show", "e2e-strict", token="reader"), 8, "nothing stored")


# ---------------------------------------------------------------- --wait

def wait_with(result, want_rc):
    p = background("submit", config(NS, "waited-" + result), "--wait", "--timeout", "60")
    time.sleep(0.3)
    judge(NS, "waited-" + result, 1, result)
    r = finish(p)
    expect(r, want_rc, "submit --wait, verdict " + result)
    has(r, "verdict on %s/waited-%s@1: %s (suite ref-v2" % (NS, result, result))
    lacks(r, "waiting for")  # stderr is not a terminal
    has(r, "%s/waited-%s@1 sha256:" % (NS, result), "out")


def t_wait_pass():
    wait_with("pass", 0)


def t_wait_warn():
    wait_with("warn", 10)


def t_wait_fail():
    wait_with("fail", 11)


def t_wait_error():
    wait_with("error", 11)


def t_wait_retries():
    # 503s and a dropped connection while waiting are retried; the verdict
    # then comes through.
    W.proxy.reset()
    W.proxy.fail("/verdicts", 2, 503)
    W.proxy.fail("/verdicts", 1, None)
    W.proxy.fail("/verdicts", 2, 429)
    p = background_proxy("submit", config(NS, "retried"), "--wait", "--timeout", "60")
    time.sleep(0.3)
    judge(NS, "retried", 1, "pass")
    r = expect(finish(p), 0, "--wait through transient failures")
    has(r, "verdict on %s/retried@1: pass" % NS)
    lacks(r, "503")
    polls = [s for s in W.proxy.seen if "/verdicts" in s[1]]
    assert len(polls) >= 6, polls
    # Failures until the deadline: the last one is reported, exit 7.
    W.proxy.reset()
    W.proxy.fail("/verdicts", 10000, 503)
    start = time.time()
    r = expect(via_proxy("submit", config(NS, "retried-out"), "--wait", "--timeout", "2"), 7,
               "--wait, 503 until the deadline")
    assert time.time() - start < 30, "took %.1f s" % (time.time() - start)
    has(r, "503")
    W.proxy.reset()
    lease_for(NS, "retried-out", 1)


def t_wait_tag_warn():
    # A warn verdict: the gate of prod refuses it (exit 5) ...
    p = background("submit", config(NS, "warned-tag", lr=0.001), "--wait", "--tag", "prod",
                   "--message", "try warn", token="appr")
    time.sleep(0.3)
    judge(NS, "warned-tag", 1, "warn")
    r = expect(finish(p), 5, "submit --wait --tag prod, warn")
    has(r, "gate_refused")
    has(r, "rule: verdict_warn")
    lacks(r, "-> 1", "out")
    # ... while an ungated tag moves, and the exit status says warn (10).
    p = background("submit", config(NS, "warned-canary", lr=0.001), "--wait", "--tag",
                   "canary", token="appr")
    time.sleep(0.3)
    judge(NS, "warned-canary", 1, "warn")
    r = expect(finish(p), 10, "submit --wait --tag canary, warn")
    has(r, "%s/warned-canary@canary -> 1 (new tag)" % NS, "out")


def t_submit_tag_warns_once():
    # submit --tag: the tag move re-evaluates the submit's rules; their
    # warnings are printed once, not again for the move.
    path = config(NS, "warn-once", betas=[0.9, 0.5])
    r = expect(optreg("submit", path, "--tag", "canary"), 0, "submit --tag canary")
    has(r, "%s/warn-once@canary -> 1 (new tag)" % NS, "out")
    eq(r.etext.count("beta2-at-least-0.9"), 1, "warning lines:\n" + r.etext)


def t_wait_abandoned():
    # Every job abandoned (its lease expired 3 times): --wait exits 11 at
    # once, naming the job and why.
    for _ in range(1000):  # lease what is queued, so the next lease is ours
        r = api("POST", "/v1/jobs/lease", token="runner", body={"lease_seconds": 3600})
        if r.status == 204:
            break
        assert r.status == 200, r.describe()
    path = config(NS, "orphan", lr=0.001)
    v = submit(path)["version"]
    for attempt in range(3):
        deadline = time.time() + 20
        while True:
            r = W.fast.request("POST", "/v1/jobs/lease", token=W.runner,
                               body={"lease_seconds": 1})
            if r.status == 200:
                break
            assert r.status == 204 and time.time() < deadline, r.describe()
            time.sleep(0.2)
        job = r.json()["job"]
        eq((job["name"], job["version"]), ("orphan", v), "leased job %d" % attempt)
        time.sleep(1.3)
    r = W.fast.request("POST", "/v1/jobs/lease", token=W.runner, body={"lease_seconds": 1})
    eq(r.status, 204, "nothing left to lease")
    start = time.time()
    r = expect(optreg("submit", path, "--wait", "--timeout", "60"), 11,
               "--wait on an abandoned job")
    assert time.time() - start < 5, "waited %.1f s" % (time.time() - start)
    has(r, "no verdict will come for %s/orphan@%d: job %d was abandoned: the lease of "
           "runner runner@ops expired" % (NS, v, job["id"]))


def t_wait_timeout_tty():
    # stderr is a terminal: the progress line shows; no verdict in 1 s: 12.
    master, slave = pty.openpty()
    argv = [CLI_BIN, "submit", config(NS, "waited-none"), "--wait", "--timeout", "1"]
    p = subprocess.Popen(argv, env=env_for("sub"), cwd=W.dir, stdout=subprocess.PIPE,
                         stderr=slave)
    os.close(slave)
    out, _ = p.communicate(timeout=60)
    err = b""
    while True:
        ready, _, _ = select.select([master], [], [], 0.5)
        if not ready:
            break
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        err += chunk
    os.close(master)
    eq(p.returncode, 12, "exit status of --wait --timeout 1 (stderr %r)" % err)
    assert b"waiting for the verdict on %s/waited-none@1" % NS.encode() in err, err
    assert b"no verdict for %s/waited-none@1 after 1s" % NS.encode() in err, err
    lease_for(NS, "waited-none", 1)


def t_wait_then_tag():
    # --tag moves only after a passing verdict; the message is the reason.
    p = background("submit", config(NS, "waited-tag", lr=0.001), "--wait", "--tag", "prod",
                   "--message", "ship it", "--link", "https://ci.example/run/5", token="appr")
    time.sleep(0.3)
    judge(NS, "waited-tag", 1, "pass")
    r = expect(finish(p), 0, "submit --wait --tag prod, pass")
    has(r, "%s/waited-tag@prod -> 1 (new tag)" % NS, "out")
    has(r, "gate of policy prod-gate: verdict pass on ref-v2")
    j = json.loads(expect(optreg("tag", NS + "/waited-tag@prod", "--history", "--json",
                                 token="reader"), 0).text)
    eq((j["moves"][0]["reason"], j["moves"][0]["link"]),
       ("ship it", "https://ci.example/run/5"), "the move's reason and link")
    p = background("submit", config(NS, "waited-tag", lr=0.0011), "--wait", "--tag", "prod",
                   "--message", "again", token="appr")
    time.sleep(0.3)
    judge(NS, "waited-tag", 2, "fail")
    r = expect(finish(p), 11, "submit --wait --tag prod, fail")
    has(r, 'tag "prod" not moved')
    lacks(r, "-> 2", "out")


def t_wait_usage():
    expect(optreg("submit", config(NS, "x"), "--timeout", "5"), 2, "--timeout without --wait")
    expect(optreg("submit", config(NS, "x"), "--wait", "--timeout", "0"), 2, "--timeout 0")


# ---------------------------------------------------------------- gates

def t_gate():
    W.g1 = new_version(NS, "model", "pass", lr=0.001)
    # The first set needs a reason too (a gated tag).
    r = expect(optreg("tag", "%s/model@%d" % (NS, W.g1), "prod", token="appr"), 1, "no reason")
    has(r, "reason")
    r = expect(optreg("tag", "%s/model@%d" % (NS, W.g1), "prod", "--reason", "first",
                      token="sub"), 4, "submitter moves prod")
    has(r, "prod-gate")
    r = expect(optreg("tag", "%s/model@%d" % (NS, W.g1), "prod", "--reason", "first",
                      "--link", "https://ci.example/run/1", token="appr"), 0)
    eq(r.text, "%s/model@prod -> %d (new tag)\n" % (NS, W.g1), "stdout")
    has(r, "gate of policy prod-gate: verdict pass on ref-v2")


def refused(version, rule):
    r = expect(optreg("tag", "%s/model@%d" % (NS, version), "prod", "--reason", "try",
                      token="appr"), 5, "prod to a %s version" % rule)
    has(r, "409 gate_refused")
    has(r, "rule: " + rule)
    has(r, "hint: ")
    return r


def t_gate_refuses():
    refused(new_version(NS, "model", "fail", lr=0.0011), "verdict_failed")
    refused(new_version(NS, "model", None, lr=0.0012), "no_verdict")
    refused(new_version(NS, "model", "warn", lr=0.0013), "verdict_warn")
    y = new_version(NS, "model", "pass", lr=0.0014)
    expect(optreg("yank", "%s/model@%d" % (NS, y), "--reason", "bad data",
                  "--link", "https://tracker.example/42", token="appr"), 0)
    r = expect(optreg("tag", "%s/model@%d" % (NS, y), "prod", "--reason", "try",
                      token="appr"), 5, "prod to a yanked version")
    has(r, "409 yanked")
    r = expect(optreg("fetch", NS + "/model@prod", "--json", token="reader"), 0)
    eq(json.loads(r.text)["version"], W.g1, "prod did not move")


def t_gate_pass_and_rollback():
    W.g2 = new_version(NS, "model", "pass", lr=0.0015)
    r = expect(optreg("tag", "%s/model@%d" % (NS, W.g2), "prod", "--reason", "promote",
                      token="appr"), 0)
    eq(r.text, "%s/model@prod -> %d (was %d)\n" % (NS, W.g2, W.g1), "stdout")
    r = expect(optreg("rollback", NS + "/model@prod", "--reason", "regression in eval",
                      "--link", "https://ci.example/run/9", token="appr"), 0)
    eq(r.text, "%s/model@prod -> %d (was %d)\n" % (NS, W.g1, W.g2), "rollback stdout")
    r = expect(optreg("tag", NS + "/model@prod", "--history", token="reader"), 0)
    lines = r.text.splitlines()
    eq(lines[0].split(), ["MOVED", "VERSION", "FROM", "KIND", "BY", "REASON", "LINK"], "header")
    kinds = [l.split()[3] for l in lines[1:]]
    eq(kinds, ["rollback", "move", "set"], "KIND column, newest first")
    assert "regression in eval" in lines[1] and "lead@team-gate" in lines[1], lines[1]
    j = json.loads(expect(optreg("tag", NS + "/model@prod", "--history", "--json",
                                 token="reader"), 0).text)
    eq([m["version"] for m in j["moves"]], [W.g1, W.g2, W.g1], "history versions")
    eq(j["moves"][0]["rollback"], True, "rollback flag")
    eq(j["moves"][2]["link"], "https://ci.example/run/1", "first move's link")
    j = json.loads(expect(optreg("tag", NS + "/model@prod", "--history", "--limit", "1",
                                 "--json", token="reader"), 0).text)
    eq(len(j["moves"]), 1, "--limit 1")
    r = expect(optreg("audit", "log", "--action", "tag.moved", "--target", NS + "/model@prod",
                      token="admin"), 0)
    has(r, "prod: %d -> %d (rollback), gate prod-gate: pass: regression in eval "
           "<https://ci.example/run/9>" % (W.g2, W.g1), "out")
    has(r, "prod: %d -> %d, gate prod-gate: pass: promote" % (W.g1, W.g2), "out")
    has(r, "lead@team-gate", "out")


def t_rollback_role_and_yanked():
    a = new_version(NS, "rolled", "pass", lr=0.001)
    b = new_version(NS, "rolled", "pass", lr=0.0011)
    expect(optreg("tag", "%s/rolled@%d" % (NS, a), "prod", "--reason", "a", token="appr"), 0)
    expect(optreg("tag", "%s/rolled@%d" % (NS, b), "prod", "--reason", "b", token="appr"), 0)
    # A submitter may not roll back a gated tag.
    r = expect(optreg("rollback", NS + "/rolled@prod", "--reason", "back", token="sub"), 4,
               "submitter rolls back prod")
    has(r, "prod-gate")
    # The previous version yanked since: refused like any move.
    expect(optreg("yank", "%s/rolled@%d" % (NS, a), "--reason", "bad", token="appr"), 0)
    r = expect(optreg("rollback", NS + "/rolled@prod", "--reason", "back", token="appr"), 5,
               "rollback to a version yanked since")
    has(r, "409 yanked")
    r = expect(optreg("fetch", NS + "/rolled@prod", "--json", token="reader"), 0)
    eq(json.loads(r.text)["version"], b, "prod did not move")


def t_rollback_errors():
    new_version(NS, "fresh", "pass", lr=0.001)
    expect(optreg("tag", NS + "/fresh@1", "prod", "--reason", "first", token="appr"), 0)
    r = expect(optreg("rollback", NS + "/fresh@prod", "--reason", "x", token="appr"), 5,
               "rollback of a tag set once")
    has(r, "rule: no_previous")
    expect(optreg("rollback", NS + "/fresh@1", token="appr"), 2, "rollback of a version")
    r = expect(optreg("rollback", NS + "/fresh@nope", "--reason", "x", token="appr"), 8,
               "rollback of a tag that does not exist")
    has(r, "404 not_found")
    has(r, "tag %s/fresh@nope not found" % NS)


# ---------------------------------------------------------------- change rules, waivers

def t_change_rule_and_waiver():
    hot = new_version(NS, "model", "pass", lr=0.01)  # x10 the prod lr
    r = expect(optreg("tag", "%s/model@%d" % (NS, hot), "prod", "--reason", "faster",
                      token="appr"), 1, "x10 lr on prod")
    has(r, "422 policy_denied")
    has(r, "[deny prod-changes@1/lr-change-at-most-x2]")
    # A waiver for this config, for a few seconds.
    W.until = time.time() + 8
    r = expect(optreg("waiver", "grant", "--policy", "prod-changes", "--rule",
                      "lr-change-at-most-x2", "--namespace", NS, "--config", "model",
                      "--reason", "planned lr sweep", "--owner", "lead@team-gate",
                      "--expires", rfc3339(8), token="appr"), 0)
    m = re.match(r"^(wvr_[0-9a-f]{16}) granted: prod-changes/lr-change-at-most-x2 for "
                 r"%s/model until " % NS, r.text)
    assert m, r.describe()
    W.waiver = m.group(1)
    r = expect(optreg("tag", "%s/model@%d" % (NS, hot), "prod", "--reason", "faster",
                      token="appr"), 0, "x10 lr on prod with the waiver")
    has(r, "waived: ")
    has(r, W.waiver)
    r = expect(optreg("waiver", "list", "--namespace", NS, token="reader"), 0)
    has(r, W.waiver, "out")
    has(r, "active", "out")
    # Another x10 once the waiver has expired: refused again.
    hotter = new_version(NS, "model", "pass", lr=0.1)
    time.sleep(max(0, W.until - time.time()) + 1.5)
    r = expect(optreg("tag", "%s/model@%d" % (NS, hotter), "prod", "--reason", "hotter",
                      token="appr"), 1, "x10 after the waiver expired")
    has(r, "lr-change-at-most-x2")
    r = expect(optreg("waiver", "list", "--namespace", NS, token="reader"), 0)
    lacks(r, W.waiver, "out")
    r = expect(optreg("waiver", "list", "--namespace", NS, "--all", token="reader"), 0)
    row = [l for l in r.text.splitlines() if l.startswith(W.waiver)]
    assert row and " expired " in row[0], r.describe()


def t_waiver_revoke():
    r = expect(optreg("waiver", "grant", "--policy", "prod-changes", "--rule",
                      "lr-change-at-most-x2", "--namespace", NS, "--config", "model-*",
                      "--reason", "sweep", "--owner", "lead", "--expires", "7d",
                      token="appr"), 0)
    wid = r.text.split()[0]
    r = expect(optreg("waiver", "revoke", wid, "--reason", "sweep over", token="appr"), 0)
    eq(r.text, "%s revoked: sweep over\n" % wid, "stdout")
    r = expect(optreg("waiver", "list", "--all", "--json", token="reader"), 0)
    w = [x for x in json.loads(r.text)["waivers"] if x["id"] == wid][0]
    eq((w["active"], w["revoked_by"]), (False, "lead@team-gate"), "revoked waiver")
    expect(optreg("waiver", "grant", "--policy", "p", token="appr"), 2, "missing options")
    expect(optreg("waiver", "grant", "--policy", "p", "--rule", "r", "--namespace", NS,
                  "--config", "c", "--reason", "x", "--owner", "o", "--expires", "soon",
                  token="appr"), 2, "bad --expires")
    expect(optreg("waiver", "grant", "--policy", "prod-changes", "--rule",
                  "lr-change-at-most-x2", "--namespace", NS, "--config", "c",
                  "--reason", "x", "--owner", "o", "--expires", "7d", token="sub"), 4,
           "submitter grants")


# ---------------------------------------------------------------- fetch

def t_fetch_require_verdict():
    expect(optreg("fetch", NS + "/model@prod", "--require-verdict", "pass", token="reader"), 0)
    r = expect(optreg("fetch", NS + "/waited-warn@1", "--require-verdict", "pass",
                      token="reader"), 11, "warn, pass required")
    eq(r.out, b"", "stdout when not met")
    has(r, "its latest verdict is warn")
    expect(optreg("fetch", NS + "/waited-warn@1", "--require-verdict", "warn",
                  token="reader"), 0, "warn, warn accepted")
    expect(optreg("fetch", NS + "/waited-fail@1", "--require-verdict", "warn",
                  token="reader"), 11, "fail")
    r = expect(optreg("fetch", NS + "/waited-none@1", "--require-verdict", "pass",
                      token="reader"), 11, "no verdict")
    has(r, "has no verdict yet")
    expect(optreg("fetch", NS + "/model@1", "--require-verdict", "maybe", token="reader"), 2)
    for name, rc in (("waited-pass", 0), ("waited-fail", 11)):
        d = json.loads(expect(optreg("fetch", NS + "/%s@1" % name, "--json",
                                     token="reader"), 0).text)["digest"]
        expect(optreg("fetch", d, "--require-verdict", "pass", token="reader"), rc,
               "by digest, " + name)


def t_fetch_yanked_tag():
    v = new_version(NS, "canaried", "pass", lr=0.001)
    expect(optreg("tag", "%s/canaried@%d" % (NS, v), "canary", token="appr"), 0)
    expect(optreg("yank", "%s/canaried@%d" % (NS, v), "--reason", "nan at step 9",
                  token="appr"), 0)
    r = expect(optreg("fetch", NS + "/canaried@canary", token="reader"), 5)
    eq(r.out, b"", "nothing printed")
    has(r, "which is yanked: nan at step 9")
    r = expect(optreg("fetch", NS + "/canaried@canary", "--allow-yanked", token="reader"), 0)
    has(r, "is yanked")
    assert r.out, "no document printed"
    expect(optreg("fetch", "%s/canaried@%d" % (NS, v), token="reader"), 0, "by version")


def t_waiver_list_pages():
    # More waivers than a page: list shows every one (page_size 100 until
    # next_page_token is null), --json merges the pages.
    ids = set()
    for i in range(105):
        r = api("POST", "/v1/waivers", token="appr", body={
            "policy": "prod-changes", "rule": "lr-change-at-most-x2", "namespace": NS_DRY,
            "config": "many-%d" % i, "reason": "bulk", "owner": "lead",
            "expires_at": rfc3339(86400)})
        assert r.status == 201, r.describe()
        ids.add(r.json()["id"])
    W.proxy.reset()
    r = expect(via_proxy("waiver", "list", "--namespace", NS_DRY, "--json", token="reader"), 0)
    j = json.loads(r.text)
    got = {w["id"] for w in j["waivers"]}
    eq(got & ids, ids, "every waiver in --json")
    eq(len(j["waivers"]), len(got), "no waiver twice")
    eq(j.get("next_page_token"), None, "merged answer's next_page_token")
    pages = [s for s in W.proxy.seen if s[1].startswith("/v1/waivers")]
    assert len(pages) >= 2 and all("page_size=100" in s[1] for s in pages), pages
    r = expect(optreg("waiver", "list", "--namespace", NS_DRY, token="reader"), 0)
    for wid in ids:
        has(r, wid, "out")


def t_escapes():
    # Reasons with control characters are refused here (2) and by the
    # registry (400 naming reason).
    v = submit(config(NS, "escaped", lr=0.001))["version"]
    ref = "%s/escaped@%d" % (NS, v)
    r = expect(optreg("yank", ref, "--reason", "bad\x1b[2J", token="appr"), 2,
               "yank --reason with ESC")
    has(r, "control character (byte 0x1b")
    for bad in ("bad\x1b[2J", "two\nlines"):
        r = api("POST", "/v1/configs/%s/escaped/versions/%d/yank" % (NS, v), token="appr",
                body={"reason": bad})
        eq(r.status, 400, "yank reason %r" % bad)
        assert [e["path"] for e in r.json()["errors"]] == ["reason"], r.describe()
    expect(optreg("tag", ref, "canary", token="appr"), 0)
    expect(optreg("yank", ref, "--reason", "nan", token="appr"), 0)
    # Registry text with control characters is printed escaped.
    esc = "\x1b]0;pwned\x07\x1b[2J"
    shown = "\\u001b]0;pwned\\u0007\\u001b[2J"

    def clean(res):
        assert b"\x1b" not in res.err and b"\x07" not in res.err, res.describe()
        assert b"\x1b" not in res.out and b"\x07" not in res.out, res.describe()

    def yank_reason(d):
        if "yank_reason" in d:
            d["yank_reason"] = "nan" + esc
        return d
    W.proxy.reset()
    W.proxy.rewrite("/tags/canary", yank_reason)
    r = expect(via_proxy("fetch", NS + "/escaped@canary", token="reader"), 5)
    has(r, "which is yanked: nan" + shown)
    clean(r)
    r = expect(via_proxy("fetch", NS + "/escaped@canary", "--allow-yanked", token="reader"), 0)
    has(r, "is yanked: nan" + shown)
    clean(r)

    def verdicts(d):
        d["jobs"] = [{"id": 1, "suite": "ref" + esc, "state": "done"}]
        d["verdicts"] = [{"job_id": 1, "result": "fail", "suite": "ref" + esc,
                          "runner": "r" + esc, "created_at": "2026-12-01T00:00:00Z"}]
        return d
    W.proxy.reset()
    W.proxy.rewrite("/verdicts", verdicts)
    r = expect(via_proxy("fetch", ref, "--require-verdict", "pass", token="reader"), 11)
    has(r, "suite ref" + shown)
    has(r, "runner r" + shown)
    clean(r)

    def abandoned(d):
        d["verdicts"] = []
        d["jobs"] = [{"id": 7, "suite": "ref-v2", "state": "abandoned",
                      "last_error": "oom" + esc}]
        return d
    W.proxy.reset()
    W.proxy.rewrite("/verdicts", abandoned)
    r = expect(via_proxy("submit", config(NS, "escaped", lr=0.001), "--wait"), 11)
    has(r, "job 7 was abandoned: oom" + shown)
    clean(r)

    def gate(d):
        d["gate"] = {"policy": "p" + esc, "verdict": "pass" + esc, "suite": "s" + esc}
        return d
    v2 = submit(config(NS, "escaped", lr=0.0012))["version"]
    W.proxy.reset()
    W.proxy.rewrite("/tags/esc-tag", gate)
    r = expect(via_proxy("tag", "%s/escaped@%d" % (NS, v2), "esc-tag", token="appr"), 0)
    has(r, "gate of policy p%s: verdict pass%s on s%s" % (shown, shown, shown))
    clean(r)
    W.proxy.reset()

    def expiry(d):
        if "expires_at" in d:
            d["expires_at"] = "2030" + esc
        return d
    W.proxy.rewrite("/v1/waivers", expiry)
    r = expect(via_proxy("waiver", "grant", "--policy", "prod-changes", "--rule",
                         "lr-change-at-most-x2", "--namespace", NS, "--config", "esc",
                         "--reason", "x", "--owner", "o", "--expires", "1d", token="appr"), 0)
    has(r, "until 2030" + shown, "out")
    clean(r)

    def evaluated(d):
        d["skipped"] = 2
        return d
    W.proxy.reset()
    W.proxy.rewrite("/evaluate", evaluated)
    r = via_proxy("policy", "evaluate", os.path.join(W.dir, "strict.yaml"), token="admin")
    has(r, "(2 skipped: stored payload does not parse)")
    # A problem's detail and hint too.
    W.proxy.reset()
    W.proxy.rewrite("/tags/nope", lambda d: dict(d, detail="gone" + esc,
                                                 errors=[{"message": "x" + esc,
                                                          "path": "tag", "rule": "r",
                                                          "hint": "h" + esc}]))
    r = expect(via_proxy("fetch", NS + "/escaped@nope", token="reader"), 8)
    has(r, "gone" + shown)
    has(r, "x" + shown)
    clean(r)
    W.proxy.reset()


def t_help():
    for cmd in (("policy",), ("waiver",), ("rollback",), ("submit",), ("tag",),
                ("fetch",), ("yank",), ("log",)):
        r = expect(optreg(*cmd, "--help", token=None), 0, "%s --help" % cmd[0])
        has(r, "usage: optreg " + cmd[0], "out")
    r = expect(optreg("--help", token=None), 0)
    for word in ("policy", "waiver", "rollback", "10 verdict warn", "12 no verdict"):
        has(r, word, "out")
    expect(optreg("policy", "frob", token=None), 2, "unknown subcommand")
    expect(optreg("waiver", token=None), 2, "no subcommand")


def t_server_alive():
    assert W.srv.alive(), "the server died"


TESTS = [
    ("--help of the policy commands and the new options", t_help),
    ("policy push policies/: every shipped policy created, then unchanged; submitter 4",
     t_push_defaults),
    ("policy list and show (document, --versions); unknown policy 8", t_list_show),
    ("policy push of a malformed policy: exit 1 at its line, nothing stored", t_push_invalid),
    ("a denied submit: exit 1 at the config's line, nothing stored, audited", t_denied_submit),
    ("an audit-mode policy records but never blocks; policy delete stops it", t_audit_mode),
    ("submit --message --link: stored and shown by log", t_message_link_log),
    ("policy evaluate lists exactly what a stricter policy would deny, exit 1", t_dry_run),
    ("submit --wait: pass exits 0", t_wait_pass),
    ("submit --wait: warn exits 10", t_wait_warn),
    ("submit --wait: fail exits 11", t_wait_fail),
    ("submit --wait --timeout: 12, progress on a terminal", t_wait_timeout_tty),
    ("submit --wait --tag: the tag moves after a pass (message as reason), not after a fail",
     t_wait_then_tag),
    ("submit --timeout without --wait, --timeout 0: usage", t_wait_usage),
    ("prod: needs a reason and an approver, moves with a pass", t_gate),
    ("prod refuses failed, unjudged, warned and yanked versions (exit 5, why)",
     t_gate_refuses),
    ("promote, rollback, tag --history, rollback audited", t_gate_pass_and_rollback),
    ("rollback with no previous version is 5; bad references", t_rollback_errors),
    ("x10 lr on prod is denied; a waiver lets it through until it expires",
     t_change_rule_and_waiver),
    ("waiver revoke; grant errors", t_waiver_revoke),
    ("fetch --require-verdict pass|warn", t_fetch_require_verdict),
    ("fetch through a tag at a yanked version needs --allow-yanked", t_fetch_yanked_tag),
    ("submit --wait: an error verdict exits 11", t_wait_error),
    ("submit --wait retries 503, 429 and dropped connections; 7 at the deadline",
     t_wait_retries),
    ("submit --wait --tag with a warn verdict: prod refuses (5), canary moves (10)",
     t_wait_tag_warn),
    ("rollback: a submitter on prod is 4; to a version yanked since is 5", t_rollback_role_and_yanked),
    ("waiver list shows more than a page of waivers", t_waiver_list_pages),
    ("control characters: refused in a yank reason, printed escaped from the registry",
     t_escapes),
    ("submit --tag: a warning shared by the submit and the move is printed once",
     t_submit_tag_warns_once),
    ("submit --wait on a version whose every job is abandoned exits 11 at once",
     t_wait_abandoned),
    ("the server is still up", t_server_alive),
]


def main():
    return run_suite(tap, W, setup, TESTS,
                     "cluster, migrations, tokens, server, keys")


if __name__ == "__main__":
    sys.exit(main())
