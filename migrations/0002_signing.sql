-- 0002_signing.sql: signing keys, namespace settings, the registry's own
-- keys, and receipts.
--
-- Signing keys are registered by admins for a principal and a set of
-- namespace patterns; a revoked key stays (revoked_at set) so signatures
-- made before the revocation can still be checked. The registry's private
-- key is never stored here: only its public half, so receipts made with any
-- key the registry ever used can be verified. Receipts, like versions, are
-- written once and never changed.

CREATE TABLE signing_keys (
	keyid text PRIMARY KEY CHECK (keyid ~ '^[0-9a-f]{64}$'),
	principal text NOT NULL CHECK (length(principal) BETWEEN 1 AND 200),
	public_key text NOT NULL,
	namespaces text[] NOT NULL
		CHECK (cardinality(namespaces) BETWEEN 1 AND 32),
	created_at timestamptz NOT NULL DEFAULT now(),
	created_by text NOT NULL,
	revoked_at timestamptz,
	revoked_by text
);

CREATE TABLE namespace_settings (
	namespace text PRIMARY KEY
		CHECK (namespace ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
	signature_threshold integer NOT NULL DEFAULT 1
		CHECK (signature_threshold BETWEEN 1 AND 16),
	updated_at timestamptz NOT NULL DEFAULT now(),
	updated_by text NOT NULL
);

CREATE TABLE registry_keys (
	keyid text PRIMARY KEY CHECK (keyid ~ '^[0-9a-f]{64}$'),
	public_key text NOT NULL,
	created_at timestamptz NOT NULL DEFAULT now(),
	retired_at timestamptz
);

CREATE TABLE receipts (
	config_id bigint NOT NULL,
	version integer NOT NULL,
	receipt text NOT NULL,   -- DSSE envelope signed by a registry key
	registry_keyid text NOT NULL REFERENCES registry_keys (keyid),
	PRIMARY KEY (config_id, version),
	FOREIGN KEY (config_id, version) REFERENCES versions (config_id, version)
);

CREATE FUNCTION receipts_immutable() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'receipts are immutable: % refused', TG_OP
		USING ERRCODE = 'integrity_constraint_violation';
END $$;

CREATE TRIGGER receipts_immutable BEFORE UPDATE OR DELETE ON receipts
	FOR EACH ROW EXECUTE FUNCTION receipts_immutable();
