#!/usr/bin/python3
"""tests/e2e/diff_test.py: `optreg diff`, `optreg list` and `optreg show`
end to end: the real $BIN/optreg against a real optreg-server over
PostgreSQL (tests/e2e/harness.py).

What it covers:
  - diff of two versions: the changes in optimizer terms, one line each
    within 80 columns, `~`/`+`/`-` marks, exit 13 when they differ;
  - a tag against a local YAML file, the latest version (ns/name), a
    digest, a signed envelope and standard input;
  - --json: {"a": {ref, digest, version}, "b": ..., "equal", "changes":
    [{path, kind, old, new, text}]};
  - equal configs (exit 0): the same document, and documents that differ
    only in form (defaults written out);
  - bad references and files: not found (8), malformed (2), an invalid
    file (1), no token (6), wrong argument counts (2);
  - list: the table, a namespace, --query, --limit, --json, nothing found;
  - show: latest, tags, versions with digest, time, submitter, yanked and
    the latest verdict (pass, pending), --limit, --json, errors.

Verdicts are posted here as a runner does (a runner token leases the job
a submit creates and posts a signed verdict), without optreg-runner.

usage: tests/e2e/diff_test.py     (from the repository root)
Prints TAP and exits 1 when any test fails.
"""

import json
import os
import re
import shlex
import subprocess
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the working tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness as h  # noqa: E402
from harness import CLI_BIN, eq, expect, status  # noqa: E402

tap = h.Tap()
R = h.Registry()
NS = "diff"
OTHER = "diff-other"
HEX12 = re.compile(r"^[0-9a-f]{12}$")


class W:
    pass


V1 = """apiVersion: optreg/v1
kind: OptimizerConfig
metadata:
  namespace: diff
  name: bert
  labels: {task: glue}
spec:
  optimizer: adam
  lr: 3.0e-4
  betas: [0.9, 0.999]
  eps: 1.0e-8
  weight_decay: 0.01
  schedule: {kind: cosine, warmup_steps: 500, total_steps: 10000}
  param_groups:
    - {match: "(bias|norm)", weight_decay: 0.0}
"""

V2 = """apiVersion: optreg/v1
kind: OptimizerConfig
metadata:
  namespace: diff
  name: bert
  labels: {task: glue}
spec:
  optimizer: adamw
  lr: 1.0e-3
  betas: [0.9, 0.999]
  eps: 1.0e-8
  weight_decay: 0.01
  grad_clip_norm: 1.0
  schedule: {kind: cosine, total_steps: 10000}
  param_groups:
    - {match: "(bias|norm)", weight_decay: 0.0}
"""

# V2 with the defaults written out: another document, the same config.
V2_LONGHAND = V2.replace("  grad_clip_norm: 1.0\n",
                         "  grad_clip_norm: 1.0\n  amsgrad: false\n  maximize: false\n") \
    .replace("{kind: cosine, total_steps: 10000}",
             "{kind: cosine, warmup_steps: 0, total_steps: 10000, min_lr: 0}")

V3 = V2.replace("  labels: {task: glue}\n",
                "  labels: {task: glue}\n  description: the squad run\n")

# The change lines diff @1 @2 prints, in order.
CHANGES_1_2 = [
    "~ optimizer adam -> adamw: weight decay becomes decoupled (parameters shrink by",
    "  lr*wd each step)",
    "~ lr 0.0003 -> 0.001 (x3.3)",
    "+ grad_clip_norm 1 added: gradients are clipped to a total L2 norm of 1",
    "- warmup 500 -> 0 steps: removed",
]


def cpath(name, rest=""):
    return "/v1/configs/%s/%s%s" % (NS, name, rest)


class Run:
    def __init__(self, argv, p):
        self.argv = argv
        self.rc = p.returncode
        self.out = p.stdout.decode("utf-8", "replace")
        self.err = p.stderr.decode("utf-8", "replace")

    def describe(self):
        return "$ %s\n  exit: %d\n  stdout: %r\n  stderr: %r" % (
            " ".join(shlex.quote(a) for a in self.argv), self.rc, self.out[:2000],
            self.err[:2000])


def optreg(*args, token="reader", stdin=None):
    """$BIN/optreg ARGS in W.dir with OPTREG_URL and OPTREG_TOKEN (W's token
    named `token`; None: unset)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPTREG_")}
    env["OPTREG_URL"] = W.S.base
    if token:
        env["OPTREG_TOKEN"] = getattr(W, token)
    argv = [CLI_BIN] + [str(a) for a in args]
    p = subprocess.run(argv, env=env, cwd=W.dir, input=stdin, timeout=60,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return Run(argv, p)


def has(r, needle, stream="out"):
    text = r.out if stream == "out" else r.err
    assert needle in text, "std%s lacks %r:\n%s" % (stream, needle, r.describe())


def fits_80(r):
    for line in r.out.splitlines():
        assert len(line) <= 80, "a line over 80 columns (%d):\n%s\n%s" % (
            len(line), line, r.describe())


def write(name, text):
    path = os.path.join(W.dir, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def canonical(path):
    p = subprocess.run([CLI_BIN, "canonicalize", path], stdout=subprocess.PIPE, timeout=30)
    assert p.returncode == 0, "canonicalize %s" % path
    return p.stdout


def submit(name, text, verdict=None, token=None):
    """Submits `text` (YAML) as NS/name over HTTP (with `token`, else the
    submitter's), leases the job it makes and posts `verdict` (None: the
    job stays leased). Returns (version, digest)."""
    payload = canonical(write("submit.yaml", text))
    r = status(W.S.request("POST", cpath(name, "/versions"), token=token or W.sub,
                           body=h.envelope(payload, [W.ci])), 201, "submit %s" % name)
    job = status(W.S.request("POST", "/v1/jobs/lease", token=W.runner,
                             body={"lease_seconds": 600}), 200, "lease").json()["job"]
    eq(job["digest"], h.digest_of(payload), "the leased job is the new version's")
    if verdict:
        status(h.post_verdict(W.S, W.runner, job, [W.verdict_key], verdict), 201,
               "verdict %s" % verdict)
    return r.json()["version"], r.json()["digest"]


def setup():
    R.start()
    W.S = R.server()
    W.dir = os.path.join(R.tmp, "diff")
    os.makedirs(W.dir)
    W.admin, _ = R.token("admin@ops", "admin")
    W.sub, _ = R.token("ci@diff", "submitter", namespace=NS)
    W.reader, _ = R.token("reader@diff", "reader", namespace=NS)
    W.appr, _ = R.token("lead@diff", ["approver", "submitter"], namespace=NS)
    W.runner, _ = R.token("runner@ops", "runner", namespace=NS)
    W.ci = h.Signer(R.tmp, "ci")
    W.verdict_key = h.Signer(R.tmp, "runner")
    for signer, principal, purpose in ((W.ci, "ci@diff", "config"),
                                       (W.verdict_key, "runner@ops", "verdict")):
        status(W.S.request("POST", "/v1/keys", token=W.admin,
                           body={"public_key": signer.public_pem, "principal": principal,
                                 "namespaces": [NS], "purpose": purpose}),
               201, "register the %s key" % purpose)
    (_, W.d1) = submit("bert", V1, verdict="pass")
    (_, W.d2) = submit("bert", V2)
    (_, W.d3) = submit("bert", V3, verdict="fail")
    submit("gpt", V1.replace("name: bert", "name: gpt"), verdict="pass")
    status(W.S.request("PUT", cpath("bert", "/tags/prod"), token=W.sub,
                       body={"version": 1, "expected_version": None}), 200, "tag prod")
    W.f1 = write("v1.yaml", V1)
    W.f2 = write("v2.yaml", V2)
    W.f2long = write("v2-longhand.yaml", V2_LONGHAND)


def header(r):
    return r.out.splitlines()[:2]


# ------------------------------------------------------------ diff

def t_diff_versions():
    r = expect(optreg("diff", "diff/bert@1", "diff/bert@2"), 13)
    eq(header(r), ["--- diff/bert@1  %s" % W.d1[:19], "+++ diff/bert@2  %s" % W.d2[:19]],
       "the header lines")
    eq(r.out.splitlines()[2:], CHANGES_1_2, "the change lines")
    eq(r.err, "", "stderr")
    fits_80(r)
    # The other way round: the marks and ratios turn over.
    r = expect(optreg("diff", "diff/bert@2", "diff/bert@1"), 13)
    has(r, "~ lr 0.001 -> 0.0003 (x0.3)\n")
    has(r, "- grad_clip_norm 1 removed: gradients are not clipped\n")
    has(r, "+ warmup 0 -> 500 steps: added\n")


def t_diff_tag_against_file():
    r = expect(optreg("diff", "diff/bert@prod", "v2.yaml"), 13)
    eq(header(r), ["--- diff/bert@1  %s" % W.d1[:19], "+++ v2.yaml  %s" % W.d2[:19]],
       "the tag resolves to version 1")
    eq(r.out.splitlines()[2:], CHANGES_1_2, "the change lines")
    # A file on either side, and standard input.
    with open(W.f1, "rb") as f:
        r = expect(optreg("diff", "-", "diff/bert@2", stdin=f.read()), 13)
    eq(header(r)[0], "--- (standard input)  %s" % W.d1[:19], "stdin's header")
    eq(r.out.splitlines()[2:], CHANGES_1_2, "the change lines from stdin")


def t_diff_latest_and_digest():
    r = expect(optreg("diff", "diff/bert@2", "diff/bert"), 13)
    eq(header(r)[1], "+++ diff/bert@3  %s" % W.d3[:19], "ns/name is the latest version")
    eq(r.out.splitlines()[2:], ['+ description "the squad run" added'], "changes 2 -> 3")
    r = expect(optreg("diff", W.d1, "diff/bert@2"), 13)
    eq(header(r)[0], "--- diff/bert@1  %s" % W.d1[:19],
       "a digest names the version holding it")


def t_diff_json():
    r = expect(optreg("diff", "diff/bert@prod", "v2.yaml", "--json"), 13)
    j = json.loads(r.out)
    eq(sorted(j), ["a", "b", "changes", "equal"], "top-level keys")
    eq(j["a"], {"ref": "diff/bert@prod", "digest": W.d1, "version": "diff/bert@1"}, "a")
    eq(j["b"], {"ref": "v2.yaml", "digest": W.d2, "version": None}, "b")
    eq(j["equal"], False, "equal")
    for c in j["changes"]:
        eq(sorted(c), ["kind", "new", "old", "path", "text"], "keys of a change")
    got = [(c["path"], c["kind"], c["old"], c["new"]) for c in j["changes"]]
    eq(got, [("spec.optimizer", "changed", "adam", "adamw"),
             ("spec.lr", "changed", 0.0003, 0.001),
             ("spec.grad_clip_norm", "added", None, 1),
             ("spec.schedule.warmup_steps", "removed", 500, 0)], "the changes")
    eq(j["changes"][1]["text"], "lr 0.0003 -> 0.001 (x3.3)", "the lr sentence")
    # The numbers are written shortest, as the canonical form writes them.
    assert '"old":0.0003' in r.out, r.describe()
    eq(r.out.count("\n"), 1, "one line of JSON")


def t_diff_equal():
    r = expect(optreg("diff", "diff/bert@1", W.d1), 0)
    eq(r.out.splitlines()[2:], ["no changes: the same document"], "same document")
    r = expect(optreg("diff", "diff/bert@2", "v2-longhand.yaml"), 0)
    eq(r.out.splitlines()[2:],
       ["no changes: the documents differ only in form (layout, numbers, defaults)"],
       "defaults written out")
    assert header(r)[1] != "+++ v2-longhand.yaml  %s" % W.d2[:19], "another digest"
    r = expect(optreg("diff", "diff/bert@2", "v2-longhand.yaml", "--json"), 0)
    j = json.loads(r.out)
    eq((j["equal"], j["changes"]), (True, []), "--json of equal configs")
    assert j["a"]["digest"] != j["b"]["digest"], j
    # A signed envelope of version 2's config is version 2.
    env = h.envelope(canonical(W.f2), [W.ci])
    write("v2.signed.json", json.dumps(env))
    r = expect(optreg("diff", "v2.signed.json", "diff/bert@2"), 0)
    eq(header(r)[0], "--- v2.signed.json  %s" % W.d2[:19], "the envelope's digest")


def t_diff_bad_refs():
    r = expect(optreg("diff", "diff/bert@99", "diff/bert@1"), 8)
    has(r, "optreg diff:", "err")
    eq(r.out, "", "stdout of a failure")
    expect(optreg("diff", "diff/bert@1", "diff/nope"), 8, "latest of a missing config")
    expect(optreg("diff", "diff/bert@1", "sha256:" + "0" * 64), 8, "unknown digest")
    expect(optreg("diff", "diff/bert@1", "diff/bert@nope"), 8, "unknown tag")
    r = expect(optreg("diff", "diff/bert@1", "nothere.yaml"), 2)
    has(r, '"nothere.yaml" is not a file (No such file or directory), nor a reference', "err")
    r = expect(optreg("diff", "Diff/bert@1", "diff/bert@1"), 2)
    has(r, "a namespace is", "err")
    bad = write("bad.yaml", V1.replace("lr: 3.0e-4", "lr: -1"))
    r = expect(optreg("diff", "diff/bert@1", bad), 1)
    has(r, "spec.lr", "err")
    r = expect(optreg("diff", "diff/bert@1", bad, "--json"), 1)
    eq(json.loads(r.out)["code"], "invalid_config", "--json problem of an invalid file")
    expect(optreg("diff", "diff/bert@1", "diff/bert@2", token=None), 6, "no token")
    expect(optreg("diff", "diff/bert@1"), 2, "one argument")
    r = expect(optreg("diff", "diff/bert@1", "diff/bert@2", "diff/bert@3"), 2, "three")
    has(r, 'got a third, "diff/bert@3"', "err")
    expect(optreg("diff", "-", "-"), 2, "stdin twice")
    for cmd in ("diff", "list", "show"):
        r = expect(optreg(cmd, "--help", token=None), 0)
        has(r, "usage: optreg %s" % cmd)
        fits_80(r)
    # Two local files need no registry.
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPTREG_")}
    env["OPTREG_URL"] = "http://127.0.0.1:1"
    p = subprocess.run([CLI_BIN, "diff", W.f1, W.f2], env=env, cwd=W.dir, timeout=60,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    eq(p.returncode, 13, "diff of two files with no registry (stderr %r)" % p.stderr)
    eq(p.stdout.decode().splitlines()[2:], CHANGES_1_2, "the change lines of two files")


# ------------------------------------------------------------ list

def t_list():
    r = expect(optreg("list"), 0)
    lines = r.out.splitlines()
    eq(lines[0].split(), ["CONFIG", "LATEST", "DIGEST", "UPDATED", "(UTC)"], "heading")
    rows = [ln.split() for ln in lines[1:]]
    eq([(x[0], x[1], x[2]) for x in rows],
       [("diff/bert", "3", W.d3[7:19]), ("diff/gpt", "1", rows[1][2])], "rows")
    assert HEX12.match(rows[1][2]), rows
    assert re.match(r"^\d{4}-\d\d-\d\d$", rows[0][3]) and re.match(r"^\d\d:\d\d$", rows[0][4]), \
        rows
    fits_80(r)
    r = expect(optreg("list", NS, "--query", "gp"), 0)
    eq([ln.split()[0] for ln in r.out.splitlines()[1:]], ["diff/gpt"], "--query gp")
    r = expect(optreg("list", "--query", "zzz"), 0)
    eq(r.out, "", "stdout when nothing matches")
    has(r, 'no configs whose name contains "zzz"', "err")
    r = expect(optreg("list", "--json"), 0)
    j = json.loads(r.out)
    eq(j["next_page_token"], None, "next_page_token at the end")
    eq([(c["namespace"], c["name"], c["latest_version"], c["latest_digest"])
        for c in j["configs"]],
       [(NS, "bert", 3, W.d3), (NS, "gpt", 1, j["configs"][1]["latest_digest"])],
       "--json configs")
    r = expect(optreg("list", "--limit", "1", "--json"), 0)
    j = json.loads(r.out)
    eq(len(j["configs"]), 1, "--limit 1")
    assert isinstance(j["next_page_token"], str), j
    expect(optreg("list", "Bad_NS"), 2, "a malformed namespace")
    expect(optreg("list", "--limit", "0"), 2, "--limit 0")
    expect(optreg("list", token=None), 6, "no token")


# ------------------------------------------------------------ show

def t_show():
    status(W.S.request("POST", cpath("bert", "/versions/3/yank"), token=W.appr,
                       body={"reason": "wrong data"}), 200, "yank 3")
    r = expect(optreg("show", "diff/bert"), 0)
    lines = r.out.splitlines()
    eq(lines[:4], ["diff/bert", "latest   3  %s  (yanked)" % W.d3[:19],
                   "tags     prod -> 1", ""], "the head")
    eq(lines[4].split(), ["VERSION", "DIGEST", "CREATED", "(UTC)", "BY", "YANKED", "VERDICT",
                          "TAGS"], "heading")
    rows = [ln.split() for ln in lines[5:]]
    eq([(x[0], x[1], x[4], x[5], x[6]) for x in rows],
       [("3", W.d3[7:19], "ci@diff", "yes", "fail"),
        ("2", W.d2[7:19], "ci@diff", "-", "pending"),
        ("1", W.d1[7:19], "ci@diff", "-", "pass")], "rows")
    eq([x[7:] for x in rows], [["-"], ["-"], ["prod"]], "tags")
    fits_80(r)
    # A long tag list is cut to what the other columns leave of 80.
    for tag in ("release-candidate-2026", "zz-another-long-tag-name"):
        status(W.S.request("PUT", cpath("bert", "/tags/" + tag), token=W.sub,
                           body={"version": 1, "expected_version": None}), 200, "tag " + tag)
    r = expect(optreg("show", "diff/bert"), 0)
    fits_80(r)
    last = r.out.splitlines()[-1]
    eq(len(last), 80, "the row with the long tags fills 80 columns: %r" % last)
    assert last.endswith("...") and "  prod,rel" in last, last
    eq(r.out.splitlines()[2],
       "tags     prod -> 1, release-candidate-2026 -> 1, zz-another-long-tag-name -> 1",
       "the tags line")
    r = expect(optreg("show", "diff/bert", "--limit", "1"), 0)
    eq(len(r.out.splitlines()), 7, "head, heading, one row, the note:\n" + r.out)
    has(r, "(newer versions only: `optreg show diff/bert --limit N` shows more)")
    r = expect(optreg("show", "diff/bert", "--json"), 0)
    j = json.loads(r.out)
    eq((j["namespace"], j["name"]), (NS, "bert"), "names")
    eq(j["latest"]["version"], 3, "latest")
    eq([v["version"] for v in j["versions"]], [3, 2, 1], "versions")
    eq([(v["verdict"] or {}).get("result") for v in j["versions"]], ["fail", None, "pass"],
       "verdicts")
    eq(j["versions"][1].get("verdict_pending"), True, "version 2 waits for its verdict")
    eq(sorted((t["tag"], t["version"]) for t in j["tags"]),
       [("prod", 1), ("release-candidate-2026", 1), ("zz-another-long-tag-name", 1)], "tags")
    eq(j["next_page_token"], None, "next_page_token")
    expect(optreg("show", "diff/nope"), 8, "an unknown config")
    expect(optreg("show", "diff/bert@1"), 2, "a version is not a config")
    expect(optreg("show", "diff/bert", token=None), 6, "no token")
    # diff says so when a side is yanked.
    r = expect(optreg("diff", "diff/bert@2", "diff/bert@3"), 13)
    has(r, "optreg diff: warning: diff/bert@3 is yanked: wrong data", "err")


def t_diff_long_pattern():
    """A param group pattern longer than a line is cut across lines, so
    every line still fits 80 columns."""
    pattern = ("^encoder\\.layer\\.(0|1|2|3|4|5|6|7|8|9|10|11)\\.attention"
               "\\.self\\.(query|key|value)\\.(weight|bias)$")
    a = V1.replace('(bias|norm)", weight_decay: 0.0',
                   '%s", lr: 0.001' % pattern.replace("\\", "\\\\"))
    r = expect(optreg("diff", write("long-a.yaml", a),
                      write("long-b.yaml", a.replace("lr: 0.001}", "lr: 0.002}"))), 13)
    fits_80(r)
    joined = "".join(line[2:] for line in r.out.splitlines()[2:])
    has(r, "~ param group\n")
    assert '%s: lr 0.001 -> 0.002 (x2)' % json.dumps(pattern) in joined, \
        "the change, cut across lines:\n%s" % r.describe()


def t_show_utf8_principal():
    """The BY column is cut on a character boundary: a principal with a
    non-ASCII letter where the cut falls shows whole characters."""
    tok, _ = R.token("ops-team\u00fc-x@diff", "submitter", namespace=NS)
    submit("utf", V1.replace("name: bert", "name: utf"), token=tok)
    r = expect(optreg("show", "diff/utf"), 0)
    row = r.out.splitlines()[-1].split()
    eq(row[4], "ops-team...", "the BY cell:\n" + r.out)
    fits_80(r)


def main():
    try:
        setup()
    except Exception as e:  # noqa: BLE001
        tap.fail("harness: cluster, server, keys, configs", [repr(e)] + R.logs())
        R.cleanup()
        return tap.finish()
    try:
        tap.run("diff of two versions: one line per change, in 80 columns, exit 13",
                t_diff_versions)
        tap.run("diff of a tag against a local file, and of standard input",
                t_diff_tag_against_file)
        tap.run("diff against the latest version (ns/name) and a digest",
                t_diff_latest_and_digest)
        tap.run("diff --json: a, b, equal and the changes with path, kind, old, new, text",
                t_diff_json)
        tap.run("equal configs exit 0: same document, defaults written out, an envelope",
                t_diff_equal)
        tap.run("diff refuses unknown and malformed references, invalid files, no token",
                t_diff_bad_refs)
        tap.run("diff: a param group pattern longer than a line still fits 80 columns",
                t_diff_long_pattern)
        tap.run("list: table, namespace, --query, --limit, --json, nothing found", t_list)
        tap.run("show: latest, tags, versions with verdicts and yanked, --limit, --json",
                t_show)
        tap.run("show: a principal cut on a character boundary", t_show_utf8_principal)
    finally:
        R.cleanup()
    return tap.finish()


if __name__ == "__main__":
    sys.exit(main())
