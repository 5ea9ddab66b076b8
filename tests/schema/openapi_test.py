#!/usr/bin/python3
"""tests/schema/openapi_test.py: schema/openapi.yaml is a valid contract that
matches the server.

Checks, each printed as TAP:

  1. The vendored OAI schema for OpenAPI 3.1 (iteration 2022-10-07, see
     tests/schema/openapi/SOURCE.txt) is the file SOURCE.txt describes and a
     valid Draft 2020-12 schema, and it still bites with this jsonschema: it
     refuses documents known to be invalid, including one only its
     $dynamicRef ("#meta") can catch.
  2. schema/openapi.yaml validates against it (Draft202012Validator).
  3. What that schema cannot express: path templates and path parameters
     agree, operationIds are unique, every operation has a 2xx response
     (or, for a redirecting route, a 3xx other than 304),
     every 4xx/5xx response is application/problem+json built on Problem,
     and the operations endpoints declare `security: []` (which only they
     and GET /v1/registry/keys, the registry's public keys, may declare).
  4. Every schema under components/schemas (one test each) and every inline
     schema passes Draft202012Validator.check_schema.
  5. Every $ref resolves, including ./optimizer-config.v1.json and the refs
     inside it.
  6. docs/api.md names (as `METHOD /path`, a query such as `?q=` or
     `[?q=]` after the path ignored) the same routes, and the
     routes `$BIN/optreg-server routes` prints (one `METHOD /path` a
     line) are exactly the spec's paths and methods. A missing binary is a
     failure, not a skip.
  7. Every example (schema `examples`, media type `example`/`examples`,
     parameter and header examples, components/examples through $ref)
     validates against its schema; envelope examples decode to a valid,
     RFC 8785 canonical config, and receipt envelope examples (payloadType
     application/vnd.optreg.receipt.v1+json) to an RFC 8785 canonical
     ReceiptPayload.

usage: openapi_test.py
env:   BIN  folder holding optreg-server (default "bin", relative to the
            repo root)

Prints TAP (1..N, ok / not ok, `# ` diagnostic lines) and exits 1 when any
test fails. Needs Debian's python3-jsonschema and python3-yaml.
"""

import base64
import binascii
import datetime
import decimal
import hashlib
import json
import os
import pathlib
import re
import subprocess
import sys
import urllib.parse

import yaml
from jsonschema import Draft202012Validator, FormatChecker, RefResolver
from jsonschema.exceptions import RefResolutionError, SchemaError

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SPEC = os.path.join(ROOT, "schema", "openapi.yaml")
CONFIG_SCHEMA = os.path.join(ROOT, "schema", "optimizer-config.v1.json")
VENDOR = os.path.join(ROOT, "tests", "schema", "openapi")
OAS_SCHEMA = os.path.join(VENDOR, "oas-3.1-schema-2022-10-07.json")
OAS_ID = "https://spec.openapis.org/oas/3.1/schema/2022-10-07"
SERVER = os.path.join(ROOT, os.environ.get("BIN") or "bin", "optreg-server")
TIMEOUT = 30

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
OPS_PATHS = ("/healthz", "/readyz", "/metrics")
# Operations that need no token besides OPS_PATHS: public keys and the
# embedded web page.
PUBLIC_OPS = {("get", "/v1/registry/keys"), ("get", "/"), ("get", "/ui"),
              ("get", "/ui/"), ("get", "/ui/{file}")}
RECEIPT_TYPE = "application/vnd.optreg.receipt.v1+json"
RECEIPT_REF = "#/components/schemas/ReceiptPayload"
PROBLEM_REF = "#/components/schemas/Problem"
API_DOC = os.path.join(ROOT, "docs", "api.md")
DOC_ROUTE = re.compile(r"`(GET|PUT|POST|DELETE|PATCH) (/[^`\s]*)")
ROUTE_LINE = re.compile(r"([A-Z]+) (/\S*)")
TEMPLATE_PARAM = re.compile(r"\{([^{}]+)\}")


# ---------------------------------------------------------------- TAP

class Tap:
    def __init__(self):
        self.results = []  # (ok, description, [diagnostic lines])

    def check(self, ok, desc, diag=()):
        self.results.append((bool(ok), desc, list(diag)))

    def finish(self):
        print("1..%d" % len(self.results))
        failed = 0
        for i, (ok, desc, diag) in enumerate(self.results, 1):
            print("%s %d - %s" % ("ok" if ok else "not ok", i, desc))
            if not ok:
                failed += 1
                for line in diag:
                    for part in str(line).splitlines() or [""]:
                        print("# " + part)
        if failed:
            print("# %d of %d failed" % (failed, len(self.results)))
        return 1 if failed else 0


def short(errors, limit=10):
    """jsonschema errors as readable lines, best first."""
    out = []
    for e in sorted(errors, key=lambda e: (-len(e.absolute_path), e.message))[:limit]:
        where = "/".join(str(p) for p in e.absolute_path) or "(root)"
        out.append("%s: %s" % (where, e.message[:300]))
    return out


# ---------------------------------------------------------------- formats

def _date_time(value):
    if not isinstance(value, str):
        return True
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})", value):
        return False
    try:
        datetime.datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _uri(value):
    if not isinstance(value, str):
        return True
    parts = urllib.parse.urlsplit(value)
    return bool(parts.scheme) and not re.search(r"\s", value)


def _uri_reference(value):
    return not isinstance(value, str) or not re.search(r"\s", value)


def format_checker():
    """jsonschema's checkers plus date-time and uri, whose usual checkers
    need packages Debian's python3-jsonschema does not pull in."""
    fc = FormatChecker()
    fc.checks("date-time")(_date_time)
    fc.checks("uri")(_uri)
    fc.checks("uri-reference")(_uri_reference)
    return fc


# ---------------------------------------------------------------- RFC 8785

def es_number(x):
    """A JSON number as ECMAScript's Number::toString writes it (RFC 8785
    section 3.2.2.3), from Python's shortest round-trip digits."""
    if isinstance(x, int):
        x = float(x)
    if x != x or x in (float("inf"), float("-inf")):
        raise ValueError("%r has no JSON form" % x)
    if x == 0:
        return "0"
    sign, digits, exp = decimal.Decimal(repr(x)).normalize().as_tuple()
    d = "".join(map(str, digits))
    k, n = len(d), exp + len(d)  # value = 0.d * 10^n
    if k <= n <= 21:
        out = d + "0" * (n - k)
    elif 0 < n <= 21:
        out = d[:n] + "." + d[n:]
    elif -6 < n <= 0:
        out = "0." + "0" * -n + d
    else:
        e = n - 1
        out = d[0] + ("." + d[1:] if k > 1 else "") + "e" + ("+" if e > 0 else "-") + str(abs(e))
    return ("-" if sign else "") + out


def canonical(v):
    """RFC 8785 (JCS) bytes of a JSON value: sorted keys (UTF-16 order), no
    whitespace, ECMAScript numbers and string escapes."""
    def enc(v):
        if v is None or isinstance(v, bool):
            return json.dumps(v)
        if isinstance(v, (int, float)):
            return es_number(v)
        if isinstance(v, str):
            return json.dumps(v, ensure_ascii=False)
        if isinstance(v, list):
            return "[" + ",".join(enc(x) for x in v) + "]"
        keys = sorted(v, key=lambda k: k.encode("utf-16-be"))
        return "{" + ",".join(enc(k) + ":" + enc(v[k]) for k in keys) + "}"
    return enc(v).encode("utf-8")


# ---------------------------------------------------------------- refs

class LocalResolver(RefResolver):
    """Resolves refs to JSON or YAML files under schema/ only: never the
    network, never a file elsewhere."""

    def resolve_remote(self, uri):
        parts = urllib.parse.urlsplit(uri)
        path = urllib.parse.unquote(parts.path)
        if parts.scheme != "file" or \
                os.path.dirname(os.path.realpath(path)) != \
                os.path.dirname(os.path.realpath(SPEC)):
            raise RefResolutionError("%s: not a file in schema/ (refs resolve "
                                     "locally only)" % uri)
        try:
            with open(path, encoding="utf-8") as f:
                result = yaml.safe_load(f) if path.endswith((".yaml", ".yml")) else json.load(f)
        except (OSError, ValueError, yaml.YAMLError) as e:
            raise RefResolutionError("%s: %s" % (uri, e))
        if self.cache_remote:
            self.store[uri] = result
        return result


# ---------------------------------------------------------------- walking

def pointer(parts):
    return "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def walk(node, path=()):
    """Yields (path, dict) for every mapping in the tree."""
    if isinstance(node, dict):
        yield path, node
        for k, v in node.items():
            yield from walk(v, path + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from walk(v, path + (i,))


def deref(doc, node):
    """Follows local OpenAPI-level $refs (#/components/...)."""
    seen = 0
    while isinstance(node, dict) and isinstance(node.get("$ref"), str) \
            and node["$ref"].startswith("#/") and seen < 16:
        target = doc
        for part in node["$ref"][2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            target = target[int(part)] if isinstance(target, list) else target[part]
        node = target
        seen += 1
    return node


def operations(doc):
    for path, item in (doc.get("paths") or {}).items():
        for method in METHODS:
            if method in item:
                yield path, method, item, item[method]


def holders(doc):
    """(label, object) for every Parameter, Header and Media Type Object
    written out in the spec (a $ref is checked where it points)."""
    comps = doc.get("components", {})

    def content(label, c):
        for mt, media in (c or {}).items():
            yield "%s %s" % (label, mt), media

    def response(label, r):
        if "$ref" in r:
            return
        for h, obj in (r.get("headers") or {}).items():
            if "$ref" not in obj:
                yield "%s header %s" % (label, h), obj
        yield from content(label, r.get("content"))

    def params(label, ps):
        for p in ps or []:
            if "$ref" not in p:
                yield "%s parameter %s" % (label, p.get("name")), p
                yield from content("%s parameter %s" % (label, p.get("name")), p.get("content"))

    for name, p in comps.get("parameters", {}).items():
        yield "components/parameters/" + name, p
    for name, h in comps.get("headers", {}).items():
        yield "components/headers/" + name, h
    for name, r in comps.get("responses", {}).items():
        yield from response("components/responses/" + name, r)
    for name, rb in comps.get("requestBodies", {}).items():
        yield from content("components/requestBodies/" + name, rb.get("content"))
    for path, item in (doc.get("paths") or {}).items():
        yield from params(path, item.get("parameters"))
        for method in METHODS:
            if method not in item:
                continue
            op = item[method]
            label = "%s %s" % (method.upper(), path)
            yield from params(label, op.get("parameters"))
            rb = op.get("requestBody") or {}
            if "$ref" not in rb:
                yield from content(label + " request", rb.get("content"))
            for code, r in (op.get("responses") or {}).items():
                yield from response("%s response %s" % (label, code), r)


def schema_sites(doc):
    """(label, schema) for every Schema Object the spec holds at the top of
    a component, parameter, header or media type."""
    for name, s in doc.get("components", {}).get("schemas", {}).items():
        yield "components/schemas/" + name, s
    for label, h in holders(doc):
        if "schema" in h:
            yield label + " schema", h["schema"]


# ---------------------------------------------------------------- checks

def check_vendored(tap):
    """The OAS schema file is the one SOURCE.txt names, and it works here."""
    try:
        with open(OAS_SCHEMA, "rb") as f:
            raw = f.read()
        oas = json.loads(raw)
    except (OSError, ValueError) as e:
        tap.check(False, "vendored OpenAPI 3.1 schema loads", [str(e)])
        return None
    digest = hashlib.sha256(raw).hexdigest()
    try:
        with open(os.path.join(VENDOR, "SOURCE.txt"), encoding="utf-8") as f:
            source = f.read()
    except OSError as e:
        source = ""
        diag = ["SOURCE.txt: %s" % e]
    else:
        diag = []
    if oas.get("$id") != OAS_ID:
        diag.append("$id is %r, want %r" % (oas.get("$id"), OAS_ID))
    if digest not in source:
        diag.append("sha256 %s of %s is not the one SOURCE.txt records"
                    % (digest, os.path.relpath(OAS_SCHEMA, ROOT)))
    try:
        Draft202012Validator.check_schema(oas)
    except SchemaError as e:
        diag.append("not a valid Draft 2020-12 schema: %s" % e.message)
    tap.check(not diag, "vendored OAS 3.1 schema is %s as SOURCE.txt records, "
              "and a valid 2020-12 schema" % OAS_ID, diag)
    return oas


def check_oas_bites(tap, validator):
    """Negative controls: known-bad documents must fail, so that a pass of
    the real spec means something with this jsonschema version."""
    base = {
        "openapi": "3.1.0",
        "info": {"title": "t", "version": "1"},
        "paths": {"/a/{x}": {"get": {
            "parameters": [{"name": "x", "in": "path", "required": True,
                            "schema": {"type": "string"}}],
            "responses": {"200": {"description": "ok"}}}}},
        "components": {"schemas": {"S": {"type": "object"}}},
    }
    diag = []
    if list(validator.iter_errors(base)):
        diag.append("a minimal valid document was refused:")
        diag += short(validator.iter_errors(base))

    def mutated(f):
        d = json.loads(json.dumps(base))
        f(d)
        return d

    bad = {
        "info without title": mutated(lambda d: d["info"].pop("title")),
        "openapi 3.0.3": mutated(lambda d: d.__setitem__("openapi", "3.0.3")),
        "path parameter without required: true": mutated(
            lambda d: d["paths"]["/a/{x}"]["get"]["parameters"][0].pop("required")),
        "unknown operation field": mutated(
            lambda d: d["paths"]["/a/{x}"]["get"].__setitem__("produces", ["x"])),
        # Only reachable through $dynamicRef "#meta": proves it is followed.
        "components/schemas entry that is a number ($dynamicRef)": mutated(
            lambda d: d["components"]["schemas"].__setitem__("S", 5)),
        "parameter schema that is a string ($dynamicRef)": mutated(
            lambda d: d["paths"]["/a/{x}"]["get"]["parameters"][0].__setitem__("schema", "x")),
    }
    for name, doc in bad.items():
        if not list(validator.iter_errors(doc)):
            diag.append("accepted a document with %s" % name)
    tap.check(not diag, "the OAS 3.1 schema rejects known-bad documents "
              "(its $dynamicRef works with this jsonschema)", diag)


def check_semantics(tap, doc):
    """Rules of the OpenAPI spec (and of this project) that the OAS JSON
    Schema does not express."""
    diag = []
    ids = {}
    for path, method, item, op in operations(doc):
        where = "%s %s" % (method.upper(), path)
        params = {}
        for p in (item.get("parameters") or []) + (op.get("parameters") or []):
            p = deref(doc, p)
            params[(p.get("name"), p.get("in"))] = p
        in_template = TEMPLATE_PARAM.findall(path)
        declared = sorted(n for (n, i) in params if i == "path")
        if sorted(in_template) != declared:
            diag.append("%s: path template has {%s}, path parameters are {%s}"
                        % (where, ", ".join(sorted(in_template)), ", ".join(declared)))
        oid = op.get("operationId")
        if not oid:
            diag.append("%s: no operationId" % where)
        elif oid in ids:
            diag.append("%s: operationId %s also used by %s" % (where, oid, ids[oid]))
        else:
            ids[oid] = where
        responses = op.get("responses") or {}
        # A redirect (3xx but 304) is what a redirecting route answers.
        if not any(str(c).startswith("2") or re.fullmatch(r"3(0[0-35-9]|[1-9]\d)", str(c))
                   for c in responses):
            diag.append("%s: no 2xx (or redirect) response" % where)
        for code, r in responses.items():
            if not re.fullmatch(r"[45]\d\d", str(code)):
                continue
            r = deref(doc, r)
            media = (r.get("content") or {}).get("application/problem+json")
            if not media:
                diag.append("%s: %s is not application/problem+json" % (where, code))
                continue
            s = media.get("schema") or {}
            refs = [s.get("$ref")] + [x.get("$ref") for x in s.get("allOf", [])]
            if PROBLEM_REF not in refs:
                diag.append("%s: %s schema does not build on %s" % (where, code, PROBLEM_REF))
            status = [x.get("properties", {}).get("status", {}).get("const")
                      for x in s.get("allOf", [])]
            if any(st is not None and st != int(code) for st in status):
                diag.append("%s: %s response pins status %s" % (where, code, status))
        if path in OPS_PATHS and op.get("security") != []:
            diag.append("%s: an operations endpoint must declare security: []" % where)
        if path not in OPS_PATHS and (method, path) not in PUBLIC_OPS \
                and op.get("security") == []:
            diag.append("%s: security: [] outside the operations endpoints "
                        "and GET /v1/registry/keys" % where)
    schemes = doc.get("components", {}).get("securitySchemes", {})
    bearer = schemes.get("bearer", {})
    if bearer.get("type") != "http" or bearer.get("scheme") != "bearer":
        diag.append("components/securitySchemes/bearer is not {type: http, scheme: bearer}")
    if doc.get("security") != [{"bearer": []}]:
        diag.append("top-level security is not [{bearer: []}]")
    if doc.get("jsonSchemaDialect") not in (None, "https://spec.openapis.org/oas/3.1/dialect/base"):
        diag.append("jsonSchemaDialect is not the OAS 3.1 default (2020-12)")
    tap.check(not diag, "openapi.yaml: path parameters, operationIds, problem "
              "responses and security follow the rules", diag)


def check_schemas(tap, doc):
    sites = list(schema_sites(doc))
    inline = []
    for where, s in sites:
        try:
            Draft202012Validator.check_schema(s)
            err = None
        except SchemaError as e:
            err = "%s: %s" % (where, e.message)
        if where.startswith("components/schemas/"):
            tap.check(err is None, "%s is a valid 2020-12 schema" % where,
                      [err] if err else [])
        elif err:
            inline.append(err)
    n = sum(1 for w, _ in sites if not w.startswith("components/schemas/"))
    tap.check(not inline and n > 0, "all %d inline schemas (parameters, "
              "headers, bodies) are valid 2020-12 schemas" % n, inline)


def check_refs(tap, doc, resolver, spec_uri, config):
    diag = []
    count = 0
    for path, node in walk(doc):
        ref = node.get("$ref")
        if not isinstance(ref, str):
            continue
        count += 1
        try:
            resolver.resolve(urllib.parse.urljoin(spec_uri, ref))
        except (RefResolutionError, KeyError, IndexError, TypeError) as e:
            diag.append("%s: $ref %s does not resolve (%s)" % (pointer(path), ref, e))
    config_id = config.get("$id", "")
    for path, node in walk(config):
        ref = node.get("$ref")
        if isinstance(ref, str):
            count += 1
            try:
                resolver.resolve(urllib.parse.urljoin(config_id, ref))
            except (RefResolutionError, KeyError, IndexError, TypeError) as e:
                diag.append("optimizer-config.v1.json %s: $ref %s does not "
                            "resolve (%s)" % (pointer(path), ref, e))
    tap.check(not diag and count > 0, "all %d $refs resolve (the spec's and "
              "optimizer-config.v1.json's)" % count, diag)


def server_routes():
    """(routes, error): the set of (METHOD, /path) the server prints."""
    if not os.path.exists(SERVER):
        return None, ["%s does not exist: build it (make) or set BIN"
                      % os.path.relpath(SERVER, ROOT)]
    if not os.access(SERVER, os.X_OK):
        return None, ["%s is not executable" % SERVER]
    try:
        p = subprocess.run([SERVER, "routes"], capture_output=True, text=True,
                           timeout=TIMEOUT, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as e:
        return None, ["%s routes: %s" % (SERVER, e)]
    if p.returncode != 0:
        return None, ["%s routes exited %d" % (SERVER, p.returncode)] + \
            ["stderr: " + l for l in p.stderr.splitlines()[:10]]
    routes, bad = set(), []
    for line in p.stdout.splitlines():
        if not line.strip():
            continue
        m = ROUTE_LINE.fullmatch(line.strip())
        if not m:
            bad.append("not `METHOD /path`: %r" % line)
            continue
        routes.add((m.group(1), m.group(2)))
    if bad or not routes:
        return None, bad or ["%s routes printed no routes" % SERVER]
    return routes, None


def check_routes(tap, doc):
    desc = "the server's routes (optreg-server routes) are exactly the spec's paths"
    routes, err = server_routes()
    if routes is None:
        tap.check(False, desc, err)
        return
    spec = {(m.upper(), p) for p, m, _, _ in operations(doc)}
    diag = []
    shape = lambda r: (r[0], TEMPLATE_PARAM.sub("{}", r[1]))
    for r in sorted(routes - spec):
        near = [s for s in spec - routes if shape(s) == shape(r)]
        diag.append("served but not in the spec: %s %s%s" % (
            r[0], r[1], " (the spec names its parameters %s)" % near[0][1] if near else ""))
    for r in sorted(spec - routes):
        diag.append("in the spec but not served: %s %s" % r)
    tap.check(not diag, desc + " (%d routes)" % len(spec), diag)


def check_docs(tap, doc):
    """docs/api.md, the readable contract, names the same routes."""
    desc = "docs/api.md names exactly the spec's routes"
    try:
        with open(API_DOC, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        tap.check(False, desc, [str(e)])
        return
    documented = {(m, re.split(r"\[?\?", p)[0]) for m, p in DOC_ROUTE.findall(text)}
    spec = {(m.upper(), p) for p, m, _, _ in operations(doc)}
    diag = ["in docs/api.md but not in the spec: %s %s" % r for r in sorted(documented - spec)]
    diag += ["in the spec but not in docs/api.md: %s %s" % r for r in sorted(spec - documented)]
    tap.check(not diag, desc, diag)


def example_sites(doc):
    """(label, schema, value) for every example in the spec: JSON Schema
    `examples` arrays, and `example`/`examples` of parameters, headers and
    media types (components/examples followed through $ref)."""
    for label, s in schema_sites(doc):
        for path, node in walk(s):
            if isinstance(node.get("examples"), list):
                at = "/" + pointer(path) if path else ""
                for i, v in enumerate(node["examples"]):
                    yield "%s%s examples[%d]" % (label.replace(" schema", ""), at, i), node, v
    for label, h in holders(doc):
        if "schema" not in h:
            continue
        if "example" in h:
            yield label + " example", h["schema"], h["example"]
        for name, ex in (h.get("examples") or {}).items():
            ex = deref(doc, ex)
            if "value" in ex:
                yield "%s examples.%s" % (label, name), h["schema"], ex["value"]


def check_examples(tap, doc, resolver, fc, config_validator):
    sites = list(example_sites(doc))
    for where, schema, value in sites:
        v = Draft202012Validator(schema, resolver=resolver, format_checker=fc)
        try:
            diag = short(v.iter_errors(value))
        except RefResolutionError as e:
            diag = ["cannot resolve a $ref of its schema: %s" % e]
        except Exception as e:  # e.g. UnknownType from a broken schema
            diag = ["cannot validate (%s): %s" % (type(e).__name__, str(e).splitlines()[0])]
        tap.check(not diag, "example %s validates" % where, diag)
    if not sites:
        tap.check(False, "the spec has examples", ["no examples found"])
    # Envelope examples: the payload is base64 of a valid, canonical config
    # (of a canonical ReceiptPayload for receipts).
    receipt_validator = Draft202012Validator({"$ref": RECEIPT_REF}, resolver=resolver,
                                             format_checker=fc)
    diag, n, nr = [], 0, 0
    envelopes = [(where, node) for where, _, value in sites for _, node in walk(value)
                 if "payloadType" in node and "payload" in node]
    for where, value in envelopes:
        receipt = value["payloadType"] == RECEIPT_TYPE
        if receipt:
            nr += 1
        else:
            n += 1
        try:
            raw = base64.b64decode(value["payload"], validate=True)
            cfg = json.loads(raw)
        except (binascii.Error, ValueError) as e:
            diag.append("%s: payload does not decode to JSON (%s)" % (where, e))
            continue
        try:
            errs = list((receipt_validator if receipt else config_validator).iter_errors(cfg))
        except RefResolutionError as e:
            errs = []
            diag.append("%s: cannot resolve %s: %s" % (where, RECEIPT_REF, e))
        if errs:
            diag.append("%s: payload is not a valid %s:" % (
                where, "ReceiptPayload" if receipt else "config"))
            diag += short(errs)
        if raw != canonical(cfg):
            diag.append("%s: payload is not RFC 8785 canonical JSON; canonical:" % where)
            diag.append(canonical(cfg).decode())
    tap.check(not diag and n > 0, "the %d envelope examples carry a valid, "
              "canonical config, the %d receipt examples a valid, canonical "
              "ReceiptPayload" % (n, nr),
              diag or ([] if n else ["no envelope examples"]))


# ---------------------------------------------------------------- main

def main():
    tap = Tap()
    try:
        with open(SPEC, encoding="utf-8") as f:
            doc = yaml.safe_load(f)
        with open(CONFIG_SCHEMA, encoding="utf-8") as f:
            config = json.load(f)
    except (OSError, ValueError, yaml.YAMLError) as e:
        tap.check(False, "schema/openapi.yaml and optimizer-config.v1.json load", [str(e)])
        return tap.finish()
    if not isinstance(doc, dict):
        tap.check(False, "schema/openapi.yaml is a mapping", [repr(doc)[:200]])
        return tap.finish()

    fc = format_checker()
    oas = check_vendored(tap)
    if oas is not None:
        oas_validator = Draft202012Validator(oas, format_checker=fc)
        check_oas_bites(tap, oas_validator)
        errs = list(oas_validator.iter_errors(doc))
        tap.check(not errs, "schema/openapi.yaml validates against the OAS 3.1 "
                  "schema (%s)" % OAS_ID, short(errs, 20))
    else:
        tap.check(False, "the OAS 3.1 schema rejects known-bad documents",
                  ["no usable vendored OAS 3.1 schema (see above)"])
        tap.check(False, "schema/openapi.yaml validates against the OAS 3.1 schema",
                  ["no usable vendored OAS 3.1 schema (see above)"])
    check_semantics(tap, doc)
    check_schemas(tap, doc)

    # Schema $refs resolve against the spec's own location, so
    # ./optimizer-config.v1.json is the file beside it; inside that schema
    # its $id is the base.
    spec_uri = pathlib.Path(SPEC).as_uri()
    config_uri = urllib.parse.urljoin(spec_uri, "optimizer-config.v1.json")
    store = {config_uri: config}
    if config.get("$id"):
        store[config["$id"]] = config
    resolver = LocalResolver(spec_uri, doc, store=store)
    check_refs(tap, doc, resolver, spec_uri, config)
    check_docs(tap, doc)
    check_routes(tap, doc)
    config_validator = Draft202012Validator(config, format_checker=fc)
    check_examples(tap, doc, resolver, fc, config_validator)
    return tap.finish()


if __name__ == "__main__":
    sys.exit(main())
