#!/usr/bin/python3
"""tests/e2e/signing_test.py: signing, receipts and `optreg fetch --verify`
end to end, through the real $BIN/optreg as people and CI use it, against a
real optreg-server over a private PostgreSQL cluster (tests/e2e/harness.py).

What it covers (docs/cli.md, docs/security.md):

  - keys: `optreg keygen`, `optreg key register|list|revoke` (admin);
  - submit --key: the config is signed and accepted with a receipt; an
    `optreg sign` envelope file is submitted as it is, and replaying it is
    idempotent (same version, created false);
  - refusals (exit 4, 403 signature_refused, the rule named): a revoked key
    (revoked_key), a key registered for team-a and team-a-* submitting to
    team-b (key_not_allowed), one signature where the namespace's threshold
    is 2 (threshold); an envelope signed twice passes that threshold;
  - fetch --verify by version, tag and digest with the registry key pinned
    (--registry-key, OPTREG_REGISTRY_PUBKEY) or not (a warning); versions
    signed before their key was revoked still verify;
  - an attacker with the database: payload, payload and digest, envelope
    signature and receipt changed with the immutability triggers disabled,
    a forged receipt under a registry key the attacker added, a revocation
    dated back; each is caught by fetch --verify through a freshly started
    server (no cache holds the old rows), which names the failed check; a
    wrongly pinned registry key fails too.

usage: tests/e2e/signing_test.py     (from the repository root)
env:   BIN   folder with optreg and optreg-server (default "bin")
       OPTREG_E2E_KEEP=1 keeps the temporary directory (logs, cluster)

Prints TAP (`ok N - desc`, `not ok N - desc` with `# ` diagnostics, the plan
`1..N` last) and exits 1 when any test fails. Everything it starts is
stopped on exit, whatever happens.
"""

import base64
import hashlib
import json
import os
import re
import shlex
import subprocess
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the working tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import CLI_BIN, Registry, Signer, Tap, run_suite, pae, pem_der  # noqa: E402

A, A2, B = "team-a", "team-a-two", "team-b"
RECEIPT_TYPE = "application/vnd.optreg.receipt.v1+json"
KEYID_RE = re.compile(r"^[0-9a-f]{64}$")

tap = Tap()


class World:
    pass


W = World()


# ---------------------------------------------------------------- helpers

def eq(got, want, what):
    assert got == want, "%s: expected %r, got %r" % (what, want, got)


class Result:
    def __init__(self, argv, note, p):
        self.argv, self.note = argv, note
        self.rc, self.out, self.err = p.returncode, p.stdout, p.stderr

    @property
    def text(self):
        return self.out.decode("utf-8", "replace")

    @property
    def etext(self):
        return self.err.decode("utf-8", "replace")

    def json(self):
        try:
            return json.loads(self.out)
        except ValueError:
            raise AssertionError("stdout is not JSON:\n" + self.describe())

    def describe(self):
        cmd = " ".join(shlex.quote(a) for a in self.argv)
        return "$ %s%s\n  exit: %d\n  stdout: %r\n  stderr: %r" % (
            self.note, cmd, self.rc, self.out[:2000], self.err[:3000])


def optreg(*args, token="sub", url=None, key=None, env=None, stdin=None):
    """$BIN/optreg ARGS with OPTREG_URL (server A, or `url`), OPTREG_TOKEN
    (`token` names one of W's tokens, or None) and OPTREG_KEY (`key`, a
    path, or None) set, and no other OPTREG_ variable but those in `env`."""
    e = dict((k, v) for k, v in os.environ.items() if not k.startswith("OPTREG_"))
    e["OPTREG_URL"] = url or W.srv.base
    note = "OPTREG_URL=%s " % e["OPTREG_URL"]
    if token:
        e["OPTREG_TOKEN"] = getattr(W, token)
        note += "OPTREG_TOKEN=<%s> " % token
    if key:
        e["OPTREG_KEY"] = key
        note += "OPTREG_KEY=%s " % key
    for k, v in (env or {}).items():
        e[k] = v
        note += "%s=%s " % (k, v)
    argv = [CLI_BIN] + [str(a) for a in args]
    p = subprocess.run(argv, env=e, cwd=W.dir, input=stdin, timeout=60,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return Result(argv, note, p)


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


def config_text(ns, name, lr="3.0e-5"):
    return ("apiVersion: optreg/v1\n"
            "kind: OptimizerConfig\n"
            "metadata:\n"
            "  namespace: %s\n"
            "  name: %s\n"
            "spec:\n"
            "  optimizer: adamw\n"
            "  lr: %s\n"
            "  betas: [0.9, 0.999]\n"
            "  eps: 1.0e-8\n"
            "  weight_decay: 0.01\n" % (ns, name, lr))


def config(ns, name, lr="3.0e-5"):
    """Writes a config file; returns (path, canonical bytes, digest)."""
    path = os.path.join(W.dir, "%s.%s.%s.yaml" % (ns, name, lr))
    with open(path, "w") as f:
        f.write(config_text(ns, name, lr))
    p = subprocess.run([CLI_BIN, "canonicalize", path], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=30)
    assert p.returncode == 0, "canonicalize %s: %r" % (path, p.stderr)
    return path, p.stdout, "sha256:" + hashlib.sha256(p.stdout).hexdigest()


def keygen(name):
    """`optreg keygen`; returns (private key path, public key path, key id)."""
    out = os.path.join(W.dir, name)
    r = expect(optreg("keygen", "--out", out, token=None), 0, "keygen " + name)
    kid = r.text.strip()
    assert KEYID_RE.match(kid), "keygen printed %r" % r.text
    return out + ".pem", out + ".pub.pem", kid


def register(pub, principal, *namespaces):
    args = ["key", "register", pub, "--principal", principal]
    for ns in namespaces:
        args += ["--namespace", ns]
    return expect(optreg(*args, token="admin"), 0, "key register")


def submitted(res, ref, digest, created=True):
    eq(res.text, "%s %s (%s)\n" % (ref, digest, "created" if created else "unchanged"),
       "submit stdout")


def verified_line(*signers):
    who = ", ".join("%s (%s)" % (k, p) for k, p in signers)
    return "verified: signed by %s; receipt by registry key %s\n" % (who, W.rk_id)


def fetch_verify(ref, url=None, pin=True, *extra):
    args = ["fetch", ref, "--verify"]
    if pin is True:
        args += ["--registry-key", W.reg.registry_pub]
    elif pin:
        args += ["--registry-key", pin]
    return optreg(*(args + list(extra)), url=url)


def sql_literal(s):
    return "'" + s.replace("'", "''") + "'"


def where_version(ns, name, version):
    return ("config_id = (SELECT c.id FROM configs c JOIN namespaces n ON n.id = "
            "c.namespace_id WHERE n.name = %s AND c.name = %s) AND version = %d"
            % (sql_literal(ns), sql_literal(name), version))


def stored(ns, name, version, column, table="versions"):
    return W.reg.psql("SELECT %s FROM %s WHERE %s" % (
        column, table, where_version(ns, name, version))).stdout.rstrip("\n")


def fresh_server():
    """A server started now: its caches hold nothing the database had."""
    return W.reg.server().base


# ---------------------------------------------------------------- setup

def setup():
    W.reg = Registry().start()
    W.dir = os.path.join(W.reg.tmp, "signing")
    os.makedirs(W.dir)
    W.admin, _ = W.reg.token("admin@ops", "admin", "*")
    W.sub, _ = W.reg.token("ci@teams", "submitter", "team-*")
    W.srv = W.reg.server(name="A")
    with open(W.reg.registry_pub) as f:
        W.rk_id = hashlib.sha256(pem_der(f.read())).hexdigest()


# ---------------------------------------------------------------- keys

def t_keygen_register():
    W.alice, W.alice_pub, W.alice_id = keygen("alice")
    r = register(W.alice_pub, "alice@team-a", A, A + "-*")
    eq(r.text, "registered %s for alice@team-a (namespaces %s, %s-*)\n" % (W.alice_id, A, A),
       "stdout")
    W.bob, W.bob_pub, W.bob_id = keygen("bob")
    r = expect(optreg("key", "register", W.bob_pub, "--principal", "bob@team-a",
                      "--namespace", A, "--namespace", A2, "--json", token="admin"), 0)
    j = r.json()
    eq((j["keyid"], j["principal"], j["namespaces"], j["revoked_at"]),
       (W.bob_id, "bob@team-a", [A, A2], None), "--json answer")
    W.carol, W.carol_pub, W.carol_id = keygen("carol")
    register(W.carol_pub, "carol@team-a", A)


def t_key_list():
    r = expect(optreg("key", "list"), 0)
    rows = dict((l.split()[0], l.split()) for l in r.text.splitlines()[1:])
    for kid, who, nss in ((W.alice_id, "alice@team-a", "%s,%s-*" % (A, A)),
                          (W.bob_id, "bob@team-a", "%s,%s" % (A, A2)),
                          (W.carol_id, "carol@team-a", A)):
        assert kid in rows, "no row for %s:\n%s" % (kid, r.describe())
        eq((rows[kid][1], rows[kid][2], rows[kid][4]), (who, nss, "-"), "row of " + who)


def t_register_needs_admin():
    _, pub, _ = keygen("eve")
    r = expect(optreg("key", "register", pub, "--principal", "eve", "--namespace", A), 4)
    has(r, "403 forbidden")


# ---------------------------------------------------------------- submit

def t_submit_key():
    W.f1, W.c1, W.d1 = config(A, "bert")
    r = expect(optreg("submit", W.f1, "--key", W.alice), 0)
    submitted(r, A + "/bert@1", W.d1)
    eq(r.err, b"", "stderr")
    # The same through OPTREG_KEY, with --json: the receipt, by the registry.
    r = expect(optreg("submit", W.f1, "--json", key=W.alice), 0)
    j = r.json()
    eq((j["version"], j["created"], j["digest"]), (1, False, W.d1), "--json")
    rc = j["receipt"]
    eq(rc["payloadType"], RECEIPT_TYPE, "receipt payloadType")
    eq([s["keyid"] for s in rc["signatures"]], [W.rk_id], "receipt signed by")
    p = json.loads(base64.b64decode(rc["payload"]))
    eq((p["namespace"], p["name"], p["version"], p["digest"], p["signer_keyids"]),
       (A, "bert", 1, W.d1, [W.alice_id]), "receipt payload")


def t_fetch_verify_pinned():
    want = verified_line((W.alice_id, "alice@team-a"))
    for ref in (A + "/bert@1", W.d1):
        r = expect(fetch_verify(ref), 0, ref)
        eq(r.out, W.c1, "stdout bytes")
        eq(r.etext, want, "stderr")
    expect(optreg("tag", A + "/bert@1", "prod"), 0)
    r = expect(fetch_verify(A + "/bert@prod", None, True, "--format", "yaml"), 0, "@prod yaml")
    eq(r.etext, want, "stderr")
    r = expect(optreg("fetch", A + "/bert@1", "--verify",
                      env={"OPTREG_REGISTRY_PUBKEY": W.reg.registry_pub}), 0,
               "OPTREG_REGISTRY_PUBKEY")
    eq(r.etext, want, "stderr")
    r = expect(optreg("fetch", A + "/bert@1", "--verify", "--json"), 0, "--json")
    eq(r.json()["digest"], W.d1, "--json version document")


def t_fetch_verify_unpinned():
    r = expect(fetch_verify(A + "/bert@1", None, False), 0)
    eq(r.out, W.c1, "stdout bytes")
    has(r, "the registry key was not pinned")
    has(r, "trust on first use")
    has(r, verified_line((W.alice_id, "alice@team-a")))


def t_fetch_verify_wrong_pin():
    _, other_pub, other_id = keygen("not-the-registry")
    r = expect(fetch_verify(A + "/bert@1", None, other_pub), 1)
    eq(r.out, b"", "stdout")
    has(r, "failed verification")
    has(r, "receipt.signatures: expected a valid signature by the pinned registry key %s, "
           "got %s (not a trusted registry key)" % (other_id, W.rk_id))
    lacks(r, "verified:")
    r = expect(optreg("fetch", A + "/bert@1", "--verify",
                      env={"OPTREG_REGISTRY_PUBKEY": other_pub}), 1, "through the environment")
    r = expect(fetch_verify(A + "/bert@1", None, other_pub, "--json"), 1, "--json")
    j = r.json()
    eq(j["code"], "verification_failed", "--json code")
    assert any(e["path"] == "receipt.signatures" for e in j["errors"]), "errors: %r" % j


def t_key_not_allowed():
    f, _, _ = config(B, "bert")
    r = expect(optreg("submit", f, "--key", W.alice), 4)
    has(r, "(403 signature_refused)")
    has(r, "signatures[0]: key_not_allowed: key %s may not sign for namespace %s" % (
        W.alice_id, B))
    has(r, "threshold")
    eq(r.out, b"", "stdout")
    r = expect(optreg("submit", f, "--key", W.alice, "--json"), 4)
    j = r.json()
    eq(j.get("code"), "signature_refused", "--json code")
    eq([e["rule"] for e in j["errors"]], ["key_not_allowed", "threshold"], "--json rules")
    expect(optreg("log", B + "/bert"), 8, "no version in team-b")


def t_replay_envelope():
    f, c, d = config(A, "replay")
    env = os.path.join(W.dir, "replay.signed.json")
    expect(optreg("sign", f, "--key", W.alice, "--out", env), 0, "sign")
    r = expect(optreg("submit", env, "--json"), 0, "first")
    j = r.json()
    eq((j["version"], j["created"]), (1, True), "first submit")
    for i in range(2):
        r = expect(optreg("submit", env, "--json"), 0, "replay %d" % i)
        j2 = r.json()
        eq((j2["version"], j2["created"], j2["digest"]), (1, False, d), "replay")
        eq(j2["receipt"], j["receipt"], "the receipt of the replay")
    r = expect(optreg("submit", env), 0, "replay, human output")
    submitted(r, A + "/replay@1", d, created=False)
    versions = optreg("log", A + "/replay", "--json").json()["versions"]
    eq([v["version"] for v in versions], [1], "versions")
    eq(expect(fetch_verify(A + "/replay@1"), 0).out, c, "fetch --verify")


def t_revoked_key():
    W.fc1, W.cc1, W.dc1 = config(A, "carol", lr="1.0e-5")
    r = expect(optreg("submit", W.fc1, "--key", W.carol), 0, "before the revocation")
    submitted(r, A + "/carol@1", W.dc1)
    r = expect(optreg("key", "revoke", W.carol_id, token="admin"), 0)
    m = re.match(r"^revoked %s \(carol@team-a\) at (\S+)\n$" % W.carol_id, r.text)
    assert m, "stdout: %r" % r.text
    W.carol_revoked_at = m.group(1)
    row = [l.split() for l in optreg("key", "list").text.splitlines() if l.startswith(W.carol_id)]
    eq(row[0][4], W.carol_revoked_at, "REVOKED column")
    f2, _, _ = config(A, "carol", lr="2.0e-5")
    r = expect(optreg("submit", f2, "--key", W.carol), 4, "new content")
    has(r, "signatures[0]: revoked_key: key %s is revoked" % W.carol_id)
    has(r, "hint: sign with an active key")
    r = expect(optreg("submit", W.fc1, "--key", W.carol, "--json"), 4, "old content again")
    eq([e["rule"] for e in r.json()["errors"]], ["revoked_key", "threshold"], "rules")
    versions = optreg("log", A + "/carol", "--json").json()["versions"]
    eq([v["version"] for v in versions], [1], "versions")


def t_revoked_after_still_verifies():
    r = expect(fetch_verify(A + "/carol@1"), 0)
    eq(r.out, W.cc1, "stdout bytes")
    eq(r.etext, verified_line((W.carol_id, "carol@team-a")), "stderr")


def t_verify_registry():
    """optreg verify --registry: the registry's key list decides."""
    f, _, _ = config(A, "verify-registry")
    env = os.path.join(W.dir, "verify-registry.signed.json")
    expect(optreg("sign", f, "--key", W.alice, "--out", env), 0, "sign")
    r = expect(optreg("verify", env, "--registry"), 0, "alice, registered for team-a")
    eq(r.text, "%s: valid (alice@team-a)\n" % W.alice_id, "stdout")
    # The same signature does not count for a namespace the key may not
    # sign for.
    fb, _, _ = config(B, "verify-registry")
    envb = os.path.join(W.dir, "verify-registry-b.signed.json")
    expect(optreg("sign", fb, "--key", W.alice, "--out", envb), 0, "sign for team-b")
    r = expect(optreg("verify", envb, "--registry"), 1, "alice for team-b")
    assert r.text.startswith("key_not_allowed: "), "stdout: %r" % r.text
    has(r, "0 valid signatures from registered keys allowed for namespace %s" % B)
    # A runner's key (purpose verdict) does not count for a config, even in
    # its namespace: the client checks purposes as the server does.
    vkey, vpub, _ = keygen("verdict-only")
    expect(optreg("key", "register", vpub, "--principal", "runner@ops", "--namespace", A,
                  "--purpose", "verdict", token="admin"), 0, "register a verdict key")
    envv = os.path.join(W.dir, "verify-registry-v.signed.json")
    expect(optreg("sign", f, "--key", vkey, "--out", envv), 0,
           "sign with the verdict key")
    r = expect(optreg("verify", envv, "--registry"), 1, "a verdict key on a config")
    assert r.text.startswith("key_purpose: "), "stdout: %r" % r.text
    has(r, "0 valid signatures from registered keys allowed for namespace %s" % A)
    # Both --key and --registry, or neither, is a usage error.
    expect(optreg("verify", env), 2, "neither")


def t_threshold():
    r = expect(optreg("namespace", "set", A2, "--signature-threshold", "2", token="admin"), 0)
    eq(r.text, "%s: signature threshold 2\n" % A2, "set")
    eq(expect(optreg("namespace", "show", A2), 0).text, "%s: signature threshold 2\n" % A2,
       "show")
    f, c, d = config(A2, "two")
    r = expect(optreg("submit", f, "--key", W.alice), 4, "one signature")
    has(r, "(403 signature_refused)")
    has(r, "signatures: threshold: 2 valid signatures from distinct keys are required for "
           "namespace %s (got 1)" % A2)
    env = os.path.join(W.dir, "two.signed.json")
    expect(optreg("sign", f, "--key", W.alice, "--out", env), 0, "sign by alice")
    expect(optreg("submit", env), 4, "the envelope signed once")
    expect(optreg("sign", env, "--key", W.alice, "--out", env), 0, "alice again")
    expect(optreg("submit", env), 4, "the envelope signed twice by one key")
    expect(optreg("sign", env, "--key", W.bob, "--out", env), 0, "sign by bob")
    eq(len(json.load(open(env))["signatures"]), 2, "signatures in the envelope")
    r = expect(optreg("submit", env, "--json"), 0, "signed by alice and bob")
    j = r.json()
    eq((j["version"], j["created"]), (1, True), "created")
    p = json.loads(base64.b64decode(j["receipt"]["payload"]))
    eq(p["signer_keyids"], sorted([W.alice_id, W.bob_id]), "receipt signer_keyids")
    r = expect(fetch_verify(A2 + "/two@1"), 0)
    eq(r.out, c, "stdout bytes")
    has(r, "verified: signed by ")
    for kid, who in ((W.alice_id, "alice@team-a"), (W.bob_id, "bob@team-a")):
        has(r, "%s (%s)" % (kid, who))
    expect(optreg("namespace", "set", A2, "--signature-threshold", "1", token="admin"), 0)


# ---------------------------------------------------------------- tampering

def t_tamper_setup():
    """Versions to tamper with, each verified first (through server A)."""
    W.t = {}
    for name in ("t-payload", "t-both", "t-envelope", "t-receipt", "t-forged", "t-backdated",
                 "t-leaf", "t-proof", "t-legacy"):
        f, c, d = config(A, name)
        expect(optreg("submit", f, "--key", W.alice if name != "t-backdated" else W.bob), 0,
               "submit " + name)
        W.t[name] = (f, c, d)
    f, c, d = config(A, "t-receipt", lr="9.0e-5")
    expect(optreg("submit", f, "--key", W.alice), 0, "t-receipt@2")
    for name in W.t:
        expect(fetch_verify("%s/%s@1" % (A, name)), 0, "before tampering: " + name)
    # The altered content: the same config with another lr.
    _, W.altered, W.altered_digest = config(A, "t-payload", lr="0.5")
    _, W.altered_both, W.altered_both_digest = config(A, "t-both", lr="0.5")


def t_tamper_in_database():
    immutable = ("ALTER TABLE versions DISABLE TRIGGER versions_immutable; %s; "
                 "ALTER TABLE versions ENABLE TRIGGER versions_immutable")
    # 1. the payload only
    W.reg.psql(immutable % ("UPDATE versions SET payload = decode('%s', 'hex') WHERE %s" % (
        W.altered.hex(), where_version(A, "t-payload", 1))))
    # 2. the payload and its digest, so the content matches its digest
    W.reg.psql(immutable % ("UPDATE versions SET payload = decode('%s', 'hex'), digest = %s "
                            "WHERE %s" % (W.altered_both.hex(), sql_literal(W.altered_both_digest),
                                          where_version(A, "t-both", 1))))
    # 3. the envelope: alice's signature replaced by her signature of other bytes
    env = json.loads(stored(A, "t-envelope", 1, "envelope"))
    other = Signer.from_file(W.alice).sign(pae(env["payloadType"], b"something else"))
    env["signatures"][0]["sig"] = base64.b64encode(other).decode()
    W.tampered_sig = env["signatures"][0]["sig"]
    text = json.dumps(env, sort_keys=True, separators=(",", ":"))
    W.reg.psql(immutable % ("UPDATE versions SET envelope = %s WHERE %s" % (
        sql_literal(text), where_version(A, "t-envelope", 1))))
    # 4. the receipt of t-receipt@1 replaced by the (genuine) one of @2
    W.reg.psql("ALTER TABLE receipts DISABLE TRIGGER receipts_immutable; "
               "UPDATE receipts SET receipt = (SELECT receipt FROM receipts WHERE %s) WHERE %s; "
               "ALTER TABLE receipts ENABLE TRIGGER receipts_immutable" % (
                   where_version(A, "t-receipt", 2), where_version(A, "t-receipt", 1)))
    # 5. a receipt forged with a key the attacker adds to registry_keys
    W.forger, W.forger_pub, W.forger_id = keygen("forger")
    genuine = json.loads(stored(A, "t-forged", 1, "receipt", "receipts"))
    payload = base64.b64decode(genuine["payload"])
    forged = {"payloadType": RECEIPT_TYPE, "payload": genuine["payload"],
              "signatures": [Signer.from_file(W.forger).signature(RECEIPT_TYPE, payload)]}
    with open(W.forger_pub) as f:
        pem = f.read()
    W.reg.psql("INSERT INTO registry_keys (keyid, public_key) VALUES (%s, %s); "
               "ALTER TABLE receipts DISABLE TRIGGER receipts_immutable; "
               "UPDATE receipts SET receipt = %s WHERE %s; "
               "ALTER TABLE receipts ENABLE TRIGGER receipts_immutable" % (
                   sql_literal(W.forger_id), sql_literal(pem),
                   sql_literal(json.dumps(forged, sort_keys=True, separators=(",", ":"))),
                   where_version(A, "t-forged", 1)))
    # 6. bob's key revoked as from a time before t-backdated@1 was accepted
    W.reg.psql("UPDATE signing_keys SET revoked_at = '2001-02-03T04:05:06Z' WHERE keyid = %s"
               % sql_literal(W.bob_id))
    # 7-9. receipts re-signed with the registry's own key (a registry that
    # lies about its audit log): another event's leaf, a changed proof
    # hash, and a receipt from before audit_leaf existed
    registry_key = Signer.from_file(W.reg.registry_pub.replace(".pub.pem", ".pem"))

    def resign(name, change):
        p = json.loads(base64.b64decode(json.loads(
            stored(A, name, 1, "receipt", "receipts"))["payload"]))
        change(p)
        body = json.dumps(p, sort_keys=True, separators=(",", ":")).encode()
        env = {"payloadType": RECEIPT_TYPE, "payload": base64.b64encode(body).decode(),
               "signatures": [registry_key.signature(RECEIPT_TYPE, body)]}
        W.reg.psql("ALTER TABLE receipts DISABLE TRIGGER receipts_immutable; "
                   "UPDATE receipts SET receipt = %s WHERE %s; "
                   "ALTER TABLE receipts ENABLE TRIGGER receipts_immutable" % (
                       sql_literal(json.dumps(env, sort_keys=True, separators=(",", ":"))),
                       where_version(A, name, 1)))
        return p

    def other_leaf(p):
        p["audit_leaf"] = W.reg.psql(
            "SELECT encode(leaf_hash, 'base64') FROM audit_events WHERE idx = %d"
            % (p["audit_index"] - 1)).stdout.strip()

    def flip_proof(p):
        h = bytearray(base64.b64decode(p["audit_inclusion"][0]))
        h[0] ^= 1
        p["audit_inclusion"][0] = base64.b64encode(bytes(h)).decode()

    W.leaf_receipt = resign("t-leaf", other_leaf)
    W.proof_receipt = resign("t-proof", flip_proof)
    resign("t-legacy", lambda p: p.pop("audit_leaf"))
    eq(stored(A, "t-payload", 1, "encode(payload, 'hex')"), W.altered.hex(), "payload stored")
    W.fresh = fresh_server()


def t_detect_payload():
    _, c, d = W.t["t-payload"]
    ref = A + "/t-payload@1"
    r = expect(fetch_verify(ref, W.fresh), 1)
    eq(r.out, b"", "stdout")
    has(r, "optreg fetch: %s failed verification" % ref)
    has(r, "digest: expected %s (the version's digest), got %s (the SHA-256 of its canonical "
           "config)" % (d, W.altered_digest))
    has(r, "envelope.payload: expected the canonical config (%d bytes, %s), got %d bytes (%s)"
        % (len(W.altered), W.altered_digest, len(c), d))
    has(r, "receipt.digest: expected %s, got %s" % (W.altered_digest, d))
    lacks(r, "verified:")
    # Without --verify the digest check alone catches this one.
    r = expect(optreg("fetch", ref, url=W.fresh), 1, "plain fetch")
    eq(r.out, b"", "stdout of plain fetch")
    r = expect(fetch_verify(d, W.fresh), 1, "by digest")
    eq(r.out, b"", "stdout by digest")
    has(r, "digest is %s, not %s" % (W.altered_digest, d))


def t_detect_payload_and_digest():
    # The content now matches its (changed) digest: a plain fetch is fooled,
    # --verify is not.
    _, c, d = W.t["t-both"]
    ref = A + "/t-both@1"
    r = expect(optreg("fetch", ref, url=W.fresh), 0, "plain fetch is fooled")
    eq(r.out, W.altered_both, "plain fetch prints the altered content")
    r = expect(fetch_verify(ref, W.fresh), 1)
    eq(r.out, b"", "stdout")
    lacks(r, "  digest:")
    has(r, "envelope.payload: expected the canonical config (%d bytes, %s), got %d bytes (%s)"
        % (len(W.altered_both), W.altered_both_digest, len(c), d))
    has(r, "receipt.digest: expected %s, got %s" % (W.altered_both_digest, d))
    r = expect(fetch_verify(W.altered_both_digest, W.fresh), 1, "by the new digest")
    eq(r.out, b"", "stdout by digest")
    has(r, "envelope.payload: ")


def t_detect_envelope():
    ref = A + "/t-envelope@1"
    r = expect(fetch_verify(ref, W.fresh), 1)
    eq(r.out, b"", "stdout")
    has(r, "envelope.signatures[0]: the signature by key %s does not verify" % W.alice_id)
    has(r, "envelope.signatures: expected a valid signature by a signer key registered for %s, "
           "got none of 1" % A)
    has(r, "receipt.envelope_sha256: expected ")
    lacks(r, "  digest:")


def t_detect_receipt():
    _, _, d = W.t["t-receipt"]
    ref = A + "/t-receipt@1"
    r = expect(fetch_verify(ref, W.fresh), 1)
    eq(r.out, b"", "stdout")
    has(r, "receipt.version: expected 1, got 2")
    has(r, "receipt.digest: expected %s, got " % d)
    has(r, "receipt.envelope_sha256: expected ")
    r = expect(fetch_verify(ref, W.fresh, False), 1, "unpinned")
    has(r, "receipt.version: expected 1, got 2")


def t_detect_forged_receipt():
    ref = A + "/t-forged@1"
    r = expect(fetch_verify(ref, W.fresh), 1, "pinned")
    eq(r.out, b"", "stdout")
    has(r, "receipt.signatures: expected a valid signature by the pinned registry key %s, got "
           "%s (not a trusted registry key)" % (W.rk_id, W.forger_id))
    # Unpinned, the key the attacker listed is trusted: this is what pinning
    # is for (docs/security.md).
    r = expect(fetch_verify(ref, W.fresh, False), 0, "unpinned (trust on first use)")
    has(r, "the registry key was not pinned")
    has(r, "receipt by registry key %s" % W.forger_id)


def t_detect_backdated_revocation():
    ref = A + "/t-backdated@1"
    r = expect(fetch_verify(ref, W.fresh), 1)
    eq(r.out, b"", "stdout")
    has(r, "envelope.signatures[0]: key %s was revoked at 2001-02-03T04:05:06.000Z, before the "
           "version was accepted at " % W.bob_id)


def t_detect_receipt_leaf():
    ref = A + "/t-leaf@1"
    r = expect(fetch_verify(ref, W.fresh), 1)
    eq(r.out, b"", "stdout")
    p = W.leaf_receipt
    has(r, "receipt.audit_inclusion: expected a proof that audit_leaf %s is leaf %d of the %d "
           "audit events whose root is %s, got one that does not verify"
        % (p["audit_leaf"], p["audit_index"], p["audit_tree_size"], p["audit_root"]))
    lacks(r, "verified:")


def t_detect_receipt_proof():
    ref = A + "/t-proof@1"
    r = expect(fetch_verify(ref, W.fresh), 1)
    eq(r.out, b"", "stdout")
    has(r, "receipt.audit_inclusion: expected a proof that audit_leaf %s is leaf %d"
        % (W.proof_receipt["audit_leaf"], W.proof_receipt["audit_index"]))
    r = expect(fetch_verify(ref, W.fresh, True, "--json"), 1, "--json")
    j = json.loads(r.out)
    assert any(e["path"] == "receipt.audit_inclusion" for e in j["errors"]), "errors: %r" % j


def t_legacy_receipt_passes():
    _, c, _ = W.t["t-legacy"]
    r = expect(fetch_verify(A + "/t-legacy@1", W.fresh), 0)
    eq(r.out, c, "stdout")
    has(r, "verified: signed by ")
    has(r, "note: the receipt carries no audit_leaf (it predates it), so its audit inclusion "
           "proof was not checked")


def t_untouched_still_verify():
    for ref, c in ((A + "/bert@1", W.c1), (A + "/carol@1", W.cc1)):
        r = expect(fetch_verify(ref, W.fresh), 0, ref)
        eq(r.out, c, "bytes of " + ref)


def t_servers_alive():
    for s in W.reg.servers:
        assert s.alive(), "server %s died:\n%s" % (s.name, s.log_tail())


# ---------------------------------------------------------------- main

TESTS = [
    ("keygen + key register (admin): registered KEYID for PRINCIPAL; --json", t_keygen_register),
    ("key list: a row per key with principal, namespaces, no revocation", t_key_list),
    ("key register with a submitter token: exit 4", t_register_needs_admin),
    ("submit --key: created, signed; --json carries the receipt by the registry key",
     t_submit_key),
    ("fetch --verify pinned (version, digest, tag, OPTREG_REGISTRY_PUBKEY): verified line",
     t_fetch_verify_pinned),
    ("fetch --verify unpinned: trust-on-first-use warning, then verified", t_fetch_verify_unpinned),
    ("fetch --verify --registry-key with another key: exit 1 naming the receipt check",
     t_fetch_verify_wrong_pin),
    ("a key registered for team-a, team-a-* cannot submit to team-b: exit 4 key_not_allowed",
     t_key_not_allowed),
    ("an `optreg sign` envelope submitted again and again: same version, created false",
     t_replay_envelope),
    ("a revoked key cannot submit (exit 4 revoked_key), new content or old", t_revoked_key),
    ("a version signed before its key was revoked still passes fetch --verify",
     t_revoked_after_still_verifies),
    ("verify --registry: registered keys count only for their namespaces",
     t_verify_registry),
    ("threshold 2: one signature refused, the envelope signed by two keys accepted",
     t_threshold),
    ("tampering: versions to tamper with verify first", t_tamper_setup),
    ("tampering: payload, digest, envelope, receipts, registry_keys, revoked_at changed "
     "with psql", t_tamper_in_database),
    ("fetch --verify catches a changed payload (digest, envelope payload, receipt)",
     t_detect_payload),
    ("fetch --verify catches a changed payload with its digest changed too (plain fetch "
     "does not)", t_detect_payload_and_digest),
    ("fetch --verify catches a changed envelope signature", t_detect_envelope),
    ("fetch --verify catches a receipt replaced by another version's", t_detect_receipt),
    ("fetch --verify pinned catches a receipt forged under an added registry key",
     t_detect_forged_receipt),
    ("fetch --verify catches a signer key revoked before the version was accepted",
     t_detect_backdated_revocation),
    ("fetch --verify catches a registry-signed receipt whose audit_leaf is another event's",
     t_detect_receipt_leaf),
    ("fetch --verify catches a registry-signed receipt whose inclusion proof was changed",
     t_detect_receipt_proof),
    ("fetch --verify passes a receipt without audit_leaf, saying the proof was not checked",
     t_legacy_receipt_passes),
    ("versions nobody touched still verify through the fresh server", t_untouched_still_verify),
    ("the servers are still up", t_servers_alive),
]


def main():
    return run_suite(tap, W, setup, TESTS,
                     "cluster, migrations, tokens, server")


if __name__ == "__main__":
    sys.exit(main())
