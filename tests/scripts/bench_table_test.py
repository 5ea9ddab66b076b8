#!/usr/bin/python3
"""tests/scripts/bench_table_test.py: the table `make bench` writes.

What it covers: scripts/bench-table over made-up measurements (the file
begins with the machine's description, then the table: ratios to two
decimals, goals met and not met, judged on the ratio as shown, rows
without a reference or skipped, notes); a malformed row is refused naming
its line; and a `BENCH_QUICK=1` run of scripts/bench with one measure
(canonicalization) writes a table with that row measured. The
measurements themselves are `make bench`'s, not this suite's.

usage: tests/scripts/bench_table_test.py     (from anywhere)
Prints TAP and exits 1 when any test fails.
"""

import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))

from harness import Tap, eq  # noqa: E402

TABLE = os.path.join(ROOT, "scripts", "bench-table")
BENCH = os.path.join(ROOT, "scripts", "bench")

ROWS = "\n".join([
    "# a comment, and an empty line below",
    "",
    "fetch by digest: throughput\t7000\t10000\treq/s\t>= 0.7",
    "fetch by digest: p99 latency\t3.2\t1.1\tms\t<= 2",
    "almost\t0.6996\t1\tGB/s\t>= 0.7",
    "adam\t4.5\t9\tGB/s\t>= 0.6",
    "server RSS at rest\t12.5\t\tMiB\t",
    "signed submits (vs pgbench)\tskipped (BENCH_SKIP_SUBMIT=1)\t\t\t",
    "tiny\t0.004321\t0.002\ts\t",
]) + "\n"


def write_table(tmp, rows, *args):
    path = os.path.join(tmp, "rows.tsv")
    with open(path, "w") as f:
        f.write(rows)
    out = os.path.join(tmp, "results", "table.md")
    p = subprocess.run([TABLE, "--out", out] + list(args) + [path],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=120)
    return p, out


def table_lines(text):
    return [line for line in text.splitlines() if line.startswith("|")]


def t_file(tmp):
    p, out = write_table(tmp, ROWS, "--note", "other work shared the machine")
    eq(p.returncode, 0, "exit status (stderr %r)" % p.stderr)
    with open(out) as f:
        text = f.read()
    lines = text.splitlines()
    assert lines[0].startswith("# make bench, "), lines[0]
    # The machine comes first, before the table.
    first_row = text.index("| measure |")
    for item in ("- CPU: ", "- memory: ", "- OS: ", "- PostgreSQL: ", "- nginx: ",
                 "- wrk: ", "- Python: ", "- torch: ", "- git commit: "):
        at = text.find("\n" + item)
        assert 0 < at < first_row, "%r missing or after the table:\n%s" % (item, text)
    assert re.search(r"- CPU: .+; \d+ CPUs online", text), text
    eq(table_lines(text), [
        "| measure | optreg | reference | ratio | goal |",
        "|---|---|---|---|---|",
        "| fetch by digest: throughput | 7000 req/s | 10000 req/s | 0.70 | ≥ 0.7: met |",
        "| fetch by digest: p99 latency | 3.20 ms | 1.10 ms | 2.91 | ≤ 2: NOT met |",
        "| almost | 0.700 GB/s | 1.00 GB/s | 0.70 | ≥ 0.7: met |",
        "| adam | 4.50 GB/s | 9.00 GB/s | 0.50 | ≥ 0.6: NOT met |",
        "| server RSS at rest | 12.5 MiB | — | — | — |",
        "| signed submits (vs pgbench) | skipped (BENCH_SKIP_SUBMIT=1) | — | — | — |",
        "| tiny | 0.0043 s | 0.002 s | 2.16 | — |",
    ], "the table")
    assert "- other work shared the machine\n" in text, text
    assert "load average (1, 5, 15 min) when the table was written" in text, text
    # stdout: the same table, and where it went.
    eq(table_lines(p.stdout), table_lines(text), "the table on stdout")
    assert p.stdout.rstrip().endswith("(written to %s)" % out), p.stdout


def t_bad_rows(tmp):
    for rows, want in (("a\t1\t2\tms\n", "line 1: expected 5 tab-separated cells, got 4"),
                       ("ok\t1\t2\tms\t\nb\t1\t2\tms\tat least 3\n",
                        "line 2: goal must be '>= X' or '<= X'"),
                       ("\t1\t2\tms\t\n", "line 1: the measure is empty")):
        p, out = write_table(tmp, rows)
        eq(p.returncode, 2, "exit status for %r" % rows)
        assert want in p.stderr, "%r not in %r" % (want, p.stderr)
        assert not os.path.exists(out), "a file was written for %r" % rows


def t_quick_run(tmp):
    out = os.path.join(tmp, "quick", "table.md")
    env = dict(os.environ, BENCH_QUICK="1", BENCH_ONLY="CANON", BENCH_OUT=out,
               BENCH_NOTE="a test run")
    p = subprocess.run([BENCH], env=env, cwd=ROOT, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=300)
    eq(p.returncode, 0, "scripts/bench exit status (stderr %r)" % p.stderr[-2000:])
    with open(out) as f:
        text = f.read()
    rows = table_lines(text)[2:]
    eq(len(rows), 1, "rows of %s" % text)
    m = re.match(r"^\| canonicalize a [0-9.]+ MiB document: time \(vs Python json[^|]*\) "
                 r"\| [0-9.]+ s \| [0-9.]+ s \| [0-9]+\.[0-9]{2} \| — \|$", rows[0])
    assert m, rows[0]
    assert "- BENCH_QUICK=1: a smoke run" in text, text
    assert "- a test run\n" in text, text


def main():
    tap = Tap()
    with tempfile.TemporaryDirectory(prefix="optreg-bench-table.") as tmp:
        for desc, fn in (
                ("the file: machine first, then the table of ratios and goals, then notes",
                 t_file),
                ("malformed rows are refused naming their line, and nothing is written",
                 t_bad_rows),
                ("BENCH_QUICK=1 BENCH_ONLY=CANON scripts/bench writes a one-row table",
                 t_quick_run)):
            d = os.path.join(tmp, fn.__name__)
            os.makedirs(d)
            tap.run(desc, fn, d)
    return tap.finish()


if __name__ == "__main__":
    sys.exit(main())
