#!/usr/bin/python3
"""tests/e2e/flood_test.py: what a token (or a client with none) can make
the registry do by failing on purpose (issue 10, item 4; and the 403s of
/v1/jobs/* audited like any refused write, item 6), against a real
optreg-server over a private PostgreSQL cluster (tests/e2e/harness.py).

What it covers:

  - 2,000 refused writes from one reader token in a few seconds add a
    bounded number of audit events: at most --denied-events write.denied
    events per window and one write.denied.summary per window, whose counts
    account for every refusal (recorded + denied + rate_limited = 2,000);
    writes past the budget are answered 429 rate_limited with Retry-After;
  - a 1 MiB envelope of bogus signatures is refused bad_envelope and logs
    nothing; 16 signatures with 60 KB key ids are refused (403) and logged
    as an event under 4 KiB; no event in the log is over 4 KiB;
  - another principal's submits, from another address, keep their latency
    during the flood: p99 within 2x of idle (printed as # diagnostics);
  - failed authentications: unknown tokens from one address get 429 after
    the address's budget, while a valid token already authenticated keeps
    working from that address, and another address still gets 401; one
    unknown token tried again and again gets 429 after its own budget;
  - a 403 on POST /v1/jobs/lease is recorded as write.denied.

The flooder connects from 127.0.0.2 and the failed-authentication client
from 127.0.0.3 (Linux routes all of 127/8 to lo), so each has an address
of its own, as an attacker would.

usage: tests/e2e/flood_test.py     (from the repository root)
env:   BIN   folder with optreg and optreg-server (default "bin")
"""

import base64
import http.client as http_client
import json
import os
import secrets
import sys
import threading
import time
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Registry, Signer, Tap, envelope, eq)  # noqa: E402

tap = Tap()


class W:
    """What the tests share."""


A = "team-a"
WINDOW = 5          # --denied-window for this server
EVENTS = 10         # the default --denied-events
FLOOD = 2000

PAYLOAD = ('{"apiVersion":"optreg/v1","kind":"OptimizerConfig","metadata":'
           '{"description":"%s","name":"%s","namespace":"%s"},"spec":{"betas":'
           '[0.9,0.999],"eps":1e-8,"lr":0.001,"optimizer":"adamw",'
           '"weight_decay":0.01}}')


def payload(ns, name, desc):
    return (PAYLOAD % (desc, name, ns)).encode("utf-8")


class Client:
    """A keep-alive connection from a chosen loopback address."""

    def __init__(self, srv, source="127.0.0.1"):
        self.port = srv.port
        self.source = source
        self.conn = None

    def request(self, method, path, body=None, token=None):
        h = {}
        if token:
            h["Authorization"] = "Bearer " + token
        if body is not None:
            if not isinstance(body, bytes):
                body = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        for attempt in range(2):
            if self.conn is None:
                self.conn = http_client.HTTPConnection(
                    "127.0.0.1", self.port, timeout=30,
                    source_address=(self.source, 0))
            try:
                self.conn.request(method, path, body=body, headers=h)
                r = self.conn.getresponse()
                data = r.read()
                if r.getheader("Connection", "").lower() == "close":
                    self.conn.close()
                    self.conn = None
                return r.status, r.getheader("Retry-After"), data
            except (OSError, http_client.HTTPException):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def close(self):
        if self.conn:
            self.conn.close()
            self.conn = None


def base62(n, width):
    digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    out = ""
    for _ in range(width):
        out = digits[n % 62] + out
        n //= 62
    return out


def fake_token():
    """A well-formed optreg token (right checksum) that no one was given."""
    body = "".join(secrets.choice("abcdefghijkmnopqrstuvwxyzABCDEFGH0123456789")
                   for _ in range(43))
    return "optreg_" + body + "_" + base62(zlib.crc32(body.encode()), 6)


def events(actor=None, action=None):
    where = []
    if actor is not None:
        where.append("actor = '%s'" % actor)
    if action is not None:
        where.append("action = '%s'" % action)
    sql = "SELECT event FROM audit_events %s ORDER BY idx" % (
        ("WHERE " + " AND ".join(where)) if where else "")
    out = W.R.psql(sql).stdout.splitlines()
    return [json.loads(line) for line in out if line.strip()]


def log_size():
    return int(W.R.psql("SELECT count(*) FROM audit_events").stdout.strip())


def submit_path(ns, name):
    return "/v1/configs/%s/%s/versions" % (ns, name)


def p99(xs):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(0.99 * len(xs)))]


# ---------------------------------------------------------------- setup

def setup():
    W.R = Registry().start()
    W.S = W.R.server("--denied-window", str(WINDOW), "--threads", "4", name="S")
    tap.context = W.R.logs
    W.admin, _ = W.R.token("admin@ops", "admin")
    W.reader, W.reader_id = W.R.token("flooder@team-a", "reader", namespace=A)
    W.sub, _ = W.R.token("ci@team-a", ["submitter"], namespace="team-*")
    W.victim, _ = W.R.token("victim@team-a", ["submitter"], namespace="team-*")
    W.lessee, _ = W.R.token("lessee@team-a", "reader", namespace=A)
    W.key = Signer(W.R.tmp, "signer")
    c = Client(W.S)
    st, _, body = c.request("POST", "/v1/keys", token=W.admin, body={
        "public_key": W.key.public_pem, "principal": "victim@team-a",
        "namespaces": ["team-*"]})
    eq(st, 201, "key registered: %r" % body[:300])
    c.close()
    W.n = 0


def victim_submits(n, tag):
    """n submits by the victim from 127.0.0.1, one at a time, each a new
    version; returns their latencies in seconds."""
    c = Client(W.S)
    lat = []
    for _ in range(n):
        W.n += 1
        data = payload(A, "victim", "%s %d" % (tag, W.n))
        body = envelope(data, (W.key,))
        t0 = time.monotonic()
        st, _, resp = c.request("POST", submit_path(A, "victim"), body=body,
                                token=W.victim)
        lat.append(time.monotonic() - t0)
        eq(st, 201, "victim submit: %r" % resp[:300])
    c.close()
    return lat


# ---------------------------------------------------------------- tests

def t_flood_bounded():
    n0 = log_size()
    bytes0 = int(W.R.psql("SELECT coalesce(sum(octet_length(event)), 0) "
                          "FROM audit_events").stdout.strip())
    body = envelope(payload(A, "flood", "refused"), ())
    statuses = {}
    retry_after = set()
    lock = threading.Lock()

    def flooder(k):
        c = Client(W.S, "127.0.0.2")
        for _ in range(FLOOD // 4):
            st, ra, _ = c.request("POST", submit_path(A, "flood"), body=body,
                                  token=W.reader)
            with lock:
                statuses[st] = statuses.get(st, 0) + 1
                if ra:
                    retry_after.add(ra)
        c.close()

    t0 = time.monotonic()
    ts = [threading.Thread(target=flooder, args=(k,)) for k in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    elapsed = time.monotonic() - t0
    eq(sum(statuses.values()), FLOOD, "answers")
    eq(set(statuses) - {403, 429}, set(), "only 403 and 429 (%r)" % statuses)
    assert statuses.get(429, 0) > FLOOD // 2, "most answered 429: %r" % statuses
    assert retry_after and all(r.isdigit() and int(r) >= 1 for r in retry_after), \
        "429s carry Retry-After in seconds: %r" % retry_after
    denied_now = len(events("flooder@team-a", "write.denied"))
    # The summary comes once the window has ended (a thread looks once a
    # second).
    deadline = time.monotonic() + WINDOW + 10
    while time.monotonic() < deadline:
        summaries = events("flooder@team-a", "write.denied.summary")
        if summaries:
            got = sum(s["details"]["denied"] + s["details"]["rate_limited"]
                      for s in summaries)
            if got + len(events("flooder@team-a", "write.denied")) >= FLOOD:
                break
        time.sleep(0.5)
    denied = events("flooder@team-a", "write.denied")
    summaries = events("flooder@team-a", "write.denied.summary")
    added = log_size() - n0
    bytes1 = int(W.R.psql("SELECT coalesce(sum(octet_length(event)), 0) "
                          "FROM audit_events").stdout.strip())
    windows = int((elapsed + WINDOW) // WINDOW) + 1
    bound = windows * (EVENTS + 1)
    print("# flood: %d refused writes in %.2f s (%.0f/s): %d answered 403, %d "
          "answered 429" % (FLOOD, elapsed, FLOOD / elapsed, statuses.get(403, 0),
                            statuses.get(429, 0)))
    print("# flood: audit log grew by %d events (%d write.denied, %d "
          "write.denied.summary; %d right after the flood), %d bytes; bound "
          "for %d windows of %d s: %d" % (
              added, len(denied), len(summaries), denied_now, bytes1 - bytes0,
              windows, WINDOW, bound))
    eq(added, len(denied) + len(summaries), "only the flooder's events")
    assert len(denied) <= EVENTS * windows, "write.denied events: %d" % len(denied)
    assert 1 <= len(summaries) <= windows, "summaries: %d" % len(summaries)
    accounted = len(denied) + sum(s["details"]["denied"] + s["details"]["rate_limited"]
                                  for s in summaries)
    eq(accounted, FLOOD, "refusals accounted for (events + summary counts)")
    eq(sorted(summaries[0]["details"]),
       ["denied", "rate_limited", "recorded", "since", "window_seconds"],
       "summary details")
    eq(summaries[0]["details"]["window_seconds"], WINDOW, "window_seconds")
    eq(summaries[0]["actor"]["token_id"], W.reader_id, "summary actor")


def t_big_envelope():
    n0 = log_size()
    c = Client(W.S)
    sig = base64.b64encode(os.urandom(64)).decode()
    one = {"keyid": "0" * 64, "sig": sig}
    per = len(json.dumps(one)) + 2
    nsigs = (1000 * 1000) // per
    data = payload(A, "big", "bogus signatures")
    env = envelope(data, [one] * nsigs)
    raw = json.dumps(env).encode()
    assert 900 * 1000 < len(raw) < 1 << 20, "envelope of %d bytes" % len(raw)
    st, _, resp = c.request("POST", submit_path(A, "big"), body=raw, token=W.sub)
    eq(st, 400, "status for %d signatures: %r" % (nsigs, resp[:300]))
    eq(json.loads(resp)["code"], "bad_envelope", "problem code")
    assert b"at most 16" in resp, resp[:400]
    eq(log_size(), n0, "events after a refused envelope")
    # 16 signatures, each with a 60 KB key id: signature_refused, and the
    # event recorded is under 4 KiB.
    big = [{"keyid": "%02d" % i + "f" * 60000, "sig": sig} for i in range(16)]
    raw = json.dumps(envelope(data, big)).encode()
    assert len(raw) > 900 * 1000, len(raw)
    st, _, resp = c.request("POST", submit_path(A, "big"), body=raw, token=W.sub)
    eq(st, 403, "status for 16 huge signatures: %r" % resp[:300])
    c.close()
    es = events("ci@team-a", "write.denied")
    assert es, "the refusal is recorded"
    size = len(json.dumps(es[-1], separators=(",", ":")))
    biggest = int(W.R.psql("SELECT max(octet_length(event)) FROM audit_events")
                  .stdout.strip())
    print("# big envelope: %d bytes (%d signatures) refused bad_envelope, no event; "
          "16 signatures with 60 KB key ids: event of %d bytes; largest event "
          "in the log: %d bytes" % (len(json.dumps(env)), nsigs, size, biggest))
    assert biggest < 4096, "largest event %d bytes" % biggest


def latency_round():
    """One measurement: idle and busy blocks alternate, so load from outside
    the test falls on both alike; during busy blocks one flooder sends
    refused writes at RATE a second (the issue measured about 800 a second).
    Returns (p99 idle, p99 busy, a line describing it)."""
    RATE, ROUNDS, BLOCK = 800, 10, 20
    victim_submits(5, "warm")
    busy_now = threading.Event()
    stop = threading.Event()
    counts = {"n": 0, "t": 0.0}

    def flooder():
        c = Client(W.S, "127.0.0.2")
        body = envelope(payload(A, "flood", "refused"), ())
        while not stop.is_set():
            if not busy_now.wait(0.05):
                continue
            t0 = time.monotonic()
            i = 0
            while busy_now.is_set() and not stop.is_set():
                ahead = t0 + i / RATE - time.monotonic()
                if ahead > 0:
                    time.sleep(ahead)
                c.request("POST", submit_path(A, "flood"), body=body, token=W.reader)
                i += 1
            counts["n"] += i
            counts["t"] += time.monotonic() - t0
        c.close()

    t = threading.Thread(target=flooder)
    t.start()
    idle, busy = [], []
    try:
        for _ in range(ROUNDS):
            idle += victim_submits(BLOCK, "idle")
            busy_now.set()
            time.sleep(0.2)
            busy += victim_submits(BLOCK, "busy")
            busy_now.clear()
            time.sleep(0.1)
    finally:
        stop.set()
        busy_now.set()
        t.join()
    pi, pb = p99(idle), p99(busy)
    mid = len(idle) // 2
    line = ("%d victim submits idle: p50 %.1f ms, p99 %.1f ms; %d during "
            "the flood (%d refused writes at %.0f/s): p50 %.1f ms, p99 %.1f ms "
            "(%.2fx idle)" % (
                len(idle), 1000 * sorted(idle)[mid], 1000 * pi, len(busy), counts["n"],
                counts["n"] / max(counts["t"], 1e-9), 1000 * sorted(busy)[mid],
                1000 * pb, pb / pi))
    return pi, pb, line


def t_latency():
    """Another principal's p99 stays within 2x of idle. The flooding client
    shares this machine's CPUs with the server and the victim, so one round
    can exceed 2x from the client's own load: up to three rounds are
    measured, and the check fails only when none is within 2x (a real
    slowdown shows in all three)."""
    worst = None
    for attempt in range(1, 4):
        pi, pb, line = latency_round()
        print("# latency, round %d: %s" % (attempt, line))
        if pb <= 2 * pi:
            return
        worst = (pi, pb)
    raise AssertionError("p99 above 2x idle in 3 rounds; last: %.1f ms > 2 x %.1f ms"
                         % (1000 * worst[1], 1000 * worst[0]))


def t_auth_failures():
    c = Client(W.S, "127.0.0.3")
    st, _, _ = c.request("GET", "/v1/configs/%s/victim/versions/1" % A,
                         token=W.victim)
    eq(st, 200, "a good token reads (and is cached)")
    statuses = {}
    ra = None
    for i in range(300):
        tok = fake_token() if i % 3 else "not-a-token-%d" % i
        st, r, _ = c.request("GET", "/v1/configs/%s/victim/versions/1" % A,
                             token=tok)
        statuses[st] = statuses.get(st, 0) + 1
        ra = ra or r
    print("# auth failures from one address: %r" % statuses)
    eq(set(statuses), {401, 429}, "statuses")
    assert 90 <= statuses[401] <= 110, "401s before the limit: %r" % statuses
    assert ra and int(ra) >= 1, "Retry-After %r" % ra
    st, _, _ = c.request("GET", "/v1/configs/%s/victim/versions/1" % A,
                         token=W.victim)
    eq(st, 200, "the good token still reads from that address")
    c.close()
    c = Client(W.S, "127.0.0.1")
    st, _, _ = c.request("GET", "/v1/configs/%s/victim/versions/1" % A,
                         token=fake_token())
    eq(st, 401, "another address is not limited")
    c.close()
    # One unknown token, tried again and again: its own budget (20) runs
    # out long before its address's (100).
    c = Client(W.S, "127.0.0.4")
    tok = fake_token()
    got = [c.request("GET", "/v1/configs/%s/victim/versions/1" % A, token=tok)[0]
           for _ in range(30)]
    eq(got, [401] * 20 + [429] * 10, "one unknown token 30 times")
    st, _, _ = c.request("GET", "/v1/configs/%s/victim/versions/1" % A,
                         token=fake_token())
    eq(st, 401, "another unknown token from that address")
    c.close()


def t_jobs_denied_audited():
    n0 = log_size()
    c = Client(W.S)
    st, _, resp = c.request("POST", "/v1/jobs/lease", body={}, token=W.lessee)
    c.close()
    eq(st, 403, "a reader leasing: %r" % resp[:200])
    es = events("lessee@team-a", "write.denied")
    eq(len(es), 1, "write.denied events")
    eq(es[0]["details"]["route"], "/v1/jobs/lease", "route")
    eq(es[0]["details"]["code"], "forbidden", "code")
    eq(log_size(), n0 + 1, "log size")


def t_address_budget_spares_others():
    """Readers behind one address (a NAT, a proxy) spend its budget of
    refused writes; the readers are limited, but an admin from the same
    address, refused nothing itself, still writes. A second server with a
    small budget (2 a token, 10 an address, refilled 1 and 5 a minute) keeps
    the address spent for the whole test."""
    S = W.R.server("--failure-burst", "2", "--failure-rate", "1", name="L")
    c = Client(S, "127.0.0.5")
    readers = [W.R.token("nat%d@team-a" % i, "reader", namespace=A)[0]
               for i in range(7)]

    def key_body():
        return {"public_key": Signer(W.R.tmp).public_pem,
                "principal": "nat@team-a", "namespaces": [A]}

    got = []
    for tok in readers[:6]:
        got += [c.request("POST", "/v1/keys", body=key_body(), token=tok)[0]
                for _ in range(3)]
    # Each reader's own budget allows 2 refusals; the address's runs out
    eq(got[:3], [403, 403, 429], "the first reader's three writes")
    # after about 5 (it holds 2, each costs a fifth, and waits below 1);
    # then each new reader is refused once, and limited from then on.
    eq(got[-3:], [403, 429, 429], "the last reader's three writes")
    st, ra, resp = c.request("POST", "/v1/keys", body=key_body(), token=readers[0])
    eq(st, 429, "a limited reader stays limited: %r" % resp[:200])
    assert ra and int(ra) >= 1, "Retry-After %r" % ra
    # A reader new to this address is refused once, then limited by the
    # address it shares.
    got = [c.request("POST", "/v1/keys", body=key_body(), token=readers[6])[0]
           for _ in range(2)]
    eq(got, [403, 429], "a seventh reader")
    st, _, resp = c.request("POST", "/v1/keys", body=key_body(), token=W.admin)
    eq(st, 201, "the admin writes from the same address: %r" % resp[:300])
    c.close()


def main():
    if not tap.run("setup: registry, a server with --denied-window %d, tokens, a key"
                   % WINDOW, setup):
        print("1..1")
        return 1
    for desc, fn in [
        ("jobs: a 403 on POST /v1/jobs/lease is recorded as write.denied",
         t_jobs_denied_audited),
        ("flood: 2,000 refused writes from one reader add at most %d events a "
         "window, every refusal counted" % (EVENTS + 1), t_flood_bounded),
        ("envelopes: over 16 signatures is bad_envelope; no event over 4 KiB",
         t_big_envelope),
        ("latency: another principal's submits keep p99 within 2x of idle",
         t_latency),
        ("auth: failed authentications from one address get 429; a good "
         "token still works", t_auth_failures),
        ("writes: an address's spent budget limits its refused readers, not "
         "an admin that was refused nothing", t_address_budget_spares_others),
    ]:
        tap.run(desc, fn)
    return tap.finish()


if __name__ == "__main__":
    sys.exit(main())
