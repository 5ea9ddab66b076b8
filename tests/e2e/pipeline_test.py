#!/usr/bin/python3
"""tests/e2e/pipeline_test.py: what a training pipeline does with optreg,
end to end: `optreg pin` writes a lock file, `optreg fetch --lock` fetches
and verifies the version it names, the local cache serves it while the
registry is unavailable (a dead port, a 503, a stopped server) and never
when the registry said no (4xx) or for a tag; a tampered cache entry is
refused and removed. Also the pipeline formats (torch, env, configmap) and
`optreg receipt verify`.

Runs the real $BIN/optreg against a real optreg-server over a private
PostgreSQL cluster (tests/e2e/harness.py), plus a small fake registry on
loopback for the answers a real one should not give (503, 404).

usage: tests/e2e/pipeline_test.py     (from the repository root)
env:   BIN   folder with optreg and optreg-server (default "bin")

Prints TAP and exits 1 when any test fails.
"""

import base64
import hashlib
import http.server
import json
import os
import shlex
import socket
import stat
import subprocess
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import CLI_BIN, Registry, Signer, Tap, run_suite, eq, expect, pem_der  # noqa: E402

import yaml  # noqa: E402  (python3-yaml)

NS = "team-ml"
NAME = "trainer"
REF = NS + "/" + NAME
# A description and labels a hostile submitter could write: quotes,
# command substitutions, a newline, a backslash, non-ASCII and a C1
# control character. The env and configmap formats must carry them as
# text and run nothing.
HOSTILE = "it's $(touch PWNED1) `touch PWNED2` \"q\" \\ ;touch PWNED3\n' ; touch PWNED4 ; '\u00e9\u0085\U0001F600"

tap = Tap()


class World:
    pass


W = World()


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

    def describe(self):
        return "$ %s%s\n  exit: %d\n  stdout: %r\n  stderr: %r" % (
            self.note, " ".join(shlex.quote(a) for a in self.argv), self.rc,
            self.out[:2000], self.err[:3000])


def optreg(*args, url=None, token="sub", env=None, keep_url=True):
    """$BIN/optreg ARGS with OPTREG_URL (server A or `url`; none when
    keep_url is False), OPTREG_TOKEN, OPTREG_CACHE_DIR (the test's cache)
    and no other OPTREG_ variable but those in `env`."""
    e = dict((k, v) for k, v in os.environ.items() if not k.startswith("OPTREG_"))
    note = ""
    if keep_url:
        e["OPTREG_URL"] = url or W.srv.base
        note += "OPTREG_URL=%s " % e["OPTREG_URL"]
    if token:
        e["OPTREG_TOKEN"] = getattr(W, token)
        note += "OPTREG_TOKEN=<%s> " % token
    e["OPTREG_CACHE_DIR"] = W.cache
    for k, v in (env or {}).items():
        e[k] = v
        note += "%s=%s " % (k, v)
    argv = [CLI_BIN] + [str(a) for a in args]
    p = subprocess.run(argv, env=e, cwd=W.dir, timeout=60,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return Result(argv, note, p)


def has(res, needle, stream="err"):
    text = res.etext if stream == "err" else res.text
    assert needle in text, "std%s lacks %r:\n%s" % (stream, needle, res.describe())


def lacks(res, needle, stream="err"):
    text = res.etext if stream == "err" else res.text
    assert needle not in text, "std%s has %r:\n%s" % (stream, needle, res.describe())


def dead_url():
    """A loopback URL where nothing listens."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return "http://127.0.0.1:%d" % port


class Fake:
    """A registry that answers every request with one status."""

    def __init__(self, status):
        outer = self

        class H(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                outer.hits += 1
                body = json.dumps({"code": "unavailable" if status >= 500 else "not_found",
                                   "detail": "fake answer %d" % status}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/problem+json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a):
                pass

        self.hits = 0
        self.httpd = http.server.HTTPServer(("127.0.0.1", 0), H)
        self.url = "http://127.0.0.1:%d" % self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def config_doc(lr, description=None):
    """A config as JSON text (JSON escapes carry any character)."""
    meta = {"namespace": NS, "name": NAME}
    if description is not None:
        meta["description"] = description
        meta["labels"] = {"owner": "ml-team"}
    return json.dumps({
        "apiVersion": "optreg/v1", "kind": "OptimizerConfig", "metadata": meta,
        "spec": {"optimizer": "adamw", "lr": lr, "betas": [0.9, 0.999], "eps": 1e-8,
                 "weight_decay": 0.01, "grad_clip_norm": 1.0,
                 "schedule": {"kind": "cosine", "warmup_steps": 10, "total_steps": 100,
                              "min_lr": 1e-6},
                 "param_groups": [{"match": "(bias|norm)", "weight_decay": 0.0}]}})


def write(name, text):
    path = os.path.join(W.dir, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def canonical(path):
    p = subprocess.run([CLI_BIN, "canonicalize", path], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=30)
    assert p.returncode == 0, p.stderr
    return p.stdout, "sha256:" + hashlib.sha256(p.stdout).hexdigest()


def cache_file(digest, ext=".json"):
    return os.path.join(W.cache, "sha256", digest[len("sha256:"):] + ext)


def setup():
    W.reg = Registry().start()
    W.dir = os.path.join(W.reg.tmp, "pipeline")
    os.makedirs(W.dir)
    W.cache = os.path.join(W.dir, "cache")
    W.admin, _ = W.reg.token("admin@ops", "admin", "*")
    W.sub, _ = W.reg.token("ci@teams", "submitter", "team-*")
    W.srv = W.reg.server(name="A")
    with open(W.reg.registry_pub) as f:
        W.rk_pem = f.read()
    W.rk_id = hashlib.sha256(pem_der(W.rk_pem)).hexdigest()
    key = os.path.join(W.dir, "alice")
    expect(optreg("keygen", "--out", key, token=None), 0, "keygen")
    W.key = key + ".pem"
    expect(optreg("key", "register", key + ".pub.pem", "--principal", "alice@ml",
                  "--namespace", NS, token="admin"), 0, "key register")
    W.f1 = write("v1.json", config_doc(3e-4))
    W.c1, W.d1 = canonical(W.f1)
    W.f2 = write("v2.json", config_doc(1e-3, HOSTILE))
    W.c2, W.d2 = canonical(W.f2)
    for f in (W.f1, W.f2):
        expect(optreg("submit", f, "--key", W.key), 0, "submit " + f)
    expect(optreg("tag", REF + "@1", "prod"), 0, "tag prod")
    W.lock = os.path.join(W.dir, "optimizer.lock")


# ---------------------------------------------------------------- pin

def t_pin():
    r = expect(optreg("pin", REF + "@prod", "-o", W.lock,
                      "--registry-key", W.reg.registry_pub), 0)
    eq(r.out, b"", "stdout with -o")
    eq(r.etext.splitlines()[-1], "pinned %s@prod -> %s@1 (%s)" % (REF, REF, W.d1),
       "last stderr line")
    has(r, "verified: signed by ")
    with open(W.lock) as f:
        text = f.read()
    lock = json.loads(text)
    eq(list(lock), ["optreg_lock", "ref", "namespace", "name", "version", "digest",
                    "registry", "registry_keyid", "registry_key", "pinned_at"], "keys in order")
    eq((lock["optreg_lock"], lock["ref"], lock["namespace"], lock["name"], lock["version"],
        lock["digest"], lock["registry"], lock["registry_keyid"], lock["registry_key"]),
       (1, REF + "@prod", NS, NAME, 1, W.d1, W.srv.base, W.rk_id, W.rk_pem), "lock fields")
    assert text.endswith("}\n") and text.count("\n") == 12, "one key a line: %r" % text
    assert lock["pinned_at"].endswith("Z") and lock["pinned_at"][:4].isdigit(), lock


def t_pin_stdout_latest():
    """pin without -o prints the lock; ns/name with no @ pins the latest."""
    r = expect(optreg("pin", REF, "--registry-key", W.reg.registry_pub), 0)
    lock = json.loads(r.out)
    eq((lock["ref"], lock["version"], lock["digest"]), (REF, 2, W.d2), "latest")


def t_pin_refuses_wrong_key():
    other = Signer(W.dir, "other")
    pub = os.path.join(W.dir, "other.pub.pem")
    r = expect(optreg("pin", REF + "@1", "-o", os.path.join(W.dir, "bad.lock"),
                      "--registry-key", pub), 1)
    has(r, "failed verification")
    assert not os.path.exists(os.path.join(W.dir, "bad.lock")), "a lock was written"
    del other


# ---------------------------------------------------------------- fetch --lock

def t_fetch_lock_online():
    r = expect(optreg("fetch", "--lock", W.lock), 0)
    eq(r.out, W.c1, "stdout: the canonical bytes")
    has(r, "verified: signed by ")
    has(r, "receipt by registry key %s" % W.rk_id)
    lacks(r, "cached copy")
    mode = stat.S_IMODE(os.stat(cache_file(W.d1)).st_mode)
    eq(mode, 0o600, "cache file mode")
    eq(stat.S_IMODE(os.stat(os.path.join(W.cache, "sha256")).st_mode), 0o700, "cache dir mode")
    assert os.path.exists(cache_file(W.d1, ".keys.json")), "no signer keys cached"
    with open(os.path.join(W.cache, "refs", NS, NAME, "1")) as f:
        eq(f.read(), W.d1 + "\n", "ref file")


def t_fetch_lock_offline():
    url = dead_url()
    r = expect(optreg("fetch", "--lock", W.lock, "--url", url), 0)
    eq(r.out, W.c1, "stdout from the cache")
    has(r, "optreg fetch: registry unavailable (")
    has(r, "); using the cached copy of %s@1 (%s), cached " % (REF, W.d1))
    has(r, "verified: signed by ")


def t_fetch_lock_503():
    fake = Fake(503)
    try:
        r = expect(optreg("fetch", "--lock", W.lock, "--url", fake.url), 0)
    finally:
        fake.close()
    eq(r.out, W.c1, "stdout from the cache")
    has(r, "registry unavailable (HTTP 503 Service Unavailable); using the cached copy")
    assert fake.hits >= 1, "the fake registry was not asked"


def t_4xx_never_falls_back():
    for status, rc in ((404, 8), (401, 6), (403, 4)):
        fake = Fake(status)
        try:
            for args in (["--lock", W.lock], [REF + "@1"], [W.d1]):
                r = expect(optreg("fetch", *args, "--url", fake.url), rc, "HTTP %d" % status)
                eq(r.out, b"", "stdout")
                lacks(r, "cached copy")
        finally:
            fake.close()


def t_version_and_digest_from_cache():
    url = dead_url()
    r = expect(optreg("fetch", REF + "@1", "--url", url), 0)
    eq(r.out, W.c1, "version from the cache")
    has(r, "using the cached copy of %s@1 (%s)" % (REF, W.d1))
    r = expect(optreg("fetch", W.d1, "--url", url, "--format", "yaml"), 0)
    has(r, "using the cached copy of %s@1 (%s)" % (REF, W.d1))
    assert r.text.startswith("apiVersion: optreg/v1\n"), r.describe()


def t_verify_offline():
    """--verify without a lock: from the cache with a pinned key, else
    refused (offline there is no registry key list to trust)."""
    url = dead_url()
    r = expect(optreg("fetch", REF + "@1", "--verify", "--registry-key", W.reg.registry_pub,
                      "--url", url), 0)
    eq(r.out, W.c1, "stdout")
    has(r, "using the cached copy of %s@1" % REF)
    has(r, "verified: signed by ")
    r = expect(optreg("fetch", REF + "@1", "--verify", "--url", url), 7)
    eq(r.out, b"", "stdout")
    has(r, "cannot be verified offline without a pinned registry key")
    # An entry cached by a fetch that did not verify it: its signer keys
    # are not known offline.
    fresh = {"OPTREG_CACHE_DIR": os.path.join(W.dir, "cache-unverified")}
    expect(optreg("fetch", REF + "@2", env=fresh), 0, "cache @2 unverified")
    assert not os.path.exists(os.path.join(fresh["OPTREG_CACHE_DIR"], "sha256",
                                           W.d2[7:] + ".keys.json")), "keys cached"
    r = expect(optreg("fetch", REF + "@2", "--verify", "--registry-key", W.reg.registry_pub,
                      "--url", url, env=fresh), 7)
    eq(r.out, b"", "stdout")
    has(r, "cannot be verified offline: it was cached by a fetch that did not verify it")
    expect(optreg("fetch", REF + "@2", "--url", url, env=fresh), 0, "unverified fetch from it")


def t_pin_digest():
    r = expect(optreg("pin", W.d1, "--registry-key", W.reg.registry_pub), 0)
    lock = json.loads(r.out)
    eq((lock["ref"], lock["version"], lock["digest"]), (W.d1, 1, W.d1), "pinned by digest")


def t_tag_never_from_cache():
    r = expect(optreg("fetch", REF + "@prod", "--url", dead_url()), 7)
    eq(r.out, b"", "stdout")
    lacks(r, "cached copy")
    r = expect(optreg("fetch", REF, "--url", dead_url()), 7)
    eq(r.out, b"", "stdout (no @: the latest, which can move)")


def t_no_cache():
    r = expect(optreg("fetch", "--lock", W.lock, "--url", dead_url(), "--no-cache"), 7)
    eq(r.out, b"", "stdout")
    lacks(r, "cached copy")


def t_tampered_cache_refused():
    path = cache_file(W.d1)
    with open(path) as f:
        doc = json.load(f)
    doc["config"]["spec"]["lr"] = 0.5
    with open(path, "w") as f:
        json.dump(doc, f)
    named = "%s@1 (%s)" % (REF, W.d1)
    # A digest reference names the entry once, not twice.
    for args, shown in ((["--lock", W.lock], named), ([REF + "@1"], named),
                        ([W.d1], W.d1)):
        if not os.path.exists(path):
            expect(optreg("fetch", "--lock", W.lock), 0, "refill")
            with open(path, "w") as f:
                json.dump(doc, f)
        r = expect(optreg("fetch", *args, "--url", dead_url()), 1, " ".join(args))
        eq(r.out, b"", "stdout")
        has(r, "the cached copy of %s fails its checks (its config's digest is " % shown)
        has(r, "removed it from the cache, printed nothing")
        assert not os.path.exists(path), "the tampered entry is still there"
    # The registry is back: the next fetch refills the cache.
    expect(optreg("fetch", "--lock", W.lock), 0, "refill")
    assert os.path.exists(path), "not cached again"


def t_tampered_signature_refused():
    """The config is intact but the envelope's signature is not: --lock
    verifies the cached copy before serving it."""
    path = cache_file(W.d1)
    with open(path) as f:
        doc = json.load(f)
    sig = bytearray(base64.b64decode(doc["envelope"]["signatures"][0]["sig"]))
    sig[0] ^= 1
    doc["envelope"]["signatures"][0]["sig"] = base64.b64encode(bytes(sig)).decode()
    with open(path, "w") as f:
        json.dump(doc, f)
    r = expect(optreg("fetch", "--lock", W.lock, "--url", dead_url()), 1)
    eq(r.out, b"", "stdout")
    has(r, "failed verification")
    has(r, "fails its checks (it failed verification); removed it from the cache")
    assert not os.path.exists(path), "the entry is still there"
    expect(optreg("fetch", "--lock", W.lock), 0, "refill")


def t_linked_cache_folder_refused():
    """The cache's sha256 folder replaced by a symbolic link (to a folder
    holding a good copy): not read through; the message says the entry
    could not be removed rather than claiming it was."""
    sha = os.path.join(W.cache, "sha256")
    moved = os.path.join(W.dir, "sha256-elsewhere")
    os.rename(sha, moved)
    os.symlink(moved, sha)
    try:
        r = expect(optreg("fetch", "--lock", W.lock, "--url", dead_url()), 1)
        eq(r.out, b"", "stdout")
        has(r, "sha256 is not a folder); could not remove it from the cache "
               "(remove it by hand), printed nothing")
    finally:
        os.unlink(sha)
        os.rename(moved, sha)
    expect(optreg("fetch", "--lock", W.lock, "--url", dead_url()), 0, "the real folder")


def t_lock_errors():
    with open(W.lock) as f:
        lock = json.load(f)
    cases = [
        (dict(lock, extra=1), 2, 'unknown field "extra"'),
        (dict(lock, optreg_lock=2), 2, '"optreg_lock": expected 1'),
        (dict((k, v) for k, v in lock.items() if k != "digest"), 2, '"digest": expected a string'),
        (dict(lock, registry_keyid="0" * 64), 2, 'its key id is %s, not registry_keyid' % W.rk_id),
        (dict(lock, digest=W.d2), 1, "failed verification"),
    ]
    for i, (doc, rc, needle) in enumerate(cases):
        path = write("bad%d.lock" % i, json.dumps(doc))
        r = expect(optreg("fetch", "--lock", path), rc, needle)
        eq(r.out, b"", "stdout")
        has(r, needle)
    r = expect(optreg("fetch", REF + "@1", "--lock", W.lock), 2)
    has(r, "give either REF or --lock FILE")


def t_lock_with_other_pinned_key():
    Signer(W.dir, "other2")
    r = expect(optreg("fetch", "--lock", W.lock,
                      env={"OPTREG_REGISTRY_PUBKEY": os.path.join(W.dir, "other2.pub.pem")}), 1)
    has(r, "is not one of the pinned registry keys")
    expect(optreg("fetch", "--lock", W.lock,
                  env={"OPTREG_REGISTRY_PUBKEY": W.reg.registry_pub}), 0, "the same key")


# ---------------------------------------------------------------- formats

def t_format_torch():
    r = expect(optreg("fetch", REF + "@1", "--format", "torch"), 0)
    j = json.loads(r.out)
    eq(j["optimizer"], "AdamW", "optimizer")
    eq(j["kwargs"], {"lr": 3e-4, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.01,
                     "amsgrad": False, "maximize": False}, "kwargs")
    eq(j["param_groups"], [{"match": "(bias|norm)", "weight_decay": 0.0}], "param_groups")
    eq(j["grad_clip_norm"], 1.0, "grad_clip_norm")
    eq({k: v for k, v in j["schedule"].items() if k != "formula"},
       {"kind": "cosine", "warmup_steps": 10, "total_steps": 100, "min_lr": 1e-6}, "schedule")
    assert "cos(pi * p)" in j["schedule"]["formula"], j["schedule"]
    eq((j["digest"], j["ref"]), (W.d1, REF + "@1"), "digest, ref")


def t_format_env_is_shell_safe():
    r = expect(optreg("fetch", REF + "@2", "--format", "env"), 0)
    path = write("v2.env", r.text)
    assert r.text.startswith("OPTREG_REF='%s@2'\n" % REF), r.describe()
    out = os.path.join(W.dir, "env.out")
    script = ('. "$1" && printf "%%s\\0" "$OPTREG_DESCRIPTION" "$OPTREG_DIGEST" "$OPTREG_VERSION" '
              '"$OPTREG_LR" "$OPTREG_OPTIMIZER" "$OPTREG_CONFIG_JSON" "$OPTREG_SCHEDULE" '
              '"$OPTREG_TOTAL_STEPS" "$OPTREG_PARAM_GROUPS" > "%s"' % out)
    for shell in ("sh", "bash"):
        p = subprocess.run([shell, "-c", script, "sh", path], cwd=W.dir,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
        eq(p.returncode, 0, "%s sourcing: %r" % (shell, p.stderr))
        with open(out, "rb") as f:
            vals = f.read().split(b"\0")[:-1]
        eq(vals, [HOSTILE.encode(), W.d2.encode(), b"2", b"0.001", b"adamw", W.c2, b"cosine",
                  b"100", b'[{"match":"(bias|norm)","weight_decay":0}]'], shell + " values")
    # eval of the command's output, as a script would do it
    p = subprocess.run(["sh", "-c", 'eval "$(cat "$1")"; printf "%s" "$OPTREG_DESCRIPTION"',
                        "sh", path], cwd=W.dir, stdout=subprocess.PIPE, timeout=30)
    eq(p.stdout, HOSTILE.encode(), "eval")
    for n in range(1, 5):
        assert not os.path.exists(os.path.join(W.dir, "PWNED%d" % n)), "code ran (PWNED%d)" % n


def t_format_configmap():
    r = expect(optreg("fetch", REF + "@2", "--format", "configmap"), 0)
    assert r.out.isascii(), "configmap is not ASCII"
    cm = yaml.safe_load(r.out)
    eq((cm["apiVersion"], cm["kind"], cm["metadata"]["name"]),
       ("v1", "ConfigMap", "optreg-team-ml-trainer"), "header")
    eq(cm["data"]["optimizer.json"].encode(), W.c2, "optimizer.json")
    a = cm["metadata"]["annotations"]
    eq((a["optreg.dev/digest"], a["optreg.dev/version"], a["optreg.dev/ref"]),
       (W.d2, "2", REF + "@2"), "annotations")
    receipt = json.loads(a["optreg.dev/receipt"])
    doc = json.loads(expect(optreg("fetch", REF + "@2", "--json"), 0).out)
    eq(receipt, doc["receipt"], "the receipt annotation")
    # The project's own YAML loader reads it too (as any document).
    path = write("cm.yaml", r.text)
    p = subprocess.run([CLI_BIN, "canonicalize", path], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=30)
    eq(p.returncode, 0, "optreg canonicalize of the configmap: %r" % p.stderr)
    eq(json.loads(p.stdout)["data"]["optimizer.json"].encode(), W.c2, "own loader")
    # A digest reference carries the version and receipt as well.
    r = expect(optreg("fetch", W.d2, "--format", "configmap"), 0)
    a = yaml.safe_load(r.out)["metadata"]["annotations"]
    eq((a["optreg.dev/version"], a["optreg.dev/ref"]), ("2", W.d2), "by digest")


def t_format_errors():
    r = expect(optreg("fetch", REF + "@1", "--format", "xml"), 2)
    has(r, "--format must be json, yaml, torch, env or configmap (got \"xml\")")
    r = expect(optreg("fetch", REF + "@1", "--format", "env", "--json"), 2)
    has(r, "--json and --format env exclude each other")


def t_fetch_latest():
    r = expect(optreg("fetch", REF, "--format", "torch"), 0)
    eq(json.loads(r.out)["ref"], REF + "@2", "ns/name means the latest version")


def t_pin_yanked_tag():
    """A tag at a yanked version is refused by pin as fetch refuses it
    (exit 5, no lock); --allow-yanked pins it with a warning; by version
    number it is pinned with a warning."""
    expect(optreg("tag", REF + "@2", "canary"), 0, "tag canary")
    expect(optreg("yank", REF + "@2", "--reason", "diverges", token="admin"), 0, "yank 2")
    out = os.path.join(W.dir, "yanked.lock")
    r = expect(optreg("pin", REF + "@canary", "-o", out,
                      "--registry-key", W.reg.registry_pub), 5)
    has(r, "%s@canary points at %s@2, which is yanked: diverges; no lock written"
        % (REF, REF))
    has(r, "--allow-yanked")
    assert not os.path.exists(out), "a lock was written"
    expect(optreg("fetch", REF + "@canary"), 5, "fetch refuses it alike")
    r = expect(optreg("pin", REF + "@canary", "-o", out, "--allow-yanked",
                      "--registry-key", W.reg.registry_pub), 0)
    has(r, "warning: %s@2 is yanked" % REF)
    with open(out) as f:
        eq(json.load(f)["version"], 2, "pinned with --allow-yanked")
    r = expect(optreg("pin", REF + "@2", "--registry-key", W.reg.registry_pub), 0)
    has(r, "warning: %s@2 is yanked" % REF)


# ---------------------------------------------------------------- receipt verify

def t_receipt_verify():
    doc = json.loads(expect(optreg("fetch", REF + "@1", "--json"), 0).out)
    W.vdoc = write("v1.version.json", json.dumps(doc))
    r = expect(optreg("receipt", "verify", W.vdoc, "--registry-key", W.reg.registry_pub), 0)
    p = json.loads(base64.b64decode(doc["receipt"]["payload"]))
    eq(r.text, "receipt verified: %s@1 %s\n"
               "  signed by registry key %s, accepted %s\n"
               "  audit log: leaf %d of a tree of %d, root %s (inclusion proof verified)\n"
       % (REF, W.d1, W.rk_id, p["time"], p["audit_index"], p["audit_tree_size"],
          p["audit_root"]), "stdout")
    W.receipt = write("receipt.json", json.dumps(doc["receipt"]))
    r = expect(optreg("receipt", "verify", W.receipt, "--config", W.f1,
                      env={"OPTREG_REGISTRY_PUBKEY": W.reg.registry_pub}), 0)
    has(r, "  config %s: digest matches\n" % W.f1, "out")
    r = expect(optreg("receipt", "verify", W.receipt, "--config", W.f2,
                      "--registry-key", W.reg.registry_pub), 1)
    has(r, "--config %s has digest %s, the receipt names %s" % (W.f2, W.d2, W.d1))
    # A --config that cannot be read is an I/O error (3), as documented,
    # not a receipt that fails (1).
    r = expect(optreg("receipt", "verify", W.receipt, "--config",
                      os.path.join(W.dir, "no-such-config.yaml"),
                      "--registry-key", W.reg.registry_pub), 3)
    has(r, "no-such-config.yaml")


def t_receipt_verify_tampered():
    with open(W.vdoc) as f:
        doc = json.load(f)
    # Another payload under the old signature.
    p = json.loads(base64.b64decode(doc["receipt"]["payload"]))
    p["version"] = 9
    bad = dict(doc["receipt"], payload=base64.b64encode(json.dumps(p).encode()).decode())
    r = expect(optreg("receipt", "verify", write("r1.json", json.dumps(bad)),
                      "--registry-key", W.reg.registry_pub), 1)
    has(r, "the receipt failed verification")
    has(r, "receipt.signatures")
    # Signed by the registry key, but the inclusion proof does not lead to
    # the root it names.
    registry = Signer.from_file(W.reg.registry_pub.replace(".pub.pem", ".pem"))
    p = json.loads(base64.b64decode(doc["receipt"]["payload"]))
    p["audit_root"] = base64.b64encode(hashlib.sha256(b"another root").digest()).decode()
    payload = json.dumps(p).encode()
    forged = {"payloadType": doc["receipt"]["payloadType"],
              "payload": base64.b64encode(payload).decode(),
              "signatures": [registry.signature(doc["receipt"]["payloadType"], payload)]}
    r = expect(optreg("receipt", "verify", write("r2.json", json.dumps(forged)),
                      "--registry-key", W.reg.registry_pub), 1)
    has(r, "receipt.audit_inclusion")
    # The receipt is intact but the document's config is not: what a
    # reader takes from the file is checked against the receipt too.
    changed = json.loads(json.dumps(doc))
    changed["config"]["spec"]["lr"] = 0.5
    r = expect(optreg("receipt", "verify", write("r4.json", json.dumps(changed)),
                      "--registry-key", W.reg.registry_pub), 1)
    has(r, "config: the document's config has digest sha256:")
    has(r, "the receipt names %s" % W.d1)
    # The document names another version than its receipt.
    other = dict(doc, version=2)
    r = expect(optreg("receipt", "verify", write("r3.json", json.dumps(other)),
                      "--registry-key", W.reg.registry_pub), 1)
    has(r, "version: the document says 2")
    # Another key, no key, not a receipt.
    r = expect(optreg("receipt", "verify", W.vdoc, "--registry-key",
                      os.path.join(W.dir, "other.pub.pem")), 1)
    has(r, "receipt.signatures")
    r = expect(optreg("receipt", "verify", W.vdoc), 2)
    has(r, "no registry key to check the receipt with")
    r = expect(optreg("receipt", "verify", W.f1 and write("x.json", "{}"),
                      "--registry-key", W.reg.registry_pub), 2)
    has(r, 'expected a receipt (a DSSE envelope) or a document with a "receipt"')


# ---------------------------------------------------------------- registry stopped

def t_registry_stopped():
    """Last: server A stops; the lock names it as its registry."""
    W.srv.terminate()
    r = expect(optreg("fetch", "--lock", W.lock, "--format", "torch", keep_url=False), 0)
    has(r, "optreg fetch: registry unavailable (")
    has(r, "using the cached copy of %s@1 (%s)" % (REF, W.d1))
    eq(json.loads(r.out)["digest"], W.d1, "torch digest")
    r = expect(optreg("fetch", REF + "@prod", keep_url=False), 7)
    eq(r.out, b"", "a tag while stopped")


def t_help():
    for cmd, want in (("pin", "usage: optreg pin REF"), ("receipt", "usage: optreg receipt verify"),
                      ("fetch", "--format json|yaml|torch|env|configmap")):
        r = expect(optreg(cmd, "--help", token=None), 0, cmd)
        has(r, want, "out")
        eq(r.err, b"", "stderr of %s --help" % cmd)
    r = expect(optreg("receipt", "verify", "--help", token=None), 0)
    has(r, "usage: optreg receipt verify", "out")
    r = expect(optreg("receipt", "check", "x", token=None), 2)
    has(r, 'expected the subcommand verify (got "check")')
    r = expect(optreg("--help", token=None), 0)
    for word in ("pin ", "receipt ", "OPTREG_CACHE_DIR", "OPTREG_NO_CACHE"):
        has(r, word, "out")


TESTS = [
    ("pin, receipt and fetch --help; optreg --help lists them", t_help),
    ("pin ns/name@prod -o FILE: the lock file, keys in order, verified", t_pin),
    ("pin ns/name to stdout: the latest version", t_pin_stdout_latest),
    ("pin with another --registry-key: exit 1, no lock written", t_pin_refuses_wrong_key),
    ("fetch --lock online: canonical bytes, verified, cached 0600/0700", t_fetch_lock_online),
    ("fetch --lock, registry at a dead port: the cached copy, with the note", t_fetch_lock_offline),
    ("fetch --lock, registry answers 503: the cached copy", t_fetch_lock_503),
    ("fetch: 404/401/403 never fall back to the cache", t_4xx_never_falls_back),
    ("fetch ns/name@N and sha256: from the cache while unavailable", t_version_and_digest_from_cache),
    ("fetch --verify offline: with a pinned key, without one, unverified entry", t_verify_offline),
    ("pin sha256:DIGEST", t_pin_digest),
    ("fetch of a tag or of ns/name is never served from the cache", t_tag_never_from_cache),
    ("fetch --no-cache while unavailable: exit 7", t_no_cache),
    ("a tampered cache entry is refused (exit 1), removed, refilled later", t_tampered_cache_refused),
    ("a cache entry with a bad signature is refused and removed (--lock)", t_tampered_signature_refused),
    ("the cache's sha256 folder as a symbolic link is not read through", t_linked_cache_folder_refused),
    ("bad lock files: unknown field, optreg_lock, missing field, key id, digest", t_lock_errors),
    ("fetch --lock with OPTREG_REGISTRY_PUBKEY that lacks the lock's key: exit 1", t_lock_with_other_pinned_key),
    ("fetch --format torch", t_format_torch),
    ("fetch --format env: sourced by sh and bash, hostile values run nothing", t_format_env_is_shell_safe),
    ("fetch --format configmap: python3-yaml and optreg read it back", t_format_configmap),
    ("fetch --format errors", t_format_errors),
    ("fetch ns/name is the latest version", t_fetch_latest),
    ("pin through a tag at a yanked version: exit 5 unless --allow-yanked", t_pin_yanked_tag),
    ("receipt verify: a version document, a receipt, --config", t_receipt_verify),
    ("receipt verify: tampered payload, bad inclusion proof, wrong key, no key", t_receipt_verify_tampered),
    ("registry stopped: fetch --lock serves the cache, a tag fails", t_registry_stopped),
]


def main():
    return run_suite(tap, W, setup, TESTS,
                     "cluster, migrations, tokens, server, submits")


if __name__ == "__main__":
    sys.exit(main())
