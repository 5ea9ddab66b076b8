#!/usr/bin/python3
"""tests/e2e/api_snapshot_test.py: the registry's HTTP answers, route by
route, compared with a checked-in snapshot (tests/e2e/api_snapshot.json).

It guards refactors that must not change behaviour: every route of
registry/handlers.c (and /healthz, /metrics and an unknown path) is called
with a success case and each error case that can be reached from outside
(no token, bad token, wrong role, unknown thing, wrong method, malformed
body, wrong media type, bad envelope, not canonical, invalid config, name
mismatch, refused signatures, compare-and-set conflicts, yanked targets,
too large bodies, bad path and query parameters, lease and verdict errors).
For each case, keyed "METHOD ROUTE | case", it records

    {"status": HTTP status,
     "code":   the problem's `code`, or "-" when the body is not a problem,
     "keys":   the sorted top-level keys of a JSON object body, else null}

and each case is one TAP test comparing that with the snapshot. One last
test checks that the snapshot lists no case the run did not make.

The cases run in order on one fresh registry and build on each other's
data (keys, versions, tags, jobs), so the answers are deterministic.

Regenerate the snapshot (after a change that is meant to change the API,
and only then) with

    OPTREG_SNAPSHOT_UPDATE=1 OPTREG_TEST_FILTER=api_snapshot make test

which runs every case, writes tests/e2e/api_snapshot.json and passes;
review its diff before committing it.

usage: tests/e2e/api_snapshot_test.py     (from the repository root, as
                                           scripts/run-tests does)
env:   BIN   folder with optreg and optreg-server (default "bin")
       OPTREG_SNAPSHOT_UPDATE=1   write the snapshot instead of comparing
       OPTREG_E2E_KEEP=1          keep the temporary directory
"""

import binascii
import json
import os
import random
import sys
import time
import traceback

sys.dont_write_bytecode = True  # no __pycache__ in the working tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import (  # noqa: E402
    PAYLOAD_TYPE, Configs, Registry, Signer, Tap, digest_of, doc, envelope)

SNAPSHOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "api_snapshot.json")
UPDATE = os.environ.get("OPTREG_SNAPSHOT_UPDATE") == "1"
VERDICT_TYPE = "application/vnd.optreg.verdict.v1+json"
A, B, C3 = "team-a", "team-b", "team-c"
ZERO = "sha256:" + "0" * 64

tap = Tap()


class World:
    pass


W = World()
B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def fake_token():
    """A well-formed token (valid checksum) the server never issued."""
    rnd = random.Random(7)
    body = "".join(rnd.choice(B62) for _ in range(43))
    crc = binascii.crc32(body.encode())
    sum62 = ""
    for _ in range(6):
        sum62 = B62[crc % 62] + sum62
        crc //= 62
    return "optreg_%s_%s" % (body, sum62)


def canon(value):
    """RFC 8785 form of a value made of ASCII strings, integers, lists and
    objects (no floats): sorted keys, no whitespace."""
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def setup():
    W.reg = Registry().start()
    W.cfg = Configs(W.reg.tmp)
    t = W.reg.token
    W.admin, _ = t("admin@ops", "admin")
    W.reader_a, _ = t("reader@team-a", "reader", A)
    W.sub_a, _ = t("ci@team-a", "submitter", A)
    W.appr_a, _ = t("lead@team-a", "approver", A)
    W.sub_b, _ = t("ci@team-b", "submitter", B)
    W.runner, _ = t("runner@ops", "runner", "*")
    W.runner_empty, _ = t("runner@empty", "runner", "team-empty")
    W.auditor, _ = t("auditor@ops", "auditor", "*")
    W.expiring, _ = t("short@team-a", "reader", A, expires_in=1)
    W.unused, _ = t("unused@team-a", "reader", A)  # first used when PostgreSQL is down
    W.unknown = fake_token()
    W.A = W.reg.server(name="A")
    W.C = W.reg.server("--anonymous-read", "--max-body", "2048", name="C")
    W.key = Signer(W.reg.tmp, "ci")        # allowed everywhere
    W.key_b = Signer(W.reg.tmp, "only-b")  # allowed for team-b only
    W.key_r = Signer(W.reg.tmp, "revoked")  # registered, then revoked
    W.key_u = Signer(W.reg.tmp, "unknown")  # never registered
    W.key_v = Signer(W.reg.tmp, "runner")  # signs verdicts, everywhere
    W.p1 = W.cfg.yaml(A, "snap", lr="1.0e-4")
    W.p2 = W.cfg.yaml(A, "snap", lr="2.0e-4")
    W.p3 = W.cfg.yaml(A, "snap", lr="3.0e-4")
    W.p_c = W.cfg.yaml(C3, "snap")
    W.p_other = W.cfg.yaml(A, "other-name")
    W.p_other_ns = W.cfg.yaml("team-z", "snap")
    W.p_invalid = W.cfg.json_doc(doc(A, "snap", betas=[0.9, 1]))
    W.p_big = W.cfg.yaml(A, "big", description="x" * 1000)
    W.d1 = digest_of(W.p1)
    W.job = None
    W.token_id = None
    W.waiver_id = "wvr_ffffffffffffffff"


# ---------------------------------------------------------------- requests

def req(method, path, token=None, srv=None, **kw):
    return (srv or W.A).request(method, path, token=token, **kw)


def cpath(ns=A, name="snap", rest=""):
    return "/v1/configs/%s/%s%s" % (ns, name, rest)


def submit(token, payload=None, signers=None, body=None, ns=A, name="snap", **kw):
    if body is None:
        body = envelope(payload, (W.key,) if signers is None else signers)
    return req("POST", cpath(ns, name, "/versions"), token, body=body, **kw)


def not_canonical():
    obj = json.loads(W.p3)
    return json.dumps(obj, indent=2).encode()


def sig_of(signer, payload, payload_type=PAYLOAD_TYPE):
    return signer.signature(payload_type, payload)


def put_tag(token, tag, version, expected, name="snap", **kw):
    return req("PUT", cpath(A, name, "/tags/" + tag), token,
               body={"version": version, "expected_version": expected}, **kw)


def yank(token, version, body=None, **kw):
    return req("POST", cpath(A, "snap", "/versions/%s/yank" % version), token,
               body={"reason": "broken"} if body is None else body, **kw)


def lease(token, body=None, **kw):
    return req("POST", "/v1/jobs/lease", token, body={} if body is None else body, **kw)


def job():
    """The job leased by the "lease: ok" case."""
    if W.job is None:
        raise AssertionError("no job was leased by an earlier case")
    return W.job


def heartbeat(token, body=None, job_id=None, **kw):
    j = job()
    if body is None:
        body = {"lease_token": j["lease_token"], "lease_seconds": 300}
    return req("POST", "/v1/jobs/%s/heartbeat" % (job_id or j["id"]), token, body=body, **kw)


def verdict_payload(**over):
    j = job()
    v = {"job_id": j["id"], "config_digest": j["digest"], "suite": j["suite"],
         "suite_digest": ZERO, "result": "pass"}
    v.update(over)
    return canon(v)


def verdict(token, payload=None, signers=None, lease_token=None, job_id=None,
            payload_type=VERDICT_TYPE, body=None, **kw):
    j = job()
    if body is None:
        body = envelope(verdict_payload() if payload is None else payload,
                        (W.key_v,) if signers is None else signers, payload_type)
    hdrs = {"X-Optreg-Lease-Token": j["lease_token"] if lease_token is None else lease_token}
    return req("POST", "/v1/jobs/%s/verdict" % (job_id or j["id"]), token,
               body=body, headers=hdrs, **kw)


def keep_job(r):
    if r.status == 200:
        W.job = r.json()["job"]
    return r


def keep_token_id(r):
    if r.status == 201:
        W.token_id = r.json()["id"]
        W.api_token = r.json()["token"]
    return r


def add_key(token, signer, namespaces, principal="ci@ops", purpose=None, **kw):
    body = {"public_key": signer.public_pem, "principal": principal,
            "namespaces": namespaces}
    if purpose:
        body["purpose"] = purpose
    return req("POST", "/v1/keys", token, body=body, **kw)


def next_page():
    r = req("GET", "/v1/configs?page_size=1", W.admin)
    tok = r.json().get("next_page_token")
    if not tok:
        raise AssertionError("GET /v1/configs?page_size=1 gave no next_page_token:\n" + r.describe())
    return tok


def halted():
    W.reg.cluster.halt()
    return True


def later_expired():
    time.sleep(max(0, W.expiring_at - time.time()))
    return req("GET", "/v1/keys", W.expiring)


# ---------------------------------------------------------------- cases

ROOT_V = "/v1/configs/{ns}/{name}/versions"
VER = ROOT_V + "/{n}"
YANK = VER + "/yank"
VERDICTS = VER + "/verdicts"
TAGS = "/v1/configs/{ns}/{name}/tags"
TAG = TAGS + "/{tag}"
KEY = "/v1/keys/{keyid}"
REVOKE = KEY + "/revoke"
NS = "/v1/namespaces/{ns}"
HB = "/v1/jobs/{id}/heartbeat"
VD = "/v1/jobs/{id}/verdict"
TOK = "/v1/tokens/{id}"
HIST = TAG + "/history"
RB = TAG + "/rollback"
POL = "/v1/policies/{name}"
EVAL = POL + "/evaluate"
WVR = "/v1/waivers/{id}"

POLICY = """apiVersion: optreg/v1
kind: Policy
name: snap-policy
namespaces: ["team-p"]
rules:
  - id: lr-cap
    severity: deny
    field: spec.lr
    at_most: 0.1
    message: lr above 0.1 diverges
gates:
  - tags: [prod]
"""


def keep_waiver(r):
    if r.status == 201:
        W.waiver_id = r.json()["id"]
    return r


def waiver_body(**over):
    t = time.gmtime(time.time() + 3600)
    body = {"policy": "snap-policy", "rule": "lr-cap", "namespace": A, "config": "snap*",
            "reason": "snapshot", "owner": "lead@team-a",
            "expires_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", t)}
    body.update(over)
    return body


def cases():
    """(method, route, case, thunk) in the order they run."""
    k = lambda: W.key.keyid  # noqa: E731
    return [
        # operations
        ("GET", "/healthz", "ok", lambda: req("GET", "/healthz")),
        ("POST", "/healthz", "wrong method", lambda: req("POST", "/healthz", body={})),
        ("GET", "/metrics", "ok", lambda: req("GET", "/metrics")),
        ("GET", "/readyz", "ok", lambda: req("GET", "/readyz")),
        ("POST", "/readyz", "wrong method", lambda: req("POST", "/readyz", body={})),
        ("GET", "(none)", "unknown path", lambda: req("GET", "/v1/nope", W.admin)),
        ("GET", "/", "redirect to the page", lambda: req("GET", "/", W.admin)),
        ("GET", "/ui", "redirect", lambda: req("GET", "/ui")),
        ("GET", "/ui/", "ok without token", lambda: req("GET", "/ui/")),
        ("GET", "/ui/{file}", "ok without token", lambda: req("GET", "/ui/app.js")),
        ("GET", "/ui/{file}", "unknown file", lambda: req("GET", "/ui/nope.js")),
        ("POST", "/ui/", "wrong method", lambda: req("POST", "/ui/", body={})),
        ("GET", "(none)", "extra segment", lambda: req("GET", cpath(rest="/versions/1/extra"), W.admin)),
        ("GET", "/v1/registry/keys", "ok without token", lambda: req("GET", "/v1/registry/keys")),
        ("POST", "/v1/registry/keys", "wrong method", lambda: req("POST", "/v1/registry/keys", W.admin, body={})),

        # audit checkpoint before any was signed
        ("GET", "/v1/audit/checkpoint", "none yet", lambda: req("GET", "/v1/audit/checkpoint", W.auditor)),

        # keys
        ("POST", "/v1/keys", "no token", lambda: add_key(None, W.key, ["*"])),
        ("POST", "/v1/keys", "unknown token", lambda: add_key(W.unknown, W.key, ["*"])),
        ("POST", "/v1/keys", "malformed token", lambda: add_key("optreg_nope", W.key, ["*"])),
        ("POST", "/v1/keys", "submitter not admin", lambda: add_key(W.sub_a, W.key, ["*"])),
        ("POST", "/v1/keys", "malformed JSON", lambda: req("POST", "/v1/keys", W.admin, body=b'{"public_key": ')),
        ("POST", "/v1/keys", "text/plain body", lambda: add_key(W.admin, W.key, ["*"], content_type="text/plain")),
        ("POST", "/v1/keys", "not a PEM key", lambda: req("POST", "/v1/keys", W.admin, body={
            "public_key": "nope", "principal": "x", "namespaces": ["*"]})),
        ("POST", "/v1/keys", "unknown field", lambda: req("POST", "/v1/keys", W.admin, body={
            "public_key": W.key.public_pem, "principal": "x", "namespaces": ["*"], "extra": 1})),
        ("POST", "/v1/keys", "bad namespace pattern", lambda: add_key(W.admin, W.key, ["Team_A"])),
        ("POST", "/v1/keys", "no Content-Type", lambda: add_key(W.admin, W.key, ["*"], content_type=None)),
        ("POST", "/v1/keys", "principal with a control character", lambda: add_key(W.admin, W.key, ["*"], principal="a\nb")),
        ("POST", "/v1/keys", "unknown purpose", lambda: add_key(W.admin, W.key, ["*"], purpose="both")),
        ("POST", "/v1/keys", "ok", lambda: add_key(W.admin, W.key, ["*"])),
        ("POST", "/v1/keys", "same key again", lambda: add_key(W.admin, W.key, ["*"])),
        ("POST", "/v1/keys", "ok, one namespace", lambda: add_key(W.admin, W.key_b, [B])),
        ("POST", "/v1/keys", "ok, key to revoke", lambda: add_key(W.admin, W.key_r, ["*"], principal="old@ops")),
        ("POST", "/v1/keys", "ok, verdict key", lambda: add_key(W.admin, W.key_v, ["*"], principal="runner@ops", purpose="verdict")),
        ("DELETE", "/v1/keys", "wrong method", lambda: req("DELETE", "/v1/keys", W.admin)),
        ("GET", "/v1/keys", "ok", lambda: req("GET", "/v1/keys", W.reader_a)),
        ("GET", "/v1/keys", "principal filter", lambda: req("GET", "/v1/keys?principal=old@ops", W.reader_a)),
        ("GET", "/v1/keys", "no token", lambda: req("GET", "/v1/keys")),
        ("GET", "/v1/keys", "anonymous read allowed", lambda: req("GET", "/v1/keys", srv=W.C)),
        ("GET", "/v1/keys", "expired token", lambda: later_expired()),
        ("GET", KEY, "ok", lambda: req("GET", "/v1/keys/" + k(), W.reader_a)),
        ("GET", KEY, "unknown key", lambda: req("GET", "/v1/keys/" + "a" * 64, W.reader_a)),
        ("GET", KEY, "malformed key id", lambda: req("GET", "/v1/keys/xyz", W.reader_a)),
        ("GET", KEY, "no token", lambda: req("GET", "/v1/keys/" + k())),
        ("DELETE", KEY, "wrong method", lambda: req("DELETE", "/v1/keys/" + k(), W.admin)),
        ("POST", REVOKE, "no token", lambda: req("POST", "/v1/keys/%s/revoke" % W.key_r.keyid, body={})),
        ("POST", REVOKE, "approver not admin", lambda: req("POST", "/v1/keys/%s/revoke" % W.key_r.keyid, W.appr_a, body={})),
        ("POST", REVOKE, "unknown key", lambda: req("POST", "/v1/keys/%s/revoke" % ("b" * 64), W.admin, body={})),
        ("POST", REVOKE, "ok", lambda: req("POST", "/v1/keys/%s/revoke" % W.key_r.keyid, W.admin, body={})),
        ("POST", REVOKE, "again", lambda: req("POST", "/v1/keys/%s/revoke" % W.key_r.keyid, W.admin, body={})),
        ("GET", REVOKE, "wrong method", lambda: req("GET", "/v1/keys/%s/revoke" % W.key_r.keyid, W.admin)),

        # namespace settings
        ("GET", NS, "ok, default", lambda: req("GET", "/v1/namespaces/" + A, W.reader_a)),
        ("GET", NS, "bad name", lambda: req("GET", "/v1/namespaces/Team_A", W.reader_a)),
        ("GET", NS, "no token", lambda: req("GET", "/v1/namespaces/" + A)),
        ("GET", NS, "reader of another namespace", lambda: req("GET", "/v1/namespaces/" + B, W.reader_a)),
        ("PUT", NS, "no token", lambda: req("PUT", "/v1/namespaces/" + C3, body={"signature_threshold": 2})),
        ("PUT", NS, "submitter not admin", lambda: req("PUT", "/v1/namespaces/" + A, W.sub_a, body={"signature_threshold": 2})),
        ("PUT", NS, "bad name", lambda: req("PUT", "/v1/namespaces/Team_C", W.admin, body={"signature_threshold": 2})),
        ("PUT", NS, "threshold 0", lambda: req("PUT", "/v1/namespaces/" + C3, W.admin, body={"signature_threshold": 0})),
        ("PUT", NS, "threshold 17", lambda: req("PUT", "/v1/namespaces/" + C3, W.admin, body={"signature_threshold": 17})),
        ("PUT", NS, "unknown field", lambda: req("PUT", "/v1/namespaces/" + C3, W.admin, body={"signature_threshold": 2, "x": 1})),
        ("PUT", NS, "malformed JSON", lambda: req("PUT", "/v1/namespaces/" + C3, W.admin, body=b"{")),
        ("PUT", NS, "text/plain body", lambda: req("PUT", "/v1/namespaces/" + C3, W.admin, body={"signature_threshold": 2}, content_type="text/plain")),
        ("PUT", NS, "ok", lambda: req("PUT", "/v1/namespaces/" + C3, W.admin, body={"signature_threshold": 2})),
        ("DELETE", NS, "wrong method", lambda: req("DELETE", "/v1/namespaces/" + C3, W.admin)),

        # submit
        ("POST", ROOT_V, "no token", lambda: submit(None, W.p1)),
        ("POST", ROOT_V, "unknown token", lambda: submit(W.unknown, W.p1)),
        ("POST", ROOT_V, "reader", lambda: submit(W.reader_a, W.p1)),
        ("POST", ROOT_V, "submitter of another namespace", lambda: submit(W.sub_b, W.p1)),
        ("POST", ROOT_V, "anonymous on an anonymous-read server", lambda: submit(None, W.p1, srv=W.C)),
        ("POST", ROOT_V, "bad namespace in path", lambda: submit(W.admin, W.p1, ns="Team_A")),
        ("POST", ROOT_V, "bad name in path", lambda: submit(W.admin, W.p1, name="-snap")),
        ("POST", ROOT_V, "text/plain body", lambda: submit(W.sub_a, W.p1, content_type="text/plain")),
        ("POST", ROOT_V, "malformed JSON", lambda: submit(W.sub_a, body=b'{"payloadType": ')),
        ("POST", ROOT_V, "array body", lambda: submit(W.sub_a, body=[envelope(W.p1, (W.key,))])),
        ("POST", ROOT_V, "no payload", lambda: submit(W.sub_a, body={"payloadType": PAYLOAD_TYPE, "signatures": []})),
        ("POST", ROOT_V, "payload not base64", lambda: submit(W.sub_a, body=dict(envelope(W.p1, (W.key,)), payload="!!not base64!!"))),
        ("POST", ROOT_V, "wrong payloadType", lambda: submit(W.sub_a, body=envelope(W.p1, (W.key,), "application/json"))),
        ("POST", ROOT_V, "signatures not an array", lambda: submit(W.sub_a, body=dict(envelope(W.p1, (W.key,)), signatures={}))),
        ("POST", ROOT_V, "payload not JSON", lambda: submit(W.sub_a, b'{"a":')),
        ("POST", ROOT_V, "payload an array", lambda: submit(W.sub_a, b"[1,2]")),
        ("POST", ROOT_V, "not canonical", lambda: submit(W.sub_a, not_canonical())),
        ("POST", ROOT_V, "invalid config", lambda: submit(W.sub_a, W.p_invalid)),
        ("POST", ROOT_V, "name mismatch", lambda: submit(W.sub_a, W.p_other)),
        ("POST", ROOT_V, "namespace mismatch", lambda: submit(W.admin, W.p_other_ns)),
        ("POST", ROOT_V, "unsigned", lambda: submit(W.sub_a, W.p1, signers=())),
        ("POST", ROOT_V, "unknown key", lambda: submit(W.sub_a, W.p1, signers=(W.key_u,))),
        ("POST", ROOT_V, "revoked key", lambda: submit(W.sub_a, W.p1, signers=(W.key_r,))),
        ("POST", ROOT_V, "key not allowed", lambda: submit(W.sub_a, W.p1, signers=(W.key_b,))),
        ("POST", ROOT_V, "bad signature", lambda: submit(W.sub_a, W.p1, signers=(
            {"keyid": W.key.keyid, "sig": sig_of(W.key, W.p2)["sig"]},))),
        ("POST", ROOT_V, "below threshold", lambda: submit(W.admin, W.p_c, ns=C3)),
        ("POST", ROOT_V, "too large", lambda: req("POST", cpath(A, "big", "/versions"), W.sub_a, srv=W.C,
                                                  body=json.dumps(envelope(W.p_big, (W.key,))).encode() + b" " * 1000)),
        ("POST", ROOT_V, "ok", lambda: submit(W.sub_a, W.p1)),
        ("POST", ROOT_V, "identical content", lambda: submit(W.sub_a, W.p1)),
        ("POST", ROOT_V, "ok, second version", lambda: submit(W.sub_a, W.p2)),
        ("POST", ROOT_V, "ok, two signers with one bad", lambda: submit(W.sub_a, W.p3, signers=(W.key, W.key_u))),
        ("POST", ROOT_V, "ok, another config", lambda: submit(W.sub_a, W.p_other, name="other-name")),
        ("DELETE", ROOT_V, "wrong method", lambda: req("DELETE", cpath(rest="/versions"), W.admin)),

        # list versions
        ("GET", ROOT_V, "ok", lambda: req("GET", cpath(rest="/versions"), W.reader_a)),
        ("GET", ROOT_V, "page_size=1", lambda: req("GET", cpath(rest="/versions?page_size=1"), W.reader_a)),
        ("GET", ROOT_V, "page_size=0", lambda: req("GET", cpath(rest="/versions?page_size=0"), W.reader_a)),
        ("GET", ROOT_V, "page_size=101", lambda: req("GET", cpath(rest="/versions?page_size=101"), W.reader_a)),
        ("GET", ROOT_V, "page_size not a number", lambda: req("GET", cpath(rest="/versions?page_size=abc"), W.reader_a)),
        ("GET", ROOT_V, "bad page_token", lambda: req("GET", cpath(rest="/versions?page_token=zzz"), W.reader_a)),
        ("GET", ROOT_V, "unknown config", lambda: req("GET", cpath(name="nosuch", rest="/versions"), W.reader_a)),
        ("GET", ROOT_V, "bad namespace", lambda: req("GET", cpath(ns="Team_A", rest="/versions"), W.reader_a)),
        ("GET", ROOT_V, "no token", lambda: req("GET", cpath(rest="/versions"))),
        ("GET", ROOT_V, "anonymous on an anonymous-read server", lambda: req("GET", cpath(rest="/versions"), srv=W.C)),
        ("GET", ROOT_V, "reader of another namespace", lambda: req("GET", cpath(ns=B, rest="/versions"), W.reader_a)),

        # one version
        ("GET", VER, "ok", lambda: req("GET", cpath(rest="/versions/1"), W.reader_a)),
        ("GET", VER, "unknown version", lambda: req("GET", cpath(rest="/versions/99"), W.reader_a)),
        ("GET", VER, "unknown config", lambda: req("GET", cpath(name="nosuch", rest="/versions/1"), W.reader_a)),
        ("GET", VER, "version not a number", lambda: req("GET", cpath(rest="/versions/abc"), W.reader_a)),
        ("GET", VER, "version 0", lambda: req("GET", cpath(rest="/versions/0"), W.reader_a)),
        ("GET", VER, "leading zeros", lambda: req("GET", cpath(rest="/versions/001"), W.reader_a)),
        ("GET", VER, "version too big", lambda: req("GET", cpath(rest="/versions/99999999999"), W.reader_a)),
        ("GET", VER, "no token", lambda: req("GET", cpath(rest="/versions/1"))),
        ("GET", VER, "reader of another namespace", lambda: req("GET", cpath(ns=B, rest="/versions/1"), W.reader_a)),
        ("PUT", VER, "wrong method", lambda: req("PUT", cpath(rest="/versions/1"), W.admin, body={})),

        # digests
        ("GET", "/v1/digests/{digest}", "ok", lambda: req("GET", "/v1/digests/" + W.d1, W.reader_a)),
        ("GET", "/v1/digests/{digest}", "If-None-Match", lambda: req("GET", "/v1/digests/" + W.d1, W.reader_a,
                                                                      headers={"If-None-Match": '"%s"' % W.d1})),
        ("GET", "/v1/digests/{digest}", "unknown digest", lambda: req("GET", "/v1/digests/" + ZERO, W.reader_a)),
        ("GET", "/v1/digests/{digest}", "namespace not readable", lambda: req("GET", "/v1/digests/" + W.d1, W.sub_b)),
        ("GET", "/v1/digests/{digest}", "malformed digest", lambda: req("GET", "/v1/digests/sha256:xyz", W.reader_a)),
        ("GET", "/v1/digests/{digest}", "no token", lambda: req("GET", "/v1/digests/" + W.d1)),
        ("GET", "/v1/digests/{digest}", "anonymous on an anonymous-read server", lambda: req("GET", "/v1/digests/" + W.d1, srv=W.C)),
        ("HEAD", "/v1/digests/{digest}", "ok", lambda: req("HEAD", "/v1/digests/" + W.d1, W.reader_a)),
        ("POST", "/v1/digests/{digest}", "wrong method", lambda: req("POST", "/v1/digests/" + W.d1, W.admin, body={})),

        # tags
        ("PUT", TAG, "no token", lambda: put_tag(None, "prod", 1, None)),
        ("PUT", TAG, "reader", lambda: put_tag(W.reader_a, "prod", 1, None)),
        ("PUT", TAG, "bad tag name", lambda: put_tag(W.sub_a, "Prod!", 1, None)),
        ("PUT", TAG, "all-digit tag", lambda: put_tag(W.sub_a, "123", 1, None)),
        ("PUT", TAG, "text/plain body", lambda: put_tag(W.sub_a, "prod", 1, None, content_type="text/plain")),
        ("PUT", TAG, "malformed JSON", lambda: req("PUT", cpath(rest="/tags/prod"), W.sub_a, body=b"{")),
        ("PUT", TAG, "no expected_version", lambda: req("PUT", cpath(rest="/tags/prod"), W.sub_a, body={"version": 1})),
        ("PUT", TAG, "version not an integer", lambda: put_tag(W.sub_a, "prod", "1", None)),
        ("PUT", TAG, "unknown field", lambda: req("PUT", cpath(rest="/tags/prod"), W.sub_a,
                                                  body={"version": 1, "expected_version": None, "x": 1})),
        ("PUT", TAG, "unknown version", lambda: put_tag(W.sub_a, "prod", 99, None)),
        ("PUT", TAG, "unknown config", lambda: put_tag(W.sub_a, "prod", 1, None, name="nosuch")),
        ("PUT", TAG, "ok, new tag", lambda: put_tag(W.sub_a, "prod", 1, None)),
        ("PUT", TAG, "new tag that exists", lambda: put_tag(W.sub_a, "prod", 2, None)),
        ("PUT", TAG, "ok, move", lambda: put_tag(W.sub_a, "prod", 2, 1)),
        ("PUT", TAG, "compare-and-set conflict", lambda: put_tag(W.sub_a, "prod", 1, 1)),
        ("DELETE", TAG, "wrong method", lambda: req("DELETE", cpath(rest="/tags/prod"), W.admin)),
        ("GET", TAG, "ok", lambda: req("GET", cpath(rest="/tags/prod"), W.reader_a)),
        ("GET", TAG, "unknown tag", lambda: req("GET", cpath(rest="/tags/nosuch"), W.reader_a)),
        ("GET", TAG, "all-digit tag", lambda: req("GET", cpath(rest="/tags/123"), W.reader_a)),
        ("GET", TAG, "no token", lambda: req("GET", cpath(rest="/tags/prod"))),
        ("GET", TAGS, "ok", lambda: req("GET", cpath(rest="/tags"), W.reader_a)),
        ("GET", TAGS, "unknown config", lambda: req("GET", cpath(name="nosuch", rest="/tags"), W.reader_a)),
        ("GET", TAGS, "no token", lambda: req("GET", cpath(rest="/tags"))),
        ("POST", TAGS, "wrong method", lambda: req("POST", cpath(rest="/tags"), W.admin, body={})),
        ("GET", HIST, "ok", lambda: req("GET", cpath(rest="/tags/prod/history"), W.reader_a)),
        ("GET", HIST, "unknown config", lambda: req("GET", cpath(name="nosuch", rest="/tags/prod/history"), W.reader_a)),
        ("GET", HIST, "no token", lambda: req("GET", cpath(rest="/tags/prod/history"))),
        ("GET", HIST, "bad page token", lambda: req("GET", cpath(rest="/tags/prod/history?page_token=x"), W.reader_a)),
        ("POST", RB, "no token", lambda: req("POST", cpath(rest="/tags/prod/rollback"), None, body={})),
        ("POST", RB, "reader", lambda: req("POST", cpath(rest="/tags/prod/rollback"), W.reader_a, body={})),
        ("POST", RB, "unknown field", lambda: req("POST", cpath(rest="/tags/prod/rollback"), W.sub_a, body={"x": 1})),
        ("POST", RB, "ok", lambda: req("POST", cpath(rest="/tags/prod/rollback"), W.sub_a, body={"reason": "back"})),
        ("POST", RB, "undo", lambda: req("POST", cpath(rest="/tags/prod/rollback"), W.sub_a, body={"reason": "forward"})),
        ("POST", RB, "unknown tag", lambda: req("POST", cpath(rest="/tags/nosuch/rollback"), W.sub_a, body={})),

        # yank
        ("POST", YANK, "no token", lambda: yank(None, 3)),
        ("POST", YANK, "submitter not approver", lambda: yank(W.sub_a, 3)),
        ("POST", YANK, "no reason", lambda: yank(W.appr_a, 3, body={})),
        ("POST", YANK, "reason too long", lambda: yank(W.appr_a, 3, body={"reason": "x" * 1025})),
        ("POST", YANK, "reason not a string", lambda: yank(W.appr_a, 3, body={"reason": 7})),
        ("POST", YANK, "malformed JSON", lambda: yank(W.appr_a, 3, body=b"{")),
        ("POST", YANK, "text/plain body", lambda: yank(W.appr_a, 3, content_type="text/plain")),
        ("POST", YANK, "unknown version", lambda: yank(W.appr_a, 99)),
        ("POST", YANK, "version not a number", lambda: yank(W.appr_a, "abc")),
        ("POST", YANK, "ok", lambda: yank(W.appr_a, 3)),
        ("POST", YANK, "again", lambda: yank(W.appr_a, 3, body={"reason": "other"})),
        ("GET", YANK, "wrong method", lambda: req("GET", cpath(rest="/versions/3/yank"), W.admin)),
        ("PUT", TAG, "yanked target", lambda: put_tag(W.sub_a, "prod", 3, 2)),
        ("GET", "/v1/digests/{digest}", "yanked version", lambda: req("GET", "/v1/digests/" + digest_of(W.p3), W.reader_a)),

        # search
        ("GET", "/v1/configs", "ok", lambda: req("GET", "/v1/configs", W.reader_a)),
        ("GET", "/v1/configs", "namespace and q", lambda: req("GET", "/v1/configs?namespace=team-a&q=sn", W.reader_a)),
        ("GET", "/v1/configs", "page_size=0", lambda: req("GET", "/v1/configs?page_size=0", W.reader_a)),
        ("GET", "/v1/configs", "bad namespace", lambda: req("GET", "/v1/configs?namespace=Team_A", W.reader_a)),
        ("GET", "/v1/configs", "q too long", lambda: req("GET", "/v1/configs?q=" + "x" * 129, W.reader_a)),
        ("GET", "/v1/configs", "bad page_token", lambda: req("GET", "/v1/configs?page_token=zzz", W.reader_a)),
        ("GET", "/v1/configs", "next page", lambda: req("GET", "/v1/configs?page_size=1&page_token=" + next_page(), W.admin)),
        ("GET", "/v1/configs", "no token", lambda: req("GET", "/v1/configs")),
        ("GET", "/v1/configs", "anonymous on an anonymous-read server", lambda: req("GET", "/v1/configs", srv=W.C)),
        ("POST", "/v1/configs", "wrong method", lambda: req("POST", "/v1/configs", W.admin, body={})),

        # validate
        ("POST", "/v1/validate", "ok", lambda: req("POST", "/v1/validate", W.reader_a, body=json.loads(W.p1))),
        ("POST", "/v1/validate", "invalid config", lambda: req("POST", "/v1/validate", W.reader_a, body=json.loads(W.p_invalid))),
        ("POST", "/v1/validate", "malformed JSON", lambda: req("POST", "/v1/validate", W.reader_a, body=b"{")),
        ("POST", "/v1/validate", "text/plain body", lambda: req("POST", "/v1/validate", W.reader_a, body=W.p1, content_type="text/plain")),
        ("POST", "/v1/validate", "no token", lambda: req("POST", "/v1/validate", body=json.loads(W.p1))),
        ("POST", "/v1/validate", "anonymous on an anonymous-read server", lambda: req("POST", "/v1/validate", srv=W.C, body=json.loads(W.p1))),
        ("POST", "/v1/validate", "too large", lambda: req("POST", "/v1/validate", W.reader_a, srv=W.C, body=b" " * 3000 + b"{}")),
        ("GET", "/v1/validate", "wrong method", lambda: req("GET", "/v1/validate", W.admin)),

        # jobs: lease
        ("POST", "/v1/jobs/lease", "no token", lambda: lease(None)),
        ("POST", "/v1/jobs/lease", "reader", lambda: lease(W.reader_a)),
        ("POST", "/v1/jobs/lease", "lease_seconds 0", lambda: lease(W.runner, {"lease_seconds": 0})),
        ("POST", "/v1/jobs/lease", "lease_seconds 3601", lambda: lease(W.runner, {"lease_seconds": 3601})),
        ("POST", "/v1/jobs/lease", "malformed JSON", lambda: lease(W.runner, b"{")),
        ("POST", "/v1/jobs/lease", "text/plain body", lambda: lease(W.runner, content_type="text/plain")),
        ("POST", "/v1/jobs/lease", "no job waiting", lambda: lease(W.runner_empty)),
        ("POST", "/v1/jobs/lease", "ok", lambda: keep_job(lease(W.runner, {"runner": "snap-runner", "lease_seconds": 600}))),
        ("GET", "/v1/jobs/lease", "wrong method", lambda: req("GET", "/v1/jobs/lease", W.admin)),

        # jobs: heartbeat
        ("POST", HB, "no token", lambda: heartbeat(None)),
        ("POST", HB, "reader", lambda: heartbeat(W.reader_a)),
        ("POST", HB, "bad job id", lambda: heartbeat(W.runner, job_id="abc")),
        ("POST", HB, "no lease_token", lambda: heartbeat(W.runner, body={"lease_seconds": 30})),
        ("POST", HB, "lease_seconds 0", lambda: heartbeat(W.runner, body={"lease_token": job()["lease_token"], "lease_seconds": 0})),
        ("POST", HB, "malformed JSON", lambda: heartbeat(W.runner, body=b"{")),
        ("POST", HB, "wrong lease token", lambda: heartbeat(W.runner, body={"lease_token": "0" * 64})),
        ("POST", HB, "unknown job", lambda: heartbeat(W.runner, job_id=999999)),
        ("POST", HB, "ok", lambda: heartbeat(W.runner)),
        ("GET", HB, "wrong method", lambda: req("GET", "/v1/jobs/%s/heartbeat" % job()["id"], W.admin)),

        # jobs: verdict
        ("POST", VD, "no token", lambda: verdict(None)),
        ("POST", VD, "reader", lambda: verdict(W.reader_a)),
        ("POST", VD, "bad job id", lambda: verdict(W.runner, job_id="abc")),
        ("POST", VD, "text/plain body", lambda: verdict(W.runner, content_type="text/plain")),
        ("POST", VD, "not an envelope", lambda: verdict(W.runner, body={"x": 1})),
        ("POST", VD, "unknown job", lambda: verdict(W.runner, job_id=999999)),
        ("POST", VD, "wrong lease token", lambda: verdict(W.runner, lease_token="0" * 64)),
        ("POST", VD, "no lease token", lambda: verdict(W.runner, lease_token="")),
        ("POST", VD, "wrong payloadType", lambda: verdict(W.runner, payload_type=PAYLOAD_TYPE)),
        ("POST", VD, "payload not an object", lambda: verdict(W.runner, payload=b"[1]")),
        ("POST", VD, "payload does not fit the job", lambda: verdict(W.runner, payload=verdict_payload(
            job_id=1 + job()["id"], config_digest=ZERO, suite="other", suite_digest="x", result="great"))),
        ("POST", VD, "unsigned", lambda: verdict(W.runner, signers=())),
        ("POST", VD, "key not allowed", lambda: verdict(W.runner, signers=(W.key_b,))),
        ("POST", VD, "unknown key", lambda: verdict(W.runner, signers=(W.key_u,))),
        ("POST", VD, "config key", lambda: verdict(W.runner, signers=(W.key,))),
        ("POST", VD, "ok", lambda: verdict(W.runner)),
        ("POST", VD, "same verdict again", lambda: verdict(W.runner, lease_token="0" * 64)),
        ("POST", VD, "different verdict", lambda: verdict(W.runner, payload=verdict_payload(result="fail"))),
        ("GET", VD, "wrong method", lambda: req("GET", "/v1/jobs/%s/verdict" % job()["id"], W.admin)),
        ("POST", HB, "after the verdict", lambda: heartbeat(W.runner)),

        # verdicts of a version
        ("GET", VERDICTS, "ok", lambda: req("GET", "/v1/configs/%s/%s/versions/%d/verdicts" % (
            job()["namespace"], job()["name"], job()["version"]), W.reader_a)),
        ("GET", VERDICTS, "unknown version", lambda: req("GET", cpath(rest="/versions/99/verdicts"), W.reader_a)),
        ("GET", VERDICTS, "version not a number", lambda: req("GET", cpath(rest="/versions/abc/verdicts"), W.reader_a)),
        ("GET", VERDICTS, "no token", lambda: req("GET", cpath(rest="/versions/1/verdicts"))),
        ("POST", VERDICTS, "wrong method", lambda: req("POST", cpath(rest="/versions/1/verdicts"), W.admin, body={})),

        # audit log
        ("GET", "/v1/audit/checkpoint", "no token", lambda: req("GET", "/v1/audit/checkpoint")),
        ("GET", "/v1/audit/checkpoint", "reader", lambda: req("GET", "/v1/audit/checkpoint", W.reader_a)),
        ("POST", "/v1/audit/checkpoint", "no token", lambda: req("POST", "/v1/audit/checkpoint", body={})),
        ("POST", "/v1/audit/checkpoint", "reader", lambda: req("POST", "/v1/audit/checkpoint", W.reader_a, body={})),
        ("POST", "/v1/audit/checkpoint", "ok, new", lambda: req("POST", "/v1/audit/checkpoint", W.auditor, body={})),
        ("POST", "/v1/audit/checkpoint", "ok, already covered", lambda: req("POST", "/v1/audit/checkpoint", W.auditor, body={})),
        ("GET", "/v1/audit/checkpoint", "ok", lambda: req("GET", "/v1/audit/checkpoint", W.auditor)),
        ("DELETE", "/v1/audit/checkpoint", "wrong method", lambda: req("DELETE", "/v1/audit/checkpoint", W.admin)),
        ("GET", "/v1/audit/entries", "ok", lambda: req("GET", "/v1/audit/entries?page_size=5", W.auditor)),
        ("GET", "/v1/audit/entries", "filters", lambda: req("GET", "/v1/audit/entries?action=version.created&actor=ci@team-a"
                                                             "&target=team-a/snap@1&since=2000-01-01T00:00:00Z", W.auditor)),
        ("GET", "/v1/audit/entries", "page_size=0", lambda: req("GET", "/v1/audit/entries?page_size=0", W.auditor)),
        ("GET", "/v1/audit/entries", "start not a number", lambda: req("GET", "/v1/audit/entries?start=abc", W.auditor)),
        ("GET", "/v1/audit/entries", "bad since", lambda: req("GET", "/v1/audit/entries?since=yesterday", W.auditor)),
        ("GET", "/v1/audit/entries", "reader", lambda: req("GET", "/v1/audit/entries", W.reader_a)),
        ("GET", "/v1/audit/entries", "no token", lambda: req("GET", "/v1/audit/entries")),
        ("GET", "/v1/audit/proof/inclusion", "ok", lambda: req("GET", "/v1/audit/proof/inclusion?index=0&size=2", W.auditor)),
        ("GET", "/v1/audit/proof/inclusion", "no index", lambda: req("GET", "/v1/audit/proof/inclusion?size=2", W.auditor)),
        ("GET", "/v1/audit/proof/inclusion", "index past size", lambda: req("GET", "/v1/audit/proof/inclusion?index=5&size=2", W.auditor)),
        ("GET", "/v1/audit/proof/inclusion", "size past the log", lambda: req("GET", "/v1/audit/proof/inclusion?index=0&size=100000", W.auditor)),
        ("GET", "/v1/audit/proof/inclusion", "reader", lambda: req("GET", "/v1/audit/proof/inclusion?index=0&size=2", W.reader_a)),
        ("GET", "/v1/audit/proof/inclusion", "no token", lambda: req("GET", "/v1/audit/proof/inclusion?index=0&size=2")),
        ("GET", "/v1/audit/proof/consistency", "ok", lambda: req("GET", "/v1/audit/proof/consistency?from=1&to=3", W.auditor)),
        ("GET", "/v1/audit/proof/consistency", "no from", lambda: req("GET", "/v1/audit/proof/consistency?to=3", W.auditor)),
        ("GET", "/v1/audit/proof/consistency", "from past to", lambda: req("GET", "/v1/audit/proof/consistency?from=3&to=1", W.auditor)),
        ("GET", "/v1/audit/proof/consistency", "negative from", lambda: req("GET", "/v1/audit/proof/consistency?from=-1&to=1", W.auditor)),
        ("GET", "/v1/audit/proof/consistency", "reader", lambda: req("GET", "/v1/audit/proof/consistency?from=1&to=3", W.reader_a)),
        ("GET", "/v1/audit/proof/consistency", "no token", lambda: req("GET", "/v1/audit/proof/consistency?from=1&to=3")),

        # tokens
        ("POST", "/v1/tokens", "no token", lambda: req("POST", "/v1/tokens", body={"principal": "x", "grants": [{"role": "reader"}]})),
        ("POST", "/v1/tokens", "approver not admin", lambda: req("POST", "/v1/tokens", W.appr_a, body={"principal": "x", "grants": [{"role": "reader"}]})),
        ("POST", "/v1/tokens", "no principal", lambda: req("POST", "/v1/tokens", W.admin, body={"grants": [{"role": "reader"}]})),
        ("POST", "/v1/tokens", "no grants", lambda: req("POST", "/v1/tokens", W.admin, body={"principal": "x", "grants": []})),
        ("POST", "/v1/tokens", "unknown role", lambda: req("POST", "/v1/tokens", W.admin, body={"principal": "x", "grants": [{"role": "king"}]})),
        ("POST", "/v1/tokens", "bad namespace pattern", lambda: req("POST", "/v1/tokens", W.admin, body={
            "principal": "x", "grants": [{"role": "reader", "namespace": "Team_A"}]})),
        ("POST", "/v1/tokens", "bad expires_in", lambda: req("POST", "/v1/tokens", W.admin, body={
            "principal": "x", "grants": [{"role": "reader"}], "expires_in": 0})),
        ("POST", "/v1/tokens", "expires_in over 100 years", lambda: req("POST", "/v1/tokens", W.admin, body={
            "principal": "x", "grants": [{"role": "reader"}], "expires_in": 10 ** 15})),
        ("POST", "/v1/tokens", "malformed JSON", lambda: req("POST", "/v1/tokens", W.admin, body=b"{")),
        ("POST", "/v1/tokens", "text/plain body", lambda: req("POST", "/v1/tokens", W.admin, content_type="text/plain",
                                                              body={"principal": "x", "grants": [{"role": "reader"}]})),
        ("POST", "/v1/tokens", "ok", lambda: keep_token_id(req("POST", "/v1/tokens", W.admin, body={
            "principal": "made@ops", "grants": [{"role": "reader", "namespace": A}], "expires_in": 3600}))),
        ("PUT", "/v1/tokens", "wrong method", lambda: req("PUT", "/v1/tokens", W.admin)),
        ("GET", "/v1/tokens", "no token", lambda: req("GET", "/v1/tokens")),
        ("GET", "/v1/tokens", "approver not admin", lambda: req("GET", "/v1/tokens", W.appr_a)),
        ("GET", "/v1/tokens", "bad page_size", lambda: req("GET", "/v1/tokens?page_size=0", W.admin)),
        ("GET", "/v1/tokens", "bad page_token", lambda: req("GET", "/v1/tokens?page_token=bm9wZQ", W.admin)),
        ("GET", "/v1/tokens", "bad principal", lambda: req("GET", "/v1/tokens?principal=%01", W.admin)),
        ("GET", "/v1/tokens", "ok", lambda: req("GET", "/v1/tokens?page_size=1", W.admin)),
        ("GET", "/v1/keys", "token made through the API", lambda: req("GET", "/v1/keys", W.api_token)),
        ("DELETE", TOK, "no token", lambda: req("DELETE", "/v1/tokens/" + W.token_id)),
        ("DELETE", TOK, "approver not admin", lambda: req("DELETE", "/v1/tokens/" + W.token_id, W.appr_a)),
        ("DELETE", TOK, "unknown token id", lambda: req("DELETE", "/v1/tokens/tok_nosuch", W.admin)),
        ("DELETE", TOK, "ok", lambda: req("DELETE", "/v1/tokens/" + W.token_id, W.admin)),
        ("DELETE", TOK, "again", lambda: req("DELETE", "/v1/tokens/" + W.token_id, W.admin)),
        ("GET", TOK, "wrong method", lambda: req("GET", "/v1/tokens/" + W.token_id, W.admin)),

        # policies and waivers (the policy covers team-p only)
        ("GET", "/v1/policies", "empty", lambda: req("GET", "/v1/policies", W.reader_a)),
        ("GET", "/v1/policies", "no token", lambda: req("GET", "/v1/policies")),
        ("PUT", POL, "not admin", lambda: req("PUT", "/v1/policies/snap-policy", W.appr_a, body={"document": POLICY})),
        ("PUT", POL, "no document", lambda: req("PUT", "/v1/policies/snap-policy", W.admin, body={})),
        ("PUT", POL, "bad name", lambda: req("PUT", "/v1/policies/Snap", W.admin, body={"document": POLICY})),
        ("PUT", POL, "invalid policy", lambda: req("PUT", "/v1/policies/snap-policy", W.admin, body={"document": POLICY.replace("0.1", "lots")})),
        ("PUT", POL, "name mismatch", lambda: req("PUT", "/v1/policies/other", W.admin, body={"document": POLICY})),
        ("PUT", POL, "ok", lambda: req("PUT", "/v1/policies/snap-policy", W.admin, body={"document": POLICY, "message": "m"})),
        ("PUT", POL, "unchanged", lambda: req("PUT", "/v1/policies/snap-policy", W.admin, body={"document": POLICY})),
        ("GET", "/v1/policies", "ok", lambda: req("GET", "/v1/policies", W.reader_a)),
        ("GET", POL, "ok", lambda: req("GET", "/v1/policies/snap-policy", W.reader_a)),
        ("GET", POL, "unknown", lambda: req("GET", "/v1/policies/nosuch", W.reader_a)),
        ("GET", POL, "bad version", lambda: req("GET", "/v1/policies/snap-policy?version=0", W.reader_a)),
        ("POST", EVAL, "ok", lambda: req("POST", "/v1/policies/snap-policy/evaluate", W.admin, body={"document": POLICY})),
        ("POST", EVAL, "not admin", lambda: req("POST", "/v1/policies/snap-policy/evaluate", W.sub_a, body={"document": POLICY})),
        ("POST", "/v1/waivers", "submitter", lambda: req("POST", "/v1/waivers", W.sub_a, body=waiver_body())),
        ("POST", "/v1/waivers", "bad expiry", lambda: req("POST", "/v1/waivers", W.appr_a, body=waiver_body(expires_at="soon"))),
        ("POST", "/v1/waivers", "ok", lambda: keep_waiver(req("POST", "/v1/waivers", W.appr_a, body=waiver_body()))),
        ("GET", "/v1/waivers", "ok", lambda: req("GET", "/v1/waivers?namespace=" + A, W.reader_a)),
        ("GET", "/v1/waivers", "bad all", lambda: req("GET", "/v1/waivers?all=maybe", W.reader_a)),
        ("DELETE", WVR, "bad id", lambda: req("DELETE", "/v1/waivers/x", W.appr_a, body={"reason": "r"})),
        ("DELETE", WVR, "unknown", lambda: req("DELETE", "/v1/waivers/wvr_0000000000000000", W.appr_a, body={"reason": "r"})),
        ("DELETE", WVR, "ok", lambda: req("DELETE", "/v1/waivers/" + W.waiver_id, W.appr_a, body={"reason": "r"})),
        ("DELETE", POL, "no reason", lambda: req("DELETE", "/v1/policies/snap-policy", W.admin, body={})),
        ("DELETE", POL, "ok", lambda: req("DELETE", "/v1/policies/snap-policy", W.admin, body={"reason": "r"})),
        ("DELETE", POL, "again", lambda: req("DELETE", "/v1/policies/snap-policy", W.admin, body={"reason": "r"})),
        ("GET", "/v1/keys", "deleted token", lambda: req("GET", "/v1/keys", W.api_token)),

        # PostgreSQL halted (last: the cluster stays down)
        ("GET", "/readyz", "database down", lambda: halted() and req("GET", "/readyz")),
        ("GET", "/v1/configs", "database down, token not cached", lambda: req("GET", "/v1/configs", W.unused)),
    ]


# ---------------------------------------------------------------- recording

def record(r):
    """(status, problem code or "-", sorted top-level keys or None)."""
    ct = (r.header("Content-Type") or "").split(";")[0].strip().lower()
    body = None
    if r.body and ct in ("application/json", "application/problem+json"):
        try:
            body = json.loads(r.body.decode("utf-8"))
        except ValueError:
            body = None
    code = "-"
    keys = None
    if isinstance(body, dict):
        keys = sorted(body)
        if ct == "application/problem+json":
            code = body.get("code", "?")
    return {"status": r.status, "code": code, "keys": keys}


def case_key(method, route, name):
    return "%s %s | %s" % (method, route, name)


def load_snapshot():
    try:
        with open(SNAPSHOT) as f:
            return json.load(f)
    except OSError:
        return None


def write_snapshot(got):
    """One case a line, in run order, so that diffs read well."""
    lines = ["{"]
    items = list(got.items())
    for i, (key, val) in enumerate(items):
        lines.append("  %s: %s%s" % (json.dumps(key), json.dumps(val, sort_keys=True),
                                      "," if i + 1 < len(items) else ""))
    lines.append("}")
    with open(SNAPSHOT, "w") as f:
        f.write("\n".join(lines) + "\n")


def compare(key, want, got):
    def check():
        assert want is not None, (
            "%s is not in %s; if the new case is meant, regenerate it with "
            "OPTREG_SNAPSHOT_UPDATE=1" % (key, os.path.basename(SNAPSHOT)))
        assert got == want, "%s:\n  snapshot: %s\n  got:      %s" % (
            key, json.dumps(want, sort_keys=True), json.dumps(got, sort_keys=True))
    return check


def main():
    start = time.time()
    try:
        try:
            setup()
            W.expiring_at = time.time() + 1.5
        except Exception:  # noqa: BLE001
            tap.fail("harness: cluster, migrations, tokens, servers A C",
                     [traceback.format_exc()] + (W.reg.logs() if hasattr(W, "reg") else []))
            return tap.finish()
        tap.context = lambda: [s.log_tail(8) for s in W.reg.servers if s.alive()]
        snap = None if UPDATE else load_snapshot()
        if not UPDATE and snap is None:
            tap.fail("snapshot %s is readable" % SNAPSHOT,
                     ["missing: make it with OPTREG_SNAPSHOT_UPDATE=1"])
            return tap.finish()
        got = {}
        for method, route, name, thunk in cases():
            key = case_key(method, route, name)
            assert key not in got, "duplicate case %s" % key
            try:
                got[key] = record(thunk())
            except Exception:  # noqa: BLE001
                tap.fail(key, [traceback.format_exc()])
                got[key] = None
                continue
            if UPDATE:
                tap.run("%s -> %s" % (key, got[key]["status"]), lambda: None)
            else:
                tap.run(key, compare(key, snap.get(key), got[key]))
        if UPDATE and tap.failed:
            print("# not writing %s: %d cases failed" % (SNAPSHOT, tap.failed))
        elif UPDATE:
            write_snapshot(got)
            print("# wrote %s (%d cases)" % (SNAPSHOT, len(got)))
        else:
            stale = sorted(set(snap) - set(got))

            def no_stale():
                assert not stale, "the snapshot has cases this run did not make: %s" % stale
            tap.run("the snapshot lists no case the run did not make", no_stale)
        print("# %d cases, %.1f s" % (len(got), time.time() - start))
        return tap.finish()
    finally:
        if hasattr(W, "reg"):
            W.reg.cleanup()


if __name__ == "__main__":
    sys.exit(main())
