"""tests/e2e/harness.py: a real optreg-server over real PostgreSQL, for tests.

Standard library only (Debian's /usr/bin/python3). What it gives:

  Tap          TAP output: one `ok N - desc` / `not ok N - desc` per test,
               `# ` diagnostics (the traceback of a test that crashed), the
               plan `1..N` at the end, exit status 1 when any test failed.
  Cluster      a private PostgreSQL cluster made by scripts/pg in a mktemp
               directory under /tmp: start, halt (keeping the data), stop
               (removing it).
  Registry     the cluster plus `optreg-server migrate`, tokens made with
               `optreg-server token create/revoke`, servers started on
               127.0.0.1:0 with --port-file, and one cleanup for all of it
               (also run by atexit and on SIGTERM/SIGINT/SIGHUP).
               Who runs as whom (docs/operations.md): `migrate` and psql()
               as the cluster's superuser "postgres", who owns the tables
               (Registry.conninfo); `serve` and `token create/revoke` as
               the service role SERVICE_ROLE, a login role in optreg_app
               that is neither superuser nor owner
               (Registry.service_conninfo, also OPTREG_DATABASE_URL in
               Registry.env()).
  Server       one `optreg-server serve` process: its base URL, SIGTERM /
               SIGKILL, its stderr log (quoted in diagnostics).
  http()       one HTTP/1.1 request on a fresh loopback connection; returns
               a Response (status, headers, raw body, .json()).
  Configs      writes config documents (YAML or JSON, docs/config.md) and
               gets their canonical bytes from `optreg canonicalize FILE`.
  Signer       an Ed25519 key made and used with the openssl command line
               (not optreg's own code): PEM, key id (hex SHA-256 of the SPKI
               DER), DSSE signatures over the PAE.
  envelope()   a DSSE envelope around canonical bytes, signed by any signers.
  canon()      the canonical JSON bytes of a value (sorted keys, no spaces).
  problem()    asserts a problem answer's status and code; rules() lists
               the `rule` of each of its errors[].
  put_policy() PUT /v1/policies/{name} with a policy document and message.
  audit_events()  the events of the audit entries of one action and target.
  post_verdict()  posts a verdict on a leased job as a runner does: the
               verdict payload (verdict_payload()) in an envelope of type
               VERDICT_TYPE signed by verdict keys, with the lease token.
  Registry.psql()          SQL run as the cluster's superuser (psql), for
                           tests that play an attacker with database access;
                           psql(sql, user=SERVICE_ROLE) runs it as the
                           service role instead.
  Registry.server(..., conninfo=R.conninfo)  a server run as another role
                           (here the owner) instead of the service role.
  Registry.registry_pub    the registry's public key file (what to pin).
  Signer.from_file()       a Signer around an existing private key file
                           (`optreg keygen`'s NAME.pem).

Environment: BIN, the folder holding optreg and optreg-server (default
"bin", relative to the repository root).
"""

import atexit
import base64
import hashlib
import http.client as http_client
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.join(ROOT, os.environ.get("BIN") or "bin")
SERVER_BIN = os.path.join(BIN, "optreg-server")
CLI_BIN = os.path.join(BIN, "optreg")


def _default_suite():
    """The suite the registry's jobs ask for: OPTREG_DEFAULT_SUITE in
    registry/store/jobs.h, so the tests follow it when it changes."""
    with open(os.path.join(ROOT, "registry", "store", "jobs.h")) as f:
        m = re.search(r'#define OPTREG_DEFAULT_SUITE "([^"]+)"', f.read())
    assert m, "no OPTREG_DEFAULT_SUITE in registry/store/jobs.h"
    return m.group(1)


DEFAULT_SUITE = _default_suite()
PG = os.path.join(ROOT, "scripts", "pg")
# OPTREG_E2E_SERVER_WRAP: a command line the servers run under (`make
# valgrind` sets valgrind's); start timeouts grow tenfold, and cleanup
# stops servers with SIGTERM first.
SERVER_WRAP = shlex.split(os.environ.get("OPTREG_E2E_SERVER_WRAP", ""))
PAYLOAD_TYPE = "application/vnd.optreg.config.v1+json"
VERDICT_TYPE = "application/vnd.optreg.verdict.v1+json"
# A suite digest for verdicts signed by tests, not by a real runner.
ZERO_DIGEST = "sha256:" + "0" * 64
HTTP_TIMEOUT = 30
# The login role `serve` runs as: a member of optreg_app (migrations grant
# that role what the service needs), neither superuser nor owner; scripts/pg
# lets the invoking user log in as it (PG_USERS).
SERVICE_ROLE = "optreg_server"


class HarnessError(Exception):
    """The harness itself could not do what a test needs."""


# ---------------------------------------------------------------- TAP

class Tap:
    """Runs tests and prints TAP as it goes; the plan comes last."""

    def __init__(self):
        self.n = 0
        self.failed = 0
        self.context = None  # callable giving extra diagnostics on failure

    def _emit(self, ok, desc, diag):
        self.n += 1
        desc = " ".join(str(desc).split()).replace("#", "\\#")
        print("%s %d - %s" % ("ok" if ok else "not ok", self.n, desc))
        if not ok:
            self.failed += 1
            for block in diag:
                for line in str(block).rstrip("\n").split("\n"):
                    print("# " + line)
        sys.stdout.flush()

    def run(self, desc, fn, *args):
        """Runs fn(*args): passing when it returns, failing when it raises
        (an AssertionError's message, or any other exception's traceback,
        becomes the diagnostics). Returns True when it passed."""
        try:
            fn(*args)
        except AssertionError as e:
            tb = traceback.extract_tb(e.__traceback__)
            where = ["at %s:%d in %s" % (os.path.basename(f.filename), f.lineno, f.name)
                     for f in tb[-2:]]
            self._emit(False, desc, [str(e) or "assertion failed"] + where)
            return False
        except Exception:  # noqa: BLE001: a crash is a failure, with its traceback
            self._emit(False, desc, [traceback.format_exc()] + self._context())
            return False
        self._emit(True, desc, [])
        return True

    def fail(self, desc, diag):
        self._emit(False, desc, diag)

    def _context(self):
        if not self.context:
            return []
        try:
            return list(self.context())
        except Exception:  # noqa: BLE001
            return []

    def finish(self):
        print("1..%d" % self.n)
        sys.stdout.flush()
        return 1 if self.failed else 0


def run_suite(tap, world, setup, tests, what, cleanup=None):
    """The main() of a suite on one Registry kept at `world.reg`: runs
    setup() (a failure is one failed test, `harness: WHAT`, with the
    servers' logs), then each (description, fn, args...) of `tests` with
    the servers' log tails as context on failure, and removes the registry
    (after `cleanup`, when given) whatever happens. Returns the exit
    status."""
    start = time.time()
    try:
        try:
            setup()
        except Exception:  # noqa: BLE001
            tap.fail("harness: " + what,
                     [traceback.format_exc()] +
                     (world.reg.logs() if hasattr(world, "reg") else []))
            return tap.finish()
        tap.context = lambda: [s.log_tail(8) for s in world.reg.servers
                               if s.alive()]
        for entry in tests:
            tap.run(entry[0], entry[1], *entry[2:])
        print("# %.1f s" % (time.time() - start))
        return tap.finish()
    finally:
        if cleanup is not None:
            cleanup()
        if hasattr(world, "reg"):
            world.reg.cleanup()


# ---------------------------------------------------------------- HTTP

class Response:
    def __init__(self, status, reason, headers, body):
        self.status = status
        self.reason = reason
        self.headers = headers  # http_client.HTTPMessage: case-insensitive
        self.body = body

    def header(self, name, default=None):
        return self.headers.get(name, default)

    def json(self):
        try:
            return json.loads(self.body.decode("utf-8"))
        except ValueError as e:
            raise AssertionError("body is not JSON (%s): %r" % (e, self.body[:300]))

    def describe(self):
        hs = "; ".join("%s: %s" % (k, v) for k, v in self.headers.items())
        return "HTTP %d %s\n  headers: %s\n  body: %r" % (
            self.status, self.reason, hs, self.body[:600])

    def __repr__(self):
        return "<Response %d %r>" % (self.status, self.body[:120])


def http(base, method, path, body=None, headers=None, token=None,
         content_type="application/json", timeout=HTTP_TIMEOUT):
    """One request on a fresh connection. `base` is "http://127.0.0.1:PORT";
    `body` bytes, str, or a JSON-able value (dumped); `token` adds
    Authorization: Bearer. Returns a Response; raises OSError (or
    http.client exceptions) when the connection fails."""
    assert base.startswith("http://")
    hostport = base[len("http://"):].rstrip("/")
    host, port = hostport.rsplit(":", 1)
    h = {}
    if token:
        h["Authorization"] = "Bearer " + token
    if body is not None:
        if not isinstance(body, (bytes, str)):
            body = json.dumps(body)
        if isinstance(body, str):
            body = body.encode("utf-8")
        if content_type:
            h["Content-Type"] = content_type
    h.update(headers or {})
    conn = http_client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=h)
        r = conn.getresponse()
        data = r.read()
        return Response(r.status, r.reason, r.headers, data)
    finally:
        conn.close()


# ---------------------------------------------------------------- processes

def eq(got, want, what):
    """Asserts got == want, naming what was compared."""
    assert got == want, "%s: expected %r, got %r" % (what, want, got)


def expect(res, rc, what=""):
    """Asserts that the command run `res` (with .rc and .describe())
    exited with `rc`, showing it when not; returns it."""
    assert res.rc == rc, "%sexpected exit %d, got:\n%s" % (
        what + ": " if what else "", rc, res.describe())
    return res


def status(r, want, what=""):
    """Asserts a Response's status, quoting the whole response if not;
    returns the response."""
    assert r.status == want, "%sexpected HTTP %d, got:\n%s" % (
        what + ": " if what else "", want, r.describe())
    return r


def problem(r, want, code, what):
    """Asserts a problem answer: HTTP status `want` and `code`; returns its
    JSON."""
    status(r, want, what)
    j = r.json()
    assert j.get("code") == code, "%s: code %r, want %r: %s" % (what, j.get("code"), code, j)
    return j


def rules(j):
    """The `rule` of each of a problem's errors[], in order."""
    return [e.get("rule") for e in j.get("errors", [])]


def within(seconds, fn, interval=0.05):
    """Calls fn() until it returns a true value or `seconds` pass; returns
    the last value."""
    deadline = time.time() + seconds
    while True:
        v = fn()
        if v or time.time() >= deadline:
            return v
        time.sleep(interval)


def run(argv, env=None, timeout=60, check=True, input=None):
    """Runs a command; returns CompletedProcess (text). Raises HarnessError
    with its output when it fails and check is set."""
    p = subprocess.run(argv, env=env, cwd=ROOT, timeout=timeout, input=input,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True)
    if check and p.returncode != 0:
        raise HarnessError("%s exited %d\nstdout: %s\nstderr: %s" % (
            " ".join(argv), p.returncode, p.stdout[-2000:], p.stderr[-2000:]))
    return p


def conninfo_as(conninfo, user):
    """`conninfo` (scripts/pg's one line, key=value words) with its user
    replaced by `user`."""
    out, n = re.subn(r"(?<!\S)user=\S+", "user=" + user, conninfo)
    return out if n else conninfo + " user=" + user


class Cluster:
    """A private PostgreSQL cluster in DIR, through scripts/pg."""

    def __init__(self, directory):
        self.dir = directory
        self.conninfo = None

    def start(self):
        p = run([PG, "start", self.dir], timeout=120)
        lines = [l for l in p.stdout.splitlines() if l.strip()]
        if not lines or "host=" not in lines[-1]:
            raise HarnessError("scripts/pg start printed no conninfo: %r" % p.stdout)
        self.conninfo = lines[-1].strip()
        return self.conninfo

    def halt(self):
        run([PG, "halt", self.dir], timeout=120)

    def stop(self):
        run([PG, "stop", self.dir], timeout=120, check=False)


class Server:
    """One `optreg-server serve` process."""

    def __init__(self, registry, name, args, conninfo=None):
        self.registry = registry
        self.name = name
        self.args = list(args)
        # The service role unless the test asks for another.
        self.conninfo = conninfo
        self.port_file = os.path.join(registry.tmp, "%s.port" % name)
        self.log_path = os.path.join(registry.tmp, "%s.log" % name)
        self.proc = None
        self.port = None
        self.base = None
        self.returncode = None

    def start(self, timeout=20):
        if os.path.exists(self.port_file):
            os.unlink(self.port_file)
        log = open(self.log_path, "ab")
        conninfo = (self.conninfo or self.registry.service_conninfo
                    or self.registry.conninfo)
        argv = SERVER_WRAP + [SERVER_BIN, "serve", "--database", conninfo,
                              "--listen", "127.0.0.1:0", "--port-file",
                              self.port_file] + self.args
        if SERVER_WRAP:
            timeout *= 10
        self.proc = subprocess.Popen(argv, cwd=ROOT, env=self.registry.env(),
                                     stdin=subprocess.DEVNULL,
                                     stdout=log, stderr=log)
        log.close()
        self.returncode = None
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise HarnessError("server %s exited %d before listening\n%s" % (
                    self.name, self.proc.returncode, self.log_tail()))
            try:
                with open(self.port_file) as f:
                    text = f.read().strip()
                if text.isdigit():
                    self.port = int(text)
                    break
            except OSError:
                pass
            time.sleep(0.02)
        else:
            self.kill()
            raise HarnessError("server %s wrote no port file in %ds\n%s" % (
                self.name, timeout, self.log_tail()))
        self.base = "http://127.0.0.1:%d" % self.port
        while time.time() < deadline:
            try:
                if http(self.base, "GET", "/healthz", timeout=2).status == 200:
                    return self
            except (OSError, http_client.HTTPException):
                pass
            time.sleep(0.02)
        self.kill()
        raise HarnessError("server %s never answered /healthz\n%s" % (
            self.name, self.log_tail()))

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def terminate(self, timeout=20):
        """SIGTERM, then waits; returns the exit status (SIGKILLs it and
        raises when it does not exit in time)."""
        if not self.proc:
            return self.returncode
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.returncode = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise HarnessError("server %s did not exit %ds after SIGTERM\n%s" % (
                self.name, timeout, self.log_tail()))
        return self.returncode

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                pass
        if self.proc:
            self.returncode = self.proc.returncode

    def log_tail(self, n=25):
        try:
            with open(self.log_path, "rb") as f:
                lines = f.read().decode("utf-8", "replace").splitlines()
        except OSError:
            return "(no log)"
        return "--- %s stderr (last %d lines) ---\n%s" % (
            self.name, min(n, len(lines)), "\n".join(lines[-n:]))

    def request(self, method, path, **kw):
        return http(self.base, method, path, **kw)


class Registry:
    """Cluster, migrations, tokens, servers; and the cleanup of all of them."""

    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="optreg-e2e.", dir="/tmp")
        # scripts/pg hands the cluster directory to the postgres user, which
        # must be able to reach it through this one.
        os.chmod(self.tmp, 0o755)
        self.cluster = Cluster(os.path.join(self.tmp, "pg"))
        # `optreg fetch` keeps a cache (XDG_CACHE_HOME/optreg): the
        # tests' copies go here, never into the home folder.
        os.environ["XDG_CACHE_HOME"] = os.path.join(self.tmp, "xdg-cache")
        self.conninfo = None          # the superuser, owner of the tables
        self.service_conninfo = None  # SERVICE_ROLE, what serve runs as
        self.servers = []
        self._cleaned = False
        self._lock = threading.Lock()
        self._n = 0
        atexit.register(self.cleanup)
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, self._on_signal)

    def _on_signal(self, signum, frame):
        self.cleanup()
        os._exit(128 + signum)

    def env(self):
        e = dict(os.environ)
        e["OPTREG_MIGRATIONS"] = os.path.join(ROOT, "migrations")
        for k in ("OPTREG_ANONYMOUS_READ", "OPTREG_LISTEN", "OPTREG_MAX_BODY",
                  "OPTREG_THREADS", "OPTREG_DB_POOL", "OPTREG_URL", "OPTREG_TOKEN",
                  "OPTREG_KEY"):
            e.pop(k, None)
        e["OPTREG_DATABASE_URL"] = self.service_conninfo or self.conninfo or ""
        # The registry's receipt key: `migrate` makes it, `serve` loads it;
        # kept in the temporary directory, never in the working tree.
        e["OPTREG_REGISTRY_KEY"] = os.path.join(self.tmp, "registry-key.pem")
        return e

    def start(self):
        for b in (SERVER_BIN, CLI_BIN):
            if not os.access(b, os.X_OK):
                raise HarnessError("%s is missing or not executable (run make all)" % b)
        self.conninfo = self.cluster.start()
        run([SERVER_BIN, "migrate", "--database", self.conninfo], env=self.env())
        self.create_service_role()
        return self

    def create_service_role(self, name=SERVICE_ROLE):
        """Creates the login role `name` in optreg_app (neither superuser
        nor owner), as docs/operations.md does, and makes it the role
        servers and token commands run as."""
        self.psql("DO $$ BEGIN "
                  "IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '%s') THEN "
                  "CREATE ROLE %s LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE; "
                  "END IF; END $$; GRANT optreg_app TO %s" % (name, name, name))
        self.service_conninfo = conninfo_as(self.conninfo, name)
        return self.service_conninfo

    def token(self, principal, roles, namespace=None, expires_in=None):
        """`optreg-server token create`; returns (token, id)."""
        if isinstance(roles, str):
            roles = [roles]
        argv = [SERVER_BIN, "token", "create", "--database",
                self.service_conninfo or self.conninfo, "--principal", principal]
        for r in roles:
            argv += ["--role", r]
        if namespace:
            argv += ["--namespace", namespace]
        if expires_in:
            argv += ["--expires-in", str(expires_in)]
        p = run(argv, env=self.env())
        tok = p.stdout.strip()
        tid = None
        for word in p.stderr.split():
            if word.startswith("tok_"):
                tid = word
                break
        if not tok.startswith("optreg_"):
            raise HarnessError("token create printed %r" % p.stdout)
        return tok, tid

    def revoke(self, token_id):
        return run([SERVER_BIN, "token", "revoke", "--database",
                    self.service_conninfo or self.conninfo, token_id],
                   env=self.env(), check=False)

    def server(self, *args, name=None, conninfo=None):
        """Starts `optreg-server serve ARGS` as the service role (or as
        the role of `conninfo`); returns the Server once it answers."""
        with self._lock:
            self._n += 1
            name = name or "server%d" % self._n
        s = Server(self, name, args, conninfo=conninfo)
        self.servers.append(s)
        return s.start()

    def logs(self):
        return [s.log_tail(12) for s in self.servers if s.proc]

    @property
    def registry_pub(self):
        """The registry key's public half, NAME.pub.pem beside the key that
        `migrate` made (what a verifier pins)."""
        return os.path.join(self.tmp, "registry-key.pub.pem")

    def psql(self, sql, check=True, user=None):
        """Runs `sql` with psql as the cluster's superuser (or as the
        role `user`), in one transaction, stopping at the first error;
        returns the CompletedProcess (stdout: unaligned tuples, no
        headers)."""
        conninfo = conninfo_as(self.conninfo, user) if user else self.conninfo
        return run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-1", "-A", "-t",
                    "-d", conninfo, "-c", sql], env=self.env(), check=check)

    def cleanup(self):
        if self._cleaned:
            return
        self._cleaned = True
        for s in self.servers:
            try:
                # Under a wrapper (valgrind) a clean exit, so that it can
                # report; a SIGKILL would lose the report.
                if SERVER_WRAP and s.alive():
                    s.terminate(timeout=120)
                s.kill()
            except Exception:  # noqa: BLE001
                pass
        try:
            self.cluster.stop()
        except Exception:  # noqa: BLE001
            pass
        if os.environ.get("OPTREG_E2E_KEEP"):
            sys.stderr.write("kept %s\n" % self.tmp)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)


# ---------------------------------------------------------------- configs

def ci_suite_file(path, peak_steps, keep=lambda w: True):
    """runner/suites/ci.yaml (the test-only cut of the reference suite)
    renamed to the suite jobs ask for (DEFAULT_SUITE; its digest still
    tells it from the real one), without its baseline (its numbers are for
    other step counts), with the workloads `keep(w)` accepts, each given
    `peak_steps(w, nseeds)` steps per seed. Written as JSON to `path`;
    returns it."""
    p = subprocess.run([CLI_BIN, "canonicalize",
                        os.path.join(ROOT, "runner", "suites", "ci.yaml")],
                       stdout=subprocess.PIPE, check=True, timeout=30)
    suite = json.loads(p.stdout)
    suite["name"] = DEFAULT_SUITE
    suite.pop("baseline", None)
    nseeds = len(suite["seeds"])
    suite["workloads"] = [dict(w, peak_steps=peak_steps(w, nseeds))
                          for w in suite["workloads"] if keep(w)]
    with open(path, "w") as f:
        json.dump(suite, f)
    return path


class Configs:
    """Config documents and their canonical bytes, via `optreg canonicalize`."""

    def __init__(self, tmp):
        self.dir = os.path.join(tmp, "configs")
        os.makedirs(self.dir, exist_ok=True)
        self._n = 0
        self._lock = threading.Lock()

    def _path(self, ext):
        with self._lock:
            self._n += 1
            return os.path.join(self.dir, "c%04d.%s" % (self._n, ext))

    def canonical_file(self, path):
        p = subprocess.run([CLI_BIN, "canonicalize", path], cwd=ROOT,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
        if p.returncode != 0:
            raise HarnessError("optreg canonicalize %s exited %d: %s" % (
                path, p.returncode, p.stderr.decode("utf-8", "replace")))
        out = p.stdout
        if out.endswith(b"\n"):
            out = out[:-1]
        return out

    def yaml(self, ns, name, lr="3.0e-5", description=None, extra_spec=""):
        """A valid config written as YAML; returns its canonical bytes."""
        text = ("apiVersion: optreg/v1\n"
                "kind: OptimizerConfig\n"
                "metadata:\n"
                "  namespace: %s\n"
                "  name: %s\n" % (ns, name))
        if description is not None:
            text += "  description: \"%s\"\n" % description
        text += ("spec:\n"
                 "  optimizer: adamw\n"
                 "  lr: %s\n"
                 "  betas: [0.9, 0.999]\n"
                 "  eps: 1.0e-8\n"
                 "  weight_decay: 0.01\n" % lr) + extra_spec
        path = self._path("yaml")
        with open(path, "w") as f:
            f.write(text)
        return self.canonical_file(path)

    def json_doc(self, doc):
        """Any JSON value, canonicalized by the CLI (valid or not)."""
        path = self._path("json")
        with open(path, "w") as f:
            json.dump(doc, f, indent=2)
        return self.canonical_file(path)


def doc(ns, name, **spec):
    """A config document as a Python value."""
    s = {"optimizer": "adamw", "lr": 0.001, "betas": [0.9, 0.999],
         "eps": 1e-8, "weight_decay": 0.01}
    s.update(spec)
    return {"apiVersion": "optreg/v1", "kind": "OptimizerConfig",
            "metadata": {"namespace": ns, "name": name}, "spec": s}


def pae(payload_type, payload):
    """DSSE v1 pre-authentication encoding."""
    t = payload_type.encode("utf-8")
    return b"DSSEv1 %d %s %d %s" % (len(t), t, len(payload), payload)


class Signer:
    """An Ed25519 key pair in files, used through the openssl command line."""

    _n = 0
    _lock = threading.Lock()

    def __init__(self, directory, name=None):
        with Signer._lock:
            Signer._n += 1
            n = Signer._n
        name = name or "key%d" % n
        self.dir = directory
        self.key_path = os.path.join(directory, name + ".pem")
        pub_path = os.path.join(directory, name + ".pub.pem")
        run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", self.key_path])
        run(["openssl", "pkey", "-in", self.key_path, "-pubout", "-out", pub_path])
        with open(pub_path) as f:
            self.public_pem = f.read()
        self.keyid = hashlib.sha256(pem_der(self.public_pem)).hexdigest()

    @classmethod
    def from_file(cls, key_path):
        """A Signer around an existing Ed25519 private key file (PEM), made
        by `optreg keygen` or openssl; files it writes go beside it."""
        self = cls.__new__(cls)
        self.dir = os.path.dirname(os.path.abspath(key_path))
        self.key_path = key_path
        p = run(["openssl", "pkey", "-in", key_path, "-pubout"])
        self.public_pem = p.stdout
        self.keyid = hashlib.sha256(pem_der(self.public_pem)).hexdigest()
        return self

    def sign(self, data):
        """The raw 64-byte Ed25519 signature of `data`."""
        with Signer._lock:
            Signer._n += 1
            path = os.path.join(self.dir, "msg%d.bin" % Signer._n)
        with open(path, "wb") as f:
            f.write(data)
        try:
            p = subprocess.run(["openssl", "pkeyutl", "-sign", "-inkey", self.key_path,
                                "-rawin", "-in", path], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, timeout=30)
        finally:
            os.unlink(path)
        if p.returncode != 0 or len(p.stdout) != 64:
            raise HarnessError("openssl pkeyutl -sign failed: %r" % p.stderr)
        return p.stdout

    def signature(self, payload_type, payload):
        return {"keyid": self.keyid,
                "sig": base64.b64encode(self.sign(pae(payload_type, payload))).decode("ascii")}


def pem_der(pem):
    body = "".join(l for l in pem.strip().splitlines() if not l.startswith("-----"))
    return base64.b64decode(body)


def openssl_verify(public_pem, data, sig, directory):
    """True when openssl verifies the Ed25519 signature `sig` of `data`."""
    paths = [os.path.join(directory, "v%d.%s" % (os.getpid(), x)) for x in ("pub", "msg", "sig")]
    for path, content in zip(paths, (public_pem.encode(), data, sig)):
        with open(path, "wb") as f:
            f.write(content)
    try:
        p = subprocess.run(["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", paths[0],
                            "-rawin", "-in", paths[1], "-sigfile", paths[2]],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
    finally:
        for path in paths:
            os.unlink(path)
    return p.returncode == 0


def envelope(payload, signers=(), payload_type=PAYLOAD_TYPE):
    """A DSSE envelope around `payload` bytes, signed by each of `signers`
    (Signer objects, or ready signature dicts), as a dict."""
    sigs = [s if isinstance(s, dict) else s.signature(payload_type, payload) for s in signers]
    return {"payloadType": payload_type,
            "payload": base64.b64encode(payload).decode("ascii"),
            "signatures": sigs}


def digest_of(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def put_policy(server, token, name, document, message):
    """PUT /v1/policies/NAME through `server` with `token`: stores the policy
    file text `document` with `message`; returns the Response."""
    return server.request("PUT", "/v1/policies/" + name, token=token,
                          body={"document": document, "message": message})


def audit_events(server, token, action, target):
    """The `event` of each audit entry of `action` on `target` (GET
    /v1/audit/entries through `server` with `token`, asserted 200)."""
    r = server.request("GET", "/v1/audit/entries?action=%s&target=%s" % (action, target),
                       token=token)
    status(r, 200, "GET audit entries")
    return [e["event"] for e in r.json()["entries"]]


def canon(value):
    """The canonical JSON bytes of a value of strings, integers, lists and
    objects (no floats): sorted keys, no whitespace."""
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def verdict_payload(job, result, suite_digest=ZERO_DIGEST):
    """The canonical verdict payload a runner signs for a leased `job` (the
    "job" of POST /v1/jobs/lease's answer)."""
    return canon({"job_id": job["id"], "config_digest": job["digest"],
                  "suite": job["suite"], "suite_digest": suite_digest, "result": result})


def post_verdict(server, token, job, signers, result="pass"):
    """Posts `result` as the verdict of a leased `job` through `server` (a
    Server) with the runner `token`, in an envelope signed by `signers`;
    returns the Response (201 when recorded)."""
    return server.request("POST", "/v1/jobs/%s/verdict" % job["id"], token=token,
                          body=envelope(verdict_payload(job, result), signers, VERDICT_TYPE),
                          headers={"X-Optreg-Lease-Token": job["lease_token"]})
