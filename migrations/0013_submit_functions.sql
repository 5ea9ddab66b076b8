-- 0013_submit_functions.sql: a signed submit in two calls.
--
-- A submit used nine round trips between the service and the database,
-- and every statement's parse, plan and protocol work fell on the same
-- few cores as the service's. These two functions do the same reads and
-- writes, in the same transaction and order of locks, in two calls:
--
--   submit_prepare   what the service checks before it writes: the
--                    namespace's signature threshold, whether this digest
--                    is already stored for the config (with its message
--                    and link), and the rows of the envelope's signing keys,
--                    locked FOR SHARE so that a revocation waits for the
--                    submit (or wins before it), as before.
--   submit_record    the write: the version (submit_version), its job for
--                    p_suite, and its audit event through
--                    audit_append_proof, whose rows the receipt is made
--                    from. The event's text needs the version number, which
--                    only this call learns: the service sends it in two
--                    parts, the canonical JSON up to the number and the
--                    rest ("@" ends the first part, inside the target), and
--                    the number is put between them; the service checks
--                    that the parts make the event it would have made
--                    (tests/unit/registry/audit_event_test.c).
--
-- The audit append is still the last write before the receipt and the
-- commit, so the append lock is held as briefly as before.

-- One row per locked key; one row with NULL key columns when the envelope
-- names no stored key. threshold, stored, message and link are the same on
-- every row. Its statements are lookups by key, planned once: left to
-- itself PostgreSQL plans the key rows' `= ANY (array)` again at every
-- call, which cost more than running it.
CREATE FUNCTION submit_prepare(p_namespace text, p_name text, p_digest text,
			       p_keyids text[])
RETURNS TABLE (threshold integer, stored boolean, stored_message text,
	       stored_link text, keyid text, public_key text,
	       key_namespaces text, revoked boolean, purpose text)
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan AS $$
DECLARE
	t integer;
	found_it boolean := false;
	msg text;
	lnk text;
BEGIN
	SELECT coalesce((SELECT s.signature_threshold FROM namespace_settings s
			  WHERE s.namespace = p_namespace), 1) INTO t;
	SELECT true, v.message, v.link INTO found_it, msg, lnk
	  FROM versions v
	  JOIN configs c ON c.id = v.config_id
	  JOIN namespaces n ON n.id = c.namespace_id
	 WHERE n.name = p_namespace AND c.name = p_name
	   AND v.digest = p_digest;
	found_it := coalesce(found_it, false);
	RETURN QUERY
	SELECT t, found_it, msg, lnk, k.keyid, k.public_key,
	       to_json(k.namespaces)::text, k.revoked_at IS NOT NULL, k.purpose
	  FROM signing_keys k WHERE k.keyid = ANY (p_keyids)
	   FOR SHARE;
	IF NOT FOUND THEN
		RETURN QUERY SELECT t, found_it, msg, lnk, NULL::text, NULL::text,
				    NULL::text, NULL::boolean, NULL::text;
	END IF;
END $$;

-- submit_version as in 0008, but an existing namespace and config (every
-- submit after a config's first) are found with a lookup instead of an
-- INSERT ... ON CONFLICT DO NOTHING, which costs an insertion attempt each
-- time. Two first submits at once still meet at the INSERT's conflict.
CREATE OR REPLACE FUNCTION submit_version(p_namespace text, p_name text,
					  p_digest text, p_payload bytea,
					  p_envelope text, p_actor text,
					  p_message text, p_link text,
					  OUT version integer,
					  OUT created boolean,
					  OUT created_at timestamptz)
LANGUAGE plpgsql AS $$
DECLARE
	ns_id bigint;
	cfg_id bigint;
BEGIN
	SELECT id INTO ns_id FROM namespaces WHERE name = p_namespace;
	IF NOT FOUND THEN
		INSERT INTO namespaces (name) VALUES (p_namespace)
			ON CONFLICT (name) DO NOTHING;
		SELECT id INTO ns_id FROM namespaces WHERE name = p_namespace;
	END IF;
	SELECT id INTO cfg_id FROM configs
		WHERE namespace_id = ns_id AND name = p_name FOR UPDATE;
	IF NOT FOUND THEN
		INSERT INTO configs (namespace_id, name) VALUES (ns_id, p_name)
			ON CONFLICT (namespace_id, name) DO NOTHING;
		SELECT id INTO cfg_id FROM configs
			WHERE namespace_id = ns_id AND name = p_name FOR UPDATE;
	END IF;

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

-- The version's number, whether it was created (false: the same digest was
-- stored meanwhile, and nothing else is written), its time as RFC 3339 UTC
-- with milliseconds; for a created version, one row per subtree from
-- audit_append_proof (leaf_index the event's index), else one row with
-- those columns NULL.
CREATE FUNCTION submit_record(p_namespace text, p_name text, p_digest text,
			      p_payload bytea, p_envelope text, p_actor text,
			      p_message text, p_link text, p_suite text,
			      p_event_head text, p_event_tail text,
			      p_time timestamptz)
RETURNS TABLE (version integer, created boolean, created_at text,
	       leaf_index bigint, node_level smallint, node_idx bigint,
	       node_hash bytea)
LANGUAGE plpgsql AS $$
DECLARE
	v integer;
	made boolean;
	at text;
BEGIN
	SELECT s.version, s.created,
	       to_char(s.created_at AT TIME ZONE 'UTC',
		       'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
	  INTO v, made, at
	  FROM submit_version(p_namespace, p_name, p_digest, p_payload,
			      p_envelope, p_actor, p_message, p_link) s;
	IF NOT made THEN
		RETURN QUERY SELECT v, false, at, NULL::bigint, NULL::smallint,
				    NULL::bigint, NULL::bytea;
		RETURN;
	END IF;
	INSERT INTO jobs (config_id, version, suite)
	SELECT c.id, v, p_suite FROM configs c
	  JOIN namespaces n ON n.id = c.namespace_id
	 WHERE n.name = p_namespace AND c.name = p_name
	ON CONFLICT DO NOTHING;
	RETURN QUERY
	SELECT v, true, at, a.leaf_index, a.node_level, a.node_idx, a.node_hash
	  FROM audit_append_proof(p_event_head || v::text || p_event_tail,
				  p_time, p_actor, 'version.created',
				  p_namespace || '/' || p_name || '@' || v::text) a;
END $$;
