#!/usr/bin/python3
"""tests/e2e/ci_test.py: optreg in CI, end to end, against a real
optreg-server over a private PostgreSQL cluster (tests/e2e/harness.py),
driving the real $BIN/optreg as a CI job does.

What it covers:

  - `optreg token create|list|revoke` (GET /v1/tokens too): the new token
    printed once, alone on stdout, its id on stderr; the list pages, never
    shows a token or a hash, filters by principal, needs admin; revoke
    makes the token fail at once; usage errors name the option;
  - signing keys for CI: `keygen --encrypt`, the passphrase from
    OPTREG_KEY_PASSPHRASE or --passphrase-env, the key from standard input
    (--key - and OPTREG_KEY=-); a missing or wrong passphrase is exit 2
    naming the variable; no passphrase, key or token text ever appears in
    any output or error message;
  - `lint` and `submit` with directories and globs (quoted, expanded by
    optreg, ** at any depth): hidden files skipped, the summary table,
    the worst exit status by the documented order; submit continues after
    a refused file and each file is its own transaction;
  - examples/ci/: the GitHub Actions workflow and the GitLab CI job are
    parsed (python3-yaml) and their run:/script: steps run as shell
    scripts in a checkout of configs, with the environment CI would give
    them (secrets and variables), against the registry; a fake runner
    thread posts verdicts for the jobs the submits create. A good config
    is submitted and `prod` moves to it; an invalid one stops the lint
    step with exit 1 and GitHub annotations; one the runners fail leaves
    prod where it was with exit 11.

usage: tests/e2e/ci_test.py     (from the repository root)
env:   BIN   folder with optreg and optreg-server (default "bin")
Prints TAP and exits 1 when any test fails.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the working tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import yaml  # noqa: E402  (Debian's python3-yaml, scripts/bootstrap)

import harness as h  # noqa: E402
from harness import CLI_BIN, ROOT, eq, status  # noqa: E402

tap = h.Tap()
R = h.Registry()
NS = "team-ci"
PASSPHRASE = "pass-phrase-9f3c1e"
GITHUB_WORKFLOW = os.path.join(ROOT, "examples", "ci", "github-actions.yml")
GITLAB_JOB = os.path.join(ROOT, "examples", "ci", "gitlab-ci.yml")

POLICY = """apiVersion: optreg/v1
kind: Policy
name: ci-prod-gate
description: prod only moves to passing versions; no lr above 0.05
namespaces: ["team-ci"]
mode: enforce
rules:
  - id: lr-cap
    severity: deny
    field: spec.lr
    at_most: 0.05
    message: lr must be at most 0.05
gates:
  - tags: [prod]
    allow_warn: false
"""


class W:
    pass


# ---------------------------------------------------------------- helpers

class Result:
    def __init__(self, argv, p):
        self.argv = argv
        self.rc = p.returncode
        self.out = p.stdout
        self.err = p.stderr

    def __repr__(self):
        return "optreg %s: exit %d\nstdout: %s\nstderr: %s" % (
            " ".join(self.argv), self.rc, self.out[-3000:], self.err[-3000:])


def cli_env(token=None, **extra):
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": R.tmp,
           "LANG": "C.UTF-8", "OPTREG_URL": W.S.base}
    if token:
        env["OPTREG_TOKEN"] = token
    for k, v in extra.items():
        if v is not None:
            env[k] = v
    return env


def optreg(*argv, token=None, input=None, cwd=None, **env):
    p = subprocess.run([CLI_BIN] + list(argv), input=input, capture_output=True,
                       text=True, timeout=120, env=cli_env(token, **env),
                       cwd=cwd or R.tmp)
    return Result(argv, p)


def expect(res, rc, what):
    assert res.rc == rc, "%s: expected exit %d\n%r" % (what, rc, res)
    return res


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def config_yaml(name, lr="3.0e-5", ns=NS):
    return ("apiVersion: optreg/v1\nkind: OptimizerConfig\nmetadata:\n"
            "  namespace: %s\n  name: %s\nspec:\n  optimizer: adamw\n"
            "  lr: %s\n  betas: [0.9, 0.999]\n  eps: 1.0e-8\n"
            "  weight_decay: 0.01\n" % (ns, name, lr))


# An invalid config: beta1 out of range and an unknown field.
INVALID = ("apiVersion: optreg/v1\nkind: OptimizerConfig\nmetadata:\n"
           "  namespace: team-ci\n  name: broken\nspec:\n  optimizer: adamw\n"
           "  lr: 3.0e-5\n  betas: [1.5, 0.999]\n  eps: 1.0e-8\n"
           "  weight_decay: 0.01\n  colour: blue\n")


def digest(path):
    return expect(optreg("digest", path), 0, "digest " + path).out.strip()


def secrets_absent(text, what):
    """No secret of this test in `text`: passphrase, token, key body."""
    for secret in [PASSPHRASE] + W.secrets:
        assert secret not in text, "%s: a secret appears in %r" % (what, text[-500:])


def tag_version(name, tag="prod"):
    r = W.S.request("GET", "/v1/configs/%s/%s/tags/%s" % (NS, name, tag), token=W.admin)
    return r.json()["version"] if r.status == 200 else None


# ------------------------------------------------------------ fake runner

class FakeRunner(threading.Thread):
    """Leases the jobs that submits create and posts a verdict for each:
    W.verdicts[digest] when set, else pass."""

    def __init__(self):
        super().__init__(daemon=True)
        self.stop = threading.Event()
        self.judged = []

    def run(self):
        while not self.stop.is_set():
            try:
                r = W.S.request("POST", "/v1/jobs/lease", token=W.runner,
                                body={"lease_seconds": 600})
                job = r.json().get("job") if r.status == 200 else None
            except Exception:  # noqa: BLE001
                job = None
            if not job:
                self.stop.wait(0.2)
                continue
            result = W.verdicts.get(job["digest"], "pass")
            h.post_verdict(W.S, W.runner, job, [W.verdict_key], result)
            self.judged.append((job["digest"], result))


# ------------------------------------------------------------------ setup

def setup():
    R.start()
    W.S = R.server()
    W.admin, _ = R.token("admin@ops", "admin")
    W.runner, _ = R.token("runner@ops", "runner", namespace=NS)
    W.verdicts = {}
    W.secrets = []
    W.verdict_key = h.Signer(R.tmp, "verdict")
    status(W.S.request("POST", "/v1/keys", token=W.admin,
                       body={"public_key": W.verdict_key.public_pem,
                             "principal": "runner@ops", "namespaces": [NS],
                             "purpose": "verdict"}), 201, "register the verdict key")
    status(h.put_policy(W.S, W.admin, "ci-prod-gate", POLICY, "gate prod"), 201,
           "push the policy")
    W.runner_thread = FakeRunner()
    W.runner_thread.start()


# ----------------------------------------------------------------- tokens

def t_token_create():
    res = expect(optreg("token", "create", "--principal", "ci@team-ci",
                        "--grant", "submitter:team-ci", "--grant", "approver:team-ci",
                        "--expires-in", "90d", token=W.admin), 0, "token create")
    # The token alone on stdout, once; the id on stderr.
    assert re.fullmatch(r"optreg_\S+\n", res.out), res
    W.ci_token = res.out.strip()
    W.secrets.append(W.ci_token)
    m = re.search(r"created (tok_[0-9a-f]{16}) for ci@team-ci "
                  r"\(submitter:team-ci,approver:team-ci\), expires \d{4}-", res.err)
    assert m, res
    W.ci_token_id = m.group(1)
    assert W.ci_token not in res.err, "the token is on stderr too"
    # It works: a submitter on team-ci may validate there.
    r = W.S.request("GET", "/v1/tokens", token=W.ci_token)
    status(r, 403, "a submitter cannot list tokens")
    # --json: the API's answer, token included (shown once).
    res = expect(optreg("token", "create", "--principal", "ro@team-ci",
                        "--grant", "reader:*", "--json", token=W.admin), 0, "--json")
    j = json.loads(res.out)
    eq(sorted(j), ["expires_at", "grants", "id", "principal", "token"], "--json keys")
    eq(j["expires_at"], None, "no --expires-in: does not expire")
    W.ro_token, W.ro_id = j["token"], j["id"]
    W.secrets.append(W.ro_token)


def t_token_create_usage():
    for args, needle in (
            (["--grant", "submitter:team-ci"], "--principal is required"),
            (["--principal", "x@y"], "at least one --grant ROLE:NS"),
            (["--principal", "x@y", "--grant", "submitter"], "--grant must be ROLE:NS"),
            (["--principal", "x@y", "--grant", "submitter:a", "--expires-in", "5x"],
             "--expires-in must be"),
            (["--principal", "x@y", "--grant", "submitter:a", "--expires-in", "0d"],
             "--expires-in must be")):
        res = expect(optreg("token", "create", *args, token=W.admin), 2, " ".join(args))
        assert needle in res.err, res
        eq(res.out, "", "nothing on stdout")
    # The registry's own checks: an unknown role is 400 -> exit 1.
    res = expect(optreg("token", "create", "--principal", "x@y", "--grant", "boss:a",
                        token=W.admin), 1, "unknown role")
    assert "grants[0]" in res.err and "role must be one of" in res.err, res
    res = expect(optreg("token", "frobnicate", token=W.admin), 2, "unknown subcommand")
    assert "create, list, revoke" in res.err, res
    res = expect(optreg("token", "--help"), 0, "--help")
    assert "optreg token create" in res.out, res


def t_token_list():
    res = expect(optreg("token", "list", token=W.admin), 0, "token list")
    lines = res.out.splitlines()
    eq(lines[0].split(), ["ID", "PRINCIPAL", "GRANTS", "CREATED", "EXPIRES", "REVOKED"],
       "heading")
    row = [l for l in lines if l.startswith(W.ci_token_id)]
    eq(len(row), 1, "the CI token's row")
    assert "approver:team-ci,submitter:team-ci" in row[0], row
    secrets_absent(res.out + res.err, "token list")
    # --json: every token, the contract's fields, never a hash or token.
    res = expect(optreg("token", "list", "--json", token=W.admin), 0, "list --json")
    j = json.loads(res.out)
    for t in j["tokens"]:
        eq(sorted(t), ["created_at", "expires_at", "grants", "id", "principal",
                       "revoked_at"], "token fields")
    assert "hash" not in res.out and "token_hash" not in res.out
    secrets_absent(res.out, "token list --json")
    ids = [t["id"] for t in j["tokens"]]
    eq(ids, sorted(ids), "in id order")
    assert W.ci_token_id in ids and W.ro_id in ids
    # --principal filters.
    res = expect(optreg("token", "list", "--principal", "ro@team-ci", "--json",
                        token=W.admin), 0, "--principal")
    eq([t["id"] for t in json.loads(res.out)["tokens"]], [W.ro_id], "filtered")


def t_token_list_pages():
    for i in range(3):
        R.token("pager%d@ops" % i, "reader")
    r = status(W.S.request("GET", "/v1/tokens", token=W.admin), 200, "all")
    every = [t["id"] for t in r.json()["tokens"]]
    eq(r.json()["next_page_token"], None, "one page")
    got, tok = [], None
    while True:
        path = "/v1/tokens?page_size=2" + ("&page_token=" + tok if tok else "")
        r = status(W.S.request("GET", path, token=W.admin), 200, "page")
        page = r.json()
        assert len(page["tokens"]) <= 2
        got += [t["id"] for t in page["tokens"]]
        tok = page["next_page_token"]
        if not tok:
            break
    eq(got, every, "the pages together are the list")
    assert len(every) >= 5
    h.problem(W.S.request("GET", "/v1/tokens?page_token=bm9wZQ", token=W.admin),
              400, "bad_request", "a page token the server did not issue")
    h.problem(W.S.request("GET", "/v1/tokens?page_size=0", token=W.admin),
              400, "bad_request", "page_size 0")
    # Not an admin: 403; no token: 401.
    expect(optreg("token", "list", token=W.ci_token), 4, "submitter lists")
    expect(optreg("token", "list"), 6, "anonymous lists")


def t_token_revoke():
    res = expect(optreg("token", "revoke", W.ro_id, token=W.admin), 0, "revoke")
    eq(res.out, "revoked %s\n" % W.ro_id, "revoke output")
    h.problem(W.S.request("GET", "/v1/configs?query=x", token=W.ro_token), 401,
              "unauthorized", "the revoked token")
    res = expect(optreg("token", "list", "--json", token=W.admin), 0, "list")
    t = [t for t in json.loads(res.out)["tokens"] if t["id"] == W.ro_id][0]
    assert t["revoked_at"], t
    expect(optreg("token", "revoke", W.ro_id, token=W.admin), 8, "revoked twice")
    res = expect(optreg("token", "revoke", W.ro_token, token=W.admin), 2,
                 "the token instead of its id")
    secrets_absent(res.err, "revoke usage error")
    assert "not a token id" in res.err, res
    # Not even a part of it (a prefix of a token is most of its secret).
    assert W.ro_token[:12] not in res.err, res.err
    assert "not shown" in res.err, res.err
    res = expect(optreg("token", "revoke", "tok_xyz", token=W.admin), 2, "a typo")
    assert '"tok_xyz" is not a token id' in res.err, res.err
    expect(optreg("token", "revoke", "tok_0123456789abcdef", token=W.ci_token), 4,
           "a submitter revokes")


# ------------------------------------------------------------------ keys

def t_keygen_encrypt():
    d = os.path.join(R.tmp, "keys")
    os.makedirs(d)
    res = expect(optreg("keygen", "--out", os.path.join(d, "ci"), "--encrypt",
                        OPTREG_KEY_PASSPHRASE=PASSPHRASE), 0, "keygen --encrypt")
    W.keyid = res.out.strip()
    assert "encrypted" in res.err, res
    W.key_path = os.path.join(d, "ci.pem")
    with open(W.key_path) as f:
        W.key_pem = f.read()
    assert W.key_pem.startswith("-----BEGIN ENCRYPTED PRIVATE KEY-----"), W.key_pem[:40]
    eq(os.stat(W.key_path).st_mode & 0o777, 0o600, "mode")
    W.secrets += [l for l in W.key_pem.splitlines() if not l.startswith("-----")]
    # openssl agrees it is encrypted PKCS#8 under that passphrase.
    p = subprocess.run(["openssl", "pkey", "-in", W.key_path, "-passin",
                        "env:PW", "-noout"], env={"PW": PASSPHRASE},
                       capture_output=True)
    eq(p.returncode, 0, "openssl decrypts it")
    res = expect(optreg("keygen", "--out", os.path.join(d, "x"), "--encrypt"), 2,
                 "--encrypt without the variable")
    assert "OPTREG_KEY_PASSPHRASE is not set" in res.err, res
    assert not os.path.exists(os.path.join(d, "x.pem"))
    res = expect(optreg("keygen", "--out", os.path.join(d, "x"), "--encrypt",
                        "--passphrase-env", PASSPHRASE), 2,
                 "--passphrase-env given the passphrase")
    assert "not shown" in res.err, res
    secrets_absent(res.out + res.err, "keygen --passphrase-env PASSPHRASE")
    assert not os.path.exists(os.path.join(d, "x.pem"))
    res = expect(optreg("key", "register", os.path.join(d, "ci.pub.pem"),
                        "--principal", "ci@team-ci", "--namespace", NS,
                        token=W.admin), 0, "key register")
    assert W.keyid in res.out, res


def t_sign_with_passphrase():
    cfg = os.path.join(R.tmp, "keys", "c.yaml")
    write(cfg, config_yaml("signed"))
    ok = [
        ("--key FILE, OPTREG_KEY_PASSPHRASE", ["--key", W.key_path], None,
         {"OPTREG_KEY_PASSPHRASE": PASSPHRASE}),
        ("--key -, --passphrase-env", ["--key", "-", "--passphrase-env", "CI_PW"],
         W.key_pem, {"CI_PW": PASSPHRASE}),
        ("OPTREG_KEY=-", [], W.key_pem,
         {"OPTREG_KEY": "-", "OPTREG_KEY_PASSPHRASE": PASSPHRASE}),
    ]
    for what, args, stdin, env in ok:
        res = expect(optreg("sign", cfg, *args, input=stdin, **env), 0, what)
        env_doc = json.loads(res.out)
        eq(env_doc["signatures"][0]["keyid"], W.keyid, what)
        secrets_absent(res.out + res.err, what)
    bad = [
        ("no passphrase", ["--key", W.key_path], None, {},
         ["is an encrypted private key and no passphrase was given",
          "OPTREG_KEY_PASSPHRASE is not set"]),
        ("wrong passphrase", ["--key", W.key_path], None,
         {"OPTREG_KEY_PASSPHRASE": "not-" + PASSPHRASE},
         ["wrong passphrase", "the passphrase in OPTREG_KEY_PASSPHRASE does not decrypt"]),
        ("wrong passphrase, stdin", ["--key", "-", "--passphrase-env", "CI_PW"],
         W.key_pem, {"CI_PW": PASSPHRASE + "x"},
         ["standard input: cannot decrypt", "CI_PW"]),
        ("--passphrase-env unset", ["--key", "-", "--passphrase-env", "NOPE"], W.key_pem,
         {}, ["--passphrase-env NOPE: that variable is not set"]),
        ("key and FILE both stdin", ["--key", "-"], W.key_pem, {},
         ["cannot both come from standard input"]),
        # The passphrase itself given by mistake is never echoed.
        ("--passphrase-env PASSPHRASE", ["--key", W.key_path, "--passphrase-env",
                                         PASSPHRASE], None, {},
         ["--passphrase-env needs the name of an environment variable",
          "not shown"]),
    ]
    for what, args, stdin, env, needles in bad:
        file = "-" if what == "key and FILE both stdin" else cfg
        res = expect(optreg("sign", file, *args, input=stdin, **env), 2, what)
        for n in needles:
            assert n in res.err, "%s: %r not in %r" % (what, n, res.err)
        eq(res.out, "", what + ": nothing on stdout")
        secrets_absent(res.out + res.err, what)
        assert "not-" + PASSPHRASE not in res.err and PASSPHRASE + "x" not in res.err


def t_submit_key_from_stdin():
    cfg = os.path.join(R.tmp, "keys", "s.yaml")
    write(cfg, config_yaml("from-stdin"))
    res = expect(optreg("submit", cfg, "--key", "-", input=W.key_pem, token=W.ci_token,
                        OPTREG_KEY_PASSPHRASE=PASSPHRASE), 0, "submit --key -")
    assert re.match(r"team-ci/from-stdin@1 sha256:[0-9a-f]{64} \(created\)\n$", res.out), res
    secrets_absent(res.out + res.err, "submit --key -")
    res = expect(optreg("submit", cfg, "--key", "-", input=W.key_pem, token=W.ci_token),
                 2, "submit without the passphrase")
    assert "OPTREG_KEY_PASSPHRASE is not set" in res.err, res
    secrets_absent(res.out + res.err, "submit without the passphrase")


# -------------------------------------------------------- lint and submit

def make_tree(root):
    write(os.path.join(root, "configs", "a-good.yaml"), config_yaml("tree-a"))
    write(os.path.join(root, "configs", "nested", "deep", "b-good.yml"),
          config_yaml("tree-b", lr="1.0e-4"))
    write(os.path.join(root, "configs", "nested", "c-broken.yaml"), INVALID)
    write(os.path.join(root, "configs", "nested", "d-hot.json"),
          json.dumps(json.loads(json.dumps(yaml.safe_load(config_yaml("tree-d", lr="0.1"))))))
    write(os.path.join(root, "configs", ".hidden.yaml"), "not: [valid")
    write(os.path.join(root, "configs", ".git", "x.yaml"), "not: [valid")
    write(os.path.join(root, "configs", "README.txt"), "not a config")


def t_lint_dirs_and_globs():
    root = os.path.join(R.tmp, "lint")
    make_tree(root)
    # A directory: recursive, hidden entries and other names left out.
    res = expect(optreg("lint", "configs", cwd=root), 1, "lint a directory")
    table = res.err[res.err.index("FILE "):]
    rows = [l.split()[:2] for l in table.splitlines()[1:-1]]
    eq(rows, [["configs/a-good.yaml", "ok"],
              ["configs/nested/c-broken.yaml", "invalid"],
              ["configs/nested/d-hot.json", "ok"],
              ["configs/nested/deep/b-good.yml", "ok"]], "rows")
    assert table.splitlines()[-1] == "4 files: 3 ok, 1 failed; exit status 1", table
    assert "2 errors; first: spec" in table, table
    assert ".hidden" not in res.out + res.err and "README" not in res.out + res.err
    # Quoted patterns, expanded by optreg; ** is any depth, none included.
    res = expect(optreg("lint", "configs/**/*.yaml", cwd=root), 1, "**/*.yaml")
    assert "configs/a-good.yaml: ok" in res.out and "c-broken.yaml" in res.err, res
    assert "b-good.yml" not in res.out
    res = expect(optreg("lint", "configs/*.yaml", cwd=root), 0, "*.yaml: one file")
    assert "FILE " not in res.err, "no table for one file"
    # --format github: annotations on stdout, the table on stderr.
    res = expect(optreg("lint", "--format", "github", "configs", cwd=root), 1, "github")
    assert "::error file=configs/nested/c-broken.yaml,line=9," in res.out, res
    assert "::error file=configs/nested/c-broken.yaml,line=12," in res.out, res
    eq(len(res.out.splitlines()), 2, "two annotations, one per error")
    assert "FILE " in res.err and "::" not in res.err
    # --format json: stdout stays one object per line.
    res = expect(optreg("lint", "--format", "json", "configs/**", cwd=root), 1, "json")
    objs = [json.loads(l) for l in res.out.splitlines()]
    eq([o["valid"] for o in objs], [True, False, True, True], "json rows")
    # The worst status wins: unreadable (3) over invalid (1); a pattern
    # that matches nothing is unreadable too, and the rest still run.
    res = expect(optreg("lint", "configs", "nope.yaml", cwd=root), 3, "missing file")
    res = expect(optreg("lint", "configs/*.toml", "configs/a-good.yaml", cwd=root), 3,
                 "a pattern with no match")
    assert "configs/*.toml: the pattern matches no file" in res.err, res
    assert "configs/a-good.yaml: ok" in res.out, res
    # With --policies, a denial is invalid (1) too.
    pol = os.path.join(root, "policies")
    write(os.path.join(pol, "p.yaml"), POLICY)
    res = expect(optreg("lint", "--policies", pol, "configs/nested/d-hot.json",
                        "configs/a-good.yaml", cwd=root), 1, "policies")
    assert re.search(r"configs/nested/d-hot.json\s+denied\s+sha256:\S+\s+1\s+"
                     r"ci-prod-gate/lr-cap", res.err), res


def t_submit_many():
    root = os.path.join(R.tmp, "submit")
    make_tree(root)
    env = {"OPTREG_KEY": "-", "OPTREG_KEY_PASSPHRASE": PASSPHRASE}
    res = expect(optreg("submit", "configs", token=W.ci_token, input=W.key_pem,
                        cwd=root, **env), 1, "submit a directory")
    # Each file on its own: the good ones are stored despite the others.
    assert re.search(r"^team-ci/tree-a@1 sha256:\S+ \(created\)$", res.out, re.M), res
    assert re.search(r"^team-ci/tree-b@1 sha256:\S+ \(created\)$", res.out, re.M), res
    table = res.err[res.err.index("FILE "):]
    assert re.search(r"configs/a-good.yaml\s+created\s+team-ci/tree-a@1\s+0", table), table
    assert re.search(r"configs/nested/c-broken.yaml\s+invalid\s+-\s+1\s+2 errors", table)
    assert re.search(r"configs/nested/d-hot.json\s+denied by policy\s+-\s+1\s+"
                     r"ci-prod-gate/lr-cap: lr must be at most 0.05 \(422 policy_denied\)", table), table
    assert table.splitlines()[-1] == "4 files: 2 ok, 2 failed; exit status 1", table
    r = W.S.request("GET", "/v1/configs/%s/tree-d/versions" % NS, token=W.admin)
    assert r.status == 404 or not r.json().get("versions"), "the denied one is not stored"
    secrets_absent(res.out + res.err, "submit many")
    # Again: unchanged, exit 1 still for the bad ones.
    res = expect(optreg("submit", "configs/**/*good.y*ml", token=W.ci_token,
                        input=W.key_pem, cwd=root, **env), 0, "again")
    assert res.out.count("(unchanged)") == 2, res
    # Unauthorized (6) wins over invalid (1).
    res = expect(optreg("submit", "configs", token="optreg_bogus", input=W.key_pem,
                        cwd=root, **env), 6, "bad token")
    assert re.search(r"a-good.yaml\s+unauthorized", res.err), res
    # Denied (4: a namespace the token has no role in) over invalid (1).
    write(os.path.join(root, "other", "x.yaml"), config_yaml("x", ns="elsewhere"))
    write(os.path.join(root, "other", "y.yaml"), INVALID)
    res = expect(optreg("submit", "other", token=W.ci_token, input=W.key_pem, cwd=root,
                        **env), 4, "denied and invalid")
    assert res.err.splitlines()[-1] == "2 files: 0 ok, 2 failed; exit status 4", res
    # Usage errors stop before anything is read or sent.
    res = expect(optreg("submit", "configs", "-", "--key", "-", token=W.ci_token,
                        cwd=root), 2, "key and FILE from stdin")


def t_submit_many_wait():
    root = os.path.join(R.tmp, "wait")
    write(os.path.join(root, "w1.yaml"), config_yaml("wait-1"))
    write(os.path.join(root, "w2.yaml"), config_yaml("wait-2", lr="2.0e-5"))
    W.verdicts[digest(os.path.join(root, "w2.yaml"))] = "fail"
    env = {"OPTREG_KEY": "-", "OPTREG_KEY_PASSPHRASE": PASSPHRASE}
    res = expect(optreg("submit", "*.yaml", "--wait", "--timeout", "60", "--tag", "prod",
                        "--message", "from ci_test", token=W.ci_token, input=W.key_pem,
                        cwd=root, **env), 11, "--wait per file")
    table = res.err[res.err.index("FILE "):]
    assert re.search(r"w1.yaml\s+verdict pass\s+team-ci/wait-1@1\s+0\s+tagged prod",
                     table), table
    assert re.search(r"w2.yaml\s+verdict fail\s+team-ci/wait-2@1\s+11\s+"
                     r"tag prod not moved", table), table
    eq(tag_version("wait-1"), 1, "prod moved on pass")
    eq(tag_version("wait-2"), None, "prod not moved on fail")


# ------------------------------------------------------------- workflows

EXPR = re.compile(r"\$\{\{\s*([^}]*?)\s*\}\}")


def gh_expand(text, ctx):
    """Replaces ${{ secrets.X }}, ${{ vars.X }} and ${{ github.X }}; any
    other expression fails the test (the example keeps to these)."""
    def one(m):
        scope, _, name = m.group(1).partition(".")
        assert scope in ctx and name in ctx[scope], "unknown expression %r" % m.group(0)
        return ctx[scope][name]
    return EXPR.sub(one, text)


def gh_if(cond, ctx):
    m = re.fullmatch(r"github\.event_name == '(\w+)'", cond.strip())
    assert m, "unsupported if: %r" % cond
    return ctx["github"]["event_name"] == m.group(1)


def checkout(configs):
    """A checkout of a repository holding `configs` {relative path: text}."""
    W.n_checkouts = getattr(W, "n_checkouts", 0) + 1
    root = os.path.join(R.tmp, "checkout%d" % W.n_checkouts)
    for rel, text in configs.items():
        write(os.path.join(root, rel), text)
    return root


def run_github(root, event="push"):
    """Runs the workflow's jobs in `needs` order, each step's run: as
    `bash -eo pipefail` (GitHub's default shell) with the workflow, job
    and step env expanded. Returns [(job, step name, exit, stdout,
    stderr)] up to the first failing step."""
    with open(GITHUB_WORKFLOW) as f:
        wf = yaml.safe_load(f)
    ctx = {"secrets": {"OPTREG_TOKEN": W.ci_token, "OPTREG_SIGNING_KEY": W.key_pem,
                       "OPTREG_KEY_PASSPHRASE": PASSPHRASE},
           "vars": {"OPTREG_URL": W.S.base, "OPTREG_SOURCE": "https://example.invalid/x"},
           "github": {"event_name": event}}
    base_env = {"PATH": os.path.dirname(CLI_BIN) + ":" + os.environ["PATH"],
                "HOME": R.tmp, "LANG": "C.UTF-8", "CI": "true", "GITHUB_ACTIONS": "true",
                "GITHUB_REPOSITORY": "acme/configs", "GITHUB_SHA": "0" * 40,
                "GITHUB_SERVER_URL": "https://github.com", "GITHUB_RUN_ID": "42",
                "GITHUB_EVENT_NAME": event, "RUNNER_TEMP": R.tmp,
                "GITHUB_PATH": os.path.join(root, ".github_path")}
    for k, v in (wf.get("env") or {}).items():
        base_env[k] = gh_expand(str(v), ctx)
    done, log = set(), []
    jobs = wf["jobs"]
    while len(done) < len(jobs):
        for name, job in jobs.items():
            needs = job.get("needs") or []
            needs = [needs] if isinstance(needs, str) else needs
            if name in done or not all(n in done for n in needs):
                continue
            done.add(name)
            if "if" in job and not gh_if(job["if"], ctx):
                continue
            env = dict(base_env)
            for k, v in (job.get("env") or {}).items():
                env[k] = gh_expand(str(v), ctx)
            for step in job["steps"]:
                if "uses" in step:
                    continue          # actions/checkout: `root` is the checkout
                senv = dict(env)
                for k, v in (step.get("env") or {}).items():
                    senv[k] = gh_expand(str(v), ctx)
                script = gh_expand(step["run"], ctx)
                p = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail",
                                    "-c", script], cwd=root, env=senv,
                                   capture_output=True, text=True, timeout=300)
                log.append((name, step.get("name", ""), p.returncode, p.stdout, p.stderr))
                if p.returncode != 0:
                    return log
    return log


def run_gitlab(root, branch="main"):
    """Runs the GitLab jobs stage by stage; each job's script: entries in
    one `bash -eo pipefail` script (as GitLab's shell runner does), with
    the CI/CD variables and the job's variables. Returns [(job, exit,
    stdout, stderr)] up to the first failing job."""
    with open(GITLAB_JOB) as f:
        doc = yaml.safe_load(f)
    env0 = {"PATH": os.path.dirname(CLI_BIN) + ":" + os.environ["PATH"], "HOME": R.tmp,
            "LANG": "C.UTF-8", "CI": "true", "GITLAB_CI": "true",
            "CI_COMMIT_BRANCH": branch, "CI_DEFAULT_BRANCH": "main",
            "CI_PROJECT_PATH": "acme/configs", "CI_COMMIT_SHA": "1" * 40,
            "CI_PIPELINE_URL": "https://gitlab.example/acme/configs/-/pipelines/7",
            # The CI/CD variables of the project settings:
            "OPTREG_URL": W.S.base, "OPTREG_TOKEN": W.ci_token,
            "OPTREG_SIGNING_KEY": W.key_pem, "OPTREG_KEY_PASSPHRASE": PASSPHRASE}
    log = []
    for stage in doc["stages"]:
        for name, job in doc.items():
            if not isinstance(job, dict) or job.get("stage") != stage:
                continue
            rules = job.get("rules")
            if rules:
                cond = rules[0]["if"]
                m = re.fullmatch(r"\$(\w+) == \$(\w+)", cond.strip())
                assert m, "unsupported rule %r" % cond
                if env0.get(m.group(1)) != env0.get(m.group(2)):
                    continue
            env = dict(env0)
            env.update({k: str(v) for k, v in (job.get("variables") or {}).items()})
            script = "\n".join(job["script"])
            p = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail",
                                "-c", script], cwd=root, env=env,
                               capture_output=True, text=True, timeout=300)
            log.append((name, p.returncode, p.stdout, p.stderr))
            if p.returncode != 0:
                return log
    return log


def t_github_good_config_tagged():
    root = checkout({"configs/nlp/bert.yaml": config_yaml("gh-bert"),
                     "configs/vision/resnet.yaml": config_yaml("gh-resnet", lr="1.0e-4")})
    log = run_github(root)
    eq([(j, rc) for j, _, rc, _, _ in log],
       [("lint", 0), ("lint", 0), ("submit", 0), ("submit", 0)], "steps and exits")
    out, err = log[-1][3], log[-1][4]
    assert re.search(r"^team-ci/gh-bert@1 sha256:\S+ \(created\)$", out, re.M), out
    eq(tag_version("gh-bert"), 1, "prod -> gh-bert@1")
    eq(tag_version("gh-resnet"), 1, "prod -> gh-resnet@1")
    assert "2 files: 2 ok, 0 failed; exit status 0" in err, err
    for entry in log:
        secrets_absent(entry[3] + entry[4], "workflow output")
    # The version carries the commit and the run link.
    r = W.S.request("GET", "/v1/configs/%s/gh-bert/versions/1" % NS, token=W.admin)
    body = json.dumps(r.json())
    assert "CI: acme/configs@" + "0" * 40 in body, body[:400]
    assert "https://github.com/acme/configs/actions/runs/42" in body
    # A pull request lints only.
    root = checkout({"configs/nlp/bert.yaml": config_yaml("gh-pr", lr="5.0e-5")})
    log = run_github(root, event="pull_request")
    eq([j for j, _, _, _, _ in log], ["lint", "lint"], "pull_request: lint only")
    eq(tag_version("gh-pr"), None, "nothing submitted on a pull request")


def t_github_invalid_config_refused():
    root = checkout({"configs/nlp/ok.yaml": config_yaml("gh-ok2"),
                     "configs/nlp/broken.yaml": INVALID})
    log = run_github(root)
    job, step, rc, out, err = log[-1]
    eq((job, step, rc), ("lint", "Lint", 1), "the lint step fails with exit 1")
    assert re.search(r"^::error file=configs/nlp/broken.yaml,line=9,col=\d+,"
                     r"title=[^:]+::spec.betas\[0\]", out, re.M), out
    assert "::error file=configs/nlp/broken.yaml,line=12" in out, out
    eq(tag_version("gh-ok2"), None, "nothing submitted after a failed lint")


def t_github_failing_verdict_keeps_prod():
    root = checkout({"configs/nlp/bert.yaml": config_yaml("gh-bert", lr="4.0e-5")})
    W.verdicts[digest(os.path.join(root, "configs/nlp/bert.yaml"))] = "fail"
    log = run_github(root)
    job, step, rc, out, err = log[-1]
    eq((job, rc), ("submit", 11), "the submit step fails with the verdict's exit 11")
    assert "team-ci/gh-bert@2" in out, out
    assert 'tag "prod" not moved: no passing verdict' in err, err
    eq(tag_version("gh-bert"), 1, "prod stays on the passing version")


def t_github_denied_by_policy():
    root = checkout({"configs/nlp/hot.yaml": config_yaml("gh-hot", lr="0.1")})
    log = run_github(root)
    job, step, rc, out, err = log[-1]
    eq((job, rc), ("submit", 1), "denied by a policy: exit 1")
    assert "lr must be at most 0.05" in err, err


def t_gitlab_job():
    root = checkout({"configs/a/gl.yaml": config_yaml("gl-one")})
    log = run_gitlab(root)
    eq([(j, rc) for j, rc, _, _ in log], [("optreg-lint", 0), ("optreg-submit", 0)],
       "jobs")
    eq(tag_version("gl-one"), 1, "prod -> gl-one@1")
    r = W.S.request("GET", "/v1/configs/%s/gl-one/versions/1" % NS, token=W.admin)
    assert "https://gitlab.example/acme/configs/-/pipelines/7" in json.dumps(r.json())
    for entry in log:
        secrets_absent(entry[2] + entry[3], "gitlab output")
    # Another branch: lint only.
    root = checkout({"configs/a/gl.yaml": config_yaml("gl-two")})
    log = run_gitlab(root, branch="feature")
    eq([j for j, _, _, _ in log], ["optreg-lint"], "a branch: lint only")
    # An invalid config stops the lint job with exit 1.
    root = checkout({"configs/a/gl.yaml": INVALID})
    log = run_gitlab(root)
    eq([(j, rc) for j, rc, _, _ in log], [("optreg-lint", 1)], "invalid: lint fails")
    # A failing verdict: the submit job fails with 11, prod stays.
    root = checkout({"configs/a/gl.yaml": config_yaml("gl-one", lr="6.0e-5")})
    W.verdicts[digest(os.path.join(root, "configs/a/gl.yaml"))] = "fail"
    log = run_gitlab(root)
    eq([(j, rc) for j, rc, _, _ in log], [("optreg-lint", 0), ("optreg-submit", 11)],
       "verdict fail")
    eq(tag_version("gl-one"), 1, "prod stays")
    # A warn verdict is accepted by the job (exit 0), but the gate keeps
    # prod (allow_warn: false): the tag refusal is exit 5.
    root = checkout({"configs/a/gl.yaml": config_yaml("gl-one", lr="7.0e-5")})
    W.verdicts[digest(os.path.join(root, "configs/a/gl.yaml"))] = "warn"
    log = run_gitlab(root)
    eq([(j, rc) for j, rc, _, _ in log], [("optreg-lint", 0), ("optreg-submit", 5)],
       "verdict warn, gate refuses")
    assert "gate_refused" in log[-1][3], log[-1][3]
    eq(tag_version("gl-one"), 1, "prod stays")


def main():
    try:
        setup()
    except Exception as e:  # noqa: BLE001
        tap.fail("setup", "%s\n%s" % (e, "\n".join(R.logs())))
        return tap.finish()
    tests = [
        ("token create prints the token once on stdout", t_token_create),
        ("token create usage errors", t_token_create_usage),
        ("token list: table, --json, --principal, no secrets", t_token_list),
        ("GET /v1/tokens pages; admin only", t_token_list_pages),
        ("token revoke", t_token_revoke),
        ("keygen --encrypt writes encrypted PKCS#8", t_keygen_encrypt),
        ("sign: passphrase variables, key from stdin, errors", t_sign_with_passphrase),
        ("submit --key - with a passphrase", t_submit_key_from_stdin),
        ("lint: directories, globs, summary, worst status", t_lint_dirs_and_globs),
        ("submit: several files, each on its own, summary", t_submit_many),
        ("submit --wait --tag: per file", t_submit_many_wait),
        ("GitHub workflow: good configs submitted and tagged", t_github_good_config_tagged),
        ("GitHub workflow: an invalid config stops lint", t_github_invalid_config_refused),
        ("GitHub workflow: a failing verdict keeps prod", t_github_failing_verdict_keeps_prod),
        ("GitHub workflow: a policy denial", t_github_denied_by_policy),
        ("GitLab CI job", t_gitlab_job),
    ]
    for desc, fn in tests:
        tap.run(desc, fn)
    W.runner_thread.stop.set()
    return tap.finish()


if __name__ == "__main__":
    sys.exit(main())
