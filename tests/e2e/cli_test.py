#!/usr/bin/python3
"""tests/e2e/cli_test.py: the `optreg` command-line client end to end,
driven as a person or a CI script drives it: the real $BIN/optreg binary,
OPTREG_URL, OPTREG_TOKEN and OPTREG_KEY in its environment, against a real
optreg-server over a private PostgreSQL cluster (tests/e2e/harness.py), and
checked against docs/cli.md: exit statuses, human output, --json output,
stdout bytes.

Besides the real server, a small in-process fake registry (http.server on
loopback) answers what a real one never does (wrong digests, redirects,
HTML, 5xx, 429), to check that fetch prints nothing it could not check.

Every submit is signed: setup makes a key with `optreg keygen` and an admin
registers it with `optreg key register` for the namespace (the registry
accepts only signed configs). tests/e2e/signing_test.py covers signing,
receipts and `fetch --verify` in depth.

Sections: --help; submit; errors and exit statuses of submit; fetch; tag;
yank; log; usage errors; --url/--token flags; broken registries; a
PostgreSQL outage (last: the cluster stays halted).

usage: tests/e2e/cli_test.py     (from the repository root)
env:   BIN   folder with optreg and optreg-server (default "bin")
       OPTREG_E2E_KEEP=1 keeps the temporary directory (logs, cluster)

Prints TAP (`ok N - desc`, `not ok N - desc` with `# ` diagnostics, the plan
`1..N` last) and exits 1 when any test fails. Everything it starts (cluster,
server, fake registry) is stopped on exit, whatever happens.
"""

import binascii
import hashlib
import http.server
import json
import os
import re
import shlex
import socket
import subprocess
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import CLI_BIN, ROOT, Registry, Signer, Tap, run_suite, envelope  # noqa: E402

NS = "team-nlp"
NAME = "cli-bert"            # the config most tests work on
REF = NS + "/" + NAME
EXAMPLE = os.path.join(ROOT, "examples", "configs", "bert-base-finetune.yaml")
DIGEST_RE = re.compile(r"^sha256:[0-9a-f]{64}$")

tap = Tap()


class World:
    pass


W = World()


# ---------------------------------------------------------------- helpers

def eq(got, want, what):
    assert got == want, "%s: expected %r, got %r" % (what, want, got)


class Result:
    """One run of optreg: argv, exit status, stdout/stderr bytes."""

    def __init__(self, argv, env_note, p):
        self.argv = argv
        self.env_note = env_note
        self.rc = p.returncode
        self.out = p.stdout
        self.err = p.stderr

    @property
    def text(self):
        return self.out.decode("utf-8", "replace")

    @property
    def etext(self):
        return self.err.decode("utf-8", "replace")

    def describe(self):
        cmd = " ".join(shlex.quote(short(redact(a))) for a in self.argv)
        return "$ %s%s\n  exit: %d\n  stdout: %r\n  stderr: %r" % (
            self.env_note, cmd, self.rc, self.out[:1500], self.err[:1500])


def short(s, n=100):
    return s if len(s) <= n else "%s...(%d chars)" % (s[:40], len(s))


def redact(s):
    for t in getattr(W, "tokens", ()):
        s = s.replace(t, "<token>")
    return s


def optreg(*args, token="sub", url=None, stdin=None, key=True):
    """Runs $BIN/optreg ARGS with OPTREG_URL (the server, or `url`; False:
    unset), OPTREG_TOKEN and OPTREG_KEY in the environment: `token` names
    one of W's tokens ("sub", "reader", "appr", "admin"), or is a literal
    token, "" (set but empty) or None (unset); `key` is True (the key
    registered in setup, once it exists), a path, or None (unset). Returns a
    Result."""
    env = dict(os.environ)
    for k in list(env):
        if k.startswith("OPTREG_"):
            del env[k]
    # These tests describe fetch without its cache (tests/e2e/pipeline_test.py
    # covers the cache): a registry that is down is exit 7 here.
    env["OPTREG_NO_CACHE"] = "1"
    note = ""
    if key is True:
        key = getattr(W, "key", None)
    if key is not None:
        env["OPTREG_KEY"] = key
        note = "OPTREG_KEY=%s " % key
    if url is not False:
        env["OPTREG_URL"] = url if url is not None else W.srv.base
        note += "OPTREG_URL=%s " % env["OPTREG_URL"]
    if token is not None:
        if token in W.token_names:
            env["OPTREG_TOKEN"] = getattr(W, token)
            note += "OPTREG_TOKEN=<%s> " % token
        else:
            env["OPTREG_TOKEN"] = token
            note += "OPTREG_TOKEN=%s " % shlex.quote(redact(token))
    argv = [CLI_BIN] + [str(a) for a in args]
    p = subprocess.run(argv, env=env, cwd=W.dir, input=stdin, timeout=60,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return Result(argv, note, p)


B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def fake_token(body="Q" * 43):
    """A token of the documented shape (good checksum), never issued."""
    crc = binascii.crc32(body.encode())
    s = ""
    for _ in range(6):
        s = B62[crc % 62] + s
        crc //= 62
    return "optreg_%s_%s" % (body, s)


def expect(res, rc, what=""):
    assert res.rc == rc, "%sexpected exit %d, got:\n%s" % (
        what + ": " if what else "", rc, res.describe())
    return res


def has(res, needle, stream="err"):
    text = res.etext if stream == "err" else res.text
    assert needle in text, "std%s lacks %r:\n%s" % (stream, needle, res.describe())


def offline(*args):
    """An offline command (canonicalize, digest, lint); Result."""
    p = subprocess.run([CLI_BIN] + list(args), cwd=W.dir, timeout=30,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return Result([CLI_BIN] + list(args), "", p)


def canonical(path):
    r = expect(offline("canonicalize", path), 0, "optreg canonicalize")
    return r.out


def digest(path):
    r = expect(offline("digest", path), 0, "optreg digest")
    d = r.text.strip()
    assert DIGEST_RE.match(d), "optreg digest printed %r" % r.text
    return d


def sha(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def write(name, text):
    path = os.path.join(W.dir, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def example(name=NAME, lr="3.0e-5", betas="[0.9, 0.999]"):
    """examples/configs/bert-base-finetune.yaml with another name, lr and
    betas, as text."""
    with open(EXAMPLE) as f:
        text = f.read()
    for old, new in (("  name: bert-base-finetune\n", "  name: %s\n" % name),
                     ("  lr: 3.0e-5\n", "  lr: %s\n" % lr),
                     ("  betas: [0.9, 0.999]\n", "  betas: %s\n" % betas)):
        assert old in text, "the example lost %r" % old
        text = text.replace(old, new)
    return text


def versions_listed(name=NAME):
    """The version numbers `optreg log --json` lists (admin token)."""
    r = expect(optreg("log", NS + "/" + name, "--json", token="admin"), 0, "log --json")
    return [v["version"] for v in json.loads(r.out)["versions"]]


def server_log_lines():
    try:
        with open(W.srv.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return []


def requests_logged(method, path_part):
    n = 0
    for line in server_log_lines():
        try:
            j = json.loads(line)
        except ValueError:
            continue
        if isinstance(j, dict) and j.get("method") == method and \
                path_part in str(j.get("path")):
            n += 1
    return n


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def no_token_leak(res):
    for t in W.tokens:
        assert t.encode() not in res.out + res.err, \
            "a token is printed:\n%s" % res.describe()


# ---------------------------------------------------------------- fake registry

class Fake(http.server.BaseHTTPRequestHandler):
    """A fake registry: answers each request from Fake.routes, keyed by the
    percent-decoded path (query dropped): (status, headers, body bytes);
    404 otherwise. PUTs get Fake.put_answer when set. Records requests."""

    routes = {}
    seen = []     # (method, path, Authorization)
    bodies = []   # (method, path, Authorization, body)
    put_answer = None

    def log_message(self, *a):
        pass

    def _answer(self):
        Fake.seen.append((self.command, self.path, self.headers.get("Authorization")))
        n = int(self.headers.get("Content-Length") or 0)
        data = self.rfile.read(n) if n else b""
        Fake.bodies.append((self.command, self.path, self.headers.get("Authorization"), data))
        path = urllib.parse.unquote(self.path.split("?")[0])
        if self.command == "PUT" and Fake.put_answer:
            status, headers, body = Fake.put_answer
        else:
            status, headers, body = Fake.routes.get(
                path, (404, {"Content-Type": "application/problem+json"},
                       problem_body(404, "not_found")))
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_HEAD = _answer


# ---------------------------------------------------------------- setup

def setup():
    W.reg = Registry().start()
    W.dir = os.path.join(W.reg.tmp, "cli")
    os.makedirs(W.dir)
    t = W.reg.token
    W.admin, _ = t("admin@ops", "admin")
    W.sub, _ = t("ci@team-nlp", "submitter", NS)
    W.reader, _ = t("reader@team-nlp", "reader", NS)
    W.appr, _ = t("lead@team-nlp", "approver", NS)
    W.token_names = ("admin", "sub", "reader", "appr")
    W.tokens = [W.admin, W.sub, W.reader, W.appr]
    W.srv = W.reg.server(name="A")
    # The signing key: made by the CLI, registered by an admin through it.
    W.keyname = os.path.join(W.dir, "ci")
    r = optreg("keygen", "--out", W.keyname, key=None)
    assert r.rc == 0, "keygen:\n" + r.describe()
    W.keyid = r.text.strip()
    r = optreg("key", "register", W.keyname + ".pub.pem", "--principal", "ci@team-nlp",
               "--namespace", NS, token="admin", key=None)
    assert r.rc == 0, "key register:\n" + r.describe()
    W.key = W.keyname + ".pem"
    W.fake = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Fake)
    W.fake_url = "http://127.0.0.1:%d" % W.fake.server_address[1]
    threading.Thread(target=W.fake.serve_forever, daemon=True).start()
    # The configs: v1 (the example, renamed), v2 and v3 (other lr values).
    W.f1 = write("v1.yaml", example())
    W.f2 = write("v2.yaml", example(lr="5.0e-5"))
    W.f3 = write("v3.yaml", example(lr="7.0e-5"))
    W.c1, W.c2, W.c3 = canonical(W.f1), canonical(W.f2), canonical(W.f3)
    W.d1, W.d2, W.d3 = digest(W.f1), digest(W.f2), digest(W.f3)


# ---------------------------------------------------------------- --help

def t_help(cmd):
    r = expect(optreg(cmd, "--help", token=None, url="http://127.0.0.1:1"), 0)
    has(r, "usage: optreg " + cmd, "out")
    eq(r.err, b"", "stderr of --help")


def t_help_top():
    r = expect(optreg("--help", token=None), 0)
    for cmd in ("submit", "fetch", "tag", "log", "yank", "lint", "canonicalize", "digest",
                "keygen", "sign", "verify", "key", "namespace", "OPTREG_KEY",
                "OPTREG_REGISTRY_PUBKEY"):
        has(r, cmd, "out")
    expect(optreg(token=None), 2, "optreg with no command")
    expect(optreg("frobnicate", token=None), 2, "unknown command")


# ---------------------------------------------------------------- submit

def t_digest_matches_canonical():
    eq(W.d1, sha(W.c1), "optreg digest vs sha256 of optreg canonicalize")
    assert not W.c1.endswith(b"\n"), "canonical form ends in a newline"
    assert W.d1 != W.d2 != W.d3, "changing lr did not change the digest"


def t_submit_created():
    r = expect(optreg("submit", W.f1), 0)
    eq(r.text, "%s@1 %s (created)\n" % (REF, W.d1), "stdout")
    eq(r.err, b"", "stderr")
    eq(versions_listed(), [1], "versions after the first submit")


def t_submit_unchanged():
    r = expect(optreg("submit", W.f1), 0)
    eq(r.text, "%s@1 %s (unchanged)\n" % (REF, W.d1), "stdout")
    eq(versions_listed(), [1], "versions after the identical resubmit")


def t_submit_json_twin_unchanged():
    # The same content as canonical JSON, from standard input.
    r = expect(optreg("submit", "-", stdin=W.c1), 0)
    eq(r.text, "%s@1 %s (unchanged)\n" % (REF, W.d1), "stdout")


def t_submit_tag_new():
    r = expect(optreg("submit", W.f1, "--tag", "prod"), 0)
    eq(r.text, "%s@1 %s (unchanged)\n%s@prod -> 1 (new tag)\n" % (REF, W.d1, REF),
       "stdout")


def t_submit_changed_v2():
    r = expect(optreg("submit", W.f2), 0)
    eq(r.text, "%s@2 %s (created)\n" % (REF, W.d2), "stdout")
    eq(versions_listed(), [2, 1], "versions")


def t_submit_json_tag():
    r = expect(optreg("submit", W.f3, "--tag", "staging", "--json"), 0)
    try:
        j = json.loads(r.out)
    except ValueError:
        raise AssertionError("--json output is not JSON:\n" + r.describe())
    for k, want in (("namespace", NS), ("name", NAME), ("version", 3),
                    ("digest", W.d3), ("created", True)):
        eq(j.get(k), want, "--json " + k)
    assert isinstance(j.get("created_at"), str) and j["created_at"], "created_at: %r" % j
    eq(j.get("tag"), {"tag": "staging", "version": 3, "previous_version": None,
                      "violations": [], "gate": None, "rollback": False}, "--json tag")
    eq(r.out.count(b"\n"), 1, "newlines in --json output (one JSON line)")


def t_submit_tag_unchanged():
    r = expect(optreg("submit", W.f3, "--tag", "staging"), 0)
    eq(r.text, "%s@3 %s (unchanged)\n%s@staging -> 3 (unchanged)\n" % (REF, W.d3, REF),
       "stdout")


def t_submit_invalid():
    text = example(betas="[0.9, 1.0]")
    path = write("bad.yaml", text)
    lines = text.split("\n")
    ln = next(i for i, l in enumerate(lines) if l.startswith("  betas:")) + 1
    col = lines[ln - 1].index("1.0]") + 1
    before = versions_listed()
    posts = requests_logged("POST", "/versions")
    assert posts >= 4, "the server log shows %d submits so far, want >= 4: " \
        "cannot tell what is sent" % posts
    for extra in ([], ["--json"], ["--tag", "prod"]):
        r = expect(optreg("submit", path, *extra), 1, "submit %s" % extra)
        has(r, "%s:%d:%d: spec.betas[1]: " % (path, ln, col))
        if extra == ["--json"]:
            j = json.loads(r.out)
            eq(j.get("code"), "invalid_config", "--json problem code")
            assert [e.get("path") for e in j.get("errors", [])] == ["spec.betas[1]"], \
                "--json errors: %r" % j
        else:
            eq(r.out, b"", "stdout")
    # lint reports it identically
    lint = offline("lint", path)
    eq(lint.rc, 1, "lint exit")
    has(lint, "%s:%d:%d: spec.betas[1]: " % (path, ln, col))
    time.sleep(0.05)
    eq(versions_listed(), before, "versions after the invalid submits")
    eq(requests_logged("POST", "/versions"), posts, "POSTs the server logged")


def t_submit_invalid_yaml():
    path = write("broken.yaml", "apiVersion: optreg/v1\nkind: [\n")
    r = expect(optreg("submit", path), 1)
    assert re.search(r"%s:\d+:\d+: " % re.escape(path), r.etext), \
        "no file:line:col in:\n" + r.describe()


def t_submit_unreadable():
    r = expect(optreg("submit", os.path.join(W.dir, "no-such.yaml")), 3)
    has(r, "no-such.yaml")
    r = expect(optreg("submit", os.path.join(W.dir, "no-such.yaml"), "--json"), 3)
    eq(json.loads(r.out).get("code"), "io", "--json problem code")


def t_submit_reader_denied():
    f = write("reader.yaml", example(lr="9.0e-5"))
    r = expect(optreg("submit", f, token="reader"), 4)
    has(r, "role submitter on namespace team-nlp")
    has(r, "(403 forbidden)")
    eq(r.out, b"", "stdout")
    r = expect(optreg("submit", f, "--json", token="reader"), 4)
    j = json.loads(r.out)
    eq((j.get("status"), j.get("code")), (403, "forbidden"), "--json problem")
    eq(versions_listed(), [3, 2, 1], "versions")


def t_submit_no_token():
    f = write("anon.yaml", example(lr="9.0e-5"))
    r = expect(optreg("submit", f, token=None), 6, "OPTREG_TOKEN unset")
    has(r, "401")
    has(r, "no token is set")
    expect(optreg("submit", f, token=""), 6, "OPTREG_TOKEN empty")
    eq(versions_listed(), [3, 2, 1], "versions")


def t_submit_bad_tokens():
    # A well-formed token never issued, one with a typo in its last
    # character (bad checksum), and ones not token-shaped at all: the
    # registry refuses them all (401, exit 6). None is printed.
    f = write("anon.yaml", example(lr="9.0e-5"))
    good = W.sub
    typo = good[:-1] + ("A" if good[-1] != "A" else "B")
    for tok in (fake_token(), typo, "garbage", "optreg_garbage", "Bearer " + good):
        if " " not in tok:
            r = expect(optreg("submit", f, token=tok), 6, "token %r" % redact(tok))
            has(r, "401 unauthorized")
            has(r, "the token is unknown, expired or revoked")
            assert tok.encode() not in r.out + r.err, "the token is printed:\n" + r.describe()
    eq(versions_listed(), [3, 2, 1], "versions")


def t_submit_unsendable_token():
    # A token that cannot go into a header line (a space, a newline: header
    # injection) is a usage error before anything is sent; not echoed.
    f = write("anon.yaml", example(lr="9.0e-5"))
    posts = requests_logged("POST", "/versions")
    for tok in ("Bearer " + W.sub, W.sub + "\r\nX-Evil: 1"):
        r = expect(optreg("submit", f, token=tok), 2, "token %r" % redact(tok))
        no_token_leak(r)
    r = expect(optreg("submit", f, "--token", "a b"), 2, "--token 'a b'")
    assert b"a b" not in r.err, "the token is echoed:\n" + r.describe()
    time.sleep(0.05)
    eq(requests_logged("POST", "/versions"), posts, "POSTs the server logged")


def t_submit_server_down():
    port = free_port()
    url = "http://127.0.0.1:%d" % port
    f = write("down.yaml", example(lr="9.0e-5"))
    r = expect(optreg("submit", f, url=url), 7)
    has(r, "cannot reach the registry at " + url)
    has(r, "hint:")
    eq(r.out, b"", "stdout")
    no_token_leak(r)
    r = expect(optreg("submit", f, "--json", url=url), 7)
    eq(json.loads(r.out).get("code"), "unavailable", "--json problem code")


def t_submit_bad_tag():
    posts = requests_logged("POST", "/versions")
    f = write("badtag.yaml", example(lr="9.0e-5"))
    for tag in ("Prod", "123", "-x", "a" * 65):
        r = expect(optreg("submit", f, "--tag", tag), 2, "--tag %r" % tag)
    time.sleep(0.05)
    eq(requests_logged("POST", "/versions"), posts, "POSTs the server logged")


def t_submit_no_key():
    f = write("nokey.yaml", example(lr="9.0e-5"))
    posts = requests_logged("POST", "/versions")
    r = expect(optreg("submit", f, key=None), 2, "OPTREG_KEY unset")
    has(r, "no signing key")
    has(r, "--key KEY or set OPTREG_KEY")
    eq(r.out, b"", "stdout")
    expect(optreg("submit", f, key=""), 2, "OPTREG_KEY empty")
    expect(optreg("submit", f, "--key", "", key=None), 2, "--key ''")
    r = expect(optreg("submit", f, "--key", W.keyname + ".pub.pem", key=None), 2,
               "--key a public key")
    has(r, "is a public key")
    r = expect(optreg("submit", f, "--key", os.path.join(W.dir, "nope.pem"), key=None), 3,
               "--key a missing file")
    time.sleep(0.05)
    eq(requests_logged("POST", "/versions"), posts, "POSTs the server logged")
    eq(versions_listed(), [3, 2, 1], "versions")


def t_submit_key_flag_over_env():
    # --key wins over OPTREG_KEY (here: a key file that does not exist).
    r = expect(optreg("submit", W.f2, "--key", W.key, key=os.path.join(W.dir, "nope.pem")), 0)
    eq(r.text, "%s@2 %s (unchanged)\n" % (REF, W.d2), "stdout")


def t_submit_signed_envelope_file():
    # The output of `optreg sign` is submitted as it is, without a key.
    env = os.path.join(W.dir, "v2.signed.json")
    expect(optreg("sign", W.f2, "--out", env), 0, "sign")
    r = expect(optreg("submit", env, key=None), 0)
    eq(r.text, "%s@2 %s (unchanged)\n" % (REF, W.d2), "stdout")
    r = expect(optreg("submit", "-", key=None, stdin=open(env, "rb").read()), 0, "from stdin")
    eq(r.text, "%s@2 %s (unchanged)\n" % (REF, W.d2), "stdout")
    r = expect(optreg("submit", env, "--key", W.key), 2, "an envelope with --key")
    has(r, "optreg sign")
    # An envelope whose payload is not canonical is refused here.
    j = json.load(open(env))
    j["payload"] = __import__("base64").b64encode(json.dumps(json.loads(W.c2), indent=1)
                                                   .encode()).decode()
    bad = write("v2.noncanon.json", json.dumps(j))
    r = expect(optreg("submit", bad, key=None), 1, "non-canonical payload")
    has(r, "not in RFC 8785 canonical form")


def t_submit_json_receipt():
    # Another config, so that cli-bert keeps its three versions.
    name = "cli-receipt"
    f = write("receipt.yaml", example(name=name))
    r = expect(optreg("submit", f, "--json"), 0)
    j = json.loads(r.out)
    eq((j.get("version"), j.get("created")), (1, True), "version, created")
    rc = j.get("receipt") or {}
    eq(rc.get("payloadType"), "application/vnd.optreg.receipt.v1+json", "receipt payloadType")
    assert rc.get("signatures") and \
        re.match(r"^[0-9a-f]{64}$", rc["signatures"][0].get("keyid", "")), \
        "receipt without a registry key id: %r" % rc
    r = expect(optreg("submit", f), 0)
    eq(r.text, "%s/%s@1 %s (unchanged)\n" % (NS, name, digest(f)), "human output: no receipt")


def t_key_list():
    r = expect(optreg("key", "list", token="reader"), 0)
    lines = r.text.split("\n")
    eq(lines[0].split(), ["KEYID", "PRINCIPAL", "NAMESPACES", "CREATED", "REVOKED", "PURPOSE"],
       "header")
    rows = [l.split() for l in lines[1:] if l]
    row = [x for x in rows if x[0] == W.keyid]
    assert row, "no row for %s:\n%s" % (W.keyid, r.describe())
    eq((row[0][1], row[0][2], row[0][4]), ("ci@team-nlp", NS, "-"), "cells")
    j = json.loads(expect(optreg("key", "list", "--principal", "ci@team-nlp", "--json"), 0).out)
    eq([k["keyid"] for k in j["keys"]], [W.keyid], "--principal ci@team-nlp --json")
    j = json.loads(expect(optreg("key", "list", "--principal", "nobody", "--json"), 0).out)
    eq(j["keys"], [], "--principal nobody")
    expect(optreg("key", "list", token=None), 6, "no token")


def t_key_errors():
    pub = W.keyname + ".pub.pem"
    posts = requests_logged("POST", "/v1/keys")
    r = expect(optreg("key", "register", W.key, "--principal", "x", "--namespace", NS,
                      token="admin"), 2, "a private key")
    has(r, "is a private key")
    for args in ((pub, "--namespace", NS), (pub, "--principal", "x"), ("--principal", "x",
                 "--namespace", NS), (pub, "--principal", "x", "--namespace", "")):
        expect(optreg("key", "register", *args, token="admin"), 2, "register %s" % (args,))
    expect(optreg("key", "register", os.path.join(W.dir, "nope.pub.pem"), "--principal", "x",
                  "--namespace", NS, token="admin"), 3, "missing PUB")
    time.sleep(0.05)
    eq(requests_logged("POST", "/v1/keys"), posts, "POSTs the server logged")
    r = expect(optreg("key", "register", pub, "--principal", "x", "--namespace", NS,
                      token="admin"), 5, "registered twice")
    has(r, "409")
    r = expect(optreg("key", "register", pub, "--principal", "x", "--namespace", NS), 4,
               "a submitter token")
    for bad in ("abc", "A" * 64, "g" * 64):
        expect(optreg("key", "revoke", bad, token="admin"), 2, "revoke %s" % bad)
    expect(optreg("key", "revoke", "0" * 64, token="admin"), 8, "revoke an unknown key")
    expect(optreg("key", "revoke", W.keyid), 4, "revoke with a submitter token")
    expect(optreg("key", token="admin"), 2, "no subcommand")
    expect(optreg("key", "frob", token="admin"), 2, "unknown subcommand")


def t_namespace():
    r = expect(optreg("namespace", "show", NS, token="reader"), 0)
    eq(r.text, "%s: signature threshold 1\n" % NS, "show")
    j = json.loads(expect(optreg("namespace", "show", NS, "--json"), 0).out)
    eq(j, {"namespace": NS, "signature_threshold": 1}, "show --json")
    expect(optreg("namespace", "set", NS, "--signature-threshold", "2"), 4, "set as submitter")
    for n in ("0", "17", "x", "01", ""):
        expect(optreg("namespace", "set", NS, "--signature-threshold", n, token="admin"), 2,
               "threshold %r" % n)
    expect(optreg("namespace", "set", NS, token="admin"), 2, "no threshold")
    expect(optreg("namespace", "show", "Team", token="admin"), 2, "bad namespace")
    expect(optreg("namespace", "show", token="admin"), 2, "no namespace")
    r = expect(optreg("namespace", "set", "team-later", "--signature-threshold", "3",
                      token="admin"), 0)
    eq(r.text, "team-later: signature threshold 3\n", "set")
    r = expect(optreg("namespace", "set", "team-later", "--signature-threshold", "1", "--json",
                      token="admin"), 0)
    eq(json.loads(r.out), {"namespace": "team-later", "signature_threshold": 1}, "set --json")


# ---------------------------------------------------------------- fetch

def t_fetch_version():
    r = expect(optreg("fetch", REF + "@1"), 0)
    eq(r.out, W.c1, "stdout bytes vs optreg canonicalize")
    eq(sha(r.out), W.d1, "sha256 of stdout")
    eq(r.err, b"", "stderr")
    r = expect(optreg("fetch", REF + "@2", token="reader"), 0, "reader token")
    eq(r.out, W.c2, "v2 bytes")


def t_fetch_tag():
    r = expect(optreg("fetch", REF + "@prod"), 0)
    eq(r.out, W.c1, "prod (at 1) bytes")
    r = expect(optreg("fetch", REF + "@staging"), 0)
    eq(r.out, W.c3, "staging (at 3) bytes")


def t_fetch_digest():
    for d, c in ((W.d1, W.c1), (W.d2, W.c2)):
        r = expect(optreg("fetch", d), 0)
        eq(r.out, c, "bytes of " + d)
        eq(sha(r.out), d, "sha256 of stdout")


def t_fetch_yaml():
    for ref, c in ((REF + "@1", W.c1), (W.d2, W.c2), (REF + "@staging", W.c3)):
        r = expect(optreg("fetch", ref, "--format", "yaml"), 0, ref)
        assert not r.text.lstrip().startswith("{"), "not block YAML:\n" + r.describe()
        assert "1.0e-8" in r.text, "eps not written as 1.0e-8:\n" + r.text
        path = write("fetched-%d.yaml" % len(os.listdir(W.dir)), r.text)
        eq(canonical(path), c, "canonicalized --format yaml output of %s" % ref)


def t_fetch_output():
    out = os.path.join(W.dir, "out", "bert.json")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        f.write("old content")
    r = expect(optreg("fetch", REF + "@2", "--output", out), 0)
    eq(r.out, b"", "stdout with --output")
    with open(out, "rb") as f:
        eq(f.read(), W.c2, "bytes of --output FILE")
    y = os.path.join(W.dir, "out", "bert.yaml")
    expect(optreg("fetch", W.d1, "--format", "yaml", "--output", y), 0)
    eq(canonical(y), W.c1, "canonicalized --format yaml --output FILE")
    eq(sorted(os.listdir(os.path.dirname(out))), ["bert.json", "bert.yaml"],
       "files in the output folder (no temporary left)")


def t_fetch_output_unwritable():
    out = os.path.join(W.dir, "no-such-dir", "x.json")
    r = expect(optreg("fetch", REF + "@1", "--output", out), 3)
    assert not os.path.exists(os.path.dirname(out)), "created the folder"


def t_fetch_json():
    r = expect(optreg("fetch", REF + "@2", "--json"), 0)
    j = json.loads(r.out)
    for k in ("namespace", "name", "version", "digest", "created_at", "created_by",
              "yanked", "yank_reason", "tags", "config", "envelope"):
        assert k in j, "--json lacks %r: %r" % (k, sorted(j))
    eq((j["namespace"], j["name"], j["version"], j["digest"], j["created_by"]),
       (NS, NAME, 2, W.d2, "ci@team-nlp"), "--json fields")
    eq(j["config"], json.loads(W.c2), "--json config")
    r = expect(optreg("fetch", W.d1, "--json"), 0)
    eq(json.loads(r.out), json.loads(W.c1), "--json of a digest (the content)")
    expect(optreg("fetch", REF + "@2", "--json", "--format", "yaml"), 2,
           "--json with --format yaml")


def t_fetch_not_found():
    for ref in (REF + "@99", REF + "@nosuchtag", NS + "/nosuchconfig@1",
                "sha256:" + "0" * 64):
        r = expect(optreg("fetch", ref), 8, ref)
        eq(r.out, b"", "stdout of " + ref)
        has(r, "404")
    r = expect(optreg("fetch", REF + "@99", "--json"), 8)
    eq(json.loads(r.out).get("code"), "not_found", "--json problem code")


def t_fetch_auth():
    expect(optreg("fetch", REF + "@1", token=None), 6, "no token")
    r = expect(optreg("fetch", REF + "@1", url="http://127.0.0.1:%d" % free_port()), 7,
               "server down")
    eq(r.out, b"", "stdout")
    other, _ = W.reg.token("reader@team-cv", "reader", "team-cv")
    W.tokens.append(other)
    r = expect(optreg("fetch", REF + "@1", token=other), 4, "reader of another namespace")
    has(r, "403")


def t_fetch_verify():
    want = "verified: signed by %s (ci@team-nlp); receipt by registry key " % W.keyid
    for ref, c in ((REF + "@2", W.c2), (REF + "@prod", W.c1), (W.d3, W.c3)):
        r = expect(optreg("fetch", ref, "--verify", "--registry-key", W.reg.registry_pub), 0, ref)
        eq(r.out, c, "bytes of " + ref)
        has(r, want)
        assert "not pinned" not in r.etext, "warned although pinned:\n" + r.describe()
    r = expect(optreg("fetch", REF + "@2", "--verify"), 0, "not pinned")
    has(r, "the registry key was not pinned")
    has(r, want)
    r = expect(optreg("fetch", REF + "@2", "--verify", "--format", "yaml"), 0, "--format yaml")
    has(r, want)
    expect(optreg("fetch", REF + "@2", "--registry-key", W.reg.registry_pub), 2,
           "--registry-key without --verify")
    expect(optreg("fetch", REF + "@2", "--verify", "--registry-key", ""), 2, "--registry-key ''")
    expect(optreg("fetch", REF + "@2", "--verify", "--registry-key",
                  os.path.join(W.dir, "nope.pem")), 3, "--registry-key missing file")


# ---------------------------------------------------------------- tag

def t_tag_move():
    r = expect(optreg("tag", REF + "@2", "prod"), 0)
    eq(r.text, "%s@prod -> 2 (was 1)\n" % REF, "stdout")
    eq(expect(optreg("fetch", REF + "@prod"), 0).out, W.c2, "fetch @prod after the move")


def t_tag_same():
    r = expect(optreg("tag", REF + "@2", "prod"), 0)
    eq(r.text, "%s@prod -> 2 (unchanged)\n" % REF, "stdout")


def t_tag_expected_stale():
    r = expect(optreg("tag", REF + "@3", "prod", "--expected", "1"), 5)
    has(r, "409 conflict")
    eq(r.out, b"", "stdout")
    eq(expect(optreg("fetch", REF + "@prod"), 0).out, W.c2, "prod after the refused move")
    r = expect(optreg("tag", REF + "@3", "prod", "--expected", "1", "--json"), 5)
    eq(json.loads(r.out).get("code"), "conflict", "--json problem code")


def t_tag_expected_right():
    r = expect(optreg("tag", REF + "@3", "prod", "--expected", "2", "--json"), 0)
    eq(json.loads(r.out), {"tag": "prod", "version": 3, "previous_version": 2,
                           "violations": [], "gate": None, "rollback": False}, "--json")
    r = expect(optreg("tag", REF + "@2", "prod", "--expected", "3"), 0)
    eq(r.text, "%s@prod -> 2 (was 3)\n" % REF, "stdout")


def t_tag_new_exists():
    r = expect(optreg("tag", REF + "@1", "prod", "--new"), 5)
    has(r, "409")
    eq(expect(optreg("fetch", REF + "@prod"), 0).out, W.c2, "prod after the refused --new")


def t_tag_new():
    r = expect(optreg("tag", REF + "@1", "canary", "--new"), 0)
    eq(r.text, "%s@canary -> 1 (new tag)\n" % REF, "stdout")


def t_tag_errors():
    expect(optreg("tag", REF + "@99", "prod"), 8, "unknown version")
    expect(optreg("tag", REF + "@1", "prod", token="reader"), 4, "reader token")
    expect(optreg("tag", REF + "@1", "prod", token=None), 6, "no token")
    for args in ((REF + "@prod", "x"), (REF, "x"), (REF + "@1", "Bad"), (REF + "@1", "12"),
                 (REF + "@1", "x", "--new", "--expected", "1"),
                 (REF + "@1", "x", "--expected", "01"), (REF + "@1",)):
        expect(optreg("tag", *args), 2, "tag %s" % " ".join(args))
    eq(expect(optreg("fetch", REF + "@prod"), 0).out, W.c2, "prod after all that")


# ---------------------------------------------------------------- yank

def t_yank_submitter_denied():
    r = expect(optreg("yank", REF + "@1", "--reason", "bad", token="sub"), 4)
    has(r, "role approver on namespace team-nlp")
    j = json.loads(expect(optreg("fetch", REF + "@1", "--json"), 0).out)
    eq(j["yanked"], False, "yanked after the refused yank")


def t_yank_no_reason():
    for args in ((REF + "@1",), (REF + "@1", "--reason", ""), (REF + "@1", "--reason")):
        r = expect(optreg("yank", *args, token="appr"), 2, "yank %s" % " ".join(args))
        eq(r.out, b"", "stdout")
    expect(optreg("yank", REF + "@1", "--reason", "x" * 1025, token="appr"), 2, "1025 chars")
    expect(optreg("yank", REF, "--reason", "x", token="appr"), 2, "no version")
    j = json.loads(expect(optreg("fetch", REF + "@1", "--json"), 0).out)
    eq(j["yanked"], False, "yanked after the refused yanks")


def t_yank():
    W.reason = "diverges after warmup: see #123 (\u00e9t\u00e9)"
    r = expect(optreg("yank", REF + "@1", "--reason", W.reason, token="appr"), 0)
    eq(r.text, "%s@1 yanked: %s\n" % (REF, W.reason), "stdout")
    j = json.loads(expect(optreg("fetch", REF + "@1", "--json"), 0).out)
    eq((j["yanked"], j["yank_reason"]), (True, W.reason), "yanked, yank_reason")


def t_yank_again():
    r = expect(optreg("yank", REF + "@1", "--reason", "another reason", token="appr"), 0)
    eq(r.text, "%s@1 was already yanked: %s\n" % (REF, W.reason), "stdout")
    r = expect(optreg("yank", REF + "@1", "--reason", "third", "--json", token="appr"), 0)
    j = json.loads(r.out)
    eq((j.get("version"), j.get("yanked"), j.get("yank_reason")), (1, True, W.reason),
       "--json answer")


def t_yank_errors():
    expect(optreg("yank", REF + "@99", "--reason", "x", token="appr"), 8, "unknown version")
    expect(optreg("yank", REF + "@1", "--reason", "x", token=None), 6, "no token")


def t_fetch_yanked_warns():
    want = "optreg fetch: warning: %s@1 is yanked: %s" % (REF, W.reason)
    for ref, extra in ((REF + "@1", ()), (REF + "@canary", ("--allow-yanked",))):
        r = expect(optreg("fetch", ref, *extra), 0, ref)
        eq(r.out, W.c1, "bytes of yanked " + ref)
        has(r, want)
    # Through a tag, a yanked version is refused unless --allow-yanked.
    r = expect(optreg("fetch", REF + "@canary"), 5, "tag at a yanked version")
    eq(r.out, b"", "stdout of a refused fetch through a yanked tag")
    has(r, "%s@canary points at %s@1, which is yanked: %s" % (REF, REF, W.reason))
    has(r, "--allow-yanked")
    r = expect(optreg("fetch", W.d1), 0, "by digest")
    eq(r.out, W.c1, "bytes of the yanked digest")
    has(r, "optreg fetch: warning: %s@1 is yanked" % REF)
    r = expect(optreg("fetch", REF + "@2"), 0)
    eq(r.err, b"", "stderr of a version not yanked")


def t_tag_to_yanked():
    r = expect(optreg("tag", REF + "@1", "prod"), 5, "plain move to yanked @1")
    has(r, "409 yanked")
    expect(optreg("tag", REF + "@1", "prod", "--expected", "2"), 5, "--expected move to yanked @1")
    expect(optreg("tag", REF + "@1", "fresh", "--new"), 5, "--new tag on yanked @1")
    eq(expect(optreg("fetch", REF + "@prod"), 0).out, W.c2, "prod still at 2")
    expect(optreg("fetch", REF + "@fresh"), 8, "no tag fresh")
    eq(expect(optreg("fetch", REF + "@canary", "--allow-yanked"), 0).out, W.c1,
       "canary stays on yanked @1")


def t_submit_tag_to_yanked():
    # submit of @1's content again is "unchanged" (version 1, yanked);
    # then --tag cannot move prod there: exit 5, the version already there.
    r = expect(optreg("submit", W.f1, "--tag", "prod"), 5)
    has(r, "%s@1 %s (unchanged)" % (REF, W.d1), "out")
    eq(expect(optreg("fetch", REF + "@prod"), 0).out, W.c2, "prod still at 2")


# ---------------------------------------------------------------- log

LOG_HEAD = ["VERSION", "DIGEST", "CREATED", "BY", "YANKED", "TAGS", "MESSAGE"]


def log_rows(res):
    lines = res.text.split("\n")
    eq(lines[-1], "", "log output ends with a newline")
    lines = lines[:-1]
    eq(lines[0].split(), LOG_HEAD, "log header")
    # columns line up with the header; the last (MESSAGE) may hold spaces
    starts = [lines[0].index(h) for h in LOG_HEAD]
    for l in lines[1:]:
        for s in starts[1:]:
            eq(l[s - 2:s], "  ", "two spaces before column at %d in %r" % (s, l))
    rows = []
    for l in lines[1:]:
        cells = [l[a:b].strip() for a, b in zip(starts, starts[1:] + [None])]
        for c in cells:
            assert c, "empty cell in %r" % l
        rows.append(cells)
    return rows


def t_log():
    r = expect(optreg("log", REF), 0)
    rows = log_rows(r)
    eq([row[0] for row in rows], ["3", "2", "1"], "VERSION column")
    eq([row[1] for row in rows], [W.d3[:19], W.d2[:19], W.d1[:19]], "DIGEST column")
    eq([row[3] for row in rows], ["ci@team-nlp"] * 3, "BY column")
    eq([row[4] for row in rows], ["-", "-", "yes"], "YANKED column")
    eq([row[5] for row in rows], ["staging", "prod", "canary"], "TAGS column")
    # The yanked version's reason is shown with the mark.
    eq([row[6] for row in rows], ["-", "-", "[yanked: %s]" % W.reason], "MESSAGE column")
    for row in rows:
        assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", row[2]), "CREATED %r" % row[2]
    eq(r.err, b"", "stderr")


def t_log_two_tags_on_one_version():
    expect(optreg("tag", REF + "@2", "stable", "--new"), 0)
    rows = log_rows(expect(optreg("log", REF), 0))
    eq(sorted(rows[1][5].split(",")), ["prod", "stable"], "TAGS of version 2")


def t_log_json():
    r = expect(optreg("log", REF, "--json", token="reader"), 0)
    j = json.loads(r.out)
    eq(sorted(j), ["next_page_token", "tags", "versions"], "keys")
    eq([v["version"] for v in j["versions"]], [3, 2, 1], "versions")
    eq([v["digest"] for v in j["versions"]], [W.d3, W.d2, W.d1], "digests")
    eq([v["yanked"] for v in j["versions"]], [False, False, True], "yanked")
    eq(j["next_page_token"], None, "next_page_token")
    eq(sorted((t["tag"], t["version"]) for t in j["tags"]),
       [("canary", 1), ("prod", 2), ("stable", 2), ("staging", 3)], "tags")


def t_log_limit():
    rows = log_rows(expect(optreg("log", REF, "--limit", "2"), 0))
    eq([row[0] for row in rows], ["3", "2"], "--limit 2")
    rows = log_rows(expect(optreg("log", REF, "--limit", "1"), 0))
    eq([row[0] for row in rows], ["3"], "--limit 1")
    rows = log_rows(expect(optreg("log", REF, "--limit", "3"), 0))
    eq([row[0] for row in rows], ["3", "2", "1"], "--limit 3")
    j = json.loads(expect(optreg("log", REF, "--limit", "2", "--json"), 0).out)
    eq([v["version"] for v in j["versions"]], [3, 2], "--json --limit 2 versions")
    assert isinstance(j["next_page_token"], str) and j["next_page_token"], \
        "--limit stopped before the end, next_page_token %r" % j["next_page_token"]
    j = json.loads(expect(optreg("log", REF, "--limit", "3", "--json"), 0).out)
    eq(j["next_page_token"], None, "--limit 3 of 3: next_page_token")
    for bad in ("0", "-1", "x", "01"):
        expect(optreg("log", REF, "--limit", bad), 2, "--limit %s" % bad)


def t_log_pages():
    # 105 versions: log follows next_page_token past the first page of 100.
    name = "cli-many"
    ref = NS + "/" + name
    signer = Signer.from_file(W.key)
    for i in range(105):
        path = write("many.yaml", example(name=name, lr="%d.0e-7" % (i + 1)))
        r = W.srv.request("POST", "/v1/configs/%s/%s/versions" % (NS, name),
                          body=envelope(canonical(path), [signer]), token=W.sub)
        assert r.status == 201, "submit %d: %s" % (i + 1, r.describe())
    rows = log_rows(expect(optreg("log", ref), 0))
    eq([int(row[0]) for row in rows], list(range(105, 0, -1)), "all 105, newest first")
    j = json.loads(expect(optreg("log", ref, "--json"), 0).out)
    eq([v["version"] for v in j["versions"]], list(range(105, 0, -1)), "--json all 105")
    eq(j["next_page_token"], None, "next_page_token at the end")
    j = json.loads(expect(optreg("log", ref, "--json", "--limit", "101"), 0).out)
    eq([v["version"] for v in j["versions"]], list(range(105, 4, -1)), "--limit 101")
    assert j["next_page_token"], "--limit 101 of 105: next_page_token null"
    j = json.loads(expect(optreg("log", ref, "--json", "--limit", "100"), 0).out)
    eq(len(j["versions"]), 100, "--limit 100")
    assert j["next_page_token"], "--limit 100 of 105: next_page_token null"


def t_log_errors():
    expect(optreg("log", NS + "/nosuchconfig"), 8, "unknown config")
    expect(optreg("log", REF, token=None), 6, "no token")
    other, _ = W.reg.token("ci@team-cv", "submitter", "team-cv")
    W.tokens.append(other)
    expect(optreg("log", REF, token=other), 4, "token of another namespace")
    for bad in (REF + "@1", "team_nlp/x", "noslash", "Team/x"):
        expect(optreg("log", bad), 2, "log %s" % bad)
    r = expect(optreg("log", REF, url="http://127.0.0.1:%d" % free_port()), 7, "server down")
    has(r, "cannot reach the registry")


# ---------------------------------------------------------------- usage

def t_fetch_usage():
    for args in ((), ("team-nlp",), ("sha256:abc",), ("sha256:" + "A" * 64,),
                 (REF + "@01",), (REF + "@Prod",), ("Team/x@1",),
                 (REF + "@1", "--format", "xml"), (REF + "@1", "--output", ""),
                 (REF + "@1", REF + "@2"), (REF + "@1", "--bogus")):
        r = expect(optreg("fetch", *args), 2, "fetch %s" % " ".join(args))
        eq(r.out, b"", "stdout of fetch %s" % " ".join(args))


def t_url_usage():
    for url in ("ftp://127.0.0.1/", "http://user:pw@127.0.0.1:1", "not a url"):
        r = expect(optreg("fetch", REF + "@1", url=url), 2, "OPTREG_URL=%s" % url)
        eq(r.out, b"", "stdout")
    r = expect(optreg("fetch", REF + "@1", "--url", "http://u:secretpw@127.0.0.1:1"), 2,
               "--url with credentials")
    assert b"secretpw" not in r.err, "the password is echoed:\n" + r.describe()


# ---------------------------------------------------------------- flags

def t_flags_override_env():
    dead = "http://127.0.0.1:%d" % free_port()
    bad = "optreg_" + "B" * 43 + "_AAAAAA"
    r = expect(optreg("fetch", REF + "@2", "--url", W.srv.base, "--token", W.sub,
                      url=dead, token=bad), 0, "--url/--token over a dead OPTREG_URL")
    eq(r.out, W.c2, "bytes")
    r = expect(optreg("submit", "--url=" + W.srv.base, "--token=" + W.sub, W.f2,
                      url=dead, token=bad), 0, "--url=/--token= forms")
    eq(r.text, "%s@2 %s (unchanged)\n" % (REF, W.d2), "stdout")
    r = expect(optreg("log", REF, "--url", W.srv.base, "--token", W.reader, token=None), 0)
    eq(len(log_rows(r)), 3, "rows")
    expect(optreg("fetch", REF + "@2", "--token", W.sub, url=dead), 7, "--token alone, dead URL")
    expect(optreg("fetch", REF + "@2", "--url", W.srv.base, token=bad), 6, "--url alone, bad token")


def t_url_path_prefix():
    # A path prefix in OPTREG_URL: requests go under it (the fake sees them).
    Fake.seen.clear()
    r = optreg("fetch", REF + "@1", url=W.fake_url + "/prefix", token="sub")
    eq(r.rc, 8, "exit (the fake answers 404)")
    assert Fake.seen and Fake.seen[0][1].startswith("/prefix/v1/configs/team-nlp/cli-bert/"), \
        "requests: %r" % Fake.seen


# ---------------------------------------------------------------- broken registries

def problem_body(status, code):
    return json.dumps({"type": "https://optreg.dev/problems/" + code, "title": code,
                       "status": status, "detail": "fake " + code, "code": code,
                       "request_id": "fake"}).encode()


def version_doc(version, config_bytes, claimed_digest, **kw):
    d = {"namespace": NS, "name": NAME, "version": version, "digest": claimed_digest,
         "created_at": "2026-01-01T00:00:00Z", "created_by": "x", "yanked": False,
         "yanked_at": None, "yank_reason": None, "tags": [],
         "config": json.loads(config_bytes), "envelope": envelope(config_bytes)}
    d.update(kw)
    return json.dumps(d).encode()


def t_fake_token_sent_only_as_bearer():
    Fake.routes = {"/v1/digests/" + W.d1: (200, {"Content-Type": "application/json"}, W.c1)}
    Fake.seen.clear()
    r = expect(optreg("fetch", W.d1, url=W.fake_url, token="sub"), 0)
    eq(r.out, W.c1, "bytes")
    eq([(m, urllib.parse.unquote(p)) for m, p, _ in Fake.seen],
       [("GET", "/v1/digests/" + W.d1)], "requests (percent-decoded)")
    eq(Fake.seen[0][2], "Bearer " + W.sub, "Authorization header")


def t_fake_digest_mismatch():
    cv = "/v1/configs/%s/%s" % (NS, NAME)
    Fake.routes = {
        "/v1/digests/" + W.d1: (200, {"Content-Type": "application/json"}, W.c2),
        cv + "/versions/1": (200, {"Content-Type": "application/json"},
                             version_doc(1, W.c2, W.d1)),
        cv + "/versions/2": (200, {"Content-Type": "application/json",
                                   "X-Optreg-Digest": W.d1},
                             version_doc(2, W.c2, W.d2)),
        cv + "/tags/prod": (200, {"Content-Type": "application/json"},
                            version_doc(3, W.c2, W.d1)),
    }
    out = os.path.join(W.dir, "mismatch.json")
    for ref in (W.d1, REF + "@1", REF + "@2", REF + "@prod"):
        r = expect(optreg("fetch", ref, url=W.fake_url), 1, "fetch " + ref)
        eq(r.out, b"", "stdout of fetch %s" % ref)
        r = expect(optreg("fetch", ref, "--format", "yaml", "--output", out, url=W.fake_url), 1,
                   "fetch %s --output" % ref)
        assert not os.path.exists(out), "--output file written on a mismatch"
        r = expect(optreg("fetch", ref, "--json", url=W.fake_url), 1, "fetch %s --json" % ref)
        eq(json.loads(r.out).get("code"), "digest_mismatch", "--json problem code")


def t_fake_unavailable():
    cv = "/v1/configs/%s/%s" % (NS, NAME)
    Fake.routes = {
        cv + "/versions/1": (302, {"Location": W.srv.base + cv + "/versions/1"}, b""),
        cv + "/versions/2": (200, {"Content-Type": "text/html"}, b"<html>hi</html>"),
        cv + "/versions/3": (500, {"Content-Type": "application/problem+json"},
                             problem_body(500, "internal")),
        cv + "/versions/4": (429, {"Content-Type": "application/problem+json",
                                   "Retry-After": "1"}, problem_body(429, "too_many")),
        cv + "/versions/5": (200, {"Content-Type": "application/json"},
                             version_doc(6, W.c2, W.d2)),
        cv + "/versions/6": (503, {"Content-Type": "text/plain"}, b"down"),
        cv + "/versions/7": (200, {"Content-Type": "application/json"}, b"[1,2]"),
    }
    for n in range(1, 8):
        Fake.seen.clear()
        r = expect(optreg("fetch", "%s@%d" % (REF, n), url=W.fake_url), 7, "fetch @%d" % n)
        eq(r.out, b"", "stdout of @%d" % n)
        eq(len(Fake.seen), 1, "requests for @%d (no retry, no redirect followed)" % n)


def t_fake_submit_digest_disagrees():
    Fake.routes = {"/v1/configs/%s/%s/versions" % (NS, NAME): (
        201, {"Content-Type": "application/json"},
        json.dumps({"namespace": NS, "name": NAME, "version": 9, "digest": W.d2,
                    "created": True, "created_at": "2026-01-01T00:00:00Z"}).encode())}
    r = expect(optreg("submit", W.f1, url=W.fake_url), 7)
    eq(r.out, b"", "stdout")


def t_fake_unauthorized_hint():
    Fake.routes = {"/v1/configs/%s/%s/versions/1" % (NS, NAME): (
        401, {"Content-Type": "application/problem+json", "WWW-Authenticate": "Bearer"},
        problem_body(401, "unauthorized"))}
    r = expect(optreg("fetch", REF + "@1", url=W.fake_url, token="sub"), 6)
    has(r, "(401 unauthorized)")
    no_token_leak(r)


def t_fake_submit_422_located():
    # The registry's errors[] are located in the submitted file: one
    # FILE:LINE:COL line each, at the value's position (as lint does).
    Fake.routes = {"/v1/configs/%s/%s/versions" % (NS, NAME): (
        422, {"Content-Type": "application/problem+json"},
        json.dumps({"type": "https://optreg.dev/problems/invalid_config",
                    "title": "Unprocessable Content", "status": 422,
                    "detail": "the config has 2 errors", "code": "invalid_config",
                    "request_id": "fake",
                    "errors": [{"path": "spec.lr", "rule": "maximum",
                                "message": "must be at most 0.00001 (got 0.00003)"},
                               {"path": "spec.schedule.warmup_steps", "rule": "maximum",
                                "message": "must be at most 100 (got 500)"}]}).encode())}
    lines = example().split("\n")

    def pos(prefix):
        i = next(i for i, l in enumerate(lines) if l.startswith(prefix))
        return "%d:%d" % (i + 1, len(prefix) + 1)

    r = expect(optreg("submit", W.f1, url=W.fake_url), 1)
    has(r, "optreg submit: the config has 2 errors (422 invalid_config)")
    has(r, "%s:%s: spec.lr: must be at most 0.00001 (got 0.00003)" % (W.f1, pos("  lr: ")))
    has(r, "%s:%s: spec.schedule.warmup_steps: must be at most 100 (got 500)" % (
        W.f1, pos("    warmup_steps: ")))
    eq(r.out, b"", "stdout")
    r = expect(optreg("submit", W.f1, "--json", url=W.fake_url), 1)
    eq(json.loads(r.out).get("code"), "invalid_config", "--json: the registry's problem")


def t_fake_refused_input():
    path = "/v1/configs/%s/%s/versions" % (NS, NAME)
    for status, code in ((400, "bad_envelope"), (400, "not_canonical"), (413, "too_large"),
                         (415, "unsupported_media_type"), (422, "name_mismatch")):
        Fake.routes = {path: (status, {"Content-Type": "application/problem+json"},
                              problem_body(status, code))}
        r = expect(optreg("submit", W.f1, url=W.fake_url), 1, "registry answered %d" % status)
        has(r, "(%d %s)" % (status, code))


def t_fake_submit_tag_race():
    # The tag moves between submit's GET and PUT: exit 5, after the version
    # line (the version is submitted).
    cv = "/v1/configs/%s/%s" % (NS, NAME)
    Fake.routes = {
        cv + "/versions": (201, {"Content-Type": "application/json"},
                           json.dumps({"namespace": NS, "name": NAME, "version": 4,
                                       "digest": W.d1, "created": True,
                                       "created_at": "2026-01-01T00:00:00Z"}).encode()),
        cv + "/tags/prod": (200, {"Content-Type": "application/json"},
                            version_doc(2, W.c2, W.d2)),
    }
    del Fake.bodies[:]
    Fake.put_answer = (409, {"Content-Type": "application/problem+json"},
                       problem_body(409, "conflict"))
    try:
        r = expect(optreg("submit", W.f1, "--tag", "prod", url=W.fake_url), 5)
        eq(r.text, "%s@4 %s (created)\n" % (REF, W.d1), "stdout")
        has(r, "(409 conflict)")
        puts = [b for m, p, _, b in Fake.bodies if m == "PUT"]
        eq([json.loads(b) for b in puts], [{"version": 4, "expected_version": 2}], "PUT bodies")
        r = expect(optreg("submit", W.f1, "--tag", "prod", "--json", url=W.fake_url), 5)
        eq(json.loads(r.out).get("code"), "conflict", "--json: one problem object on stdout")
    finally:
        Fake.put_answer = None


def t_fetch_yaml_typed_strings():
    # Strings that YAML 1.1 or 1.2 would read as something else are quoted
    # in --format yaml, keys too, and the output loads back to the same
    # bytes. Label values: ^[A-Za-z0-9._-]{0,63}$; keys ^[a-z0-9][a-z0-9._-]*$.
    typed = ["yes", "No", "ON", "Off", "y", "n", "null", "NULL", "true", "True", "1.5",
             "0x1F", "0o17", "0b101", "1_000", "2001-12-14", "1e5", ".5", "-1", "",
             "-.inf", ".NaN", "1.0e-8", "0."]
    labels = dict(("k%02d" % i, v) for i, v in enumerate(typed))
    for k in ("yes", "null", "1", "0x1f", "on", "true", "1.5", "y"):
        labels[k] = "v"
    desc = ("line1\nkey: value # not a comment\n  indented\n---\n...\n\ttab \\ \"q\" 'sq' "
            "\u00e9 \U0001F600 \u2028 \x85 \ufeff \x01 trailing  ")
    doc = {"apiVersion": "optreg/v1", "kind": "OptimizerConfig",
           "metadata": {"namespace": NS, "name": "1e5", "labels": labels, "description": desc},
           "spec": {"optimizer": "adam", "lr": 1e-7, "betas": [0, 0.999], "eps": 1e-300,
                    "weight_decay": 1e21,
                    "schedule": {"kind": "constant", "warmup_steps": 1000000000}}}
    src = write("typed.json", json.dumps(doc))
    c = canonical(src)
    r = expect(optreg("submit", src), 0)
    eq(r.text, "%s/1e5@1 %s (created)\n" % (NS, sha(c)), "stdout")
    r = expect(optreg("fetch", NS + "/1e5@1", "--format", "yaml"), 0)
    y = r.text
    eq(canonical(write("typed-back.yaml", y)), c, "canonicalized --format yaml output")
    for line in y.split("\n"):
        m = re.match(r"^    (k\d\d): (.*)$", line)
        if m:
            assert m.group(2)[:1] in "\"'", "label %s not quoted: %r" % (m.group(1), line)
    for k in ("yes", "null", "1", "0x1f", "on", "true", "1.5", "y"):
        assert re.search(r"^    [\"']%s[\"']: v$" % re.escape(k), y, re.M), \
            "key %r not quoted:\n%s" % (k, y)
    assert re.search(r"^  name: [\"']1e5[\"']$", y, re.M), "name 1e5 not quoted:\n" + y
    for num in ("lr: 1.0e-7", "eps: 1.0e-300", "weight_decay: 1.0e+21"):
        assert re.search(r"^  %s$" % re.escape(num), y, re.M), "no %r in:\n%s" % (num, y)


def t_yank_reason_length():
    # 1 to 1024 characters (docs/cli.md, docs/api.md), counted as
    # characters, as the CLI counts them: 1024 two-byte characters is a
    # valid reason. (Fails while the registry counts bytes: strlen() in
    # registry/handlers.c's yank handler answers 400 bad_request.)
    name = "cli-yank"
    for i in (1, 2, 3):
        f = write("yank%d.yaml" % i, example(name=name, lr="%d.0e-6" % i))
        expect(optreg("submit", f), 0, "submit %d" % i)
    ref = NS + "/" + name
    expect(optreg("yank", ref + "@1", "--reason", "x" * 1024, token="appr"), 0,
           "1024 ASCII characters")
    expect(optreg("yank", ref + "@2", "--reason", "x" * 1025, token="appr"), 2,
           "1025 characters (refused locally)")
    r = expect(optreg("yank", ref + "@2", "--reason", "\u00e9" * 1024, token="appr"), 0,
               "1024 two-byte characters")
    eq(r.text, "%s@2 yanked: %s\n" % (ref, "\u00e9" * 1024), "stdout")
    expect(optreg("yank", ref + "@3", "--reason", "\u00e9" * 1025, token="appr"), 2,
           "1025 two-byte characters (refused locally)")


def t_url_trailing_slash():
    for url in (W.srv.base + "/", W.srv.base + "//"):
        r = expect(optreg("fetch", REF + "@2", url=url), 0, "OPTREG_URL=" + url)
        eq(r.out, W.c2, "bytes")


def t_name_boundaries():
    ok_ref = "%s/%s@%s" % ("a" * 63, "b" * 128, "c" * 64)
    r = expect(optreg("fetch", ok_ref, token="admin"), 8, "longest valid names (sent)")
    for bad in ("%s/%s@%s" % ("a" * 64, "b" * 128, "c" * 64),
                "%s/%s@%s" % ("a" * 63, "b" * 129, "c" * 64),
                "%s/%s@%s" % ("a" * 63, "b" * 128, "c" * 65),
                REF + "@0", REF + "@-1", REF + "@1" + "0" * 15, "-x/y@1", "x/.y@1",
                REF + "@", REF + "@.x", NS + "/@1", "/x@1"):
        r = expect(optreg("fetch", bad, token="admin"), 2, "fetch %s" % bad[:80])
        eq(r.out, b"", "stdout")


def t_log_json_problem():
    r = expect(optreg("log", NS + "/nosuchconfig", "--json"), 8)
    j = json.loads(r.out)
    eq((j.get("status"), j.get("code")), (404, "not_found"), "--json problem")
    has(r, "(404 not_found)")


def t_fetch_output_is_directory():
    d = os.path.join(W.dir, "outdir")
    os.makedirs(os.path.join(d, "target"))
    r = expect(optreg("fetch", REF + "@2", "--output", os.path.join(d, "target")), 3)
    eq(r.out, b"", "stdout")
    eq(os.listdir(d), ["target"], "files left next to the target")


def t_default_url():
    # OPTREG_URL unset: http://127.0.0.1:8080. The port is held (bound, not
    # listening) so that the connection is refused whatever runs here.
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", 8080))
        held = True
    except OSError:
        held = False
    try:
        env_url = W.srv.base
        r = optreg("log", REF, url="")
        if held:
            eq(r.rc, 7, "exit with OPTREG_URL empty\\n" + r.describe())
            has(r, "http://127.0.0.1:8080")
        else:
            assert r.rc != 0, "something on :8080 answered log:\\n" + r.describe()
        del env_url
    finally:
        s.close()


def t_https_to_http():
    r = expect(optreg("fetch", REF + "@1", url=W.srv.base.replace("http://", "https://")), 7)
    eq(r.out, b"", "stdout")
    no_token_leak(r)


def t_server_alive():
    assert W.srv.alive(), "the server died:\n" + W.srv.log_tail()
    bad = [l for l in server_log_lines() if "AddressSanitizer" in l or "runtime error" in l]
    assert not bad, "sanitizer reports in the server log: %r" % bad[:5]


# ---------------------------------------------------------------- outage (last)

def t_outage():
    W.reg.cluster.halt()
    r = expect(optreg("log", REF, token="sub"), 7, "log with PostgreSQL halted")
    has(r, "503")
    f = write("outage.yaml", example(lr="8.0e-5"))
    r = expect(optreg("submit", f, "--json"), 7, "submit with PostgreSQL halted")
    eq(json.loads(r.out).get("status"), 503, "--json problem status")


# ---------------------------------------------------------------- main

TESTS = [("optreg --help exits 0 and lists the commands; no or unknown command is 2", t_help_top)]
TESTS += [("optreg %s --help exits 0 with its usage on stdout" % c, t_help, c)
          for c in ("submit", "fetch", "tag", "log", "yank", "lint", "canonicalize", "digest",
                    "key", "namespace")]
TESTS += [
    ("digest is the sha256 of canonicalize's bytes; lr changes it", t_digest_matches_canonical),
    ("submit: prints ns/name@1 DIGEST (created), digest = optreg digest FILE", t_submit_created),
    ("submit again: (unchanged), same version", t_submit_unchanged),
    ("submit the canonical JSON on stdin (-): same content, (unchanged)", t_submit_json_twin_unchanged),
    ("submit --tag prod: (unchanged) then @prod -> 1 (new tag)", t_submit_tag_new),
    ("submit with a changed lr: @2 (created)", t_submit_changed_v2),
    ("submit --tag staging --json: the registry's answer with the tag's under tag", t_submit_json_tag),
    ("submit --tag on the tag's version: -> 3 (unchanged)", t_submit_tag_unchanged),
    ("submit invalid: exit 1, file:line:col errors like lint, --json problem, nothing sent", t_submit_invalid),
    ("submit unparsable YAML: exit 1 with file:line:col", t_submit_invalid_yaml),
    ("submit an unreadable FILE: exit 3 (--json code io)", t_submit_unreadable),
    ("submit with a reader token: exit 4 naming role and namespace", t_submit_reader_denied),
    ("submit without a token (unset or empty): exit 6 with a hint", t_submit_no_token),
    ("submit with an unknown, mistyped or garbage token: exit 6, token not printed", t_submit_bad_tokens),
    ("submit with a token that cannot go in a header: exit 2, nothing sent", t_submit_unsendable_token),
    ("submit with the server down (wrong port): exit 7 naming the URL", t_submit_server_down),
    ("submit --tag with a bad tag: exit 2, nothing sent", t_submit_bad_tag),
    ("submit without a usable key (unset, empty, public, missing): exit 2/3, nothing sent",
     t_submit_no_key),
    ("submit --key wins over OPTREG_KEY", t_submit_key_flag_over_env),
    ("submit of an `optreg sign` envelope file: as is, no key; --key with it is exit 2",
     t_submit_signed_envelope_file),
    ("submit --json carries the registry's receipt; the human output does not",
     t_submit_json_receipt),
    ("key list: a table with the registered key; --principal; --json", t_key_list),
    ("key register/revoke: private key, missing options 2, twice 5, submitter 4, bad ids 2",
     t_key_errors),
    ("namespace show/set: threshold 1 by default, admin sets it, bad values 2", t_namespace),
    ("fetch ns/name@N: canonical bytes, sha256 = digest, stderr empty", t_fetch_version),
    ("fetch ns/name@TAG: the tagged version's bytes", t_fetch_tag),
    ("fetch sha256:...: the bytes with that digest", t_fetch_digest),
    ("fetch --format yaml re-canonicalizes to the same bytes", t_fetch_yaml),
    ("fetch --output FILE replaces FILE, prints nothing, leaves no temporary", t_fetch_output),
    ("fetch --output into a missing folder: exit 3", t_fetch_output_unwritable),
    ("fetch --json: the version document; of a digest: the content", t_fetch_json),
    ("fetch of an unknown version, tag, config, digest: exit 8", t_fetch_not_found),
    ("fetch: no token 6, server down 7, another namespace's token 4", t_fetch_auth),
    ("fetch --verify (version, tag, digest): verified line; unpinned warns", t_fetch_verify),
    ("tag: plain move prod @1 -> @2 prints (was 1)", t_tag_move),
    ("tag: to where it points prints (unchanged)", t_tag_same),
    ("tag --expected with a stale number: exit 5, 409 conflict, tag unchanged", t_tag_expected_stale),
    ("tag --expected with the right number moves it (--json answer)", t_tag_expected_right),
    ("tag --new on an existing tag: exit 5", t_tag_new_exists),
    ("tag --new on a new tag: (new tag)", t_tag_new),
    ("tag: unknown version 8, reader 4, no token 6, bad arguments 2", t_tag_errors),
    ("yank with a submitter token: exit 4 naming role approver", t_yank_submitter_denied),
    ("yank without --reason (or empty, or too long): exit 2, nothing yanked", t_yank_no_reason),
    ("yank with an approver token: exit 0, prints the reason", t_yank),
    ("yank again: keeps and prints the first reason (also --json)", t_yank_again),
    ("yank: unknown version 8, no token 6", t_yank_errors),
    ("fetch of a yanked version prints it, warns on stderr with the reason", t_fetch_yanked_warns),
    ("tag to a yanked version (plain, --expected, --new): exit 5, tags unchanged", t_tag_to_yanked),
    ("submit --tag to a yanked version: exit 5 after (unchanged)", t_submit_tag_to_yanked),
    ("log: versions newest first with digest, creator, yanked, tags", t_log),
    ("log: two tags on one version are listed together", t_log_two_tags_on_one_version),
    ("log --json: versions, next_page_token null, tags", t_log_json),
    ("log --limit N shows N; --json next_page_token set when stopped early", t_log_limit),
    ("log follows next_page_token past 100 versions; --limit 101 and 100", t_log_pages),
    ("log: unknown config 8, no token 6, other namespace 4, bad refs 2, down 7", t_log_errors),
    ("fetch: malformed references and options are exit 2, nothing printed", t_fetch_usage),
    ("OPTREG_URL that is not http(s) or carries credentials: exit 2", t_url_usage),
    ("--url and --token override OPTREG_URL and OPTREG_TOKEN", t_flags_override_env),
    ("OPTREG_URL with a path prefix: requests go under it", t_url_path_prefix),
    ("fake registry: the token goes only as Authorization: Bearer", t_fake_token_sent_only_as_bearer),
    ("fake registry: content not matching its digest is exit 1, nothing written", t_fake_digest_mismatch),
    ("fake registry: redirect, HTML, 500, 429, wrong version, 503, non-object: exit 7", t_fake_unavailable),
    ("fake registry: submit whose recorded digest differs: exit 7", t_fake_submit_digest_disagrees),
    ("fake registry: 401 is exit 6, token not printed", t_fake_unauthorized_hint),
    ("fake registry: a 422's errors[] are located in FILE as FILE:LINE:COL", t_fake_submit_422_located),
    ("fake registry: 400, 413, 415, 422 to submit are exit 1", t_fake_refused_input),
    ("fake registry: submit --tag losing the compare-and-set is exit 5", t_fake_submit_tag_race),
    ("fetch --format yaml quotes strings and keys YAML would read as other types", t_fetch_yaml_typed_strings),
    ("yank --reason of 1024 characters (ASCII and two-byte) is accepted, 1025 is 2", t_yank_reason_length),
    ("OPTREG_URL with a trailing slash works", t_url_trailing_slash),
    ("fetch: 63/128/64-character names are sent, one more (and @0, ...) is exit 2", t_name_boundaries),
    ("log --json of an unknown config prints the problem, exit 8", t_log_json_problem),
    ("fetch --output naming a folder: exit 3, no temporary left", t_fetch_output_is_directory),
    ("OPTREG_URL unset or empty: http://127.0.0.1:8080", t_default_url),
    ("https:// to a plain-HTTP registry: exit 7", t_https_to_http),
    ("the server is still up, no sanitizer reports in its log", t_server_alive),
    ("PostgreSQL halted: log and submit exit 7 (503)", t_outage),
]


def stop_fake():
    if hasattr(W, "fake"):
        W.fake.shutdown()
        W.fake.server_close()


def main():
    return run_suite(tap, W, setup, TESTS,
                     "cluster, migrations, tokens, server, configs", cleanup=stop_fake)


if __name__ == "__main__":
    sys.exit(main())
