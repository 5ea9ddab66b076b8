#!/usr/bin/env python3
"""tests/e2e/faults_test.py: the smaller faults that hostile testing found
(issue 10, item 6), each against a real server over real PostgreSQL:

  - a JSON body without Content-Type is 415, naming the type to send;
  - a request whose body length is ambiguous (Content-Length with
    Transfer-Encoding, Content-Lengths that disagree) is 400 and its
    connection is closed, so nothing after it is read as a next request
    (raw sockets);
  - POST /v1/tokens with a huge expires_in is 400 naming the field and its
    range, not 500;
  - principals with control or invisible format characters are refused,
    and `optreg key list` escapes any that are in the database;
  - version numbers with leading zeros (/versions/007) are refused: one
    spelling per resource;
  - a reader without access to a digest's namespace gets the same 404 as
    for a digest that does not exist;
  - keys have a purpose: config keys sign configs, verdict keys verdicts,
    and migration 0007 gives existing keys the right one.
Prints TAP."""

import base64
import json
import os
import re
import shutil
import socket
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
from harness import problem, status  # noqa: E402

tap = h.Tap()
R = h.Registry()
A, B = "team-a", "team-b"
ZERO = "sha256:" + "0" * 64


class W:
    pass


def submit(ns, name, signers, lr="3.0e-5"):
    payload = W.configs.yaml(ns, name, lr=lr)
    env = h.envelope(payload, signers)
    return W.S.request("POST", "/v1/configs/%s/%s/versions" % (ns, name),
                       token=W.admin, body=env), payload


def add_key(signer, principal, namespaces, purpose=None, **kw):
    body = {"public_key": signer.public_pem, "principal": principal,
            "namespaces": namespaces}
    if purpose is not None:
        body["purpose"] = purpose
    return W.S.request("POST", "/v1/keys", token=W.admin, body=body, **kw)


def setup():
    R.start()
    W.S = R.server()
    W.admin, _ = R.token("admin@ops", "admin")
    W.reader_b, _ = R.token("reader@team-b", "reader", namespace=B)
    W.runner, _ = R.token("runner@ops", "runner")
    W.configs = h.Configs(R.tmp)
    W.ci = h.Signer(R.tmp, "ci")
    W.runner_key = h.Signer(R.tmp, "runner")
    status(add_key(W.ci, "ci@team-a", [A, B]), 201, "register the config key")
    r = status(add_key(W.runner_key, "runner@ops", [A, B], purpose="verdict"), 201,
               "register the verdict key")
    assert r.json().get("purpose") == "verdict", r.describe()
    r, W.payload = submit(A, "adam", [W.ci])
    status(r, 201, "submit team-a/adam@1")
    W.digest = h.digest_of(W.payload)


# ------------------------------------------------------------ Content-Type

def t_json_body_without_content_type():
    other = h.Signer(R.tmp)
    body = {"public_key": other.public_pem, "principal": "x@ops", "namespaces": [A]}
    r = W.S.request("POST", "/v1/keys", token=W.admin, body=body, content_type=None)
    j = problem(r, 415, "unsupported_media_type", "POST /v1/keys without Content-Type")
    assert "Content-Type: application/json" in j["detail"], j
    r = W.S.request("POST", "/v1/keys", token=W.admin, body=body,
                    content_type="application/jsonx")
    problem(r, 415, "unsupported_media_type", "application/jsonx")
    # Nothing was registered; the same body with the type is.
    r = W.S.request("GET", "/v1/keys", token=W.admin)
    assert other.keyid.encode() not in r.body, "registered without a Content-Type"
    status(W.S.request("POST", "/v1/keys", token=W.admin, body=body), 201, "with the type")
    # A signed submit and /v1/validate too.
    env = h.envelope(W.configs.yaml(A, "ct"), [W.ci])
    r = W.S.request("POST", "/v1/configs/%s/ct/versions" % A, token=W.admin, body=env,
                    content_type=None)
    problem(r, 415, "unsupported_media_type", "submit without Content-Type")
    r = W.S.request("POST", "/v1/validate", token=W.admin, body=h.doc(A, "v"),
                    content_type=None)
    problem(r, 415, "unsupported_media_type", "validate without Content-Type")


# ------------------------------------------------------------ framing

def raw(data, wait=3.0):
    """Sends `data` on one connection; returns (what came back, whether the
    server closed the connection)."""
    host, port = W.S.base[len("http://"):].rsplit(":", 1)
    s = socket.create_connection((host, int(port)), timeout=wait)
    out, closed = b"", False
    try:
        s.sendall(data)
        s.settimeout(wait)
        while True:
            b = s.recv(65536)
            if not b:
                closed = True
                break
            out += b
    except socket.timeout:
        pass
    finally:
        s.close()
    return out, closed


NEXT = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"


def framing_case(head, body, what, detail):
    out, closed = raw(head + b"\r\n\r\n" + body + NEXT)
    answers = re.findall(rb"HTTP/1\.1 (\d{3})", out)
    assert answers[:1] == [b"400"], "%s: answers %r\n%r" % (what, answers, out[:600])
    assert closed, "%s: the connection was kept open: %r" % (what, out[:600])
    assert len(answers) == 1, "%s: the bytes after it were served as a request: %r" % (
        what, answers)
    assert b"Connection: close" in out, "%s: no Connection: close: %r" % (what, out[:600])
    assert detail.encode() in out, "%s: detail %r not in %r" % (what, detail, out[:600])


def t_keep_alive_control():
    # The control: two requests on one connection are both answered.
    out, closed = raw(NEXT + NEXT, wait=1.0)
    eq = re.findall(rb"HTTP/1\.1 (\d{3})", out)
    assert eq == [b"200", b"200"], "keep-alive: %r" % out


def t_content_length_and_transfer_encoding():
    framing_case(b"POST /v1/validate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 b"Content-Length: 4\r\nTransfer-Encoding: chunked", b"0\r\n\r\n",
                 "Content-Length + Transfer-Encoding", "both Content-Length and Transfer-Encoding")
    framing_case(b"GET /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                 b"Content-Length: 0", b"0\r\n\r\n",
                 "Transfer-Encoding + Content-Length on a GET",
                 "both Content-Length and Transfer-Encoding")


def t_two_content_lengths():
    framing_case(b"POST /v1/validate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 b"Content-Length: 2\r\nContent-Length: 40", b"{}",
                 "two Content-Lengths", "Content-Length headers that disagree")


# ------------------------------------------------------------ tokens

def t_token_expires_in_range():
    for huge in (10 ** 15, 2 ** 62, 100 * 365 * 86400 + 1, 0, -5):
        r = W.S.request("POST", "/v1/tokens", token=W.admin, body={
            "principal": "ci@x", "grants": [{"role": "reader", "namespace": "*"}],
            "expires_in": huge})
        j = problem(r, 400, "bad_request", "expires_in %d" % huge)
        errs = [e for e in j.get("errors", []) if e.get("path") == "expires_in"]
        assert errs, "expires_in %d: no error names the field: %s" % (huge, j)
        assert "from 1 to 3153600000" in errs[0]["message"], errs[0]
        assert str(huge) in errs[0]["message"], errs[0]
    r = W.S.request("POST", "/v1/tokens", token=W.admin, body={
        "principal": "ci@x", "grants": [{"role": "reader", "namespace": "*"}],
        "expires_in": 100 * 365 * 86400})
    status(r, 201, "expires_in at the limit")


# ------------------------------------------------------------ principals

BAD_PRINCIPALS = ["evil\nadmin", "esc\x1b[2Jx", "bell\x07", "rtl\u202e@ops", "nel\x85",
                  "zero\u200bwidth", ""]


def t_principal_control_characters():
    for p in BAD_PRINCIPALS:
        r = W.S.request("POST", "/v1/tokens", token=W.admin, body={
            "principal": p, "grants": [{"role": "reader", "namespace": "*"}]})
        j = problem(r, 400, "bad_request", "token for %r" % p)
        assert [e["rule"] for e in j["errors"] if e["path"] == "principal"] == ["principal"], j
        r = add_key(h.Signer(R.tmp), p, [A])
        j = problem(r, 400, "bad_request", "key for %r" % p)
        assert [e["rule"] for e in j["errors"] if e["path"] == "principal"] == ["principal"], j
    p = subprocess.run([h.SERVER_BIN, "token", "create", "--database", R.conninfo,
                        "--principal", "evil\nadmin", "--role", "reader"],
                       env=R.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
    assert p.returncode == 2, "optreg-server token create: exit %d" % p.returncode
    # Printable UTF-8 stays allowed.
    status(add_key(h.Signer(R.tmp), "zoë@équipe", [A]), 201, "a UTF-8 principal")


def cli(*args, token=None):
    env = dict((k, v) for k, v in os.environ.items() if not k.startswith("OPTREG_"))
    env["OPTREG_URL"] = W.S.base
    if token:
        env["OPTREG_TOKEN"] = token
    return subprocess.run([h.CLI_BIN] + list(args), env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=60)


def t_key_list_escapes():
    # Rows from before the check (or written around it) are printed safely.
    k = h.Signer(R.tmp)
    R.psql("INSERT INTO signing_keys (keyid, principal, public_key, namespaces, created_by)"
           " VALUES ('%s', E'evil\\nadmin\\x1b[31m\\u202e', '%s', '{%s}', 'test')"
           % (k.keyid, k.public_pem.replace("'", "''"), A))
    p = cli("key", "list", token=W.admin)
    assert p.returncode == 0, p.stderr
    bad = [c for c in p.stdout if c < 0x20 and c != 0x0a or c == 0x7f]
    assert not bad, "raw control bytes in key list: %r" % p.stdout
    assert "\u202e".encode() not in p.stdout, "raw bidi override: %r" % p.stdout
    row = [l for l in p.stdout.decode().splitlines() if l.startswith(k.keyid)]
    assert row and "evil\\u000aadmin\\u001b[31m\\u202e" in row[0], p.stdout
    lines = p.stdout.decode().splitlines()
    assert lines[0].split() == ["KEYID", "PRINCIPAL", "NAMESPACES", "CREATED", "REVOKED",
                                "PURPOSE"], lines[0]


# ------------------------------------------------------------ versions

def t_version_leading_zeros():
    base = "/v1/configs/%s/adam/versions/" % A
    status(W.S.request("GET", base + "1", token=W.admin), 200, "version 1")
    for spelling in ("01", "00001", "0001/yank"):
        method = "POST" if spelling.endswith("yank") else "GET"
        r = W.S.request(method, base + spelling, token=W.admin,
                        body={"reason": "x"} if method == "POST" else None)
        j = problem(r, 400, "bad_request", "%s %s" % (method, spelling))
        assert "from 1 to" in j["detail"], j
    r = W.S.request("GET", base + "001/verdicts", token=W.admin)
    problem(r, 400, "bad_request", "verdicts of 001")
    # The version is not yanked by the refused spelling.
    assert W.S.request("GET", base + "1", token=W.admin).json()["yanked"] is False


# ------------------------------------------------------------ digests

def t_digest_in_hidden_namespace():
    missing = "sha256:" + "ab" * 32
    r1 = W.S.request("GET", "/v1/digests/" + W.digest, token=W.reader_b)
    r2 = W.S.request("GET", "/v1/digests/" + missing, token=W.reader_b)
    j1 = problem(r1, 404, "not_found", "a team-a digest for a team-b reader")
    j2 = problem(r2, 404, "not_found", "a digest that does not exist")
    for j in (j1, j2):
        j.pop("request_id")
    j2["detail"] = j2["detail"].replace(missing, W.digest)
    assert j1 == j2, "the answers differ:\n%s\n%s" % (j1, j2)
    assert A not in r1.body.decode(), r1.describe()
    assert not r1.header("X-Optreg-Version") and not r1.header("ETag"), r1.describe()
    status(W.S.request("GET", "/v1/digests/" + W.digest, token=W.admin), 200, "admin")


# ------------------------------------------------------------ key purposes

def lease():
    r = W.S.request("POST", "/v1/jobs/lease", token=W.runner, body={})
    return status(r, 200, "lease").json()["job"]


def post_verdict(job, signers):
    return h.post_verdict(W.S, W.runner, job, signers)


def t_key_purposes():
    job = lease()
    # The config key may not sign a verdict...
    j = problem(post_verdict(job, [W.ci]), 403, "signature_refused", "config key, verdict")
    assert [e["rule"] for e in j["errors"]] == ["key_purpose", "threshold"], j
    assert "registered to sign configs, not verdicts" in j["errors"][0]["message"], j
    n = R.psql("SELECT count(*) FROM verdicts").stdout.strip()
    assert n == "0", "a verdict was recorded: %s" % n
    # ...nor the verdict key a config.
    r, _ = submit(B, "rogue", [W.runner_key])
    j = problem(r, 403, "signature_refused", "verdict key, config")
    assert [e["rule"] for e in j["errors"]] == ["key_purpose", "threshold"], j
    # Each signs what it is for.
    r = status(post_verdict(job, [W.runner_key]), 201, "verdict key, verdict")
    eq = R.psql("SELECT runner_keyid FROM verdicts WHERE job_id = %d" % job["id"]).stdout.strip()
    assert eq == W.runner_key.keyid, eq
    # The key list shows purposes; a bad one is refused.
    keys = {k["keyid"]: k for k in W.S.request("GET", "/v1/keys", token=W.admin).json()["keys"]}
    assert keys[W.ci.keyid]["purpose"] == "config", keys[W.ci.keyid]
    assert keys[W.runner_key.keyid]["purpose"] == "verdict", keys[W.runner_key.keyid]
    j = problem(add_key(h.Signer(R.tmp), "x@ops", [A], purpose="everything"), 400,
                "bad_request", "purpose everything")
    assert [e["path"] for e in j["errors"]] == ["purpose"], j


def t_cli_key_register_purpose():
    k = h.Signer(R.tmp, "clirunner")
    pub = os.path.join(R.tmp, "clirunner.pub.pem")
    p = cli("key", "register", pub, "--principal", "runner2@ops", "--namespace", A,
            "--purpose", "verdict", "--json", token=W.admin)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["purpose"] == "verdict", p.stdout
    p = cli("key", "list", "--principal", "runner2@ops", token=W.admin)
    row = [l.split() for l in p.stdout.decode().splitlines() if l.startswith(k.keyid)]
    assert row and row[0][-1] == "verdict", p.stdout
    p = cli("key", "register", pub, "--principal", "x", "--namespace", A, "--purpose", "both",
            token=W.admin)
    assert p.returncode == 2 and b"--purpose must be config or verdict" in p.stderr, p.stderr


def psql_db(db, sql):
    conninfo = re.sub(r"dbname=\S+", "dbname=" + db, R.conninfo)
    return h.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-1", "-A", "-t", "-d", conninfo,
                  "-c", sql], env=R.env())


def migrate(db, directory):
    """`optreg-server migrate` of database `db` with the migrations of
    `directory`."""
    conninfo = re.sub(r"dbname=\S+", "dbname=" + db, R.conninfo)
    env = R.env()
    env["OPTREG_MIGRATIONS"] = directory
    return h.run([h.SERVER_BIN, "migrate", "--database", conninfo], env=env)


def t_migration_0007():
    """Existing keys get a purpose: a key that signed a verdict, or whose
    principal is a runner and not a submitter, becomes a verdict key unless
    it signed a config: unless a receipt lists it among the signers that
    counted (a signature in the stored envelope that did not count is not
    signing)."""
    h.run(["psql", "-X", "-q", "-d", R.conninfo, "-c", "CREATE DATABASE pre0007"], env=R.env())
    mig = os.path.join(h.ROOT, "migrations")
    before = os.path.join(R.tmp, "migrations-before-0007")
    os.makedirs(before)
    for f in sorted(os.listdir(mig)):
        if f.endswith(".sql") and f < "0007":
            shutil.copy(os.path.join(mig, f), before)
    migrate("pre0007", before)
    ks = [h.Signer(R.tmp) for _ in range(6)]
    pem = [k.public_pem.replace("'", "''") for k in ks]
    env = json.dumps({"payloadType": h.PAYLOAD_TYPE, "payload": "e30=",
                      "signatures": [{"keyid": ks[1].keyid, "sig": "x"},
                                     {"keyid": ks[4].keyid, "sig": "x"},
                                     {"keyid": ks[5].keyid, "sig": "x"}]})
    receipt = json.dumps({"payloadType": "application/vnd.optreg.receipt+json",
                          "payload": base64.b64encode(json.dumps(
                              {"signer_keyids": [ks[1].keyid, ks[4].keyid]}).encode()).decode(),
                          "signatures": []})
    sql = [
        # 0: signed a verdict only; 1: signed a config only; 2: a runner's
        # key, never used; 3: a submitter's key, never used; 4: signed both;
        # 5: a runner's key whose signature is in the envelope but did not
        # count (the receipt does not list it).
        "INSERT INTO signing_keys (keyid, principal, public_key, namespaces, created_by)"
        " VALUES %s" % ", ".join("('%s', '%s', '%s', '{*}', 'admin')" % (
            k.keyid, who, p) for k, who, p in zip(
                ks, ["gpu@ops", "ci@a", "runner@ops", "ci@b", "both@ops", "runner@ops"],
                pem)),
        "INSERT INTO tokens (id, principal, token_hash, created_by) VALUES"
        " ('tok_0000000000000001', 'runner@ops', decode(repeat('01', 32), 'hex'), 'a'),"
        " ('tok_0000000000000002', 'ci@b', decode(repeat('02', 32), 'hex'), 'a')",
        "INSERT INTO token_grants VALUES ('tok_0000000000000001', 'runner', '*'),"
        " ('tok_0000000000000002', 'submitter', '*'), ('tok_0000000000000002', 'reader', '*')",
        "SELECT submit_version('ns', 'cfg', '%s', '\\x7b7d', '%s', 'ci@a')" % (
            ZERO, env.replace("'", "''")),
        "INSERT INTO registry_keys (keyid, public_key) VALUES ('%s', 'x')" % ("ab" * 32),
        "INSERT INTO receipts SELECT config_id, version, '%s', '%s' FROM versions" % (
            receipt.replace("'", "''"), "ab" * 32),
        "INSERT INTO jobs (config_id, version, suite, state) SELECT config_id, version,"
        " 'ci', 'done' FROM versions",
        "INSERT INTO verdicts (job_id, config_id, version, suite, suite_digest, result,"
        " runner, runner_keyid, verdict) SELECT id, config_id, version, suite, '%s', 'pass',"
        " 'gpu@ops', '%s', '{}' FROM jobs WHERE suite = 'ci'" % (ZERO, ks[0].keyid),
        "INSERT INTO jobs (config_id, version, suite, state) SELECT config_id, version,"
        " 'ci2', 'done' FROM versions",
        "INSERT INTO verdicts (job_id, config_id, version, suite, suite_digest, result,"
        " runner, runner_keyid, verdict) SELECT id, config_id, version, suite, '%s', 'pass',"
        " 'both@ops', '%s', '{}' FROM jobs WHERE suite = 'ci2'" % (ZERO, ks[4].keyid),
    ]
    for s in sql:
        psql_db("pre0007", s)
    migrate("pre0007", mig)
    got = dict(l.split("|") for l in psql_db(
        "pre0007", "SELECT keyid, purpose FROM signing_keys").stdout.split())
    want = ["verdict", "config", "verdict", "config", "config", "verdict"]
    assert [got[k.keyid] for k in ks] == want, [got[k.keyid] for k in ks]
    privs = psql_db("pre0007", "SELECT has_column_privilege('optreg_app', 'signing_keys',"
                    " 'purpose', 'SELECT') AND has_column_privilege('optreg_app',"
                    " 'signing_keys', 'purpose', 'INSERT')").stdout.strip()
    assert privs == "t", privs


def t_migration_0009():
    """The upgrade to ref-v2 queues a ref-v2 job for every version that is
    not yanked, keeps the ref-v1 jobs and verdicts, and is idempotent."""
    h.run(["psql", "-X", "-q", "-d", R.conninfo, "-c", "CREATE DATABASE pre0009"], env=R.env())
    mig = os.path.join(h.ROOT, "migrations")
    before = os.path.join(R.tmp, "migrations-before-0009")
    os.makedirs(before)
    for f in sorted(os.listdir(mig)):
        if f.endswith(".sql") and f < "0009":
            shutil.copy(os.path.join(mig, f), before)
    p = migrate("pre0009", before)
    assert p.returncode == 0, p.stderr
    env = json.dumps({"payloadType": h.PAYLOAD_TYPE, "payload": "e30=", "signatures": []})
    for name, digest in (("kept", ZERO), ("yanked", "sha256:" + "1" * 64)):
        psql_db("pre0009", "SELECT submit_version('ns', '%s', '%s', '\\x7b7d', '%s', 'ci@a',"
                " NULL, NULL)" % (name, digest, env.replace("'", "''")))
    psql_db("pre0009", "UPDATE versions SET yanked_at = now(), yanked_by = 'a',"
            " yank_reason = 'r' WHERE config_id = (SELECT id FROM configs WHERE name = 'yanked')")
    psql_db("pre0009", "INSERT INTO jobs (config_id, version, suite, state) SELECT config_id,"
            " version, 'ref-v1', 'done' FROM versions")
    for _ in range(2):
        p = migrate("pre0009", mig)
        assert p.returncode == 0, p.stderr
        got = psql_db("pre0009", "SELECT c.name || ':' || j.suite || ':' || j.state FROM jobs j"
                      " JOIN configs c ON c.id = j.config_id ORDER BY 1").stdout.split()
        assert got == ["kept:ref-v1:done", "kept:ref-v2:queued", "yanked:ref-v1:done"], got


def main():
    try:
        setup()
    except Exception as e:  # noqa: BLE001
        tap.fail("harness: cluster, server, keys", [repr(e)] + R.logs())
        R.cleanup()
        return tap.finish()
    try:
        tap.run("migration 0009 queues a ref-v2 job for every version not yanked",
                t_migration_0009)
        tap.run("a JSON body without Content-Type is 415 naming application/json",
                t_json_body_without_content_type)
        tap.run("control: two requests on one connection are both answered",
                t_keep_alive_control)
        tap.run("Content-Length with Transfer-Encoding: 400 and the connection closed",
                t_content_length_and_transfer_encoding)
        tap.run("two different Content-Lengths: 400 and the connection closed",
                t_two_content_lengths)
        tap.run("POST /v1/tokens expires_in out of 1..100 years: 400 naming the field and range",
                t_token_expires_in_range)
        tap.run("principals with control or format characters are refused (API, serve CLI)",
                t_principal_control_characters)
        tap.run("optreg key list escapes control characters already in the database",
                t_key_list_escapes)
        tap.run("version numbers with leading zeros are 400 (one spelling per resource)",
                t_version_leading_zeros)
        tap.run("a digest in a namespace the reader cannot see is the same 404 as none",
                t_digest_in_hidden_namespace)
        tap.run("key purposes: config keys sign configs only, verdict keys verdicts only",
                t_key_purposes)
        tap.run("optreg key register --purpose verdict; key list shows PURPOSE",
                t_cli_key_register_purpose)
        tap.run("migration 0007 gives existing keys the purpose they were used for",
                t_migration_0007)
    finally:
        R.cleanup()
    return tap.finish()


if __name__ == "__main__":
    sys.exit(main())
