#!/usr/bin/python3
"""tests/e2e/gates_test.py: promotion gates, change rules, waivers, tag
history and rollback, over HTTP against a real registry and PostgreSQL
(tests/e2e/harness.py).

What it covers:

  - a policy whose gate protects `prod`: moving prod needs the approver
    role (403 naming the policy) and a reason (400 path reason); prod
    cannot move to a version with no verdict (409 gate_refused rule
    no_verdict), a failed one (verdict_failed), a warn one unless the gate
    allows warn (verdict_warn), or a yanked one (409 yanked); it can with
    a pass, and the answer names the gate, its policy and verdict;
  - a change rule (lr may change by at most x2 from what prod points at)
    blocks an x10 lr change on prod with 422 policy_denied; a waiver for
    the rule lets the same move through (effect waived), and once the
    waiver's expires_at has passed the next move is denied again;
    waivers are listed (active, then with all=true expired too), revoked
    and audited (waiver.grant / waiver.revoke);
  - tag history lists every move newest first with reason, link and who;
    rollback moves prod back to the version before its last move, through
    the gate, and is audited (tag.moved with rollback true); a tag whose
    only move created it has nothing to roll back to (409 no_previous);
  - POST /v1/validate?tag=prod applies the change rule too;
  - submit with {"envelope", "message", "link"} stores the message and
    link on the version (and its audit event); yank takes a link.

Verdicts are signed here, as a runner does: a runner token leases the
job each submit creates and posts a verdict envelope signed by a verdict
key (no optreg-runner process).

usage: tests/e2e/gates_test.py     (from the repository root)
Prints TAP and exits 1 when any test fails.
"""

import datetime
import json
import os
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the working tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness as h  # noqa: E402
from harness import eq, problem, rules, status  # noqa: E402

tap = h.Tap()
R = h.Registry()
NS = "gates"

POLICY = """apiVersion: optreg/v1
kind: Policy
name: prod-gate
description: prod only moves to judged, passing versions; lr moves slowly
namespaces: ["gates"]
mode: enforce
rules:
  - id: lr-change-on-prod
    severity: deny
    against: [prod]
    field: spec.lr
    max_ratio: 2
    message: lr may change by at most x2 from what prod points at
    hint: move lr in smaller steps, or get a waiver
gates:
  - tags: [prod]
    allow_warn: false
"""


class W:
    pass


def cpath(name, rest=""):
    return "/v1/configs/%s/%s%s" % (NS, name, rest)


def submit(name, lr, verdict="pass", message=None, link=None):
    """Submits gates/NAME with `lr`, then leases its job and posts
    `verdict` (None: the job stays leased, unjudged). Returns the version."""
    payload = W.configs.yaml(NS, name, lr=lr)
    env = h.envelope(payload, [W.ci])
    body = env
    if message or link:
        body = {"envelope": env}
        if message:
            body["message"] = message
        if link:
            body["link"] = link
    r = status(W.S.request("POST", cpath(name, "/versions"), token=W.sub, body=body),
               201, "submit %s lr=%s" % (name, lr))
    version = r.json()["version"]
    job = status(W.S.request("POST", "/v1/jobs/lease", token=W.runner,
                             body={"lease_seconds": 600}), 200, "lease").json()["job"]
    eq(job["digest"], h.digest_of(payload), "the leased job is the new version's")
    if verdict:
        status(h.post_verdict(W.S, W.runner, job, [W.verdict_key], verdict),
               201, "verdict %s" % verdict)
    return version


def tag(name, version, expected, token=None, reason="promote", link=None, tagname="prod"):
    body = {"version": version, "expected_version": expected}
    if reason is not None:
        body["reason"] = reason
    if link is not None:
        body["link"] = link
    return W.S.request("PUT", cpath(name, "/tags/" + tagname), token=token or W.approver,
                       body=body)


def current(name, tagname="prod"):
    r = W.S.request("GET", cpath(name, "/tags/" + tagname), token=W.approver)
    return r.json()["version"] if r.status == 200 else None


def audit(action, target):
    return h.audit_events(W.S, W.admin, action, target)


def setup():
    R.start()
    W.S = R.server()
    W.admin, _ = R.token("admin@ops", "admin")
    W.sub, _ = R.token("ci@gates", "submitter", namespace=NS)
    W.approver, _ = R.token("lead@gates", ["approver", "submitter"], namespace=NS)
    W.runner, _ = R.token("runner@ops", "runner", namespace=NS)
    W.configs = h.Configs(R.tmp)
    W.ci = h.Signer(R.tmp, "ci")
    W.verdict_key = h.Signer(R.tmp, "runner")
    for signer, principal, purpose in ((W.ci, "ci@gates", "config"),
                                       (W.verdict_key, "runner@ops", "verdict")):
        status(W.S.request("POST", "/v1/keys", token=W.admin,
                           body={"public_key": signer.public_pem, "principal": principal,
                                 "namespaces": [NS], "purpose": purpose}),
               201, "register the %s key" % purpose)
    status(h.put_policy(W.S, W.admin, "prod-gate", POLICY, "protect prod"), 201,
           "push prod-gate")


# ------------------------------------------------------------ gates

def t_gate_refusals():
    v1 = submit("model", "3.0e-4", verdict="pass")
    v2 = submit("model", "3.5e-4", verdict="fail")
    v3 = submit("model", "4.0e-4", verdict=None)
    v4 = submit("model", "4.5e-4", verdict="warn")
    W.model = (v1, v2, v3, v4)
    # A submitter without the approver role: 403 naming the gate's policy.
    j = problem(tag("model", v1, None, token=W.sub), 403, "forbidden", "submitter moves prod")
    assert "prod-gate" in json.dumps(j), j
    ev = audit("write.denied", "%s/model@prod" % NS)
    assert ev and "prod-gate" in ev[-1]["details"]["gate"], ev
    # No reason: 400 naming the field.
    j = problem(tag("model", v1, None, reason=None), 400, "bad_request", "no reason")
    assert [e["path"] for e in j["errors"]] == ["reason"], j
    # No verdict yet, a failed one, a warn one.
    for v, rule in ((v3, "no_verdict"), (v2, "verdict_failed"), (v4, "verdict_warn")):
        j = problem(tag("model", v, None), 409, "gate_refused", "prod -> v%d" % v)
        eq(rules(j), [rule], "gate rule for v%d" % v)
        assert j["errors"][0].get("hint"), j
        assert "optreg verdicts" in j["errors"][0]["hint"], j
    assert current("model") is None, "prod was created by a refused move"
    # A tag no gate protects moves to an unjudged version as before.
    status(tag("model", v3, None, tagname="canary", reason=None), 200, "canary -> v3")


def t_gate_pass():
    v1 = W.model[0]
    r = status(tag("model", v1, None, link="https://ci.example/run/1"), 200, "prod -> v1 (pass)")
    j = r.json()
    eq(j["version"], v1, "version")
    eq(j["previous_version"], None, "previous_version")
    eq(j["gate"], {"policy": "prod-gate", "verdict": "pass", "suite": "ref-v2"}, "gate")
    eq(j["violations"], [], "violations")
    eq(current("model"), v1, "prod")


def t_yanked_refused():
    v5 = submit("model", "5.0e-4", verdict="pass")
    r = W.S.request("POST", cpath("model", "/versions/%d/yank" % v5), token=W.approver,
                    body={"reason": "bad data", "link": "https://tickets.example/7"})
    status(r, 200, "yank v5")
    j = problem(tag("model", v5, W.model[0]), 409, "yanked", "prod -> yanked v5")
    eq(rules(j), ["yanked"], "rule")
    ev = audit("version.yanked", "%s/model@%d" % (NS, v5))
    eq(ev[0]["details"].get("link"), "https://tickets.example/7", "yank link audited")


# ------------------------------------------------------------ change rules, waivers

def t_change_rule_blocks_x10():
    v10 = submit("model", "3.0e-3", verdict="pass")  # x10 of v1's 3.0e-4
    W.x10 = v10
    r = tag("model", v10, W.model[0])
    j = problem(r, 422, "policy_denied", "prod -> x10 lr")
    eq(rules(j), ["prod-gate/lr-change-on-prod"], "denial rule")
    viol = j["violations"]
    assert viol and viol[0]["effect"] == "deny" and viol[0]["path"] == "spec.lr", viol
    eq(current("model"), W.model[0], "prod did not move")
    # POST /v1/validate?tag=prod runs the same change rule; without the
    # tag it does not.
    body = json.dumps(h.doc(NS, "model", lr=0.003)).encode()
    j = problem(W.S.request("POST", "/v1/validate?tag=prod", token=W.sub, body=body), 422,
                "policy_denied", "validate x10 against prod")
    eq(rules(j), ["prod-gate/lr-change-on-prod"], "validate denial")
    status(W.S.request("POST", "/v1/validate", token=W.sub, body=body), 200,
           "validate without a tag")
    status(W.S.request("POST", "/v1/validate?tag=canary", token=W.sub, body=body), 200,
           "validate against a tag no change rule names")
    ev = audit("policy.denied", "%s/model" % NS)
    assert ev and ev[-1]["details"]["rules"][0]["rule"] == "lr-change-on-prod", ev


def iso(seconds_from_now):
    t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(
        seconds=seconds_from_now)
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def grant(expires_at, token=None, **over):
    body = {"policy": "prod-gate", "rule": "lr-change-on-prod", "namespace": NS,
            "config": "mod*", "reason": "planned lr sweep", "owner": "lead@gates",
            "expires_at": expires_at}
    body.update(over)
    return W.S.request("POST", "/v1/waivers", token=token or W.approver, body=body)


def t_waiver_lets_through_until_expiry():
    # Bad waivers first: past, too far, malformed, submitter.
    problem(grant(iso(-60)), 400, "bad_request", "expired at grant")
    problem(grant(iso(91 * 86400)), 400, "bad_request", "more than 90 days")
    j = problem(grant("tomorrow"), 400, "bad_request", "not RFC 3339")
    eq([e["path"] for e in j["errors"]], ["expires_at"], "path")
    problem(grant(iso(3600), token=W.sub), 403, "forbidden", "submitter grants")
    # A waiver that ends in a few seconds.
    r = status(grant(iso(6)), 201, "grant a short waiver")
    w = r.json()
    assert w["id"].startswith("wvr_") and len(w["id"]) == 20, w
    eq(w["created_by"], "lead@gates", "created_by")
    r = status(tag("model", W.x10, W.model[0], reason="lr sweep, waived"), 200,
               "prod -> x10 under the waiver")
    viol = r.json()["violations"]
    assert [v["effect"] for v in viol] == ["waived"], viol
    eq(viol[0]["waiver"], w["id"], "waiver id in the violation")
    # Back to v1 (x0.1: also a change the rule denies) while it is in force.
    status(tag("model", W.model[0], W.x10, reason="back"), 200, "prod -> v1 under the waiver")
    listed = status(W.S.request("GET", "/v1/waivers?namespace=" + NS, token=W.sub), 200,
                    "list waivers").json()["waivers"]
    eq([x["id"] for x in listed], [w["id"]], "active waivers")
    assert listed[0]["active"] is True, listed
    # Wait until it has expired: the same move is denied again at once.
    deadline = time.time() + 30
    while time.time() < deadline:
        r = tag("model", W.x10, W.model[0], reason="after expiry")
        if r.status != 200:
            break
        # It moved while the waiver was still in force: move back and retry.
        status(tag("model", W.model[0], W.x10, reason="back"), 200, "back to v1")
        time.sleep(1)
    j = problem(r, 422, "policy_denied", "x10 after the waiver expired")
    eq(rules(j), ["prod-gate/lr-change-on-prod"], "denied again")
    listed = W.S.request("GET", "/v1/waivers?namespace=" + NS, token=W.sub).json()["waivers"]
    eq(listed, [], "no active waiver after expiry")
    listed = W.S.request("GET", "/v1/waivers?namespace=%s&all=true" % NS,
                         token=W.sub).json()["waivers"]
    assert [x["id"] for x in listed] == [w["id"]] and listed[0]["active"] is False, listed
    ev = audit("waiver.grant", w["id"])
    eq(len(ev), 1, "waiver.grant events")


def t_waiver_revoke():
    w = status(grant(iso(3600)), 201, "grant").json()
    problem(W.S.request("DELETE", "/v1/waivers/" + w["id"], token=W.sub,
                        body={"reason": "done"}), 403, "forbidden", "submitter revokes")
    r = status(W.S.request("DELETE", "/v1/waivers/" + w["id"], token=W.approver,
                           body={"reason": "sweep finished"}), 200, "revoke")
    j = r.json()
    assert j["revoked_by"] == "lead@gates" and j["active"] is False, j
    # Revoked: the x10 move is denied again.
    problem(tag("model", W.x10, W.model[0], reason="x"), 422, "policy_denied",
            "x10 after revoke")
    ev = audit("waiver.revoke", w["id"])
    eq(len(ev), 1, "waiver.revoke events")
    eq(ev[0]["details"]["reason"], "sweep finished", "revoke reason")
    problem(W.S.request("DELETE", "/v1/waivers/wvr_0000000000000000", token=W.approver,
                        body={"reason": "x"}), 404, "not_found", "unknown waiver")


# ------------------------------------------------------------ history, rollback

def t_history_and_rollback():
    v1 = W.model[0]
    v6 = submit("model", "5.5e-4", verdict="pass")  # within x2 of 3.0e-4
    r = status(tag("model", v6, v1, reason="ship 5.5e-4", link="https://ci.example/run/6"),
               200, "prod -> v6")
    eq(r.json()["previous_version"], v1, "previous")
    h_ = status(W.S.request("GET", cpath("model", "/tags/prod/history"), token=W.sub),
                200, "history").json()
    eq(h_["tag"], "prod", "tag")
    moves = h_["moves"]
    eq(moves[0]["version"], v6, "newest move first")
    eq(moves[0]["previous_version"], v1, "its previous")
    eq(moves[0]["reason"], "ship 5.5e-4", "reason")
    eq(moves[0]["link"], "https://ci.example/run/6", "link")
    eq(moves[0]["moved_by"], "lead@gates", "moved_by")
    eq(moves[0]["rollback"], False, "rollback flag")
    eq(moves[-1]["previous_version"], None, "the first move created the tag")
    # Paging: one at a time.
    p1 = W.S.request("GET", cpath("model", "/tags/prod/history?page_size=1"), token=W.sub).json()
    eq(len(p1["moves"]), 1, "page size")
    assert p1["next_page_token"], p1
    p2 = W.S.request("GET", cpath("model", "/tags/prod/history?page_size=1&page_token=" +
                                  p1["next_page_token"]), token=W.sub).json()
    eq(p2["moves"][0], moves[1], "second page")
    # Rollback: needs a reason (gated), a submitter is refused, then it works.
    path = cpath("model", "/tags/prod/rollback")
    problem(W.S.request("POST", path, token=W.approver, body={}), 400, "bad_request",
            "rollback without reason")
    problem(W.S.request("POST", path, token=W.sub, body={"reason": "x"}), 403, "forbidden",
            "rollback by a submitter")
    r = status(W.S.request("POST", path, token=W.approver,
                           body={"reason": "v6 regressed", "link": "https://inc.example/1"}),
               200, "rollback")
    j = r.json()
    eq((j["version"], j["previous_version"], j["rollback"]), (v1, v6, True), "rolled back")
    eq(current("model"), v1, "prod after rollback")
    ev = audit("tag.moved", "%s/model@prod" % NS)
    last = ev[-1]["details"]
    eq((last["from"], last["to"], last["rollback"], last["reason"]),
       (v6, v1, True, "v6 regressed"), "rollback audit event")
    eq(last["gate"]["verdict"], "pass", "gate in the audit event")
    moves = W.S.request("GET", cpath("model", "/tags/prod/history"), token=W.sub).json()["moves"]
    eq((moves[0]["version"], moves[0]["rollback"]), (v1, True), "rollback in history")
    # A tag created once has nothing to roll back to.
    j = problem(W.S.request("POST", cpath("model", "/tags/canary/rollback"), token=W.approver,
                            body={"reason": "x"}), 409, "conflict", "canary rollback")
    eq(rules(j), ["no_previous"], "rule")
    # A tag that does not exist is not found, not "no previous".
    problem(W.S.request("POST", cpath("model", "/tags/nope/rollback"), token=W.approver,
                        body={"reason": "x"}), 404, "not_found", "rollback of no tag")
    # A PUT to the version the tag already points at is not a move: 200,
    # but no tag.moved event, no history row, the tag's row untouched.
    at = current("model", "canary")
    before = W.S.request("GET", cpath("model", "/tags/canary"), token=W.approver).json()
    events = len(audit("tag.moved", "%s/model@canary" % NS))
    hist = len(W.S.request("GET", cpath("model", "/tags/canary/history"),
                           token=W.sub).json()["moves"])
    status(tag("model", at, at, tagname="canary", reason="again"), 200, "canary -> where it is")
    eq(len(audit("tag.moved", "%s/model@canary" % NS)), events, "tag.moved events")
    eq(len(W.S.request("GET", cpath("model", "/tags/canary/history"),
                       token=W.sub).json()["moves"]), hist, "history rows")
    after = W.S.request("GET", cpath("model", "/tags/canary"), token=W.approver).json()
    eq((after.get("updated_at"), after.get("updated_by")),
       (before.get("updated_at"), before.get("updated_by")), "the tag's row")


def t_rollback_is_gated():
    # prod on a fresh config: v1 pass, then v2 pass; v1 is yanked, so a
    # rollback to it is refused like any move.
    a = submit("other", "1.0e-4", verdict="pass")
    b = submit("other", "1.5e-4", verdict="pass")
    status(tag("other", a, None), 200, "prod -> a")
    status(tag("other", b, a), 200, "prod -> b")
    status(W.S.request("POST", cpath("other", "/versions/%d/yank" % a), token=W.approver,
                       body={"reason": "leaked"}), 200, "yank a")
    problem(W.S.request("POST", cpath("other", "/tags/prod/rollback"), token=W.approver,
                        body={"reason": "back"}), 409, "yanked", "rollback to a yanked version")
    eq(current("other"), b, "prod stays")


# ------------------------------------------------------------ reasons

def t_submit_message_and_link():
    v = submit("noted", "2.0e-4", message="retune after data refresh",
               link="https://ci.example/run/42")
    doc = status(W.S.request("GET", cpath("noted", "/versions/%d" % v), token=W.sub), 200,
                 "get version").json()
    eq((doc["message"], doc["link"]), ("retune after data refresh", "https://ci.example/run/42"),
       "message and link")
    lst = W.S.request("GET", cpath("noted", "/versions"), token=W.sub).json()["versions"]
    eq(lst[0]["message"], "retune after data refresh", "message in the list")
    ev = audit("version.created", "%s/noted@%d" % (NS, v))
    eq(ev[0]["details"].get("message"), "retune after data refresh", "message audited")
    eq(ev[0]["details"].get("link"), "https://ci.example/run/42", "link audited")
    # Malformed wrapper fields are 400 naming the field.
    env = h.envelope(W.configs.yaml(NS, "noted", lr="2.5e-4"), [W.ci])
    r = W.S.request("POST", cpath("noted", "/versions"), token=W.sub,
                    body={"envelope": env, "message": "", "extra": 1})
    j = problem(r, 400, "bad_request", "bad wrapper")
    eq(sorted(e["path"] for e in j["errors"]), ["extra", "message"], "paths")


# ------------------------------------------------------------ review fixes

OTHER_NS = "elsewhere"


def t_validate_needs_reader_on_the_namespace():
    # A token for another namespace cannot validate against this one's
    # prod (that would read its tag, policies and waivers).
    outsider, _ = R.token("reader@elsewhere", "reader", namespace=OTHER_NS)
    body = json.dumps(h.doc(NS, "model", lr=0.003)).encode()
    problem(W.S.request("POST", "/v1/validate?tag=prod", token=outsider, body=body), 403,
            "forbidden", "validate against another namespace's prod")
    problem(W.S.request("POST", "/v1/validate", token=outsider, body=body), 403,
            "forbidden", "validate against another namespace's policies")
    mine = json.dumps(h.doc(OTHER_NS, "model", lr=0.003)).encode()
    status(W.S.request("POST", "/v1/validate?tag=prod", token=outsider, body=mine), 200,
           "validate in its own namespace")


def t_waived_move_audited_and_rollback_after_expiry():
    v1 = submit("wmodel", "3.0e-4", verdict="pass")
    status(tag("wmodel", v1, None), 200, "prod -> v1")
    v2 = submit("wmodel", "3.0e-3", verdict="pass")  # x10
    w = status(grant(iso(5), config="wmodel"), 201, "grant a short waiver").json()
    r = status(tag("wmodel", v2, v1, reason="sweep, waived"), 200, "prod -> x10, waived")
    eq([v["effect"] for v in r.json()["violations"]], ["waived"], "waived")
    ev = audit("tag.moved", "%s/wmodel@prod" % NS)
    pol = ev[-1]["details"].get("policy")
    assert pol, ev[-1]
    eq(pol["waived"], 1, "waived count in the event")
    eq(pol["omitted"], 0, "nothing omitted")
    eq([(v["rule"], v["effect"], v.get("waiver")) for v in pol["violations"]],
       [("lr-change-on-prod", "waived", w["id"])], "the waiver id in tag.moved")
    # Once the waiver has expired, a rollback (x0.1, a change the rule
    # denies) still goes through: it returns to what prod held before.
    deadline = time.time() + 30
    while time.time() < deadline:
        listed = W.S.request("GET", "/v1/waivers?namespace=" + NS, token=W.sub).json()
        if w["id"] not in [x["id"] for x in listed["waivers"]]:
            break
        time.sleep(0.5)
    problem(tag("wmodel", v1, v2, reason="by hand"), 422, "policy_denied",
            "the same move by hand is denied")
    r = status(W.S.request("POST", cpath("wmodel", "/tags/prod/rollback"), token=W.approver,
                           body={"reason": "sweep over"}), 200, "rollback after expiry")
    eq(current("wmodel"), v1, "prod back on v1")
    ev = audit("tag.moved", "%s/wmodel@prod" % NS)
    assert ev[-1]["details"].get("rollback") is True, ev[-1]


def t_waiver_and_history_negatives():
    # An approver of gates cannot grant or revoke a waiver in elsewhere.
    problem(grant(iso(3600), namespace=OTHER_NS), 403, "forbidden",
            "approver of gates grants in elsewhere")
    theirs = status(grant(iso(3600), token=W.admin, namespace=OTHER_NS), 201,
                    "admin grants in elsewhere").json()
    problem(W.S.request("DELETE", "/v1/waivers/" + theirs["id"], token=W.approver,
                        body={"reason": "x"}), 403, "forbidden",
            "approver of gates revokes in elsewhere")
    # Listing without a namespace shows only the token's namespaces.
    mine = W.S.request("GET", "/v1/waivers?all=true", token=W.approver).json()["waivers"]
    assert mine and all(x["namespace"] == NS for x in mine), mine
    assert theirs["id"] not in [x["id"] for x in mine], mine
    # Tag history needs reader on the namespace.
    outsider, _ = R.token("reader2@elsewhere", "reader", namespace=OTHER_NS)
    problem(W.S.request("GET", cpath("model", "/tags/prod/history"), token=outsider), 403,
            "forbidden", "history without reader")


def t_waivers_paged():
    ids = [status(grant(iso(3600), token=W.admin, namespace=OTHER_NS,
                        config="p%d" % i), 201, "grant %d" % i).json()["id"]
           for i in range(3)]
    seen, token, pages = [], None, 0
    while True:
        q = "/v1/waivers?namespace=%s&all=true&page_size=2" % OTHER_NS
        if token:
            q += "&page_token=" + token
        j = status(W.S.request("GET", q, token=W.admin), 200, "page").json()
        pages += 1
        assert len(j["waivers"]) <= 2, j
        assert all("page_key" not in x for x in j["waivers"]), j
        seen += j["waivers"]
        token = j["next_page_token"]
        if not token:
            break
    listed = [x["id"] for x in seen]
    eq(len(listed), len(set(listed)), "no waiver twice")
    for i in ids:
        assert i in listed, (i, listed)
    assert pages >= 2, pages
    created = [x["created_at"] for x in seen]
    eq(created, sorted(created, reverse=True), "newest first")
    problem(W.S.request("GET", "/v1/waivers?page_token=bogus", token=W.admin), 400,
            "bad_request", "a bad page token")


def t_yank_and_move_serialize():
    # A yank in flight holds the version's row; a move of canary to it
    # waits for it and then sees the yank (409), never landing on it.
    v = submit("racy", "2.0e-4", verdict=None)
    sql = ("SELECT status FROM yank_version('%s', 'racy', %d, 'race', 'dba');"
           " SELECT pg_sleep(1.2);" % (NS, v))
    p = subprocess.Popen(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-1", "-A", "-t",
                          "-d", R.conninfo, "-c", sql], env=R.env(),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(0.4)
    r = tag("racy", v, None, reason="canary", tagname="canary")
    p.communicate(timeout=30)
    eq(p.returncode, 0, "the yank committed")
    problem(r, 409, "yanked", "move to a version being yanked")
    r = W.S.request("GET", cpath("racy", "/tags/canary"), token=W.approver)
    eq(r.status, 404, "canary was not set")


def t_app_role_cannot_rewrite_history():
    got = {}
    rows = R.psql(
        "SELECT t, p, has_table_privilege('optreg_app', t, p) FROM "
        "unnest(ARRAY['policies','policy_versions','tag_moves']) t, "
        "unnest(ARRAY['INSERT','UPDATE','DELETE','TRUNCATE']) p").stdout
    for line in rows.strip().splitlines():
        t, p, v = line.split("|")
        got[(t, p)] = v == "t"
    for t in ("policies", "policy_versions", "tag_moves"):
        for p in ("UPDATE", "DELETE", "TRUNCATE"):
            eq(got[(t, p)], False, "optreg_app %s on %s" % (p, t))
    eq(got[("tag_moves", "INSERT")], False, "optreg_app INSERT on tag_moves (move_tag writes)")
    for sql in ("UPDATE policies SET current_version = current_version + 1",
                "UPDATE policy_versions SET message = 'x'", "DELETE FROM policy_versions",
                "UPDATE tag_moves SET reason = 'x'", "DELETE FROM tag_moves",
                "INSERT INTO tag_moves (config_id, tag, version, moved_by)"
                " SELECT config_id, 'prod', 1, 'x' FROM tag_moves LIMIT 1"):
        p = R.psql("SET ROLE optreg_app; " + sql, check=False)
        assert p.returncode != 0, "optreg_app could: " + sql
        assert "permission denied" in p.stderr, "%s: %s" % (sql, p.stderr)
    # move_tag runs as its owner, so only optreg_app may call it: a role
    # outside it cannot write tags or history through it.
    R.psql("DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'outsider')"
           " THEN CREATE ROLE outsider; END IF; END $$")
    p = R.psql("SET ROLE outsider; SELECT * FROM move_tag('x', 'y', 'prod', 1, NULL,"
               " 'x', NULL, NULL, false)", check=False)
    assert p.returncode != 0 and "permission denied" in p.stderr, p.stderr
    eq(R.psql("SELECT has_function_privilege('optreg_app', 'move_tag(text, text, text,"
              " integer, integer, text, text, text, boolean)', 'EXECUTE')").stdout.strip(),
       "t", "optreg_app may call move_tag")
    # Even the owner cannot skip a policy version: the head moves by one.
    p = R.psql("INSERT INTO policy_versions (name, version, message, created_by, deleted)"
               " SELECT name, current_version + 2, 'skip', 'dba', true FROM policies"
               " WHERE name = 'prod-gate'", check=False)
    assert p.returncode != 0 and "head" in p.stderr, p.stderr
    # Every move of model's prod is in its history, and only those.
    n = int(R.psql("SELECT count(*) FROM tag_moves m JOIN configs c ON c.id = m.config_id"
                   " WHERE c.name = 'model' AND m.tag = 'prod'").stdout)
    ev = audit("tag.moved", "%s/model@prod" % NS)
    eq(n, len(ev), "one tag_moves row per tag.moved event")


def main():
    try:
        setup()
    except Exception as e:  # noqa: BLE001
        tap.fail("harness: cluster, server, keys, policy", [repr(e)] + R.logs())
        R.cleanup()
        return tap.finish()
    try:
        tap.run("prod refuses a submitter, a missing reason, and unjudged, failed and warn "
                "versions (gate_refused with the rule and a hint)", t_gate_refusals)
        tap.run("prod moves to a passing version; the answer names the gate", t_gate_pass)
        tap.run("prod cannot move to a yanked version; yank takes a link", t_yanked_refused)
        tap.run("a change rule blocks an x10 lr change on prod (policy_denied, audited)",
                t_change_rule_blocks_x10)
        tap.run("a waiver lets the x10 change through until it expires, then it is denied",
                t_waiver_lets_through_until_expiry)
        tap.run("a revoked waiver stops applying; grant and revoke are audited",
                t_waiver_revoke)
        tap.run("tag history (newest first, paged) and rollback (gated, audited)",
                t_history_and_rollback)
        tap.run("a rollback to a yanked version is refused like any move", t_rollback_is_gated)
        tap.run("submit carries a message and a link, stored, listed and audited",
                t_submit_message_and_link)
        tap.run("validate needs reader on the config's namespace (403 otherwise)",
                t_validate_needs_reader_on_the_namespace)
        tap.run("a waived move's tag.moved names the waiver; rollback after expiry succeeds",
                t_waived_move_audited_and_rollback_after_expiry)
        tap.run("waivers and history refuse other namespaces' tokens",
                t_waiver_and_history_negatives)
        tap.run("GET /v1/waivers pages by page_size and page_token", t_waivers_paged)
        tap.run("a move waits for a yank in flight and is refused (409 yanked)",
                t_yank_and_move_serialize)
        tap.run("optreg_app cannot rewrite policies, policy versions or tag moves",
                t_app_role_cannot_rewrite_history)
    finally:
        R.cleanup()
    return tap.finish()


if __name__ == "__main__":
    sys.exit(main())
