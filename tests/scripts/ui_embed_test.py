#!/usr/bin/python3
"""tests/scripts/ui_embed_test.py: scripts/ui-embed, which writes the C
file that embeds ui/ in optreg-server (registry/ui.h).

What it covers: the rows (sorted; dot files, other extensions and folders
left out; the ETag the SHA-256 of the bytes); the C compiles; a second run
with nothing changed leaves the file alone (so make rebuilds nothing), a
changed file rewrites it; a name outside [A-Za-z0-9._-] (non-ASCII
letters too) is refused.

usage: tests/scripts/ui_embed_test.py     (from anywhere)
Prints TAP and exits 1 when any test fails.
"""

import hashlib
import os
import subprocess
import sys
import tempfile
import traceback

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EMBED = os.path.join(ROOT, "scripts", "ui-embed")


def embed(src, out):
    return subprocess.run(["/usr/bin/python3", EMBED, src, out], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=60)


def put(d, name, data):
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def test_rows(tmp):
    src = os.path.join(tmp, "ui")
    os.makedirs(os.path.join(src, "sub"))
    put(src, "index.html", b"<!doctype html>\n")
    put(src, "app.js", b"export {};\n")
    put(src, "empty.css", b"")
    put(src, ".hidden.js", b"x")
    put(src, "notes.md", b"x")
    put(os.path.join(src, "sub"), "deep.js", b"x")
    out = os.path.join(tmp, "gen", "ui_files.c")
    p = embed(src, out)
    assert p.returncode == 0, p
    text = open(out).read()
    names = [line.split('"')[1] for line in text.splitlines() if line.startswith('\t{"')]
    assert names == ["app.js", "empty.css", "index.html"], names
    assert '"\\"%s\\""' % hashlib.sha256(b"export {};\n").hexdigest() in text, text
    assert "optreg_ui_nfiles = 3;" in text, text
    p = subprocess.run(["cc", "-std=c11", "-Wall", "-Wextra", "-Werror", "-I", ROOT,
                        "-fsyntax-only", out], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=60)
    assert p.returncode == 0, p.stderr.decode()


def test_unchanged(tmp):
    src = os.path.join(tmp, "ui")
    os.makedirs(src)
    put(src, "app.js", b"export {};\n")
    out = os.path.join(tmp, "ui_files.c")
    assert embed(src, out).returncode == 0
    os.utime(out, ns=(1, 1))
    assert embed(src, out).returncode == 0
    assert os.stat(out).st_mtime_ns == 1, "rewritten with nothing changed"
    put(src, "app.js", b"export const x = 1;\n")
    assert embed(src, out).returncode == 0
    assert os.stat(out).st_mtime_ns != 1, "not rewritten after a change"
    assert hashlib.sha256(b"export const x = 1;\n").hexdigest() in open(out).read()


def test_bad_names(tmp):
    for name in ("caf\u00e9.js", "a b.js", "a+b.js"):
        src = os.path.join(tmp, "ui-" + name.encode().hex())
        os.makedirs(src)
        put(src, name, b"x")
        p = embed(src, os.path.join(tmp, "out.c"))
        assert p.returncode == 1, (name, p)
        assert b"must be [A-Za-z0-9._-]" in p.stderr, p.stderr


TESTS = [
    ("rows: sorted, only the page's files, ETag, the C compiles", test_rows),
    ("nothing changed: the file is left alone; a change rewrites it", test_unchanged),
    ("a name outside [A-Za-z0-9._-] (non-ASCII too) is refused", test_bad_names),
]


def main():
    failed = 0
    for i, (desc, fn) in enumerate(TESTS, 1):
        with tempfile.TemporaryDirectory() as tmp:
            try:
                fn(tmp)
                print("ok %d - %s" % (i, desc))
            except Exception:
                failed += 1
                print("not ok %d - %s" % (i, desc))
                for line in traceback.format_exc().splitlines():
                    print("# " + line)
    print("1..%d" % len(TESTS))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
