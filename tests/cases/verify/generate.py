#!/usr/bin/env python3
"""Regenerates the data-driven cases of common/verify (tests/cases/verify/).

usage: tests/cases/verify/generate.py   (from the repository root, after
`make`: it uses bin/optreg for canonical JSON and openssl for Ed25519 keys
and signatures)

Each case is a folder with case.json (which check, and its parameters), the
inputs that check reads, and expected.json: {"ok": bool, "errors"?:
[{"rule", "path", "message"?}], ...}: whether the check passed, every
refusal in order (none when left out), and what else it found. New keys are drawn
on every run, so the files change but the outcomes do not.
"""
import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.abspath(__file__))
TMP = tempfile.mkdtemp()
CONFIG_TYPE = "application/vnd.optreg.config.v1+json"
RECEIPT_TYPE = "application/vnd.optreg.receipt.v1+json"


def run(*args, data=None):
    return subprocess.run(args, input=data, check=True, capture_output=True).stdout


class Key:
    def __init__(self, name):
        self.path = os.path.join(TMP, name + ".pem")
        run("openssl", "genpkey", "-algorithm", "ed25519", "-out", self.path)
        self.pub = run("openssl", "pkey", "-in", self.path, "-pubout").decode()
        der = run("openssl", "pkey", "-in", self.path, "-pubout", "-outform", "DER")
        self.id = hashlib.sha256(der).hexdigest()
        self.raw = der[-32:]

    def sign(self, msg):
        p = os.path.join(TMP, "msg")
        with open(p, "wb") as f:
            f.write(msg)
        return run("openssl", "pkeyutl", "-sign", "-inkey", self.path, "-rawin", "-in", p)


def b64(b):
    return base64.b64encode(b).decode()


def pae(t, body):
    t = t.encode()
    return b"DSSEv1 %d %s %d %s" % (len(t), t, len(body), body)


def envelope(ptype, payload, signers):
    sigs = [{"keyid": k.id, "sig": b64(k.sign(pae(ptype, payload)))} for k in signers]
    return {"payloadType": ptype, "payload": b64(payload), "signatures": sigs}


def canonical(obj):
    return run("bin/optreg", "canonicalize", "-", data=json.dumps(obj).encode())


def key_entry(k, principal, namespaces, revoked_at=None):
    e = {"keyid": k.id, "public_key": k.pub, "principal": principal,
         "namespaces": namespaces}
    if revoked_at:
        e["revoked_at"] = revoked_at
    return e


# ---- Merkle (RFC 6962) ------------------------------------------------------

def leaf_hash(data):
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(l, r):
    return hashlib.sha256(b"\x01" + l + r).digest()


def mth(leaves):
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return node_hash(mth(leaves[:k]), mth(leaves[k:]))


def path(m, leaves):
    if len(leaves) == 1:
        return []
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    if m < k:
        return path(m, leaves[:k]) + [mth(leaves[k:])]
    return path(m - k, leaves[k:]) + [mth(leaves[:k])]


# ---- Writing cases -----------------------------------------------------------

def case(name, check, files, expected, **params):
    d = os.path.join(ROOT, name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "case.json"), "w") as f:
        json.dump(dict(check=check, **params), f, indent=2, sort_keys=True)
        f.write("\n")
    for fname, content in files.items():
        with open(os.path.join(d, fname), "w") as f:
            if isinstance(content, str):
                f.write(content)
            else:
                json.dump(content, f, indent=2, sort_keys=True)
                f.write("\n")
    with open(os.path.join(d, "expected.json"), "w") as f:
        json.dump(expected, f, indent=2, sort_keys=True)
        f.write("\n")


def errs(*items):
    out = []
    for it in items:
        e = {"rule": it[0], "path": it[1]}
        if len(it) > 2:
            e["message"] = it[2]
        out.append(e)
    return {"ok": False, "errors": out}


def counted(*items):
    """Refusals of single signatures that leave the check passing (no
    threshold asked for)."""
    return dict(errs(*items), ok=True)


OK = {"ok": True}


def main():
    for entry in os.listdir(ROOT):
        if os.path.isdir(os.path.join(ROOT, entry)):
            shutil.rmtree(os.path.join(ROOT, entry))

    alice, bob, carol, mallory, reg, other_reg = (
        Key(n) for n in ("alice", "bob", "carol", "mallory", "reg", "other_reg"))
    keys = {"keys": [
        key_entry(alice, "alice@team-a", ["team-*"]),
        key_entry(bob, "bob@team-a", ["team-a"]),
        key_entry(carol, "carol@team-a", ["team-a"], "2026-11-23T10:00:00.000Z"),
        key_entry(mallory, "mallory@team-b", ["team-b"]),
    ]}
    reg_keys = {"keys": [{"keyid": reg.id, "public_key": reg.pub}]}

    cfg = {"apiVersion": "optreg/v1", "kind": "OptimizerConfig",
           "metadata": {"name": "bert", "namespace": "team-a"},
           "spec": {"betas": [0.9, 0.999], "eps": 1e-8, "lr": 0.001,
                    "optimizer": "adam", "weight_decay": 0}}
    payload = canonical(cfg)
    digest = "sha256:" + hashlib.sha256(payload).hexdigest()

    # ---- envelope: signatures against a key list --------------------------
    reg_voice = dict(ns="team-a", threshold=1, voice="registry")
    case("envelope-good", "envelope",
         {"keys.json": keys, "envelope.json": envelope(CONFIG_TYPE, payload, [alice])},
         dict(OK, valid=[alice.id]), **reg_voice)
    case("envelope-two-keys-threshold-two", "envelope",
         {"keys.json": keys, "envelope.json": envelope(CONFIG_TYPE, payload, [alice, bob])},
         dict(OK, valid=[alice.id, bob.id]), ns="team-a", threshold=2, voice="registry")
    case("envelope-one-key-twice-counts-once", "envelope",
         {"keys.json": keys, "envelope.json": envelope(CONFIG_TYPE, payload, [alice, alice])},
         errs(("threshold", "signatures",
               "2 valid signatures from distinct keys are required for namespace team-a (got 1)")),
         ns="team-a", threshold=2, voice="registry")
    unknown = Key("unknown")
    case("envelope-unknown-key", "envelope",
         {"keys.json": keys, "envelope.json": envelope(CONFIG_TYPE, payload, [unknown])},
         errs(("unknown_key", "signatures[0]", 'key "%s" is not registered' % unknown.id),
              ("threshold", "signatures")), **reg_voice)
    case("envelope-unknown-key-client", "envelope",
         {"keys.json": keys, "envelope.json": envelope(CONFIG_TYPE, payload, [unknown])},
         counted(("unknown_key", "envelope.signatures[0]",
               "key %s is not a registered key" % unknown.id)),
         ns="team-a", threshold=0, voice="client", prefix="envelope")
    case("envelope-revoked-key", "envelope",
         {"keys.json": keys, "envelope.json": envelope(CONFIG_TYPE, payload, [carol])},
         errs(("revoked_key", "signatures[0]", "key %s is revoked" % carol.id),
              ("threshold", "signatures")), **reg_voice)
    case("envelope-revoked-after-accepted", "envelope",
         {"keys.json": keys, "envelope.json": envelope(CONFIG_TYPE, payload, [carol])},
         dict(OK, valid=[carol.id]), ns="team-a", at="2026-11-01T00:00:00.000Z",
         threshold=1, voice="client")
    case("envelope-revoked-before-accepted", "envelope",
         {"keys.json": keys, "envelope.json": envelope(CONFIG_TYPE, payload, [carol])},
         counted(("revoked_key", "envelope.signatures[0]",
               "key %s was revoked at 2026-11-23T10:00:00.000Z, before the version "
               "was accepted at 2026-12-01T00:00:00.000Z" % carol.id)),
         ns="team-a", at="2026-12-01T00:00:00.000Z", threshold=0, voice="version",
         prefix="envelope")
    case("envelope-namespace-not-allowed", "envelope",
         {"keys.json": keys, "envelope.json": envelope(CONFIG_TYPE, payload, [mallory])},
         errs(("key_not_allowed", "signatures[0]",
               "key %s may not sign for namespace team-a" % mallory.id),
              ("threshold", "signatures")), **reg_voice)
    bad = envelope(CONFIG_TYPE, payload, [alice])
    bad["payload"] = b64(payload.replace(b"0.001", b"0.002"))
    case("envelope-bad-signature", "envelope",
         {"keys.json": keys, "envelope.json": bad},
         errs(("bad_signature", "signatures[0]",
               "the signature by key %s does not verify" % alice.id),
              ("threshold", "signatures")), **reg_voice)
    case("envelope-threshold", "envelope",
         {"keys.json": keys, "envelope.json": envelope(CONFIG_TYPE, payload, [alice, mallory])},
         errs(("key_not_allowed", "signatures[1]"),
              ("threshold", "signatures",
               "2 valid signatures from distinct keys are required for namespace team-a (got 1)")),
         ns="team-a", threshold=2, voice="registry")
    case("envelope-unsigned", "envelope",
         {"keys.json": keys, "envelope.json": envelope(CONFIG_TYPE, payload, [])},
         errs(("threshold", "signatures",
               "1 valid signature from distinct keys is required for namespace team-a (got 0)")),
         **reg_voice)
    lying = {"keys": [dict(key_entry(alice, "alice@team-a", ["team-*"]), keyid=bob.id)]}
    case("envelope-list-entry-with-wrong-id", "envelope",
         {"keys.json": lying, "envelope.json": envelope(CONFIG_TYPE, payload, [bob])},
         errs(("unknown_key", "signatures[0]"), ("threshold", "signatures")), **reg_voice)

    # ---- config: the payload -----------------------------------------------
    case("config-good", "config",
         {"envelope.json": envelope(CONFIG_TYPE, payload, [alice])}, OK)
    pretty = json.dumps(cfg, indent=1).encode()
    case("config-not-canonical", "config",
         {"envelope.json": envelope(CONFIG_TYPE, pretty, [alice])},
         errs(("canonical", "payload", "payload is not RFC 8785 canonical JSON")))
    case("config-wrong-payload-type", "config",
         {"envelope.json": envelope("application/json", payload, [alice])},
         errs(("payload_type", "payloadType",
               'must be "%s" (got "application/json")' % CONFIG_TYPE)))
    broken = dict(cfg, spec=dict(cfg["spec"], betas=[0.9, 1]))
    case("config-invalid", "config",
         {"envelope.json": envelope(CONFIG_TYPE, canonical(broken), [alice])},
         errs(("exclusive_maximum", "spec.betas[1]", "must be less than 1 (got 1)")))

    # ---- receipts ------------------------------------------------------------
    events = [canonical({"action": "test", "index": i}) for i in range(5)]
    leaves = [leaf_hash(e) for e in events]
    env_json = envelope(CONFIG_TYPE, payload, [alice])
    env_sha = hashlib.sha256(canonical(env_json)).hexdigest()

    def receipt_payload(index=4, leaf=True, **over):
        p = {"namespace": "team-a", "name": "bert", "version": 1, "digest": digest,
             "envelope_sha256": env_sha, "signer_keyids": [alice.id],
             "audit_index": index, "audit_tree_size": index + 1,
             "audit_root": b64(mth(leaves[:index + 1])),
             "audit_inclusion": [b64(h) for h in path(index, leaves[:index + 1])],
             "time": "2026-11-20T10:00:00.000Z"}
        if leaf:
            p["audit_leaf"] = b64(leaves[index])
        p.update(over)
        return p

    def receipt(p, key=reg, ptype=RECEIPT_TYPE):
        return envelope(ptype, canonical(p), [key])

    rc = dict(pinned=True)
    case("receipt-good", "receipt",
         {"receipt.json": receipt(receipt_payload()), "registry_keys.json": reg_keys},
         dict(OK, inclusion="verified", keyid=reg.id), **rc)
    case("receipt-good-first-event", "receipt",
         {"receipt.json": receipt(receipt_payload(index=0)), "registry_keys.json": reg_keys},
         dict(OK, inclusion="verified", keyid=reg.id), **rc)
    case("receipt-without-leaf", "receipt",
         {"receipt.json": receipt(receipt_payload(leaf=False)), "registry_keys.json": reg_keys},
         dict(OK, inclusion="not_carried", keyid=reg.id), **rc)
    case("receipt-bad-signature", "receipt",
         {"receipt.json": receipt(receipt_payload(), key=other_reg),
          "registry_keys.json": reg_keys},
         errs(("receipt", "receipt.signatures",
               "expected a valid signature by the pinned registry key %s, got %s "
               "(not a trusted registry key)" % (reg.id, other_reg.id))), **rc)
    case("receipt-leaf-tampered", "receipt",
         {"receipt.json": receipt(receipt_payload(audit_leaf=b64(leaves[3]))),
          "registry_keys.json": reg_keys},
         errs(("receipt", "receipt.audit_inclusion")), **rc)
    tampered = receipt_payload()
    tampered["audit_inclusion"][0] = b64(leaves[0])
    case("receipt-proof-tampered", "receipt",
         {"receipt.json": receipt(tampered), "registry_keys.json": reg_keys},
         errs(("receipt", "receipt.audit_inclusion")), **rc)
    case("receipt-root-tampered", "receipt",
         {"receipt.json": receipt(receipt_payload(audit_root=b64(mth(leaves[:4])))),
          "registry_keys.json": reg_keys},
         errs(("receipt", "receipt.audit_inclusion")), **rc)
    case("receipt-leaf-malformed", "receipt",
         {"receipt.json": receipt(receipt_payload(audit_leaf="AAAA")),
          "registry_keys.json": reg_keys},
         errs(("receipt", "receipt.audit_leaf")), **rc)
    case("receipt-wrong-payload-type", "receipt",
         {"receipt.json": receipt(receipt_payload(), ptype=CONFIG_TYPE),
          "registry_keys.json": reg_keys},
         errs(("receipt", "receipt.payloadType")), **rc)
    case("receipt-missing", "receipt",
         {"receipt.json": None, "registry_keys.json": reg_keys},
         errs(("receipt", "receipt",
               "expected a receipt signed by the registry, got null")), **rc)

    # ---- versions: fetch --verify ----------------------------------------------
    def doc(**over):
        d = {"namespace": "team-a", "name": "bert", "version": 1, "digest": digest,
             "created_at": "2026-11-20T10:00:00.000Z", "config": cfg,
             "envelope": env_json, "receipt": receipt(receipt_payload())}
        d.update(over)
        return d

    vk = {"keys.json": keys, "registry_keys.json": reg_keys}
    case("version-good", "version", dict(vk, **{"doc.json": doc()}),
         dict(OK, signers="%s (alice@team-a)" % alice.id, keyid=reg.id,
              inclusion="verified"), pinned=True)
    case("version-digest-asked-for", "version", dict(vk, **{"doc.json": doc()}),
         errs(("digest", "digest")), pinned=True, want_digest="sha256:" + "0" * 64)
    other = "sha256:" + "1" * 64
    case("version-digest-mismatch", "version", dict(vk, **{"doc.json": doc(digest=other)}),
         errs(("digest", "digest")), pinned=True)
    cfg2 = dict(cfg, spec=dict(cfg["spec"], lr=0.002))
    case("version-config-not-signed", "version",
         dict(vk, **{"doc.json": doc(config=cfg2)}),
         errs(("digest", "digest"), ("envelope", "envelope.payload"),
              ("receipt", "receipt.digest")), pinned=True)
    case("version-receipt-names-another", "version",
         dict(vk, **{"doc.json": doc(receipt=receipt(receipt_payload(version=2)))}),
         errs(("receipt", "receipt.version", "expected 1, got 2")), pinned=True)
    case("version-signer-revoked-before", "version",
         dict(vk, **{"doc.json": doc(envelope=envelope(CONFIG_TYPE, payload, [carol]),
                                     receipt=receipt(receipt_payload(
                                         envelope_sha256=hashlib.sha256(canonical(
                                             envelope(CONFIG_TYPE, payload, [carol]))).hexdigest(),
                                         time="2026-12-01T00:00:00.000Z")))}),
         errs(("signature", "envelope.signatures[0]"),
              ("signature", "envelope.signatures")), pinned=True)
    case("version-receipt-leaf-tampered", "version",
         dict(vk, **{"doc.json": doc(receipt=receipt(receipt_payload(
             audit_leaf=b64(leaves[2]))))}),
         errs(("receipt", "receipt.audit_inclusion")), pinned=True)

    # ---- verdicts --------------------------------------------------------------
    sd = "sha256:" + "2" * 64
    verdict = {"job_id": 7, "config_digest": digest, "suite": "ref-v1",
               "suite_digest": sd, "result": "pass", "findings": []}
    want = {"job_id": 7, "config_digest": digest, "suite": "ref-v1"}
    case("verdict-good", "verdict", {"payload.json": verdict}, OK,
         voice="registry", expect=want)
    case("verdict-mismatch", "verdict",
         {"payload.json": dict(verdict, job_id=8, config_digest=other, suite="x",
                               suite_digest="md5:x", result="maybe")},
         errs(("mismatch", "job_id", "must be 7, the job posted to"),
              ("mismatch", "config_digest", "must be %s" % digest),
              ("mismatch", "suite", 'must be "ref-v1"'),
              ("type", "suite_digest", "must be a sha256: digest"),
              ("enum", "result", "must be one of pass, warn, fail, error")),
         voice="registry", expect=want)
    listed = dict(want, suite_digest=sd, result="pass")
    case("verdict-good-client", "verdict", {"payload.json": verdict}, OK,
         voice="client", prefix="verdicts[0]", expect=listed)
    case("verdict-mismatch-client", "verdict",
         {"payload.json": dict(verdict, job_id=8, config_digest=other, result="fail")},
         errs(("verdict", "verdicts[0]",
               "payload.config_digest: expected %s (the version's digest), got %s"
               % (digest, other)),
              ("verdict", "verdicts[0]", "payload.job_id: expected 7, got another job"),
              ("verdict", "verdicts[0]",
               "payload.result: expected pass (as listed), got fail")),
         voice="client", prefix="verdicts[0]", expect=listed)

    # ---- checkpoints -------------------------------------------------------------
    origin = "registry.example/optreg"
    body = "%s\n5\n%s\n" % (origin, b64(mth(leaves)))

    def note(text, key, name=origin):
        khash = hashlib.sha256(name.encode() + b"\n\x01" + key.raw).digest()[:4]
        sig = key.sign(text.encode())
        return "%s\n\u2014 %s %s\n" % (text, name, b64(khash + sig))

    case("checkpoint-good", "checkpoint",
         {"note.txt": note(body, reg), "registry_keys.json": reg_keys},
         dict(OK, size=5, origin=origin, keyid=reg.id))
    case("checkpoint-other-key", "checkpoint",
         {"note.txt": note(body, other_reg), "registry_keys.json": reg_keys},
         errs(("unknown_key", "")))
    good = note(body, reg)
    case("checkpoint-bad-signature", "checkpoint",
         {"note.txt": good.replace("\n5\n", "\n6\n"), "registry_keys.json": reg_keys},
         errs(("bad_signature", "")))
    case("checkpoint-not-a-note", "checkpoint",
         {"note.txt": body, "registry_keys.json": reg_keys},
         errs(("note_format", "")))
    shutil.rmtree(TMP)


if __name__ == "__main__":
    if not os.path.exists("bin/optreg"):
        sys.exit("generate.py: run from the repository root after `make`")
    main()
