-- 0003_audit.sql: the tamper-evident audit log.
--
-- Every change appends one event in the same transaction as the change
-- (registry/audit.c). Events are leaves of an RFC 6962 Merkle tree: leaf
-- hash SHA-256(0x00 || canonical event JSON); audit_nodes keeps the hash of
-- every complete subtree (level, index), so roots and proofs cost O(log n)
-- reads. audit_head's single row is the append lock: it is held until
-- commit, so indexes are gapless and in commit order.
--
-- The tables refuse UPDATE, DELETE and TRUNCATE (triggers below), and the
-- role optreg_app, which the service should log in as (a member of it,
-- neither superuser nor owner of the tables), gets only SELECT and INSERT
-- on them. Run the service as such a role:
--
--   CREATE ROLE optreg_server LOGIN PASSWORD '…' IN ROLE optreg_app;
--
-- A superuser can still disable the triggers; that is what
-- `optreg audit verify` is for: it recomputes every leaf and root and
-- checks them against signed checkpoints.

CREATE TABLE audit_head (
	id integer PRIMARY KEY CHECK (id = 1),
	size bigint NOT NULL CHECK (size >= 0)
);
INSERT INTO audit_head (id, size) VALUES (1, 0);

CREATE TABLE audit_events (
	idx bigint PRIMARY KEY CHECK (idx >= 0),
	event text NOT NULL,       -- RFC 8785 canonical JSON, as hashed
	leaf_hash bytea NOT NULL CHECK (length(leaf_hash) = 32),
	time timestamptz NOT NULL,
	actor text NOT NULL,
	action text NOT NULL,
	target text NOT NULL
);
CREATE INDEX audit_events_actor ON audit_events (actor, idx);
CREATE INDEX audit_events_action ON audit_events (action, idx);
CREATE INDEX audit_events_target ON audit_events (target, idx);
CREATE INDEX audit_events_time ON audit_events (time);

CREATE TABLE audit_nodes (
	level smallint NOT NULL CHECK (level BETWEEN 0 AND 63),
	idx bigint NOT NULL CHECK (idx >= 0),
	hash bytea NOT NULL CHECK (length(hash) = 32),
	PRIMARY KEY (level, idx)
);

CREATE TABLE audit_checkpoints (
	size bigint PRIMARY KEY CHECK (size >= 0),
	root bytea NOT NULL CHECK (length(root) = 32),
	note text NOT NULL,        -- the C2SP signed note
	registry_keyid text NOT NULL REFERENCES registry_keys (keyid),
	created_at timestamptz NOT NULL DEFAULT now()
);

CREATE FUNCTION audit_refuse() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'the audit log is append-only: % on % refused',
		TG_OP, TG_TABLE_NAME
		USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE TRIGGER audit_events_append_only
	BEFORE UPDATE OR DELETE ON audit_events
	FOR EACH ROW EXECUTE FUNCTION audit_refuse();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
	FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse();
CREATE TRIGGER audit_nodes_append_only
	BEFORE UPDATE OR DELETE ON audit_nodes
	FOR EACH ROW EXECUTE FUNCTION audit_refuse();
CREATE TRIGGER audit_nodes_no_truncate BEFORE TRUNCATE ON audit_nodes
	FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse();
CREATE TRIGGER audit_checkpoints_append_only
	BEFORE UPDATE OR DELETE ON audit_checkpoints
	FOR EACH ROW EXECUTE FUNCTION audit_refuse();
CREATE TRIGGER audit_checkpoints_no_truncate
	BEFORE TRUNCATE ON audit_checkpoints
	FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse();

-- The head only ever grows by one.
CREATE FUNCTION audit_head_grows() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP <> 'UPDATE' OR NEW.size <> OLD.size + 1 THEN
		RAISE EXCEPTION 'the audit head only grows by one'
			USING ERRCODE = 'insufficient_privilege';
	END IF;
	RETURN NEW;
END $$;
CREATE TRIGGER audit_head_grows BEFORE UPDATE OR DELETE ON audit_head
	FOR EACH ROW EXECUTE FUNCTION audit_head_grows();
CREATE TRIGGER audit_head_no_truncate BEFORE TRUNCATE ON audit_head
	FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse();

-- audit_append: appends one event (already canonical JSON) and the subtree
-- hashes it completes; returns its index. Holds the head row lock until
-- the caller's transaction ends.
CREATE FUNCTION audit_append(p_event text, p_time timestamptz, p_actor text,
			     p_action text, p_target text)
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
	n bigint;
	h bytea;
	sibling bytea;
	lvl integer := 0;
	i bigint;
BEGIN
	SELECT size INTO n FROM audit_head WHERE id = 1 FOR UPDATE;
	h := sha256('\x00'::bytea || convert_to(p_event, 'UTF8'));
	INSERT INTO audit_events (idx, event, leaf_hash, time, actor, action,
				  target)
		VALUES (n, p_event, h, p_time, p_actor, p_action, p_target);
	INSERT INTO audit_nodes (level, idx, hash) VALUES (0, n, h);
	i := n;
	-- A right child completes its parent: hash it with its left sibling.
	WHILE i % 2 = 1 LOOP
		SELECT hash INTO STRICT sibling FROM audit_nodes
			WHERE level = lvl AND idx = i - 1;
		h := sha256('\x01'::bytea || sibling || h);
		lvl := lvl + 1;
		i := i / 2;
		INSERT INTO audit_nodes (level, idx, hash) VALUES (lvl, i, h);
	END LOOP;
	UPDATE audit_head SET size = n + 1 WHERE id = 1;
	RETURN n;
END $$;

-- The service role: everything it needs, and on the audit tables only
-- SELECT and INSERT (plus the head's UPDATE, which the trigger bounds).
DO $$
BEGIN
	IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'optreg_app') THEN
		CREATE ROLE optreg_app NOLOGIN;
	END IF;
END $$;
GRANT SELECT, INSERT, UPDATE ON namespaces, configs, versions, tags, tokens,
	token_grants, signing_keys, namespace_settings, registry_keys
	TO optreg_app;
GRANT SELECT, INSERT ON receipts, audit_events, audit_nodes,
	audit_checkpoints TO optreg_app;
GRANT SELECT, UPDATE ON audit_head TO optreg_app;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO optreg_app;
REVOKE DELETE, TRUNCATE ON audit_events, audit_nodes, audit_checkpoints,
	audit_head FROM optreg_app;
