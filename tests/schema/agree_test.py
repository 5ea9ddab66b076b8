#!/usr/bin/python3
"""tests/schema/agree_test.py: the C validator and the JSON Schema agree.

docs/config.md promises that schema/optimizer-config.v1.json expresses exactly
the schema layer of the C validator. This test holds both to it over the
corpus in tests/cases/config/: for every case it decides the schema-layer
verdict twice and requires the same answer.

  C:      `$BIN/optreg lint --format json FILE`; the document passes the
          schema layer when no error has layer "syntax" or "schema".
  Python: Debian's python3-jsonschema (Draft202012Validator) on the tree that
          `$BIN/optreg canonicalize FILE` prints, so both sides judge the same
          loaded document (YAML scalars resolved by the C loader). When
          canonicalize fails the document never loaded: Python counts it as
          rejected, and C must report a syntax-layer error.

It also checks that the schema is itself a valid Draft 2020-12 schema, that
each case's expected.json claims the same schema-layer verdict, and, for JSON
inputs, that Python's own json.load of the file gives the canonicalized tree
(or, when C refused to load it, that a strict Python loader refuses it too).

usage: agree_test.py [CASE_DIR...]   (default: every folder of the corpus)
env:   BIN  folder holding optreg (default "bin", relative to the repo root)

Prints TAP (1..N, ok / not ok, `# ` lines explaining a disagreement) and
exits 1 when any test fails. Uses only the standard library and jsonschema.
"""

import json
import math
import os
import re
import subprocess
import sys

from jsonschema import Draft202012Validator

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCHEMA = os.path.join(ROOT, "schema", "optimizer-config.v1.json")
CORPUS = os.path.join(ROOT, "tests", "cases", "config")
OPTREG = os.path.join(ROOT, os.environ.get("BIN") or "bin", "optreg")
INPUTS = ("input.yaml", "input.yml", "input.json")
REFUSING = ("syntax", "schema")  # layers that make the schema verdict "reject"
TIMEOUT = 30
MAX_DEPTH = 64  # validator/doc.h OPTREG_DOC_MAX_DEPTH; the root is level 1

# jsonschema keyword -> docs/config.md rule name
RULES = {
    "type": "type",
    "required": "required",
    "additionalProperties": "additional_properties",
    "const": "const",
    "enum": "enum",
    "minimum": "minimum",
    "exclusiveMinimum": "exclusive_minimum",
    "maximum": "maximum",
    "exclusiveMaximum": "exclusive_maximum",
    "pattern": "pattern",
    "maxLength": "max_length",
    "minLength": "min_length",
    "minItems": "min_items",
    "maxItems": "max_items",
    "maxProperties": "max_properties",
    "minProperties": "min_properties",
}


class NotLoadable(Exception):
    """A strict loader refused the bytes (what C calls a syntax-layer error)."""


# ---------------------------------------------------------------- paths

_PLAIN_KEY = re.compile(r"[A-Za-z0-9_-]+")


def path_key(path, key):
    """docs/config.md paths: .key for [A-Za-z0-9_-]+ keys, ["..."] otherwise."""
    if _PLAIN_KEY.fullmatch(key):
        return key if path == "" else path + "." + key
    return path + "[" + json.dumps(key, ensure_ascii=False) + "]"


def path_of(parts):
    path = ""
    for p in parts:
        path = "%s[%d]" % (path, p) if isinstance(p, int) else path_key(path, p)
    return path


def python_errors(validator, doc):
    """jsonschema's errors as sorted "path: rule (message)" lines.

    Only for reading: the verdicts, not these lists, are compared, since
    jsonschema reports e.g. both `type` and `const` for apiVersion: 1 where
    the C validator reports `type` alone.
    """
    out = []
    for e in validator.iter_errors(doc):
        path = path_of(e.absolute_path)
        rule = RULES.get(e.validator, e.validator)
        if e.validator == "required" and isinstance(e.instance, dict):
            m = re.match(r"'(.*)' is a required property$", e.message)
            if m:
                path = path_key(path, m.group(1))
        elif e.validator == "additionalProperties" and isinstance(e.instance, dict):
            known = e.schema.get("properties", {})
            extra = [k for k in e.instance if k not in known]
            if len(extra) == 1:
                path = path_key(path, extra[0])
        elif "propertyNames" in e.schema_path and isinstance(e.instance, str):
            path = path_key(path, e.instance)
        out.append("%s: %s (%s)" % (path, rule, e.message))
    return sorted(out)


# ---------------------------------------------------------------- loading

def strict_json(text):
    """Parses JSON as optreg's loaders do: no duplicate keys, no NaN or
    infinities (nor numbers that overflow a double), no lone surrogates, no
    nesting deeper than MAX_DEPTH. Raises NotLoadable."""

    def pairs(items):
        obj = {}
        for k, v in items:
            if k in obj:
                raise NotLoadable("duplicate key %r" % k)
            obj[k] = v
        return obj

    def constant(name):
        raise NotLoadable("non-finite number %s" % name)

    def number(s):
        try:
            finite = math.isfinite(float(s))
        except OverflowError:
            finite = False
        if not finite:
            raise NotLoadable("number %s overflows a double" % s)
        return float(s) if any(c in s for c in ".eE") else int(s)

    def check(v, depth):
        if isinstance(v, str):
            try:
                v.encode("utf-8")
            except UnicodeEncodeError:
                raise NotLoadable("lone surrogate in %r" % v) from None
        elif isinstance(v, (list, dict)):
            if depth + 1 > MAX_DEPTH:
                raise NotLoadable("nested deeper than %d" % MAX_DEPTH)
            for k in v if isinstance(v, dict) else ():
                check(k, depth)
            for x in v.values() if isinstance(v, dict) else v:
                check(x, depth + 1)

    try:
        doc = json.loads(text, object_pairs_hook=pairs, parse_constant=constant,
                         parse_float=number, parse_int=number)
    except (ValueError, RecursionError) as e:
        raise NotLoadable(str(e)) from None
    check(doc, 0)
    return doc


def same_tree(a, b):
    """Equality with every number compared as a double, as optreg stores them."""
    num = (int, float)
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, num) and isinstance(b, num):
        try:
            return float(a) == float(b)
        except OverflowError:
            return False
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_tree(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_tree(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


def run_optreg(*args):
    """Runs optreg; returns (exit status, stdout, stderr). Never raises."""
    try:
        p = subprocess.run([OPTREG, *args], capture_output=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        return None, b"", b"timed out after %d s" % TIMEOUT
    return p.returncode, p.stdout, p.stderr


def describe_status(rc):
    if rc is None:
        return "timed out"
    if rc < 0:
        return "killed by signal %d" % -rc
    return "exit %d" % rc


def c_error_line(e):
    if not isinstance(e, dict):
        return e if isinstance(e, str) else repr(e)
    where = ""
    if e.get("line"):
        where = "%s:%s: " % (e.get("line"), e.get("col"))
    return "%s%s: %s/%s (%s)" % (where, e.get("path"), e.get("layer"), e.get("rule"),
                                 e.get("message"))


# ---------------------------------------------------------------- one case

def check_case(validator, case_dir):
    """Returns a list of `# ` comment lines; empty when the case passes."""
    why = []
    inputs = [n for n in INPUTS if os.path.isfile(os.path.join(case_dir, n))]
    if len(inputs) != 1:
        return ["expected exactly one of %s, found %s" % (", ".join(INPUTS), inputs or "none")]
    path = os.path.join(case_dir, inputs[0])
    is_json = inputs[0].endswith(".json")

    try:
        with open(os.path.join(case_dir, "expected.json"), encoding="utf-8") as f:
            expected = json.load(f)
        exp_errors = expected["errors"]
        exp_ok = not any(e["layer"] in REFUSING for e in exp_errors)
    except (OSError, ValueError, KeyError, TypeError) as e:
        return ["expected.json unusable: %s" % e]

    # The loaded tree, as C sees it.
    rc, out, err = run_optreg("canonicalize", path)
    tree = None
    if rc is None or rc < 0:
        return ["optreg canonicalize %s" % describe_status(rc), err.decode("utf-8", "replace").strip()]
    if rc == 0:
        try:
            tree = strict_json(out.decode("utf-8"))
        except (UnicodeDecodeError, NotLoadable) as e:
            return ["optreg canonicalize printed something that is not strict JSON: %s" % e]
    canon_err = err.decode("utf-8", "replace").strip()

    # C's verdict.
    rc, out, err = run_optreg("lint", "--format", "json", path)
    if rc is None or rc < 0:
        return ["optreg lint %s" % describe_status(rc), err.decode("utf-8", "replace").strip()]
    try:
        report = json.loads(out.decode("utf-8"))
        c_errors = report["errors"]
        c_valid = report["valid"]
        layers = [e["layer"] for e in c_errors]
    except (UnicodeDecodeError, ValueError, KeyError, TypeError) as e:
        return ["optreg lint --format json printed no usable report (%s; %s): %s"
                % (describe_status(rc), e, out[:500].decode("utf-8", "replace"))]
    c_ok = not any(layer in REFUSING for layer in layers)
    if c_valid is not (not c_errors):
        why.append("lint says valid=%s with %d errors" % (c_valid, len(c_errors)))
    if (rc == 0) != bool(c_valid):
        why.append("lint exits %d for valid=%s" % (rc, c_valid))
    if tree is None and "syntax" not in layers:
        why.append("canonicalize failed (%s) but lint reports no syntax-layer error" % canon_err)
    if tree is not None and "syntax" in layers:
        why.append("canonicalize loaded the document but lint reports a syntax-layer error")

    # Python's verdict on the same tree.
    py_errors = python_errors(validator, tree) if tree is not None else None
    py_ok = tree is not None and not py_errors

    if not (c_ok == py_ok == exp_ok):
        why.append("schema-layer verdicts differ: C %s, jsonschema %s, expected.json %s"
                   % tuple("accepts" if v else "rejects" for v in (c_ok, py_ok, exp_ok)))

    # For JSON, Python's own loader must see the same document.
    if is_json:
        with open(path, "rb") as f:
            raw = f.read()
        if tree is not None:
            try:
                mine = json.loads(raw.decode("utf-8"))
                if not same_tree(mine, tree):
                    why.append("json.load of the file differs from the canonicalized tree")
                    why.append("  json.load:    %s" % json.dumps(mine, ensure_ascii=False)[:500])
                    why.append("  canonicalize: %s" % json.dumps(tree, ensure_ascii=False)[:500])
            except (UnicodeDecodeError, ValueError) as e:
                why.append("C loaded the file but Python's json.load refuses it: %s" % e)
        else:
            try:
                strict_json(raw.decode("utf-8"))
                why.append("C refused to load the file but a strict Python loader accepts it")
            except (UnicodeDecodeError, NotLoadable):
                pass

    if why:
        why.append("C errors (lint --format json):")
        why.extend("  " + c_error_line(e) for e in c_errors or ["(none)"])
        if tree is None:
            why.append("jsonschema: not run, the document did not load (%s)" % canon_err)
        else:
            why.append("jsonschema errors:")
            why.extend("  " + e for e in py_errors or ["(none)"])
        why.append("expected.json errors:")
        why.extend("  " + c_error_line(e) for e in exp_errors or ["(none)"])
    return why


# ---------------------------------------------------------------- main

def main(argv):
    if argv:
        cases = [os.path.abspath(a) for a in argv]
    else:
        cases = sorted(os.path.join(CORPUS, n) for n in os.listdir(CORPUS)
                       if os.path.isdir(os.path.join(CORPUS, n)))
    if not (os.path.isfile(OPTREG) and os.access(OPTREG, os.X_OK)):
        print("Bail out! %s is not an executable; build it first (make)" % OPTREG)
        return 1

    print("1..%d" % (len(cases) + 1))
    failed = 0

    try:
        with open(SCHEMA, encoding="utf-8") as f:
            schema = json.load(f)
        Draft202012Validator.check_schema(schema)
        if schema.get("$schema") != "https://json-schema.org/draft/2020-12/schema":
            raise ValueError("$schema is not Draft 2020-12: %r" % schema.get("$schema"))
        print("ok 1 - schema is a valid Draft 2020-12 schema")
    except Exception as e:  # any failure here fails test 1 and every case
        print("not ok 1 - schema is a valid Draft 2020-12 schema")
        for line in str(e).splitlines()[:20]:
            print("# " + line)
        for i, case in enumerate(cases, 2):
            print("not ok %d - %s # schema unusable" % (i, os.path.basename(case)))
        return 1
    validator = Draft202012Validator(schema)

    for i, case in enumerate(cases, 2):
        name = os.path.basename(case)
        why = check_case(validator, case)
        if why:
            failed += 1
            print("not ok %d - %s" % (i, name))
            for line in why:
                for part in str(line).splitlines() or [""]:
                    print("# " + part)
        else:
            print("ok %d - %s" % (i, name))
    if failed:
        print("# %d of %d failed" % (failed, len(cases) + 1))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
