#!/usr/bin/python3
"""tests/ui/browser_test.py: the web page at /ui/ in a real browser.

Debian's chromium, driven by playwright-core (tests/ui/setup.sh installs it
with npm from tests/ui/package-lock.json), against a real registry over a
private PostgreSQL cluster (tests/e2e/harness.py) holding real data:

  - team-a/adamw: version 1 (lr 3e-4), version 2 (weight decay 0.05 and a
    warmup) and version 3 (lr 0.1, which blows up the MLP), each judged by
    a real `optreg-runner serve --once` on a small cut of the reference
    suite (three workloads, 30 steps, three seeds; a few seconds each), so
    the good versions pass and the bad one fails with findings; the tag
    `prod` set to 2 and moved back to 1;
  - team-a/other: version 1 (yanked) and version 2, their jobs left queued;
  - the policy adam-defaults (policies/), and a signed audit checkpoint.

Then tests/ui/browser.mjs (node) drives chromium through the page contract
(docs/ui.md) at 1280 and 390 px wide against a server with --anonymous-read
and one without, with expectations this script computes from the API, the
verdicts' payloads and `optreg diff --json` (never typed in); see
browser.mjs for the checks. Each of its checks is one TAP test here.
After the clean run the script tampers with the log as an attacker with
the database: it edits one event (the page's proof of that row must say
`failed`), then the latest checkpoint's root (the checkpoint check must say
`failed`). Last, browser.mjs stops a third server in the middle of a
session: the page must say the registry cannot be reached and what to do.

Screenshots of every page at both widths: $OPTREG_UI_SHOTS (default
build/ui-shots/), WIDTH/NAME.png.

usage: tests/ui/browser_test.py     (from the repository root)
env:   BIN  folder with optreg, optreg-server and optreg-runner (default bin)
       OPTREG_UI_SHOTS  where the screenshots go (default build/ui-shots)
       OPTREG_CHROMIUM  the browser (default /usr/bin/chromium)
       OPTREG_E2E_KEEP=1 keeps the temporary directory

Prints TAP and exits 1 when any test fails.
"""

import base64
import json
import os
import statistics
import subprocess
import sys
import time
import traceback

sys.dont_write_bytecode = True  # no __pycache__ in the working tree
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "e2e"))

from harness import (  # noqa: E402
    BIN, CLI_BIN, DEFAULT_SUITE, ROOT, Registry, Signer, Tap, ci_suite_file,
    envelope, eq, put_policy, status)

RUNNER_BIN = os.path.join(BIN, "optreg-runner")
SHOTS = os.path.abspath(os.path.join(ROOT, os.environ.get("OPTREG_UI_SHOTS")
                                     or os.path.join("build", "ui-shots")))
NS = "team-a"
NODE_TIMEOUT = 240

tap = Tap()


class World:
    pass


W = World()


# ---------------------------------------------------------------- setup

def suite_file():
    """The ci suite as jobs ask for it (harness.ci_suite_file): three
    workloads of at most 30 steps per seed."""
    return ci_suite_file(os.path.join(W.R.tmp, "suite.json"),
                         lambda w, nseeds: min(w["peak_steps"], 30),
                         lambda w: w["name"] != "fmnist_logreg")


def config_bytes(name, lr, extra=""):
    path = os.path.join(W.R.tmp, "%s-%d.yaml" % (name, len(os.listdir(W.R.tmp))))
    with open(path, "w") as f:
        f.write("apiVersion: optreg/v1\nkind: OptimizerConfig\n"
                "metadata:\n  namespace: %s\n  name: %s\n"
                "spec:\n  optimizer: adamw\n  lr: %s\n  betas: [0.9, 0.999]\n"
                "  eps: 1.0e-8\n%s" % (NS, name, lr, extra or "  weight_decay: 0.01\n"))
    return subprocess.run([CLI_BIN, "canonicalize", path], stdout=subprocess.PIPE,
                          check=True, timeout=30).stdout.rstrip(b"\n")


def submit(name, lr, extra="", message="why"):
    r = W.S.request("POST", "/v1/configs/%s/%s/versions" % (NS, name), token=W.sub,
                    body={"envelope": envelope(config_bytes(name, lr, extra), [W.ci]),
                          "message": message})
    status(r, 201, "submit %s" % name)
    return r.json()["version"]


def get(path, token=None):
    r = W.S.request("GET", path, token=token or W.admin)
    status(r, 200, "GET " + path)
    return r.json()


def judge_one():
    e = W.R.env()
    e.update(OPTREG_URL=W.S.base, OPTREG_TOKEN=W.runner_token,
             OPTREG_KEY=W.runner_key.key_path)
    p = subprocess.run([RUNNER_BIN, "serve", "--once", "--suite", W.suite,
                        "--lease-seconds", "120", "--runner", "ui-runner"],
                       cwd=ROOT, env=e, timeout=300, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True)
    assert p.returncode == 0, "optreg-runner serve --once: exit %d\n%s" % (
        p.returncode, p.stderr[-3000:])


def put_tag(name, tag, version, expected, reason):
    r = W.S.request("PUT", "/v1/configs/%s/%s/tags/%s" % (NS, name, tag), token=W.sub,
                    body={"version": version, "expected_version": expected,
                          "reason": reason})
    status(r, 200, "tag %s -> %d" % (tag, version))


def setup():
    W.R = Registry().start()
    # No checkpoint of its own accord: the test signs one when the data is in.
    common = ("--checkpoint-every", "1000000", "--checkpoint-interval", "86400")
    W.S = W.R.server("--anonymous-read", *common, name="anon")
    W.S2 = W.R.server(*common, name="auth")
    # Stopped by browser.mjs in the middle of its last phase.
    W.S3 = W.R.server("--anonymous-read", *common, name="down")
    W.admin, _ = W.R.token("admin@ops", "admin")
    W.auditor, _ = W.R.token("auditor@sec", "auditor")
    W.sub, _ = W.R.token("ci@team-a", "submitter", namespace=NS)
    W.runner_token, _ = W.R.token("runner@ops", "runner")
    W.ci = Signer(W.R.tmp, "ci")
    W.runner_key = Signer(W.R.tmp, "runner")
    for signer, principal, purpose in ((W.ci, "ci@team-a", "config"),
                                       (W.runner_key, "runner@ops", "verdict")):
        r = W.S.request("POST", "/v1/keys", token=W.admin, body={
            "public_key": signer.public_pem, "principal": principal, "namespaces": [NS],
            "purpose": purpose})
        status(r, 201, "register %s" % principal)
    W.suite = suite_file()

    submit("adamw", "3.0e-4", message="first cut")
    submit("adamw", "3.0e-4", "  weight_decay: 0.05\n  schedule:\n    kind: cosine\n"
           "    warmup_steps: 5\n    total_steps: 1000\n    min_lr: 0.0\n",
           message="more decay, a warmup")
    submit("adamw", "1.0e-1", message="faster")
    for _ in range(3):
        judge_one()
    put_tag("adamw", "prod", 2, None, "release")
    put_tag("adamw", "prod", 1, 2, "back to the first cut")
    submit("other", "1.0e-4")
    submit("other", "2.0e-4")
    r = W.S.request("POST", "/v1/configs/%s/other/versions/1/yank" % NS, token=W.admin,
                    body={"reason": "superseded"})
    status(r, 200, "yank other@1")
    with open(os.path.join(ROOT, "policies", "adam-defaults.yaml")) as f:
        status(put_policy(W.S, W.admin, "adam-defaults", f.read(), "the defaults"), 201,
               "PUT policy")
    status(W.S.request("POST", "/v1/audit/checkpoint", token=W.auditor), 201, "checkpoint")
    W.spec = expectations()
    W.spec_path = os.path.join(W.R.tmp, "spec.json")
    with open(W.spec_path, "w") as f:
        json.dump(W.spec, f, indent=1)
    r = subprocess.run([os.path.join(HERE, "setup.sh")], cwd=ROOT, timeout=300,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert r.returncode == 0, "tests/ui/setup.sh: exit %d\n%s%s" % (
        r.returncode, r.stdout, r.stderr)


# ---------------------------------------------------------------- expectations

def median_curve(workload):
    """The points a plot draws for one workload of a verdict: per step, the
    median over the seeds with a finite loss there (steps with none left
    out); a one-seed verdict (runner 0.1.0) has its curve on the workload."""
    curves = [r.get("loss_curve") or [] for r in workload.get("runs", [])]
    if not curves and workload.get("loss_curve"):
        curves = [workload["loss_curve"]]
    by_step = {}
    for c in curves:
        for step, loss in c:
            by_step.setdefault(step, [])
            if isinstance(loss, (int, float)) and loss == loss and abs(loss) != float("inf"):
                by_step[step].append(loss)
    return [(s, statistics.median(v)) for s, v in sorted(by_step.items()) if v]


def verdict_expect(v, others):
    p = json.loads(base64.b64decode(v["envelope"]["payload"]))
    workloads = []
    for w in p["workloads"]:
        pts = median_curve(w)
        losses = [l for _, l in pts]
        log = bool(losses) and min(losses) > 0 and max(losses) >= 100 * min(losses)
        sched = w.get("schedule") or {}
        criteria = sorted({f["criterion"] for f in p["findings"]
                           if f.get("workload") == w["name"] and f.get("step") is not None})
        workloads.append({"name": w["name"], "points": len(pts),
                          "scale": "log" if log else "linear",
                          "warmup": (sched.get("warmup_steps") or 0) > 0,
                          "marker_criteria": criteria})
    return {"job": v["job_id"], "result": p["result"], "suite": v["suite"],
            "runner": v["runner"],
            "findings": [[f["criterion"], f.get("workload") or "", f["severity"]]
                         for f in p["findings"]],
            "minority": [[f["criterion"], f.get("workload") or "", f["severity"]]
                         for w in p["workloads"] for f in w.get("minority", [])],
            "workloads": workloads,
            # The comparison: the latest other version whose latest verdict
            # on this suite passes.
            "compare": others}


def cli_diff(a, b):
    e = W.R.env()
    e.update(OPTREG_URL=W.S.base, OPTREG_TOKEN=W.admin)
    p = subprocess.run([CLI_BIN, "diff", "--json", a, b], cwd=ROOT, env=e, timeout=60,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert p.returncode in (0, 13), "optreg diff %s %s: %d %s" % (a, b, p.returncode, p.stderr)
    d = json.loads(p.stdout)
    return {"equal": d["equal"], "changes": sorted([c["path"], c["kind"]] for c in d["changes"])}


def job_states(name):
    out = W.R.psql(
        "SELECT j.version, j.state FROM jobs j JOIN configs c ON c.id = j.config_id"
        " JOIN namespaces n ON n.id = c.namespace_id"
        " WHERE n.name = '%s' AND c.name = '%s' AND j.suite = '%s'"
        % (NS, name, DEFAULT_SUITE)).stdout
    return {int(l.split("|")[0]): l.split("|")[1] for l in out.splitlines() if l.strip()}


def expectations():
    base = "/v1/configs/%s" % NS
    configs = {}
    for name in ("adamw", "other"):
        versions = get("%s/%s/versions?page_size=100" % (base, name))["versions"]
        states = job_states(name)
        vs = {}
        for item in versions:
            n = item["version"]
            doc = get("%s/%s/versions/%d" % (base, name, n))
            verdicts = get("%s/%s/versions/%d/verdicts" % (base, name, n))["verdicts"]
            verdicts = [v for v in verdicts if v["suite"] == DEFAULT_SUITE]
            if verdicts:
                verdict = max(verdicts, key=lambda v: v["created_at"])["result"]
            else:
                verdict = "pending" if states.get(n) in ("queued", "leased") else "none"
            receipt = json.loads(base64.b64decode(doc["receipt"]["payload"]))
            vs[n] = {"version": n, "digest": item["digest"], "yanked": bool(item.get("yanked")),
                     "verdict": verdict, "verdicts": verdicts,
                     "keyids": sorted(s["keyid"] for s in doc["envelope"]["signatures"]),
                     "audit_index": receipt["audit_index"],
                     "document": json.loads(base64.b64decode(doc["envelope"]["payload"]))}
        tags = get("%s/%s/tags" % (base, name))["tags"]
        configs[name] = {"versions": vs, "tags": {}}
        for t in tags:
            moves = get("%s/%s/tags/%s/history" % (base, name, t["tag"]))["moves"]
            configs[name]["tags"][t["tag"]] = {"version": t["version"], "moves": len(moves)}
    # Diffs and verdicts per version.
    out = {"configs": {}}
    for name, c in configs.items():
        prod = c["tags"].get("prod")
        versions = {}
        for n, v in c["versions"].items():
            ref = "%s/%s@%d" % (NS, name, n)
            e = {k: v[k] for k in ("version", "digest", "yanked", "verdict", "keyids",
                                   "audit_index")}
            e["lr"] = v["document"]["spec"]["lr"]
            e["diff_previous"] = cli_diff("%s/%s@%d" % (NS, name, n - 1), ref) if n > 1 else None
            e["diff_prod"] = (cli_diff("%s/%s@%d" % (NS, name, prod["version"]), ref)
                              if prod else None)
            e["verdicts"] = []
            for verdict in v["verdicts"]:
                passing = [m for m, o in sorted(c["versions"].items())
                           if m != n and o["verdict"] == "pass"]
                e["verdicts"].append(verdict_expect(verdict, passing[-1:]))
            versions[str(n)] = e
        out["configs"][name] = {"versions": versions, "tags": c["tags"]}
    entries = get("/v1/audit/entries?page_size=1000", token=W.auditor)["entries"]
    moved = [e["index"] for e in entries if e["event"].get("action") == "tag.moved"]
    out["audit"] = {"indices": [e["index"] for e in entries],
                    "tag_moved": moved,
                    "size": int(W.R.psql("SELECT max(size) FROM audit_checkpoints")
                                .stdout.strip())}
    with open(W.R.registry_pub) as f:
        out["registry_key"] = f.read()
    out["other_key"] = W.ci.public_pem  # an Ed25519 key that did not sign
    out["anon"] = W.S.base
    out["auth"] = W.S2.base
    out["down"] = {"base": W.S3.base, "pid": W.S3.proc.pid}
    out["tokens"] = {"auditor": W.auditor, "admin": W.admin}
    out["namespace"] = NS
    out["policies"] = ["adam-defaults"]
    out["shots"] = SHOTS
    return out


# ---------------------------------------------------------------- browser

def browser(phase):
    """Runs browser.mjs PHASE; returns its checks [[desc, ok, diag]]."""
    result = os.path.join(W.R.tmp, "result-%s.json" % phase)
    p = subprocess.run(["node", os.path.join(HERE, "browser.mjs"), W.spec_path, phase, result],
                       cwd=ROOT, timeout=NODE_TIMEOUT, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True)
    try:
        with open(result) as f:
            checks = json.load(f)
    except (OSError, ValueError):
        checks = []
    if p.returncode != 0 and not [c for c in checks if not c[1]]:
        checks.append(["browser.mjs %s ran to the end" % phase, False,
                       "exit %d\n%s" % (p.returncode, p.stdout[-4000:])])
    if not checks:
        checks.append(["browser.mjs %s reported checks" % phase, False, p.stdout[-4000:]])
    return checks


def report(checks):
    for desc, ok, diag in checks:
        def one(ok=ok, diag=diag):
            assert ok, diag
        tap.run(desc, one)


AUDIT_TABLES = ("audit_events", "audit_nodes", "audit_checkpoints", "audit_head")


def tsql(sql):
    """SQL as the superuser with the audit log's triggers off (and on again)."""
    off = "".join("ALTER TABLE %s DISABLE TRIGGER USER; " % t for t in AUDIT_TABLES)
    on = "".join("ALTER TABLE %s ENABLE TRIGGER USER; " % t for t in AUDIT_TABLES)
    return W.R.psql(off + sql + "; " + on)


def tamper_event():
    idx = W.spec["audit"]["tag_moved"][-1]
    tsql("UPDATE audit_events SET event = replace(event::text, 'back to the first cut',"
         " 'nothing to see')::jsonb WHERE idx = %d" % idx
         if jsonb_events() else
         "UPDATE audit_events SET event = replace(event, 'back to the first cut',"
         " 'nothing to see') WHERE idx = %d" % idx)
    got = W.R.psql("SELECT event::text FROM audit_events WHERE idx = %d" % idx).stdout
    assert "nothing to see" in got, "the edit did not apply: %s" % got


def jsonb_events():
    return W.R.psql("SELECT data_type FROM information_schema.columns"
                    " WHERE table_name = 'audit_events' AND column_name = 'event'"
                    ).stdout.strip() == "jsonb"


def tamper_checkpoint():
    """Replaces the root in the latest checkpoint's note, keeping its
    signature: a note whose signature no longer verifies."""
    size = W.spec["audit"]["size"]
    note = W.R.psql("SELECT note FROM audit_checkpoints WHERE size = %d" % size).stdout
    root = note.split("\n")[2]
    fake = base64.b64encode(bytes(32)).decode()
    assert root != fake
    tsql("UPDATE audit_checkpoints SET note = replace(note, '%s', '%s') WHERE size = %d"
         % (root, fake, size))


def run_all():
    start = time.time()
    try:
        try:
            setup()
        except Exception:  # noqa: BLE001
            tap.fail("harness: a registry with configs, verdicts, tags, a policy and a "
                     "checkpoint", [traceback.format_exc()] +
                     (W.R.logs() if hasattr(W, "R") else []))
            return tap.finish()
        tap.context = lambda: [s.log_tail(8) for s in W.R.servers if s.alive()]
        tap.run("the runner judged the good versions pass and the bad one fail",
                t_verdicts)
        report(browser("clean"))
        if tap.run("tampering: an audit event edited in the database", tamper_event):
            report(browser("tampered-event"))
        if tap.run("tampering: the latest checkpoint's root replaced in the database",
                   tamper_checkpoint):
            report(browser("tampered-checkpoint"))
        report(browser("down"))
        print("# %.1f s" % (time.time() - start))
        return tap.finish()
    finally:
        if hasattr(W, "R"):
            W.R.cleanup()


def t_verdicts():
    vs = W.spec["configs"]["adamw"]["versions"]
    eq([vs[n]["verdict"] for n in ("1", "2", "3")], ["pass", "pass", "fail"],
       "latest verdicts of adamw 1, 2, 3")
    bad = vs["3"]["verdicts"][0]
    assert [f for f in bad["findings"] if f[2] == "fail"], bad["findings"]
    assert bad["compare"] == [2], "v3's comparison: %r" % bad["compare"]


if __name__ == "__main__":
    sys.exit(run_all())
