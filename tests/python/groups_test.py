#!/usr/bin/python3
"""tests/python/groups_test.py: parameter names go to the param groups the
runner would give them.

The runner matches spec.param_groups[i].match with glibc's regcomp
(REG_EXTENDED | REG_NOSUB) and regexec in the C locale, first entry wins;
optreg.torch rewrites each pattern for Python's `re` (python/optreg/_ere.py).
Here tests/tools/pyref runs the C side on the same patterns and names:
- for each pattern, glibc and optreg's check (validator/regex_check.h)
  either refuse it, and then Python refuses it too with a clear error, or
  accept it, and then Python finds it in exactly the same names;
- 1000 random patterns over ERE's special characters (a fixed seed) too;
- for whole configs, `pyref match` (the runner's first-match-wins loop)
  and optreg.torch.match_groups / build() put every name in the same group.

usage: tests/python/groups_test.py  (from the repository root; TAP)
"""

import json
import os
import random
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from pytap import Tap, pyref  # noqa: E402

import optreg.torch  # noqa: E402
from optreg import _ere  # noqa: E402

tap = Tap()
TMP = tempfile.mkdtemp(prefix="optreg-pygroups.")

NAMES = [
    "theta", "fc.weight", "fc.bias", "fc1.weight", "fc1.bias", "fc4.bias",
    "tok_emb.weight", "blocks.0.ln1.weight", "blocks.0.attn.qkv.bias",
    "blocks.1.mlp.fc2.weight", "norm.weight", "layernorm.bias", "bias",
    "Bias", "d", "1", "a", "aa", "ab", "abb", "aab", "b", "x", "xxx", "a)", ")",
    "}", "]", "a]", "-", ".", "/", "a.c", "abc", "a|b", "|", "(", "{", "+",
    "weight_decay", "w2", "_", "layer.\u00e9", "\u00e9", "x\nbias", "bias\n",
    "fc1-bias", "0.weight", "A1", "\t", "a b", "ééé",
]

PATTERNS = [
    # ordinary ones
    "bias", "(bias|norm)", "^fc1\\.", "bias$", "fc[0-9]+\\.weight", "^fc[1-4]\\.bias$",
    "blocks\\.[0-9]+\\.(attn|mlp)\\.", "ln[12]?\\.", "^(tok_emb|norm)\\.", "weight|bias",
    ".", "a.c", "^.$", "^$", "x^", "$x", "^bias", "ab*", "ab+", "ab?$", "a{2}", "a{1,2}b",
    "a{,2}b", "a{2,}", "a{0}", "a{0,0}b", "a{,}", "x{1,2}{2}", "(ab){1,3}",
    # POSIX classes and brackets
    "fc[[:digit:]]", "[[:alpha:]]+\\.bias", "[^.]*\\.bias$", "[[:upper:]]", "[[:space:]]",
    "[[:punct:]]", "[[:alnum:]_]+$", "[[:xdigit:]]{2}", "[]a]", "[^]a]", "[a-]", "[-a]",
    "[--/]", "[[=a=]]", "[[.a.]-c]", "[[.-.]]", "[[:alpha:]-]", "[^a]", "[^[:alpha:]]",
    "[\\d]", "[\\]]", "[.]", "[*+?{]", "[a-c]b", "[é]",
    # where Python's re reads differently
    "a)", ")", "}", "]", "a**", "a+?", "a*+", "a?*", "(|a)", "()", "a|", "|a", "\\d", "\\.",
    "\\w+\\.weight", "\\W", "\\s", "\\S", "\\bbias", "\\Bias", "\\<fc", "weight\\>",
    "\\`fc", "bias\\'", "\\|", "a\\|b", "\\(", "\\{", "\\+", "\\n", "\\é", "é", "layer.é",
    "bias\\b", "\\bfc\\B",
    # refused by glibc or by optreg
    "*a", "+a", "?a", "{1}a", "a|*b", "(*a)", "^*", "a$*", "\\b*", "a{", "a{1", "a{x}",
    "a{2,1}", "a{256}", "(a{2}){2}", "\\1", "(a)\\1", "[", "[a", "(a", "a\\", "[a-c-e]",
    "[[:alpha:]-z]", "[z-a]", "[[:foo:]]", "[[.hyphen.]]", "[[=ab=]]", "[[:alpha:]",
    "(?:a)", "(?i)bias", "x" * 257,
]


def t_pattern(pattern):
    out = pyref("regex", pattern, *NAMES)
    head = out[0]
    try:
        rx = _ere.compile(pattern)
        err = None
    except _ere.PatternError as e:
        rx, err = None, e
    if head != "ok":
        assert err is not None, "C says %r, Python accepted it as %r" % (
            head, _ere.translate(pattern))
        assert repr(pattern)[:60] in str(err) or "param group pattern" in str(err), str(err)
        return
    assert err is None, "glibc accepts %r, Python refused it: %s" % (pattern, err)
    want = {}
    for line in out[1:]:
        flag, _, name = line.partition(" ")
        want.setdefault(name, flag == "1")
    # names holding a newline come back split; ask for them one by one
    for name in NAMES:
        if "\n" in name:
            w = pyref("regex", pattern, name)[1].partition(" ")[0] == "1"
        else:
            w = want[name]
        got = rx.search(name)
        assert got is w, "pattern %r on name %r: glibc %s, Python %s (re pattern %r)" % (
            pattern, name, w, got, rx.rx.pattern)


RANDOM_ATOMS = list("ab.()|*+?{}[]^$-\\,12:=") + [
    "[:alpha:]", "[:digit:]", "{1,2}", "{,1}", "\\w", "\\b", "\\<", "\\>", "\\'",
    "\\`", "\\B", "\\s", "[.a.]", "[=b=]"]
RANDOM_NAMES = ["a", "b", "ab", "ba", "aab", "a.b", "a-b", "1", "a1", "{}", "()", "[]",
                "^$", "a b", "ab\\", "*+?", "a,b", "x=y", ":", "fc1.bias"]


def t_random(seed, count):
    r = random.Random(seed)
    accepted = 0
    for _ in range(count):
        pattern = "".join(r.choice(RANDOM_ATOMS) for _ in range(r.randint(1, 8)))
        out = pyref("regex", pattern, *RANDOM_NAMES)
        try:
            rx = _ere.compile(pattern)
        except _ere.PatternError as e:
            assert out[0] != "ok", "glibc accepts %r, Python refused it: %s" % (pattern, e)
            continue
        assert out[0] == "ok", "C says %r for %r, Python accepted it" % (out[0], pattern)
        accepted += 1
        want = [line.partition(" ")[0] == "1" for line in out[1:]]
        got = [rx.search(n) for n in RANDOM_NAMES]
        for name, w, g in zip(RANDOM_NAMES, want, got):
            assert w is g, "pattern %r on %r: glibc %s, Python %s (re %r)" % (
                pattern, name, w, g, rx.rx.pattern)
    assert accepted > count // 4, "only %d of %d random patterns compiled" % (accepted, count)


# ^ and $ next to a newline the pattern consumes: glibc takes it for a line
# boundary (without REG_NEWLINE, ^ and $ are otherwise the name's ends).
NL_PATTERNS = ["$\n", "\n^a", ".^a", "$.$", "b$\n", "a$", "^b", "^a", "b$", "$\n|x",
               "($)\n", "\n^", "$\n$", "(a|$)\n", "$[^a]", "[[:space:]]^", "$\n*",
               "$(\n)?", "a$(\n|b)", "\n+^b$", "^$", "$^", "\n^\n", "$\s+^",
               "(^|x)a", "(b$|y)\n", "a\n^b$", "\<a$\n", "$\n\>", "^\n$"]
NL_NAMES = ["a\nb", "\n", "\n\n", "a\n\nb", "ab\n", "\nab", "a\nb\n", "\na\n",
            "b\na", "a \nb", "_\n_", "\n\na", "a", "x\nbias", "bias\n"]
NL_ATOMS = ["^", "$", "\n", ".", "a", "b", "(", ")", "|", "*", "?", "+", "[^a]",
            "\\b", "\\<", "\\>", "\\`", "\\'", "\\B", "[[:space:]]", "\\w"]


def glibc_finds(pattern, name):
    out = pyref("regex", pattern, name)
    assert out[0] == "ok", "C refuses %r: %r" % (pattern, out[0])
    return out[1].partition(" ")[0] == "1"


def t_newline_anchors(patterns):
    for pattern in patterns:
        rx = _ere.compile(pattern)
        for name in NL_NAMES:
            w, g = glibc_finds(pattern, name), rx.search(name)
            assert w is g, "pattern %r on name %r: glibc %s, Python %s" % (
                pattern, name, w, g)


def t_newline_random(seed, count):
    r = random.Random(seed)
    pats = []
    while len(pats) < count:
        p = "".join(r.choice(NL_ATOMS) for _ in range(r.randint(1, 7)))
        try:
            _ere.compile(p)
        except _ere.PatternError:
            continue
        pats.append(p)
    t_newline_anchors(pats)


def config(groups):
    return {"apiVersion": "optreg/v1", "kind": "OptimizerConfig",
            "metadata": {"namespace": "team-nlp", "name": "groups"},
            "spec": {"optimizer": "adamw", "lr": 1e-3, "betas": [0.9, 0.999], "eps": 1e-8,
                     "weight_decay": 0.01, "param_groups": groups}}


CONFIGS = [
    ("bias and norm", [{"match": "(bias|norm)", "weight_decay": 0.0}]),
    ("first match wins over a later, wider one",
     [{"match": "^fc1\\.", "lr": 0.01}, {"match": "bias", "weight_decay": 0.0},
      {"match": ".", "eps": 1e-6}]),
    ("a later entry never combines with an earlier one",
     [{"match": "weight$", "lr": 0.002}, {"match": "^blocks\\.", "weight_decay": 0.1},
      {"match": "[[:digit:]]", "betas": [0.8, 0.99]}]),
    ("entries that match nothing",
     [{"match": "nothing-here", "lr": 0.5}, {"match": "^theta$", "lr": 0.1}]),
    ("GNU escapes and stacked operators",
     [{"match": "\\<fc[0-9]*\\>", "lr": 0.1}, {"match": "a**b", "lr": 0.2},
      {"match": "\\w+\\.b", "lr": 0.3}]),
]


def t_config(groups):
    cfg = config(groups)
    path = os.path.join(TMP, "groups.json")
    with open(path, "w") as f:
        json.dump(cfg, f)
    names = [n for n in NAMES if "\n" not in n]
    want = {}
    for line in pyref("match", path, *names):
        g, _, name = line.partition(" ")
        want[name] = None if g == "0" else int(g) - 1
    got = optreg.torch.match_groups(cfg, names)
    for name, g in zip(names, got):
        assert g == want[name], "%r: runner group %r, optreg.torch %r" % (name, want[name], g)


def t_build_groups(groups):
    import torch
    cfg = config(groups)
    names = ["fc1.weight", "fc1.bias", "blocks.0.ln1.weight", "blocks.1.mlp.fc2.weight",
             "theta", "norm.weight", "tok_emb.weight", "fc4.bias"]
    path = os.path.join(TMP, "groups.json")
    with open(path, "w") as f:
        json.dump(cfg, f)
    want = {}
    for line in pyref("match", path, *names):
        g, _, name = line.partition(" ")
        want[name] = None if g == "0" else int(g) - 1
    params = [(n, torch.nn.Parameter(torch.zeros(2))) for n in names]
    opt, _ = optreg.torch.build(params, cfg)
    assert len(opt.param_groups) == 1 + len(groups)
    spec = cfg["spec"]
    for gi, g in enumerate(opt.param_groups):
        assert g["optreg_group"] == (None if gi == 0 else gi - 1)
        for name in g["optreg_names"]:
            assert want[name] == g["optreg_group"], "%r in group %r, the runner: %r" % (
                name, g["optreg_group"], want[name])
        entry = spec["param_groups"][gi - 1] if gi else {}
        for key in ("eps", "weight_decay"):
            assert g[key] == entry.get(key, spec[key]), (gi, key, g[key])
        assert tuple(g["betas"]) == tuple(entry.get("betas", spec["betas"]))
    seen = sorted(n for g in opt.param_groups for n in g["optreg_names"])
    assert seen == sorted(names), seen


def t_refusal_message():
    for pattern, words in (("*bias", "nothing before it"), ("[a-c-e]", "range"),
                           ("(a)\\1", "backreference"), ("a{", "bound"),
                           ("[[:foo:]]", "character class")):
        cfg = config([{"match": pattern, "lr": 0.1}])
        try:
            optreg.torch.match_groups(cfg, ["fc.bias"])
        except ValueError as e:
            msg = str(e)
            assert "spec.param_groups[0].match" in msg and words in msg, msg
        else:
            raise AssertionError("%r was accepted" % pattern)


def t_unknown_fields():
    """A spec or group field the package does not know is refused by
    build(), as the validator refuses it: ignoring it could build an
    optimizer other than the one the runner judged."""
    import torch
    params = [("fc.weight", torch.nn.Parameter(torch.zeros(2)))]
    for groups, extra, words in (
            ([{"match": "fc", "lr": 0.1}], {"nesterov": True}, "spec.nesterov"),
            ([{"match": "fc", "lr": 0.1, "amsgrad": True}], {},
             "spec.param_groups[0].amsgrad"),
            ([{"match": "fc", "momentum": 0.9}], {}, "spec.param_groups[0].momentum")):
        cfg = config(groups)
        cfg["spec"].update(extra)
        path = os.path.join(TMP, "unknown.json")
        with open(path, "w") as f:
            json.dump(cfg, f)
        import subprocess
        from pytap import PYREF
        p = subprocess.run([PYREF, "match", path, "fc.weight"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=60)
        assert p.returncode == 1, "the C validator accepts %r" % (cfg["spec"],)
        try:
            optreg.torch.build(params, cfg)
        except ValueError as e:
            assert words in str(e), str(e)
        else:
            raise AssertionError("build() accepted %s" % words)


for p in PATTERNS:
    tap.run("pattern %r: Python and glibc agree" % (p if len(p) < 40 else p[:20] + "..."),
            t_pattern, p)
tap.run("1000 random patterns: Python and glibc agree (seed 13)", t_random, 13, 1000)
tap.run("^ and $ next to a newline the pattern consumes, as glibc: %d patterns on %d "
        "names" % (len(NL_PATTERNS), len(NL_NAMES)), t_newline_anchors, NL_PATTERNS)
tap.run("60 random patterns with ^, $ and newlines on %d names with newlines: Python "
        "and glibc agree (seed 5)" % len(NL_NAMES), t_newline_random, 5, 60)
for desc, groups in CONFIGS:
    tap.run("match_groups puts every name where the runner does: %s" % desc, t_config, groups)
for desc, groups in CONFIGS:
    tap.run_torch("build() param groups are the runner's: %s" % desc, t_build_groups, groups)
tap.run("a refused pattern names the field and says why", t_refusal_message)
tap.run_torch("build() refuses spec and group fields it does not know, as the validator",
              t_unknown_fields)
sys.exit(tap.finish())
