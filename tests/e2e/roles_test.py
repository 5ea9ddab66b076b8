"""tests/e2e/roles_test.py: `serve` as the least-privilege service role.

docs/operations.md: `optreg-server migrate` runs as the owner of the tables;
`serve` (and `token create/revoke`) as a login role that is a member of
optreg_app and neither superuser nor owner. The harness runs every suite
that way (Registry.service_conninfo, role optreg_server); this suite checks
the role itself:

  - serve starts as it: the startup checks (pending migrations, registry
    key) pass, it logs the role it runs as, and everything serve does
    works: tokens made on the command line, keys, submits with receipts,
    tags, LISTEN/NOTIFY cache invalidation between two servers, the audit
    log and the checkpointer, job leases, token revocation.
  - it cannot switch the audit triggers off (ALTER TABLE ... DISABLE
    TRIGGER, session_replication_role, DROP TRIGGER, replacing the trigger
    functions), cannot update, delete or truncate audit rows, cannot alter,
    drop or create tables, and cannot raise its own rights.
  - its grants, table by table: owner of nothing, no DELETE or TRUNCATE on
    the append-only tables, UPDATE only where serve updates.
  - a login role outside optreg_app is refused at startup with a hint that
    names the GRANT; serving as the owner works but logs a warning.
"""

import json
import subprocess
import os
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the working tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness as h  # noqa: E402
from harness import eq, status, within  # noqa: E402

# A second login role, outside optreg_app: scripts/pg must let the invoking
# user log in as it too.
STRANGER = "optreg_stranger"
os.environ["PG_USERS"] = "%s %s" % (h.SERVICE_ROLE, STRANGER)

NS = "team-r"
AUDIT_TABLES = ("audit_events", "audit_nodes", "audit_checkpoints", "audit_head")

tap = h.Tap()


class World:
    pass


W = World()


def log_lines(server):
    out = []
    with open(server.log_path, "rb") as f:
        for line in f.read().decode("utf-8", "replace").splitlines():
            try:
                j = json.loads(line)
            except ValueError:
                continue
            if isinstance(j, dict):
                out.append(j)
    return out


def setup():
    W.R = h.Registry().start()
    tap.context = W.R.logs
    W.R.psql("CREATE ROLE %s LOGIN" % STRANGER)
    W.A = W.R.server("--checkpoint-every", "1", "--checkpoint-interval", "1", name="A")
    W.B = W.R.server("--checkpoint-every", "1000000", "--checkpoint-interval", "86400",
                     name="B")
    W.admin, W.admin_id = W.R.token("admin@ops", "admin")
    W.runner, _ = W.R.token("runner@ops", "runner", namespace=NS)
    W.key = h.Signer(W.R.tmp, "signer")
    W.cfg = h.Configs(W.R.tmp)


def t_serves_as_service_role():
    eq(W.R.service_conninfo.split()[-1], "user=" + h.SERVICE_ROLE, "the servers' conninfo")
    for s in (W.A, W.B):
        roles = [j for j in log_lines(s) if j.get("msg") == "database role"]
        assert roles, "%s logged no database role line:\n%s" % (s.name, s.log_tail())
        eq({k: roles[0].get(k) for k in ("role", "superuser", "owner", "optreg_app")},
           {"role": h.SERVICE_ROLE, "superuser": False, "owner": False, "optreg_app": True},
           "%s's database role" % s.name)
        assert not [j for j in log_lines(s) if j.get("level") == "warn"], s.log_tail()
        status(s.request("GET", "/readyz"), 200, "%s /readyz" % s.name)
    # Every connection of the servers (pools and listeners) is the role's.
    users = W.R.psql("SELECT DISTINCT usename FROM pg_stat_activity "
                     "WHERE datname = 'optreg' AND pid <> pg_backend_pid() "
                     "AND backend_type = 'client backend'").stdout.split()
    eq(users, [h.SERVICE_ROLE], "roles connected to optreg")
    r = W.R.psql("SELECT rolsuper, rolcreaterole, rolcreatedb, rolbypassrls, "
                 "pg_has_role('%s', 'optreg_app', 'MEMBER') FROM pg_roles "
                 "WHERE rolname = '%s'" % (h.SERVICE_ROLE, h.SERVICE_ROLE))
    eq(r.stdout.strip(), "f|f|f|f|t", "superuser, createrole, createdb, bypassrls, in optreg_app")


def t_everything_serve_does():
    # A key, a signed submit with its receipt, a tag, read back.
    status(W.A.request("POST", "/v1/keys", token=W.admin, body={
        "public_key": W.key.public_pem, "principal": "ci@ops", "namespaces": [NS]}), 201, "key")
    for n, lr in ((1, "3.0e-5"), (2, "4.0e-5")):
        payload = W.cfg.yaml(NS, "cfg", lr=lr)
        r = W.A.request("POST", "/v1/configs/%s/cfg/versions" % NS, token=W.admin,
                        body=h.envelope(payload, [W.key]))
        status(r, 201, "submit %d" % n)
        eq(r.json().get("version"), n, "version")
    status(W.B.request("GET", "/v1/configs/%s/cfg/versions/1" % NS, token=W.admin), 200,
           "read through B")
    # LISTEN/NOTIFY: B caches the tag, A moves it, B sees the move.
    tag = "/v1/configs/%s/cfg/tags/live" % NS
    status(W.A.request("PUT", tag, token=W.admin,
                       body={"version": 1, "expected_version": None}), 200, "tag")
    eq(W.B.request("GET", tag, token=W.admin).json().get("version"), 1, "B's tag")
    status(W.A.request("PUT", tag, token=W.admin,
                       body={"version": 2, "expected_version": 1}), 200, "move")
    got = within(5, lambda: W.B.request("GET", tag, token=W.admin).json().get("version") == 2)
    assert got, "B never saw the tag move (LISTEN/NOTIFY as %s)" % h.SERVICE_ROLE
    status(W.A.request("POST", "/v1/configs/%s/cfg/versions/1/yank" % NS, token=W.admin,
                       body={"reason": "roles test"}), 200, "yank")
    # Jobs: a runner leases the new versions' jobs and heartbeats.
    r = W.A.request("POST", "/v1/jobs/lease", token=W.runner, body={"lease_seconds": 60})
    status(r, 200, "lease")
    job = r.json()["job"]
    status(W.A.request("POST", "/v1/jobs/%d/heartbeat" % job["id"], token=W.runner,
                       body={"lease_token": job["lease_token"], "lease_seconds": 60}),
           200, "heartbeat")
    # Tokens through the API, and revoked on the command line as the role.
    r = W.A.request("POST", "/v1/tokens", token=W.admin,
                    body={"principal": "temp@ops", "grants": [{"role": "reader",
                                                               "namespace": NS}]})
    status(r, 201, "token through the API")
    tok, tid = r.json()["token"], r.json()["id"]
    status(W.B.request("GET", "/v1/configs/%s/cfg/versions" % NS, token=tok), 200, "new token")
    p = W.R.revoke(tid)
    eq(p.returncode, 0, "token revoke as %s: %s" % (h.SERVICE_ROLE, p.stderr))
    # B drops its cached principal on the revocation's notification: within
    # 2 s, as registry_test's cross-replica revocation allows.
    r = within(2, lambda: (lambda x: x if x.status == 401 else None)(
        W.B.request("GET", "/v1/configs/%s/cfg/versions" % NS, token=tok)))
    assert r is not None, "B still accepts the revoked token after 2 s"
    # The audit log, and the checkpointer's signed checkpoints.
    r = W.A.request("GET", "/v1/audit/entries?page_size=1000", token=W.admin)
    status(r, 200, "audit entries")
    actions = [e["event"]["action"] for e in r.json()["entries"]]
    for a in ("token.created", "key.added", "version.created", "tag.moved",
              "version.yanked", "job.leased", "token.revoked"):
        assert a in actions, "no %s event in %r" % (a, actions)
    size = len(actions)

    def signed():
        r = W.A.request("GET", "/v1/audit/checkpoint", token=W.admin)
        return r.status == 200 and int(r.body.decode().split("\n")[1]) >= size
    assert within(10, signed, 0.2), "the checkpointer signed no checkpoint of the log:\n%s" % (
        W.A.log_tail())
    r = W.B.request("POST", "/v1/audit/checkpoint", token=W.admin)
    assert r.status in (200, 201), r.describe()


def refused(sql, *why):
    """Runs sql as the service role; it must fail for one of `why` (default:
    a privilege error) and change nothing."""
    why = why or ("permission denied", "must be owner")
    p = W.R.psql(sql, check=False, user=h.SERVICE_ROLE)
    assert p.returncode != 0, "%s could: %s" % (h.SERVICE_ROLE, sql)
    assert any(w in p.stderr for w in why), "%s: %s" % (sql, p.stderr.strip())


def t_cannot_disable_triggers():
    for t in AUDIT_TABLES + ("versions", "receipts", "verdicts"):
        refused("ALTER TABLE %s DISABLE TRIGGER USER" % t)
        refused("ALTER TABLE %s DISABLE TRIGGER ALL" % t)
    refused("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only")
    refused("DROP TRIGGER audit_events_append_only ON audit_events")
    refused("ALTER TABLE audit_events ENABLE REPLICA TRIGGER audit_events_append_only")
    refused("SET session_replication_role = replica")
    refused("CREATE OR REPLACE FUNCTION audit_refuse() RETURNS trigger "
            "LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$")
    refused("CREATE OR REPLACE FUNCTION audit_head_grows() RETURNS trigger "
            "LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$")
    refused("CREATE OR REPLACE FUNCTION receipts_immutable() RETURNS trigger "
            "LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$")
    refused("ALTER FUNCTION audit_refuse() OWNER TO %s" % h.SERVICE_ROLE)
    # The triggers are all still enabled.
    eq(W.R.psql("SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal "
                "AND tgenabled <> 'O'").stdout.strip(), "0", "disabled triggers")


def t_cannot_rewrite_audit():
    n0 = W.R.psql("SELECT (SELECT size FROM audit_head), (SELECT count(*) FROM audit_events), "
                  "(SELECT count(*) FROM audit_checkpoints)").stdout.strip()
    for t in AUDIT_TABLES:
        refused("DELETE FROM %s" % t)
        refused("TRUNCATE %s" % t)
    refused("UPDATE audit_events SET actor = 'someone else'")
    refused("UPDATE audit_events SET event = '{}' WHERE idx = 0")
    refused("UPDATE audit_nodes SET hash = hash")
    refused("UPDATE audit_checkpoints SET note = ''")
    # The head has UPDATE (audit_append grows it), but only by one.
    refused("UPDATE audit_head SET size = 0", "only grows by one")
    refused("UPDATE audit_head SET size = size + 2", "only grows by one")
    refused("DELETE FROM receipts")
    refused("UPDATE receipts SET receipt = ''")
    refused("DELETE FROM versions")
    refused("DELETE FROM verdicts")
    refused("DELETE FROM schema_migrations")
    refused("UPDATE schema_migrations SET checksum = 'x'")
    eq(W.R.psql("SELECT (SELECT size FROM audit_head), (SELECT count(*) FROM audit_events), "
                "(SELECT count(*) FROM audit_checkpoints)").stdout.strip(), n0,
       "head size, events, checkpoints")


def t_cannot_alter_tables():
    refused("ALTER TABLE audit_events ADD COLUMN x int")
    refused("ALTER TABLE versions DROP CONSTRAINT versions_pkey")
    refused("ALTER TABLE tokens OWNER TO %s" % h.SERVICE_ROLE)
    refused("ALTER TABLE tags RENAME TO tags2")
    refused("DROP TABLE audit_checkpoints")
    refused("DROP TABLE schema_migrations")
    refused("DROP FUNCTION audit_append(text, timestamptz, text, text, text)")
    refused("CREATE INDEX ON audit_events (event)")
    refused("CREATE TABLE audit_shadow (x int)")
    refused("CREATE TABLE public.audit_shadow (x int)")
    refused("CREATE FUNCTION public.shadow() RETURNS int LANGUAGE sql AS 'SELECT 1'")
    refused("CREATE SCHEMA shadow")
    refused("CREATE ROLE helper LOGIN")
    refused("CREATE ROLE helper LOGIN SUPERUSER", "permission denied", "must be superuser")
    refused("ALTER ROLE %s SUPERUSER" % h.SERVICE_ROLE, "permission denied", "must be superuser")
    refused("ALTER ROLE %s BYPASSRLS" % h.SERVICE_ROLE, "permission denied", "must be superuser")
    refused("SET ROLE postgres")
    # A GRANT by a role without the grant option only warns; it grants
    # nothing.
    p = W.R.psql("GRANT DELETE, UPDATE ON audit_events TO %s; "
                 "SELECT has_table_privilege('audit_events', 'DELETE') OR "
                 "has_table_privilege('audit_events', 'UPDATE')" % h.SERVICE_ROLE,
                 check=False, user=h.SERVICE_ROLE)
    eq(p.stdout.strip(), "f", "DELETE or UPDATE on audit_events after granting itself")
    refused("COPY audit_events FROM PROGRAM 'true'", "must be superuser")


def t_grants():
    """Rule by rule over every table the migrations made (later migrations
    grant their own tables the same way)."""
    rows = W.R.psql(
        "SELECT c.relname, pg_get_userbyid(c.relowner), "
        "has_table_privilege('{r}', c.oid, 'UPDATE'), "
        "has_table_privilege('{r}', c.oid, 'DELETE'), "
        "has_table_privilege('{r}', c.oid, 'TRUNCATE'), "
        "has_table_privilege('{r}', c.oid, 'TRIGGER'), "
        "pg_has_role('{r}', c.relowner, 'MEMBER') "
        "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') "
        "ORDER BY 1".format(r=h.SERVICE_ROLE)).stdout.splitlines()
    assert len(rows) > 10, rows
    immutable = set(AUDIT_TABLES) | {"receipts", "verdicts", "versions", "schema_migrations"}
    no_update = (set(AUDIT_TABLES) - {"audit_head"}) | {
        "receipts", "verdicts", "schema_migrations"}
    bad = []
    for row in rows:
        name, owner, upd, dele, trunc, trig, owns = row.split("|")
        if owns == "t":
            bad.append("%s: %s can act as its owner %s" % (name, h.SERVICE_ROLE, owner))
        if trunc == "t" or trig == "t":
            bad.append("%s: TRUNCATE or TRIGGER granted" % name)
        if name in immutable and dele == "t":
            bad.append("%s: DELETE granted" % name)
        if name in no_update and upd == "t":
            bad.append("%s: UPDATE granted" % name)
    assert not bad, "\n".join(bad)
    # And what serve needs: schema_migrations is readable (0005).
    eq(W.R.psql("SELECT count(*) > 0 FROM schema_migrations", user=h.SERVICE_ROLE)
       .stdout.strip(), "t", "SELECT on schema_migrations as %s" % h.SERVICE_ROLE)


def t_stranger_refused():
    log = os.path.join(W.R.tmp, "stranger.log")
    port = os.path.join(W.R.tmp, "stranger.port")
    with open(log, "wb") as f:
        p = subprocess.run(
            [h.SERVER_BIN, "serve", "--database", h.conninfo_as(W.R.conninfo, STRANGER),
             "--listen", "127.0.0.1:0", "--port-file", port],
            env=W.R.env(), stdout=f, stderr=f, timeout=30)
    with open(log) as f:
        err = f.read()
    eq(p.returncode, 1, "serve as a role outside optreg_app: exit status (log: %s)" % err)
    assert not os.path.exists(port), "it listened"
    for want in ("database role %s may not read schema_migrations" % STRANGER,
                 "GRANT optreg_app TO %s;" % STRANGER, "docs/operations.md"):
        assert want in err, "%r not in:\n%s" % (want, err)


def t_owner_warned():
    s = W.R.server(name="owner", conninfo=W.R.conninfo)
    try:
        warns = [j for j in log_lines(s) if j.get("level") == "warn"]
        assert warns, "no warning when serving as the owner:\n" + s.log_tail()
        eq(warns[0].get("msg"), "serving as a database role that can alter the audit log",
           "warning")
        eq((warns[0].get("role"), warns[0].get("superuser")), ("postgres", True), "role")
        assert "docs/operations.md" in warns[0].get("hint", ""), warns[0]
        status(s.request("GET", "/readyz"), 200, "the owner still serves")
    finally:
        s.terminate()


def main():
    if not tap.run("setup: a registry, two servers as %s, tokens" % h.SERVICE_ROLE, setup):
        return tap.finish()
    tests = [
        ("serve starts as %s: in optreg_app, neither superuser nor owner, every "
         "connection that role" % h.SERVICE_ROLE, t_serves_as_service_role),
        ("as it: token create/revoke, keys, submits, tags, LISTEN/NOTIFY, yank, jobs, "
         "audit log, checkpointer", t_everything_serve_does),
        ("it cannot disable the triggers (ALTER TABLE, DROP TRIGGER, replication role, "
         "replacing trigger functions)", t_cannot_disable_triggers),
        ("it cannot update, delete or truncate audit rows, receipts, verdicts, migrations",
         t_cannot_rewrite_audit),
        ("it cannot alter, drop or create tables, functions, schemas or roles",
         t_cannot_alter_tables),
        ("its grants: owner of nothing, no DELETE/UPDATE on append-only tables, "
         "SELECT on schema_migrations", t_grants),
        ("serve as a login role outside optreg_app exits 1 naming the GRANT",
         t_stranger_refused),
        ("serve as the owner (superuser) works but logs a warning", t_owner_warned),
    ]
    try:
        for desc, fn in tests:
            tap.run(desc, fn)
    finally:
        W.R.cleanup()
    return tap.finish()


if __name__ == "__main__":
    sys.exit(main())
