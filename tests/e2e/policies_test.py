#!/usr/bin/python3
"""tests/e2e/policies_test.py: stored policies over HTTP against a real
registry and PostgreSQL (tests/e2e/harness.py).

What it covers:

  - malformed policy documents are refused with 422 invalid_policy and
    errors pointing at the document's line; a document naming another
    policy is 422 name_mismatch; only admins push;
  - pushing stores versions (a new one only when the document changes),
    listed by GET /v1/policies and shown with their versions by GET
    /v1/policies/{name}[?version=N]; pushes are audited (policy.put);
  - a submit an enforce policy denies is 422 policy_denied with every
    violation, stores nothing (not even the config) and is audited
    (policy.denied); a submit a warn rule flags succeeds with the warning;
  - an audit-mode policy records its findings (effect audit, in the
    submit's answer and the version.created event) but never blocks;
  - the dry run (POST /v1/policies/{name}/evaluate) lists exactly the
    versions a stricter policy would deny: the latest of each config and
    tagged ones, never yanked or superseded untagged ones; it stores
    nothing;
  - POST /v1/validate applies the stored policies too;
  - DELETE /v1/policies/{name} stops the policy from applying (audited);
  - a push or delete through one replica applies to the next request
    through another (no notification needed);
  - every shipped policy of policies/ pushes as it is.

usage: tests/e2e/policies_test.py     (from the repository root)
Prints TAP and exits 1 when any test fails.
"""

import datetime
import json
import os
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the working tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness as h  # noqa: E402
from harness import eq, problem, status  # noqa: E402

tap = h.Tap()
R = h.Registry()
NS, FLEET = "pol", "fleet"

LR_CAP = """apiVersion: optreg/v1
kind: Policy
name: lr-cap
description: learning rates above 0.01 diverge with Adam
namespaces: ["pol"]
mode: enforce
rules:
  - id: lr-at-most-0.01
    severity: deny
    field: spec.lr
    at_most: 0.01
    message: lr above 0.01 diverges
    hint: lower spec.lr
  - id: lr-high-warn
    severity: warn
    field: spec.lr
    at_most: 0.003
    message: lr above 0.003 often needs warmup
"""

AUDIT_ONLY = """apiVersion: optreg/v1
kind: Policy
name: eps-watch
namespaces: ["pol"]
mode: audit
rules:
  - id: eps-tiny
    severity: deny
    field: spec.eps
    at_least: 1.0e-6
    message: eps below 1e-6 underflows in fp16
"""

STRICT = """apiVersion: optreg/v1
kind: Policy
name: fleet-strict
namespaces: ["fleet"]
rules:
  - id: lr-at-most-3e-4
    severity: deny
    field: spec.lr
    at_most: 3.0e-4
    message: fleet configs keep lr at or below 3e-4
  - id: lr-warn-2e-4
    severity: warn
    field: spec.lr
    at_most: 2.0e-4
    message: close to the cap
"""


class W:
    pass


def push(name, document, token=None, message="why"):
    return h.put_policy(W.S, token or W.admin, name, document, message)


def submit(ns, name, lr, token=None):
    payload = W.configs.yaml(ns, name, lr=lr)
    return W.S.request("POST", "/v1/configs/%s/%s/versions" % (ns, name),
                       token=token or W.sub, body=h.envelope(payload, [W.ci]))


def audit(action, target):
    return h.audit_events(W.S, W.admin, action, target)


def setup():
    R.start()
    W.S = R.server()
    W.admin, _ = R.token("admin@ops", "admin")
    W.sub, _ = R.token("ci@pol", ["submitter", "approver"], namespace="*")
    W.reader, _ = R.token("reader@pol", "reader", namespace=NS)
    W.configs = h.Configs(R.tmp)
    W.ci = h.Signer(R.tmp, "ci")
    status(W.S.request("POST", "/v1/keys", token=W.admin,
                       body={"public_key": W.ci.public_pem, "principal": "ci@pol",
                             "namespaces": [NS, FLEET]}), 201, "register the key")


def t_malformed_refused_with_line():
    bad = LR_CAP.replace("    at_most: 0.01\n", "    at_most: lots\n")
    line = LR_CAP.splitlines().index("    at_most: 0.01") + 1
    j = problem(push("lr-cap", bad), 422, "invalid_policy", "at_most: lots")
    assert j["errors"], j
    lines = [e.get("line") for e in j["errors"]]
    assert line in lines, "want an error at line %d: %s" % (line, j)
    bad = LR_CAP.replace("mode: enforce", "mode: sometimes")
    line = LR_CAP.splitlines().index("mode: enforce") + 1
    j = problem(push("lr-cap", bad), 422, "invalid_policy", "mode: sometimes")
    assert line in [e.get("line") for e in j["errors"]], j
    j = problem(push("lr-cap", "rules: [\n  {id: x\n"), 422, "invalid_policy", "YAML syntax")
    assert j["errors"][0].get("line"), j
    problem(push("other-name", LR_CAP), 422, "name_mismatch", "name mismatch")
    problem(push("lr-cap", LR_CAP, token=W.sub), 403, "forbidden", "a submitter pushes")
    problem(push("Bad_Name", LR_CAP), 400, "bad_request", "bad policy name")
    r = W.S.request("GET", "/v1/policies", token=W.reader)
    eq(status(r, 200, "list").json()["policies"], [], "nothing stored")


def t_push_versions():
    r = status(push("lr-cap", LR_CAP, message="first"), 201, "push v1")
    j = r.json()
    eq((j["name"], j["version"], j["created"]), ("lr-cap", 1, True), "v1")
    assert j["digest"].startswith("sha256:"), j
    r = status(push("lr-cap", LR_CAP, message="again"), 200, "push the same")
    eq((r.json()["version"], r.json()["created"]), (1, False), "unchanged")
    # A JSON document with the same content is the same policy.
    r = status(push("lr-cap", LR_CAP.replace("diverges\n", "diverges with Adam\n")), 201,
               "push v2")
    eq(r.json()["version"], 2, "v2")
    lst = status(W.S.request("GET", "/v1/policies", token=W.reader), 200, "list").json()
    p = lst["policies"][0]
    eq((p["name"], p["version"], p["mode"], p["namespaces"], p["rules"], p["gates"]),
       ("lr-cap", 2, "enforce", ["pol"], 2, 0), "listed")
    g = status(W.S.request("GET", "/v1/policies/lr-cap", token=W.reader), 200, "get").json()
    eq(g["version"], 2, "current version")
    assert "diverges with Adam" in g["document"], g
    eq(g["policy"]["name"], "lr-cap", "canonical JSON as a value")
    eq([v["version"] for v in g["versions"]], [2, 1], "versions")
    g1 = status(W.S.request("GET", "/v1/policies/lr-cap?version=1", token=W.reader), 200,
                "get v1").json()
    eq((g1["version"], g1["message"]), (1, "first"), "v1")
    problem(W.S.request("GET", "/v1/policies/lr-cap?version=9", token=W.reader), 404,
            "not_found", "no v9")
    problem(W.S.request("GET", "/v1/policies/nope", token=W.reader), 404, "not_found",
            "no such policy")
    ev = audit("policy.put", "lr-cap")
    eq([e["details"]["version"] for e in ev], [1, 2], "policy.put events")


def t_denied_submit_stores_nothing():
    r = submit(NS, "hot", "5.0e-2")
    j = problem(r, 422, "policy_denied", "lr 0.05")
    eq([e["rule"] for e in j["errors"]], ["lr-cap/lr-at-most-0.01"], "denials")
    eq(j["errors"][0]["path"], "spec.lr", "path")
    assert j["errors"][0].get("hint") == "lower spec.lr", j
    effects = sorted((v["rule"], v["effect"]) for v in j["violations"])
    eq(effects, [("lr-at-most-0.01", "deny"), ("lr-high-warn", "warn")], "violations")
    problem(W.S.request("GET", "/v1/configs/%s/hot/versions" % NS, token=W.reader), 404,
            "not_found", "the config was not created")
    n = R.psql("SELECT count(*) FROM configs WHERE name = 'hot'").stdout.strip()
    eq(n, "0", "configs rows")
    ev = audit("policy.denied", "%s/hot" % NS)
    eq(len(ev), 1, "policy.denied events")
    eq(ev[0]["details"]["rules"][0]["rule"], "lr-at-most-0.01", "denied rule")
    eq(ev[0]["actor"]["principal"], "ci@pol", "actor")


def t_warning_on_success():
    r = status(submit(NS, "warm", "5.0e-3"), 201, "lr 0.005")
    viol = r.json()["violations"]
    eq([(v["rule"], v["effect"]) for v in viol], [("lr-high-warn", "warn")], "warning")
    r = status(submit(NS, "cool", "1.0e-4"), 201, "lr 1e-4")
    eq(r.json()["violations"], [], "no violations")


def t_audit_mode_never_blocks():
    status(push("eps-watch", AUDIT_ONLY), 201, "push the audit policy")
    # eps is 1e-8 in every config: the audit rule is violated, yet
    # nothing is blocked or warned.
    r = status(submit(NS, "audited", "1.0e-4"), 201, "submit under audit mode")
    viol = r.json()["violations"]
    eq([(v["policy"], v["rule"], v["effect"]) for v in viol],
       [("eps-watch", "eps-tiny", "audit")], "audit findings")
    ev = audit("version.created", "%s/audited@1" % NS)
    eq([(v["rule"], v["effect"]) for v in ev[0]["details"]["violations"]],
       [("eps-tiny", "audit")], "recorded in the audit event")
    # A denied submit still lists the audit finding beside the denial.
    j = problem(submit(NS, "hot2", "5.0e-2"), 422, "policy_denied", "denied with audit")
    assert ("eps-tiny", "audit") in [(v["rule"], v["effect"]) for v in j["violations"]], j


def t_dry_run_lists_exactly():
    # fleet/a: v1 lr 1e-3 tagged stable, v2 1e-4 (latest).
    # fleet/b: v1 2e-3 (superseded, untagged), v2 5e-4 (latest).
    # fleet/c: v1 9e-4, yanked (latest).  fleet/d: v1 2.5e-4 (warn only).
    for name, lr in (("a", "1.0e-3"), ("a", "1.0e-4"), ("b", "2.0e-3"), ("b", "5.0e-4"),
                     ("c", "9.0e-4"), ("d", "2.5e-4")):
        status(submit(FLEET, name, lr), 201, "submit %s %s" % (name, lr))
    status(W.S.request("PUT", "/v1/configs/%s/a/tags/stable" % FLEET, token=W.sub,
                       body={"version": 1, "expected_version": None}), 200, "tag a@1")
    status(W.S.request("POST", "/v1/configs/%s/c/versions/1/yank" % FLEET, token=W.sub,
                       body={"reason": "bad"}), 200, "yank c@1")
    problem(W.S.request("POST", "/v1/policies/fleet-strict/evaluate", token=W.sub,
                        body={"document": STRICT}), 403, "forbidden", "non-admin dry run")
    r = W.S.request("POST", "/v1/policies/fleet-strict/evaluate", token=W.admin,
                    body={"document": STRICT})
    j = status(r, 200, "dry run").json()
    eq(j["policy"], "fleet-strict", "policy")
    eq(j["evaluated"], 4, "evaluated: a@1 (tagged), a@2, b@2, d@1")
    eq(sorted((d["name"], d["version"]) for d in j["denied"]), [("a", 1), ("b", 2)], "denied")
    a1 = [d for d in j["denied"] if d["name"] == "a"][0]
    eq((a1["namespace"], a1["tags"]), (FLEET, ["stable"]), "a@1")
    eq([v["rule"] for v in a1["violations"] if v["effect"] == "deny"], ["lr-at-most-3e-4"],
       "a@1 violations")
    eq([(d["name"], d["version"]) for d in j["warned"]], [("d", 1)], "warned")
    eq(j.get("truncated"), False, "truncated")
    # Nothing stored; a malformed one is refused with its line.
    problem(W.S.request("GET", "/v1/policies/fleet-strict", token=W.reader), 404, "not_found",
            "the dry run stored nothing")
    j = problem(W.S.request("POST", "/v1/policies/fleet-strict/evaluate", token=W.admin,
                            body={"document": STRICT.replace("at_most: 3.0e-4", "at_most: []")}),
                422, "invalid_policy", "malformed dry run")
    line = STRICT.splitlines().index("    at_most: 3.0e-4") + 1
    assert line in [e.get("line") for e in j["errors"]], j


def t_validate_applies_policies():
    bad = json.dumps(h.doc(NS, "v", lr=0.05)).encode()
    r = W.S.request("POST", "/v1/validate", token=W.reader, body=bad)
    j = problem(r, 422, "policy_denied", "validate lr 0.05")
    eq([e["rule"] for e in j["errors"]], ["lr-cap/lr-at-most-0.01"], "denial")
    good = json.dumps(h.doc(NS, "v", lr=0.0001)).encode()
    r = status(W.S.request("POST", "/v1/validate", token=W.reader, body=good), 200, "validate ok")
    j = r.json()
    assert j["valid"] is True and j["digest"].startswith("sha256:"), j
    eq([v["effect"] for v in j["violations"]], ["audit"], "the audit finding only")
    other = json.dumps(h.doc("elsewhere", "v", lr=0.05)).encode()
    r = status(W.S.request("POST", "/v1/validate", token=W.admin, body=other), 200,
               "a namespace no policy covers")
    eq(r.json()["violations"], [], "no violations")


def t_delete_stops_applying():
    problem(W.S.request("DELETE", "/v1/policies/lr-cap", token=W.admin, body={}), 400,
            "bad_request", "delete without reason")
    r = status(W.S.request("DELETE", "/v1/policies/lr-cap", token=W.admin,
                           body={"reason": "replaced by the defaults"}), 200, "delete")
    eq((r.json()["version"], r.json()["deleted"]), (3, True), "tombstone")
    status(submit(NS, "hot", "5.0e-2"), 201, "the denied config is accepted now")
    problem(W.S.request("GET", "/v1/policies/lr-cap", token=W.reader), 404, "not_found",
            "deleted policy")
    g = status(W.S.request("GET", "/v1/policies/lr-cap?version=2", token=W.reader), 200,
               "old version still readable").json()
    eq(g["version"], 2, "v2")
    names = [p["name"] for p in W.S.request("GET", "/v1/policies",
                                            token=W.reader).json()["policies"]]
    eq(names, ["eps-watch"], "listed")
    problem(W.S.request("DELETE", "/v1/policies/lr-cap", token=W.admin,
                        body={"reason": "again"}), 404, "not_found", "delete twice")
    ev = audit("policy.delete", "lr-cap")
    eq(ev[0]["details"]["reason"], "replaced by the defaults", "policy.delete event")
    # Pushing it again revives it as version 4.
    eq(status(push("lr-cap", LR_CAP), 201, "push again").json()["version"], 4, "v4")


def t_waiver_names_a_current_policy_and_rule():
    exp = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=1)
           ).strftime("%Y-%m-%dT%H:%M:%SZ")

    def grant(**over):
        body = {"policy": "eps-watch", "rule": "eps-tiny", "namespace": NS,
                "config": "*", "reason": "fp32 only", "owner": "lead@pol",
                "expires_at": exp}
        body.update(over)
        return W.S.request("POST", "/v1/waivers", token=W.sub, body=body)

    j = problem(grant(policy="no-such-policy"), 422, "invalid_policy", "unknown policy")
    eq([e["path"] for e in j["errors"]], ["policy"], "path policy")
    assert "optreg policy list" in j["errors"][0].get("hint", ""), j
    j = problem(grant(rule="no-such-rule"), 422, "invalid_policy", "unknown rule")
    eq([e["path"] for e in j["errors"]], ["rule"], "path rule")
    assert "optreg policy show eps-watch" in j["errors"][0].get("hint", ""), j
    problem(grant(namespace="pol*"), 400, "bad_request", "namespace glob")
    status(grant(), 201, "a waiver for an existing rule")
    # Nothing was stored for the refused ones.
    r = status(W.S.request("GET", "/v1/waivers?namespace=" + NS, token=W.sub), 200,
               "list waivers")
    eq(sorted((w["policy"], w["rule"]) for w in r.json()["waivers"]),
       [("eps-watch", "eps-tiny")], "only the valid waiver")


def t_replicas_apply_a_push_at_once():
    # Each replica parses a set of policies once and checks, in every
    # request's transaction, that it is still the current one: a push or
    # a delete through A applies to the next request through B.
    B = R.server(name="B")
    cap = LR_CAP.replace("name: lr-cap", "name: replica-cap").replace(
        "at_most: 0.01\n    message: lr above 0.01", "at_most: 0.0002\n    message: lr above 2e-4")
    status(submit(NS, "rep", "5.0e-4", token=W.sub), 201, "accepted before the push")
    status(push("replica-cap", cap), 201, "push through A")
    payload = W.configs.yaml(NS, "rep", lr="6.0e-4")
    r = B.request("POST", "/v1/configs/%s/rep/versions" % NS, token=W.sub,
                  body=h.envelope(payload, [W.ci]))
    j = problem(r, 422, "policy_denied", "denied through B at once")
    assert "replica-cap/lr-at-most-0.01" in [e["rule"] for e in j["errors"]], j
    status(B.request("DELETE", "/v1/policies/replica-cap", token=W.admin,
                     body={"reason": "done"}), 200, "delete through B")
    r = W.S.request("POST", "/v1/configs/%s/rep/versions" % NS, token=W.sub,
                    body=h.envelope(payload, [W.ci]))
    status(r, 201, "accepted through A after the delete through B")


def t_shipped_defaults_push():
    d = os.path.join(h.ROOT, "policies")
    files = sorted(f for f in os.listdir(d) if f.endswith((".yaml", ".yml", ".json")))
    assert files, "no shipped policies in %s" % d
    for f in files:
        with open(os.path.join(d, f), encoding="utf-8") as fh:
            text = fh.read()
        name = None
        for line in text.splitlines():
            if line.startswith("name:"):
                name = line.split(":", 1)[1].strip().strip('"')
        r = push(name, text, message="the shipped default")
        status(r, 201, "push %s" % f)
    names = [p["name"] for p in W.S.request("GET", "/v1/policies",
                                            token=W.reader).json()["policies"]]
    for f in files:
        assert any(n and f.startswith(n) for n in names), (f, names)


# ------------------------------------------------------------ review fixes

def t_delete_needs_admin():
    problem(W.S.request("DELETE", "/v1/policies/eps-watch", token=W.sub,
                        body={"reason": "not mine"}), 403, "forbidden", "non-admin delete")
    status(W.S.request("GET", "/v1/policies/eps-watch", token=W.reader), 200, "still there")


def t_concurrent_pushes_number_versions():
    import threading
    doc = LR_CAP.replace("name: lr-cap", "name: race-pol").replace(
        "namespaces: [\"pol\"]", "namespaces: [\"nobody\"]")
    got, errors = [], []

    def one(i):
        try:
            r = push("race-pol", doc.replace("learning rates", "learning rates %d" % i))
            got.append((r.status, r.json().get("version")))
        except Exception as e:  # noqa: BLE001
            errors.append(repr(e))

    ts = [threading.Thread(target=one, args=(i,)) for i in range(2)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    eq(errors, [], "no errors")
    eq(sorted(got), [(201, 1), (201, 2)], "versions 1 and 2")


def t_resubmit_skips_policies():
    payload = W.configs.yaml(NS, "resub", lr="1.0e-3")
    env = h.envelope(payload, [W.ci])
    r = status(W.S.request("POST", "/v1/configs/%s/resub/versions" % NS, token=W.sub,
                           body={"envelope": env, "message": "first", "link": "https://a/1"}),
               201, "first submit")
    v = r.json()["version"]
    deny = LR_CAP.replace("name: lr-cap", "name: resub-deny").replace(
        "at_most: 0.01\n", "at_most: 0.0001\n")
    status(push("resub-deny", deny), 201, "push a policy that denies it now")
    r = status(W.S.request("POST", "/v1/configs/%s/resub/versions" % NS, token=W.sub,
                           body={"envelope": env, "message": "second"}),
               200, "identical resubmit")
    j = r.json()
    eq((j["version"], j["created"]), (v, False), "the existing version")
    eq((j["message"], j["link"]), ("first", "https://a/1"), "the stored message and link")
    eq(j["violations"], [], "not judged again")
    problem(submit(NS, "resub", "2.0e-3"), 422, "policy_denied", "new content is judged")
    status(W.S.request("DELETE", "/v1/policies/resub-deny", token=W.admin,
                       body={"reason": "test over"}), 200, "delete it")


def t_dry_run_truncated_and_bad_rows():
    small = R.server("--dry-run-max", "2", name="small")
    j = status(small.request("POST", "/v1/policies/fleet-strict/evaluate", token=W.admin,
                             body={"document": STRICT}), 200, "dry run, max 2").json()
    eq((j["evaluated"], j["truncated"], j["skipped"]), (2, True, 0), "truncated at 2")
    j = status(W.S.request("POST", "/v1/policies/fleet-strict/evaluate", token=W.admin,
                           body={"document": STRICT}), 200, "dry run, default max").json()
    eq((j["evaluated"], j["truncated"]), (4, False), "all four")
    # A stored payload that does not parse: the dry run counts it apart,
    # and a tag move to it is a 500, not a move without policies.
    R.psql("INSERT INTO configs (namespace_id, name, latest_version)"
           " SELECT id, 'broken', 1 FROM namespaces WHERE name = '%s';"
           " INSERT INTO versions (config_id, version, digest, payload, envelope, created_by)"
           " SELECT c.id, 1, 'sha256:' || repeat('ab', 32), 'not json'::bytea, '{}', 'dba'"
           " FROM configs c JOIN namespaces n ON n.id = c.namespace_id"
           " WHERE n.name = '%s' AND c.name = 'broken'" % (FLEET, FLEET))
    j = status(W.S.request("POST", "/v1/policies/fleet-strict/evaluate", token=W.admin,
                           body={"document": STRICT}), 200, "dry run with a bad row").json()
    eq((j["evaluated"], j["skipped"]), (4, 1), "the bad row skipped and counted")
    problem(W.S.request("PUT", "/v1/configs/%s/broken/tags/stable" % FLEET, token=W.sub,
                        body={"version": 1, "expected_version": None}), 500, "internal",
            "a move to a payload that does not parse")


def t_unloadable_policy_fails_closed_where_it_applies():
    R.psql("INSERT INTO policies (name) VALUES ('broken-pol');"
           " INSERT INTO policy_versions (name, version, source, canonical, digest,"
           "  message, created_by) VALUES ('broken-pol', 1, 'x',"
           " '{\"apiVersion\":\"optreg/v1\",\"kind\":\"Policy\",\"name\":\"broken-pol\","
           "\"namespaces\":[\"unl*\"],\"rules\":\"nope\"}',"
           " 'sha256:' || repeat('0', 64), 'written by hand', 'dba')")
    status(submit(NS, "fine", "1.0e-4"), 201, "a namespace it does not cover works")
    covered = json.dumps(h.doc("unl", "v", lr=0.001)).encode()
    problem(W.S.request("POST", "/v1/validate", token=W.admin, body=covered), 500,
            "internal", "a namespace it covers fails closed")
    m = status(W.S.request("GET", "/metrics"), 200, "metrics").body.decode()
    assert "optreg_policies_unloadable 1" in m, m[-600:]
    names = [p["name"] for p in status(W.S.request("GET", "/v1/policies", token=W.reader),
                                       200, "still listed").json()["policies"]]
    assert "broken-pol" in names, names
    status(W.S.request("DELETE", "/v1/policies/broken-pol", token=W.admin,
                       body={"reason": "unloadable"}), 200, "delete it")
    status(W.S.request("POST", "/v1/validate", token=W.admin, body=covered), 200,
           "applies again once deleted")
    m = W.S.request("GET", "/metrics").body.decode()
    assert "optreg_policies_unloadable 0" in m, m[-600:]


def main():
    try:
        setup()
    except Exception as e:  # noqa: BLE001
        tap.fail("harness: cluster, server, keys", [repr(e)] + R.logs())
        R.cleanup()
        return tap.finish()
    try:
        tap.run("malformed policies are refused with the line (invalid_policy)",
                t_malformed_refused_with_line)
        tap.run("policies are stored as versions, listed and shown", t_push_versions)
        tap.run("a denied submit is 422 policy_denied, stores nothing and is audited",
                t_denied_submit_stores_nothing)
        tap.run("a warn rule's finding comes back with a successful submit",
                t_warning_on_success)
        tap.run("an audit-mode policy records its findings but never blocks",
                t_audit_mode_never_blocks)
        tap.run("the dry run lists exactly the versions a stricter policy would deny",
                t_dry_run_lists_exactly)
        tap.run("POST /v1/validate applies the stored policies", t_validate_applies_policies)
        tap.run("a deleted policy stops applying; old versions stay readable",
                t_delete_stops_applying)
        tap.run("a waiver must name a current policy and one of its rules (422)",
                t_waiver_names_a_current_policy_and_rule)
        tap.run("a push or delete through one replica applies through another at once",
                t_replicas_apply_a_push_at_once)
        tap.run("DELETE /v1/policies needs admin", t_delete_needs_admin)
        tap.run("two concurrent pushes of a new policy give versions 1 and 2",
                t_concurrent_pushes_number_versions)
        tap.run("an identical resubmit is not judged again and keeps its message",
                t_resubmit_skips_policies)
        tap.run("the dry run stops at --dry-run-max (truncated) and counts bad rows; "
                "a move to a bad payload is 500", t_dry_run_truncated_and_bad_rows)
        tap.run("an unloadable stored policy fails closed only where it applies",
                t_unloadable_policy_fails_closed_where_it_applies)
        tap.run("the shipped policies/ load through PUT /v1/policies",
                t_shipped_defaults_push)
    finally:
        R.cleanup()
    return tap.finish()


if __name__ == "__main__":
    sys.exit(main())
