#!/usr/bin/python3
"""tests/e2e/registry_test.py: optreg-server end to end, over loopback HTTP
against a real PostgreSQL cluster (scripts/pg), as docs/api.md promises.

One cluster for the whole run; servers (all `optreg-server serve` on
127.0.0.1:0):

  A  the default server (no anonymous reads)
  B  a second replica on the same database (caches, LISTEN/NOTIFY)
  C  --anonymous-read --max-body 2048
  D  killed with SIGKILL in the middle of a burst of submits
  E  started after D died, to look at what D left
  F  stopped with SIGTERM while requests are in flight
  G  stopped with SIGTERM under a steady load
  H  stopped with SIGTERM while a keep-alive connection sits idle

Every accepted submit is signed (DSSE, Ed25519) with a key made by the
openssl command line and registered through POST /v1/keys, so the server's
verification is checked against a signer it did not write.

Sections: operations; routing; submit; signatures, keys and receipts; fetch
by version, tag and digest; tags; yank; pagination and search; tokens and
roles; two replicas under concurrency; crash safety; PostgreSQL outage;
graceful shutdown. Tests run in order and build on each other's data.

usage: tests/e2e/registry_test.py     (from the repository root, as
                                       scripts/run-tests does)
env:   BIN   folder with optreg and optreg-server (default "bin")
       OPTREG_E2E_KEEP=1 keeps the temporary directory (logs, cluster)

Prints TAP (`ok N - desc`, `not ok N - desc` with `# ` diagnostics, the plan
`1..N` last) and exits 1 when any test fails. Everything it starts is
stopped on exit, whatever happens.
"""

import base64
import binascii
import fnmatch
import hashlib
import http.client as http_client
import json
import os
import random
import re
import signal
import socket
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

sys.dont_write_bytecode = True  # no __pycache__ in the working tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import (  # noqa: E402
    PAYLOAD_TYPE, Configs, Registry, Signer, Tap, digest_of, doc, envelope,
    openssl_verify, pae, pem_der, run, run_suite)

A_NS, B_NS = "team-a", "team-b"
HEX32 = re.compile(r"^[0-9a-f]{32}$")
IMMUTABLE = "public, max-age=31536000, immutable"

tap = Tap()


# ---------------------------------------------------------------- helpers

def note(text):
    print("# " + text)
    sys.stdout.flush()


def eq(got, want, what):
    assert got == want, "%s: expected %r, got %r" % (what, want, got)


def status(r, want, what=""):
    assert r.status == want, "%sexpected HTTP %d, got:\n%s" % (
        what + ": " if what else "", want, r.describe())


def problem(r, want_status, code, detail_has=()):
    """r is an RFC 9457 problem with the given status and code."""
    status(r, want_status)
    ct = r.header("Content-Type", "")
    assert ct.split(";")[0].strip() == "application/problem+json", \
        "Content-Type %r, want application/problem+json\n%s" % (ct, r.describe())
    body = r.json()
    for field in ("type", "title", "status", "detail", "code", "request_id"):
        assert field in body, "problem lacks %r: %r" % (field, body)
    eq(body["status"], want_status, "problem status field")
    eq(body["code"], code, "problem code")
    eq(body["type"], "https://optreg.dev/problems/" + code, "problem type")
    assert isinstance(body["title"], str) and body["title"], "empty title: %r" % body
    assert isinstance(body["detail"], str) and body["detail"], "empty detail: %r" % body
    eq(body["request_id"], r.header("X-Request-Id"), "problem request_id vs X-Request-Id")
    for s in detail_has:
        assert s in body["detail"], "detail %r does not mention %r" % (body["detail"], s)
    if want_status == 401:
        assert (r.header("WWW-Authenticate") or "").startswith("Bearer"), \
            "401 without WWW-Authenticate: Bearer\n%s" % r.describe()
    if want_status == 405:
        assert r.header("Allow"), "405 without Allow\n%s" % r.describe()
    return body


def signed(payload, signers=None):
    """The envelope of `payload`, signed by W.key unless told otherwise."""
    return envelope(payload, (W.key,) if signers is None else signers)


def submit(srv, token, ns, name, payload, signers=None, env=None, **kw):
    """POSTs the envelope `env`, or `payload` signed by `signers` (default:
    the registered key W.key)."""
    return srv.request("POST", "/v1/configs/%s/%s/versions" % (ns, name),
                       body=env if env is not None else signed(payload, signers),
                       token=token, **kw)


def prepare(fn, items):
    """fn over items on a few threads (config files, signatures: each a
    subprocess), in order."""
    with ThreadPoolExecutor(8) as ex:
        return list(ex.map(fn, items))


def add_key(signer, principal, namespaces, srv=None):
    r = (srv or W.A).request("POST", "/v1/keys", token=W.admin, body={
        "public_key": signer.public_pem, "principal": principal, "namespaces": namespaces})
    status(r, 201, "register key %s" % signer.keyid)
    return r


def versions_of(srv, token, ns, name):
    """Every version number listed, newest first (walking all pages)."""
    out, tok = [], None
    for _ in range(1000):
        path = "/v1/configs/%s/%s/versions?page_size=100" % (ns, name)
        if tok:
            path += "&page_token=" + tok
        r = srv.request("GET", path, token=token)
        status(r, 200, "list versions")
        b = r.json()
        out += b["versions"]
        tok = b["next_page_token"]
        if not tok:
            return out
    raise AssertionError("paging never ends")


def parallel(fn, items):
    """Runs fn(item) on one thread per item, all released at once; returns
    the results in order (an exception becomes the result)."""
    results = [None] * len(items)
    gate = threading.Barrier(len(items))

    def body(i, item):
        try:
            gate.wait(10)
            results[i] = fn(item)
        except Exception as e:  # noqa: BLE001
            results[i] = e

    ts = [threading.Thread(target=body, args=(i, it)) for i, it in enumerate(items)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(120)
    return results


def no_exceptions(results):
    bad = [r for r in results if isinstance(r, Exception)]
    assert not bad, "%d requests raised, first: %r" % (len(bad), bad[0])


def metric(srv, name):
    r = srv.request("GET", "/metrics")
    status(r, 200, "/metrics")
    total = 0.0
    found = False
    for line in r.body.decode().splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            total += float(line.rsplit(" ", 1)[1])
            found = True
    assert found, "/metrics has no %s" % name
    return total


def within(seconds, fn, interval=0.02):
    """Calls fn() until it returns a true value or `seconds` pass; returns
    (value, seconds waited, whether the first call already succeeded)."""
    start = time.time()
    first = True
    while True:
        v = fn()
        if v:
            return v, time.time() - start, first
        first = False
        if time.time() - start > seconds:
            return v, time.time() - start, False
        time.sleep(interval)


B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def fake_token(good_checksum=True):
    """A token of the documented shape, unknown to the server."""
    body = "".join(random.choice(B62) for _ in range(43))
    crc = binascii.crc32(body.encode())
    sum62 = ""
    for _ in range(6):
        sum62 = B62[crc % 62] + sum62
        crc //= 62
    if not good_checksum:
        sum62 = sum62[:-1] + ("A" if sum62[-1] != "A" else "B")
    return "optreg_%s_%s" % (body, sum62)


# ---------------------------------------------------------------- state

class World:
    pass


W = World()


def setup():
    W.reg = Registry().start()
    W.cfg = Configs(W.reg.tmp)
    t = W.reg.token
    W.admin, W.admin_id = t("admin@ops", "admin")
    W.reader_a, _ = t("reader@team-a", "reader", A_NS)
    W.sub_a, W.sub_a_id = t("ci@team-a", "submitter", A_NS)
    W.appr_a, _ = t("lead@team-a", "approver", A_NS)
    W.sub_b, _ = t("ci@team-b", "submitter", B_NS)
    W.A = W.reg.server(name="A")
    W.B = W.reg.server(name="B")
    W.C = W.reg.server("--anonymous-read", "--max-body", "2048", name="C")
    # The key every ordinary submit is signed with, allowed everywhere.
    W.key = Signer(W.reg.tmp, "ci")
    r = W.A.request("POST", "/v1/keys", token=W.admin, body={
        "public_key": W.key.public_pem, "principal": "ci@team-a", "namespaces": ["*"]})
    if r.status != 201:
        raise AssertionError("POST /v1/keys for the test key:\n" + r.describe())


# ---------------------------------------------------------------- operations

def t_healthz():
    r = W.A.request("GET", "/healthz")
    status(r, 200)
    eq(r.json(), {"status": "ok"}, "/healthz body")


def t_readyz():
    r = W.A.request("GET", "/readyz")
    status(r, 200)


def t_metrics():
    W.A.request("GET", "/v1/configs", token=W.admin)
    r = W.A.request("GET", "/metrics")
    status(r, 200)
    ct = r.header("Content-Type", "")
    assert ct.startswith("text/plain"), "Content-Type %r" % ct
    text = r.body.decode()
    for name in ("optreg_http_requests_total", "optreg_db_pool_size",
                 "optreg_http_request_duration_seconds"):
        assert re.search(r"^%s[{ _]" % name, text, re.M), "no %s in /metrics:\n%s" % (name, text[:1500])
    m = re.search(r'^optreg_http_requests_total\{([^}]*)\} \d', text, re.M)
    assert m, "optreg_http_requests_total has no labelled sample"
    for label in ("route=", "method=", "status="):
        assert label in m.group(1), "optreg_http_requests_total lacks %s: %s" % (label, m.group(0))
    m = re.search(r"^optreg_db_pool_size (\d+)", text, re.M)
    assert m and int(m.group(1)) >= 1, "optreg_db_pool_size: %r" % (m and m.group(0))


def t_request_id_echo():
    rid = "e2e-test.ID_42"
    r = W.A.request("GET", "/healthz", headers={"X-Request-Id": rid})
    eq(r.header("X-Request-Id"), rid, "echoed X-Request-Id")
    r = W.A.request("GET", "/v1/nope", headers={"X-Request-Id": rid})
    body = problem(r, 404, "not_found")
    eq(body["request_id"], rid, "problem request_id")


def t_request_id_generated():
    for hdrs in ({}, {"X-Request-Id": "has spaces and !"}, {"X-Request-Id": "x" * 129}):
        r = W.A.request("GET", "/healthz", headers=hdrs)
        got = r.header("X-Request-Id") or ""
        assert HEX32.match(got), "sent %r, got X-Request-Id %r (want 32 hex)" % (hdrs, got)
    a = W.A.request("GET", "/healthz").header("X-Request-Id")
    b = W.A.request("GET", "/healthz").header("X-Request-Id")
    assert a != b, "two requests got the same generated id %s" % a


def requests_counter(srv, route, method, code):
    text = srv.request("GET", "/metrics").body.decode()
    total = 0.0
    for line in text.splitlines():
        if line.startswith("optreg_http_requests_total{") and \
                'route="%s"' % route in line and 'method="%s"' % method in line and \
                'status="%d"' % code in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


def t_metrics_count():
    route = "/v1/configs/{ns}/{name}/versions/{n}"
    before = requests_counter(W.A, route, "GET", 404)
    for _ in range(3):
        W.A.request("GET", "/v1/configs/team-a/nosuch/versions/1", token=W.admin)
    # Counted when the response is done, which may be just after the client
    # has read it: allow the last one a moment.
    within(1, lambda: requests_counter(W.A, route, "GET", 404) - before >= 3)
    eq(requests_counter(W.A, route, "GET", 404) - before, 3,
       "optreg_http_requests_total{route=%r,method=GET,status=404} increase after 3 requests" % route)


def t_access_log():
    rid = "e2e-access-log-%d" % random.randrange(10 ** 9)
    W.A.request("GET", "/v1/configs/team-a/nosuch/versions/7?page_size=1",
                token=W.admin, headers={"X-Request-Id": rid})

    def log_lines():
        with open(W.A.log_path, "rb") as f:
            lines = f.read().decode("utf-8").splitlines()
        return lines if any(rid in l for l in lines) else None
    lines = within(2, log_lines)[0] or log_lines() or []
    bad = []
    mine = []
    for line in lines:
        try:
            j = json.loads(line)
        except ValueError:
            bad.append(line)
            continue
        if isinstance(j, dict) and j.get("request_id") == rid:
            mine.append(j)
    assert not bad, "%d log lines are not JSON, first: %r" % (len(bad), bad[0][:200])
    eq(len(mine), 1, "log lines with request_id %s" % rid)
    j = mine[0]
    eq((j.get("method"), j.get("status")), ("GET", 404), "method, status")
    assert "/v1/configs/team-a/nosuch/versions/7" in str(j.get("path")), j
    eq(j.get("route"), "/v1/configs/{ns}/{name}/versions/{n}", "route")
    eq(j.get("principal"), "admin@ops", "principal")
    text = "\n".join(lines)
    for name in ("admin", "reader_a", "sub_a", "appr_a", "sub_b"):
        assert getattr(W, name) not in text, "the %s token is in the server log" % name


# ---------------------------------------------------------------- routing

def t_unknown_route():
    # "/" redirects to the web page (tests/e2e/ui_server_test.py).
    for path in ("/v1/nope", "/v1/configs/team-a/x/versions/1/extra", "/v1"):
        problem(W.A.request("GET", path, token=W.admin), 404, "not_found")


def t_method_not_allowed():
    cases = [("DELETE", "/v1/configs/team-a/x/versions", {"GET", "POST"}),
             ("POST", "/v1/digests/sha256:" + "0" * 64, {"GET"}),
             ("DELETE", "/v1/configs/team-a/x/tags/prod", {"GET", "PUT"}),
             ("POST", "/healthz", {"GET"})]
    for method, path, allowed in cases:
        r = W.A.request(method, path, token=W.admin, body=b"{}")
        problem(r, 405, "method_not_allowed")
        allow = {m.strip() for m in (r.header("Allow") or "").split(",") if m.strip()}
        assert allowed <= allow, "%s %s: Allow %r lacks %s" % (method, path, r.header("Allow"), allowed)
        assert method not in allow, "Allow %r lists the refused method" % r.header("Allow")


# ---------------------------------------------------------------- submit

def t_submit_created():
    W.p1 = W.cfg.yaml(A_NS, "sub", lr="3.0e-5")
    r = submit(W.A, W.sub_a, A_NS, "sub", W.p1, content_type="application/json; charset=utf-8")
    status(r, 201)
    b = r.json()
    eq(b.get("created"), True, "created")
    eq(b.get("version"), 1, "version")
    eq(b.get("namespace"), A_NS, "namespace")
    eq(b.get("name"), "sub", "name")
    eq(b.get("digest"), digest_of(W.p1), "digest = sha256 of the canonical payload")
    assert isinstance(b.get("created_at"), str) and b["created_at"], "created_at %r" % b
    loc = r.header("Location") or ""
    assert loc.endswith("/v1/configs/team-a/sub/versions/1"), "Location %r" % loc
    W.d1 = b["digest"]


def t_submit_identical():
    r = submit(W.B, W.sub_a, A_NS, "sub", W.p1)
    status(r, 200)
    b = r.json()
    eq(b.get("created"), False, "created")
    eq(b.get("version"), 1, "version")
    eq(b.get("digest"), W.d1, "digest")
    assert (r.header("Location") or "").endswith("/v1/configs/team-a/sub/versions/1"), \
        "Location %r" % r.header("Location")


def t_submit_same_content_as_json():
    # The same document written as JSON canonicalizes to the same bytes.
    p = W.cfg.json_doc(doc(A_NS, "sub", lr=3e-5, eps=1e-8))
    eq(p, W.p1, "canonical bytes of the YAML and the JSON form")
    r = submit(W.A, W.sub_a, A_NS, "sub", p)
    status(r, 200)
    eq(r.json().get("version"), 1, "version")


def t_submit_new_version():
    W.p2 = W.cfg.yaml(A_NS, "sub", lr="1.0e-4")
    r = submit(W.A, W.sub_a, A_NS, "sub", W.p2)
    status(r, 201)
    b = r.json()
    eq((b.get("version"), b.get("created")), (2, True), "(version, created)")
    W.d2 = b["digest"]


def listed(ns, name):
    return [v["version"] for v in versions_of(W.A, W.admin, ns, name)]


def t_not_canonical():
    before = listed(A_NS, "sub")
    pretty = json.dumps(doc(A_NS, "sub", lr=0.5), indent=2).encode()
    r = submit(W.A, W.sub_a, A_NS, "sub", pretty)
    problem(r, 400, "not_canonical")
    # The canonical form of the same document is valid: only the bytes were wrong.
    status(W.A.request("POST", "/v1/validate", body=pretty, token=W.sub_a), 200, "validate")
    # Keys out of order, otherwise compact.
    d = doc(A_NS, "sub", lr=0.25)
    unordered = json.dumps({"spec": d["spec"], "metadata": d["metadata"],
                            "kind": d["kind"], "apiVersion": d["apiVersion"]},
                           separators=(",", ":")).encode()
    problem(submit(W.A, W.sub_a, A_NS, "sub", unordered), 400, "not_canonical")
    problem(submit(W.A, W.sub_a, A_NS, "sub", W.p1 + b"\n"), 400, "not_canonical")
    eq(listed(A_NS, "sub"), before, "versions after refused submits")


def t_bad_envelope():
    before = listed(A_NS, "sub")
    path = "/v1/configs/team-a/sub/versions"
    good = envelope(W.p1)
    cases = {
        "no payload": {"payloadType": PAYLOAD_TYPE, "signatures": []},
        "payload not base64": dict(good, payload="!!not base64!!"),
        "wrong payloadType": dict(good, payloadType="application/json"),
        "array body": [good],
        "signatures not an array": dict(good, signatures={}),
    }
    for what, body in cases.items():
        r = W.A.request("POST", path, body=body, token=W.sub_a)
        try:
            problem(r, 400, "bad_envelope")
        except AssertionError as e:
            raise AssertionError("%s: %s" % (what, e))
    r = W.A.request("POST", path, body=b'{"payloadType": ', token=W.sub_a)
    status(r, 400, "malformed JSON body")
    assert r.json().get("code") in ("bad_request", "bad_envelope"), r.describe()
    eq(listed(A_NS, "sub"), before, "versions after refused submits")


def t_unsupported_media_type_everywhere():
    cases = [("POST", "/v1/configs/team-a/sub/versions", envelope(W.p1), W.sub_a),
             # Targets that do not exist: a server that ignores the media
             # type answers 404 and changes nothing.
             ("PUT", "/v1/configs/team-a/nosuch/tags/t415", {"version": 1, "expected_version": None}, W.sub_a),
             ("POST", "/v1/configs/team-a/sub/versions/99/yank", {"reason": "x"}, W.appr_a),
             ("POST", "/v1/validate", json.loads(W.p1), W.sub_a),
             ("POST", "/v1/tokens", {"principal": "x", "grants": [{"role": "reader"}]}, W.admin)]
    failed = []
    for method, path, body, tok in cases:
        r = W.A.request(method, path, body=body, content_type="text/plain", token=tok)
        if r.status != 415 or r.json().get("code") != "unsupported_media_type":
            failed.append("%s %s with text/plain: %d %s" % (method, path, r.status, r.body[:150]))
    assert not failed, "\n".join(failed)


def t_unsupported_media_type():
    r = W.A.request("POST", "/v1/configs/team-a/sub/versions",
                    body=json.dumps(envelope(W.cfg.yaml(A_NS, "sub", lr="0.7"))),
                    content_type="text/plain", token=W.sub_a)
    problem(r, 415, "unsupported_media_type")
    r = W.A.request("PUT", "/v1/configs/team-a/nosuch/tags/t415",
                    body='{"version": 1, "expected_version": null}',
                    content_type="application/x-www-form-urlencoded", token=W.sub_a)
    problem(r, 415, "unsupported_media_type")


def t_invalid_config():
    before = listed(A_NS, "sub")
    bad = W.cfg.json_doc(doc(A_NS, "sub", betas=[0.9, 1]))
    body = problem(submit(W.A, W.sub_a, A_NS, "sub", bad), 422, "invalid_config")
    errs = body.get("errors")
    assert isinstance(errs, list) and errs, "no errors[]: %r" % body
    for e in errs:
        for f in ("path", "rule", "message"):
            assert f in e, "error lacks %s: %r" % (f, e)
    assert any(e["path"] == "spec.betas[1]" and e["rule"] == "exclusive_maximum" for e in errs), \
        "no spec.betas[1] exclusive_maximum error: %r" % errs
    two = W.cfg.json_doc(doc(A_NS, "sub", betas=[0.9, 1], lr=-1))
    body = problem(submit(W.A, W.sub_a, A_NS, "sub", two), 422, "invalid_config")
    paths = sorted(e["path"] for e in body["errors"])
    eq(paths, ["spec.betas[1]", "spec.lr"], "error paths")
    eq(listed(A_NS, "sub"), before, "versions after refused submits")


def t_payload_not_a_config():
    before = listed(A_NS, "sub")
    for what, payload in (("invalid UTF-8", b'{"a":"\xff"}'), ("empty", b""),
                          ("an array", b"[1,2]"), ("truncated", W.p1[:-1]),
                          ("duplicate keys", b'{"a":1,"a":1}')):
        r = submit(W.A, W.sub_a, A_NS, "sub", payload)
        try:
            problem(r, 422, "invalid_config")
        except AssertionError as e:
            raise AssertionError("payload %s: %s" % (what, e))
    env = json.dumps(envelope(W.cfg.yaml(A_NS, "sub", lr="0.6")))
    dup = '{"payloadType": "text/plain", ' + env[1:]
    problem(W.A.request("POST", "/v1/configs/team-a/sub/versions", body=dup, token=W.sub_a),
            400, "bad_envelope")
    eq(listed(A_NS, "sub"), before, "versions after refused submits")


def t_name_mismatch():
    before = listed(A_NS, "sub")
    other = W.cfg.yaml(A_NS, "other-name")
    body = problem(submit(W.A, W.sub_a, A_NS, "sub", other), 422, "name_mismatch")
    assert "other-name" in body["detail"], body["detail"]
    other_ns = W.cfg.yaml("team-z", "sub")
    problem(submit(W.A, W.admin, A_NS, "sub", other_ns), 422, "name_mismatch")
    eq(listed(A_NS, "sub"), before, "versions after refused submits")


def t_versions_not_reused():
    # After all the refused submits above, the next new content is 3.
    W.p3 = W.cfg.yaml(A_NS, "sub", lr="2.0e-4")
    r = submit(W.A, W.sub_a, A_NS, "sub", W.p3)
    status(r, 201)
    eq(r.json()["version"], 3, "version after refused submits")
    W.d3 = r.json()["digest"]
    eq(listed(A_NS, "sub"), [3, 2, 1], "versions")


def t_too_large():
    big = W.cfg.yaml(A_NS, "big", description="x" * 1000)
    # A valid envelope, padded with JSON whitespace past 2048 bytes.
    body = json.dumps(signed(big)).encode() + b" " * 1000
    assert len(body) > 2048, len(body)
    r = W.C.request("POST", "/v1/configs/team-a/big/versions", body=body, token=W.sub_a)
    problem(r, 413, "too_large")
    eq(listed_or_none(A_NS, "big"), None, "config after a refused submit")
    status(W.A.request("POST", "/v1/configs/team-a/big/versions", body=body, token=W.sub_a),
           201, "the same body under the default limit (server A)")
    problem(W.C.request("POST", "/v1/validate", body=b" " * 3000 + b"{}", token=W.sub_a),
            413, "too_large")


def listed_or_none(ns, name):
    r = W.A.request("GET", "/v1/configs/%s/%s/versions" % (ns, name), token=W.admin)
    return None if r.status == 404 else [v["version"] for v in r.json()["versions"]]


def t_too_large_chunked():
    # No Content-Length: the limit must hold for a chunked body too.
    s = socket.create_connection(("127.0.0.1", W.C.port), timeout=10)
    try:
        s.sendall(("POST /v1/validate HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                   "Authorization: Bearer %s\r\nContent-Type: application/json\r\n"
                   "Transfer-Encoding: chunked\r\n\r\n" % W.sub_a).encode())
        chunk = b" " * 1000
        try:
            for _ in range(4):
                s.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            s.sendall(b"2\r\n{}\r\n0\r\n\r\n")
        except OSError:
            pass  # the server may stop reading once it has said 413
        code, data = read_response(s)
    finally:
        s.close()
    eq(code, 413, "status of a 4 KB chunked body (%r)" % data[:200])
    eq(json.loads(data).get("code"), "too_large", "code")


def t_bad_path_params():
    problem(W.A.request("GET", "/v1/configs/Team_A/sub/versions/1", token=W.admin),
            400, "bad_request")
    problem(W.A.request("GET", "/v1/configs/team-a/-sub/versions", token=W.admin),
            400, "bad_request")
    for v in ("abc", "0", "-1", "1.5", "99999999999"):
        problem(W.A.request("GET", "/v1/configs/team-a/sub/versions/" + v, token=W.admin),
                400, "bad_request")


def t_submit_no_token():
    r = submit(W.A, None, A_NS, "sub", W.cfg.yaml(A_NS, "sub", lr="0.9"))
    problem(r, 401, "unauthorized")
    assert (r.header("WWW-Authenticate") or "").startswith("Bearer"), r.describe()


# ---------------------------------------------------------------- signatures

def sig_problem(r, rules):
    """r is 403 signature_refused whose errors[] rules are `rules` (a list
    of (path or None, rule))."""
    body = problem(r, 403, "signature_refused")
    errs = body.get("errors") or []
    got = [(e.get("path"), e.get("rule")) for e in errs]
    for path, rule in rules:
        assert any(g[1] == rule and (path is None or g[0] == path) for g in got), \
            "no %s error at %s in %r" % (rule, path, got)
    return body


def t_sig_unsigned():
    p = W.cfg.yaml(A_NS, "signing")
    body = sig_problem(submit(W.A, W.sub_a, A_NS, "signing", p, signers=()), [(None, "threshold")])
    assert any("got 0" in e.get("message", "") for e in body["errors"]), body["errors"]
    eq(listed_or_none(A_NS, "signing"), None, "config after a refused submit")


def t_sig_unknown_key():
    W.stranger = Signer(W.reg.tmp, "stranger")
    p = W.cfg.yaml(A_NS, "signing")
    body = sig_problem(submit(W.A, W.sub_a, A_NS, "signing", p, signers=(W.stranger,)),
                       [("signatures[0]", "unknown_key"), (None, "threshold")])
    assert any(W.stranger.keyid in e.get("message", "") for e in body["errors"]), \
        "no error names key %s: %r" % (W.stranger.keyid, body["errors"])
    eq(listed_or_none(A_NS, "signing"), None, "config after a refused submit")


def t_sig_bad_signature():
    p = W.cfg.yaml(A_NS, "signing")
    other = W.cfg.yaml(A_NS, "signing", lr="0.5")
    forged = W.key.signature(PAYLOAD_TYPE, other)       # right key, other payload
    sig_problem(submit(W.A, W.sub_a, A_NS, "signing", p, signers=(forged,)),
                [("signatures[0]", "bad_signature"), (None, "threshold")])
    flipped = dict(W.key.signature(PAYLOAD_TYPE, p))
    raw = bytearray(base64.b64decode(flipped["sig"]))
    raw[10] ^= 1
    flipped["sig"] = base64.b64encode(bytes(raw)).decode()
    sig_problem(submit(W.A, W.sub_a, A_NS, "signing", p, signers=(flipped,)),
                [("signatures[0]", "bad_signature")])
    # A signature over the payload alone, not over the PAE, is no signature.
    bare = {"keyid": W.key.keyid, "sig": base64.b64encode(W.key.sign(p)).decode()}
    sig_problem(submit(W.A, W.sub_a, A_NS, "signing", p, signers=(bare,)),
                [("signatures[0]", "bad_signature")])
    eq(listed_or_none(A_NS, "signing"), None, "config after refused submits")


def t_sig_good_with_bad():
    # One good signature meets threshold 1 even next to a bad one.
    p = W.cfg.yaml(A_NS, "signing")
    r = submit(W.A, W.sub_a, A_NS, "signing", p, signers=(W.stranger, W.key))
    status(r, 201)
    doc_ = W.A.request("GET", "/v1/configs/team-a/signing/versions/1", token=W.admin).json()
    sigs = doc_["envelope"]["signatures"]
    assert any(x["keyid"] == W.key.keyid for x in sigs), sigs


def t_sig_urlsafe_base64():
    p = W.cfg.yaml(A_NS, "signing", lr="0.25")
    sig = W.key.sign(pae(PAYLOAD_TYPE, p))
    env = {"payloadType": PAYLOAD_TYPE,
           "payload": base64.urlsafe_b64encode(p).decode().rstrip("="),
           "signatures": [{"keyid": W.key.keyid,
                           "sig": base64.urlsafe_b64encode(sig).decode().rstrip("=")}]}
    r = submit(W.A, W.sub_a, A_NS, "signing", None, env=env)
    status(r, 201, "URL-safe unpadded base64")
    got = W.A.request("GET", "/v1/configs/team-a/signing/versions/%d" % r.json()["version"],
                      token=W.admin).json()["envelope"]
    eq(base64.b64decode(got["payload"]), p, "stored payload (standard base64)")
    eq(base64.b64decode(got["signatures"][0]["sig"]), sig, "stored signature (standard base64)")


def t_sig_key_not_allowed():
    W.bkey = Signer(W.reg.tmp, "team-b-only")
    add_key(W.bkey, "ci@team-b", ["team-b"])
    p = W.cfg.yaml(A_NS, "signing", lr="0.125")
    sig_problem(submit(W.A, W.sub_a, A_NS, "signing", p, signers=(W.bkey,)),
                [("signatures[0]", "key_not_allowed"), (None, "threshold")])
    status(submit(W.A, W.sub_b, B_NS, "signed-b", W.cfg.yaml(B_NS, "signed-b"), signers=(W.bkey,)),
           201, "the same key in its own namespace")


def t_sig_threshold():
    ns = "team-t"
    r = W.A.request("GET", "/v1/namespaces/" + ns, token=W.admin)
    status(r, 200)
    eq(r.json(), {"namespace": ns, "signature_threshold": 1}, "default settings")
    r = W.A.request("PUT", "/v1/namespaces/" + ns, token=W.admin, body={"signature_threshold": 2})
    status(r, 200)
    eq(r.json().get("signature_threshold"), 2, "threshold")
    problem(W.A.request("PUT", "/v1/namespaces/" + ns, token=W.sub_a, body={"signature_threshold": 1}),
            403, "forbidden")
    for bad in ({"signature_threshold": 0}, {"signature_threshold": 17}, {"signature_threshold": "2"}):
        problem(W.A.request("PUT", "/v1/namespaces/" + ns, token=W.admin, body=bad), 400, "bad_request")
    second = Signer(W.reg.tmp, "second")
    add_key(second, "lead@team-t", [ns])
    p = W.cfg.yaml(ns, "two")
    body = sig_problem(submit(W.B, W.admin, ns, "two", p), [(None, "threshold")])
    assert any("2 valid signatures from distinct keys are required" in e.get("message", "") and
               "(got 1)" in e.get("message", "") for e in body["errors"]), body["errors"]
    sig_problem(submit(W.A, W.admin, ns, "two", p, signers=(W.key, W.key)), [(None, "threshold")])
    status(submit(W.B, W.admin, ns, "two", p, signers=(W.key, second)), 201, "two distinct keys")


def t_sig_revoked_key():
    k = Signer(W.reg.tmp, "soon-revoked")
    add_key(k, "ci@team-a", [A_NS])
    p1 = W.cfg.yaml(A_NS, "revoked")
    r = submit(W.A, W.sub_a, A_NS, "revoked", p1, signers=(k,))
    status(r, 201, "before revocation")
    d1 = r.json()["digest"]
    # Both replicas have used the key.
    status(submit(W.B, W.sub_a, A_NS, "revoked", p1, signers=(k,)), 200, "identical on B")
    r = W.A.request("POST", "/v1/keys/%s/revoke" % k.keyid, token=W.admin)
    status(r, 200)
    first = r.json().get("revoked_at")
    assert first, "revoked_at %r" % r.json()
    p2 = W.cfg.yaml(A_NS, "revoked", lr="0.5")
    for srv in (W.A, W.B):
        def refused():
            r = submit(srv, W.sub_a, A_NS, "revoked", p2, signers=(k,))
            return r if r.status == 403 else None
        r, waited, _ = within(2, refused)
        assert r, "%s still accepts the revoked key after %.1fs" % (srv.name, waited)
        sig_problem(r, [("signatures[0]", "revoked_key")])
    # What it signed before stays.
    status(fetch_digest(W.A, d1, W.reader_a), 200, "digest of a version signed before revocation")
    eq(W.A.request("GET", "/v1/configs/team-a/revoked/versions/1", token=W.reader_a).json().get("yanked"),
       False, "yanked")
    eq(listed(A_NS, "revoked"), [1], "versions")
    r = W.A.request("POST", "/v1/keys/%s/revoke" % k.keyid, token=W.admin)
    status(r, 200, "revoke again")
    eq(r.json().get("revoked_at"), first, "first revocation time kept")


def t_keys_api():
    r = W.A.request("GET", "/v1/keys", token=W.reader_a)
    status(r, 200)
    keys = {k["keyid"]: k for k in r.json()["keys"]}
    assert W.key.keyid in keys, "registered key not listed"
    k = keys[W.key.keyid]
    eq((k.get("principal"), k.get("namespaces"), k.get("revoked_at")), ("ci@team-a", ["*"], None), "key")
    eq(k.get("public_key", "").strip(), W.key.public_pem.strip(), "public_key")
    r = W.A.request("GET", "/v1/keys/" + W.key.keyid, token=W.reader_a)
    status(r, 200)
    eq(r.json().get("keyid"), W.key.keyid, "keyid")
    r = W.A.request("GET", "/v1/keys?principal=ci@team-b", token=W.reader_a)
    eq([k["keyid"] for k in r.json()["keys"]], [W.bkey.keyid], "keys of ci@team-b")
    problem(W.A.request("GET", "/v1/keys/" + "0" * 64, token=W.reader_a), 404, "not_found")
    problem(W.A.request("POST", "/v1/keys", token=W.admin, body={
        "public_key": W.key.public_pem, "principal": "again", "namespaces": ["*"]}), 409, "conflict")
    ec = os.path.join(W.reg.tmp, "ec.pem")
    run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", ec])
    pub = run(["openssl", "pkey", "-in", ec, "-pubout"]).stdout
    problem(W.A.request("POST", "/v1/keys", token=W.admin, body={
        "public_key": pub, "principal": "ec", "namespaces": ["*"]}), 400, "bad_request")
    problem(W.A.request("POST", "/v1/keys", token=W.admin, body={
        "public_key": "not a key", "principal": "x", "namespaces": ["*"]}), 400, "bad_request")
    fresh = Signer(W.reg.tmp, "unregistered")
    problem(W.A.request("POST", "/v1/keys", token=W.sub_a, body={
        "public_key": fresh.public_pem, "principal": "x", "namespaces": [A_NS]}), 403, "forbidden")
    problem(W.A.request("POST", "/v1/keys/%s/revoke" % W.key.keyid, token=W.appr_a), 403, "forbidden")
    problem(W.A.request("GET", "/v1/keys"), 401, "unauthorized")


def t_receipt():
    p = W.cfg.yaml(A_NS, "receipt")
    r = submit(W.A, W.sub_a, A_NS, "receipt", p)
    status(r, 201)
    answer = r.json()
    rec = answer.get("receipt")
    assert isinstance(rec, dict), "no receipt in %r" % answer
    eq(rec.get("payloadType"), "application/vnd.optreg.receipt.v1+json", "receipt payloadType")
    rk = W.C.request("GET", "/v1/registry/keys")  # no token needed, even without anonymous reads
    status(rk, 200, "/v1/registry/keys")
    status(W.A.request("GET", "/v1/registry/keys"), 200, "/v1/registry/keys without a token on A")
    keys = {k["keyid"]: k["public_key"] for k in rk.json()["keys"]}
    body = base64.b64decode(rec["payload"])
    sigs = rec.get("signatures") or []
    assert sigs, "receipt is unsigned"
    for sgn in sigs:
        assert sgn["keyid"] in keys, "receipt key %s not in /v1/registry/keys" % sgn["keyid"]
        eq(hashlib.sha256(pem_der(keys[sgn["keyid"]])).hexdigest(), sgn["keyid"],
           "registry key id = sha256 of its SPKI DER")
        assert openssl_verify(keys[sgn["keyid"]], pae(rec["payloadType"], body),
                              base64.b64decode(sgn["sig"]), W.reg.tmp), \
            "openssl does not verify the receipt signature"
    claim = json.loads(body)
    eq(body, W.cfg.json_doc(claim), "receipt payload is canonical")
    eq({k: claim.get(k) for k in ("namespace", "name", "version", "digest", "signer_keyids")},
       {"namespace": A_NS, "name": "receipt", "version": 1, "digest": digest_of(p),
        "signer_keyids": [W.key.keyid]}, "receipt claims")
    vdoc = W.B.request("GET", "/v1/configs/team-a/receipt/versions/1", token=W.reader_a).json()
    stored = W.cfg.json_doc(vdoc["envelope"])
    eq(claim.get("envelope_sha256"), hashlib.sha256(stored).hexdigest(),
       "envelope_sha256 = sha256 of the canonical stored envelope")
    eq(vdoc.get("receipt"), rec, "receipt in the version document")
    r = submit(W.A, W.sub_a, A_NS, "receipt", p)
    status(r, 200)
    eq(r.json().get("receipt"), rec, "receipt of an identical resubmit")


# ---------------------------------------------------------------- fetch

def t_get_version():
    r = W.A.request("GET", "/v1/configs/team-a/sub/versions/1", token=W.reader_a)
    status(r, 200)
    eq(r.header("X-Optreg-Digest"), W.d1, "X-Optreg-Digest")
    b = r.json()
    eq((b.get("namespace"), b.get("name"), b.get("version"), b.get("digest")),
       (A_NS, "sub", 1, W.d1), "identity")
    eq(b.get("created_by"), "ci@team-a", "created_by")
    eq(b.get("yanked"), False, "yanked")
    assert "yank_reason" in b and b["yank_reason"] is None, "yank_reason %r" % b.get("yank_reason")
    eq(b.get("config"), json.loads(W.p1), "config")
    env = b.get("envelope") or {}
    eq(env.get("payloadType"), PAYLOAD_TYPE, "envelope payloadType")
    eq(base64.b64decode(env.get("payload", "")), W.p1, "envelope payload")
    eq(env.get("signatures"), signed(W.p1)["signatures"], "envelope signatures")
    assert isinstance(b.get("created_at"), str), b


def t_version_config_exact():
    # Integers stay integers, UTF-8 stays UTF-8, in every representation.
    extra = ("  schedule:\n    kind: cosine\n    warmup_steps: 500\n"
             "    total_steps: 10000\n    min_lr: 0\n")
    p = W.cfg.yaml(A_NS, "exact", description="Gr\u00fc\u00dfe \U0001F680 \u2028", extra_spec=extra)
    assert "Grüße".encode() in p, p
    r = submit(W.A, W.sub_a, A_NS, "exact", p)
    status(r, 201)
    d = r.json()["digest"]
    eq(d, digest_of(p), "digest")
    want = json.dumps(json.loads(p), sort_keys=True)
    for srv in (W.A, W.B):
        r = srv.request("GET", "/v1/configs/team-a/exact/versions/1", token=W.reader_a)
        status(r, 200)
        eq(json.dumps(r.json()["config"], sort_keys=True), want, "%s: config, type-exact" % srv.name)
        r = fetch_digest(srv, d, W.reader_a)
        eq(r.body, p, "%s: digest bytes" % srv.name)


def t_name_boundaries():
    ok_ns, long_ns = "n" * 63, "n" * 64
    ok_name, long_name = "c" * 128, "c" * 129
    ok_tag, long_tag = "t" * 64, "t" * 65
    cases = [("/v1/configs/%s/x/versions" % ok_ns, 404), ("/v1/configs/%s/x/versions" % long_ns, 400),
             ("/v1/configs/team-a/%s/versions" % ok_name, 404),
             ("/v1/configs/team-a/%s/versions" % long_name, 400),
             ("/v1/configs/team-a/sub/tags/%s" % ok_tag, 404),
             ("/v1/configs/team-a/sub/tags/%s" % long_tag, 400),
             ("/v1/configs/team-a/s%75b/versions/%31", 200),
             ("/v1/configs/team-a/%2E%2E/versions", 400),
             ("/v1/configs/team-a/sub/tags/0123", 400)]
    for path, want in cases:
        r = W.A.request("GET", path, token=W.admin)
        eq(r.status, want, "GET %s" % path)
    # A full-length name is a name like any other.
    p = W.cfg.yaml(A_NS, ok_name)
    status(submit(W.A, W.sub_a, A_NS, ok_name, p), 201, "submit with a 128-character name")
    status(put_tag(W.A, W.sub_a, ok_name, ok_tag, 1, None), 200, "64-character tag")


def t_get_version_not_found():
    problem(W.A.request("GET", "/v1/configs/team-a/sub/versions/99", token=W.admin),
            404, "not_found")
    problem(W.A.request("GET", "/v1/configs/team-a/nosuch/versions/1", token=W.admin),
            404, "not_found")
    problem(W.A.request("GET", "/v1/configs/team-a/nosuch/versions", token=W.admin),
            404, "not_found")


def fetch_digest(srv, d, token, **kw):
    return srv.request("GET", "/v1/digests/" + d, token=token, **kw)


def t_get_digest():
    for srv in (W.A, W.B, W.B):  # B twice: database, then its cache
        r = fetch_digest(srv, W.d1, W.reader_a)
        status(r, 200, srv.name)
        eq(r.body, W.p1, "%s: body bytes" % srv.name)
        eq(digest_of(r.body), W.d1, "%s: sha256 of the body" % srv.name)
        eq((r.header("Content-Type") or "").split(";")[0], "application/json", "Content-Type")
        eq(r.header("ETag"), '"%s"' % W.d1, "ETag")
        eq(r.header("Cache-Control"), IMMUTABLE, "Cache-Control")
        eq(r.header("X-Optreg-Version"), "team-a/sub@1", "X-Optreg-Version")
        assert r.header("X-Optreg-Yanked") is None, "X-Optreg-Yanked on a live version"


def t_digest_304():
    etag = '"%s"' % W.d2
    for inm in (etag, 'W/"sha256:%s", %s' % ("1" * 64, etag)):
        r = fetch_digest(W.A, W.d2, W.reader_a, headers={"If-None-Match": inm})
        status(r, 304, "If-None-Match %s" % inm)
        eq(r.body, b"", "304 body")
        eq(r.header("ETag"), etag, "ETag on 304")
        assert HEX32.match(r.header("X-Request-Id") or ""), "X-Request-Id on 304: %r" % r.header("X-Request-Id")
    r = fetch_digest(W.A, W.d2, W.reader_a, headers={"If-None-Match": '"sha256:%s"' % ("2" * 64)})
    status(r, 200, "other ETag")
    eq(r.body, W.p2, "body")
    # "*" alone matches; a malformed field (the web page's rules, one
    # matcher) matches nothing and the bytes are sent.
    status(fetch_digest(W.A, W.d2, W.reader_a, headers={"If-None-Match": " * "}), 304, "*")
    for inm in ('"x", *', etag + "x", etag[1:], '%s "y"' % etag):
        r = fetch_digest(W.A, W.d2, W.reader_a, headers={"If-None-Match": inm})
        status(r, 200, "malformed If-None-Match %s" % inm)
        eq(r.body, W.p2, "body")


def t_head_digest():
    r = fetch_digest(W.A, W.d1, W.reader_a)
    h = W.A.request("HEAD", "/v1/digests/" + W.d1, token=W.reader_a)
    status(h, 200, "HEAD")
    eq(h.body, b"", "HEAD body")
    eq(h.header("ETag"), r.header("ETag"), "ETag")
    eq(h.header("Content-Length"), str(len(W.p1)), "Content-Length")


def t_digest_errors():
    problem(fetch_digest(W.A, "sha256:" + "ab" * 32, W.admin), 404, "not_found")
    for bad in ("sha256:XYZ", "md5:" + "0" * 32, "sha256:" + "A" * 64):
        problem(fetch_digest(W.A, bad, W.admin), 400, "bad_request")
    # Reads need a token on this server, whether or not the digest exists.
    problem(fetch_digest(W.A, W.d1, None), 401, "unauthorized")
    # A reader of team-b may not read team-a's bytes, nor learn that they
    # exist: the same 404 as for a digest that does not.
    problem(fetch_digest(W.A, W.d1, W.sub_b), 404, "not_found", (W.d1,))


def t_digest_unknown_anonymous():
    # Without a token, an unknown digest must not answer differently from a
    # known one (401 for both), or anyone can probe which configs exist.
    r = fetch_digest(W.A, "sha256:" + "cd" * 32, None)
    problem(r, 401, "unauthorized")


# ---------------------------------------------------------------- tags

def put_tag(srv, token, name, tag, version, expected, ns=A_NS):
    return srv.request("PUT", "/v1/configs/%s/%s/tags/%s" % (ns, name, tag),
                       body={"version": version, "expected_version": expected}, token=token)


def t_tag_create():
    r = put_tag(W.A, W.sub_a, "sub", "prod", 1, None)
    status(r, 200)
    eq(r.json(), {"tag": "prod", "version": 1, "previous_version": None, "violations": [],
                  "gate": None, "rollback": False}, "body")


def t_tag_create_exists():
    r = put_tag(W.A, W.sub_a, "sub", "prod", 2, None)
    body = problem(r, 409, "conflict")
    assert "1" in body["detail"], "detail should name the current version: %r" % body["detail"]


def t_tag_move():
    r = put_tag(W.B, W.sub_a, "sub", "prod", 2, 1)
    status(r, 200)
    eq(r.json(), {"tag": "prod", "version": 2, "previous_version": 1, "violations": [],
                  "gate": None, "rollback": False}, "body")


def t_tag_move_wrong_expected():
    body = problem(put_tag(W.A, W.sub_a, "sub", "prod", 3, 1), 409, "conflict")
    assert "2" in body["detail"], "detail should name the current version: %r" % body["detail"]
    r = W.A.request("GET", "/v1/configs/team-a/sub/tags/prod", token=W.reader_a)
    eq(r.json().get("version"), 2, "tag after refused move")


def t_tag_get():
    for srv in (W.A, W.B):
        r = srv.request("GET", "/v1/configs/team-a/sub/tags/prod", token=W.reader_a)
        status(r, 200, srv.name)
        eq(r.header("X-Optreg-Digest"), W.d2, "X-Optreg-Digest")
        b = r.json()
        eq((b.get("version"), b.get("digest")), (2, W.d2), "version, digest")
        eq(b.get("config"), json.loads(W.p2), "config")


def t_tag_list():
    status(put_tag(W.A, W.sub_a, "sub", "canary", 3, None), 200, "create canary")
    r = W.A.request("GET", "/v1/configs/team-a/sub/tags", token=W.reader_a)
    status(r, 200)
    tags = r.json().get("tags")
    assert isinstance(tags, list), r.describe()
    eq([(t["tag"], t["version"], t["digest"]) for t in tags],
       [("canary", 3, W.d3), ("prod", 2, W.d2)], "tags")
    for t in tags:
        assert isinstance(t.get("updated_at"), str), t


def t_version_doc_tags():
    # docs/api.md: the version document lists the tags on the version.
    for srv in (W.A, W.B):
        r = srv.request("GET", "/v1/configs/team-a/sub/versions/2", token=W.reader_a)
        status(r, 200)
        eq(r.json().get("tags"), ["prod"], "%s: tags of version 2" % srv.name)


def t_version_doc_tags_follow_moves():
    status(put_tag(W.A, W.sub_a, "sub", "stage", 1, None), 200, "create stage")
    # Both replicas cache versions 1 and 2 ...
    for srv in (W.A, W.B):
        for v in (1, 2):
            status(srv.request("GET", "/v1/configs/team-a/sub/versions/%d" % v, token=W.reader_a), 200)
    # ... then stage moves 1 -> 2 through B.
    status(put_tag(W.B, W.sub_a, "sub", "stage", 2, 1), 200, "move stage")
    for srv in (W.B, W.A):
        def fresh():
            t1 = srv.request("GET", "/v1/configs/team-a/sub/versions/1", token=W.reader_a).json()
            t2 = srv.request("GET", "/v1/configs/team-a/sub/versions/2", token=W.reader_a).json()
            return (t1.get("tags"), t2.get("tags")) == ([], ["prod", "stage"]) or \
                (t1.get("tags"), t2.get("tags"))
        got, waited, first = within(2, lambda: fresh() is True)
        assert got, "%s: tags of versions 1 and 2 are %r, want ([], ['prod', 'stage'])" % (
            srv.name, fresh())
        if srv is W.B:
            assert first, "B, which moved the tag, answered stale tags right after its own move"


def t_tag_errors():
    problem(put_tag(W.A, W.sub_a, "sub", "nover", 99, None), 404, "not_found")
    problem(put_tag(W.A, W.sub_a, "nosuch", "prod", 1, None), 404, "not_found")
    problem(put_tag(W.A, W.sub_a, "sub", "123", 1, None), 400, "bad_request")
    problem(W.A.request("GET", "/v1/configs/team-a/sub/tags/nosuch", token=W.admin),
            404, "not_found")
    for body in ('{"version": 1, "version": 2, "expected_version": null}',
                 {"version": 1}, {"version": "1", "expected_version": None},
                 {"version": 1, "expected_version": "2"}, {"version": 0, "expected_version": None},
                 {"version": 1, "expected_version": None, "extra": 1}, b"not json", [1]):
        r = W.A.request("PUT", "/v1/configs/team-a/sub/tags/t400", body=body, token=W.sub_a)
        try:
            problem(r, 400, "bad_request")
        except AssertionError as e:
            raise AssertionError("body %r: %s" % (body, e))
    problem(put_tag(W.A, W.reader_a, "sub", "prod", 1, 2), 403, "forbidden", ("submitter", A_NS))
    problem(put_tag(W.A, None, "sub", "prod", 1, 2), 401, "unauthorized")
    problem(W.A.request("GET", "/v1/configs/team-a/nosuch/tags", token=W.admin), 404, "not_found")
    problem(W.A.request("GET", "/v1/configs/team-a/sub/tags", token=W.sub_b), 403, "forbidden",
            ("reader", A_NS))
    problem(W.A.request("GET", "/v1/configs/team-a/sub/tags/prod", token=W.sub_b), 403, "forbidden",
            ("reader", A_NS))
    problem(W.A.request("GET", "/v1/configs/team-a/sub/tags"), 401, "unauthorized")
    r = W.A.request("GET", "/v1/configs/team-a/sub/tags/prod", token=W.admin)
    eq(r.json().get("version"), 2, "prod after refused moves")


# ---------------------------------------------------------------- yank

def yank(srv, token, name, version, reason="broken", ns=A_NS):
    return srv.request("POST", "/v1/configs/%s/%s/versions/%d/yank" % (ns, name, version),
                       body={"reason": reason} if reason is not None else {}, token=token)


def t_yank_needs_approver():
    problem(yank(W.A, W.sub_a, "sub", 3), 403, "forbidden", ("approver", A_NS))
    problem(yank(W.A, W.reader_a, "sub", 3), 403, "forbidden", ("approver", A_NS))
    problem(yank(W.A, None, "sub", 3), 401, "unauthorized")


def t_yank_bad_body():
    for body in ({}, {"reason": ""}, {"reason": "x" * 1025}, {"reason": 5},
                 {"reason": "ok", "more": 1}):
        r = W.A.request("POST", "/v1/configs/team-a/sub/versions/3/yank", body=body, token=W.appr_a)
        problem(r, 400, "bad_request")
    # Control characters are refused as in every other reason, naming it.
    for bad in ("a\x1b[2Jb", "two\nlines", "tab\there"):
        r = W.A.request("POST", "/v1/configs/team-a/sub/versions/3/yank",
                        body={"reason": bad}, token=W.appr_a)
        j = problem(r, 400, "bad_request")
        eq([e.get("path") for e in j.get("errors", [])], ["reason"], "errors of %r" % bad)
    problem(yank(W.A, W.appr_a, "sub", 99), 404, "not_found")


def t_yank():
    # B reads the digest and version 3 first, so both sit in its cache.
    status(fetch_digest(W.B, W.d3, W.reader_a), 200, "B digest before yank")
    status(W.B.request("GET", "/v1/configs/team-a/sub/versions/3", token=W.reader_a), 200)
    r = yank(W.A, W.appr_a, "sub", 3, reason="diverges at step 400")
    status(r, 200)
    eq(r.json().get("yanked"), True, "yanked")
    for srv in (W.A, W.B):
        def fresh():
            d = fetch_digest(srv, W.d3, W.reader_a)
            v = srv.request("GET", "/v1/configs/team-a/sub/versions/3", token=W.reader_a)
            ok = d.header("X-Optreg-Yanked") == "true" and v.json().get("yanked") is True
            return (d, v) if ok else None
        res, waited, _ = within(2, fresh)
        assert res, "%s: yank not visible after %.1fs" % (srv.name, waited)
        d, v = res
        status(d, 200, "digest of a yanked version")
        eq(d.body, W.p3, "bytes of a yanked version")
        eq(v.json().get("yank_reason"), "diverges at step 400", "yank_reason")
    vs = versions_of(W.A, W.admin, A_NS, "sub")
    eq([(v["version"], v["yanked"]) for v in vs], [(3, True), (2, False), (1, False)],
       "list versions yanked flags")


def t_yank_twice():
    r = yank(W.A, W.appr_a, "sub", 3, reason="second reason")
    status(r, 200)
    r = W.A.request("GET", "/v1/configs/team-a/sub/versions/3", token=W.admin)
    eq(r.json().get("yank_reason"), "diverges at step 400", "first reason kept")


def t_tag_to_yanked():
    problem(put_tag(W.A, W.sub_a, "sub", "prod", 3, 2), 409, "yanked")
    problem(put_tag(W.A, W.sub_a, "sub", "fresh", 3, None), 409, "yanked")
    # canary was on 3 before the yank and stays there.
    for srv in (W.A, W.B):
        r = srv.request("GET", "/v1/configs/team-a/sub/tags/canary", token=W.admin)
        status(r, 200, "tag on a yanked version")
        eq((r.json().get("version"), r.json().get("yanked")), (3, True), "%s: canary" % srv.name)
    r = W.A.request("GET", "/v1/configs/team-a/sub/tags/prod", token=W.admin)
    eq(r.json().get("version"), 2, "prod unchanged")


# ---------------------------------------------------------------- pagination, search

def t_list_pagination():
    W.page_digests = {}
    for i in range(5):
        p = W.cfg.yaml(A_NS, "pages", lr="%d.0e-5" % (i + 1))
        r = submit(W.A, W.sub_a, A_NS, "pages", p)
        status(r, 201)
        W.page_digests[r.json()["version"]] = r.json()["digest"]
    seen, pages, tok = [], [], None
    for _ in range(10):
        path = "/v1/configs/team-a/pages/versions?page_size=2"
        if tok:
            path += "&page_token=" + tok
        r = W.A.request("GET", path, token=W.reader_a)
        status(r, 200)
        b = r.json()
        page = [v["version"] for v in b["versions"]]
        pages.append(page)
        for v in b["versions"]:
            eq(v["digest"], W.page_digests[v["version"]], "digest of %d" % v["version"])
            for f in ("created_at", "created_by", "yanked"):
                assert f in v, "version entry lacks %s: %r" % (f, v)
        seen += page
        tok = b.get("next_page_token")
        if tok is None:
            break
        assert isinstance(tok, str) and tok, "next_page_token %r" % tok
    eq(pages, [[5, 4], [3, 2], [1]], "pages")
    eq(seen, [5, 4, 3, 2, 1], "all versions")


def t_page_token_survives_inserts():
    r = W.A.request("GET", "/v1/configs/team-a/pages/versions?page_size=2", token=W.reader_a)
    tok = r.json()["next_page_token"]
    status(submit(W.A, W.sub_a, A_NS, "pages", W.cfg.yaml(A_NS, "pages", lr="9.0e-5")), 201)
    r = W.A.request("GET", "/v1/configs/team-a/pages/versions?page_size=2&page_token=" + tok,
                    token=W.reader_a)
    status(r, 200)
    eq([v["version"] for v in r.json()["versions"]], [3, 2], "second page after an insert")


def t_bad_page_params():
    base = "/v1/configs/team-a/pages/versions"
    for q in ("?page_token=garbage!!", "?page_token=" + base64.urlsafe_b64encode(b"[1]").decode(),
              "?page_token=" + base64.urlsafe_b64encode(b'{"before":-3}').decode().rstrip("="),
              "?page_size=0", "?page_size=101", "?page_size=abc"):
        problem(W.A.request("GET", base + q, token=W.admin), 400, "bad_request")
    for q in ("?page_token=zzzz", "?page_size=0", "?namespace=Bad_NS"):
        problem(W.A.request("GET", "/v1/configs" + q, token=W.admin), 400, "bad_request")


def search_all(srv, token, query="", page_size=100):
    out, tok = [], None
    for _ in range(100):
        path = "/v1/configs?page_size=%d%s" % (page_size, query)
        if tok:
            path += "&page_token=" + tok
        r = srv.request("GET", path, token=token)
        status(r, 200, "search %s" % path)
        b = r.json()
        out += [(c["namespace"], c["name"]) for c in b["configs"]]
        tok = b.get("next_page_token")
        if not tok:
            return out, b
    raise AssertionError("search paging never ends")


def t_search():
    status(submit(W.A, W.sub_b, B_NS, "bert", W.cfg.yaml(B_NS, "bert")), 201, "team-b/bert")
    status(submit(W.A, W.sub_b, B_NS, "gpt", W.cfg.yaml(B_NS, "gpt")), 201, "team-b/gpt")
    everything, _ = search_all(W.A, W.admin)
    eq(everything, sorted(everything), "order (namespace, name)")
    assert {(A_NS, "sub"), (A_NS, "pages"), (B_NS, "bert"), (B_NS, "gpt")} <= set(everything), everything
    mine, _ = search_all(W.A, W.reader_a)
    assert mine and all(ns == A_NS for ns, _ in mine), "reader of team-a sees %r" % mine
    eq(mine, [c for c in everything if c[0] == A_NS], "team-a configs")
    theirs, _ = search_all(W.A, W.reader_a, "&namespace=team-b")
    eq(theirs, [], "team-a reader searching team-b")
    bs, _ = search_all(W.A, W.sub_b)
    eq(bs, [c for c in everything if c[0] == B_NS], "team-b token sees")
    assert {(B_NS, "bert"), (B_NS, "gpt")} <= set(bs), bs
    q, _ = search_all(W.A, W.admin, "&q=er")
    eq(q, [c for c in everything if "er" in c[1]], "q=er")
    r = W.A.request("GET", "/v1/configs?namespace=team-a&q=sub", token=W.admin)
    c = [x for x in r.json()["configs"] if x["name"] == "sub"]
    eq(len(c), 1, "team-a/sub found")
    eq((c[0]["latest_version"], c[0]["latest_digest"]), (3, W.d3), "latest of team-a/sub")


def t_search_globs():
    everything, _ = search_all(W.A, W.admin)
    for pattern in ("team-*", "team-?", "*-b", "team-a"):
        tok, _ = W.reg.token("glob@%s" % pattern, "reader", pattern)
        got, _ = search_all(W.A, tok)
        want = [c for c in everything if fnmatch.fnmatchcase(c[0], pattern)]
        eq(got, want, "search with a reader token on %r" % pattern)
        for ns, name in everything:
            r = W.A.request("GET", "/v1/configs/%s/%s/versions?page_size=1" % (ns, name), token=tok)
            eq(r.status, 200 if (ns, name) in want else 403,
               "GET %s/%s with a reader token on %r" % (ns, name, pattern))


def t_search_pagination():
    everything, _ = search_all(W.A, W.admin)
    one_by_one, _ = search_all(W.A, W.admin, page_size=1)
    eq(one_by_one, everything, "page_size=1 walk")
    eq(len(set(one_by_one)), len(one_by_one), "duplicates")


def t_search_anonymous():
    problem(W.A.request("GET", "/v1/configs"), 401, "unauthorized")
    everything, _ = search_all(W.A, W.admin)
    anon, _ = search_all(W.C, None)
    eq(anon, everything, "anonymous search on --anonymous-read")


# ---------------------------------------------------------------- tokens, roles

def t_no_token_401():
    for path in ("/v1/configs/team-a/sub/versions/1", "/v1/configs/team-a/sub/versions",
                 "/v1/configs/team-a/sub/tags/prod", "/v1/configs/team-a/sub/tags"):
        r = W.A.request("GET", path)
        problem(r, 401, "unauthorized")
        assert (r.header("WWW-Authenticate") or "").startswith("Bearer"), \
            "%s: WWW-Authenticate %r" % (path, r.header("WWW-Authenticate"))


def t_malformed_token_401():
    path = "/v1/configs/team-a/sub/versions/1"
    for h in ("Bearer nope", "Bearer " + fake_token(good_checksum=False),
              "Bearer " + W.reader_a[:-1], "Basic " + base64.b64encode(b"u:p").decode(),
              "Bearer", W.reader_a, "Bearer " + W.reader_a + "x"):
        r = W.A.request("GET", path, headers={"Authorization": h})
        problem(r, 401, "unauthorized")
        assert (r.header("WWW-Authenticate") or "").startswith("Bearer"), r.describe()


def t_unknown_token_401():
    r = W.A.request("GET", "/v1/configs/team-a/sub/versions/1", token=fake_token())
    problem(r, 401, "unauthorized")
    assert (r.header("WWW-Authenticate") or "").startswith("Bearer"), r.describe()


def t_reader_cannot_submit():
    r = submit(W.A, W.reader_a, A_NS, "sub", W.cfg.yaml(A_NS, "sub", lr="0.3"))
    problem(r, 403, "forbidden", ("submitter", A_NS))
    eq(r.json()["detail"], "role submitter on namespace team-a is required", "detail")


def t_submitter_other_namespace():
    p = W.cfg.yaml(B_NS, "sneaky")
    r = submit(W.A, W.sub_a, B_NS, "sneaky", p)
    problem(r, 403, "forbidden", ("submitter", B_NS))
    problem(W.A.request("GET", "/v1/configs/team-b/bert/versions/1", token=W.reader_a),
            403, "forbidden", ("reader", B_NS))
    problem(W.A.request("GET", "/v1/configs/team-b/sneaky/versions", token=W.admin), 404, "not_found")


def t_expired_token():
    tok, _ = W.reg.token("short@team-a", "reader", A_NS, expires_in=1)
    status(W.A.request("GET", "/v1/configs/team-a/sub/versions/1", token=tok), 200, "before expiry")
    time.sleep(2.1)
    for srv in (W.A, W.B):
        r = srv.request("GET", "/v1/configs/team-a/sub/versions/1", token=tok)
        problem(r, 401, "unauthorized")
        assert (r.header("WWW-Authenticate") or "").startswith("Bearer"), r.describe()


def t_api_token_create():
    r = W.A.request("POST", "/v1/tokens", token=W.admin, body={
        "principal": "bot@team-a", "grants": [{"role": "submitter", "namespace": "team-a"}],
        "expires_in": 3600})
    status(r, 201)
    b = r.json()
    for f in ("id", "token", "principal", "grants", "expires_at"):
        assert f in b, "response lacks %s: %r" % (f, b)
    eq(b["principal"], "bot@team-a", "principal")
    eq(b["grants"], [{"role": "submitter", "namespace": "team-a"}], "grants")
    assert isinstance(b["expires_at"], str), b
    W.api_tok, W.api_tok_id = b["token"], b["id"]
    p = W.cfg.yaml(A_NS, "bot")
    r = submit(W.B, W.api_tok, A_NS, "bot", p)
    status(r, 201, "submit with the new token")
    eq(W.B.request("GET", "/v1/configs/team-a/bot/versions/1", token=W.api_tok).json().get("created_by"),
       "bot@team-a", "created_by")
    problem(submit(W.A, W.api_tok, B_NS, "bot", W.cfg.yaml(B_NS, "bot")), 403, "forbidden",
            ("submitter", B_NS))
    r = W.A.request("POST", "/v1/tokens", token=W.admin,
                    body={"principal": "forever", "grants": [{"role": "reader", "namespace": "*"}],
                          "expires_in": None})
    status(r, 201)
    eq(r.json()["expires_at"], None, "expires_at of a token without expiry")


def t_api_token_refused():
    body = {"principal": "x", "grants": [{"role": "admin", "namespace": "*"}]}
    problem(W.A.request("POST", "/v1/tokens", token=W.appr_a, body=body), 403, "forbidden", ("admin",))
    problem(W.A.request("POST", "/v1/tokens", token=W.sub_a, body=body), 403, "forbidden")
    problem(W.A.request("POST", "/v1/tokens", body=body), 401, "unauthorized")
    # A namespace admin is not a global admin.
    nsadmin, _ = W.reg.token("nsadmin@team-a", "admin", A_NS)
    problem(W.A.request("POST", "/v1/tokens", token=nsadmin, body=body), 403, "forbidden")
    for bad in ({"grants": [{"role": "reader"}]}, {"principal": "x", "grants": []},
                {"principal": "x", "grants": [{"role": "king", "namespace": "*"}]},
                {"principal": "x", "grants": [{"role": "reader", "namespace": "UP"}]},
                {"principal": "x", "grants": [{"role": "reader"}], "expires_in": -5}):
        problem(W.A.request("POST", "/v1/tokens", token=W.admin, body=bad), 400, "bad_request")
    problem(W.A.request("DELETE", "/v1/tokens/" + W.sub_a_id, token=W.sub_a), 403, "forbidden")
    problem(W.A.request("DELETE", "/v1/tokens/tok_0000000000000000", token=W.admin), 404, "not_found")
    problem(W.A.request("DELETE", "/v1/tokens/" + W.sub_a_id), 401, "unauthorized")


def revoked_on(srv, tok):
    r = srv.request("GET", "/v1/configs/team-a/sub/versions/1", token=tok)
    return r if r.status == 401 else None


def t_api_token_revoke():
    # Both replicas have the principal cached.
    for srv in (W.A, W.B):
        status(srv.request("GET", "/v1/configs/team-a/sub/versions/1", token=W.api_tok), 200)
    r = W.A.request("DELETE", "/v1/tokens/" + W.api_tok_id, token=W.admin)
    status(r, 204)
    eq(r.body, b"", "204 body")
    assert HEX32.match(r.header("X-Request-Id") or ""), "X-Request-Id on 204: %r" % r.header("X-Request-Id")
    problem(W.A.request("GET", "/v1/configs/team-a/sub/versions/1", token=W.api_tok),
            401, "unauthorized")
    r, waited, first = within(2, lambda: revoked_on(W.B, W.api_tok))
    assert r is not None, "replica B still accepts the revoked token after %.1fs" % waited
    problem(r, 401, "unauthorized")
    problem(W.A.request("DELETE", "/v1/tokens/" + W.api_tok_id, token=W.admin), 404, "not_found")


def t_cli_token_revoke():
    tok, tid = W.reg.token("temp@team-a", "reader", A_NS)
    assert tid, "token create printed no id"
    for srv in (W.A, W.B):
        status(srv.request("GET", "/v1/configs/team-a/sub/versions/1", token=tok), 200)
    p = W.reg.revoke(tid)
    eq(p.returncode, 0, "token revoke exit status (stderr %r)" % p.stderr)
    for srv in (W.A, W.B):
        r, waited, first = within(2, lambda: revoked_on(srv, tok))
        assert r is not None, "%s still accepts the revoked token after %.1fs" % (srv.name, waited)
        problem(r, 401, "unauthorized")
    p = W.reg.revoke(tid)
    assert p.returncode != 0, "revoking twice succeeded"


def t_anonymous_read():
    for path in ("/v1/configs/team-a/sub/versions/1", "/v1/configs/team-a/sub/versions",
                 "/v1/configs/team-a/sub/tags/prod", "/v1/configs/team-a/sub/tags",
                 "/v1/digests/" + W.d1):
        problem(W.A.request("GET", path), 401, "unauthorized")
        status(W.C.request("GET", path), 200, "anonymous %s on --anonymous-read" % path)
    eq(W.C.request("GET", "/v1/digests/" + W.d1).body, W.p1, "anonymous digest bytes")
    r = submit(W.C, None, A_NS, "anon", W.cfg.yaml(A_NS, "anon"))
    problem(r, 401, "unauthorized")
    problem(put_tag(W.C, None, "sub", "x", 1, None), 401, "unauthorized")
    problem(yank(W.C, None, "sub", 1), 401, "unauthorized")
    problem(W.C.request("POST", "/v1/tokens", body={"principal": "x", "grants": []}),
            401, "unauthorized")


def t_validate():
    r = W.A.request("POST", "/v1/validate", body=W.p1, token=W.reader_a)
    status(r, 200)
    eq(r.json(), {"valid": True, "digest": W.d1, "violations": []}, "body")
    # Any well-formed JSON of the same document gives the same digest.
    pretty = json.dumps(json.loads(W.p1), indent=3).encode()
    eq(W.A.request("POST", "/v1/validate", body=pretty, token=W.reader_a).json().get("digest"),
       W.d1, "digest of a pretty-printed copy")
    body = problem(W.A.request("POST", "/v1/validate", token=W.reader_a,
                               body=doc(A_NS, "v", betas=[0.9, 1])), 422, "invalid_config")
    assert any(e["path"] == "spec.betas[1]" for e in body["errors"]), body
    problem(W.A.request("POST", "/v1/validate", body=W.p1), 401, "unauthorized")
    status(W.C.request("POST", "/v1/validate", body=W.p1), 200, "anonymous on --anonymous-read")
    r = W.A.request("POST", "/v1/validate", body=b"{", token=W.reader_a)
    assert r.status in (400, 422), "malformed JSON: %s" % r.describe()


# ---------------------------------------------------------------- two replicas

def t_concurrent_submits():
    payloads = prepare(lambda i: W.cfg.yaml(A_NS, "race", lr="%d.0e-6" % (i + 1)), range(40))
    envs = prepare(signed, payloads)

    def one(i):
        srv = W.A if i % 2 == 0 else W.B
        return submit(srv, W.sub_a, A_NS, "race", None, env=envs[i])

    results = parallel(one, list(range(40)))
    no_exceptions(results)
    bad = [r.describe() for r in results if r.status != 201]
    assert not bad, "%d submits not 201, first: %s" % (len(bad), bad[0])
    got = sorted(r.json()["version"] for r in results)
    eq(got, list(range(1, 41)), "versions handed out")
    by_version = {r.json()["version"]: r.json()["digest"] for r in results}
    for i, r in enumerate(results):
        eq(r.json()["digest"], digest_of(payloads[i]), "digest of submit %d" % i)
    listed_vs = versions_of(W.B, W.admin, A_NS, "race")
    eq([v["version"] for v in listed_vs], list(range(40, 0, -1)), "listed versions")
    for v in listed_vs:
        eq(v["digest"], by_version[v["version"]], "digest of version %d" % v["version"])


def t_concurrent_identical():
    # Round 0 creates the config; rounds 1.. race on an existing config,
    # where nothing but the config row lock orders the duplicate check.
    rounds = 12
    payloads = prepare(lambda i: W.cfg.yaml(A_NS, "same", lr="%d.0e-5" % (i + 1)), range(rounds))
    envs = prepare(signed, payloads)
    for k in range(rounds):
        def one(i):
            return submit(W.A if i % 2 else W.B, W.sub_a, A_NS, "same", None, env=envs[k])

        results = parallel(one, list(range(12)))
        no_exceptions(results)
        bad = [r.describe() for r in results if r.status not in (200, 201)]
        assert not bad, "round %d: %d answers not 200/201, first: %s" % (k, len(bad), bad[0])
        codes = sorted(r.status for r in results)
        eq(codes, [200] * 11 + [201], "round %d statuses" % k)
        eq({(r.json()["version"], r.json()["digest"]) for r in results},
           {(k + 1, digest_of(payloads[k]))}, "round %d (version, digest) answered" % k)
        eq(sum(1 for r in results if r.json()["created"]), 1, "round %d created: true count" % k)
    eq(listed(A_NS, "same"), list(range(rounds, 0, -1)), "versions")


def t_concurrent_new_namespace():
    names = ["n%02d" % i for i in range(16)]
    envs = dict(zip(names, prepare(lambda n: signed(W.cfg.yaml("team-new", n)), names)))

    def one(i):
        return submit(W.A if i % 2 else W.B, W.admin, "team-new", names[i], None, env=envs[names[i]])

    results = parallel(one, list(range(len(names))))
    no_exceptions(results)
    bad = [r.describe() for r in results if r.status != 201]
    assert not bad, "%d submits not 201, first: %s" % (len(bad), bad[0])
    eq({r.json()["version"] for r in results}, {1}, "versions")
    got, _ = search_all(W.A, W.admin, "&namespace=team-new")
    eq(got, [("team-new", n) for n in names], "configs of the new namespace")


def t_concurrent_tag_cas():
    status(put_tag(W.A, W.sub_a, "race", "live", 1, None), 200, "create tag")
    threads, per = 8, 4
    targets = {t: [2 + t * per + k for k in range(per)] for t in range(threads)}
    lock = threading.Lock()
    wins, conflicts, odd = [], [], []

    def mover(t):
        srv = W.A if t % 2 == 0 else W.B
        for target in targets[t]:
            r = srv.request("GET", "/v1/configs/team-a/race/tags/live", token=W.sub_a)
            if r.status != 200:
                with lock:
                    odd.append(r.describe())
                continue
            cur = r.json()["version"]
            r = put_tag(srv, W.sub_a, "race", "live", target, cur)
            with lock:
                if r.status == 200:
                    wins.append((r.json()["previous_version"], target, cur))
                elif r.status == 409 and r.json().get("code") == "conflict":
                    conflicts.append(target)
                else:
                    odd.append(r.describe())

    no_exceptions(parallel(mover, list(range(threads))))
    assert not odd, "unexpected answers: %s" % odd[0]
    assert wins, "no move succeeded"
    for prev, target, cur in wins:
        eq(prev, cur, "previous_version of a successful CAS")
    # The successful moves form one chain from 1; its end is the tag now.
    nxt = {}
    for prev, target, _ in wins:
        assert prev not in nxt, "two moves succeeded from version %d: %r" % (prev, wins)
        nxt[prev] = target
    at, steps = 1, 0
    while at in nxt:
        at = nxt[at]
        steps += 1
    eq(steps, len(wins), "successful moves on the chain from 1 (wins %r)" % wins)
    for srv in (W.A, W.B):
        def final():
            r = srv.request("GET", "/v1/configs/team-a/race/tags/live", token=W.sub_a)
            return r.json().get("version") == at and r
        r, waited, _ = within(2, final)
        assert r, "%s: tag live is not %d after %.1fs" % (srv.name, at, waited)
    tags = W.A.request("GET", "/v1/configs/team-a/race/tags", token=W.sub_a).json()["tags"]
    eq([(t["tag"], t["version"]) for t in tags], [("live", at)], "tag list")
    eq(len(wins) + len(conflicts), threads * per, "answers")
    note("tag CAS: %d moves applied, %d conflicts" % (len(wins), len(conflicts)))


def t_tag_seen_across_replicas():
    status(put_tag(W.A, W.sub_a, "race", "xr", 1, None), 200, "create tag xr")
    stale_first = []
    cur = 1
    for target in (5, 9, 13, 17, 21):
        # B reads the tag until a read comes from its cache. A store is
        # dropped when any invalidation (a late notification from an
        # earlier test, say) passes between its load and its store, so the
        # first reads may miss; a few tries settle it.
        cached = False
        for _ in range(20):
            status(W.B.request("GET", "/v1/configs/team-a/race/tags/xr",
                               token=W.reader_a), 200)
            hits = metric(W.B, "optreg_cache_hits_total")
            misses = metric(W.B, "optreg_cache_misses_total")
            r = W.B.request("GET", "/v1/configs/team-a/race/tags/xr", token=W.reader_a)
            eq(r.json().get("version"), cur, "B before the move")
            if metric(W.B, "optreg_cache_hits_total") > hits and \
                    metric(W.B, "optreg_cache_misses_total") == misses:
                cached = True
                break
            time.sleep(0.02)
        assert cached, "B did not serve the tag from its cache (the test needs it cached)"
        status(put_tag(W.A, W.sub_a, "race", "xr", target, cur), 200, "move through A")

        def seen():
            r = W.B.request("GET", "/v1/configs/team-a/race/tags/xr", token=W.reader_a)
            return r.json().get("version") == target and r
        r, waited, first = within(2, seen, interval=0.005)
        assert r, "B still answers the old version %.1fs after the move through A" % waited
        eq(r.header("X-Optreg-Digest"), r.json()["digest"], "X-Optreg-Digest")
        if not first:
            stale_first.append("%.0f ms" % (waited * 1000))
        cur = target
    note("cross-replica tag: %d of 5 first reads on B were stale (%s)" % (
        len(stale_first), ", ".join(stale_first) or "none"))
    # One stale read right after the move is the notification in flight;
    # more than that means B does not invalidate promptly.
    assert len(stale_first) <= 1, "B answered stale right after the move %d of 5 times (%s)" % (
        len(stale_first), ", ".join(stale_first))


# ---------------------------------------------------------------- crash safety

def t_crash_mid_burst():
    D = W.reg.server(name="D")
    per_thread = 15
    flat = prepare(lambda tk: W.cfg.yaml(A_NS, "crash", lr="%d.%03de-4" % (tk[0] + 1, tk[1])),
                   [(t, k) for t in range(8) for k in range(per_thread)])
    flat_envs = prepare(signed, flat)
    payloads = [flat[t * per_thread:(t + 1) * per_thread] for t in range(8)]
    envs = {p: e for p, e in zip(flat, flat_envs)}
    lock = threading.Lock()
    acked, unacked, odd = [], [], []
    kill_at = 12

    def burst(t):
        for p in payloads[t]:
            try:
                r = submit(D, W.sub_a, A_NS, "crash", None, env=envs[p], timeout=10)
            except (OSError, http_client.HTTPException) as e:
                with lock:
                    unacked.append((p, repr(e)))
                return
            with lock:
                if r.status in (200, 201):
                    acked.append((r.json()["version"], r.json()["digest"], p, r.status))
                else:
                    odd.append(r.describe())
                    unacked.append((p, r.status))

    ts = [threading.Thread(target=burst, args=(t,)) for t in range(8)]
    for t in ts:
        t.start()
    deadline = time.time() + 10
    while time.time() < deadline:
        with lock:
            if len(acked) >= kill_at:
                break
        time.sleep(0.001)
    D.proc.send_signal(signal.SIGKILL)
    for t in ts:
        t.join(30)
    D.proc.wait(10)
    W.crash = dict(acked=acked, unacked=unacked, odd=odd, D=D)
    note("crash: %d submits acknowledged, %d interrupted, %d other answers" % (
        len(acked), len(unacked), len(odd)))
    assert len(acked) >= kill_at, "only %d submits acknowledged before the kill" % len(acked)
    assert unacked, "the kill interrupted nothing (%d acknowledged)" % len(acked)
    eq(D.proc.returncode, -signal.SIGKILL, "D's exit")


def t_crash_acked_durable():
    E = W.reg.server(name="E")
    W.E = E
    acked = W.crash["acked"]
    for version, d, p, _ in acked:
        r = fetch_digest(E, d, W.reader_a)
        status(r, 200, "digest %s" % d)
        eq(r.body, p, "bytes of acknowledged %d" % version)
        eq(digest_of(r.body), d, "sha256 of %d" % version)
        eq(r.header("X-Optreg-Version"), "team-a/crash@%d" % version, "version of %s" % d)
    vs = {v["version"]: v["digest"] for v in versions_of(E, W.admin, A_NS, "crash")}
    for version, d, _, _ in acked:
        eq(vs.get(version), d, "listed digest of acknowledged version %d" % version)


def t_crash_versions_consecutive():
    vs = [v["version"] for v in versions_of(W.E, W.admin, A_NS, "crash")]
    eq(sorted(vs, reverse=True), vs, "newest first")
    eq(len(set(vs)), len(vs), "duplicate versions")
    eq(sorted(vs), list(range(1, len(vs) + 1)), "versions 1..max")
    eq(len(set(d for _, d, _, _ in W.crash["acked"])), len(W.crash["acked"]), "distinct acknowledged")


def t_crash_nothing_half_there():
    sent = {digest_of(p): p for ps in [[x[0] for x in W.crash["unacked"]],
                                      [a[2] for a in W.crash["acked"]]] for p in ps}
    for v in versions_of(W.E, W.admin, A_NS, "crash"):
        assert v["digest"] in sent, "version %d has a digest nobody sent" % v["version"]
        r = fetch_digest(W.E, v["digest"], W.reader_a)
        status(r, 200, "version %d by digest" % v["version"])
        eq(r.body, sent[v["digest"]], "bytes of version %d" % v["version"])
        r = W.E.request("GET", "/v1/configs/team-a/crash/versions/%d" % v["version"], token=W.reader_a)
        status(r, 200, "version %d" % v["version"])
        eq(base64.b64decode(r.json()["envelope"]["payload"]), sent[v["digest"]], "envelope payload")
    # And the config takes new versions right after the last one.
    n = len(versions_of(W.E, W.admin, A_NS, "crash"))
    note("crash: %d versions present after the kill" % n)
    r = submit(W.E, W.sub_a, A_NS, "crash", W.cfg.yaml(A_NS, "crash", lr="0.5"))
    status(r, 201)
    eq(r.json()["version"], n + 1, "next version after the crash")


# ---------------------------------------------------------------- outage

def t_outage_503():
    W.unused_tok, _ = W.reg.token("unused@team-a", "reader", A_NS)
    W.reg.cluster.halt()
    W.outage_start = time.time()
    t0 = time.time()
    r = W.A.request("GET", "/v1/configs/team-a/sub/versions", token=W.admin, timeout=20)
    took = time.time() - t0
    problem(r, 503, "unavailable")
    eq(r.header("Retry-After"), "1", "Retry-After")
    assert took < 10, "503 took %.1fs" % took
    r = submit(W.B, W.sub_a, A_NS, "outage", W.cfg.yaml(A_NS, "outage"), timeout=20)
    problem(r, 503, "unavailable")
    r = W.A.request("GET", "/readyz", timeout=20)
    problem(r, 503, "unavailable")
    status(W.A.request("GET", "/healthz"), 200, "/healthz during the outage")
    problem(W.B.request("GET", "/readyz", timeout=20), 503, "unavailable")


def t_outage_uncached_token():
    # A token the servers have never seen cannot be checked now: that is
    # 503, not 401 (the client must retry, not drop its token).
    r = W.A.request("GET", "/v1/configs/team-a/sub/versions/1", token=W.unused_tok, timeout=20)
    problem(r, 503, "unavailable")


def t_outage_recovers():
    old = W.reg.conninfo
    new = W.reg.cluster.start()
    assert new == old, "the cluster came back elsewhere: %r, was %r" % (new, old)
    t0 = time.time()

    def ok():
        try:
            r = W.A.request("GET", "/v1/configs/team-a/sub/versions", token=W.admin, timeout=10)
        except (OSError, http_client.HTTPException):
            return None
        return r.status == 200 and r
    r, waited, _ = within(10, ok, interval=0.1)
    assert r, "A still not answering 200 %.1fs after PostgreSQL came back" % waited
    for srv in (W.A, W.B):
        r, waited, _ = within(10, lambda: srv.request("GET", "/readyz").status == 200, 0.1)
        assert r, "%s /readyz not 200 %.1fs after restart" % (srv.name, waited)
    note("outage: A answered 200 again %.1f s after PostgreSQL was back" % (time.time() - t0))
    status(submit(W.B, W.sub_a, A_NS, "outage", W.cfg.yaml(A_NS, "outage")), 201,
           "submit after restart")
    assert time.time() - t0 < 15, "recovery took %.1fs" % (time.time() - t0)


def t_outage_notify_again():
    # The replicas' listeners reconnected: B sees a move made through A.
    status(W.B.request("GET", "/v1/configs/team-a/race/tags/live", token=W.reader_a), 200)
    cur = W.B.request("GET", "/v1/configs/team-a/race/tags/live", token=W.reader_a).json()["version"]
    target = 40 if cur != 40 else 39

    def moved():
        r = put_tag(W.A, W.sub_a, "race", "live", target, cur)
        return r.status == 200 and r
    r, _, _ = within(5, moved, 0.2)
    assert r, "cannot move the tag through A after the outage"

    def seen():
        r = W.B.request("GET", "/v1/configs/team-a/race/tags/live", token=W.reader_a)
        return r.json().get("version") == target and r
    r, waited, _ = within(3, seen, 0.01)
    assert r, "B does not see the move made through A after the outage (%.1fs)" % waited


# ---------------------------------------------------------------- graceful shutdown

def raw_request(port, method, path, headers, body):
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    head = "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" % (method, path)
    for k, v in headers.items():
        head += "%s: %s\r\n" % (k, v)
    head += "Content-Length: %d\r\n\r\n" % len(body)
    s.sendall(head.encode())
    return s


def read_response(s):
    r = http_client.HTTPResponse(s)
    r.begin()
    data = r.read()
    return r.status, data


def t_sigterm_graceful():
    F = W.reg.server(name="F")
    n = 4
    payloads = [W.cfg.yaml(A_NS, "drain", lr="%d.0e-3" % (i + 1)) for i in range(n)]
    bodies = [json.dumps(signed(p)).encode() for p in payloads]
    socks = []
    results = []
    try:
        # Each request: headers and half the body sent, so the server is
        # reading it when SIGTERM comes; the rest follows after.
        for b in bodies:
            s = raw_request(F.port, "POST", "/v1/configs/team-a/drain/versions",
                            {"Authorization": "Bearer " + W.sub_a,
                             "Content-Type": "application/json"}, b)
            socks.append(s)
            s.sendall(b[:len(b) // 2])
        time.sleep(0.3)
        F.proc.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        assert F.alive(), "F exited with requests in flight:\n%s" % F.log_tail()
        for s, b in zip(socks, bodies):
            try:
                s.sendall(b[len(b) // 2:])
                results.append(read_response(s))
            except (OSError, http_client.HTTPException) as e:
                results.append(("error", repr(e).encode()))
    finally:
        for s in socks:
            s.close()
    rc = F.terminate(timeout=20)
    eq([r[0] for r in results], [201] * n, "in-flight submits answered (%r)" % [r[1][:200] for r in results])
    eq(rc, 0, "exit status after SIGTERM")
    got = {v["digest"] for v in versions_of(W.A, W.admin, A_NS, "drain")}
    eq(got, {digest_of(p) for p in payloads}, "stored")


def t_sigterm_idle_keepalive():
    # An idle keep-alive connection is not a request in flight: it must not
    # hold the shutdown for the whole drain time.
    H = W.reg.server(name="H")
    conn = http_client.HTTPConnection("127.0.0.1", H.port, timeout=10)
    try:
        conn.request("GET", "/healthz")
        r = conn.getresponse()
        r.read()
        eq(r.status, 200, "healthz")
        eq(r.getheader("Connection", "").lower() == "close", False, "kept alive")
        t0 = time.time()
        H.proc.send_signal(signal.SIGTERM)
        rc = H.proc.wait(20)
        took = time.time() - t0
    finally:
        conn.close()
    eq(rc, 0, "exit status")
    assert took < 3, "exit took %.1fs with one idle keep-alive connection open" % took


def t_sigterm_burst():
    # Requests that the server had accepted when SIGTERM came are answered;
    # later ones are refused at connect, never cut off half way.
    G = W.reg.server(name="G")
    stop = threading.Event()
    lock = threading.Lock()
    answered, refused, broken = [], [], []
    # Connection-level refusals (never accepted, or reset before any byte
    # of a response) are fine during shutdown; a truncated response, a
    # garbled one or a 5xx other than 503 is not.
    not_accepted = (ConnectionRefusedError, ConnectionResetError, BrokenPipeError,
                    http_client.RemoteDisconnected)

    def loop(t):
        while not stop.is_set():
            try:
                r = G.request("GET", "/v1/configs/team-a/sub/versions/1", token=W.reader_a, timeout=15)
                with lock:
                    if r.status == 200 and r.json().get("version") == 1:
                        answered.append(1)
                    elif r.status == 503:
                        refused.append(503)
                    else:
                        broken.append(r.describe())
            except not_accepted as e:
                with lock:
                    refused.append(repr(e))
                return
            except (OSError, http_client.HTTPException, AssertionError) as e:
                with lock:
                    broken.append(repr(e))
                return

    ts = [threading.Thread(target=loop, args=(t,)) for t in range(6)]
    for t in ts:
        t.start()
    time.sleep(0.4)
    G.proc.send_signal(signal.SIGTERM)
    rc = None
    try:
        rc = G.proc.wait(20)
    finally:
        stop.set()
        for t in ts:
            t.join(20)
    eq(rc, 0, "exit status")
    assert answered, "no request answered before SIGTERM"
    assert not broken, "%d requests cut off or failed: %r" % (len(broken), broken[:3])


# ---------------------------------------------------------------- main

TESTS = [
    ("healthz answers 200 {status: ok}", t_healthz),
    ("readyz answers 200 with the database up and migrated", t_readyz),
    ("metrics has optreg_http_requests_total{route,method,status} and optreg_db_pool_size", t_metrics),
    ("X-Request-Id is echoed when sane, also in problems", t_request_id_echo),
    ("X-Request-Id is generated (32 hex) when absent or insane", t_request_id_generated),
    ("optreg_http_requests_total counts each request once, by route/method/status", t_metrics_count),
    ("one JSON access log line per request, with request_id, route, principal; no tokens", t_access_log),
    ("unknown routes answer 404 not_found problems", t_unknown_route),
    ("known routes with another method answer 405 with Allow", t_method_not_allowed),
    ("submit: 201, created true, Location, digest = sha256(payload)", t_submit_created),
    ("submit: identical resubmit (other replica) is 200, created false, same version", t_submit_identical),
    ("submit: the JSON form of the YAML config is the same config", t_submit_same_content_as_json),
    ("submit: new content gets version 2", t_submit_new_version),
    ("submit: non-canonical payloads are 400 not_canonical, nothing stored", t_not_canonical),
    ("submit: non-envelopes are 400 bad_envelope, nothing stored", t_bad_envelope),
    ("submit/tag: a non-JSON Content-Type is 415", t_unsupported_media_type),
    ("every route with a body answers 415 to text/plain", t_unsupported_media_type_everywhere),
    ("submit: invalid configs are 422 invalid_config with errors[] paths", t_invalid_config),
    ("submit: payloads that are no config (bad UTF-8, empty, dup keys) are 422; dup envelope keys 400", t_payload_not_a_config),
    ("submit: metadata naming another config is 422 name_mismatch", t_name_mismatch),
    ("submit: refused submits use up no version number", t_versions_not_reused),
    ("a body over --max-body is 413 too_large", t_too_large),
    ("a chunked body over --max-body is 413 too_large", t_too_large_chunked),
    ("malformed path parameters are 400 bad_request", t_bad_path_params),
    ("submit without a token is 401 with WWW-Authenticate", t_submit_no_token),
    ("signatures: an unsigned envelope is 403 signature_refused (threshold), nothing stored", t_sig_unsigned),
    ("signatures: an unregistered key is unknown_key", t_sig_unknown_key),
    ("signatures: wrong payload, flipped bit, or not over the PAE is bad_signature", t_sig_bad_signature),
    ("signatures: one good signature next to a bad one meets threshold 1", t_sig_good_with_bad),
    ("signatures: URL-safe unpadded base64 accepted, stored as standard", t_sig_urlsafe_base64),
    ("signatures: a key not allowed for the namespace is key_not_allowed", t_sig_key_not_allowed),
    ("signatures: namespace threshold 2 needs two distinct keys", t_sig_threshold),
    ("signatures: a revoked key is refused on both replicas; what it signed stays", t_sig_revoked_key),
    ("keys API: list, get, 404, 409 duplicate, 400 non-Ed25519, 403 non-admin", t_keys_api),
    ("receipt: signed by a key of /v1/registry/keys (openssl verifies), claims match", t_receipt),
    ("GET version: the document, config, envelope, X-Optreg-Digest", t_get_version),
    ("GET version/list of unknown version or config is 404", t_get_version_not_found),
    ("config is type-exact (integers, UTF-8) in the version document and digest bytes", t_version_config_exact),
    ("name, config name and tag length limits; percent-encoded segments", t_name_boundaries),
    ("GET digest: identical bytes, ETag, immutable Cache-Control (A, B, B cached)", t_get_digest),
    ("GET digest with If-None-Match is 304 with an empty body", t_digest_304),
    ("HEAD digest: headers, no body", t_head_digest),
    ("GET digest: 404 unknown, 400 malformed, 401 without token, 404 other namespace", t_digest_errors),
    ("GET unknown digest without a token is 401, like a known one", t_digest_unknown_anonymous),
    ("tag: create with expected_version null", t_tag_create),
    ("tag: create when it exists is 409 conflict naming the current version", t_tag_create_exists),
    ("tag: move with the right expected_version (other replica)", t_tag_move),
    ("tag: wrong expected_version is 409 conflict, tag unchanged", t_tag_move_wrong_expected),
    ("tag: GET answers the version document with X-Optreg-Digest", t_tag_get),
    ("tag: list", t_tag_list),
    ("version document lists its tags", t_version_doc_tags),
    ("version documents' tags follow a tag move on both replicas", t_version_doc_tags_follow_moves),
    ("tag: 404 / 400 / 403 / 401 cases", t_tag_errors),
    ("yank: needs approver (403 names role and namespace)", t_yank_needs_approver),
    ("yank: reason required (400); unknown version 404", t_yank_bad_body),
    ("yank: still fetchable by digest (X-Optreg-Yanked) and version (yanked true), on both replicas", t_yank),
    ("yank twice is 200 and keeps the first reason", t_yank_twice),
    ("tag: cannot move to a yanked version (409 yanked); tags on it stay", t_tag_to_yanked),
    ("list versions: page_size=2 walks 5 versions newest first, no gaps or duplicates", t_list_pagination),
    ("list versions: a page token stays valid while versions are added", t_page_token_survives_inserts),
    ("list/search: garbage page_token and bad page_size are 400", t_bad_page_params),
    ("search: only namespaces the token may read; namespace and q filters", t_search),
    ("search and reads agree on namespace globs (team-*, team-?, *-b)", t_search_globs),
    ("search: page_size=1 walk gives everything in order", t_search_pagination),
    ("search: anonymous is 401 by default, allowed with --anonymous-read", t_search_anonymous),
    ("reads without a token are 401 with WWW-Authenticate: Bearer", t_no_token_401),
    ("malformed tokens are 401", t_malformed_token_401),
    ("a well-formed unknown token is 401", t_unknown_token_401),
    ("reader cannot submit: 403 role submitter on namespace team-a", t_reader_cannot_submit),
    ("submitter of team-a cannot submit to team-b: 403 names role and namespace", t_submitter_other_namespace),
    ("an expired token is 401 (on both replicas)", t_expired_token),
    ("POST /v1/tokens by admin returns a token that works, within its grants", t_api_token_create),
    ("POST/DELETE /v1/tokens refused to non-admins; malformed bodies 400", t_api_token_refused),
    ("DELETE /v1/tokens/{id}: 204, the token is refused at once on both replicas", t_api_token_revoke),
    ("optreg-server token revoke: the token is refused at once on both replicas", t_cli_token_revoke),
    ("anonymous reads: 401 by default, 200 with --anonymous-read; writes always 401", t_anonymous_read),
    ("POST /v1/validate: 200 valid + digest, 422 errors, auth rules", t_validate),
    ("40 concurrent submits through 2 replicas get versions exactly 1..40", t_concurrent_submits),
    ("12 concurrent identical submits make one version (12 rounds, new and existing config)", t_concurrent_identical),
    ("16 concurrent first submits into a new namespace through 2 replicas", t_concurrent_new_namespace),
    ("concurrent compare-and-set tag moves through 2 replicas form one chain", t_concurrent_tag_cas),
    ("a tag moved through A is answered by B (cached there) at once", t_tag_seen_across_replicas),
    ("crash: SIGKILL in the middle of a burst of submits", t_crash_mid_burst),
    ("crash: every acknowledged submit is there, bytes intact, through a new server", t_crash_acked_durable),
    ("crash: versions are 1..max, no gap, no duplicate", t_crash_versions_consecutive),
    ("crash: every version present is complete; numbering continues", t_crash_nothing_half_there),
    ("outage: PostgreSQL halted gives 503 unavailable (and /readyz 503)", t_outage_503),
    ("outage: a token not cached is 503, not 401", t_outage_uncached_token),
    ("outage: PostgreSQL back, the same servers answer 200 within seconds", t_outage_recovers),
    ("outage: cache invalidation across replicas works again afterwards", t_outage_notify_again),
    ("SIGTERM: in-flight requests complete, exit 0", t_sigterm_graceful),
    ("SIGTERM with an idle keep-alive connection exits at once, 0", t_sigterm_idle_keepalive),
    ("SIGTERM under load: no request cut off, exit 0", t_sigterm_burst),
]


def main():
    return run_suite(tap, W, setup, TESTS,
                     "cluster, migrations, tokens, servers A B C")


if __name__ == "__main__":
    sys.exit(main())
