#!/usr/bin/env python3
"""tests/e2e/settings_test.py: optreg-server's settings file (--config /
$OPTREG_CONFIG) and its precedence: flags over the environment over the
file over defaults. A real cluster, a real server. Prints TAP."""

import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

tap = h.Tap()
R = h.Registry()


def server_env(**extra):
    """The harness environment without the settings a file should give."""
    e = R.env()
    for k in ("OPTREG_DATABASE_URL", "OPTREG_REGISTRY_KEY", "OPTREG_CONFIG"):
        e.pop(k, None)
    e.update(extra)
    return e


def write(name, text):
    path = os.path.join(R.tmp, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def settings(extra="", database=None):
    """Settings for migrate (the owner, by default) or serve (pass
    database=R.service_conninfo)."""
    return write("settings.yaml",
                 "# optreg-server settings\n"
                 "database: \"%s\"\n"
                 "registry_key: %s\n"
                 "threads: 2\n"
                 "anonymous_read: true\n%s" % (
                     database or R.conninfo, os.path.join(R.tmp, "registry-key.pem"), extra))


def serve(argv, env, port_file):
    if os.path.exists(port_file):
        os.unlink(port_file)
    p = subprocess.Popen([h.SERVER_BIN, "serve", "--port-file", port_file] + argv,
                         env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 15
    while time.time() < deadline:
        if p.poll() is not None:
            raise h.HarnessError("serve exited %d: %s" % (p.returncode, p.stderr.read()))
        if os.path.exists(port_file) and open(port_file).read().strip():
            return p, "http://127.0.0.1:%s" % open(port_file).read().strip()
        time.sleep(0.05)
    p.kill()
    raise h.HarnessError("serve did not start")


def t_migrate_from_file():
    f = settings()
    p = h.run([h.SERVER_BIN, "migrate", "--config", f], env=server_env())
    assert "are applied" in p.stderr, p.stderr


def t_serve_from_file():
    f = settings("listen: 127.0.0.1:0\n", R.service_conninfo)
    p, base = serve(["--config", f], server_env(), os.path.join(R.tmp, "a.port"))
    try:
        # anonymous_read: true came from the file.
        r = h.http(base, "GET", "/v1/configs")
        assert r.status == 200, r.describe()
    finally:
        p.terminate()
        p.wait(timeout=15)


def t_environment_over_file():
    f = settings("listen: 127.0.0.1:0\n", R.service_conninfo)
    env = server_env(OPTREG_CONFIG=f, OPTREG_ANONYMOUS_READ="0")
    p, base = serve([], env, os.path.join(R.tmp, "b.port"))
    try:
        r = h.http(base, "GET", "/v1/configs")
        assert r.status == 401, "the environment should turn anonymous reads off: " + r.describe()
    finally:
        p.terminate()
        p.wait(timeout=15)


def t_flag_over_environment():
    f = settings("listen: 127.0.0.1:1\n", R.service_conninfo)  # a port the flag must replace
    env = server_env(OPTREG_CONFIG=f, OPTREG_LISTEN="127.0.0.1:2")
    p, base = serve(["--listen", "127.0.0.1:0"], env, os.path.join(R.tmp, "c.port"))
    try:
        r = h.http(base, "GET", "/healthz")
        assert r.status == 200, r.describe()
    finally:
        p.terminate()
        p.wait(timeout=15)


def t_bad_settings():
    cases = [
        ("unknown: 1\n", "unknown setting \"unknown\""),
        ("threads: 0\n", "threads must be an integer from 1 to 256"),
        ("anonymous_read: yes\n", "anonymous_read must be true or false"),
        ("database: [1]\n", "database must be a string"),
    ]
    for text, want in cases:
        f = write("bad.yaml", text)
        p = subprocess.run([h.SERVER_BIN, "serve", "--config", f], env=server_env(),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           timeout=30)
        assert p.returncode == 2, "%r: exit %d" % (text, p.returncode)
        assert want in p.stderr, "%r: stderr %r" % (text, p.stderr)
    p = subprocess.run([h.SERVER_BIN, "serve", "--config", os.path.join(R.tmp, "none.yaml")],
                       env=server_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=30)
    assert p.returncode == 2 and "cannot load settings" in p.stderr, p.stderr


def main():
    try:
        R.start()
    except Exception as e:  # noqa: BLE001
        tap.fail("harness: cluster", [repr(e)])
        return tap.finish()
    try:
        tap.run("migrate takes the database and registry key from --config", t_migrate_from_file)
        tap.run("serve takes listen, anonymous_read and the rest from --config", t_serve_from_file)
        tap.run("the environment wins over the settings file ($OPTREG_CONFIG)",
                t_environment_over_file)
        tap.run("a flag wins over the environment and the file", t_flag_over_environment)
        tap.run("bad settings: unknown key, out of range, wrong type, missing file: exit 2",
                t_bad_settings)
    finally:
        R.cleanup()
    return tap.finish()


if __name__ == "__main__":
    sys.exit(main())
