#!/usr/bin/python3
"""tests/e2e/docs_test.py: runs every command of the console examples in
README.md and docs/pipelines.md, as a reader would type them, and checks
what they print.

The registry is the one `make run` starts (scripts/run): a private
PostgreSQL cluster, optreg-server, the default policies, the example
configs submitted and judged by real runners. It runs with its state in a
temporary directory (OPTREG_STATE) on a free port, and the commands run in
a temporary working directory that links the repository's folders (bin,
examples, python, ...) and `.optreg` to that state, so `cat
.optreg/admin.token` and `bin/optreg ...` work as written and nothing in
the checkout is touched. Before the first command every example config has
its verdict (a reader who types slowly).

What a console block means:
- `$ COMMAND` (with `\\` continuation lines) is run in one bash per
  document, so `export` carries over; its stdin is /dev/null.
- The lines after a command, up to the next `$ `, are its expected output:
  each non-empty line must match a different line of what the command
  printed (stdout and stderr, which interleave as their buffers flush, so
  in any order), where `…` stands for anything, runs of blanks count as
  one and a trailing `  # comment` is ignored. Lines printed but not shown
  are fine.
- A command must exit 0, unless the next command is `echo $?` (whose
  output then says the status) or the command ends with a `# exit N`
  comment.
- The registry's documented address, 127.0.0.1:8080, is replaced by the
  test registry's in commands and expected output.
- `<!-- docs-test: stop-server -->` before a block stops the registry
  (server, runners and PostgreSQL) first, as Ctrl-C in the `make run` shell
  would (the next document starts it again, with the same data);
  `<!-- docs-test: start-server -->` starts it again (same state), as
  `make run` in that shell would; `<!-- docs-test: skip REASON -->` skips
  a block (a reason is required).

usage: tests/e2e/docs_test.py [FILE...]   (from the repository root;
       default README.md docs/pipelines.md)
env:   BIN (default "bin"), OPTREG_E2E_KEEP=1 keeps the temporary directory.

Prints TAP and exits 1 when any check fails.
"""

import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import ROOT, Tap  # noqa: E402

DOCS = ["README.md", "docs/pipelines.md"]
LINKED = ["bin", "examples", "policies", "python", "tests", "scripts",
          "schema", "docs", "runner", "migrations"]
COMMAND_TIMEOUT = 300
DOC_ADDR = "127.0.0.1:8080"
MARK = "@@docs-test-rc "
DIRECTIVE = re.compile(r"<!--\s*docs-test:\s*(\S+)\s*(.*?)\s*-->")
EXIT_COMMENT = re.compile(r"#\s*exit\s+(\d+)\s*$")

tap = Tap()


def check(ok, desc, diag=()):
    """One TAP line: ok, or not ok with the diagnostics."""
    tap._emit(ok, desc, list(diag))


class Command:
    def __init__(self, path, line, text):
        self.path = path
        self.line = line
        self.text = text
        self.expected = []
        self.want_rc = 0
        self.any_rc = False


class Block:
    def __init__(self, path, line, directives):
        self.path = path
        self.line = line
        self.directives = directives
        self.commands = []


def parse(path):
    """The console blocks of the markdown file `path`."""
    blocks = []
    pending = []
    block = None
    cmd = None
    cont = False
    with open(os.path.join(ROOT, path), encoding="utf-8") as f:
        lines = f.read().split("\n")
    for no, line in enumerate(lines, 1):
        if block is None:
            m = DIRECTIVE.search(line)
            if m:
                pending.append((m.group(1), m.group(2)))
            elif line.strip() == "```console":
                block = Block(path, no, pending)
                pending = []
                cmd = None
            elif line.startswith("```"):
                pending = []  # a directive is for the console block next
            continue
        if line.strip() == "```":
            blocks.append(block)
            block = None
            continue
        if cont:
            cmd.text += "\n" + line
            cont = line.endswith("\\")
        elif line.startswith("$ "):
            cmd = Command(path, no, line[2:])
            block.commands.append(cmd)
            cont = line.endswith("\\")
        elif cmd is not None and line.strip():
            cmd.expected.append(line)
    for b in blocks:
        for i, c in enumerate(b.commands):
            nxt = b.commands[i + 1] if i + 1 < len(b.commands) else None
            if nxt is not None and nxt.text.strip() == "echo $?":
                c.any_rc = True
            m = EXIT_COMMENT.search(c.text)
            if m:
                c.want_rc = int(m.group(1))
    return blocks


def squash(line):
    """A line with its runs of blanks as one space: table columns shift
    with their contents."""
    return " ".join(line.split())


def line_pattern(expected):
    """The regular expression one expected output line stands for: `…`
    (with the blanks around it) is anything."""
    text = squash(re.sub(r"\s{2,}#.*$", "", expected))
    parts = [re.escape(p.strip()) for p in text.split("…")]
    return re.compile(".*".join(parts))


def match_output(expected, got):
    """None when every expected line matches a printed line (each a
    different one; in any order, since stdout and stderr interleave as
    their buffers flush), else the first expected line that does not."""
    lines = [squash(ln) for ln in got.split("\n")]
    used = [False] * len(lines)
    # The most specific lines first, so that a loose one (`…`) does not
    # take the line a precise one needs.
    for e in sorted(expected, key=lambda e: -len(e.replace("…", "").strip())):
        pat = line_pattern(e)
        for i, ln in enumerate(lines):
            if not used[i] and pat.fullmatch(ln):
                used[i] = True
                break
        else:
            return e
    return None


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Shell:
    """One bash, fed one command at a time."""

    def __init__(self, cwd, env):
        self.proc = subprocess.Popen(
            ["bash", "--norc", "--noprofile"], cwd=cwd, env=env,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, start_new_session=True)
        self.buf = b""

    def run(self, text):
        script = ("{\n%s\n} </dev/null 2>&1\n__rc=$?; printf '\\n%s%%d\\n' "
                  "\"$__rc\"; (exit $__rc)\n" % (text, MARK))
        self.proc.stdin.write(script.encode())
        self.proc.stdin.flush()
        deadline = time.monotonic() + COMMAND_TIMEOUT
        fd = self.proc.stdout.fileno()
        while True:
            m = re.search(rb"\n" + re.escape(MARK.encode()) + rb"(\d+)\n",
                          self.buf)
            if m:
                out = self.buf[:m.start()].decode("utf-8", "replace")
                self.buf = self.buf[m.end():]
                return int(m.group(1)), out
            left = deadline - time.monotonic()
            if left <= 0:
                return None, self.buf.decode("utf-8", "replace")
            r, _, _ = select.select([fd], [], [], left)
            if r:
                chunk = os.read(fd, 65536)
                if not chunk:
                    return None, self.buf.decode("utf-8", "replace")
                self.buf += chunk

    def close(self):
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()


class Registry:
    """`make run` (scripts/run) with its state under `state`."""

    def __init__(self, tmp):
        self.state = os.path.join(tmp, "state")
        self.port = free_port()
        self.addr = "127.0.0.1:%d" % self.port
        self.url = "http://" + self.addr
        self.log = open(os.path.join(tmp, "run.log"), "w+")
        self.proc = None

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def start(self):
        """Starts scripts/run (again: the state is kept between runs) and
        waits for its ready line."""
        env = dict(os.environ, OPTREG_STATE=self.state,
                   OPTREG_LISTEN=self.addr, OPTREG_RUNNERS="2")
        for k in ("OPTREG_URL", "OPTREG_TOKEN", "OPTREG_KEY"):
            env.pop(k, None)
        start = len(self.output())
        self.proc = subprocess.Popen(
            ["sh", os.path.join(ROOT, "scripts", "run")], cwd=ROOT, env=env,
            stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True)
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("scripts/run exited: " + self.output())
            if "press Ctrl-C to stop" in self.output()[start:]:
                return
            time.sleep(0.2)
        raise RuntimeError("scripts/run did not get ready: " + self.output())

    def output(self):
        self.log.flush()
        with open(self.log.name, encoding="utf-8", errors="replace") as f:
            return f.read()

    def get(self, path):
        with open(os.path.join(self.state, "admin.token")) as f:
            token = f.read().strip()
        req = urllib.request.Request(
            self.url + path, headers={"Authorization": "Bearer " + token})
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.load(r)

    def pending_jobs(self):
        """How many jobs of the latest versions are not done yet."""
        n = 0
        for c in self.get("/v1/configs?page_size=100")["configs"]:
            path = "/v1/configs/%s/%s/versions/%d/verdicts" % (
                c["namespace"], c["name"], c["latest_version"])
            for j in self.get(path)["jobs"]:
                if j["state"] in ("queued", "leased"):
                    n += 1
        return n

    def wait_judged(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.pending_jobs() == 0:
                return True
            time.sleep(2)
        return False

    def stop_server(self):
        """As Ctrl-C in the `make run` shell: everything stops."""
        if self.running():
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()

    def close(self):
        self.stop_server()
        # The cluster under the state directory, should the stop have been
        # cut short.
        subprocess.run(["sh", os.path.join(ROOT, "scripts", "pg"), "halt",
                        os.path.join(self.state, "pg")],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.log.close()


def workdir(tmp, state):
    """A working directory that looks like the checkout to the commands."""
    wd = os.path.join(tmp, "work")
    os.makedirs(wd)
    for name in LINKED:
        if os.path.exists(os.path.join(ROOT, name)):
            os.symlink(os.path.join(ROOT, name), os.path.join(wd, name))
    os.symlink(state, os.path.join(wd, ".optreg"))
    return wd


def run_doc(path, blocks, reg, wd, tmp):
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPTREG")}
    env.update(HOME=os.path.join(tmp, "home"), LC_ALL="C.UTF-8",
               XDG_CACHE_HOME=os.path.join(tmp, "cache-" +
                                           os.path.basename(path)))
    os.makedirs(env["HOME"], exist_ok=True)
    shell = Shell(wd, env)
    try:
        for b in blocks:
            directives = dict(b.directives)
            if "skip" in directives:
                check(bool(directives["skip"]), "%s:%d: block skipped (%s)" % (
                    path, b.line, directives["skip"] or "NO REASON GIVEN"))
                continue
            if "stop-server" in directives:
                reg.stop_server()
            if "start-server" in directives and not reg.running():
                reg.start()
            for c in b.commands:
                rc, out = shell.run(c.text.replace(DOC_ADDR, reg.addr))
                first = c.text.split("\n")[0]
                desc = "%s:%d: %s" % (path, c.line, first[:70])
                why = []
                if rc is None:
                    why.append("no end within %d s" % COMMAND_TIMEOUT)
                elif not c.any_rc and rc != c.want_rc:
                    why.append("exit %d, expected %d" % (rc, c.want_rc))
                expected = [e.replace(DOC_ADDR, reg.addr) for e in c.expected]
                miss = match_output(expected, out) if rc is not None else None
                if miss is not None:
                    why.append("expected a line matching: " + miss)
                tail = ["| " + ln for ln in out.rstrip().split("\n")[-15:]]
                check(not why, desc, why + tail if why else [])
    finally:
        shell.close()


def check_registry_key(reg):
    """`make run` writes the registry's public key beside its private key,
    says where it is and how to pin it, and it is the key the registry
    serves (GET /v1/registry/keys, current)."""
    out = reg.output()
    pub_path = os.path.join(reg.state, "registry-key.pub.pem")
    why = []
    for want in ("run: the registry's public key: .optreg/registry-key.pub.pem",
                 "export OPTREG_REGISTRY_PUBKEY=.optreg/registry-key.pub.pem"):
        if want not in out:
            why.append("make run did not print %r" % want)
    if not os.path.exists(pub_path):
        why.append("no %s" % pub_path)
    else:
        with open(pub_path) as f:
            pub = f.read()
        p = subprocess.run(["openssl", "pkey", "-in",
                            os.path.join(reg.state, "registry-key.pem"), "-pubout"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if p.returncode != 0 or p.stdout.strip() != pub.strip():
            why.append("registry-key.pub.pem is not the public half of "
                       "registry-key.pem: %r" % pub[:80])
        current = [k["public_key"].strip() for k in reg.get("/v1/registry/keys")["keys"]
                   if not k.get("retired_at")]
        if current != [pub.strip()]:
            why.append("the registry serves %r as its current key(s)" % current)
    check(not why, "make run: the registry's public key written, printed and served",
          why)


def main():
    docs = sys.argv[1:] or DOCS
    parsed = [(p, parse(p)) for p in docs]
    for p, blocks in parsed:
        check(any(b.commands for b in blocks),
              "%s has console examples to run" % p)
    tmp = tempfile.mkdtemp(prefix="optreg-docs-")
    os.chmod(tmp, 0o711)  # the cluster runs as postgres, under it
    reg = None
    try:
        reg = Registry(tmp)
        wd = None
        for p, blocks in parsed:
            # Each document starts with `make run` going (a document may
            # have stopped it); the data carries over.
            if not reg.running():
                reg.start()
                check(True, "%s: make run started (port %d)" % (p, reg.port))
                if wd is None:
                    check_registry_key(reg)
                check(reg.wait_judged(600),
                      "%s: the runners judged every example config" % p)
            if wd is None:
                wd = workdir(tmp, reg.state)
            run_doc(p, blocks, reg, wd, tmp)
    except Exception as e:  # noqa: BLE001 - report, then clean up
        log = reg.output().rstrip().split("\n")[-20:] if reg else []
        check(False, "docs test setup: %s" % e, ["| " + ln for ln in log])
    finally:
        if reg is not None:
            reg.close()
        if os.environ.get("OPTREG_E2E_KEEP") == "1":
            print("# kept " + tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    sys.exit(tap.finish())


if __name__ == "__main__":
    main()
