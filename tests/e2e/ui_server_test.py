#!/usr/bin/python3
"""tests/e2e/ui_server_test.py: what optreg-server does for the web page,
end to end over PostgreSQL (tests/e2e/harness.py).

What it covers:
  - the embedded files of ui/: GET /ui/ is index.html, GET /ui/{file} each
    file of ui/, byte for byte, with its Content-Type by extension;
  - the headers of every /ui answer (Content-Security-Policy, nosniff,
    Referrer-Policy, X-Frame-Options, Cache-Control: no-cache) and the
    strong ETag (the SHA-256 of the file), If-None-Match -> 304;
  - HEAD, the redirects (/ui -> 308 /ui/, / -> 302 /ui/), 404 for a file
    that is not there or a deeper path, 405 for another method; no token
    needed where the API asks for one; answered with PostgreSQL down;
  - --no-ui, `ui: false` in the settings file and OPTREG_UI=0: 404;
  - GET .../versions/{n}/diff?against=REF: a version number, `previous`,
    a tag; the same answer as `optreg diff --json`; 400 naming `against`,
    404s;
  - the versions list's new fields: verdict (latest on the reference
    suite), job_state and signer_keyids;
    and its query's plan on thousands of versions (EXPLAIN of
    SQL_VERSION_LIST, read from registry/store/versions.c): one index scan
    that stops at the page, no sequential scan.

usage: tests/e2e/ui_server_test.py     (from the repository root)
Prints TAP and exits 1 when any test fails.
"""

import hashlib
import json
import os
import re
import subprocess
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the working tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness as h  # noqa: E402
from harness import eq, problem, status  # noqa: E402

tap = h.Tap()
UI = os.path.join(h.ROOT, "ui")
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; "
       "img-src 'self' data:; connect-src 'self'; base-uri 'none'; "
       "form-action 'none'; frame-ancestors 'none'")
TYPES = {".html": "text/html; charset=utf-8",
         ".js": "text/javascript; charset=utf-8",
         ".css": "text/css; charset=utf-8",
         ".svg": "image/svg+xml; charset=utf-8",
         ".png": "image/png",
         ".json": "application/json; charset=utf-8"}


class W:
    pass


w = W()


def ui_files():
    return sorted(n for n in os.listdir(UI)
                  if os.path.splitext(n)[1] in TYPES and not n.startswith("."))


def file_bytes(name):
    with open(os.path.join(UI, name), "rb") as f:
        return f.read()


def etag_of(name):
    return '"%s"' % hashlib.sha256(file_bytes(name)).hexdigest()


def ui_headers(r, what):
    eq(r.header("Content-Security-Policy"), CSP, what + ": CSP")
    eq(r.header("X-Content-Type-Options"), "nosniff", what + ": nosniff")
    eq(r.header("Referrer-Policy"), "no-referrer", what + ": Referrer-Policy")
    eq(r.header("X-Frame-Options"), "DENY", what + ": X-Frame-Options")
    eq(r.header("Cache-Control"), "no-cache", what + ": Cache-Control")


NS = "uisrv"

V1 = """apiVersion: optreg/v1
kind: OptimizerConfig
metadata:
  namespace: uisrv
  name: bert
spec:
  optimizer: adam
  lr: 3.0e-4
  betas: [0.9, 0.999]
  eps: 1.0e-8
  weight_decay: 0.01
  schedule: {kind: cosine, warmup_steps: 500, total_steps: 10000}
"""

V2 = V1.replace("optimizer: adam", "optimizer: adamw").replace("lr: 3.0e-4", "lr: 1.0e-3")
V3 = V2.replace("weight_decay: 0.01", "weight_decay: 0.01\n  grad_clip_norm: 1.0")
# Version 4: version 3's config with a default written out (equal to 3).
V4 = V3.replace("eps: 1.0e-8", "eps: 1.0e-8\n  amsgrad: false")


def cpath(name="bert", rest=""):
    return "/v1/configs/%s/%s%s" % (NS, name, rest)


def canonical(text):
    path = os.path.join(w.reg.tmp, "submit.yaml")
    with open(path, "w") as f:
        f.write(text)
    p = subprocess.run([h.CLI_BIN, "canonicalize", path], stdout=subprocess.PIPE,
                       timeout=30)
    assert p.returncode == 0, "canonicalize"
    return p.stdout


def submit(text, verdict=None, lease=True):
    """Submits `text` as uisrv/bert; leases its job when `lease` and posts
    `verdict` when given. Returns (version, digest, job or None)."""
    r = status(w.s.request("POST", cpath(rest="/versions"), token=w.sub,
                           body=h.envelope(canonical(text), [w.ci])), 201, "submit")
    job = None
    if lease:
        job = status(w.s.request("POST", "/v1/jobs/lease", token=w.runner,
                                 body={"lease_seconds": 600}), 200, "lease").json()["job"]
        eq(job["digest"], r.json()["digest"], "the leased job is the new version's")
    if verdict:
        status(h.post_verdict(w.s, w.runner, job, [w.verdict_key], verdict), 201,
               "verdict " + verdict)
    return r.json()["version"], r.json()["digest"], job


def setup():
    w.reg = h.Registry().start()
    w.s = w.reg.server()
    w.admin, _ = w.reg.token("admin@ops", "admin")
    w.sub, _ = w.reg.token("ci@uisrv", "submitter", namespace=NS)
    w.reader, _ = w.reg.token("reader@uisrv", "reader", namespace=NS)
    w.stranger, _ = w.reg.token("reader@other", "reader", namespace="other")
    w.runner, _ = w.reg.token("runner@ops", "runner", namespace=NS)
    w.approver, _ = w.reg.token("approver@uisrv", "approver", namespace=NS)
    w.ci = h.Signer(w.reg.tmp, "ci")
    w.verdict_key = h.Signer(w.reg.tmp, "runner")
    for signer, principal, purpose in ((w.ci, "ci@uisrv", "config"),
                                       (w.verdict_key, "runner@ops", "verdict")):
        status(w.s.request("POST", "/v1/keys", token=w.admin,
                           body={"public_key": signer.public_pem, "principal": principal,
                                 "namespaces": [NS], "purpose": purpose}),
               201, "register the %s key" % purpose)
    w.v = {}
    w.v[1] = submit(V1, "pass")
    w.v[2] = submit(V2)                 # leased, no verdict yet
    w.v[3] = submit(V3, "fail")
    w.v[4] = submit(V4, lease=False)    # queued
    for tag in ("prod", "1.0"):
        status(w.s.request("PUT", cpath(rest="/tags/" + tag), token=w.sub,
                           body={"version": 1, "expected_version": None}), 200,
               "tag " + tag)
    w.off = w.reg.server("--no-ui")
    settings = os.path.join(w.reg.tmp, "no-ui.yaml")
    with open(settings, "w") as f:
        f.write("ui: false\n")
    w.off_file = w.reg.server("--config", settings)
    os.environ["OPTREG_UI"] = "0"
    try:
        w.off_env = w.reg.server()
    finally:
        del os.environ["OPTREG_UI"]


# ---------------------------------------------------------------- static

def t_index():
    r = status(w.s.request("GET", "/ui/"), 200, "GET /ui/")
    eq(r.body, file_bytes("index.html"), "GET /ui/ body")
    eq(r.header("Content-Type"), "text/html; charset=utf-8", "Content-Type")
    eq(r.header("ETag"), etag_of("index.html"), "ETag")
    ui_headers(r, "GET /ui/")


def t_every_file():
    names = ui_files()
    assert "index.html" in names and "app.js" in names, names
    for name in names:
        r = status(w.s.request("GET", "/ui/" + name), 200, name)
        eq(r.body, file_bytes(name), name + " body")
        eq(r.header("Content-Type"), TYPES[os.path.splitext(name)[1]],
           name + " Content-Type")
        eq(r.header("ETag"), etag_of(name), name + " ETag")
        ui_headers(r, name)


def t_not_modified():
    tag = etag_of("app.js")
    for inm in (tag, "W/" + tag, '"x", ' + tag, "*"):
        r = status(w.s.request("GET", "/ui/app.js",
                               headers={"If-None-Match": inm}), 304, inm)
        eq(r.body, b"", "304 body")
        eq(r.header("ETag"), tag, "304 ETag")
        ui_headers(r, "304")
    # A query string (a cache buster) changes nothing.
    r = status(w.s.request("GET", "/ui/app.js?v=2&x", headers={"If-None-Match": tag}),
               304, "with a query string")
    r = status(w.s.request("GET", "/ui/app.js?v=2"), 200, "with a query string")
    eq((r.body, r.header("ETag")), (file_bytes("app.js"), tag), "with a query string")
    # Malformed: "*" in a list, text after the closing quote: the file.
    for inm in ('"x", *', "*x", tag + "x", "w/" + tag):
        r = status(w.s.request("GET", "/ui/app.js",
                               headers={"If-None-Match": inm}), 200, inm)
    # Another file's tag, or a stale one, gets the file.
    for inm in (etag_of("index.html"), '"%s"' % ("0" * 64), "garbage"):
        r = status(w.s.request("GET", "/ui/app.js",
                               headers={"If-None-Match": inm}), 200, inm)
        eq(r.body, file_bytes("app.js"), "body")


def t_head():
    r = status(w.s.request("HEAD", "/ui/app.js"), 200, "HEAD")
    eq(r.body, b"", "HEAD body")
    eq(r.header("Content-Length"), str(len(file_bytes("app.js"))),
       "HEAD Content-Length")
    eq(r.header("ETag"), etag_of("app.js"), "HEAD ETag")
    ui_headers(r, "HEAD")
    r = status(w.s.request("HEAD", "/ui/"), 200, "HEAD /ui/")
    eq(r.header("Content-Type"), "text/html; charset=utf-8", "Content-Type")


def t_redirects():
    r = status(w.s.request("GET", "/ui"), 308, "GET /ui")
    eq(r.header("Location"), "/ui/", "/ui Location")
    ui_headers(r, "GET /ui")
    r = status(w.s.request("GET", "/"), 302, "GET /")
    eq(r.header("Location"), "/ui/", "/ Location")
    r = status(w.s.request("HEAD", "/"), 302, "HEAD /")
    eq(r.header("Location"), "/ui/", "HEAD / Location")


def t_not_found():
    for path in ("/ui/nope.js", "/ui/index.htm", "/ui/..", "/ui/%2e%2e",
                 "/ui/..%2Fregistry", "/ui/a/app.js", "/ui/app.js/",
                 "/ui//app.js", "/uix"):
        problem(w.s.request("GET", path), 404, "not_found", path)
    r = problem(w.s.request("GET", "/ui/nope.js"), 404, "not_found", "nope")
    ui_headers(w.s.request("GET", "/ui/nope.js"), "404")
    assert "nope" not in r.get("detail", ""), r
    problem(w.s.request("POST", "/ui/", body={}), 405, "method_not_allowed",
            "POST /ui/")
    problem(w.s.request("DELETE", "/ui/app.js"), 405, "method_not_allowed",
            "DELETE /ui/app.js")
    # The HTTP layer's own 404s and 405s under /ui carry the page's
    # headers too; other paths', and all with the page off, do not.
    for method, path, want in (("GET", "/ui/a/app.js", 404),
                               ("GET", "/ui/%2e%2e/%2e%2e/Makefile", 404),
                               ("GET", "/ui/..%2FMakefile", 404),
                               ("GET", "/ui/app.js%00", 404),
                               ("GET", "/ui//app.js", 404),
                               ("POST", "/ui", 405), ("POST", "/ui/", 405),
                               ("PUT", "/ui/app.js", 405)):
        r = w.s.request(method, path, body={} if method != "GET" else None)
        eq(r.status, want, "%s %s" % (method, path))
        ui_headers(r, "%s %s" % (method, path))
    for srv, path in ((w.s, "/uix/a"), (w.s, "/v1/nope"), (w.off, "/ui/a/b"),
                      (w.off, "/ui/app.js")):
        r = srv.request("GET", path)
        eq((r.status, r.header("Content-Security-Policy")), (404, None), path)


def t_no_token():
    # The API asks for a token here (no --anonymous-read); the page not.
    problem(w.s.request("GET", "/v1/configs"), 401, "unauthorized",
            "GET /v1/configs")
    status(w.s.request("GET", "/ui/"), 200, "GET /ui/ without a token")
    status(w.s.request("GET", "/ui/", token="optreg_bogus"), 200,
           "GET /ui/ with a bad token")


def t_off():
    for srv, how in ((w.off, "--no-ui"), (w.off_file, "ui: false"),
                     (w.off_env, "OPTREG_UI=0")):
        for path in ("/ui/", "/ui", "/", "/ui/app.js", "/ui/index.html"):
            problem(srv.request("GET", path), 404, "not_found",
                    "%s: GET %s" % (how, path))
        status(srv.request("GET", "/healthz"), 200, how + ": /healthz")


def t_without_database():
    # From memory on the I/O thread: PostgreSQL down changes nothing.
    w.reg.cluster.halt()
    r = status(w.s.request("GET", "/ui/index.html"), 200,
               "with PostgreSQL down")
    eq(r.body, file_bytes("index.html"), "body")
    status(w.s.request("GET", "/"), 302, "GET / with PostgreSQL down")


# ---------------------------------------------------------------- diff

def diff(n, against, token="reader", name="bert"):
    q = "" if against is None else "?against=" + against
    return w.s.request("GET", cpath(name, "/versions/%s/diff%s" % (n, q)),
                       token=getattr(w, token) if token else None)


def cli_diff_json(a, b):
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPTREG_")}
    env["OPTREG_URL"] = w.s.base
    env["OPTREG_TOKEN"] = w.reader
    p = subprocess.run([h.CLI_BIN, "diff", "--json", a, b], env=env, timeout=60,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert p.returncode in (0, 13), p
    return json.loads(p.stdout)


def side(n):
    return {"namespace": NS, "name": "bert", "version": n, "digest": w.v[n][1]}


def t_diff_number():
    r = status(diff(2, "1"), 200, "diff 2 against 1")
    j = r.json()
    eq(sorted(j), ["a", "b", "changes", "equal"], "keys")
    eq(j["a"], side(1), "a: the against side")
    eq(j["b"], side(2), "b: version n")
    eq(j["equal"], False, "equal")
    got = [(c["path"], c["kind"], c["old"], c["new"]) for c in j["changes"]]
    eq(got, [("spec.optimizer", "changed", "adam", "adamw"),
             ("spec.lr", "changed", 0.0003, 0.001)], "the changes")
    # The numbers as RFC 8785 writes them, as the CLI's --json does.
    assert b'"old":0.0003' in r.body, r.describe()
    cli = cli_diff_json("%s/bert@1" % NS, "%s/bert@2" % NS)
    eq(j["changes"], cli["changes"], "the changes of optreg diff --json")
    eq(j["equal"], cli["equal"], "equal of optreg diff --json")
    eq((j["a"]["digest"], j["b"]["digest"]), (cli["a"]["digest"], cli["b"]["digest"]),
       "the digests of optreg diff --json")
    # The other way round.
    j = status(diff(1, "2"), 200, "diff 1 against 2").json()
    eq((j["a"]["version"], j["b"]["version"]), (2, 1), "sides")
    eq(j["changes"][1]["text"], "lr 0.001 -> 0.0003 (x0.3)", "the lr sentence")


def t_diff_previous_and_tag():
    j = status(diff(3, "previous"), 200, "previous").json()
    eq(j["a"], side(2), "previous of 3 is 2")
    eq([c["path"] for c in j["changes"]], ["spec.grad_clip_norm"], "changes")
    eq(j["changes"][0]["kind"], "added", "kind")
    j = status(diff(3, "prod"), 200, "against prod").json()
    eq(j["a"], side(1), "prod is version 1")
    eq(j["changes"], cli_diff_json("%s/bert@prod" % NS, "%s/bert@3" % NS)["changes"],
       "as optreg diff --json")
    # The same config written differently: equal, different digests.
    j = status(diff(4, "previous"), 200, "4 against 3").json()
    eq((j["equal"], j["changes"]), (True, []), "equal")
    assert j["a"]["digest"] != j["b"]["digest"], j
    # A tag may start with a digit ("1.0"): it is not a version number.
    j = status(diff(3, "1.0"), 200, "against tag 1.0").json()
    eq(j["a"], side(1), "1.0 is version 1")
    j = status(diff(2, "2"), 200, "2 against itself").json()
    eq((j["equal"], j["changes"], j["a"], j["b"]), (True, [], side(2), side(2)), "itself")


def t_diff_bad_against():
    for q in (None, "", "0", "01", "-1", "Prod", "a%20b", "x" * 65,
              "99999999999", "%201", "1%20", "%2B1", "1%00"):
        j = problem(diff(2, q), 400, "bad_request", "against=%r" % q)
        assert "against" in j.get("detail", ""), j
        eq([e.get("path") for e in j.get("errors", [])], ["against"], "errors[].path")
    problem(diff("x", "1"), 400, "bad_request", "version x")


def t_diff_not_found():
    j = problem(diff(1, "previous"), 404, "not_found", "previous of version 1")
    assert "previous" in j["detail"], j
    problem(diff(2, "99"), 404, "not_found", "against a missing version")
    problem(diff(99, "1"), 404, "not_found", "a missing version")
    problem(diff(99, "previous"), 404, "not_found", "a missing version, previous")
    problem(diff(2, "nope"), 404, "not_found", "an unknown tag")
    for tag in ("1.5", "0x1", "2b"):
        problem(diff(2, tag), 404, "not_found", "an unknown tag " + tag)
    problem(diff(2, "1", name="nope"), 404, "not_found", "an unknown config")


def t_diff_access():
    problem(diff(2, "1", token=None), 401, "unauthorized", "no token")
    problem(diff(2, "1", token="stranger"), 403, "forbidden", "another namespace's reader")
    problem(w.s.request("POST", cpath(rest="/versions/2/diff?against=1"), token=w.reader,
                        body={}), 405, "method_not_allowed", "POST")


def t_diff_yanked():
    # A yanked version stays readable, so it diffs as any other, on either
    # side; a reader sees the same changes as before the yank.
    before = status(diff(3, "previous"), 200, "3 before the yank").json()
    status(w.s.request("POST", cpath(rest="/versions/3/yank"), token=w.approver,
                       body={"reason": "diverges"}), 200, "yank 3")
    eq(status(diff(3, "previous"), 200, "yanked 3 against 2").json(), before,
       "the same diff once yanked")
    j = status(diff(4, "3"), 200, "4 against yanked 3").json()
    eq((j["a"], j["equal"]), (side(3), True), "yanked 3 as side a")
    problem(diff(3, "2", token="stranger"), 403, "forbidden",
            "another namespace's reader, yanked version")


# ---------------------------------------------------------------- list

def list_versions():
    r = status(w.s.request("GET", cpath(rest="/versions"), token=w.reader), 200, "list")
    return {v["version"]: v for v in r.json()["versions"]}


def t_list_verdicts():
    got = list_versions()
    eq(sorted(got), [1, 2, 3, 4], "versions")
    for n, result in ((1, "pass"), (3, "fail")):
        v = got[n]["verdict"]
        assert isinstance(v, dict), got[n]
        eq(sorted(v), ["created_at", "job_id", "result", "suite"], "verdict keys")
        eq((v["result"], v["suite"], v["job_id"]),
           (result, "ref-v2", w.v[n][2]["id"]), "version %d's verdict" % n)
        assert v["created_at"].endswith("Z"), v
        eq(got[n]["job_state"], "done", "version %d's job" % n)
    eq((got[2]["verdict"], got[2]["job_state"]), (None, "leased"), "version 2")
    eq((got[4]["verdict"], got[4]["job_state"]), (None, "queued"), "version 4")
    # The same verdict and job as GET .../versions/{n}/verdicts lists.
    for n in (1, 2, 3, 4):
        j = status(w.s.request("GET", cpath(rest="/versions/%d/verdicts" % n),
                               token=w.reader), 200, "verdicts of %d" % n).json()
        ref = [v for v in j["verdicts"] if v["suite"] == "ref-v2"]
        want = ({"result": ref[0]["result"], "suite": "ref-v2",
                 "job_id": ref[0]["job_id"], "created_at": ref[0]["created_at"]}
                if ref else None)
        eq(got[n]["verdict"], want, "version %d's verdict as /verdicts lists it" % n)
        jobs = [x["state"] for x in j["jobs"] if x["suite"] == "ref-v2"]
        eq(got[n]["job_state"], jobs[0] if jobs else None, "version %d's job state" % n)


def t_list_signers():
    got = list_versions()
    for n in (1, 2, 3, 4):
        eq(got[n]["signer_keyids"], [w.ci.keyid], "version %d's signers" % n)
    # Without a receipt (as versions stored before receipts), the stored
    # envelope's signatures name them.
    w.reg.psql("SET session_replication_role = replica; "
               "DELETE FROM receipts r USING configs c WHERE r.config_id = c.id "
               "AND c.name = 'bert' AND r.version = 4")
    got = list_versions()
    eq(got[4]["signer_keyids"], [w.ci.keyid], "signers from the envelope")
    eq(got[3]["signer_keyids"], [w.ci.keyid], "version 3 still from its receipt")


def list_sql():
    """SQL_VERSION_LIST of registry/store/versions.c, as the server sends
    it (TS(col) expanded as registry/store/store.h does)."""
    with open(os.path.join(h.ROOT, "registry", "store", "versions.c")) as f:
        src = f.read()
    body = re.search(r"static const char SQL_VERSION_LIST\[\] =(.*?);\n", src, re.S).group(1)
    sql = ""
    for lit, ts in re.findall(r'"((?:[^"\\]|\\.)*)"|TS\("([^"]*)"\)', body):
        sql += (lit.replace('\\"', '"') if not ts else
                "to_char(%s AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')" % ts)
    return sql


def plan_nodes(node):
    yield node
    for child in node.get("Plans", []):
        yield from plan_nodes(child)


def t_list_plan():
    # 3000 versions of bert and of each of 10 more configs, each with a
    # receipt and jobs and verdicts on three suites (as copies of version
    # 1's rows, triggers and foreign keys off).
    n, configs = 3000, 10
    w.reg.psql("""
SET session_replication_role = replica;
INSERT INTO configs (id, namespace_id, name, latest_version)
 SELECT c.id + k * 100000, c.namespace_id, 'many' || k, %(n)d
   FROM configs c, generate_series(1, %(c)d) k WHERE c.name = 'bert';
INSERT INTO versions (config_id, version, digest, payload, envelope, created_by)
 SELECT v.config_id + k * 100000, g,
        'sha256:' || encode(sha256(convert_to(g || '-' || k, 'UTF8')), 'hex'),
        v.payload, v.envelope, v.created_by
   FROM versions v JOIN configs c ON c.id = v.config_id,
        generate_series(100, %(n)d) g, generate_series(0, %(c)d) k
  WHERE c.name = 'bert' AND v.version = 1;
INSERT INTO receipts
 SELECT v.config_id, v.version, r.receipt, r.registry_keyid
   FROM versions v, (SELECT r.* FROM receipts r JOIN configs c ON c.id = r.config_id
                      WHERE c.name = 'bert' AND r.version = 1) r
  WHERE v.version >= 100;
INSERT INTO jobs (config_id, version, suite, state)
 SELECT v.config_id, v.version, s, 'done'
   FROM versions v, unnest(ARRAY['ref-v2', 'other-a', 'other-b']) s
  WHERE v.version >= 100;
INSERT INTO verdicts (job_id, config_id, version, suite, suite_digest, result,
                      runner, runner_keyid, verdict)
 SELECT j.id, j.config_id, j.version, j.suite, x.suite_digest, 'pass', x.runner,
        x.runner_keyid, x.verdict
   FROM jobs j, (SELECT * FROM verdicts LIMIT 1) x WHERE j.version >= 100;
ANALYZE;
""" % {"n": n, "c": configs})
    out = w.reg.psql("PREPARE q(text, text, int, int, text) AS %s;\n"
                     "EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE q('%s', 'bert', 0, 50, "
                     "'ref-v2')" % (list_sql(), NS)).stdout
    plan = json.loads(out)[0]["Plan"]
    nodes = list(plan_nodes(plan))
    scans = [(x["Node Type"], x.get("Relation Name")) for x in nodes
             if x.get("Relation Name") in ("versions", "receipts", "jobs", "verdicts")]
    assert not [s for s in scans if "Seq Scan" in s[0]], scans
    v = [x for x in nodes if x.get("Relation Name") == "versions"]
    eq(len(v), 1, "one scan of versions")
    # The page alone is read, in order: no sort of the config's versions.
    assert v[0]["Actual Rows"] <= 50, v[0]
    eq(plan["Actual Rows"], 50, "the page")
    got = status(w.s.request("GET", cpath(rest="/versions?limit=20"), token=w.reader),
                 200, "list").json()["versions"]
    eq([x["version"] for x in got], list(range(n, n - 20, -1)), "the newest first")
    eq(got[0]["verdict"]["result"], "pass", "a copied verdict")


API = [
    ("diff: against a version number, as optreg diff --json", t_diff_number),
    ("diff: against previous and a tag; equal configs", t_diff_previous_and_tag),
    ("diff: 400 naming against", t_diff_bad_against),
    ("diff: 404 for previous of 1, missing versions, tags, configs", t_diff_not_found),
    ("diff: token and role", t_diff_access),
    ("diff: a yanked version on either side", t_diff_yanked),
    ("versions list: verdict on the reference suite and job_state", t_list_verdicts),
    ("versions list: signer_keyids from the receipt, else the envelope", t_list_signers),
]

STATIC = [
    ("GET /ui/ is index.html with the page's headers", t_index),
    ("every file of ui/ at /ui/{file}: bytes, type, ETag, headers",
     t_every_file),
    ("If-None-Match with the ETag (or W/, a list, *) -> 304", t_not_modified),
    ("HEAD /ui/{file}: headers and length without a body", t_head),
    ("GET /ui -> 308 /ui/ and GET / -> 302 /ui/", t_redirects),
    ("404 for other paths under /ui/, 405 for other methods", t_not_found),
    ("the page needs no token", t_no_token),
    ("--no-ui, ui: false, OPTREG_UI=0: 404", t_off),
]

LAST = [
    ("versions list: one index scan of the page, however many versions",
     t_list_plan),
    ("the page is served with PostgreSQL down", t_without_database),
]


def main():
    return h.run_suite(tap, w, setup, STATIC + API + LAST, "start the registry")


if __name__ == "__main__":
    sys.exit(main())
