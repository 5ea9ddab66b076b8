#!/usr/bin/python3
"""tests/e2e/audit_test.py: the tamper-evident audit log end to end
(docs/audit.md), against real optreg-server processes over private
PostgreSQL clusters (tests/e2e/harness.py), and `optreg audit` as people
and CI use it.

What it covers:

  - events: every change type appends exactly one event with the right
    action, target, actor (principal and token id), request id and
    before/after details: version.created, tag.moved {tag, from, to},
    version.yanked, key.added, key.revoked, token.created, token.revoked,
    namespace.settings, write.denied (a 403 forbidden and a 403
    signature_refused); an identical resubmit, a second yank or revoke, an
    unchanged setting, a lost tag compare-and-set, a 400, a 401 and reads
    log nothing; each event's leaf_hash is SHA-256(0x00 || its RFC 8785
    form), recomputed here;
  - the database: UPDATE, DELETE and TRUNCATE on the audit tables fail even
    for the superuser (triggers); the role optreg_app has no UPDATE, DELETE
    or TRUNCATE grant on them (has_table_privilege, and trying as it);
  - checkpoints: POST makes one (201, then 200); the checkpointer signs one
    after --checkpoint-every events and not before; the note verifies with
    openssl over its text (key hash and Ed25519 signature by hand) and its
    root is the root recomputed here; `optreg audit checkpoint` verifies it
    with the pinned key and refuses a wrong key;
  - receipts carry audit_index, audit_tree_size, audit_root and
    audit_inclusion, and the inclusion proof verifies for that event's leaf;
  - concurrency: 8 threads through two server processes submitting and
    moving one tag each per config; the log is gapless, version.created
    events come in version order and tag.moved events chain from -> to, and
    every version and tag move has its event;
  - proofs, as a property: the log grown to 1,024 events with SQL
    audit_append; all (index, size) and (m, n) pairs for sizes up to 16 and
    300 random ones each up to 1,024: the server's inclusion and consistency
    proofs equal the RFC 9162 PATH and PROOF computed here, verify with an
    independent RFC 9162 verifier written here (checked first against the
    transparency-dev vectors), and fail once any bit of any hash is
    flipped; the roots are those of a tree recomputed here;
  - tampering, as an attacker with the database: the checkpointer refuses to
    sign a root inconsistent with the last signed one (stored subtree hashes
    changed) and logs it, and signs again once they are repaired;
    `optreg audit verify --checkpoint SAVED` passes on a clean log and exits
    1 naming exactly the first bad entry after (a) an edited event, (b) a
    deleted event, (c) two events swapped, (e) an edit whose hashes were all
    recomputed (without SAVED only the root check can tell), (g) the same
    with the signed checkpoints deleted and the rewritten log signed anew
    (without SAVED nothing can tell: the documented limit), (f) an event
    text that is not JSON, and (d) the tail cut off and different events
    appended through the API;
  - `optreg audit log` with filters and --json, and --help everywhere.

usage: tests/e2e/audit_test.py     (from the repository root)
env:   BIN   folder with optreg and optreg-server (default "bin")
       OPTREG_E2E_KEEP=1 keeps the temporary directory (logs, clusters)

Prints TAP (`ok N - desc`, `not ok N - desc` with `# ` diagnostics, the plan
`1..N` last) and exits 1 when any test fails. Everything it starts is
stopped on exit, whatever happens.
"""

import base64
import glob
import hashlib
import json
import os
import random
import re
import shlex
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the working tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import (  # noqa: E402
    CLI_BIN, ROOT, Registry, Signer, Tap, digest_of, envelope, openssl_verify,
    pem_der)

A, C = "team-a", "team-c"
RECEIPT_TYPE = "application/vnd.optreg.receipt.v1+json"
MERKLE_VECTORS = os.path.join(ROOT, "tests", "testdata", "merkle")

tap = Tap()


class World:
    pass


W = World()


def note(text):
    print("# " + text)
    sys.stdout.flush()


def eq(got, want, what):
    assert got == want, "%s: expected %r, got %r" % (what, want, got)


def status(r, want, what=""):
    assert r.status == want, "%sexpected HTTP %d, got:\n%s" % (
        what + ": " if what else "", want, r.describe())


# ---------------------------------------------------------------- Merkle
# An independent RFC 9162 implementation: hashlib and the RFC's text only.

def sha256(b):
    return hashlib.sha256(b).digest()


def canonical(value):
    """RFC 8785 for the values events hold (strings, integers, null,
    booleans, arrays, objects with ASCII keys): sorted keys, no space."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode("utf-8")


def leaf_hash(data):
    return sha256(b"\x00" + data)


def node_hash(left, right):
    return sha256(b"\x01" + left + right)


def split(n):
    """The largest power of two smaller than n (n >= 2)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


class Tree:
    """MTH, PATH and PROOF of RFC 9162 section 2.1 over a list of leaf
    hashes, with subtree roots memoized."""

    def __init__(self, leaves):
        self.leaves = list(leaves)
        self.memo = {}

    def mth(self, lo, hi):
        if hi == lo:
            return sha256(b"")
        if hi - lo == 1:
            return self.leaves[lo]
        key = (lo, hi)
        if key not in self.memo:
            k = split(hi - lo)
            self.memo[key] = node_hash(self.mth(lo, lo + k), self.mth(lo + k, hi))
        return self.memo[key]

    def root(self, n):
        return self.mth(0, n)

    def path(self, m, lo, hi):
        if hi - lo == 1:
            return []
        k = split(hi - lo)
        if m < k:
            return self.path(m, lo, lo + k) + [self.mth(lo + k, hi)]
        return self.path(m - k, lo + k, hi) + [self.mth(lo, lo + k)]

    def subproof(self, m, lo, hi, b):
        n = hi - lo
        if m == n:
            return [] if b else [self.mth(lo, hi)]
        k = split(n)
        if m <= k:
            return self.subproof(m, lo, lo + k, b) + [self.mth(lo + k, hi)]
        return self.subproof(m - k, lo + k, hi, False) + [self.mth(lo, lo + k)]

    def inclusion(self, index, n):
        return self.path(index, 0, n)

    def consistency(self, m, n):
        return self.subproof(m, 0, n, True)


def verify_inclusion(index, size, leaf, proof, root):
    """RFC 9162 section 2.1.3.2."""
    if index >= size or len(leaf) != 32 or len(root) != 32:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if len(p) != 32 or sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(first, second, first_hash, second_hash, proof):
    """RFC 9162 section 2.1.4.2; first == second wants an empty proof and
    equal roots, first == 0 proves nothing and is refused."""
    if first == 0 or first > second:
        return False
    if first == second:
        return not proof and first_hash == second_hash
    if not proof or any(len(h) != 32 for h in [first_hash, second_hash] + proof):
        return False
    path = list(proof)
    if first & (first - 1) == 0:
        path = [first_hash] + path
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == first_hash and sr == second_hash and sn == 0


def flipped(proof, i, bit):
    p = list(proof)
    b = bytearray(p[i])
    b[bit // 8] ^= 1 << (bit % 8)
    p[i] = bytes(b)
    return p


def b64d(s):
    return base64.b64decode(s, validate=True)


# ---------------------------------------------------------------- registry

def entries(srv, token, start=0, end=None, **filters):
    """Every entry from `start` (walking next_start), as the API answers."""
    out = []
    for _ in range(100000):
        q = "start=%d&page_size=1000" % start
        if end is not None:
            q += "&end=%d" % end
        for k, v in filters.items():
            q += "&%s=%s" % (k, v)
        r = srv.request("GET", "/v1/audit/entries?" + q, token=token)
        status(r, 200, "GET /v1/audit/entries?" + q)
        page = r.json()
        out += page["entries"]
        if page["next_start"] is None:
            return out
        assert page["next_start"] > start, "next_start does not move: %r" % page
        start = page["next_start"]
    raise AssertionError("entries never ended")


def log_size(srv=None):
    srv = srv or W.A
    return int(W.R.psql("SELECT size FROM audit_head").stdout.strip())


def new_events(n0, srv=None):
    return [e["event"] for e in entries(srv or W.A, W.auditor, start=n0)]


def one_event(n0, action, target, principal, details, token_id=None, resp=None):
    """Exactly one event was logged since size n0, and it is this one."""
    evs = new_events(n0)
    assert len(evs) == 1, "expected one new event (%s), got %d:\n%s" % (
        action, len(evs), json.dumps(evs, indent=1))
    e = evs[0]
    eq(e["action"], action, "action")
    eq(e["target"], target, "target of " + action)
    eq(e["actor"]["principal"], principal, "actor of " + action)
    if token_id is not None:
        eq(e["actor"]["token_id"], token_id, "actor token id of " + action)
    if resp is not None:
        eq(e["request_id"], resp.header("X-Request-Id"), "request_id vs X-Request-Id")
    eq(e["details"], details, "details of " + action)
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", e["time"]), e["time"]
    return e


def nothing_since(n0, what):
    evs = new_events(n0)
    assert not evs, "%s logged %d event(s):\n%s" % (what, len(evs), json.dumps(evs, indent=1))


PAYLOAD = ('{"apiVersion":"optreg/v1","kind":"OptimizerConfig","metadata":'
           '{"description":"%s","name":"%s","namespace":"%s"},"spec":{"betas":'
           '[0.9,0.999],"eps":1e-8,"lr":0.001,"optimizer":"adamw",'
           '"weight_decay":0.01}}')


def payload(ns, name, desc):
    """A valid config in RFC 8785 form (checked against `optreg
    canonicalize` once, in setup)."""
    return (PAYLOAD % (desc, name, ns)).encode("utf-8")


def submit(srv, token, ns, name, data, signers=None):
    return srv.request("POST", "/v1/configs/%s/%s/versions" % (ns, name),
                       body=envelope(data, (W.key,) if signers is None else signers),
                       token=token)


def put_tag(srv, token, ns, name, tag, version, expected):
    return srv.request("PUT", "/v1/configs/%s/%s/tags/%s" % (ns, name, tag),
                       body={"version": version, "expected_version": expected},
                       token=token)


class Result:
    def __init__(self, argv, p):
        self.argv = argv
        self.rc, self.out, self.err = p.returncode, p.stdout, p.stderr

    def describe(self):
        return "$ %s\n  exit: %d\n  stdout: %s\n  stderr: %s" % (
            " ".join(shlex.quote(a) for a in self.argv), self.rc,
            self.out[-3000:], self.err[-3000:])


def optreg(srv, *args, token=None):
    """$BIN/optreg ARGS against `srv` with the auditor's token, and no other
    OPTREG_ variable."""
    e = dict((k, v) for k, v in os.environ.items() if not k.startswith("OPTREG_"))
    e["OPTREG_URL"] = srv.base
    e["OPTREG_TOKEN"] = token or W.auditor
    argv = [CLI_BIN] + [str(a) for a in args]
    p = subprocess.run(argv, env=e, cwd=ROOT, timeout=120, text=True,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return Result(argv, p)


def expect(res, rc, what=""):
    assert res.rc == rc, "%sexpected exit %d, got:\n%s" % (
        what + ": " if what else "", rc, res.describe())
    return res


def parse_note(text):
    """(body, [(name, keyhash, sig)]) of a C2SP signed note."""
    body, sep, sigs = text.rpartition("\n\n")
    assert sep, "no blank line in the note: %r" % text
    out = []
    for line in sigs.rstrip("\n").split("\n"):
        assert line.startswith("\u2014 "), "bad signature line %r" % line
        name, _, b64 = line[2:].rpartition(" ")
        raw = b64d(b64)
        out.append((name, raw[:4], raw[4:]))
    return body + "\n", out


def check_note(text, reg=None, want_origin="optreg.local/audit"):
    """Verifies a checkpoint note by hand (key hash, Ed25519 with openssl)
    against the registry key of `reg` (default W.R); returns (size, root)."""
    reg = reg or W.R
    body, sigs = parse_note(text)
    lines = body.split("\n")
    eq(lines[0], want_origin, "origin line")
    size, root = int(lines[1]), b64d(lines[2])
    eq(len(root), 32, "root length")
    with open(reg.registry_pub) as f:
        pub_pem = f.read()
    raw_pub = pem_der(pub_pem)[-32:]
    want_hash = sha256(want_origin.encode() + b"\n\x01" + raw_pub)[:4]
    mine = [s for s in sigs if s[0] == want_origin and s[1] == want_hash]
    assert mine, "no signature by %s with key hash %s: %r" % (
        want_origin, want_hash.hex(), sigs)
    for _, _, sig in mine:
        assert openssl_verify(pub_pem, body.encode("utf-8"), sig, reg.tmp), \
            "openssl does not verify the checkpoint signature:\n" + text
    return size, root


def latest_checkpoint(srv, token=None):
    r = srv.request("GET", "/v1/audit/checkpoint", token=token or W.auditor)
    if r.status == 404:
        return None
    status(r, 200, "GET /v1/audit/checkpoint")
    return r.body.decode("utf-8")


def recomputed_tree(srv, n=None):
    """Leaves recomputed from every event's contents (each also checked
    against the server's leaf_hash), as a Tree."""
    es = entries(srv, W.auditor, end=n)
    leaves = []
    for i, e in enumerate(es):
        eq(e["index"], i, "entry index")
        lh = leaf_hash(canonical(e["event"]))
        eq(base64.b64encode(lh).decode(), e["leaf_hash"], "leaf_hash of entry %d" % i)
        leaves.append(lh)
    return Tree(leaves)


# ---------------------------------------------------------------- setup

def setup():
    W.R = Registry().start()
    W.A = W.R.server("--checkpoint-every", "5", "--checkpoint-interval", "86400",
                     name="A")
    W.B = W.R.server("--checkpoint-every", "5", "--checkpoint-interval", "86400",
                     name="B")
    tap.context = W.R.logs
    W.admin, W.admin_id = W.R.token("admin@ops", "admin")
    W.auditor, W.auditor_id = W.R.token("auditor@sec", "auditor")
    W.sub, W.sub_id = W.R.token("ci@team-a", ["submitter", "approver"], namespace="team-*")
    W.reader, W.reader_id = W.R.token("viewer@team-a", "reader", namespace=A)
    W.key = Signer(W.R.tmp, "signer")
    W.key2 = Signer(W.R.tmp, "signer2")
    W.key3 = Signer(W.R.tmp, "signer3")
    # The payload template is RFC 8785, as `optreg canonicalize` says.
    path = os.path.join(W.R.tmp, "p.json")
    with open(path, "wb") as f:
        f.write(payload(A, "x", "y"))
    p = subprocess.run([CLI_BIN, "canonicalize", path], stdout=subprocess.PIPE)
    eq(p.stdout.rstrip(b"\n"), payload(A, "x", "y"), "the payload template is canonical")


# ---------------------------------------------------------------- events

def t_token_cli_event():
    # The tokens made in setup by `optreg-server token create`: the local
    # operating-system user acts, with no token.
    evs = new_events(0)
    eq([e["action"] for e in evs], ["token.created"] * 4, "setup's events")
    e = evs[0]
    eq(e["target"], W.admin_id, "token.created target")
    assert e["actor"]["principal"].startswith("local:"), e["actor"]
    eq(e["actor"]["token_id"], "", "a command-line actor has no token id")
    eq(e["details"], {"principal": "admin@ops", "expires_in": 0,
                      "grants": [{"role": "admin", "namespace": "*"}]}, "details")


def t_key_added():
    n0 = log_size()
    r = W.A.request("POST", "/v1/keys", token=W.admin, body={
        "public_key": W.key.public_pem, "principal": "ci@team-a", "namespaces": ["team-*"]})
    status(r, 201)
    one_event(n0, "key.added", W.key.keyid, "admin@ops",
              {"principal": "ci@team-a", "namespaces": ["team-*"], "purpose": "config"},
              W.admin_id, r)
    for k in (W.key2, W.key3):
        status(W.A.request("POST", "/v1/keys", token=W.admin, body={
            "public_key": k.public_pem, "principal": "ci@team-a", "namespaces": [A]}), 201)


def t_version_created():
    n0 = log_size()
    W.p1 = payload(A, "bert", "v1")
    r = submit(W.A, W.sub, A, "bert", W.p1)
    status(r, 201)
    e = one_event(n0, "version.created", "team-a/bert@1", "ci@team-a",
                  {"digest": digest_of(W.p1), "signer_keyids": [W.key.keyid]}, W.sub_id, r)
    W.v1_receipt = r.json()["receipt"]
    W.v1_index = n0
    assert e


def t_identical_resubmit():
    n0 = log_size()
    r = submit(W.B, W.sub, A, "bert", W.p1)
    status(r, 200)
    eq(r.json()["created"], False, "created")
    nothing_since(n0, "an identical resubmit")


def t_tag_moved():
    n0 = log_size()
    r = put_tag(W.A, W.sub, A, "bert", "prod", 1, None)
    status(r, 200)
    one_event(n0, "tag.moved", "team-a/bert@prod", "ci@team-a",
              {"tag": "prod", "from": None, "to": 1}, W.sub_id, r)
    status(submit(W.A, W.sub, A, "bert", payload(A, "bert", "v2")), 201)
    n0 = log_size()
    r = put_tag(W.B, W.sub, A, "bert", "prod", 2, 1)
    status(r, 200)
    one_event(n0, "tag.moved", "team-a/bert@prod", "ci@team-a",
              {"tag": "prod", "from": 1, "to": 2}, W.sub_id, r)


def t_refusals_log_nothing():
    n0 = log_size()
    status(put_tag(W.A, W.sub, A, "bert", "prod", 1, 1), 409, "lost compare-and-set")
    status(put_tag(W.A, W.sub, A, "bert", "prod", 9, 2), 404, "no such version")
    status(W.A.request("POST", "/v1/configs/team-a/bert/versions", body=b"{",
                       token=W.sub), 400, "malformed body")
    status(W.A.request("POST", "/v1/keys", body={"public_key": "x"}), 401, "no token")
    status(W.A.request("GET", "/v1/configs/team-a/bert/versions/1", token=W.reader), 200)
    status(W.A.request("GET", "/v1/audit/entries", token=W.auditor), 200)
    nothing_since(n0, "a 409, a 404, a 400, a 401 and reads")


def t_version_yanked():
    n0 = log_size()
    r = W.A.request("POST", "/v1/configs/team-a/bert/versions/1/yank",
                    body={"reason": "diverges after warmup"}, token=W.sub)
    status(r, 200)
    one_event(n0, "version.yanked", "team-a/bert@1", "ci@team-a",
              {"digest": digest_of(W.p1), "reason": "diverges after warmup"}, W.sub_id, r)
    n0 = log_size()
    status(W.B.request("POST", "/v1/configs/team-a/bert/versions/1/yank",
                       body={"reason": "again"}, token=W.sub), 200)
    nothing_since(n0, "a second yank")


def t_key_revoked():
    n0 = log_size()
    r = W.A.request("POST", "/v1/keys/%s/revoke" % W.key3.keyid, token=W.admin)
    status(r, 200)
    one_event(n0, "key.revoked", W.key3.keyid, "admin@ops", {}, W.admin_id, r)
    n0 = log_size()
    status(W.A.request("POST", "/v1/keys/%s/revoke" % W.key3.keyid, token=W.admin), 200)
    nothing_since(n0, "a second revocation")


def t_token_api():
    n0 = log_size()
    r = W.A.request("POST", "/v1/tokens", token=W.admin, body={
        "principal": "bot@team-c", "grants": [{"role": "submitter", "namespace": C}],
        "expires_in": 3600})
    status(r, 201)
    tid = r.json()["id"]
    one_event(n0, "token.created", tid, "admin@ops",
              {"principal": "bot@team-c", "expires_in": 3600,
               "grants": [{"role": "submitter", "namespace": C}]}, W.admin_id, r)
    n0 = log_size()
    r = W.B.request("DELETE", "/v1/tokens/" + tid, token=W.admin)
    status(r, 204)
    one_event(n0, "token.revoked", tid, "admin@ops", {}, W.admin_id, r)


def t_namespace_settings():
    n0 = log_size()
    r = W.A.request("PUT", "/v1/namespaces/team-a", body={"signature_threshold": 2},
                    token=W.admin)
    status(r, 200)
    one_event(n0, "namespace.settings", A, "admin@ops",
              {"signature_threshold": {"from": 1, "to": 2}}, W.admin_id, r)
    n0 = log_size()
    status(W.A.request("PUT", "/v1/namespaces/team-a", body={"signature_threshold": 2},
                       token=W.admin), 200)
    nothing_since(n0, "an unchanged setting")


def t_denied_forbidden():
    n0 = log_size()
    r = submit(W.A, W.reader, A, "bert", payload(A, "bert", "denied"))
    status(r, 403)
    one_event(n0, "write.denied", A, "viewer@team-a",
              {"code": "forbidden", "required_role": "submitter", "namespace": A,
               "method": "POST", "route": "/v1/configs/{ns}/{name}/versions",
               "status": 403}, W.reader_id, r)


def t_denied_signature():
    n0 = log_size()
    data = payload(A, "bert", "one signature of two")
    r = submit(W.A, W.sub, A, "bert", data)
    status(r, 403)
    eq(r.json()["code"], "signature_refused", "problem code")
    one_event(n0, "write.denied", "team-a/bert", "ci@team-a",
              {"code": "signature_refused", "digest": digest_of(data),
               "reasons": [{"path": "signatures", "rule": "threshold"}],
               "method": "POST", "route": "/v1/configs/{ns}/{name}/versions",
               "status": 403}, W.sub_id, r)
    n0 = log_size()
    r = submit(W.A, W.sub, A, "bert", data, (W.key, W.key2))
    status(r, 201, "two signatures")
    eq([e["action"] for e in new_events(n0)], ["version.created"], "events")


def t_leaves_recompute():
    # Every event stored is canonical and hashes to its leaf_hash.
    es = entries(W.A, W.auditor)
    for i, e in enumerate(es):
        eq(e["index"], i, "index")
        eq(base64.b64encode(leaf_hash(canonical(e["event"]))).decode(), e["leaf_hash"],
           "leaf_hash of entry %d" % i)
    raw = W.R.psql("SELECT event FROM audit_events ORDER BY idx").stdout.splitlines()
    eq([r.encode() for r in raw], [canonical(e["event"]) for e in es],
       "stored event texts are RFC 8785")


# ---------------------------------------------------------------- checkpoints

def t_checkpoint_post():
    r = W.A.request("POST", "/v1/audit/checkpoint", token=W.auditor)
    assert r.status in (200, 201), r.describe()
    size, root = check_note(r.body.decode())
    eq(size, log_size(), "checkpoint size")
    eq(root, recomputed_tree(W.A).root(size), "signed root vs recomputed root")
    r2 = W.B.request("POST", "/v1/audit/checkpoint", token=W.auditor)
    status(r2, 200, "a second POST with nothing new")
    eq(r2.body, r.body, "the same checkpoint")
    r3 = W.A.request("POST", "/v1/audit/checkpoint", token=W.reader)
    status(r3, 403, "a reader")


def t_checkpoint_race():
    """POSTs at once to both replicas for the same new size: each is 200 or
    201 (one of them signs it, the others find it), never a 500: an
    INSERT that meets a concurrent one's checkpoint of that size is not
    an error."""
    import threading
    seen = {}
    for rnd in range(12):
        status(W.A.request("PUT", "/v1/namespaces/team-b", token=W.admin,
                           body={"signature_threshold": 2 + rnd % 5}), 200)
        out = []

        def post(srv):
            r = srv.request("POST", "/v1/audit/checkpoint", token=W.auditor)
            out.append((r.status, r.body))
        ts = [threading.Thread(target=post, args=(srv,))
              for srv in (W.A, W.B, W.A, W.B)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        for st, body in out:
            seen[st] = seen.get(st, 0) + 1
            assert st in (200, 201), "round %d: a checkpoint POST answered %d: %r" % (
                rnd, st, body[:300])
        eq(len({b for _, b in out}), 1, "round %d: one checkpoint for everyone" % rnd)
    note("checkpoint race: %s" % ", ".join("%d x%d" % kv for kv in sorted(seen.items())))


def t_checkpointer_every():
    r = W.A.request("POST", "/v1/audit/checkpoint", token=W.auditor)
    assert r.status in (200, 201), r.describe()
    base = check_note(r.body.decode())[0]
    eq(base, log_size(), "latest checkpoint covers the log")
    for i in range(4):
        status(W.A.request("PUT", "/v1/namespaces/team-b", token=W.admin,
                           body={"signature_threshold": 2 + i}), 200)
    time.sleep(1.5)
    eq(check_note(latest_checkpoint(W.A))[0], base, "no checkpoint after 4 events")
    status(W.A.request("PUT", "/v1/namespaces/team-b", token=W.admin,
                       body={"signature_threshold": 9}), 200)
    deadline = time.time() + 6
    while time.time() < deadline:
        size, root = check_note(latest_checkpoint(W.A))
        if size > base:
            break
        time.sleep(0.1)
    eq(size, base + 5, "checkpoint size after 5 events")
    eq(root, recomputed_tree(W.A).root(size), "signed root")


def t_cli_checkpoint():
    res = expect(optreg(W.A, "audit", "checkpoint", "--registry-key", W.R.registry_pub), 0)
    eq(res.out, latest_checkpoint(W.A), "the printed note")
    assert "verified: size" in res.err and "warning" not in res.err, res.describe()
    res = expect(optreg(W.A, "audit", "checkpoint"), 0, "not pinned")
    assert "not pinned" in res.err, res.describe()
    res = expect(optreg(W.A, "audit", "checkpoint", "--registry-key",
                        W.key.key_path.replace(".pem", ".pub.pem")), 1, "a wrong key")
    assert "does not verify" in res.err, res.describe()
    res = expect(optreg(W.A, "audit", "checkpoint", "--json", "--registry-key",
                        W.R.registry_pub), 0)
    j = json.loads(res.out)
    eq(j["note"], latest_checkpoint(W.A), "--json note")
    eq(j["size"], check_note(j["note"])[0], "--json size")
    expect(optreg(W.A, "audit", "checkpoint", token=W.reader), 4, "a reader")


# ---------------------------------------------------------------- receipts

def t_receipt_inclusion():
    for rec, index in ((W.v1_receipt, W.v1_index),):
        eq(rec["payloadType"], RECEIPT_TYPE, "receipt payloadType")
        p = json.loads(b64d(rec["payload"]))
        eq(p["audit_index"], index, "audit_index")
        eq(p["audit_tree_size"], index + 1, "audit_tree_size")
        ev = entries(W.A, W.auditor, start=index, end=index + 1)[0]
        eq(ev["event"]["action"], "version.created", "the event at audit_index")
        eq(ev["event"]["target"], "%s/%s@%d" % (p["namespace"], p["name"], p["version"]),
           "its target")
        leaf = leaf_hash(canonical(ev["event"]))
        proof = [b64d(h) for h in p["audit_inclusion"]]
        root = b64d(p["audit_root"])
        assert verify_inclusion(index, index + 1, leaf, proof, root), p
        eq(root, recomputed_tree(W.A, index + 1).root(index + 1), "audit_root")
        if proof:
            assert not verify_inclusion(index, index + 1, leaf, flipped(proof, 0, 5), root)
    # A fresh submit too, on the other replica.
    data = payload(C, "gpt", "receipt")
    r = submit(W.B, W.sub, C, "gpt", data)
    status(r, 201)
    p = json.loads(b64d(r.json()["receipt"]["payload"]))
    i, n = p["audit_index"], p["audit_tree_size"]
    eq(n, i + 1, "audit_tree_size")
    ev = entries(W.A, W.auditor, start=i, end=i + 1)[0]["event"]
    eq((ev["action"], ev["target"], ev["details"]["digest"]),
       ("version.created", "team-c/gpt@1", digest_of(data)), "the receipt's event")
    assert verify_inclusion(i, n, leaf_hash(canonical(ev)),
                            [b64d(h) for h in p["audit_inclusion"]], b64d(p["audit_root"]))
    # The server's proof at the current size also verifies against its
    # current root.
    size = log_size()
    j = W.A.request("GET", "/v1/audit/proof/inclusion?index=%d&size=%d" % (i, size),
                    token=W.auditor).json()
    assert verify_inclusion(i, size, leaf_hash(canonical(ev)),
                            [b64d(h) for h in j["hashes"]], b64d(j["root"])), j


# ---------------------------------------------------------------- database

AUDIT_TABLES = ("audit_events", "audit_nodes", "audit_checkpoints", "audit_head")


def t_triggers_refuse():
    for t in AUDIT_TABLES:
        for sql in ("UPDATE %s SET %s" % (t, "size = size - 1" if t == "audit_head" else
                                          "idx = idx" if t != "audit_checkpoints" else
                                          "size = size"),
                    "DELETE FROM %s" % t, "TRUNCATE %s" % t):
            p = W.R.psql(sql, check=False)
            assert p.returncode != 0, "%s succeeded as superuser" % sql
            assert "append-only" in p.stderr or "only grows" in p.stderr, \
                "%s: %s" % (sql, p.stderr)
    eq(int(W.R.psql("SELECT count(*) FROM audit_events").stdout), log_size(), "rows kept")


def t_app_role_grants():
    rows = W.R.psql(
        "SELECT t, p, has_table_privilege('optreg_app', t, p) FROM "
        "unnest(ARRAY['audit_events','audit_nodes','audit_checkpoints','audit_head']) t, "
        "unnest(ARRAY['SELECT','INSERT','UPDATE','DELETE','TRUNCATE']) p").stdout
    got = {}
    for line in rows.strip().splitlines():
        t, p, v = line.split("|")
        got[(t, p)] = v == "t"
    for t in AUDIT_TABLES:
        for p in ("DELETE", "TRUNCATE"):
            eq(got[(t, p)], False, "optreg_app %s on %s" % (p, t))
        eq(got[(t, "SELECT")], True, "optreg_app SELECT on %s" % t)
        eq(got[(t, "UPDATE")], t == "audit_head", "optreg_app UPDATE on %s" % t)
        eq(got[(t, "INSERT")], t != "audit_head", "optreg_app INSERT on %s" % t)
    # And as the role itself: refused before any trigger runs, and it
    # cannot switch the triggers off.
    for sql in ("DELETE FROM audit_events", "UPDATE audit_nodes SET idx = idx",
                "TRUNCATE audit_checkpoints", "DELETE FROM audit_head",
                "ALTER TABLE audit_events DISABLE TRIGGER USER"):
        p = W.R.psql("SET ROLE optreg_app; " + sql, check=False)
        assert p.returncode != 0, "optreg_app could: " + sql
        assert "permission denied" in p.stderr or "must be owner" in p.stderr, \
            "%s: %s" % (sql, p.stderr)


# ---------------------------------------------------------------- concurrency

def t_concurrency():
    n0 = log_size()
    threads, rounds = 8, 6
    created, moved, errors = [], [], []
    lock = threading.Lock()
    datas = {}

    def prepare(t):
        for i in range(rounds):
            d = payload(C, "conc-%d" % (t % 2), "t%d-r%d" % (t, i))
            datas[(t, i)] = (d, envelope(d, (W.key,)))

    prep = [threading.Thread(target=prepare, args=(t,)) for t in range(threads)]
    for th in prep:
        th.start()
    for th in prep:
        th.join()

    def worker(t):
        srv = W.A if t % 2 == 0 else W.B
        name = "conc-%d" % (t % 2)
        try:
            for i in range(rounds):
                _, env = datas[(t, i)]
                r = srv.request("POST", "/v1/configs/%s/%s/versions" % (C, name),
                                body=env, token=W.sub)
                assert r.status == 201, r.describe()
                v = r.json()["version"]
                rp = json.loads(b64d(r.json()["receipt"]["payload"]))
                with lock:
                    created.append((name, v, rp["audit_index"]))
                for _ in range(50):
                    g = srv.request("GET", "/v1/configs/%s/%s/tags/prod" % (C, name),
                                    token=W.sub)
                    cur = g.json()["version"] if g.status == 200 else None
                    r = put_tag(srv, W.sub, C, name, "prod", v, cur)
                    if r.status == 200:
                        with lock:
                            moved.append((name, cur, v))
                        break
                    assert r.status == 409, r.describe()
                    # The other server's cache learns of a move through a
                    # notification, within 2 s (registry_test.py): back off
                    # rather than spend every try inside that window.
                    time.sleep(0.01 * (1 + _ // 10))
                else:
                    raise AssertionError("tag move never won")
        except Exception as e:  # noqa: BLE001
            with lock:
                errors.append("thread %d: %s" % (t, e))

    ths = [threading.Thread(target=worker, args=(t,)) for t in range(threads)]
    for th in ths:
        th.start()
    for th in ths:
        th.join()
    assert not errors, "\n".join(errors[:5])
    es = entries(W.A, W.auditor)
    eq([e["index"] for e in es], list(range(len(es))), "gapless indexes")
    eq(len(es), log_size(), "log size")
    mine = [e for e in es[n0:]]
    eq(len(mine), len(created) + len(moved), "one event per change")
    by_index = dict((e["index"], e["event"]) for e in mine)
    for name, v, idx in created:
        eq((by_index[idx]["action"], by_index[idx]["target"]),
           ("version.created", "%s/%s@%d" % (C, name, v)), "the receipt's audit_index")
    for name in ("conc-0", "conc-1"):
        vs = [int(e["event"]["target"].rsplit("@", 1)[1]) for e in mine
              if e["event"]["action"] == "version.created"
              and e["event"]["target"].startswith("%s/%s@" % (C, name))]
        eq(vs, list(range(1, len(vs) + 1)), "%s: version.created in version order" % name)
        chain = [(e["event"]["details"]["from"], e["event"]["details"]["to"]) for e in mine
                 if e["event"]["action"] == "tag.moved"
                 and e["event"]["target"] == "%s/%s@prod" % (C, name)]
        eq(len(chain), rounds * threads // 2, "%s: tag moves" % name)
        eq(chain[0][0], None, "%s: the first move creates the tag" % name)
        for (f0, t0), (f1, t1) in zip(chain, chain[1:]):
            assert f1 == t0, "%s: tag.moved chain breaks: %r" % (name, chain)
        # A tag move can only name a version created before it.
        where = dict((int(e["event"]["target"].rsplit("@", 1)[1]), e["index"]) for e in mine
                     if e["event"]["action"] == "version.created"
                     and e["event"]["target"].startswith("%s/%s@" % (C, name)))
        for e in mine:
            if e["event"]["target"] == "%s/%s@prod" % (C, name):
                assert where[e["event"]["details"]["to"]] < e["index"], e
    # Times are taken before the append lock: under contention they need
    # not follow the index order, which is the order (docs/audit.md).
    times = [e["event"]["time"] for e in mine]
    note("concurrency: %d events, %d times earlier than the event before" % (
        len(mine), sum(1 for a, b in zip(times, times[1:]) if b < a)))
    # No change without its event, counted in the tables themselves.
    counts = W.R.psql(
        "SELECT (SELECT count(*) FROM versions), "
        "(SELECT count(*) FROM audit_events WHERE action = 'version.created')").stdout
    a, b = counts.strip().split("|")
    eq(a, b, "versions vs version.created events")


# ---------------------------------------------------------------- proofs

def t_vectors():
    # The verifiers here against transparency-dev's vectors first, so that
    # what they say about the server means something.
    n = 0
    for path in sorted(glob.glob(os.path.join(MERKLE_VECTORS, "inclusion", "*", "*.json"))):
        with open(path) as f:
            v = json.load(f)
        try:
            proof = [base64.b64decode(h) for h in v["proof"] or []]
            ok = verify_inclusion(v["leafIdx"], v["treeSize"], base64.b64decode(v["leafHash"]),
                                  proof, base64.b64decode(v["root"]))
        except (ValueError, TypeError):
            ok = False
        eq(ok, not v["wantErr"], path)
        n += 1
    for path in sorted(glob.glob(os.path.join(MERKLE_VECTORS, "consistency", "*", "*.json"))):
        with open(path) as f:
            v = json.load(f)
        proof = [base64.b64decode(h) for h in v["proof"] or []]
        ok = verify_consistency(v["size1"], v["size2"], base64.b64decode(v["root1"]),
                                base64.b64decode(v["root2"]), proof)
        eq(ok, not v["wantErr"], path)
        n += 1
    assert n > 50, "only %d vectors found" % n
    with open(os.path.join(MERKLE_VECTORS, "reference_tree.json")) as f:
        ref = json.load(f)
    t = Tree([leaf_hash(bytes.fromhex(x)) for x in ref["leaf_inputs_hex"]])
    for size, want in enumerate(ref["root_hash_by_tree_size_hex"]):
        eq(t.root(size).hex(), want, "reference root at size %d" % size)


def grow_log(to):
    """Appends synthetic events with SQL audit_append until the log has `to`."""
    n = log_size()
    if n >= to:
        return
    ev = ("'{\"action\":\"test.synthetic\",\"actor\":{\"principal\":\"prop\","
          "\"token_id\":\"\"},\"details\":{\"n\":' || g || '},\"request_id\":\"\","
          "\"target\":\"synthetic/' || g || '\",\"time\":\"2026-01-01T00:00:00.000Z\"}'")
    W.R.psql("SELECT count(audit_append(%s, now(), 'prop', 'test.synthetic', "
             "'synthetic/' || g)) FROM generate_series(%d, %d) g" % (ev, n, to - 1))


def t_grow():
    grow_log(1024)
    eq(log_size(), 1024, "log size")
    W.tree = recomputed_tree(W.A)
    eq(len(W.tree.leaves), 1024, "entries")


def proof_pairs(kind, rnd):
    pairs = []
    for n in range(1, 17):
        for a in range(0 if kind == "inclusion" else 1, n + (0 if kind == "inclusion" else 1)):
            pairs.append((a, n))
    for _ in range(300):
        n = rnd.randint(1, 1024)
        pairs.append((rnd.randint(0, n - 1) if kind == "inclusion" else rnd.randint(1, n), n))
    pairs += [(1000, 1024), (1023, 1024), (512, 1024), (1, 1024), (1024, 1024)] \
        if kind != "inclusion" else [(0, 1024), (1023, 1024), (511, 1024), (512, 1024)]
    return pairs


def t_inclusion_property():
    rnd = random.Random(9162)
    t, n_flips = W.tree, 0
    for index, size in proof_pairs("inclusion", rnd):
        r = W.A.request("GET", "/v1/audit/proof/inclusion?index=%d&size=%d" % (index, size),
                        token=W.auditor)
        status(r, 200)
        j = r.json()
        proof, root = [b64d(h) for h in j["hashes"]], b64d(j["root"])
        eq((j["index"], j["size"]), (index, size), "echo")
        eq(root, t.root(size), "root at size %d" % size)
        eq(proof, t.inclusion(index, size), "inclusion(%d, %d) vs RFC 9162 PATH" % (index, size))
        leaf = t.leaves[index]
        assert verify_inclusion(index, size, leaf, proof, root), (index, size)
        assert not verify_inclusion(index, size, flipped([leaf], 0, 0)[0], proof, root)
        every = size <= 16 and index in (0, size - 1)
        for i in range(len(proof)):
            for bit in (range(256) if every else (rnd.randrange(256),)):
                assert not verify_inclusion(index, size, leaf, flipped(proof, i, bit), root), \
                    "inclusion(%d, %d) verifies with bit %d of hash %d flipped" % (
                        index, size, bit, i)
                n_flips += 1
    note("inclusion: %d flipped proofs refused" % n_flips)


def t_consistency_property():
    rnd = random.Random(6962)
    t, n_flips = W.tree, 0
    for m, n in proof_pairs("consistency", rnd):
        r = W.A.request("GET", "/v1/audit/proof/consistency?from=%d&to=%d" % (m, n),
                        token=W.auditor)
        status(r, 200)
        proof = [b64d(h) for h in r.json()["hashes"]]
        eq(proof, t.consistency(m, n) if m < n else [], "consistency(%d, %d) vs PROOF" % (m, n))
        assert verify_consistency(m, n, t.root(m), t.root(n), proof), (m, n)
        if m < n:
            assert not verify_consistency(m, n, t.root(m), t.root(n - 1), proof), (m, n)
        every = n <= 16 and m in (1, n - 1)
        for i in range(len(proof)):
            for bit in (range(256) if every else (rnd.randrange(256),)):
                assert not verify_consistency(m, n, t.root(m), t.root(n),
                                              flipped(proof, i, bit)), \
                    "consistency(%d, %d) verifies with bit %d of hash %d flipped" % (
                        m, n, bit, i)
                n_flips += 1
    note("consistency: %d flipped proofs refused" % n_flips)
    for q in ("from=0&to=5", "from=6&to=5", "from=1&to=5000"):
        status(W.A.request("GET", "/v1/audit/proof/consistency?" + q, token=W.auditor), 400, q)
    for q in ("index=5&size=5", "index=0&size=0", "index=0&size=5000"):
        status(W.A.request("GET", "/v1/audit/proof/inclusion?" + q, token=W.auditor), 400, q)


def t_cli_verify_grown():
    r = W.A.request("POST", "/v1/audit/checkpoint", token=W.auditor)
    assert r.status in (200, 201), r.describe()
    res = expect(optreg(W.A, "audit", "verify", "--registry-key", W.R.registry_pub), 0)
    want = "verified 1024 events; root %s matches the checkpoint of size 1024 signed by " \
           "optreg.local/audit" % base64.b64encode(W.tree.root(1024)).decode()
    assert res.out.startswith(want), "want %r:\n%s" % (want, res.describe())


def t_cli_log():
    res = expect(optreg(W.A, "audit", "log", "--action", "tag.moved", "--target",
                        "team-a/bert@prod"), 0)
    lines = res.out.strip().split("\n")
    eq(lines[0].split(), ["INDEX", "TIME", "ACTOR", "ACTION", "TARGET", "DETAILS"], "heading")
    eq(len(lines), 3, "two tag moves")
    assert lines[1].endswith("prod: (new) -> 1") and lines[2].endswith("prod: 1 -> 2"), res.out
    res = expect(optreg(W.A, "audit", "log", "--actor", "viewer@team-a", "--json"), 0)
    j = json.loads(res.out)
    # The signature-less submit and the checkpoint POST of the tests above.
    eq([e["event"]["action"] for e in j["entries"]], ["write.denied"] * 2, "--actor")
    eq(j["next_start"], None, "next_start")
    res = expect(optreg(W.A, "audit", "log", "--action", "test.synthetic", "--limit", "1500",
                        "--json"), 0)
    want = int(W.R.psql("SELECT count(*) FROM audit_events WHERE action = 'test.synthetic'")
               .stdout)
    eq(len(json.loads(res.out)["entries"]), want, "synthetic entries over two pages")
    res = expect(optreg(W.A, "audit", "log", "--limit", "3", "--json"), 0)
    j = json.loads(res.out)
    eq(([e["index"] for e in j["entries"]], j["next_start"]), ([0, 1, 2], 3), "--limit 3")
    res = expect(optreg(W.A, "audit", "log", "--since", "1h", "--until", "2999-01-01T00:00:00Z",
                        "--action", "key.revoked", "--json"), 0)
    eq(len(json.loads(res.out)["entries"]), 1, "--since 1h")
    expect(optreg(W.A, "audit", "log", "--since", "yesterday"), 1, "a bad --since")
    expect(optreg(W.A, "audit", "log", token=W.sub), 4, "a submitter")
    for args in (("audit", "--help"), ("audit", "log", "--help"),
                 ("audit", "checkpoint", "-h"), ("audit", "verify", "--help")):
        res = expect(optreg(W.A, *args), 0, " ".join(args))
        assert res.out.startswith("usage: optreg audit"), res.describe()
    expect(optreg(W.A, "audit"), 2, "no subcommand")
    expect(optreg(W.A, "audit", "frobnicate"), 2, "unknown subcommand")
    expect(optreg(W.A, "audit", "verify", "--bogus"), 2, "unknown option")


# ---------------------------------------------------------------- tampering

def tsql(sql):
    """SQL as the superuser with the audit triggers off (and on again)."""
    off = "".join("ALTER TABLE %s DISABLE TRIGGER USER; " % t for t in AUDIT_TABLES)
    on = "".join("ALTER TABLE %s ENABLE TRIGGER USER; " % t for t in AUDIT_TABLES)
    return W.T.psql(off + sql + "; " + on)


def t_size():
    return int(W.T.psql("SELECT size FROM audit_head").stdout.strip())


def tamper_setup():
    W.T = Registry().start()
    W.TS = W.T.server("--checkpoint-every", "1000000", "--checkpoint-interval", "86400",
                      name="T")
    W.tadmin, _ = W.T.token("admin@ops", "admin")
    W.tauditor, _ = W.T.token("auditor@sec", "auditor")
    for i in range(30):
        status(W.TS.request("PUT", "/v1/namespaces/ns-%d" % (i % 7), token=W.tadmin,
                            body={"signature_threshold": 2 + i // 7}), 200)
    status(W.TS.request("POST", "/v1/audit/checkpoint", token=W.tauditor), 201)
    W.saved = os.path.join(W.T.tmp, "saved-checkpoint.json")


def tverify(*extra):
    return optreg(W.TS, "audit", "verify", "--registry-key", W.T.registry_pub, *extra,
                  token=W.tauditor)


def t_checkpointer_refuses():
    n = t_size()
    eq(check_note_t(latest_checkpoint(W.TS, W.tauditor))[0], n, "signed size")
    # Change the leaf-0 hash and every stored ancestor: the root of any
    # size now differs from the signed one.
    tsql("UPDATE audit_nodes SET hash = sha256(hash) WHERE idx = 0")
    cp = W.T.server("--checkpoint-every", "2", "--checkpoint-interval", "1", name="T2")
    for i in range(3):
        status(cp.request("PUT", "/v1/namespaces/more", token=W.tadmin,
                          body={"signature_threshold": 2 + i}), 200)
    deadline = time.time() + 5
    while time.time() < deadline and "inconsistent" not in cp.log_tail(50):
        time.sleep(0.1)
    assert '"rule":"inconsistent"' in cp.log_tail(50), cp.log_tail(50)
    r = W.TS.request("POST", "/v1/audit/checkpoint", token=W.tauditor)
    status(r, 500, "POST over an inconsistent tree")
    eq(check_note_t(latest_checkpoint(W.TS, W.tauditor))[0], n, "nothing new signed")
    eq(W.T.psql("SELECT count(*) FROM audit_checkpoints WHERE size > %d" % n).stdout.strip(),
       "0", "no checkpoint row")
    # Repaired (every hash recomputed from the events), it signs again.
    tsql(rebuild_sql())
    deadline = time.time() + 5
    while time.time() < deadline:
        if check_note_t(latest_checkpoint(W.TS, W.tauditor))[0] == n + 3:
            break
        time.sleep(0.1)
    eq(check_note_t(latest_checkpoint(W.TS, W.tauditor))[0], n + 3, "signed after the repair")
    cp.terminate()


def check_note_t(text):
    return check_note(text, W.T)


def t_save_and_clean_verify():
    res = optreg(W.TS, "audit", "checkpoint", "--new", "--registry-key", W.T.registry_pub,
                 "--out", W.saved, token=W.tauditor)
    expect(res, 0, "checkpoint --out")
    with open(W.saved) as f:
        s = json.load(f)
    W.n = t_size()
    eq((s["format"], s["size"], len(s["leaves"])), ("optreg-audit-checkpoint-v1", W.n, W.n),
       "the saved file")
    eq(check_note_t(s["note"])[0], W.n, "the saved note")
    es = entries(W.TS, W.tauditor)
    eq(s["leaves"], [leaf_hash(canonical(e["event"])).hex() for e in es], "saved leaves")
    res = expect(tverify("--checkpoint", W.saved), 0, "a clean log")
    assert re.match(r"^verified %d events; root \S+ matches the checkpoint of size %d signed "
                    r"by optreg\.local/audit " % (W.n, W.n), res.out), res.describe()
    W.T.psql("CREATE TABLE events_backup AS SELECT * FROM audit_events; "
             "CREATE TABLE nodes_backup AS SELECT * FROM audit_nodes; "
             "CREATE TABLE checkpoints_backup AS SELECT * FROM audit_checkpoints")


def restore():
    tsql("DELETE FROM audit_events; INSERT INTO audit_events SELECT * FROM events_backup; "
         "DELETE FROM audit_nodes; INSERT INTO audit_nodes SELECT * FROM nodes_backup; "
         "DELETE FROM audit_checkpoints; "
         "INSERT INTO audit_checkpoints SELECT * FROM checkpoints_backup; "
         "UPDATE audit_head SET size = %d" % W.n)
    expect(tverify("--checkpoint", W.saved), 0, "restored")


def first_bad(res, index, phrase):
    """The output names entry `index` as the first bad one, first."""
    expect(res, 1, "tampered")
    first = res.err.strip().split("\n")[0]
    assert first.startswith("optreg audit verify: " + phrase % index), \
        "first line %r, want %r\n%s" % (first, phrase % index, res.describe())
    assert res.err.rstrip().endswith("the first bad entry is %d" % index), res.describe()
    for m in re.finditer(r"^optreg audit verify: entry (\d+)", res.err, re.M):
        assert int(m.group(1)) >= index, "names entry %s before %d:\n%s" % (
            m.group(1), index, res.describe())


def t_tamper_edit():
    tsql("UPDATE audit_events SET event = replace(event, '\"ns-', '\"nx-') WHERE idx = 17")
    assert '"nx-' in W.T.psql("SELECT event FROM audit_events WHERE idx = 17").stdout, \
        "the edit did not apply"
    first_bad(tverify("--checkpoint", W.saved), 17, "entry %d does not match: ")
    first_bad(tverify(), 17, "entry %d does not match: ")
    restore()


def t_tamper_delete():
    tsql("DELETE FROM audit_events WHERE idx = 23")
    first_bad(tverify("--checkpoint", W.saved), 23, "entry %d is missing")
    restore()


def t_tamper_reorder():
    tsql("UPDATE audit_events a SET event = b.event FROM events_backup b "
         "WHERE (a.idx, b.idx) IN ((11, 12), (12, 11))")
    first_bad(tverify("--checkpoint", W.saved), 11, "entry %d does not match: ")
    restore()


def rebuild_sql():
    """Recomputes every leaf hash and subtree from the event texts, as an
    attacker who knows the scheme would, through audit_append itself."""
    return ("CREATE TEMP TABLE ev AS SELECT * FROM audit_events; "
            "DELETE FROM audit_events; DELETE FROM audit_nodes; "
            "UPDATE audit_head SET size = 0; "
            "SELECT count(audit_append(event, time, actor, action, target)) "
            "FROM (SELECT * FROM ev ORDER BY idx) e")


def t_tamper_rewrite():
    tsql("UPDATE audit_events SET event = replace(event, '\"ns-', '\"nz-') WHERE idx = 9; "
         + rebuild_sql())
    assert '"nz-' in W.T.psql("SELECT event FROM audit_events WHERE idx = 9").stdout
    res = expect(tverify(), 1, "rewritten, no saved checkpoint")
    assert "they are not the events that were signed" in res.err, res.describe()
    assert "only a saved checkpoint" in res.err, res.describe()
    assert "first bad entry" not in res.err, res.describe()
    first_bad(tverify("--checkpoint", W.saved), 9, "entry %d does not match the saved checkpoint")
    restore()


def t_tamper_resigned():
    # The limit of a log its own operator signs: with the checkpoints
    # deleted too, the registry signs the rewritten log, and only a
    # checkpoint saved outside it can tell.
    tsql("UPDATE audit_events SET event = replace(event, '\"ns-', '\"ny-') WHERE idx = 5; "
         "DELETE FROM audit_checkpoints; " + rebuild_sql())
    status(W.TS.request("POST", "/v1/audit/checkpoint", token=W.tauditor), 201,
           "the registry signs the rewritten log")
    res = expect(tverify(), 0, "without a saved checkpoint")
    first_bad(tverify("--checkpoint", W.saved), 5, "entry %d does not match the saved checkpoint")
    res = tverify("--checkpoint", W.saved)
    assert "consistency proof" in res.err, res.describe()
    restore()


def t_tamper_not_json():
    tsql("UPDATE audit_events SET event = '{\"action\":' WHERE idx = 26")
    first_bad(tverify("--checkpoint", W.saved), 26, "entry %d does not match: ")
    restore()


def t_tamper_truncate_append():
    k = 5
    cut = W.n - k
    tsql("DELETE FROM audit_events WHERE idx >= %d; "
         "DELETE FROM audit_nodes WHERE ((idx + 1) << level) > %d; "
         "UPDATE audit_head SET size = %d" % (cut, cut, cut))
    for i in range(8):
        status(W.TS.request("PUT", "/v1/namespaces/other-%d" % i, token=W.tadmin,
                            body={"signature_threshold": 3}), 200)
    eq(t_size(), cut + 8, "log size")
    status(W.TS.request("POST", "/v1/audit/checkpoint", token=W.tauditor), 500,
           "the registry refuses to sign the forked log")
    first_bad(tverify("--checkpoint", W.saved), cut,
              "entry %d does not match the saved checkpoint")
    res = expect(tverify(), 1, "without the saved checkpoint")
    assert "they are not the events that were signed" in res.err, res.describe()


# ---------------------------------------------------------------- main

def main():
    if not tap.run("setup: registry, two servers, tokens, keys", setup):
        print("1..1")
        return 1
    tests = [
        ("events: token create on the command line (local actor, no token id)",
         t_token_cli_event),
        ("events: key.added", t_key_added),
        ("events: version.created with digest and signer key ids", t_version_created),
        ("events: an identical resubmit logs nothing", t_identical_resubmit),
        ("events: tag.moved (new tag, then 1 -> 2)", t_tag_moved),
        ("events: 409, 404, 400, 401 and reads log nothing", t_refusals_log_nothing),
        ("events: version.yanked, once", t_version_yanked),
        ("events: key.revoked, once", t_key_revoked),
        ("events: token.created and token.revoked through the API", t_token_api),
        ("events: namespace.settings from -> to; unchanged logs nothing",
         t_namespace_settings),
        ("events: write.denied for a 403 forbidden", t_denied_forbidden),
        ("events: write.denied for a 403 signature_refused (and no version)",
         t_denied_signature),
        ("events: every stored event is RFC 8785 and hashes to its leaf_hash",
         t_leaves_recompute),
        ("checkpoints: POST signs one (201), again 200; readers refused", t_checkpoint_post),
        ("checkpoints: POSTs at once to both replicas, never a 500", t_checkpoint_race),
        ("checkpoints: the checkpointer signs after --checkpoint-every events, not before",
         t_checkpointer_every),
        ("checkpoints: optreg audit checkpoint verifies with the pinned key, refuses a wrong one",
         t_cli_checkpoint),
        ("receipts: audit_index/tree_size/root/inclusion verify for the event",
         t_receipt_inclusion),
        ("database: UPDATE, DELETE, TRUNCATE refused for the superuser", t_triggers_refuse),
        ("database: optreg_app has no UPDATE/DELETE/TRUNCATE on audit tables",
         t_app_role_grants),
        ("concurrency: 8 writers, 2 servers: gapless, commit-ordered log", t_concurrency),
        ("proofs: the independent verifier passes the transparency-dev vectors", t_vectors),
        ("proofs: the log grown to 1,024 events with SQL; leaves recompute", t_grow),
        ("proofs: inclusion proofs equal PATH, verify, and fail with any bit flipped",
         t_inclusion_property),
        ("proofs: consistency proofs equal PROOF, verify, and fail with any bit flipped",
         t_consistency_property),
        ("cli: optreg audit verify on 1,024 events", t_cli_verify_grown),
        ("cli: optreg audit log filters, --limit, --json, --help", t_cli_log),
    ]
    for desc, fn in tests:
        tap.run(desc, fn)
    if tap.run("tamper: a second registry with 32 events and a checkpoint", tamper_setup):
        tap.context = W.T.logs
        for desc, fn in [
            ("tamper: the checkpointer refuses an inconsistent root, logs it, resumes when "
             "repaired", t_checkpointer_refuses),
            ("tamper: checkpoint --out saves note and leaves; a clean log verifies (exit 0)",
             t_save_and_clean_verify),
            ("tamper: (a) an edited event is named (entry 17)", t_tamper_edit),
            ("tamper: (b) a deleted event is named (entry 23)", t_tamper_delete),
            ("tamper: (c) two swapped events: the first is named (entry 11)", t_tamper_reorder),
            ("tamper: (e) an edit with every hash recomputed: the signed root catches it, the "
             "saved checkpoint names entry 9", t_tamper_rewrite),
            ("tamper: (g) rewritten and re-signed (checkpoints deleted): only the saved "
             "checkpoint tells, naming entry 5", t_tamper_resigned),
            ("tamper: (f) an event that is not JSON is named (entry 26)", t_tamper_not_json),
            ("tamper: (d) the tail cut and new events appended: the first is named",
             t_tamper_truncate_append),
        ]:
            tap.run(desc, fn)
    return tap.finish()


if __name__ == "__main__":
    sys.exit(main())
