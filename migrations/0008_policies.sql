-- 0008_policies.sql: policies (versioned, immutable versions), waivers,
-- the history of tag moves, and why a version was submitted.
--
-- A policy is a name and its versions; the current version is the one
-- that applies. A version row is never changed or deleted: a new document
-- is a new version, and deleting a policy adds a tombstone version
-- (deleted, no document) that stops it from applying.
--
-- A waiver exempts one rule of one policy for configs of one namespace
-- whose name matches a glob, until it expires; only a first revocation may
-- change its row. The server compares expires_at with statement_timestamp(),
-- so an expired waiver stops applying at once, even in a long transaction.
--
-- Every tag move (the first set included) adds a row to tag_moves, which
-- is append-only and written only by move_tag: its newest row is what a
-- rollback undoes.
--
-- versions gains message and link (why it was submitted, and a CI run or
-- commit URL); both are written once, by submit_version, and the
-- immutability trigger now covers them.

ALTER TABLE versions
	ADD COLUMN message text
		CHECK (message IS NULL OR length(message) BETWEEN 1 AND 1024),
	ADD COLUMN link text
		CHECK (link IS NULL OR length(link) BETWEEN 1 AND 512);

CREATE OR REPLACE FUNCTION versions_immutable() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'DELETE' THEN
		RAISE EXCEPTION 'versions are immutable: DELETE refused'
			USING ERRCODE = 'integrity_constraint_violation';
	END IF;
	IF NEW.config_id IS DISTINCT FROM OLD.config_id
	   OR NEW.version IS DISTINCT FROM OLD.version
	   OR NEW.digest IS DISTINCT FROM OLD.digest
	   OR NEW.payload IS DISTINCT FROM OLD.payload
	   OR NEW.envelope IS DISTINCT FROM OLD.envelope
	   OR NEW.created_at IS DISTINCT FROM OLD.created_at
	   OR NEW.created_by IS DISTINCT FROM OLD.created_by
	   OR NEW.message IS DISTINCT FROM OLD.message
	   OR NEW.link IS DISTINCT FROM OLD.link
	   OR (OLD.yanked_at IS NOT NULL AND
	       (NEW.yanked_at, NEW.yanked_by, NEW.yank_reason) IS DISTINCT FROM
	       (OLD.yanked_at, OLD.yanked_by, OLD.yank_reason)) THEN
		RAISE EXCEPTION 'versions are immutable: only a first yank may change a row'
			USING ERRCODE = 'integrity_constraint_violation';
	END IF;
	RETURN NEW;
END $$;

-- submit_version with the submit's message and link (see 0001).
DROP FUNCTION submit_version(text, text, text, bytea, text, text);
CREATE FUNCTION submit_version(p_namespace text, p_name text, p_digest text,
			       p_payload bytea, p_envelope text, p_actor text,
			       p_message text, p_link text,
			       OUT version integer, OUT created boolean,
			       OUT created_at timestamptz)
LANGUAGE plpgsql AS $$
DECLARE
	ns_id bigint;
	cfg_id bigint;
BEGIN
	INSERT INTO namespaces (name) VALUES (p_namespace)
		ON CONFLICT (name) DO NOTHING;
	SELECT id INTO ns_id FROM namespaces WHERE name = p_namespace;
	INSERT INTO configs (namespace_id, name) VALUES (ns_id, p_name)
		ON CONFLICT (namespace_id, name) DO NOTHING;
	SELECT id INTO cfg_id FROM configs
		WHERE namespace_id = ns_id AND name = p_name FOR UPDATE;

	SELECT v.version, v.created_at INTO version, created_at
		FROM versions v WHERE v.config_id = cfg_id AND v.digest = p_digest;
	IF FOUND THEN
		created := false;
		RETURN;
	END IF;

	UPDATE configs SET latest_version = latest_version + 1,
			   updated_at = now()
		WHERE id = cfg_id RETURNING latest_version INTO version;
	INSERT INTO versions (config_id, version, digest, payload, envelope,
			      created_by, message, link)
		VALUES (cfg_id, version, p_digest, p_payload, p_envelope, p_actor,
			p_message, p_link)
		RETURNING versions.created_at INTO created_at;
	created := true;
END $$;

CREATE TABLE policies (
	name text PRIMARY KEY CHECK (name ~ '^[a-z0-9][a-z0-9._-]{0,63}$'),
	-- The newest version: only policy_versions_head (below) changes it,
	-- as each version is inserted; the service cannot UPDATE this table.
	current_version integer NOT NULL DEFAULT 0,
	created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE policy_versions (
	name text NOT NULL REFERENCES policies (name),
	version integer NOT NULL CHECK (version >= 1),
	deleted boolean NOT NULL DEFAULT false,
	source text,	  -- the document as pushed (YAML or JSON)
	canonical text,	  -- its RFC 8785 JSON form, as digested
	digest text CHECK (digest ~ '^sha256:[0-9a-f]{64}$'),
	message text NOT NULL CHECK (length(message) BETWEEN 1 AND 1024),
	created_at timestamptz NOT NULL DEFAULT now(),
	created_by text NOT NULL,
	PRIMARY KEY (name, version),
	CHECK (deleted = (source IS NULL) AND deleted = (canonical IS NULL)
	       AND deleted = (digest IS NULL))
);

CREATE FUNCTION policy_rows_immutable() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION '% rows are immutable: % refused', TG_TABLE_NAME, TG_OP
		USING ERRCODE = 'integrity_constraint_violation';
END $$;

CREATE TRIGGER policy_versions_immutable BEFORE UPDATE OR DELETE
	ON policy_versions FOR EACH ROW EXECUTE FUNCTION policy_rows_immutable();

-- Keeps the head consistent with the versions: a new version must be the
-- head plus one, and inserting it moves the head. SECURITY DEFINER (owned
-- by whoever runs the migrations) because optreg_app has no UPDATE on
-- policies; the row lock serializes two inserts of one policy.
CREATE FUNCTION policy_versions_head() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
DECLARE
	head integer;
BEGIN
	SELECT current_version INTO head FROM policies
		WHERE name = NEW.name FOR UPDATE;
	IF NOT FOUND OR NEW.version <> head + 1 THEN
		RAISE EXCEPTION 'policy % version % is not its head (%) plus one',
			NEW.name, NEW.version, head
			USING ERRCODE = 'integrity_constraint_violation';
	END IF;
	UPDATE policies SET current_version = NEW.version WHERE name = NEW.name;
	RETURN NEW;
END $$;

CREATE TRIGGER policy_versions_head BEFORE INSERT ON policy_versions
	FOR EACH ROW EXECUTE FUNCTION policy_versions_head();

CREATE TABLE waivers (
	id text PRIMARY KEY CHECK (id ~ '^wvr_[0-9a-f]{16}$'),
	policy text NOT NULL CHECK (policy ~ '^[a-z0-9][a-z0-9._-]{0,63}$'),
	rule text NOT NULL CHECK (rule ~ '^[a-z0-9][a-z0-9._-]{0,63}$'),
	namespace text NOT NULL CHECK (namespace ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
	config text NOT NULL CHECK (length(config) BETWEEN 1 AND 128),
	reason text NOT NULL CHECK (length(reason) BETWEEN 1 AND 1024),
	owner text NOT NULL CHECK (length(owner) BETWEEN 1 AND 200),
	expires_at timestamptz NOT NULL,
	created_at timestamptz NOT NULL DEFAULT now(),
	created_by text NOT NULL,
	revoked_at timestamptz,
	revoked_by text,
	revoke_reason text,
	CHECK ((revoked_at IS NULL) = (revoked_by IS NULL)
	       AND (revoked_at IS NULL) = (revoke_reason IS NULL))
);

CREATE INDEX waivers_namespace ON waivers (namespace, expires_at);

CREATE FUNCTION waivers_immutable() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'DELETE' THEN
		RAISE EXCEPTION 'waivers are immutable: DELETE refused'
			USING ERRCODE = 'integrity_constraint_violation';
	END IF;
	IF OLD.revoked_at IS NOT NULL
	   OR (NEW.id, NEW.policy, NEW.rule, NEW.namespace, NEW.config,
	       NEW.reason, NEW.owner, NEW.expires_at, NEW.created_at,
	       NEW.created_by) IS DISTINCT FROM
	      (OLD.id, OLD.policy, OLD.rule, OLD.namespace, OLD.config,
	       OLD.reason, OLD.owner, OLD.expires_at, OLD.created_at,
	       OLD.created_by) THEN
		RAISE EXCEPTION 'waivers are immutable: only a first revocation may change a row'
			USING ERRCODE = 'integrity_constraint_violation';
	END IF;
	RETURN NEW;
END $$;

CREATE TRIGGER waivers_immutable BEFORE UPDATE OR DELETE ON waivers
	FOR EACH ROW EXECUTE FUNCTION waivers_immutable();

CREATE TABLE tag_moves (
	id bigserial PRIMARY KEY,
	config_id bigint NOT NULL REFERENCES configs (id),
	tag text NOT NULL,
	version integer NOT NULL,
	previous_version integer,
	moved_at timestamptz NOT NULL DEFAULT now(),
	moved_by text NOT NULL,
	reason text CHECK (reason IS NULL OR length(reason) BETWEEN 1 AND 1024),
	link text CHECK (link IS NULL OR length(link) BETWEEN 1 AND 512),
	rollback boolean NOT NULL DEFAULT false
);

CREATE INDEX tag_moves_by_tag ON tag_moves (config_id, tag, id DESC);

CREATE TRIGGER tag_moves_immutable BEFORE UPDATE OR DELETE ON tag_moves
	FOR EACH ROW EXECUTE FUNCTION policy_rows_immutable();

-- move_tag (see 0001) now also records the move in tag_moves, in the same
-- statement as the tag changes, so the history cannot diverge from the
-- tags; SECURITY DEFINER because optreg_app cannot INSERT into tag_moves.
--
-- It reads the target version FOR SHARE: yank_version locks that row FOR
-- UPDATE, so a yank and a move of a tag to the same version serialize. A
-- move that locks first commits before the yank proceeds (the tag then
-- points at a version yanked after it moved, as for any yank); a yank
-- that locks first makes the move wait and then see yanked_at, so a tag
-- (gated or not) never lands on a version already yanked.
DROP FUNCTION move_tag(text, text, text, integer, integer, text);
CREATE FUNCTION move_tag(p_namespace text, p_name text, p_tag text,
			 p_version integer, p_expected integer, p_actor text,
			 p_reason text, p_link text, p_rollback boolean,
			 OUT status text, OUT previous integer)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
DECLARE
	cfg_id bigint;
	v_yanked timestamptz;
BEGIN
	SELECT c.id INTO cfg_id FROM configs c
		JOIN namespaces n ON n.id = c.namespace_id
		WHERE n.name = p_namespace AND c.name = p_name FOR UPDATE OF c;
	IF NOT FOUND THEN
		status := 'no_config';
		RETURN;
	END IF;
	SELECT t.version INTO previous FROM tags t
		WHERE t.config_id = cfg_id AND t.tag = p_tag;
	IF previous IS DISTINCT FROM p_expected THEN
		status := 'conflict';
		RETURN;
	END IF;
	SELECT v.yanked_at INTO v_yanked FROM versions v
		WHERE v.config_id = cfg_id AND v.version = p_version FOR SHARE;
	IF NOT FOUND THEN
		status := 'no_version';
		RETURN;
	END IF;
	IF v_yanked IS NOT NULL THEN
		status := 'yanked';
		RETURN;
	END IF;
	status := 'ok';
	IF previous IS NOT DISTINCT FROM p_version THEN
		RETURN; -- already there: not a move
	END IF;
	INSERT INTO tags (config_id, tag, version, updated_by)
		VALUES (cfg_id, p_tag, p_version, p_actor)
		ON CONFLICT (config_id, tag) DO UPDATE
		SET version = EXCLUDED.version, updated_at = now(),
		    updated_by = EXCLUDED.updated_by;
	INSERT INTO tag_moves (config_id, tag, version, previous_version,
			       moved_by, reason, link, rollback)
		VALUES (cfg_id, p_tag, p_version, previous, p_actor, p_reason,
			p_link, coalesce(p_rollback, false));
	PERFORM pg_notify('optreg_cache',
			  'tag:' || p_namespace || '/' || p_name || '/' || p_tag);
END $$;

REVOKE ALL ON FUNCTION policy_versions_head() FROM PUBLIC;
-- move_tag runs as its owner (it writes tag_moves, which optreg_app may
-- not): only the service may call it, not every role that can log in.
REVOKE ALL ON FUNCTION move_tag(text, text, text, integer, integer, text,
				text, text, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION move_tag(text, text, text, integer, integer, text,
				   text, text, boolean) TO optreg_app;

GRANT SELECT, INSERT ON policies TO optreg_app;
GRANT SELECT, INSERT ON policy_versions TO optreg_app;
GRANT SELECT ON tag_moves TO optreg_app;
GRANT SELECT, INSERT, UPDATE ON waivers TO optreg_app;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO optreg_app;
