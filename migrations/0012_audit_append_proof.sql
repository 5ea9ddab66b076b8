-- 0012_audit_append_proof.sql: an append that returns what a receipt needs.
--
-- A new version's receipt carries the root of the tree its event ends and
-- the event's inclusion proof, and is made while the append lock is held
-- (the head row, locked by audit_append until the transaction ends). Both
-- are computed from stored complete subtrees, and for the last leaf of a
-- tree they are few and known from the index alone: the subtrees whose
-- sizes are the set bits of the size before the append (the proof, the
-- leaf's left neighbours) and of the size after it (the root), and the
-- leaf itself. audit_append_proof appends as audit_append does and returns
-- those rows in the same call, so the receipt costs no further round trip
-- under the lock.
--
-- Returns one row per subtree: the event's index (the same on every row),
-- the subtree's level and index, and its hash.
CREATE FUNCTION audit_append_proof(p_event text, p_time timestamptz,
				   p_actor text, p_action text, p_target text)
RETURNS TABLE (leaf_index bigint, node_level smallint, node_idx bigint,
	       node_hash bytea)
LANGUAGE plpgsql AS $$
DECLARE
	n bigint;
BEGIN
	n := audit_append(p_event, p_time, p_actor, p_action, p_target);
	RETURN QUERY
	SELECT n, a.level, a.idx, a.hash
	  FROM (SELECT b::smallint AS level, (s >> b) - 1 AS idx
		  FROM (VALUES (n), (n + 1)) AS t(s),
		       generate_series(0, 62) AS b
		 WHERE (s >> b) & 1 = 1
		UNION
		SELECT 0::smallint, n) AS w
	  JOIN audit_nodes a ON a.level = w.level AND a.idx = w.idx;
END $$;
