"""tests/python/pytap.py: what the tests/python suites share.

TAP output (tests/e2e/harness.py's Tap, plus skips written as
`ok N - desc # SKIP why`), the package on sys.path from the checkout
(python/), and tests/tools/pyref, the C side they compare against.

Environment: BUILD (where pyref is, default build/release), BIN (default bin),
both relative to the repository root as scripts/run-tests sets them.
"""

import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "python"))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))

from harness import Tap as _Tap  # noqa: E402

BUILD = os.path.join(ROOT, os.environ.get("BUILD") or "build/release")
BIN = os.path.join(ROOT, os.environ.get("BIN") or "bin")
PYREF = os.path.join(BUILD, "tests", "pyref")
TESTDATA = os.path.join(ROOT, os.environ.get("OPTREG_TESTDATA") or "tests/testdata")

try:
    import torch  # noqa: F401
    HAVE_TORCH = True
except ImportError:
    HAVE_TORCH = False


class Tap(_Tap):
    def skip(self, desc, why):
        self.n += 1
        desc = " ".join(str(desc).split()).replace("#", "\\#")
        print("ok %d - %s # SKIP %s" % (self.n, desc, why))
        sys.stdout.flush()

    def run_torch(self, desc, fn, *args):
        if not HAVE_TORCH:
            self.skip(desc, "torch is not installed (Debian: python3-torch)")
            return None
        return self.run(desc, fn, *args)


def pyref(*args):
    """Runs tests/tools/pyref ARGS; returns its stdout lines (bytes
    decoded with surrogateescape, so names survive byte for byte)."""
    if not os.access(PYREF, os.X_OK):
        raise AssertionError("%s is missing (make check-build builds it)" % PYREF)
    p = subprocess.run([PYREF] + [os.fsencode(a) for a in args], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=120)
    if p.returncode != 0:
        raise AssertionError("pyref %s: exit %d: %s" % (
            " ".join(args[:2]), p.returncode, p.stderr.decode("utf-8", "replace")))
    return p.stdout.decode("utf-8", "surrogateescape").split("\n")[:-1]


def bits(x):
    return float(x).hex()
