-- 0001_registry.sql: namespaces, configs, immutable versions, tags, tokens.
--
-- Applied by `optreg-server migrate` inside one transaction together with
-- its row in schema_migrations. Versions are immutable: triggers refuse any
-- UPDATE that touches their content and any DELETE, so even a bug in the
-- server cannot rewrite history (yanking only sets the yank columns).

CREATE TABLE namespaces (
	id bigserial PRIMARY KEY,
	name text NOT NULL UNIQUE
		CHECK (name ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
	created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE configs (
	id bigserial PRIMARY KEY,
	namespace_id bigint NOT NULL REFERENCES namespaces (id),
	name text NOT NULL CHECK (name ~ '^[a-z0-9][a-z0-9._-]{0,127}$'),
	-- The last version number handed out; bumped under the row lock, so
	-- versions are consecutive and never reused.
	latest_version integer NOT NULL DEFAULT 0,
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now(),
	UNIQUE (namespace_id, name)
);

CREATE TABLE versions (
	config_id bigint NOT NULL REFERENCES configs (id),
	version integer NOT NULL CHECK (version >= 1),
	digest text NOT NULL UNIQUE CHECK (digest ~ '^sha256:[0-9a-f]{64}$'),
	payload bytea NOT NULL,   -- the canonical config bytes, as digested
	envelope text NOT NULL,   -- the DSSE envelope as received
	created_at timestamptz NOT NULL DEFAULT now(),
	created_by text NOT NULL,
	yanked_at timestamptz,
	yanked_by text,
	yank_reason text,
	PRIMARY KEY (config_id, version),
	CHECK ((yanked_at IS NULL) = (yank_reason IS NULL))
);

CREATE FUNCTION versions_immutable() RETURNS trigger
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
	   OR (OLD.yanked_at IS NOT NULL AND
	       (NEW.yanked_at, NEW.yanked_by, NEW.yank_reason) IS DISTINCT FROM
	       (OLD.yanked_at, OLD.yanked_by, OLD.yank_reason)) THEN
		RAISE EXCEPTION 'versions are immutable: only a first yank may change a row'
			USING ERRCODE = 'integrity_constraint_violation';
	END IF;
	RETURN NEW;
END $$;

CREATE TRIGGER versions_immutable BEFORE UPDATE OR DELETE ON versions
	FOR EACH ROW EXECUTE FUNCTION versions_immutable();

CREATE TABLE tags (
	config_id bigint NOT NULL REFERENCES configs (id),
	tag text NOT NULL CHECK (tag ~ '^[a-z0-9][a-z0-9._-]{0,63}$'
				 AND tag !~ '^[0-9]+$'),
	version integer NOT NULL,
	updated_at timestamptz NOT NULL DEFAULT now(),
	updated_by text NOT NULL,
	PRIMARY KEY (config_id, tag),
	FOREIGN KEY (config_id, version) REFERENCES versions (config_id, version)
);

CREATE TABLE tokens (
	id text PRIMARY KEY CHECK (id ~ '^tok_[0-9a-f]{16}$'),
	principal text NOT NULL CHECK (length(principal) BETWEEN 1 AND 200),
	token_hash bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
	created_at timestamptz NOT NULL DEFAULT now(),
	created_by text NOT NULL,
	expires_at timestamptz,
	revoked_at timestamptz
);

CREATE TABLE token_grants (
	token_id text NOT NULL REFERENCES tokens (id),
	role text NOT NULL CHECK (role IN ('reader', 'submitter', 'approver',
					   'runner', 'auditor', 'admin')),
	namespace_pattern text NOT NULL
		CHECK (namespace_pattern ~ '^[a-z0-9*?][a-z0-9*?-]{0,62}$'),
	PRIMARY KEY (token_id, role, namespace_pattern)
);

-- submit_version: the whole submit in one statement (one transaction, one
-- round trip). Creates the namespace and config on first use, locks the
-- config row so concurrent submits are serialized, and returns the existing
-- version when the digest is already there (created = false).
CREATE FUNCTION submit_version(p_namespace text, p_name text, p_digest text,
			       p_payload bytea, p_envelope text, p_actor text,
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
			      created_by)
		VALUES (cfg_id, version, p_digest, p_payload, p_envelope, p_actor)
		RETURNING versions.created_at INTO created_at;
	created := true;
END $$;

-- move_tag: compare-and-set of a tag, serialized per config by the config
-- row lock. p_expected NULL means "the tag must not exist yet". Returns
-- status 'ok', 'no_config', 'no_version', 'yanked' or 'conflict', and the
-- tag's version before the call (NULL when it did not exist). Notifies
-- channel optreg_cache so every replica drops its cached tag.
CREATE FUNCTION move_tag(p_namespace text, p_name text, p_tag text,
			 p_version integer, p_expected integer, p_actor text,
			 OUT status text, OUT previous integer)
LANGUAGE plpgsql AS $$
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
		WHERE v.config_id = cfg_id AND v.version = p_version;
	IF NOT FOUND THEN
		status := 'no_version';
		RETURN;
	END IF;
	IF v_yanked IS NOT NULL THEN
		status := 'yanked';
		RETURN;
	END IF;
	INSERT INTO tags (config_id, tag, version, updated_by)
		VALUES (cfg_id, p_tag, p_version, p_actor)
		ON CONFLICT (config_id, tag) DO UPDATE
		SET version = EXCLUDED.version, updated_at = now(),
		    updated_by = EXCLUDED.updated_by;
	PERFORM pg_notify('optreg_cache',
			  'tag:' || p_namespace || '/' || p_name || '/' || p_tag);
	status := 'ok';
END $$;

-- yank_version: flags a version, once. Returns 'ok', 'already' or
-- 'not_found', and the digest, and tells replicas to drop cached copies.
CREATE FUNCTION yank_version(p_namespace text, p_name text, p_version integer,
			     p_reason text, p_actor text,
			     OUT status text, OUT digest text)
LANGUAGE plpgsql AS $$
DECLARE
	v_yanked timestamptz;
BEGIN
	SELECT v.digest, v.yanked_at INTO digest, v_yanked
		FROM versions v
		JOIN configs c ON c.id = v.config_id
		JOIN namespaces n ON n.id = c.namespace_id
		WHERE n.name = p_namespace AND c.name = p_name
		  AND v.version = p_version
		FOR UPDATE OF v;
	IF NOT FOUND THEN
		status := 'not_found';
		RETURN;
	END IF;
	IF v_yanked IS NOT NULL THEN
		status := 'already';
		RETURN;
	END IF;
	UPDATE versions v SET yanked_at = now(), yanked_by = p_actor,
			      yank_reason = p_reason
		WHERE v.digest = yank_version.digest;
	PERFORM pg_notify('optreg_cache', 'version:' || digest);
	status := 'ok';
END $$;
