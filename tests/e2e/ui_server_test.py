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
    suite), job_state and signer_keyids.

usage: tests/e2e/ui_server_test.py     (from the repository root)
Prints TAP and exits 1 when any test fails.
"""

import hashlib
import os
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


def setup():
    w.reg = h.Registry().start()
    w.s = w.reg.server()
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
    ("the page is served with PostgreSQL down", t_without_database),
]


def main():
    return h.run_suite(tap, w, setup, STATIC + LAST, "start the registry")


if __name__ == "__main__":
    sys.exit(main())
