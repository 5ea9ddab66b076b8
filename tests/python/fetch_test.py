#!/usr/bin/python3
"""tests/python/fetch_test.py: optreg.fetch against a real registry
(tests/e2e/harness.py: optreg-server over a private PostgreSQL), through
the CLI and over REST; lock files; examples/pytorch/train.py; and
`pip install ./python`.

What fetch returns is the config document the registry holds: the same
canonical bytes as `optreg canonicalize` of the submitted file. A registry
that answers content not matching its digest (a fake one, in-process) gets
an OptregError, never a config. The `--lock` path of the CLI is tested when
`optreg fetch --help` offers --lock (else those tests print a TAP SKIP); the
REST path reads locks on its own and is tested always.

usage: tests/python/fetch_test.py  (from the repository root; TAP)
env:   BIN (folder with optreg and optreg-server, default "bin")
"""

import hashlib
import http.server
import json
import os
import shutil
import subprocess
import sys
import threading
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from pytap import HAVE_TORCH, ROOT, Tap  # noqa: E402
from harness import CLI_BIN, Registry, pem_der  # noqa: E402

import optreg  # noqa: E402

tap = Tap()
NS = "team-nlp"
NAME = "py-mlp"
REF = NS + "/" + NAME
TRAIN = os.path.join(ROOT, "examples", "pytorch", "train.py")

CONFIG = """apiVersion: optreg/v1
kind: OptimizerConfig
metadata:
  namespace: team-nlp
  name: py-mlp
spec:
  optimizer: adamw
  lr: {lr}
  betas: [0.9, 0.999]
  eps: 1.0e-8
  weight_decay: 0.01
  grad_clip_norm: 1.0
  schedule: {{kind: cosine, warmup_steps: 5, total_steps: 40, min_lr: 1.0e-5}}
  param_groups:
    - match: "(bias|norm)"
      weight_decay: 0.0
"""


class World:
    pass


W = World()


def cli_env(token="reader", url=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPTREG_")}
    env["OPTREG_URL"] = url or W.srv.base
    if token:
        env["OPTREG_TOKEN"] = getattr(W, token)
    env["OPTREG_KEY"] = W.key if hasattr(W, "key") else ""
    env["OPTREG_CACHE_DIR"] = os.path.join(W.dir, "cache")
    return env


def optreg_cli(*args, token="sub", url=None, check=True):
    p = subprocess.run([CLI_BIN] + list(args), env=cli_env(token, url), cwd=W.dir,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    if check and p.returncode != 0:
        raise AssertionError("optreg %s: exit %d\n%s" % (" ".join(args), p.returncode,
                                                          p.stderr.decode()))
    return p


def write(name, text):
    path = os.path.join(W.dir, name)
    with open(path, "w") as f:
        f.write(text)
    return path


class Fake(http.server.BaseHTTPRequestHandler):
    """Answers from Fake.routes {path: (status, headers, body)}; records
    (path, Authorization)."""
    routes = {}
    seen = []

    def log_message(self, *a):
        pass

    def do_GET(self):
        Fake.seen.append((self.path, self.headers.get("Authorization")))
        path = urllib.parse.unquote(self.path.split("?")[0])
        route = Fake.routes.get(path)
        if callable(route):
            route(self)
            return
        status, headers, body = Fake.routes.get(
            path, (404, {"Content-Type": "application/problem+json"},
                   b'{"type":"about:blank","status":404,"code":"not_found","title":"not found"}'))
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def setup():
    W.reg = Registry().start()
    W.dir = os.path.join(W.reg.tmp, "py")
    os.makedirs(W.dir)
    # the CLI's cache, for this process's fetches too: never the user's
    os.environ["OPTREG_CACHE_DIR"] = os.path.join(W.dir, "cache")
    t = W.reg.token
    W.admin, _ = t("admin@ops", "admin")
    W.sub, _ = t("ci@team-nlp", "submitter", NS)
    W.reader, _ = t("reader@team-nlp", "reader", NS)
    W.srv = W.reg.server(name="A")
    keyname = os.path.join(W.dir, "ci")
    optreg_cli("keygen", "--out", keyname, token=None)
    optreg_cli("key", "register", keyname + ".pub.pem", "--principal", "ci@team-nlp",
               "--namespace", NS, token="admin")
    W.key = keyname + ".pem"
    W.files, W.canon, W.digest = [], [], []
    for lr in ("3.0e-3", "1.0e-3"):
        path = write("v%d.yaml" % (len(W.files) + 1), CONFIG.format(lr=lr))
        optreg_cli("submit", path)
        W.files.append(path)
        c = optreg_cli("canonicalize", path, token=None).stdout
        W.canon.append(c)
        W.digest.append("sha256:" + hashlib.sha256(c).hexdigest())
    optreg_cli("tag", REF + "@1", "prod")
    with open(W.reg.registry_pub) as f:
        pub = f.read()
    W.pub = pub
    # The lock, as a pipeline makes it.
    W.lock = os.path.join(W.dir, "optimizer.lock")
    optreg_cli("pin", REF + "@prod", "-o", W.lock, token="reader")
    W.fake = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Fake)
    W.fake_url = "http://127.0.0.1:%d" % W.fake.server_address[1]
    threading.Thread(target=W.fake.serve_forever, daemon=True).start()


def lock_text(version, digest, pub, **extra):
    """A lock file as `optreg pin` writes it (the contract's field order)."""
    d = {"optreg_lock": 1, "ref": REF + "@prod", "namespace": NS, "name": NAME,
         "version": version, "digest": digest, "registry": W.srv.base,
         "registry_keyid": hashlib.sha256(pem_der(pub)).hexdigest(),
         "registry_key": pub, "pinned_at": "2026-12-03T12:00:00Z"}
    d.update(extra)
    return json.dumps(d, indent=2) + "\n"


def both(ref, **kw):
    """fetch(ref) through the CLI and over REST, as the reader."""
    a = optreg.fetch(ref, url=W.srv.base, token=W.reader, cli=CLI_BIN, via="cli", **kw)
    b = optreg.fetch(ref, url=W.srv.base, token=W.reader, via="rest", **kw)
    return a, b


def expect_error(fn, exit_status, code=None, words=None):
    try:
        fn()
    except optreg.OptregError as e:
        assert e.exit_status == exit_status, "exit_status %r, expected %r: %s" % (
            e.exit_status, exit_status, e)
        if code:
            assert e.code == code, "code %r, expected %r: %s" % (e.code, code, e)
        if words:
            assert words in str(e), "%r not in %r" % (words, str(e))
        for tok in (W.reader, W.sub, W.admin):
            assert tok not in str(e), "the error shows a token"
        return e
    raise AssertionError("no OptregError")


# ------------------------------------------------------------------ tests

def t_version():
    for c in both(REF + "@1"):
        assert c.canonical == W.canon[0], "fetched bytes differ from optreg canonicalize"
        assert optreg.canonicalize(c) == W.canon[0]
        assert c.digest == W.digest[0] and c.ref == REF + "@1", (c.digest, c.ref)
        assert c["spec"]["lr"] == 3e-3 and c["spec"]["param_groups"][0]["match"] == "(bias|norm)"


def t_tag():
    for c in both(REF + "@prod"):
        assert c.digest == W.digest[0], c.digest


def t_digest():
    for c in both(W.digest[1]):
        assert c.canonical == W.canon[1] and c.digest == W.digest[1]


def t_latest_rest():
    c = optreg.fetch(REF, url=W.srv.base, token=W.reader, via="rest")
    assert c.digest == W.digest[1] and c.ref == REF + "@2", (c.digest, c.ref)


def t_latest_cli():
    c = optreg.fetch(REF, url=W.srv.base, token=W.reader, cli=CLI_BIN)
    assert c.digest == W.digest[1], c.digest


def t_env():
    saved = dict(os.environ)
    try:
        os.environ["OPTREG_URL"] = W.srv.base
        os.environ["OPTREG_TOKEN"] = W.reader
        a = optreg.fetch(REF + "@2", cli=CLI_BIN)
        b = optreg.fetch(REF + "@2", via="rest")
        assert a == b and a.digest == W.digest[1]
    finally:
        os.environ.clear()
        os.environ.update(saved)


def t_errors():
    for via in ("cli", "rest"):
        f = lambda ref, token=W.reader: optreg.fetch(  # noqa: E731
            ref, url=W.srv.base, token=token, cli=CLI_BIN, via=via)
        expect_error(lambda: f(REF + "@9"), 8, "not_found")
        expect_error(lambda: f("team-nlp/nope@1"), 8, "not_found")
        expect_error(lambda: f(REF + "@1", token="optreg_bogus"), 6, "unauthorized")
        expect_error(lambda: f("not a ref"), 2)
        # a tag: never served from the CLI's cache
        expect_error(lambda: optreg.fetch(REF + "@prod", url="http://127.0.0.1:1", via=via,
                                          cli=CLI_BIN, token=W.reader), 7)
    expect_error(lambda: optreg.fetch(REF + "@1", via="carrier-pigeon"), 2, "usage")
    expect_error(lambda: optreg.fetch(), 2, "usage")
    expect_error(lambda: optreg.fetch(REF + "@1", cli="/nonexistent/optreg"), 3,
                 words="was not found")


def t_cli_process():
    """via="cli": the token reaches the CLI in its environment, never in
    its argv; what the CLI says on stderr reaches sys.stderr; a CLI killed
    by a signal is an OptregError (exit_status 3), not a negative status."""
    import contextlib
    import io
    record = os.path.join(W.dir, "argv.txt")
    wrapper = write("optreg-wrapper", "#!/bin/sh\n"
                    "printf '%%s\\n' \"$@\" > %s\n"
                    "[ \"$OPTREG_TOKEN\" = %s ] || { echo 'no token in env' >&2; exit 9; }\n"
                    "echo 'optreg fetch: a note for the pipeline' >&2\n"
                    "exec %s \"$@\"\n" % (record, W.reader, CLI_BIN))
    os.chmod(wrapper, 0o755)
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        c = optreg.fetch(REF + "@1", url=W.srv.base, token=W.reader, cli=wrapper)
    assert c.digest == W.digest[0]
    with open(record) as f:
        argv = f.read().split("\n")
    assert argv[:4] == ["fetch", REF + "@1", "--format", "json"], argv
    assert W.reader not in "\n".join(argv), "the token is on the CLI's command line"
    assert "optreg fetch: a note for the pipeline" in err.getvalue(), err.getvalue()
    killer = write("optreg-killed", "#!/bin/sh\nkill -9 $$\n")
    os.chmod(killer, 0o755)
    expect_error(lambda: optreg.fetch(REF + "@1", cli=killer), 3, "io",
                 words="killed by signal 9")


def t_tampered():
    """A registry whose config does not match its digest, or whose digest
    content does not hash to the digest asked for."""
    real = json.loads(subprocess.run(
        [CLI_BIN, "fetch", REF + "@1", "--json"], env=cli_env(), stdout=subprocess.PIPE,
        check=True).stdout)
    bad = dict(real)
    bad["config"] = json.loads(W.canon[0])
    bad["config"]["spec"]["lr"] = 0.5
    Fake.routes = {
        "/v1/configs/%s/%s/versions/1" % (NS, NAME):
            (200, {"Content-Type": "application/json"}, json.dumps(bad).encode()),
        "/v1/digests/" + W.digest[0]: (200, {"Content-Type": "application/json"}, W.canon[1]),
        "/v1/configs/%s/%s/versions/2" % (NS, NAME):
            (302, {"Location": W.fake_url + "/followed"}, b""),
    }
    for via in ("cli", "rest"):
        f = lambda ref: optreg.fetch(ref, url=W.fake_url, token=W.reader,  # noqa: E731
                                     cli=CLI_BIN, via=via)
        code = "digest_mismatch" if via == "rest" else None  # the CLI says it in words
        expect_error(lambda: f(REF + "@1"), 1, code, words="digest")
        expect_error(lambda: f(W.digest[0]), 1, code, words="digest")
        expect_error(lambda: f(REF + "@2"), 7)
    seen = [p for p, _ in Fake.seen]
    assert "/v1/configs/%s/%s/versions/2" % (NS, NAME) in seen, seen
    assert "/followed" not in seen, "a redirect was followed: %r" % seen


def t_rest_limits():
    """REST: an answer over MAX_RESPONSE bytes is refused without reading
    it all; a registry that drips its answer is cut off near the timeout
    (a per-read socket timeout alone never fires); a URL with a
    user:password@ part is refused (cli, rest) without showing the password."""
    import time
    LIMIT = 16 << 20  # python/README.md

    def huge(h):
        n = LIMIT + 1
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(n))
        h.end_headers()
        try:
            chunk = b" " * 65536
            while n > 0:
                h.wfile.write(chunk[:n])
                n -= 65536
        except OSError:
            pass  # the client stopped reading: what it should do

    def drip(h):
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", "60")
        h.end_headers()
        try:
            for _ in range(60):
                h.wfile.write(b" ")
                h.wfile.flush()
                time.sleep(0.1)
        except OSError:
            pass

    Fake.routes = {"/v1/configs/%s/%s/versions/1" % (NS, NAME): huge,
                   "/v1/configs/%s/%s/versions/2" % (NS, NAME): drip}
    expect_error(lambda: optreg.fetch(REF + "@1", url=W.fake_url, token=W.reader,
                                      via="rest"), 7, "bad_response",
                 words="more than %d bytes" % LIMIT)
    t0 = time.monotonic()
    expect_error(lambda: optreg.fetch(REF + "@2", url=W.fake_url, token=W.reader,
                                      via="rest", timeout=1), 7, "unavailable",
                 words="within 1 s")
    took = time.monotonic() - t0
    assert took < 3.5, "a dripping registry held fetch(timeout=1) for %.1f s" % took
    secret = "s3cret-pw"
    bad_url = W.srv.base.replace("://", "://user:%s@" % secret)
    for via in ("cli", "rest"):
        e = expect_error(lambda: optreg.fetch(REF + "@1", url=bad_url, cli=CLI_BIN,
                                              via=via), 2, "usage", words="user:password@")
        assert secret not in str(e), str(e)
    env_url = os.environ.get("OPTREG_URL")
    os.environ["OPTREG_URL"] = bad_url
    try:
        e = expect_error(lambda: optreg.fetch(REF + "@1", via="rest"), 2, "usage")
        assert secret not in str(e), str(e)
    finally:
        if env_url is None:
            del os.environ["OPTREG_URL"]
        else:
            os.environ["OPTREG_URL"] = env_url


def t_yanked():
    """A tag on a yanked version is refused unless allow_yanked; the
    version itself is returned (with a warning)."""
    name = "py-yank"
    path = write("yank.yaml", CONFIG.replace("name: py-mlp", "name: " + name).format(lr="2.0e-3"))
    optreg_cli("submit", path)
    optreg_cli("tag", "%s/%s@1" % (NS, name), "prod")
    optreg_cli("yank", "%s/%s@1" % (NS, name), "--reason", "diverges", token="admin")
    ref = "%s/%s@prod" % (NS, name)
    for via in ("cli", "rest"):
        f = lambda **kw: optreg.fetch(ref, url=W.srv.base, token=W.reader,  # noqa: E731
                                      cli=CLI_BIN, via=via, **kw)
        expect_error(f, 5, "yanked" if via == "rest" else None, words="yanked")
        assert f(allow_yanked=True)["metadata"]["name"] == name
    a, b = both("%s/%s@1" % (NS, name))
    assert a == b and a.ref == "%s/%s@1" % (NS, name)


def t_lock_rest():
    c = optreg.fetch(lock=W.lock, via="rest", token=W.reader)
    assert c.digest == W.digest[0] and c.ref == REF + "@1", (c.digest, c.ref)
    # the lock pins v1's digest; a lock that claims v1 has v2's digest fails
    wrong = write("wrong.lock", lock_text(1, W.digest[1], W.pub))
    expect_error(lambda: optreg.fetch(lock=wrong, via="rest", token=W.reader), 1,
                 "digest_mismatch", words=W.digest[1])


def t_lock_refused():
    for name, text, words in (
            ("extra.lock", lock_text(1, W.digest[0], W.pub, colour="blue"), "'colour'"),
            ("v2.lock", lock_text(1, W.digest[0], W.pub, optreg_lock=2), "optreg_lock"),
            ("ver.lock", lock_text("1", W.digest[0], W.pub), "version"),
            ("dig.lock", lock_text(1, "sha256:abc", W.pub), "digest"),
            ("notjson.lock", "optreg_lock = 1\n", "not a lock file"),
            ("nokey.lock", json.dumps({k: v for k, v in json.loads(
                lock_text(1, W.digest[0], W.pub)).items() if k != "registry_key"}, indent=2),
             "registry_key is missing")):
        path = write(name, text)
        for via in ("cli", "rest"):
            expect_error(lambda: optreg.fetch(lock=path, via=via, cli=CLI_BIN,
                                              token=W.reader), 2, words=words)
    expect_error(lambda: optreg.fetch(lock=os.path.join(W.dir, "missing.lock"),
                                      via="rest"), 3, "io")


def t_lock_cli():
    lock = optreg.read_lock(W.lock)
    assert lock["digest"] == W.digest[0] and lock["version"] == 1, lock
    c = optreg.fetch(lock=W.lock, url=W.srv.base, token=W.reader, cli=CLI_BIN)
    assert c.digest == W.digest[0] and c.canonical == W.canon[0]


def train(via, lock, url=None, steps=12, extra=()):
    env = dict(os.environ)
    env.update(OPTREG_TOKEN=W.reader, OPTREG_URL=url or W.srv.base,
               OPTREG_CACHE_DIR=os.path.join(W.dir, "cache"),
               PATH=os.path.dirname(CLI_BIN) + os.pathsep + env.get("PATH", ""))
    env.pop("PYTHONPATH", None)
    p = subprocess.run([sys.executable, TRAIN, "--lock", lock, "--via", via,
                        "--steps", str(steps)] + list(extra),
                       env=env, cwd=W.dir, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=300)
    out, err = p.stdout.decode(), p.stderr.decode()
    assert p.returncode == 0, "train.py exit %d\n%s\n%s" % (p.returncode, out, err)
    return out, err


def check_training(out, err):
    cfg = json.loads(W.canon[0])
    assert "optimizer config %s@1 (%s)" % (REF, W.digest[0]) in err, err
    assert "match '(bias|norm)'" in err, err
    rows = [l.split() for l in out.splitlines() if l.startswith("step ")]
    assert len(rows) == 12, out
    for t, row in enumerate(rows, start=1):
        assert float(row[3]) == optreg.schedule_lr(cfg, t), (t, row)
    assert float(rows[-1][5]) < float(rows[0][5]), "the loss did not go down:\n" + out


def t_train_rest():
    check_training(*train("rest", W.lock))


def t_train_resume():
    """train.py --checkpoint: 5 steps, then 7 more from the checkpoint,
    print the same steps, rates and losses as 12 in one run."""
    ck = os.path.join(W.dir, "ckpt.pt")
    if os.path.exists(ck):
        os.unlink(ck)
    whole, _ = train("rest", W.lock)
    a, _ = train("rest", W.lock, steps=5, extra=("--checkpoint", ck))
    b, err = train("rest", W.lock, steps=7, extra=("--checkpoint", ck))
    assert "resumed from %s after step 5" % ck in err, err
    rows = lambda out: [l for l in out.splitlines() if l.startswith("step ")]  # noqa: E731
    assert rows(a) + rows(b) == rows(whole), "resumed:\n%s\none run:\n%s" % (
        "\n".join(rows(a) + rows(b)), "\n".join(rows(whole)))
    check_training(a + b, err.replace("resumed", ""))


def t_train_cli():
    out, err = train("cli", W.lock)
    check_training(out, err)


def t_train_cli_offline():
    """The registry stopped: the CLI serves the pinned version from its
    cache and says so; training goes on."""
    train("cli", W.lock)  # fills the cache, if the earlier runs did not
    W.srv.terminate()
    out, err = train("cli", W.lock)
    check_training(out, err)
    assert "using the cached copy" in err, err


def t_pip_install():
    """pip install ./python (offline: no index, no build isolation) into a
    fresh --target, then import it from elsewhere."""
    src = os.path.join(W.dir, "pysrc")
    target = os.path.join(W.dir, "site")
    shutil.copytree(os.path.join(ROOT, "python"), src,
                    ignore=shutil.ignore_patterns("__pycache__", "build", "*.egg-info"))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PIP_INDEX_URL")}
    env["PIP_NO_INPUT"] = "1"
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    p = subprocess.run(["/usr/bin/python3", "-m", "pip", "install", "--no-index",
                        "--no-build-isolation", "--no-deps", "--target", target, src],
                       env=env, cwd=W.dir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=300)
    assert p.returncode == 0, "pip install failed:\n" + p.stdout.decode()[-3000:]
    env["PYTHONPATH"] = target
    code = ("import optreg, optreg.torch, json; print(optreg.__file__); "
            "print(optreg.digest(optreg.canonicalize({'b': 1, 'a': [1.0, 'x']})))")
    p = subprocess.run(["/usr/bin/python3", "-c", code], env=env, cwd="/",
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    assert p.returncode == 0, p.stderr.decode()
    lines = p.stdout.decode().split()
    assert lines[0].startswith(target + os.sep), lines
    want = "sha256:" + hashlib.sha256(b'{"a":[1,"x"],"b":1}').hexdigest()
    assert lines[1] == want, lines


def main():
    try:
        setup()
    except Exception as e:  # noqa: BLE001
        tap.fail("setup: a registry with two versions of %s" % REF, [repr(e)] + W.reg.logs()
                 if hasattr(W, "reg") else [repr(e)])
        return tap.finish()
    tap.context = W.reg.logs
    tap.run("fetch ns/name@N: the canonical bytes of the submitted file (cli, rest)", t_version)
    tap.run("fetch ns/name@TAG (cli, rest)", t_tag)
    tap.run("fetch sha256:DIGEST (cli, rest)", t_digest)
    tap.run("fetch ns/name over REST is the latest version", t_latest_rest)
    tap.run("fetch ns/name through the CLI is the latest version", t_latest_cli)
    tap.run("OPTREG_URL and OPTREG_TOKEN from the environment (cli, rest)", t_env)
    tap.run("errors: not found, unauthorized, bad ref, unreachable, bad via", t_errors)
    tap.run("the CLI gets the token in its environment, not argv; its stderr is "
            "passed on; a killed CLI is exit_status 3", t_cli_process)
    tap.run("content that does not match its digest is refused; redirects are not "
            "followed (cli, rest)", t_tampered)
    tap.run("REST: a huge answer is refused, a dripping one cut off at the timeout, "
            "a URL with a password refused unshown", t_rest_limits)
    tap.run("a tag on a yanked version is refused unless allow_yanked (cli, rest)", t_yanked)
    tap.run("fetch(lock=...) over REST checks the lock's digest", t_lock_rest)
    tap.run("a lock with an unknown field, optreg_lock 2, a bad version or digest is "
            "refused, naming the field (cli, rest)", t_lock_refused)
    if HAVE_TORCH:
        tap.run("examples/pytorch/train.py --via rest trains from the lock", t_train_rest)
        tap.run("examples/pytorch/train.py --checkpoint: 5 steps then 7 resumed equal 12 "
                "in one run", t_train_resume)
    else:
        tap.skip("examples/pytorch/train.py --via rest", "torch is not installed")
    tap.run("fetch(lock=...) through the CLI (optreg pin, fetch --lock)", t_lock_cli)
    if HAVE_TORCH:
        tap.run("examples/pytorch/train.py --lock through the CLI", t_train_cli)
        tap.run("examples/pytorch/train.py with the registry stopped (cache)",
                t_train_cli_offline)
    else:
        tap.skip("examples/pytorch/train.py through the CLI", "torch is not installed")
        tap.skip("examples/pytorch/train.py with the registry stopped", "torch is not installed")
    tap.run("pip install ./python works offline and the package imports", t_pip_install)
    return tap.finish()


sys.exit(main())
