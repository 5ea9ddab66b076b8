#!/usr/bin/python3
"""tests/e2e/soak_test.py: a 40-second smoke of scripts/soak (`make soak`
runs it for 10 minutes): the mixed load, the PostgreSQL restart and the
replica's SIGKILL happen, and afterwards every acknowledged submit and tag
move is there and `optreg audit verify` passes. Too short to judge memory
and file flatness (the script says so and skips those). Prints TAP."""

import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main():
    p = subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "scripts", "soak"),
                        "--seconds", "40", "--submitters", "2"],
                       cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, timeout=600)
    out = p.stdout
    checks = [
        ("the soak exits 0", p.returncode == 0),
        ("PostgreSQL was restarted", "PostgreSQL started again" in out),
        ("server A was killed and restarted", "server A started again" in out),
    ]
    m = re.search(r"ok - every acknowledged submit is stored \((\d+)\)", out)
    checks.append(("acknowledged submits were checked", bool(m) and int(m.group(1)) > 0))
    checks.append(("tags were checked", bool(re.search(
        r"ok - every tag is at its last acknowledged move \([1-9]", out))))
    checks.append(("audit verify passed", "ok - optreg audit verify passes" in out))
    checks.append(("no check failed", "FAIL" not in out))
    failed = 0
    for i, (desc, good) in enumerate(checks, 1):
        print("%s %d - %s" % ("ok" if good else "not ok", i, desc))
        failed += not good
    if failed:
        for line in out.splitlines()[-60:]:
            print("# " + line)
    print("1..%d" % len(checks))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
