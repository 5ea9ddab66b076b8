-- 0007_key_purpose.sql: what a signing key may sign.
--
-- A key is registered for one purpose: 'config' (it signs configs that are
-- submitted) or 'verdict' (a runner signs verdicts with it). The submit's
-- threshold counts only config keys and a verdict is accepted only under a
-- verdict key, so a runner's key cannot sign configs and a submitter's key
-- cannot sign verdicts.
--
-- Existing keys, by the signatures that counted: a key listed in a
-- receipt's signer_keyids (the keys whose valid signatures met a submit's
-- threshold; the receipt is the registry's signed record of them) signed a
-- config; a verdict's runner_keyid signed a verdict. A signature entry in a
-- stored envelope that never counted (unknown, invalid or not allowed for
-- the namespace) makes no key a config key. A key that signed a verdict and
-- no config, or whose principal holds (or held) the runner role and no role
-- that submits, and signed no config, becomes a verdict key; every other
-- key stays a config key. A key that signed both keeps 'config': its
-- runner needs a new key registered with purpose 'verdict'.
--
-- The receipts are read once (not once per key), while ALTER TABLE holds
-- signing_keys' exclusive lock.

-- optreg_app already has SELECT, INSERT and UPDATE on signing_keys (0003);
-- table privileges cover the new column, granted again here for clarity.

ALTER TABLE signing_keys
	ADD COLUMN purpose text NOT NULL DEFAULT 'config'
		CHECK (purpose IN ('config', 'verdict'));

WITH config_signers AS MATERIALIZED (
	SELECT DISTINCT ids.keyid
	  FROM receipts r,
	       jsonb_array_elements_text(
		       convert_from(decode(r.receipt::jsonb ->> 'payload',
					   'base64'), 'UTF8')::jsonb
		       -> 'signer_keyids') AS ids(keyid))
UPDATE signing_keys k SET purpose = 'verdict'
 WHERE NOT EXISTS (SELECT FROM config_signers c WHERE c.keyid = k.keyid)
   AND (EXISTS (SELECT FROM verdicts d WHERE d.runner_keyid = k.keyid)
	OR (EXISTS (SELECT FROM tokens t JOIN token_grants g
			ON g.token_id = t.id
		     WHERE t.principal = k.principal AND g.role = 'runner')
	    AND NOT EXISTS (SELECT FROM tokens t JOIN token_grants g
				ON g.token_id = t.id
			     WHERE t.principal = k.principal
			       AND g.role IN ('submitter', 'approver',
					      'admin'))));

GRANT SELECT, INSERT, UPDATE ON signing_keys TO optreg_app;
