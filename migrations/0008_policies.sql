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
-- change its row. The server compares expires_at with now(), so an expired
-- waiver stops applying at once.
--
-- Every tag move (the first set included) adds a row to tag_moves, which
-- is append-only: its newest row is what a rollback undoes.
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
	-- The newest version; bumped under the row lock.
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

GRANT SELECT, INSERT, UPDATE ON policies TO optreg_app;
GRANT SELECT, INSERT ON policy_versions, tag_moves TO optreg_app;
GRANT SELECT, INSERT, UPDATE ON waivers TO optreg_app;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO optreg_app;
