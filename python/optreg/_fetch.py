"""optreg.fetch: a config from the registry, checked against its digest.

via="cli" runs the optreg command-line client (`optreg fetch REF --format
json`, or `optreg fetch --lock LOCK --format json`), so everything the CLI
does applies: the digest check, --verify, the lock's signature and receipt
checks, the local cache and its fallback when the registry is down. What
the CLI says on stderr (warnings, "using the cached copy") is passed on to
sys.stderr.

via="rest" talks HTTP to the registry with the standard library and checks
what it can without the CLI: the config canonicalizes (RFC 8785, _jcs.py)
to the version's digest, the answer is the version asked for, and with a
lock the digest is the lock's. It does not check signatures or receipts
and has no cache: use the CLI for that.
"""

import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

from . import _jcs

DEFAULT_URL = "http://127.0.0.1:8080"
TIMEOUT = 30
# A version document (config, envelope, receipt) is a few KiB; the registry
# takes 1 MiB at most. Anything larger is not an optreg answer.
MAX_RESPONSE = 16 << 20

_NS = r"[a-z0-9][a-z0-9-]{0,62}"
_NAME = r"[a-z0-9][a-z0-9._-]{0,127}"
_TAG = r"[a-z0-9][a-z0-9._-]{0,63}"
_REF_RE = re.compile(r"^(%s)/(%s)(?:@(%s))?$" % (_NS, _NAME, _TAG))
_DIGEST_RE = re.compile(r"^sha256:[0-9a-f]{64}$")

LOCK_FIELDS = ("optreg_lock", "ref", "namespace", "name", "version", "digest",
               "registry", "registry_keyid", "registry_key", "pinned_at")


class OptregError(Exception):
    """optreg.fetch could not return a checked config.

    `exit_status` is the CLI's exit status (docs/cli.md) when it ran, or
    the one the CLI would give for the same failure; `code` the registry's
    problem code (or a local one: "digest_mismatch", "bad_response",
    "usage", "io"...); `status` the HTTP status, when there was one."""

    __module__ = "optreg"

    def __init__(self, message, code=None, exit_status=None, status=None):
        super().__init__(message)
        self.code = code
        self.exit_status = exit_status
        self.status = status


class Config(dict):
    """The config document (a dict), with where it came from: `digest`
    ("sha256:..."), `ref` (ns/name@N when known, else the digest) and
    `canonical` (the RFC 8785 bytes that were checked)."""

    __module__ = "optreg"
    digest = None
    ref = None
    canonical = None


def _result(canon, ref):
    doc = _jcs.loads(canon)
    if not isinstance(doc, dict):
        raise OptregError("the config is not a JSON object", code="bad_response",
                          exit_status=7)
    c = Config(doc)
    c.canonical = bytes(canon)
    c.digest = _jcs.digest(canon)
    c.ref = ref or c.digest
    return c


def read_lock(path):
    """Reads and checks a lock file (`optreg pin`); returns its dict. A
    file that is not exactly what `pin` writes is OptregError exit_status 2
    (as `optreg fetch --lock`), naming the field; an unreadable one 3."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise OptregError("cannot read the lock file %s: %s" % (path, e.strerror),
                          code="io", exit_status=3) from None
    try:
        lock = _jcs.loads(raw)
    except ValueError as e:
        raise OptregError("%s: not a lock file: %s" % (path, e), code="usage",
                          exit_status=2) from None
    if not isinstance(lock, dict):
        raise OptregError("%s: not a lock file: expected a JSON object" % path,
                          code="usage", exit_status=2)
    for k in lock:
        if k not in LOCK_FIELDS:
            raise OptregError("%s: unknown lock field %r: this lock was written by "
                              "a newer optreg, or edited" % (path, k),
                              code="usage", exit_status=2)
    if lock.get("optreg_lock") != 1:
        raise OptregError("%s: optreg_lock must be 1 (got %r)"
                          % (path, lock.get("optreg_lock")), code="usage", exit_status=2)
    for k in ("ref", "namespace", "name", "digest", "registry", "registry_keyid",
              "registry_key", "pinned_at"):
        if k not in lock:
            raise OptregError("%s: lock field %s is missing: write the lock with "
                              "`optreg pin`" % (path, k), code="usage", exit_status=2)
        if not isinstance(lock.get(k), str):
            raise OptregError("%s: lock field %s must be a string (got %r)"
                              % (path, k, lock.get(k)), code="usage", exit_status=2)
    v = lock.get("version")
    if isinstance(v, bool) or not isinstance(v, int) or v < 1:
        raise OptregError("%s: lock field version must be a positive integer "
                          "(got %r)" % (path, v), code="usage", exit_status=2)
    if not _DIGEST_RE.match(lock["digest"]):
        raise OptregError("%s: lock field digest must be sha256:<64 hex> (got %r)"
                          % (path, lock["digest"]), code="usage", exit_status=2)
    return lock


def fetch(ref=None, lock=None, *, url=None, token=None, cli="optreg", via="cli",
          verify=False, allow_yanked=False, timeout=TIMEOUT):
    """The config document of `ref` (ns/name, ns/name@N, ns/name@TAG or
    sha256:<hex>) or of the lock file `lock`, as a dict (optreg.Config),
    checked against its digest. Raises OptregError.

    url, token: the registry and bearer token (default $OPTREG_URL,
    $OPTREG_TOKEN; via="rest" with a lock falls back to the lock's registry).
    cli: the optreg program (via="cli"). verify: also check signatures and
    the receipt (`fetch --verify`; via="cli" only; a lock always does).
    """
    if (ref is None) == (lock is None):
        raise OptregError("optreg.fetch needs a ref or a lock (exactly one)",
                          code="usage", exit_status=2)
    if ref is not None and not isinstance(ref, str):
        raise OptregError("ref must be a string such as \"team-nlp/bert@prod\" (got %r)"
                          % (ref,), code="usage", exit_status=2)
    if url is not None and re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://[^/]*@", str(url)):
        raise OptregError("the registry URL %s has a user:password@ part, which would "
                          "show in command lines and messages: pass the token as "
                          "token= or $OPTREG_TOKEN" % _redact(str(url)), code="usage",
                          exit_status=2)
    if via == "cli":
        return _fetch_cli(ref, lock, url, token, cli, verify, allow_yanked, timeout)
    if via == "rest":
        if verify:
            raise OptregError("verify=True needs via=\"cli\": the REST path checks "
                              "digests, not signatures or receipts", code="usage",
                              exit_status=2)
        return _fetch_rest(ref, lock, url, token, allow_yanked, timeout)
    raise OptregError('via must be "cli" or "rest" (got %r)' % (via,), code="usage",
                      exit_status=2)


# ------------------------------------------------------------------ CLI

def _fetch_cli(ref, lock, url, token, cli, verify, allow_yanked, timeout):
    cli = os.fspath(cli)
    prog = shutil.which(cli) if os.sep not in cli else cli
    if not prog or not os.access(prog, os.X_OK):
        raise OptregError("the optreg command-line client %r was not found: "
                          "install it, pass cli=PATH, or use via=\"rest\"" % cli,
                          code="io", exit_status=3)
    argv = [prog, "fetch"]
    if lock is not None:
        lk = read_lock(lock)
        argv += ["--lock", os.fspath(lock)]
    elif _DIGEST_RE.match(ref) or _REF_RE.match(ref):
        argv.append(ref)
    else:
        raise OptregError("%r is not a reference: expected NAMESPACE/NAME[@VERSION|@TAG] "
                          "or sha256:<64 hex>" % ref, code="usage", exit_status=2)
    argv += ["--format", "json"]
    if verify:
        argv.append("--verify")
    if allow_yanked:
        argv.append("--allow-yanked")
    if url:
        argv += ["--url", url]
    env = dict(os.environ)
    if token is not None:
        env["OPTREG_TOKEN"] = token  # not on the command line
    try:
        p = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=timeout + 30)
    except subprocess.TimeoutExpired:
        raise OptregError("optreg fetch did not finish in %d s" % (timeout + 30),
                          code="unavailable", exit_status=7) from None
    err = p.stderr.decode("utf-8", "replace")
    if p.returncode < 0:
        raise OptregError("optreg fetch was killed by signal %d%s"
                          % (-p.returncode, (": " + err.strip()) if err.strip() else ""),
                          code="io", exit_status=3)
    if p.returncode != 0:
        msg = err.strip() or "optreg fetch exited with status %d" % p.returncode
        raise OptregError(msg, code=_code_of(err), exit_status=p.returncode)
    if err:
        sys.stderr.write(err)
        sys.stderr.flush()
    got = _jcs.digest(p.stdout)
    want = None
    if lock is not None:
        want = lk["digest"]
    elif _DIGEST_RE.match(ref):
        want = ref
    if want and got != want:
        raise OptregError("optreg fetch printed content whose digest is %s, not %s"
                          % (got, want), code="digest_mismatch", exit_status=1)
    try:
        canon_ok = _jcs.canonicalize(_jcs.loads(p.stdout)) == p.stdout
    except ValueError:
        canon_ok = False
    if not canon_ok:
        raise OptregError("optreg fetch --format json printed something that is "
                          "not canonical JSON", code="bad_response", exit_status=7)
    where = None
    if lock is not None:
        where = "%s/%s@%d" % (lk["namespace"], lk["name"], lk["version"])
    elif not _DIGEST_RE.match(ref) and "@" in ref and ref.rsplit("@", 1)[1].isdigit():
        where = ref
    return _result(p.stdout, where)


def _code_of(stderr):
    m = re.search(r"\((?:\d{3} )?([a-z_]+)\)\s*$", stderr.strip().split("\n")[0])
    return m.group(1) if m else None


# ------------------------------------------------------------------ REST

class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None  # never follow: the token goes to the registry only


_opener = urllib.request.build_opener(_NoRedirect)

_EXIT_OF_STATUS = {400: 1, 401: 6, 403: 4, 404: 8, 405: 1, 409: 5, 413: 1,
                   415: 1, 422: 1}


class _Resp:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body


def _redact(url):
    """`url` without a user:password@ part, for messages."""
    return re.sub(r"^([a-zA-Z][a-zA-Z0-9+.-]*://)[^/]*@", r"\1***@", url)


def _read(r, limit, deadline, base):
    """The body of `r`, at most `limit` bytes, read by the `deadline`
    (time.monotonic()). Each read waits at most the socket's timeout and
    returns what has arrived, so a registry that sends a byte at a time
    is cut off within a timeout of the deadline."""
    chunks, n = [], 0
    while True:
        if time.monotonic() > deadline:
            raise socket.timeout("timed out")
        b = r.read1(65536)
        if not b:
            return b"".join(chunks)
        n += len(b)
        if n > limit:
            raise OptregError("the registry at %s answered with more than %d bytes: "
                              "not an optreg registry, or a broken proxy"
                              % (_redact(base), limit), code="bad_response",
                              exit_status=7)
        chunks.append(b)


def _get(base, path, token, timeout):
    full = base.rstrip("/") + path
    req = urllib.request.Request(full, headers={"Accept": "application/json"})
    if token:
        req.add_header("Authorization", "Bearer " + token)
    deadline = time.monotonic() + timeout
    try:
        try:
            with _opener.open(req, timeout=timeout) as r:
                return _Resp(r.status, r.headers, _read(r, MAX_RESPONSE, deadline, base))
        except urllib.error.HTTPError as e:
            body = _read(e, MAX_RESPONSE, deadline, base) if e.fp else b""
            return _Resp(e.code, e.headers, body)
    except OptregError:
        raise
    except (urllib.error.URLError, OSError, http.client.HTTPException) as e:
        reason = getattr(e, "reason", e)
        if isinstance(e, socket.timeout) or isinstance(reason, socket.timeout):
            reason = "no complete answer within %g s" % timeout
        raise OptregError("the registry at %s could not be reached: %s"
                          % (_redact(base), reason), code="unavailable",
                          exit_status=7) from None


def _http_error(what, r):
    code, detail = None, ""
    try:
        pj = json.loads(r.body)
        code = pj.get("code")
        detail = pj.get("detail") or pj.get("title") or ""
    except (ValueError, AttributeError):
        pass
    if r.status in (301, 302, 303, 307, 308):
        code = code or "unavailable"
        detail = detail or "the registry redirected (redirects are not followed)"
    status = _EXIT_OF_STATUS.get(r.status, 7)
    msg = "%s: %d %s%s" % (what, r.status, code or "error", (": " + detail) if detail else "")
    return OptregError(msg, code=code, exit_status=status, status=r.status)


def _q(s):
    return urllib.parse.quote(s, safe="")


def _fetch_rest(ref, lock, url, token, allow_yanked, timeout):
    lk = read_lock(lock) if lock is not None else None
    base = url or os.environ.get("OPTREG_URL") or (lk and lk["registry"]) or DEFAULT_URL
    if not re.match(r"^https?://", base):
        raise OptregError("the registry URL must start with http:// or https:// (got %r)"
                          % _redact(base), code="usage", exit_status=2)
    if _redact(base) != base:
        raise OptregError("the registry URL %s has a user:password@ part: pass the "
                          "token as token= or $OPTREG_TOKEN" % _redact(base),
                          code="usage", exit_status=2)
    if token is None:
        token = os.environ.get("OPTREG_TOKEN") or None
    if lk is not None:
        c = _rest_version(base, token, timeout, lk["namespace"], lk["name"],
                          lk["version"], None, allow_yanked=True)
        if c.digest != lk["digest"]:
            raise OptregError("%s/%s@%d has digest %s, but the lock %s pins %s"
                              % (lk["namespace"], lk["name"], lk["version"], c.digest,
                                 lock, lk["digest"]), code="digest_mismatch",
                              exit_status=1)
        return c
    if _DIGEST_RE.match(ref):
        r = _get(base, "/v1/digests/" + _q(ref), token, timeout)
        if r.status != 200:
            raise _http_error(ref, r)
        if _jcs.digest(r.body) != ref:
            raise OptregError("the registry sent content whose digest is %s, not %s"
                              % (_jcs.digest(r.body), ref), code="digest_mismatch",
                              exit_status=1)
        if (r.headers.get("X-Optreg-Yanked") or "").lower() == "true":
            sys.stderr.write("optreg.fetch: warning: %s is yanked\n"
                             % (r.headers.get("X-Optreg-Version") or ref))
        return _result(r.body, r.headers.get("X-Optreg-Version"))
    m = _REF_RE.match(ref)
    if not m:
        raise OptregError("%r is not a reference: expected NAMESPACE/NAME[@VERSION|@TAG] "
                          "or sha256:<64 hex>" % ref, code="usage", exit_status=2)
    ns, name, at = m.group(1), m.group(2), m.group(3)
    if at is None:
        path = "/v1/configs/%s/%s/versions?page_size=1" % (_q(ns), _q(name))
        r = _get(base, path, token, timeout)
        if r.status != 200:
            raise _http_error("%s/%s" % (ns, name), r)
        try:
            first = (json.loads(r.body).get("versions") or [None])[0]
        except (ValueError, AttributeError):
            raise OptregError("the registry's versions list for %s/%s is not JSON"
                              % (ns, name), code="bad_response", exit_status=7) from None
        if first is None:
            raise OptregError("%s/%s has no versions" % (ns, name), code="not_found",
                              exit_status=8)
        v = first.get("version")
        if isinstance(v, float) and v == int(v):
            v = int(v)
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise OptregError("the registry's versions list for %s/%s has no valid "
                              "version number" % (ns, name), code="bad_response",
                              exit_status=7)
        return _rest_version(base, token, timeout, ns, name, v, None, allow_yanked)
    if at.isdigit():
        return _rest_version(base, token, timeout, ns, name, int(at), None, allow_yanked)
    return _rest_version(base, token, timeout, ns, name, None, at, allow_yanked)


def _rest_version(base, token, timeout, ns, name, version, tag, allow_yanked):
    path = "/v1/configs/%s/%s" % (_q(ns), _q(name))
    what = "%s/%s@%s" % (ns, name, version if tag is None else tag)
    if tag is None:
        path += "/versions/%d" % version
    else:
        path += "/tags/" + _q(tag)
    r = _get(base, path, token, timeout)
    if r.status != 200:
        raise _http_error(what, r)
    try:
        doc = _jcs.loads(r.body)
    except ValueError as e:
        raise OptregError("%s: the registry's answer is not JSON: %s" % (what, e),
                          code="bad_response", exit_status=7) from None
    got_v = doc.get("version") if isinstance(doc, dict) else None
    if isinstance(got_v, float) and got_v == int(got_v):
        got_v = int(got_v)
    if (not isinstance(doc, dict) or not isinstance(doc.get("config"), dict)
            or not isinstance(doc.get("digest"), str) or not isinstance(got_v, int)):
        raise OptregError("the registry's answer for %s lacks namespace, name, "
                          "version, digest or config" % what, code="bad_response",
                          exit_status=7)
    if (doc.get("namespace") != ns or doc.get("name") != name
            or (version is not None and got_v != version)):
        raise OptregError("asked for %s, the registry answered with %s/%s@%s"
                          % (what, doc.get("namespace"), doc.get("name"), got_v),
                          code="bad_response", exit_status=7)
    try:
        canon = _jcs.canonicalize(doc["config"])
    except ValueError as e:
        raise OptregError("the config of %s/%s@%d cannot be canonicalized: %s"
                          % (ns, name, got_v, e), code="digest_mismatch",
                          exit_status=1) from None
    got = _jcs.digest(canon)
    hdr = r.headers.get("X-Optreg-Digest")
    if got != doc["digest"] or (hdr and hdr != doc["digest"]):
        raise OptregError("the config of %s/%s@%d does not match its digest: it "
                          "canonicalizes to %s, the registry says %s"
                          % (ns, name, got_v, got,
                             doc["digest"] if got != doc["digest"] else hdr),
                          code="digest_mismatch", exit_status=1)
    if doc.get("yanked") is True:
        why = doc.get("yank_reason")
        if tag is not None and not allow_yanked:
            raise OptregError("%s points at %s/%s@%d, which is yanked%s; move the tag "
                              "off it, or pass allow_yanked=True"
                              % (what, ns, name, got_v, (": " + why) if why else ""),
                              code="yanked", exit_status=5)
        sys.stderr.write("optreg.fetch: warning: %s/%s@%d is yanked%s\n"
                         % (ns, name, got_v, (": " + why) if why else ""))
    return _result(canon, "%s/%s@%d" % (ns, name, got_v))
