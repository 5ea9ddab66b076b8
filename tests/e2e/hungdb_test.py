#!/usr/bin/python3
"""tests/e2e/hungdb_test.py: a hung PostgreSQL must not stall optreg-server
(issue 10, item 2).

One cluster, one server started with short database timeouts:

  --db-statement-timeout-ms 1000  --db-lock-timeout-ms 1000
  --db-timeout-ms 1500 (the client-side bound)  --db-wait-ms 500
  --threads 4 --pool 4

1. Every PostgreSQL process of the cluster is stopped with SIGSTOP for
   STALL_S seconds while clients keep the server busy: /healthz answers in
   under 100 ms throughout, database routes answer 200/201 or 503 (with
   Retry-After) within the client-side timeout plus one second, digest
   fetches already in the caches answer 200; after SIGCONT the server
   recovers by itself.
2. A psql session holds audit_head's row FOR UPDATE in an open
   transaction: submits answer 503 within lock_timeout plus one second,
   reads and /healthz are unaffected; once the lock goes, submits work.

The measured latencies are printed as `# ` lines.

usage: tests/e2e/hungdb_test.py (from the repository root); prints TAP.
"""

import http.client as http_client
import json
import os
import signal
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import (  # noqa: E402
    SERVER_BIN, Configs, Registry, Signer, Tap, envelope, status)

NS = "hung"
STALL_S = 10
STATEMENT_MS, LOCK_MS, DB_TIMEOUT_MS, WAIT_MS = 1000, 1000, 1500, 500
HEALTHZ_MAX_S = 0.100

tap = Tap()


class World:
    pass


W = World()


def note(text):
    print("# " + text)
    sys.stdout.flush()


def timed(fn):
    """(response or the exception, seconds)."""
    t0 = time.monotonic()
    try:
        r = fn()
    except (OSError, http_client.HTTPException) as e:
        r = e
    return r, time.monotonic() - t0


def submit(name, lr, timeout=30):
    env = envelope(W.cfg.yaml(NS, name, lr=lr), (W.key,))
    return W.S.request("POST", "/v1/configs/%s/%s/versions" % (NS, name),
                       body=env, token=W.sub, timeout=timeout)


def setup():
    W.reg = Registry().start()
    W.cfg = Configs(W.reg.tmp)
    W.admin, _ = W.reg.token("admin@ops", "admin")
    W.sub, _ = W.reg.token("ci@hung", "submitter", NS)
    W.reader, _ = W.reg.token("reader@hung", "reader", NS)
    W.S = W.reg.server(
        "--db-statement-timeout-ms", str(STATEMENT_MS),
        "--db-lock-timeout-ms", str(LOCK_MS),
        "--db-timeout-ms", str(DB_TIMEOUT_MS),
        "--db-wait-ms", str(WAIT_MS),
        "--threads", "4", "--pool", "4", name="S")
    tap.context = W.reg.logs
    W.key = Signer(W.reg.tmp, "ci")
    r = W.S.request("POST", "/v1/keys", token=W.admin, body={
        "public_key": W.key.public_pem, "principal": "ci@hung",
        "namespaces": [NS]})
    status(r, 201, "register the signing key")
    r = submit("base", "3.0e-5")
    status(r, 201, "first submit")
    W.digest = r.json()["digest"]
    # Fills the caches: the reader's principal and the digest's bytes.
    for _ in range(2):
        status(W.S.request("GET", "/v1/digests/" + W.digest, token=W.reader), 200,
               "digest fetch")


def postgres_pids():
    """The postmaster of the test cluster and its children."""
    with open(os.path.join(W.reg.cluster.dir, "data", "postmaster.pid")) as f:
        master = int(f.readline().strip())
    pids = [master]
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                stat = f.read()
        except OSError:
            continue
        # pid (comm) state ppid ...: comm may hold spaces; split after ')'.
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == master:
            pids.append(int(d))
    return pids


def signal_all(pids, sig):
    for p in pids:
        try:
            os.kill(p, sig)
        except ProcessLookupError:
            pass


# The /healthz prober runs in a process of its own, so the load's client
# threads (and Python's GIL) do not add to the latency it measures.
PROBER = r"""
import http.client, json, sys, time
port, seconds = int(sys.argv[1]), float(sys.argv[2])
out, end = [], time.monotonic() + seconds
while time.monotonic() < end:
    t = time.monotonic()
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        c.request("GET", "/healthz")
        st = c.getresponse().status
        c.close()
    except Exception as e:  # noqa: BLE001
        st = repr(e)
    out.append((t, st, time.monotonic() - t))
    time.sleep(0.02)
print(json.dumps(out))
"""


class Load:
    """Client threads against W.S until stop(): a /healthz prober, clients
    of database routes, clients of the cached digest."""

    def __init__(self):
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.healthz = []  # (t, status or error, seconds)
        self.db = []  # (route, status or error, seconds, Retry-After)
        self.cached = []  # (status or error, seconds)
        self.threads = []
        self.n = 0

    def _loop(self, fn):
        while not self.stopping.is_set():
            fn()

    def _db(self, route):
        def once():
            with self.lock:
                self.n += 1
                n = self.n
            if route == "submit":
                call = lambda: submit("load", "%d.0e-5" % (n % 1000 + 1), timeout=20)  # noqa: E731
            elif route == "readyz":
                call = lambda: W.S.request("GET", "/readyz", timeout=20)  # noqa: E731
            else:
                call = lambda: W.S.request(  # noqa: E731
                    "GET", "/v1/configs/%s/base/versions" % NS, token=W.reader, timeout=20)
            r, s = timed(call)
            with self.lock:
                self.db.append((route, getattr(r, "status", repr(r)), s,
                                r.header("Retry-After") if hasattr(r, "header") else None))
            time.sleep(0.05)
        return once

    def _cached(self):
        r, s = timed(lambda: W.S.request("GET", "/v1/digests/" + W.digest,
                                         token=W.reader, timeout=10))
        with self.lock:
            self.cached.append((getattr(r, "status", repr(r)), s))
        time.sleep(0.05)

    def start(self):
        fns = [self._cached, self._cached]
        for route in ("submit", "submit", "readyz", "list", "list", "list"):
            fns.append(self._db(route))
        for fn in fns:
            t = threading.Thread(target=self._loop, args=(fn,), daemon=True)
            t.start()
            self.threads.append(t)

    def stop(self):
        self.stopping.set()
        for t in self.threads:
            t.join(30)


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] if xs else 0.0


def t_sigstop():
    load = Load()
    load.start()
    prober = subprocess.Popen([sys.executable, "-c", PROBER, str(W.S.port),
                               str(STALL_S + 2.5)], stdout=subprocess.PIPE, text=True)
    time.sleep(1.0)  # the load runs against a healthy database first
    pids = postgres_pids()
    signal_all(pids, signal.SIGSTOP)
    t_stop = time.monotonic()
    try:
        time.sleep(STALL_S)
    finally:
        signal_all(pids, signal.SIGCONT)
    t_cont = time.monotonic()
    # Recovery, by itself: /readyz and a submit answer again.
    deadline = t_cont + 15
    recovered = None
    while time.monotonic() < deadline:
        r, _ = timed(lambda: W.S.request("GET", "/readyz", timeout=10))
        if getattr(r, "status", 0) == 200:
            recovered = time.monotonic() - t_cont
            break
        time.sleep(0.1)
    load.stop()
    out, _ = prober.communicate(timeout=30)
    load.healthz = [tuple(x) for x in json.loads(out)]

    hz = [x for x in load.healthz if x[0] >= t_stop]
    hz_stall = [x for x in hz if x[0] < t_cont]
    hz_max = max((x[2] for x in hz_stall), default=0.0)
    db503 = [x for x in load.db if x[1] == 503]
    lat503 = [x[2] for x in db503]
    cached = load.cached
    note("SIGSTOP %d s: /healthz %d probes during the stall, max %.1f ms, p99 %.1f ms" % (
        STALL_S, len(hz_stall), hz_max * 1e3, pct([x[2] for x in hz_stall], 0.99) * 1e3))
    note("SIGSTOP: database routes %d answers, %d of them 503: latency of the 503s "
         "median %.0f ms, p99 %.0f ms, max %.0f ms (bound: --db-timeout-ms %d + 1000)" % (
             len(load.db), len(db503), pct(lat503, 0.5) * 1e3, pct(lat503, 0.99) * 1e3,
             max(lat503, default=0) * 1e3, DB_TIMEOUT_MS))
    note("SIGSTOP: cached digest fetches %d, statuses %s, max %.1f ms" % (
        len(cached), sorted(set(str(c[0]) for c in cached)),
        max((c[1] for c in cached), default=0) * 1e3))
    note("SIGSTOP: /readyz 200 again %.2f s after SIGCONT" % (recovered or -1))

    assert len(hz_stall) >= 20, "too few /healthz probes: %d" % len(hz_stall)
    bad = [x for x in hz if x[1] != 200]
    assert not bad, "/healthz failed during the stall: %r" % bad[:5]
    assert hz_max < HEALTHZ_MAX_S, "/healthz took %.0f ms during the stall" % (hz_max * 1e3)
    assert db503, "no database route answered 503 during a %d s stall" % STALL_S
    odd = [x for x in load.db if x[1] not in (200, 201, 503)]
    assert not odd, "database routes answered neither 2xx nor 503: %r" % odd[:5]
    no_retry = [x for x in db503 if x[3] != "1"]
    assert not no_retry, "503 without Retry-After: 1: %r" % no_retry[:5]
    bound = DB_TIMEOUT_MS / 1000.0 + 1.0
    slow = [x for x in load.db if x[2] > bound]
    assert not slow, "answers slower than %.1f s: %r" % (bound, slow[:5])
    assert cached, "no cached digest fetches"
    bad = [c for c in cached if c[0] != 200]
    assert not bad, "cached digest fetches failed: %r" % bad[:5]
    assert recovered is not None, "/readyz not 200 15 s after SIGCONT"
    r = submit("after-stall", "4.0e-5")
    status(r, 201, "submit after SIGCONT")


def t_row_lock():
    psql = subprocess.Popen(
        ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", W.reg.conninfo],
        env=W.reg.env(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    try:
        psql.stdin.write("BEGIN;\nSELECT size FROM audit_head FOR UPDATE;\n"
                         "\\echo locked\n")
        psql.stdin.flush()
        line = psql.stdout.readline()
        while line and "locked" not in line:
            line = psql.stdout.readline()
        assert "locked" in line, "psql did not take the lock: %s" % psql.stderr.read()

        results = []
        lock = threading.Lock()

        def one_submit(i):
            # Each its own config, so only audit_head's lock is waited on.
            r, s = timed(lambda: submit("locked-%d" % i, "%d.5e-5" % (i + 1), timeout=20))
            with lock:
                results.append(("submit", getattr(r, "status", repr(r)), s))

        def one_read(path, token):
            r, s = timed(lambda: W.S.request("GET", path, token=token, timeout=20))
            with lock:
                results.append((path, getattr(r, "status", repr(r)), s))

        threads = [threading.Thread(target=one_submit, args=(i,)) for i in range(3)]
        for t in threads:
            t.start()
        time.sleep(0.2)  # the submits wait on the lock now
        readers = []
        for _ in range(3):
            for path, tok in (("/healthz", None),
                              ("/v1/configs/%s/base/versions" % NS, W.reader),
                              ("/v1/digests/" + W.digest, W.reader)):
                readers.append(threading.Thread(target=one_read, args=(path, tok)))
        for t in readers:
            t.start()
        for t in threads + readers:
            t.join(30)
    finally:
        try:
            psql.stdin.write("ROLLBACK;\n")
            psql.stdin.close()
        except OSError:
            pass
        psql.wait(10)

    subs = [x for x in results if x[0] == "submit"]
    reads = [x for x in results if x[0] != "submit"]
    note("row lock: submits answered %s in %s ms (bound: lock_timeout %d + 1000)" % (
        [x[1] for x in subs], ["%.0f" % (x[2] * 1e3) for x in subs], LOCK_MS))
    note("row lock: reads meanwhile: max %.1f ms over %d requests" % (
        max((x[2] for x in reads), default=0) * 1e3, len(reads)))
    assert len(subs) == 3, "submits lost: %r" % results
    for x in subs:
        assert x[1] == 503, "a submit under the held lock answered %r" % (x,)
        assert x[2] < LOCK_MS / 1000.0 + 1.0, "a submit took %.2f s" % x[2]
    for x in reads:
        assert x[1] == 200, "a read under the held lock answered %r" % (x,)
        assert x[2] < 0.5, "a read under the held lock took %.2f s: %r" % (x[2], x)
    r = submit("locked", "9.5e-5")
    status(r, 201, "submit once the lock is gone")


def t_settings_checked():
    p = subprocess.run([SERVER_BIN, "serve", "--db-timeout-ms", "5"],
                       env=W.reg.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=20)
    assert p.returncode == 2, "exit %d: %s" % (p.returncode, p.stderr)
    assert "--db-timeout-ms must be 100..3600000 milliseconds (got 5)" in p.stderr, p.stderr


def main():
    if not tap.run("setup: a server with short database timeouts", setup):
        print("1..1")
        return 1
    tap.run("SIGSTOP of PostgreSQL for %d s: /healthz under 100 ms, 503 in time, "
            "cached digests 200, recovery" % STALL_S, t_sigstop)
    tap.run("a held audit_head row lock: submits 503 within lock_timeout + 1 s, "
            "reads unaffected", t_row_lock)
    tap.run("database timeout settings are checked", t_settings_checked)
    return tap.finish()


if __name__ == "__main__":
    sys.exit(main())
