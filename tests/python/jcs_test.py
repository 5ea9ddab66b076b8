#!/usr/bin/python3
"""tests/python/jcs_test.py: the package's RFC 8785 canonicalizer
(python/optreg/_jcs.py, which optreg.fetch(via="rest") checks digests with)
against the reference vectors in tests/testdata/jcs and against
`optreg canonicalize` / `optreg digest` on the example configs.

usage: tests/python/jcs_test.py  (from the repository root; TAP)
"""

import os
import struct
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from pytap import BIN, ROOT, TESTDATA, Tap  # noqa: E402

from optreg import _jcs  # noqa: E402
import optreg  # noqa: E402

tap = Tap()
JCS = os.path.join(TESTDATA, "jcs")


def t_vector(name):
    with open(os.path.join(JCS, "input", name), "rb") as f:
        value = _jcs.loads(f.read())
    with open(os.path.join(JCS, "output", name), "rb") as f:
        want = f.read()
    got = optreg.canonicalize(value)
    assert got == want, "%s:\n got  %r\n want %r" % (name, got[:300], want[:300])
    with open(os.path.join(JCS, "outhex", name.replace(".json", ".txt")), "r") as f:
        hexwant = bytes.fromhex("".join(f.read().split()))
    assert got == hexwant, "%s: differs from outhex" % name


def t_numbers():
    path = os.path.join(JCS, "numbers", "es6testfile-first10000.txt")
    n = bad = 0
    first = None
    with open(path) as f:
        for line in f:
            h, want = line.rstrip("\n").split(",", 1)
            x = struct.unpack(">d", bytes.fromhex(h.rjust(16, "0")))[0]
            got = _jcs.number(x)
            n += 1
            if got != want:
                bad += 1
                first = first or (h, got, want)
    assert n == 10000, "read %d lines" % n
    assert bad == 0, "%d of %d numbers differ; first: %r" % (bad, n, first)


def t_refused():
    for text in (b'{"a":1,"a":2}', b'{"a":NaN}', b'[Infinity]', b'[-Infinity]'):
        try:
            _jcs.loads(text)
        except ValueError:
            pass
        else:
            raise AssertionError("%r was accepted" % text)
    for value in ({"a": float("nan")}, [float("inf")], ["\ud800"], {"\udc00": 1}, [10 ** 400]):
        try:
            optreg.canonicalize(value)
        except ValueError:
            pass
        else:
            raise AssertionError("%r was canonicalized" % (value,))


def t_examples_match_the_cli():
    """YAML and JSON examples, through the CLI's canonical bytes."""
    folder = os.path.join(ROOT, "examples", "configs")
    n = 0
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        canon = subprocess.run([os.path.join(BIN, "optreg"), "canonicalize", path],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        dig = subprocess.run([os.path.join(BIN, "optreg"), "digest", path],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if canon.returncode != 0:
            continue
        value = _jcs.loads(canon.stdout)
        # parsed with ints kept as ints, re-canonicalized: the same bytes
        assert optreg.canonicalize(value) == canon.stdout, name
        assert optreg.digest(canon.stdout) == dig.stdout.decode().strip(), name
        n += 1
    assert n >= 3, "only %d example configs canonicalized" % n


def t_sorting_utf16():
    # "\U0001F600" (surrogates D83D DE00) sorts before "\uFB01" in UTF-16
    # code units, after it in code points.
    got = optreg.canonicalize({"\ufb01": 1, "\U0001F600": 2, "a": 3})
    assert got == '{"a":3,"\U0001F600":2,"\ufb01":1}'.encode("utf-8"), got


for name in sorted(os.listdir(os.path.join(JCS, "input"))):
    tap.run("RFC 8785 vector %s" % name, t_vector, name)
tap.run("ECMAScript number formatting: the first 10000 es6testfile numbers", t_numbers)
tap.run("duplicate names, NaN, infinities, lone surrogates, overflow are refused", t_refused)
tap.run("canonical bytes and digests equal optreg canonicalize/digest on examples/configs",
        t_examples_match_the_cli)
tap.run("object members sort by UTF-16 code units", t_sorting_utf16)
sys.exit(tap.finish())
