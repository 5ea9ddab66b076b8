#!/usr/bin/python3
"""tests/schema/policy_agree_test.py: the C policy loader and
schema/policy.v1.json agree.

docs/policies.md promises that schema/policy.v1.json is exactly the schema
layer of the C loader (validator/policy_load.c, validator/policy_schema.c).
For every policy file of the corpus (tests/cases/policy/*/policy*) and of
the shipped set (policies/*.yaml) this test decides the schema-layer
verdict twice and requires the same answer:

  C:      `$BUILD/tests/policy_run --load FILE` prints {"valid", "errors"};
          the file passes the schema layer when no error has a rule other
          than the semantic ones (field, regex, duplicate, change, limit).
  Python: Debian's python3-jsonschema (Draft202012Validator) on the tree
          `$BIN/optreg canonicalize FILE` prints (both sides judge the same
          loaded document); a file that does not load is rejected.

It also checks that the schema is a valid Draft 2020-12 schema, that a
case whose expected.json lists "schema" errors is refused by Python and
one that lists only semantic errors is accepted, and that every shipped
policy passes both.

env: BIN (default "bin"), BUILD (default "build/release").
Prints TAP and exits 1 when any test fails.
"""

import glob
import json
import os
import subprocess
import sys

from jsonschema import Draft202012Validator

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCHEMA = os.path.join(ROOT, "schema", "policy.v1.json")
OPTREG = os.path.join(ROOT, os.environ.get("BIN") or "bin", "optreg")
RUNNER = os.path.join(ROOT, os.environ.get("BUILD") or "build/release", "tests", "policy_run")
SEMANTIC = {"field", "regex", "duplicate", "change", "limit"}
TIMEOUT = 30


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, timeout=TIMEOUT)
    return p.returncode, p.stdout, p.stderr


def c_verdict(path):
    """(passes the schema layer, loads fully, error lines) per the C loader."""
    rc, out, err = run([RUNNER, "--load", path])
    if rc != 0:
        raise RuntimeError("policy_run --load %s: status %d: %s" % (path, rc, err.decode()))
    res = json.loads(out)
    errors = res["errors"]
    schema_ok = all(e["rule"] in SEMANTIC for e in errors)
    lines = ["%s %s: %s" % (e["rule"], e["path"], e["message"]) for e in errors]
    return schema_ok, res["valid"], lines


def python_verdict(validator, path):
    rc, out, _ = run([OPTREG, "canonicalize", path])
    if rc != 0:
        return False, ["does not load (optreg canonicalize status %d)" % rc]
    doc = json.loads(out)
    errs = sorted("%s: %s" % ("/".join(map(str, e.absolute_path)), e.message)
                  for e in validator.iter_errors(doc))
    return not errs, errs


def main():
    schema = json.load(open(SCHEMA))
    tests = []

    def check_schema():
        Draft202012Validator.check_schema(schema)
        return []

    tests.append(("schema/policy.v1.json is a valid Draft 2020-12 schema", check_schema))
    validator = Draft202012Validator(schema)

    files = sorted(glob.glob(os.path.join(ROOT, "tests", "cases", "policy", "*", "policy*")))
    shipped = sorted(glob.glob(os.path.join(ROOT, "policies", "*.yaml")))

    def agree(path, expected=None, must_load=False):
        def t():
            why = []
            c_ok, c_valid, c_lines = c_verdict(path)
            p_ok, p_lines = python_verdict(validator, path)
            if c_ok != p_ok:
                why.append("C schema layer %s, Python %s" % (
                    "accepts" if c_ok else "refuses", "accepts" if p_ok else "refuses"))
                why += ["C: " + l for l in c_lines] + ["Python: " + l for l in p_lines]
            if expected is not None:
                want_schema_ok = not any(e.get("rule") not in SEMANTIC for e in expected)
                if want_schema_ok != p_ok:
                    why.append("expected.json says the schema layer %s it, Python %s it" % (
                        "accepts" if want_schema_ok else "refuses", "accepts" if p_ok else "refuses"))
            if must_load and not c_valid:
                why.append("a shipped policy must load: " + "; ".join(c_lines))
            return why
        return t

    for f in files:
        case = os.path.dirname(f)
        exp = json.load(open(os.path.join(case, "expected.json")))
        tests.append(("agree: %s" % os.path.relpath(f, ROOT), agree(f, exp.get("errors", []))))
    for f in shipped:
        tests.append(("shipped policy passes both: %s" % os.path.relpath(f, ROOT), agree(f, [], True)))

    print("1..%d" % len(tests))
    failed = 0
    for i, (name, fn) in enumerate(tests, 1):
        try:
            why = fn()
        except Exception as e:  # a crash is a failure with its reason
            why = ["%s: %s" % (type(e).__name__, e)]
        if why:
            failed += 1
            print("not ok %d - %s" % (i, name))
            for w in why:
                print("# " + w)
        else:
            print("ok %d - %s" % (i, name))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
